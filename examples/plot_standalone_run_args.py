"""
Compile once, run many: standalone ``run_args``
===============================================

Brian2's ``cpp_standalone`` device turns the whole training run into one
compiled C++ program. :class:`ed_brian.StandaloneSession` compiles it once
and reruns it with new values through Brian2's ``run_args``: here three
learning rates, without compiling again. (The images, the training order and
the initial weights can be replaced the same way.)
"""

# %%
# Compile once
# ------------
# The project is generated and compiled in a cache folder per network shape,
# so a second script with the same shape only recompiles what changed.

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import ed_brian

FULL = os.environ.get("ED_BRIAN_EXAMPLES_FULL") == "1"
OUT = Path("results/examples/standalone_run_args")
OUT.mkdir(parents=True, exist_ok=True)

config = ed_brian.Config(hidden=128 if FULL else 32, train=1000 if FULL else 200, test=500 if FULL else 100,
                         epochs=3 if FULL else 2, device="cpp_standalone")
data = ed_brian.load_data(config)
session = ed_brian.StandaloneSession(config, data)
print(f"build: {session.build_seconds:.1f} s (code generation and compilation, once)")

# %%
# Rerun with other learning rates
# -------------------------------
# Each ``run`` starts the compiled program again with its ``run_args``; the
# Poisson input is the compiled one, so the runs differ only in ``lr``.

learning_rates = [0.05, 0.15, 0.4]
runs = {}
for lr in learning_rates:
    runs[lr] = session.run(lr=lr)
    last = runs[lr].epochs[-1]
    print(f"lr {lr:g}: run {runs[lr].standalone_times.run_seconds:.2f} s, "
          f"test accuracy {last.test_accuracy:.1f} % (train {last.train_accuracy:.1f} %)")

# %%
# Final test accuracy per learning rate
# -------------------------------------

fig, ax = plt.subplots(figsize=(5, 4))
x = np.arange(len(learning_rates))
bars = ax.bar(x, [runs[lr].epochs[-1].test_accuracy for lr in learning_rates], color="C0")
ax.bar_label(bars, fmt="%.1f %%")
ax.set(xticks=x, xticklabels=[f"lr = {lr:g}" for lr in learning_rates], ylabel="test accuracy (%)",
       title=f"One compiled program, {len(learning_rates)} runs\n(build {session.build_seconds:.0f} s once)")
fig.tight_layout()
fig.savefig(OUT / "accuracy_per_lr.png", dpi=100)
plt.show()
