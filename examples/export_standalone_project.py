"""
Export a standalone C++ project
===============================

:func:`ed_brian.export_project` writes the Brian2 ``cpp_standalone`` project
of a whole training run into a folder: C++ sources, a makefile, and the
images, trial schedule and initial weights as binary files. It builds with
``make`` and runs as ``./main`` with no Python at all, on any machine with a
C++ compiler; :func:`ed_brian.collect_results` reads its results back.
"""

# %%
# The run through ed_brian, for comparison
# ----------------------------------------
# ``train`` on the ``cpp_standalone`` device builds the same kind of program
# in ed_brian's cache folder for this network shape (the previous example
# compiled it already, so ``make`` has little to do) and runs it. The export
# draws its initial weights in NumPy from the seed (so that they are files
# before the program runs), where ``train`` lets Brian2 draw them; given the
# export's initial weights, ``train`` runs exactly the exported run.

import os
import shutil
import subprocess
import time
from pathlib import Path

import ed_brian

FULL = os.environ.get("ED_BRIAN_EXAMPLES_FULL") == "1"
OUT = Path("results/examples/export_standalone_project")

config = ed_brian.Config(hidden=128 if FULL else 32, train=1000 if FULL else 200, test=500 if FULL else 100,
                         epochs=3 if FULL else 2, device="cpp_standalone")
data = ed_brian.load_data(config)
result = ed_brian.train(config, data, initial_weights=ed_brian.initial_weights(config))
for m in result.epochs:
    print(f"ed_brian.train, epoch {m.epoch}: train {m.train_accuracy:.1f} %, test {m.test_accuracy:.1f} %")

# %%
# Export
# ------

project = OUT / "project"
if (project / "results").exists():  # results of an earlier run of this example
    shutil.rmtree(project / "results")
start = time.perf_counter()
ed_brian.export_project(config, data, project)
print(f"exported to {project} in {time.perf_counter() - start:.1f} s:",
      ", ".join(sorted(p.name for p in project.iterdir())[:8]), "...")

# %%
# Build and run, as on any other machine
# --------------------------------------
# ``make`` compiles the generated sources (``-j2``: two compiler processes;
# the first time, this takes most of a minute); ``./main`` runs the whole
# schedule and writes ``results/``.

start = time.perf_counter()
subprocess.run(["make", "-j2"], cwd=project, check=True, stdout=subprocess.DEVNULL)
print(f"make: {time.perf_counter() - start:.1f} s")
start = time.perf_counter()
subprocess.run(["./main"], cwd=project, check=True, stdout=subprocess.DEVNULL)
print(f"./main: {time.perf_counter() - start:.1f} s")

# %%
# Collect the results
# -------------------
# Accuracies of every epoch (from the output scores the program recorded),
# the final weights in the format of ``ed-brian train`` and the scores: the
# same numbers as the run through ``train`` above.

metrics, weights, scores = ed_brian.collect_results(project)
for m in metrics:
    print(f"exported program, epoch {m.epoch}: train {m.train_accuracy:.1f} %, test {m.test_accuracy:.1f} %")
print(f"scores of {scores.shape[0]} trials x {scores.shape[1]} classes; "
      f"{len({key.split('/')[0] for key in weights})} projections of weights")
same = [(m.train_accuracy, m.test_accuracy) for m in metrics] == [(m.train_accuracy, m.test_accuracy)
                                                                  for m in result.epochs]
print(f"exported program and ed_brian.train agree on every epoch: {same}")
