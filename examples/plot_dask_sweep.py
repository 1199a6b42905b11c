"""
A parameter sweep on Dask
=========================

:func:`ed_brian.sweep` trains every point of a parameter grid for every seed,
each in its own results folder, on a ``dask.distributed`` cluster: by default
a ``LocalCluster`` of worker processes on this machine, or any cluster given
by its scheduler address (``scheduler=``), e.g. one started by dask-jobqueue on
SLURM. A finished point is not run again, so a stopped sweep resumes where it
stopped. Needs ``dask[distributed]``.
"""

# %%
# The grid: the learning rate, over two seeds
# -------------------------------------------
# The seed changes the initial weights, the training order and the Poisson
# input, so the spread over seeds shows how much of a difference between
# learning rates is noise. Every axis of a grid should change the runs: ``dif``,
# for instance, has no effect with a single hidden layer.

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import ed_brian

FULL = os.environ.get("ED_BRIAN_EXAMPLES_FULL") == "1"
OUT = Path("results/examples/dask_sweep")

base = ed_brian.Config(hidden=64 if FULL else 32, train=1000 if FULL else 200, test=500 if FULL else 100,
                       epochs=3 if FULL else 2)
grid = {"lr": [0.05, 0.15, 0.4] if FULL else [0.05, 0.4]}
seeds = [1, 2, 3] if FULL else [1, 2]

# %%
# The summary
# -----------
# ``sweep`` returns one row per point and seed (the values as the summary's
# text), and writes them to ``summary.csv`` with a figure, ``accuracy.png``, in
# the sweep's folder. Each point's folder holds its ``config.json``,
# ``metrics.csv`` and ``weights.npz``, which :func:`ed_brian.load_run` reads.


def print_summary(rows):
    print("lr     seed  test %  train %  seconds  status")
    for row in rows:
        print(f"{float(row['lr']):<6g} {row['seed']:<5} {row['test_accuracy']:>6}  {row['train_accuracy']:>7}"
              f"  {row['seconds']:>7}  {row['status']}")
    done = [row for row in rows if row["status"] == "done"]
    print(f"{len(done)} of {len(rows)} points done; summary in {OUT / 'summary.csv'}")


# %%
# Accuracy against the learning rate: every seed, and their mean.


def plot_accuracy(rows):
    done = [row for row in rows if row["status"] == "done"]
    lrs = sorted({float(row["lr"]) for row in done})
    fig, ax = plt.subplots(figsize=(5, 4))
    for seed in seeds:
        points = sorted((float(r["lr"]), float(r["test_accuracy"])) for r in done if int(r["seed"]) == seed)
        ax.plot(*zip(*points), "o:", alpha=0.6, label=f"seed {seed}")
    means = [np.mean([float(r["test_accuracy"]) for r in done if float(r["lr"]) == lr]) for lr in lrs]
    ax.plot(lrs, means, "ks-", lw=2, label="mean")
    ax.set(xscale="log", xlabel="learning rate", ylabel="final test accuracy (%)", title="Sweep of the learning rate")
    ax.set_xticks(lrs, [f"{lr:g}" for lr in lrs])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "accuracy_vs_lr.png", dpi=100)
    plt.show()


# %%
# Run the sweep
# -------------
# Two worker processes, one point each at a time. Dask's worker processes
# import this script too, so only the main process starts the sweep.

if __name__ == "__main__":
    rows = ed_brian.sweep(base, grid=grid, seeds=seeds, out=OUT, workers=2,
                          on_row=lambda row: print(f"finished lr={row['lr']:g} seed={row['seed']}: {row['status']}"))
    print_summary(rows)
    plot_accuracy(rows)
