"""The results folder of a run: config.json, metrics.csv, weights.npz.

Files are written to a temporary name and renamed, so an interrupted write
never leaves a half-written file in place of a good one.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import os
import platform
from pathlib import Path

import numpy as np

from ed_brian.config import RunConfig

METRICS_FIELDS = ("epoch", "train_accuracy", "test_accuracy", "seconds")
CHECKPOINT_FILE = "checkpoint.npz"
TRIALS_FILE = "trials.npz"


def new_results_dir(out: str | os.PathLike | None, root: str = "results") -> Path:
    """``out`` if given (created if needed), else a new timestamped folder under ``root``."""
    if out is not None:
        path = Path(out)
        path.mkdir(parents=True, exist_ok=True)
        return path
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for suffix in [""] + [f"-{n}" for n in range(1, 1000)]:
        path = Path(root) / f"{stamp}{suffix}"
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free results folder name under {root}/{stamp}")


def _replace(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def versions() -> dict[str, str]:
    import brian2

    import ed_brian

    return {
        "ed_brian": ed_brian.__version__,
        "brian2": brian2.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _write_json(path: Path, data: dict) -> None:
    _replace(path, lambda p: p.write_text(json.dumps(data, indent=2) + "\n"))


def write_config(folder: Path, config: RunConfig, **extra) -> None:
    _write_json(folder / "config.json", {"config": config.to_dict(), "versions": versions(), **extra})


def read_config(folder: Path) -> RunConfig:
    return RunConfig.from_dict(json.loads((Path(folder) / "config.json").read_text())["config"])


def set_epochs(folder: Path, epochs: int) -> RunConfig:
    """Change a run's length in its config.json, keeping everything else recorded there."""
    path = Path(folder) / "config.json"
    data = json.loads(path.read_text())
    data["config"]["epochs"] = epochs
    config = RunConfig.from_dict(data["config"])
    config.validate()
    _write_json(path, data)
    return config


def write_metrics(folder: Path, rows) -> None:
    """All epochs so far, one row each: accuracies in %, seconds, and each layer's mean firing rate."""

    def write(path: Path) -> None:
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            layers = list(rows[0].mean_rates) if rows else []
            writer.writerow([*METRICS_FIELDS, *(f"rate_{name}_hz" for name in layers)])
            for row in rows:
                writer.writerow(
                    [row.epoch, f"{row.train_accuracy:.2f}", f"{row.test_accuracy:.2f}", f"{row.seconds:.2f}",
                     *(f"{row.mean_rates.get(name, float('nan')):.2f}" for name in layers)]
                )

    _replace(folder / "metrics.csv", write)


def read_metrics(folder: Path) -> list[dict[str, float]]:
    """metrics.csv as one dict per epoch: ``epoch`` an int, accuracies in %, seconds, rates in Hz."""
    with (Path(folder) / "metrics.csv").open() as f:
        return [{k: int(v) if k == "epoch" else float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def load_metrics(folder: Path) -> list:
    """metrics.csv as EpochMetrics, one per epoch (mean rates by layer name, in Hz)."""
    from ed_brian.train import EpochMetrics

    rows = []
    for row in read_metrics(folder):
        rates = {key[len("rate_"):-len("_hz")]: value for key, value in row.items()
                 if key.startswith("rate_") and key.endswith("_hz")}
        rows.append(EpochMetrics(row["epoch"], row["train_accuracy"], row["test_accuracy"], row["seconds"], rates))
    return rows


def save_weights(folder: Path, weights: dict[str, np.ndarray]) -> None:
    """Every projection's i, j, magnitude w and sign, as ``<projection>/<field>``."""

    def write(path: Path) -> None:
        with path.open("wb") as f:
            np.savez_compressed(f, **weights)

    _replace(folder / "weights.npz", write)


def load_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Weights saved by a run: a ``weights.npz`` file, or the run folder holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / "weights.npz"
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def save_checkpoint(folder: Path, checkpoint) -> None:
    """One file, replaced atomically: a crash mid-write leaves the previous checkpoint."""
    meta = {
        "trial": checkpoint.trial,
        "epoch_seconds": checkpoint.epoch_seconds,
        "epochs": [dataclasses.asdict(m) for m in checkpoint.epochs],
    }
    arrays = {f"weights/{key}": value for key, value in checkpoint.weights.items()}
    arrays.update({f"random/{key}": value for key, value in (checkpoint.random_state or {}).items()})

    def write(path: Path) -> None:
        with path.open("wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), predictions=checkpoint.predictions, **arrays)

    _replace(Path(folder) / CHECKPOINT_FILE, write)


def load_checkpoint(folder: Path):
    from ed_brian.train import Checkpoint, EpochMetrics

    with np.load(Path(folder) / CHECKPOINT_FILE) as data:
        meta = json.loads(str(data["meta"]))
        weights = {key[len("weights/"):]: data[key] for key in data.files if key.startswith("weights/")}
        predictions = data["predictions"]
        random = {key[len("random/"):]: data[key] for key in data.files if key.startswith("random/")}
    return Checkpoint(
        trial=meta["trial"],
        weights=weights,
        predictions=predictions,
        epochs=[EpochMetrics(**m) for m in meta["epochs"]],
        epoch_seconds=meta["epoch_seconds"],
        random_state=random or None,
    )


def save_trials(folder: Path, result, class_names) -> None:
    """Per trial: label, prediction, learning switch and amines, for the figures."""
    schedule = result.schedule
    amines = np.full((schedule.n_trials, result.scores.shape[1], 2), np.nan)
    mean_dw = np.full(schedule.n_trials, np.nan)
    if result.amines is not None:
        amines[result.first_trial :] = result.amines
    if result.mean_dw is not None:
        mean_dw[result.first_trial :] = result.mean_dw
    last_test = schedule.phases[-1]
    np.savez_compressed(
        Path(folder) / TRIALS_FILE,
        label=schedule.label,
        prediction=result.predictions,
        image=schedule.image,
        learn=schedule.learn,
        amines=amines,
        mean_dw=mean_dw,
        test_rows=np.arange(last_test.start, last_test.stop),
        class_names=np.array(class_names),
    )


def load_trials(folder: Path) -> dict[str, np.ndarray]:
    with np.load(Path(folder) / TRIALS_FILE) as data:
        return {key: data[key] for key in data.files}


def save_run(folder: str | os.PathLike, result, dataset) -> Path:
    """Write a training result as ``ed-brian train`` does: config.json, metrics.csv,
    weights.npz, trials.npz and, when the run recorded, recordings.npz.

    ``dataset`` is the one the run trained on (its source is recorded, and the
    recorded trials' images are kept with the recordings). Returns the folder.
    """
    from ed_brian.record import save_recordings
    from ed_brian.train import pixel_table

    folder = new_results_dir(folder)
    write_config(folder, result.config, dataset_source=dataset.source)
    write_metrics(folder, result.epochs)
    save_weights(folder, result.weights)
    save_trials(folder, result, dataset.class_names)
    if result.recordings is not None:
        rows = result.schedule.image[result.recordings["trials"]]
        save_recordings(folder, {**result.recordings, "images": pixel_table(dataset)[rows]})
    return folder


@dataclasses.dataclass
class Run:
    """A results folder, loaded: what :func:`load_run` returns.

    ``metrics``: EpochMetrics per epoch (accuracies in %, seconds, mean rates in
    Hz). ``weights``: every projection's ``i``, ``j``, ``w`` and ``sign``
    (:func:`weight_matrix` makes a matrix of one). ``trials``: per trial
    ``label``, ``prediction``, ``image`` (row of the image table), ``learn``
    (the learning factor, 0 on test trials), ``amines`` (trials x classes x
    (A+, A-)), ``mean_dw`` and ``test_rows`` (the last test set's trials).
    ``recordings``: as :func:`load_recordings`, with units and Brian2's
    orientation. Parts the folder does not have are None.
    """

    folder: Path
    config: RunConfig
    metrics: list
    weights: dict | None
    trials: dict | None
    recordings: dict | None

    def weight_matrix(self, projection: str, signed: bool = True) -> np.ndarray:
        """The projection as a dense (pre x post) matrix, see :func:`weight_matrix`."""
        from ed_brian.weights import weight_matrix

        return weight_matrix(self.weights, projection, signed)

    def pixel_weights(self) -> np.ndarray:
        """Per class network, each pixel's E-minus-I weight onto its first hidden layer (classes x 28 x 28)."""
        from ed_brian.weights import pixel_weights

        return pixel_weights(self.weights, self.config.network.n_classes)

    @property
    def test_accuracy(self) -> float:
        """The last epoch's test accuracy, %."""
        return self.metrics[-1].test_accuracy


def load_run(folder: str | os.PathLike) -> Run:
    """Everything a results folder holds (of ``ed-brian train``, ``save_run`` or a sweep point)."""
    from ed_brian.record import load_recordings

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} is not a results folder (no config.json)")
    return Run(
        folder=folder,
        config=read_config(folder),
        metrics=load_metrics(folder) if (folder / "metrics.csv").is_file() else [],
        weights=load_weights(folder) if (folder / "weights.npz").is_file() else None,
        trials=load_trials(folder) if (folder / TRIALS_FILE).is_file() else None,
        recordings=load_recordings(folder) if (folder / "recordings.npz").is_file() else None,
    )
