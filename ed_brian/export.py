"""Self-contained standalone projects: export, build with make, run without Python, collect.

``export_project`` writes a Brian2 ``cpp_standalone`` or ``cuda_standalone``
project for a whole training run. Its dataset, trial schedule and initial
weights are files under ``static_arrays/``; the program writes spike scores,
weights and spike counts under ``results/``. ``collect_results`` turns those
back into accuracies per epoch and a ``weights.npz`` like ``ed-brian train``'s.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from brian2 import Subgroup, get_device

from ed_brian import devices, results
from ed_brian.config import RunConfig
from ed_brian.data import Dataset
from ed_brian.network import expected_synapse_counts
from ed_brian.schedule import Phase, Schedule
from ed_brian.train import EpochMetrics, Trainer, epoch_metrics, predict

EXPORT_FILE = "ed_brian_export.json"


def initial_weights(config: RunConfig) -> dict[str, np.ndarray]:
    """Initial magnitudes ~ U(w1, w2) drawn in NumPy from ``config.seed``, one array per projection.

    An exported project and the points of a standalone sweep start from these
    (Brian2's own draw happens inside the compiled program); pass them to
    :func:`train` as ``initial_weights`` to reproduce such a run.
    """
    rng = np.random.default_rng([config.seed, 1])
    ed = config.network.ed
    return {
        f"{name}/w": rng.uniform(ed.w_min, ed.w_max, count)
        for name, count in expected_synapse_counts(config.network).items()
    }


def _array_map(trainer: Trainer) -> dict[str, dict]:
    """Where the program writes each array we read back, and its dtype."""
    device = get_device()
    net = trainer.net

    def entry(var, group=None, indices_into=None):
        found = {"file": device.get_array_filename(var), "dtype": np.dtype(var.dtype).str}
        if isinstance(group, Subgroup):  # its slice of the group's array
            found.update(start=int(group.start), stop=int(group.stop))
        if isinstance(indices_into, Subgroup):  # Brian2 stores indices into the whole group
            found.update(offset=int(indices_into.start))
        return found

    arrays = {"scores": entry(net.score_monitor.variables["score"])}
    for layer in net.layers:
        arrays[f"{layer.name}/spikes_total"] = entry(layer.variables["spikes_total"], layer)
    for group in net.unit_groups:
        arrays[f"{group.name}/ptype"] = entry(group.variables["ptype"], group)
    for syn in net.projections:
        arrays[f"{syn.name}/i"] = entry(syn.variables["_synaptic_pre"], indices_into=syn.source)
        arrays[f"{syn.name}/j"] = entry(syn.variables["_synaptic_post"], indices_into=syn.target)
        arrays[f"{syn.name}/w"] = entry(syn.variables["w"])
    return arrays


def export_project(config: RunConfig, dataset: Dataset, out: str | Path, weights: dict | None = None) -> Path:
    """Generate the standalone project of a training run in ``out`` (no compilation)."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(config, dataset, weights or initial_weights(config), project_dir=out, compile=False)
    trainer.queue_all()
    devices.build_and_run(trainer.device, out, run=False)
    schedule = trainer.schedule
    manifest = {
        "config": config.to_dict(),
        "versions": results.versions(),
        "dataset_source": dataset.source,
        "arrays": _array_map(trainer),
        "projections": [syn.name for syn in trainer.net.projections],
        "phases": [[p.epoch, p.kind, p.start, p.stop] for p in schedule.phases],
        "labels": schedule.label.tolist(),
    }
    (out / EXPORT_FILE).write_text(json.dumps(manifest) + "\n")
    (out / "README.md").write_text(_readme(config, out))
    devices.use_runtime(config.codegen)
    return out


def collect_results(folder: str | Path) -> tuple[list[EpochMetrics], dict[str, np.ndarray], np.ndarray]:
    """Per-epoch accuracies, weights and scores (trials x K) from a project that has run."""
    folder = Path(folder)
    manifest = json.loads((folder / EXPORT_FILE).read_text())
    config = RunConfig.from_dict(manifest["config"])

    def load(name):
        spec = manifest["arrays"][name]
        path = folder / "results" / spec["file"]
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: build and run the project first (see {folder}/README.md)")
        values = np.fromfile(path, dtype=np.dtype(spec["dtype"]))[spec.get("start", 0) : spec.get("stop")]
        return values - spec["offset"] if "offset" in spec else values

    K = config.network.n_classes
    phases = tuple(Phase(*p) for p in manifest["phases"])
    labels = np.asarray(manifest["labels"])
    scores = load("scores").reshape(-1, K)[1:]  # sample k holds trial k-1
    schedule = Schedule(np.zeros_like(labels), labels, np.zeros_like(labels), phases)
    if len(scores) < len(labels):
        raise ValueError(f"{folder}: the program recorded {len(scores)} of {len(labels)} trials; did it finish?")
    weights = {}
    for name in manifest["projections"]:
        pre, post = name.split("_to_")
        i, j = load(f"{name}/i"), load(f"{name}/j")
        weights.update({f"{name}/i": i, f"{name}/j": j, f"{name}/w": load(f"{name}/w")})
        weights[f"{name}/sign"] = (load(f"{pre}/ptype")[i] * load(f"{post}/ptype")[j]).astype(np.int8)
    metrics = epoch_metrics(schedule, predict(scores))
    return metrics, weights, scores


def _readme(config: RunConfig, out: Path) -> str:
    build = "make" if config.device == "cpp_standalone" else "make  # needs nvcc and an NVIDIA GPU"
    return f"""# Standalone ED network ({config.device})

Generated by ed-brian: {config.epochs} epoch(s) of {config.n_train} training and
{config.n_test} test trials, hidden {",".join(map(str, config.network.hidden))}, seed {config.seed}.
The full configuration is in `{EXPORT_FILE}`.

## Build and run (no Python needed)

    cd {out}
    {build}
    ./main

`static_arrays/` holds what the program reads: the images (`pixels`), the trial
schedule (`trial_image`, `prev_image`, `prev_label`, `prev_learn`) and the
initial weight magnitudes of every projection. `./main` writes its results
under `results/`: the output scores of every trial, the final weights and the
spike counts of every unit, as raw binary arrays.

## Load the results back

    ed-brian collect {out}

prints the accuracy of every epoch and writes `metrics.csv` and `weights.npz`
(the same format as `ed-brian train`; load the weights into any device with
`ed-brian train --init-weights {out}/weights.npz` or `ed-brian evaluate {out}`).
From Python:

    from ed_brian.export import collect_results
    metrics, weights, scores = collect_results("{out}")
"""
