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
from ed_brian.copies import initial_weights
from ed_brian.data import Dataset
from ed_brian.network import expected_synapse_counts
from ed_brian.schedule import Phase, Schedule
from ed_brian.train import EpochMetrics, Trainer, copy_predictions_of, ensemble_predictions, epoch_metrics

EXPORT_FILE = "ed_brian_export.json"


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
        # A feature layer's calibration is an input of the program, not one of its results.
        "feature_calibration": {key: value.tolist() for key, value in trainer.net.feature_calibration.items()},
    }
    (out / EXPORT_FILE).write_text(json.dumps(manifest) + "\n")
    (out / "README.md").write_text(_readme(config, out))
    devices.use_runtime(config.codegen)
    return out


def _manifest(folder: Path) -> dict:
    """The export manifest, checked; ResultsError naming it if it is damaged or not ours."""
    path = folder / EXPORT_FILE
    manifest = results.read_json(path, "export manifest")

    def fail(what):
        return results.ResultsError(f"{path}: {what}; damaged or not an ed-brian export manifest")

    for key, kind in (("arrays", dict), ("projections", list), ("phases", list), ("labels", list)):
        if not isinstance(manifest.get(key), kind):
            raise fail(f"{key!r} is missing or not a {kind.__name__}")
    manifest["_config"] = results.config_from(path, manifest.get("config"))
    is_int = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    for name, spec in manifest["arrays"].items():
        if not (isinstance(spec, dict) and isinstance(spec.get("file"), str) and spec["file"]
                and Path(spec["file"]).name == spec["file"] and isinstance(spec.get("dtype"), str)):
            raise fail(f"array {name!r} has no valid file and dtype")
        try:
            dtype = np.dtype(spec["dtype"])
        except TypeError:
            raise fail(f"array {name!r} has an unknown dtype {spec['dtype']!r}") from None
        if dtype.kind not in "iuf" or any(k in spec and not (is_int(spec[k]) and spec[k] >= 0)
                                          for k in ("start", "stop", "offset")):
            raise fail(f"array {name!r} has an invalid dtype, start, stop or offset")
    needed = {"scores"}
    for name in manifest["projections"]:
        if not isinstance(name, str) or "_to_" not in name:
            raise fail(f"projection {name!r} is not <pre>_to_<post>")
        pre, post = name.split("_to_", 1)
        needed |= {f"{name}/i", f"{name}/j", f"{name}/w", f"{pre}/ptype", f"{post}/ptype"}
    missing = sorted(needed - set(manifest["arrays"]))
    if missing:
        raise fail(f"no array {missing[0]!r}")
    K = manifest["_config"].network.n_classes
    stop = 0
    if not manifest["phases"] or len(manifest["phases"]) % 2:
        raise fail("'phases' is not a training and a test phase per epoch")
    for n, p in enumerate(manifest["phases"]):
        epoch, kind = n // 2 + 1, ("train", "test")[n % 2]
        if not (isinstance(p, list) and len(p) == 4 and all(is_int(v) for v in (p[2], p[3]))
                and p[0] == epoch and p[1] == kind and p[2] == stop and p[3] > p[2]):
            raise fail(f"phase {n + 1} is not [{epoch}, {kind!r}, {stop}, stop > {stop}]")
        stop = p[3]
    labels = manifest["labels"]
    if len(labels) != stop or not all(is_int(v) and 0 <= v < K for v in labels):
        raise fail(f"'labels' is not {stop} classes in [0, {K})")
    return manifest


def collect_results(folder: str | Path) -> tuple[list[EpochMetrics], dict[str, np.ndarray], np.ndarray]:
    """Per-epoch accuracies, weights and scores (trials x K) from a project that has run.

    A packed run (``--copies``) gives the ensemble's accuracies, the packed
    network's weights and every copy's scores (trials x copies*K).

    FileNotFoundError if the program has not written its results yet;
    :class:`ed_brian.results.ResultsError` (naming the file) if the manifest or
    a result file is damaged, truncated or not what the manifest describes.
    """
    folder = Path(folder)
    manifest = _manifest(folder)
    config = manifest["_config"]

    def load(name):
        spec = manifest["arrays"][name]
        path = folder / "results" / spec["file"]
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: build and run the project first (see {folder}/README.md)")
        dtype = np.dtype(spec["dtype"])
        try:
            size = path.stat().st_size
            if size % dtype.itemsize:
                raise results.ResultsError(f"{path}: {size} bytes, not a whole number of {dtype} values (truncated?)")
            values = np.fromfile(path, dtype=dtype)
        except OSError as error:
            raise results.ResultsError(f"{path}: cannot be read ({error.strerror or error})") from None
        start, stop = spec.get("start", 0), spec.get("stop", len(values))
        if not start <= stop <= len(values):
            raise results.ResultsError(f"{path}: {len(values)} values, {name} needs [{start}, {stop}) (truncated?)")
        values = values[start:stop]
        return values - spec["offset"] if "offset" in spec else values

    def fail(name, what):
        return results.ResultsError(f"{folder / 'results' / manifest['arrays'][name]['file']}: {name} {what}")

    K = config.network.n_classes * config.copies
    phases = tuple(Phase(*p) for p in manifest["phases"])
    labels = np.asarray(manifest["labels"], dtype=np.int64)
    raw = load("scores")
    if len(raw) % K:
        raise fail("scores", f"has {len(raw)} values, not a multiple of {K} classes (truncated?)")
    scores = raw.reshape(-1, K)[1:]  # sample k holds trial k-1
    schedule = Schedule(np.zeros_like(labels), labels, np.zeros_like(labels), phases)
    if len(scores) < len(labels):
        raise fail("scores", f"recorded {len(scores)} of {len(labels)} trials; did the program finish?")
    if not np.all(np.isfinite(scores)):
        raise fail("scores", "has non-finite values")
    weights = {}
    for name in manifest["projections"]:
        pre, post = name.split("_to_", 1)
        i, j, w = load(f"{name}/i"), load(f"{name}/j"), load(f"{name}/w")
        pre_type, post_type = load(f"{pre}/ptype"), load(f"{post}/ptype")
        if i.dtype.kind not in "iu" or j.dtype.kind not in "iu":
            raise fail(f"{name}/i", "are not integer indices")
        if not len(i) == len(j) == len(w):
            raise fail(f"{name}/w", f"has {len(w)} synapses, i {len(i)} and j {len(j)} (truncated?)")
        if len(i) and (i.min() < 0 or i.max() >= len(pre_type)):
            raise fail(f"{name}/i", f"has indices outside the {len(pre_type)} units of {pre}")
        if len(j) and (j.min() < 0 or j.max() >= len(post_type)):
            raise fail(f"{name}/j", f"has indices outside the {len(post_type)} units of {post}")
        if not np.all(np.isfinite(w)) or (len(w) and w.min() < 0):
            raise fail(f"{name}/w", "has negative or non-finite magnitudes")
        for unit, types in ((pre, pre_type), (post, post_type)):
            if not np.all((types == 1) | (types == -1)):
                raise fail(f"{unit}/ptype", "has unit types other than -1 and +1")
        weights.update({f"{name}/i": i, f"{name}/j": j, f"{name}/w": w})
        weights[f"{name}/sign"] = (pre_type[i] * post_type[j]).astype(np.int8)
    for key, values in manifest.get("feature_calibration", {}).items():
        weights[key] = np.asarray(values)  # the seed's list holds ints, the others floats
    metrics = epoch_metrics(schedule, ensemble_predictions(scores, config))
    return metrics, weights, scores


def copy_metrics(folder: str | Path, scores: np.ndarray) -> list[list[EpochMetrics]]:
    """Each copy's per-epoch accuracies from the scores :func:`collect_results` returned ([] for one network)."""
    manifest = _manifest(Path(folder))
    config = manifest["_config"]
    if config.copies == 1:
        return []
    labels = np.asarray(manifest["labels"], dtype=np.int64)
    schedule = Schedule(np.zeros_like(labels), labels, np.zeros_like(labels),
                        tuple(Phase(*p) for p in manifest["phases"]))
    own = copy_predictions_of(scores, config)
    return [epoch_metrics(schedule, own[:, c]) for c in range(config.copies)]


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
schedule (`trial_image`, `prev_image`, `prev_label`, `prev_learn`; with
`--shift` also the image offsets `trial_dx`, `trial_dy`, `prev_dx`, `prev_dy`) and the
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
