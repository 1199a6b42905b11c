"""
An ensemble of packed copies
============================

Train four ED networks at once, packed side by side in one Brian2 network:
they see the same input spikes and images, and each has its own initial
weights and its own learning rate. The result holds every copy's learning
curve and the ensemble's, which votes with the output spike counts summed
over the copies. Copy c is exactly the single run of
``config.copy_config(c)``, so packing changes nothing but the cost.
"""

# %%
# Four copies, four learning rates
# --------------------------------
# ``copies=4`` with a list for ``lr`` gives each copy its own value; a single
# value would be shared. The weight seeds are ``seed``, ``seed + 1``, ...

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import ed_brian

FULL = os.environ.get("ED_BRIAN_EXAMPLES_FULL") == "1"
OUT = Path("results/examples/packed_copies")

config = ed_brian.Config(copies=4, lr=[0.05, 0.1, 0.15, 0.3], hidden=128 if FULL else 32,
                         train=1000 if FULL else 200, test=500 if FULL else 100, epochs=3 if FULL else 2)
data = ed_brian.load_data(config)
result = ed_brian.train(config, data)
ed_brian.save_run(OUT, result, data)

for c, own in enumerate(result.copies):
    print(f"copy {c} (lr {own.config.lr:g}, weight seed {own.config.weight_seed}): "
          f"final test accuracy {own.epochs[-1].test_accuracy:.1f} %")
print(f"ensemble of {config.copies}: final test accuracy {result.epochs[-1].test_accuracy:.1f} %")

# %%
# The ensemble from the saved scores
# ----------------------------------
# ``trials.npz`` keeps every output unit's score (spike count plus the
# membrane's progress to threshold, below 1), copy after copy. Summing the
# counts over the copies (ties: the mean progress) gives the ensemble's vote.

run = ed_brian.load_run(OUT)
test = run.trials["test_rows"]
scores = run.trials["scores"][test].reshape(len(test), config.copies, -1)
counts = np.floor(scores)
votes = np.argmax(counts.sum(axis=1) + (scores - counts).mean(axis=1), axis=1)
recomputed = 100 * np.mean(votes == run.trials["label"][test])
print(f"ensemble recomputed from trials.npz: {recomputed:.1f} %")

# %%
# Learning curves
# ---------------

fig, ax = plt.subplots(figsize=(6, 4))
for c, own in enumerate(result.copies):
    ax.plot([m.epoch for m in own.epochs], [m.test_accuracy for m in own.epochs], "o:", color=f"C{c}",
            label=f"copy {c}, lr {own.config.lr:g}")
ax.plot([m.epoch for m in result.epochs], [m.test_accuracy for m in result.epochs], "s-", color="k",
        label="ensemble (summed counts)")
ax.set(xlabel="epoch", ylabel="test accuracy (%)", xticks=[m.epoch for m in result.epochs],
       title="Four packed copies and their ensemble")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
fig.savefig(OUT / "copies_and_ensemble.png", dpi=100)
plt.show()
