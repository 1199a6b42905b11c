"""
Train and evaluate
==================

The shortest complete run: a :class:`ed_brian.Config`, the bundled
Fashion-MNIST subset, a few epochs of Error-Diffusion learning on a fully
spiking LIF network, the test accuracy of the learned weights, and the run
saved as ``ed-brian train`` saves it. Then its learning curve.

Set ``ED_BRIAN_EXAMPLES_FULL=1`` for the whole bundled subset (1000 training
and 500 test images) and a wider network.
"""

# %%
# Train, evaluate, save
# ---------------------
# ``Config`` takes the command line's flags as keyword arguments (Brian2
# quantities or numbers in the flags' units); ``load_data`` loads the images
# it asks for; ``train`` runs every epoch (training images with learning, then
# the fixed test set without) and ``evaluate`` tests weights with learning off.

import os

import matplotlib.pyplot as plt

import ed_brian

FULL = os.environ.get("ED_BRIAN_EXAMPLES_FULL") == "1"

config = ed_brian.Config(hidden=128 if FULL else 32, train=1000 if FULL else 200, test=500 if FULL else 100,
                         epochs=5 if FULL else 2)
data = ed_brian.load_data(config)
result = ed_brian.train(config, data, on_epoch=lambda m: print(
    f"epoch {m.epoch}: train {m.train_accuracy:.1f} %, test {m.test_accuracy:.1f} % ({m.seconds:.1f} s)"))
accuracy = ed_brian.evaluate(config, data, result.weights)
folder = ed_brian.save_run("results/examples/train_and_evaluate", result, data)
print(f"final test accuracy: {result.epochs[-1].test_accuracy:.1f} %")
print(f"evaluate() of the learned weights: {accuracy:.1f} %")
print(f"saved in {folder}")

# %%
# ``evaluate`` runs the same test images with fresh Poisson spikes, so its
# accuracy is close to, not equal to, the last epoch's. Part of the errors
# are the noise of one 50 ms look: ``repeats=3`` shows every test image three
# times, fresh spikes each time, and sums the output counts of its three
# presentations (three times the test trials, learning untouched).

print(f"evaluate() with each test image shown 3 times: "
      f"{ed_brian.evaluate(config, data, result.weights, repeats=3):.1f} %")

# %%
# Learning curve
# --------------
# :func:`ed_brian.load_run` reads the folder back; its ``metrics`` hold the
# accuracies of every epoch. Training accuracy is online: each prediction is
# made before that trial's own update.

run = ed_brian.load_run(folder)
epochs = [m.epoch for m in run.metrics]
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(epochs, [m.train_accuracy for m in run.metrics], "o-", label="train (online)")
ax.plot(epochs, [m.test_accuracy for m in run.metrics], "o-", label="test (fixed set)")
ax.axhline(100 / config.n_classes, color="grey", ls=":", label="chance")
ax.set(xlabel="epoch", ylabel="accuracy (%)", xticks=epochs, ylim=(0, 100),
       title=f"ED on Fashion-MNIST, {config.hidden[0]} hidden units per class")
ax.grid(alpha=0.3)
ax.legend()
fig.savefig(folder / "learning_curve.png", dpi=100)
plt.show()
