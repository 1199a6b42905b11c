"""
Compare one parameter
=====================

How much does the membrane time constant matter? Train the same network
twice, once with the default ``tau_m`` of 12 ms and once with a slower
membrane, and compare the learning curves. ``Config.replace`` makes a
validated copy with one parameter changed; everything else (the seed, hence
the initial weights, the training order and the Poisson input) stays the same.
"""

# %%
# Two configurations
# ------------------
# Changing ``tau_m`` also changes the jump of ``v`` per unit of weight
# (``R_m * q_syn / tau_m``): a slower membrane integrates longer but each
# input spike moves it less.

import os
from pathlib import Path

import matplotlib.pyplot as plt
from brian2 import ms

import ed_brian

FULL = os.environ.get("ED_BRIAN_EXAMPLES_FULL") == "1"
OUT = Path("results/examples/compare_parameter")

base = ed_brian.Config(hidden=128 if FULL else 32, train=1000 if FULL else 200, test=500 if FULL else 100,
                       epochs=5 if FULL else 3)
configs = {f"tau_m = {value / ms:g} ms": base.replace(tau_m=value) for value in (12 * ms, 30 * ms)}
data = ed_brian.load_data(base)

# %%
# Train both
# ----------

results = {}
for name, config in configs.items():
    results[name] = ed_brian.train(config, data)
    ed_brian.save_run(OUT / name.replace(" ", "").replace("=", "_"), results[name], data)
    accuracies = ", ".join(f"{m.test_accuracy:.1f}" for m in results[name].epochs)
    print(f"{name}: test accuracy per epoch {accuracies} %")
for name, result in results.items():
    print(f"{name}: final test accuracy {result.epochs[-1].test_accuracy:.1f} %")

# %%
# Learning curves
# ---------------

fig, ax = plt.subplots(figsize=(6, 4))
for k, (name, result) in enumerate(results.items()):
    epochs = [m.epoch for m in result.epochs]
    ax.plot(epochs, [m.test_accuracy for m in result.epochs], "o-", color=f"C{k}", label=f"{name}, test")
    ax.plot(epochs, [m.train_accuracy for m in result.epochs], "s:", color=f"C{k}", label=f"{name}, train")
ax.set(xlabel="epoch", ylabel="accuracy (%)", xticks=epochs, title="Effect of the membrane time constant")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
OUT.mkdir(parents=True, exist_ok=True)
fig.savefig(OUT / "compare_tau_m.png", dpi=100)
plt.show()
