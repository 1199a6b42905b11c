"""The results folder of a run: config.json, metrics.csv, weights.npz.

Files are written to a temporary name and renamed, so an interrupted write
never leaves a half-written file in place of a good one. Every file is
validated when it is read back: a missing, damaged or foreign one raises
:class:`ResultsError`, whose one-line message names the file and what is wrong.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import math
import numbers
import os
import platform
import re
from pathlib import Path

import numpy as np

from ed_brian import features
from ed_brian.config import RunConfig

METRICS_FIELDS = ("epoch", "train_accuracy", "test_accuracy", "seconds")
CHECKPOINT_FILE = "checkpoint.npz"
TRIALS_FILE = "trials.npz"
WEIGHT_FIELDS = ("i", "j", "w", "sign")


class ResultsError(Exception):
    """A results file that is missing, damaged or not ours.

    The message names the file and what is wrong, in one line.
    """


def _one_line(text, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(path, what: str) -> ResultsError:
    return ResultsError(f"{path}: {_one_line(what, 400)}")


def _unreadable(path, error: BaseException, kind: str, parsing: bool = False) -> ResultsError:
    """The ResultsError for a file that could not be opened or parsed at all.

    ``parsing``: the file is open; an OSError (a seek before its start, ...) means damage.
    """
    import zipfile

    if isinstance(error, FileNotFoundError):
        return _fail(path, "missing (no such file)")
    if isinstance(error, IsADirectoryError):
        return _fail(path, f"is a folder, not a {kind}")
    if isinstance(error, PermissionError):
        return _fail(path, "cannot be read (permission denied)")
    if isinstance(error, zipfile.BadZipFile):
        return _fail(path, f"not a readable {kind}: damaged, truncated or not a zip archive ({_one_line(error)})")
    if isinstance(error, UnicodeDecodeError):
        return _fail(path, f"not a readable {kind}: damaged, not UTF-8 text (byte {error.start})")
    if isinstance(error, json.JSONDecodeError):
        return _fail(path, f"not a readable {kind}: damaged, invalid JSON ({error.msg}; line {error.lineno}, "
                           f"column {error.colno})")
    if isinstance(error, OSError) and error.strerror and not parsing:
        return _fail(path, f"cannot be read ({error.strerror})")
    name = type(error).__name__
    if name == "error":  # zlib.error, struct.error
        name = f"{type(error).__module__}.{name}"
    return _fail(path, f"not a readable {kind}: damaged ({name}: {_one_line(error)})")


def read_npz(path: str | os.PathLike, kind: str = "NumPy .npz archive") -> dict[str, np.ndarray]:
    """Every member of an .npz file, read completely; ResultsError if it cannot be."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise _unreadable(path, error, kind) from None
    if path.is_dir():
        raise _fail(path, f"is a folder, not a {kind}")
    if size == 0:
        raise _fail(path, f"empty (0 bytes), not a {kind}")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as error:  # anything the parser trips on: the file is not a readable archive
        if isinstance(error, ValueError) and "pickle" in str(error):
            raise _fail(path, f"not a readable {kind}: damaged or another kind of file (not a zip archive)") from None
        raise _unreadable(path, error, kind, parsing=True) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise _fail(path, f"a single NumPy array (.npy), not a {kind}")
    try:
        with data:
            return {key: data[key] for key in data.files}
    except Exception as error:  # CRC, zlib, header and EOF errors of a damaged member
        raise _unreadable(path, error, kind, parsing=True) from None


def _read_text(path: Path, kind: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except Exception as error:
        raise _unreadable(path, error, kind) from None


def read_json(path: str | os.PathLike, kind: str = "JSON file") -> dict:
    """A JSON object (dict) from ``path``; ResultsError if it is missing, damaged or not an object."""
    path = Path(path)
    text = _read_text(path, kind)
    if not text.strip():
        raise _fail(path, f"empty, not a {kind}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise _unreadable(path, error, kind) from None
    if not isinstance(data, dict):
        raise _fail(path, f"holds a JSON {type(data).__name__}, not a {kind} (an object)")
    return data


def config_from(path: Path, data, where: str = '"config"') -> RunConfig:
    """RunConfig.from_dict of a stored config, as a ResultsError naming ``path`` if it is not valid."""
    if not isinstance(data, dict):
        raise _fail(path, f"{where} is missing or not an object; not an ed-brian configuration")
    try:
        return RunConfig.from_dict(data)
    except KeyError as error:
        raise _fail(path, f"invalid configuration: {where} has no {error}") from None
    except Exception as error:  # ConfigError, or TypeError/ValueError of foreign keys and values
        raise _fail(path, f"invalid configuration: {_one_line(error)}") from None


class _Arrays:
    """The members of an .npz file, checked one by one; failures name the file."""

    def __init__(self, path: Path, arrays: dict[str, np.ndarray], kind: str):
        self.path, self.arrays, self.kind = path, arrays, kind

    def fail(self, what: str) -> ResultsError:
        return _fail(self.path, what)

    def get(self, key: str, kinds: str, ndim: int | None = None, length: int | None = None,
            optional: bool = False) -> np.ndarray | None:
        if key not in self.arrays:
            if optional:
                return None
            raise self.fail(f"has no {key!r}; not an ed-brian {self.kind} (or damaged)")
        value = self.arrays[key]
        names = {"i": "integer", "u": "integer", "f": "float", "U": "text", "b": "bool"}
        if value.dtype.kind not in kinds:
            want = " or ".join(dict.fromkeys(names.get(k, k) for k in kinds))
            raise self.fail(f"{key!r} holds {value.dtype} values, expected {want}")
        if ndim is not None and value.ndim != ndim:
            raise self.fail(f"{key!r} has shape {value.shape}, expected {ndim} dimension(s)")
        if length is not None and len(value) != length:
            raise self.fail(f"{key!r} has {len(value)} entries, expected {length}")
        return value

    def within(self, key: str, value: np.ndarray, low, high=None) -> None:
        """Every value in [low, high) (high None: no upper bound)."""
        if value.size and (value.min() < low or (high is not None and value.max() >= high)):
            bound = f"[{low}, {high})" if high is not None else f">= {low}"
            raise self.fail(f"{key!r} has values outside {bound}")


def _check_weights(checked: _Arrays, prefix: str = "") -> dict[str, np.ndarray]:
    """Every ``<projection>/i, j, w, sign`` under ``prefix``: present, 1-D, equal lengths, w >= 0, sign +-1."""
    names = [key[len(prefix):] for key in checked.arrays if key.startswith(prefix)]
    projections = sorted({name.rsplit("/", 1)[0] for name in names
                          if "/" in name and name.rsplit("/", 1)[1] in WEIGHT_FIELDS})
    if not projections:
        raise checked.fail(f"has no weights ({prefix}<projection>/w arrays); not an ed-brian {checked.kind}")
    out = {}
    for name in projections:
        key = f"{prefix}{name}"
        i = checked.get(f"{key}/i", "iu", ndim=1)
        n = len(i)
        j = checked.get(f"{key}/j", "iu", ndim=1, length=n)
        w = checked.get(f"{key}/w", "f", ndim=1, length=n)
        sign = checked.get(f"{key}/sign", "iu", ndim=1, length=n)
        checked.within(f"{key}/i", i, 0)
        checked.within(f"{key}/j", j, 0)
        if not np.all(np.isfinite(w)) or (n and w.min() < 0):
            raise checked.fail(f"{key + '/w'!r} has negative or non-finite magnitudes")
        if n and not np.all((sign == 1) | (sign == -1)):
            raise checked.fail(f"{key + '/sign'!r} has values other than -1 and +1")
        out.update({f"{name}/i": i, f"{name}/j": j, f"{name}/w": w, f"{name}/sign": sign})
    # A feature layer's calibration (ed_brian.features), checked against the network where it is loaded.
    for key in features.KEYS:
        if f"{prefix}{key}" in checked.arrays:
            values = checked.get(f"{prefix}{key}", "iu" if key == "features/seed" else "f", ndim=1)
            if not np.all(np.isfinite(values)):
                raise checked.fail(f"{prefix + key!r} has non-finite values")
            out[key] = values
    return out


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
    """``write(tmp)``, flush it to disk, then rename it over ``path`` in one step.

    If anything fails (a full disk, an interrupt), ``path`` keeps its previous
    version and the temporary file is removed; an OSError names ``path``.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(error, OSError) and error.errno is not None and not error.filename:
            raise OSError(error.errno, f"{error.strerror or error} (not written; its previous version, "
                          "if any, is intact)", str(path)) from error
        raise


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


def _read_config_file(path: Path) -> tuple[dict, RunConfig]:
    data = read_json(path, "config.json")
    return data, config_from(path, data.get("config"))


def read_config(folder: Path) -> RunConfig:
    """The RunConfig of a results folder's config.json; ResultsError if it is missing, damaged or invalid."""
    return _read_config_file(Path(folder) / "config.json")[1]


def set_epochs(folder: Path, epochs: int) -> RunConfig:
    """Change a run's length in its config.json, keeping everything else recorded there."""
    path = Path(folder) / "config.json"
    data, _ = _read_config_file(path)
    data["config"]["epochs"] = epochs
    config = RunConfig.from_dict(data["config"])  # validated as it is made
    _write_json(path, data)
    return config


def write_metrics(folder: Path, rows, copy_rows=None) -> None:
    """All epochs so far, one row each: accuracies in %, seconds, and each layer's mean firing rate.

    A packed run's rows are the ensemble's; ``copy_rows`` (each copy's epochs)
    add every copy's accuracies as copy_<c>_train_accuracy and copy_<c>_test_accuracy.
    """
    copy_rows = copy_rows or []

    def write(path: Path) -> None:
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            layers = list(rows[0].mean_rates) if rows else []
            copy_columns = [f"copy_{c}_{kind}_accuracy" for c in range(len(copy_rows)) for kind in ("train", "test")]
            writer.writerow([*METRICS_FIELDS, *copy_columns, *(f"rate_{name}_hz" for name in layers)])
            for number, row in enumerate(rows):
                copies = [f"{getattr(own[number], f'{kind}_accuracy'):.2f}"
                          for own in copy_rows for kind in ("train", "test")]
                writer.writerow(
                    [row.epoch, f"{row.train_accuracy:.2f}", f"{row.test_accuracy:.2f}", f"{row.seconds:.2f}",
                     *copies, *(f"{row.mean_rates.get(name, float('nan')):.2f}" for name in layers)]
                )

    _replace(folder / "metrics.csv", write)


_RATE_COLUMN = re.compile(r"rate_(.+)_hz")
_COPY_COLUMN = re.compile(r"copy_(\d+)_(train|test)_accuracy")


def read_metrics(folder: Path) -> list[dict[str, float]]:
    """metrics.csv as one dict per epoch: ``epoch`` an int, accuracies in %, seconds, rates in Hz.

    ResultsError if the file is missing, damaged or not a metrics.csv of ed-brian:
    the header, numbers in every column and epochs 1, 2, ... in order are checked.
    """
    path = Path(folder) / "metrics.csv"
    text = _read_text(path, "metrics.csv")
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise _fail(path, f"damaged (not CSV: {error})") from None
    expected = ",".join(METRICS_FIELDS)
    if not lines:
        raise _fail(path, f"empty; expected the header {expected}[,rate_<layer>_hz...]")
    header = lines[0]
    extra = header[len(METRICS_FIELDS):]
    copies = [name for name in extra if _COPY_COLUMN.fullmatch(name)]
    rates = [name for name in extra if name not in copies]
    if (tuple(header[: len(METRICS_FIELDS)]) != METRICS_FIELDS or len(set(header)) != len(header)
            or not all(_RATE_COLUMN.fullmatch(name) for name in rates)):
        raise _fail(path, f"its header {_one_line(','.join(header), 80)!r} is not {expected}[,rate_<layer>_hz...]; "
                          "damaged or not a metrics.csv of ed-brian")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if len(line) != len(header):
            raise _fail(path, f"line {number} has {len(line)} fields, the header {len(header)} (truncated or damaged)")
        row = {}
        for name, text_value in zip(header, line):
            try:
                value = int(text_value) if name == "epoch" else float(text_value)
            except ValueError:
                raise _fail(path, f"line {number}: {name} {_one_line(text_value, 40)!r} is not a number") from None
            row[name] = value
        epoch = number - 1
        if row["epoch"] != epoch:
            raise _fail(path, f"line {number} is epoch {row['epoch']}, expected {epoch} (epochs 1, 2, ... in order)")
        for name in ("train_accuracy", "test_accuracy", *copies):
            if not 0 <= row[name] <= 100:
                raise _fail(path, f"line {number}: {name} {row[name]} is not a percentage")
        if not (math.isfinite(row["seconds"]) and row["seconds"] >= 0):
            raise _fail(path, f"line {number}: seconds {row['seconds']} is not a duration")
        for name in rates:
            if row[name] < 0 or math.isinf(row[name]):  # nan: a layer without a rate that epoch
                raise _fail(path, f"line {number}: {name} {row[name]} is not a firing rate")
        rows.append(row)
    return rows


def load_metrics(folder: Path) -> list:
    """metrics.csv as EpochMetrics, one per epoch (mean rates by layer name, in Hz)."""
    from ed_brian.train import EpochMetrics

    rows = []
    for row in read_metrics(folder):
        rates = {key[len("rate_"):-len("_hz")]: value for key, value in row.items()
                 if key.startswith("rate_") and key.endswith("_hz")}
        rows.append(EpochMetrics(row["epoch"], row["train_accuracy"], row["test_accuracy"], row["seconds"], rates))
    return rows


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``arrays`` as a compressed .npz at ``path``, replaced atomically (see ``_replace``)."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:
            np.savez_compressed(f, **arrays)

    _replace(Path(path), write)


def save_weights(folder: Path, weights: dict[str, np.ndarray]) -> None:
    """Every projection's i, j, magnitude w and sign, as ``<projection>/<field>``."""
    write_npz(Path(folder) / "weights.npz", weights)


def load_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Weights saved by a run: a ``weights.npz`` file, or the run folder holding one.

    ResultsError if it is missing, damaged or not a weights file: every
    projection needs ``i``, ``j``, ``w`` and ``sign`` of one length, magnitudes
    ``w`` finite and >= 0, signs -1 or +1.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "weights.npz"
    arrays = read_npz(path, "weights file")
    _check_weights(_Arrays(path, arrays, "weights file"))
    return arrays


def save_checkpoint(folder: Path, checkpoint) -> None:
    """One file, replaced atomically: a crash mid-write leaves the previous checkpoint."""
    meta = {
        "trial": checkpoint.trial,
        "epoch_seconds": checkpoint.epoch_seconds,
        "epochs": [dataclasses.asdict(m) for m in checkpoint.epochs],
    }
    if checkpoint.config is not None:
        meta["config"] = checkpoint.config.to_dict()
    arrays = {f"weights/{key}": value for key, value in checkpoint.weights.items()}
    if checkpoint.copy_predictions is not None:
        meta["copy_epochs"] = [[dataclasses.asdict(m) for m in own] for own in checkpoint.copy_epochs]
        arrays["copy_predictions"] = checkpoint.copy_predictions
    arrays.update({f"random/{key}": value for key, value in (checkpoint.random_state or {}).items()})

    def write(path: Path) -> None:
        with path.open("wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), predictions=checkpoint.predictions, **arrays)

    _replace(Path(folder) / CHECKPOINT_FILE, write)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _epoch_metrics(path: Path, epochs) -> list:
    """EpochMetrics from a checkpoint's meta: epochs 1, 2, ... with every field valid."""
    from ed_brian.train import EpochMetrics

    if not isinstance(epochs, list):
        raise _fail(path, "meta 'epochs' is not a list")
    fields = {f.name for f in dataclasses.fields(EpochMetrics)}
    out = []
    for number, m in enumerate(epochs, start=1):
        if not isinstance(m, dict) or set(m) != fields:
            raise _fail(path, f"meta epoch {number} does not have the fields {', '.join(sorted(fields))}")
        if m["epoch"] != number or not _is_int(m["epoch"]):
            raise _fail(path, f"meta epoch {number} is numbered {m['epoch']!r} (epochs 1, 2, ... in order)")
        if not all(_is_number(m[name]) and 0 <= m[name] <= 100 for name in ("train_accuracy", "test_accuracy")):
            raise _fail(path, f"meta epoch {number} has an accuracy that is not a percentage")
        if not (_is_number(m["seconds"]) and m["seconds"] >= 0):
            raise _fail(path, f"meta epoch {number} has an invalid duration {m['seconds']!r}")
        rates = m["mean_rates"]
        if not isinstance(rates, dict) or not all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) and not v < 0 for v in rates.values()):
            raise _fail(path, f"meta epoch {number} has invalid mean rates")
        out.append(EpochMetrics(**m))
    return out


# Brian2's random state as devices.random_state() keeps it: name -> (dtype kinds, shape).
_RANDOM_STATE = {
    "numpy_keys": ("ui", (624,)), "numpy_scalars": ("i", (2,)), "numpy_gauss": ("f", (1,)),
    "rand_index": ("i", (1,)), "randn_index": ("i", (1,)),
}


def load_checkpoint(folder: Path):
    """The Checkpoint a run saved in ``folder``; ResultsError if it is missing, damaged or not a checkpoint."""
    from ed_brian.train import Checkpoint

    path = Path(folder) / CHECKPOINT_FILE
    kind = "checkpoint"
    checked = _Arrays(path, read_npz(path, kind), kind)
    text = checked.get("meta", "U", ndim=0)
    try:
        meta = json.loads(str(text))
    except (ValueError, RecursionError) as error:
        raise _fail(path, f"meta is not valid JSON ({error})") from None
    if not isinstance(meta, dict) or not {"trial", "epoch_seconds", "epochs"} <= set(meta):
        raise _fail(path, "meta lacks trial, epoch_seconds or epochs; not an ed-brian checkpoint")
    trial = meta["trial"]
    if not _is_int(trial) or trial < 0:
        raise _fail(path, f"meta trial {trial!r} is not a trial count >= 0")
    if not (_is_number(meta["epoch_seconds"]) and meta["epoch_seconds"] >= 0):
        raise _fail(path, f"meta epoch_seconds {meta['epoch_seconds']!r} is not a duration")
    epochs = _epoch_metrics(path, meta["epochs"])
    predictions = checked.get("predictions", "iu", ndim=1, length=trial)
    checked.within("predictions", predictions, -1)
    copy_predictions = checked.get("copy_predictions", "iu", ndim=2, length=trial, optional=True)
    copy_epochs = None
    if copy_predictions is not None:
        checked.within("copy_predictions", copy_predictions, -1)
        own = meta.get("copy_epochs")
        if not isinstance(own, list) or len(own) != copy_predictions.shape[1]:
            raise _fail(path, "meta copy_epochs does not list the epochs of every copy")
        copy_epochs = [_epoch_metrics(path, epochs) for epochs in own]
        if any(len(e) != len(epochs) for e in copy_epochs):
            raise _fail(path, "meta copy_epochs and epochs have different lengths")
    weights = _check_weights(checked, "weights/")
    random = {key[len("random/"):]: value for key, value in checked.arrays.items() if key.startswith("random/")}
    if random:
        for name, (kinds, shape) in _RANDOM_STATE.items():
            value = checked.get(f"random/{name}", kinds)
            if value.shape != shape:
                raise checked.fail(f"'random/{name}' has shape {value.shape}, expected {shape}")
        for name in ("rand", "randn"):
            if int(random[f"{name}_index"][0]) and f"{name}_block" not in random:
                raise checked.fail(f"has no 'random/{name}_block' for its random state")
            if f"{name}_block" in random:
                checked.get(f"random/{name}_block", "f", ndim=1)
        if "thread_keys" in random:  # a cpp_standalone program's other OpenMP threads
            rows = checked.get("random/thread_keys", "iu", ndim=2)
            if rows.shape[1] != 625:
                raise checked.fail(f"'random/thread_keys' has shape {rows.shape}, expected (threads - 1, 625)")
    return Checkpoint(
        trial=trial,
        weights=weights,
        predictions=predictions,
        epochs=epochs,
        epoch_seconds=float(meta["epoch_seconds"]),
        random_state=random or None,
        copy_predictions=copy_predictions,
        copy_epochs=copy_epochs,
        config=None if meta.get("config") is None else config_from(path, meta["config"], "meta config"),
    )


def save_trials(folder: Path, result, class_names) -> None:
    """Per trial: label, prediction, learning switch and amines, for the figures."""
    schedule = result.schedule
    amines = np.full((schedule.n_trials, result.scores.shape[1], 2), np.nan)
    mean_dw = np.full(schedule.n_trials, np.nan)
    scores = np.full((schedule.n_trials, result.scores.shape[1]), np.nan)
    scores[result.first_trial :] = result.scores
    if result.amines is not None:
        amines[result.first_trial :] = result.amines
    if result.mean_dw is not None:
        mean_dw[result.first_trial :] = result.mean_dw
    last_test = schedule.phases[-1]
    arrays = dict(
        label=schedule.label,
        prediction=result.predictions,
        image=schedule.image,
        learn=schedule.learn,
        amines=amines,
        mean_dw=mean_dw,
        test_rows=np.arange(last_test.start, last_test.stop),
        class_names=np.array(class_names),
        scores=scores,
    )
    if result.copies:
        arrays["copy_prediction"] = np.stack([own.predictions for own in result.copies], axis=1)
    write_npz(Path(folder) / TRIALS_FILE, arrays)


def load_trials(folder: Path) -> dict[str, np.ndarray]:
    """trials.npz of a results folder (see :class:`Run`); ResultsError if it is missing, damaged or not ours."""
    path = Path(folder) / TRIALS_FILE
    kind = "trials file"
    checked = _Arrays(path, read_npz(path, kind), kind)
    label = checked.get("label", "iu", ndim=1)
    n = len(label)
    prediction = checked.get("prediction", "iu", ndim=1, length=n)
    image = checked.get("image", "iu", ndim=1, length=n)
    checked.get("learn", "fiub", ndim=1, length=n)
    names = checked.get("class_names", "U", ndim=1)
    K = len(names)
    amines = checked.get("amines", "f", ndim=3, length=n)
    # Packed copies: every copy's output units.
    if amines.shape[2] != 2 or amines.shape[1] % K or not amines.shape[1]:
        raise checked.fail(f"'amines' has shape {amines.shape}, expected ({n}, {K} (x copies), 2)")
    scores = checked.get("scores", "f", ndim=2, length=n, optional=True)
    if scores is not None and scores.shape[1] != amines.shape[1]:
        raise checked.fail(f"'scores' has shape {scores.shape}, expected ({n}, {amines.shape[1]})")
    copy_prediction = checked.get("copy_prediction", "iu", ndim=2, length=n, optional=True)
    if copy_prediction is not None:
        if copy_prediction.shape[1] * K != amines.shape[1]:
            raise checked.fail(f"'copy_prediction' has {copy_prediction.shape[1]} copies, 'amines' {amines.shape[1] // K}")
        checked.within("copy_prediction", copy_prediction, -1, K)
    checked.get("mean_dw", "f", ndim=1, length=n, optional=True)
    test_rows = checked.get("test_rows", "iu", ndim=1)
    checked.within("label", label, 0, K)
    checked.within("prediction", prediction, -1, K)
    checked.within("image", image, 0)
    checked.within("test_rows", test_rows, 0, n)
    return checked.arrays


def repeated_test_file(folder: str | os.PathLike, repeats: int) -> Path:
    """Where a run keeps its test with every image shown ``repeats`` times: ``repeats-R.npz``."""
    return Path(folder) / f"repeats-{repeats}.npz"


def _finished_epochs(folder: Path) -> int:
    return len(read_metrics(folder)) if (folder / "metrics.csv").is_file() else 0


def save_repeated_test(folder: str | os.PathLike, scores: np.ndarray, labels: np.ndarray, device: str) -> Path:
    """Keep a run's repeated test (``scores`` images x copies x repeats x K, as
    :func:`~ed_brian.evaluation_scores` returns them, and the images' labels) in
    its folder, stamped with the epochs its weights have learned, so a run that
    trains further does not vote with scores of its older weights."""
    folder = Path(folder)
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if scores.ndim != 4 or len(labels) != len(scores):
        raise ValueError(f"scores {scores.shape} and labels {labels.shape}: expected images x copies x repeats x K "
                         "and one label per image")
    path = repeated_test_file(folder, scores.shape[2])
    write_npz(path, dict(scores=scores, labels=labels, epochs=np.int64(_finished_epochs(folder)),
                         device=np.array(device)))
    return path


def load_repeated_test(folder: str | os.PathLike, repeats: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(scores, labels) of the run's kept test with ``repeats`` looks per image
    (:func:`save_repeated_test`); None when none is kept, or when it was taken
    before the run's last epoch. ResultsError if the file is damaged or not ours."""
    folder = Path(folder)
    path = repeated_test_file(folder, repeats)
    if not path.is_file():
        return None
    kind = "repeated test file"
    checked = _Arrays(path, read_npz(path, kind), kind)
    scores = checked.get("scores", "f", ndim=4)
    labels = checked.get("labels", "iu", ndim=1, length=len(scores))
    epochs = checked.get("epochs", "iu", ndim=0)
    if scores.shape[2] != repeats:
        raise checked.fail(f"'scores' has {scores.shape[2]} looks per image, expected {repeats}")
    if not np.all(np.isfinite(scores)):
        raise checked.fail("'scores' has values that are not finite")
    if int(epochs) != _finished_epochs(folder):
        return None
    return scores, labels


def check_recordings(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """ResultsError unless ``arrays`` are recordings as :mod:`ed_brian.record` documents them."""
    kind = "recordings file"
    checked = _Arrays(path, arrays, kind)
    trials = checked.get("trials", "iu", ndim=1)
    checked.within("trials", trials, 0)
    duration = checked.get("trial_duration", "f", ndim=0)
    if not (np.isfinite(duration) and duration > 0):
        raise checked.fail(f"'trial_duration' {float(duration)} is not a duration > 0")
    checked.get("layout", "U", ndim=0, optional=True)
    images = checked.get("images", "fiu", ndim=2, length=len(trials), optional=True)
    if images is not None and images.shape[1] == 0:
        raise checked.fail("'images' has no pixels")
    layers: dict[str, set] = {}
    for key in arrays:
        if "/" in key:
            layer, field = key.rsplit("/", 1)
            layers.setdefault(layer, set()).add(field)
    spiking = [layer for layer, fields in layers.items() if fields & {"spike_i", "spike_t", "size"}]
    if not spiking:
        raise checked.fail(f"has no recorded layer (<layer>/spike_i); not an ed-brian {kind}")
    old_layout = "layout" not in arrays
    for layer, fields in layers.items():
        size = None
        if layer in spiking:
            spike_i = checked.get(f"{layer}/spike_i", "iu", ndim=1)
            spike_t = checked.get(f"{layer}/spike_t", "f", ndim=1, length=len(spike_i))
            size = int(checked.get(f"{layer}/size", "iu", ndim=0))
            if size < 0:
                raise checked.fail(f"'{layer}/size' is {size}, not a number of units")
            checked.within(f"{layer}/spike_i", spike_i, 0, size)
            if not np.all(np.isfinite(spike_t)):
                raise checked.fail(f"'{layer}/spike_t' has non-finite times")
        if fields & {"v", "v_t", "neurons", "v_threshold", "v_reset"}:
            neurons = checked.get(f"{layer}/neurons", "iu", ndim=1)
            v_t = checked.get(f"{layer}/v_t", "f", ndim=1)
            v = checked.get(f"{layer}/v", "f", ndim=2)
            shape = (len(v_t), len(neurons)) if old_layout else (len(neurons), len(v_t))
            if v.shape != shape:
                raise checked.fail(f"'{layer}/v' has shape {v.shape}, expected {shape}")
            for name in ("v_threshold", "v_reset"):
                checked.get(f"{layer}/{name}", "f", ndim=0)
            checked.within(f"{layer}/neurons", neurons, 0, size)


def save_run(folder: str | os.PathLike, result, dataset) -> Path:
    """Write a training result as ``ed-brian train`` does: config.json, metrics.csv,
    weights.npz, trials.npz and, when the run recorded, recordings.npz.

    ``dataset`` is the one the run trained on (its source is recorded, and the
    recorded trials' images are kept with the recordings). Returns the folder.
    """
    from ed_brian.record import save_recordings
    from ed_brian.train import pixel_table

    folder = new_results_dir(folder)
    # What an earlier config.json of this run recorded besides the config (its memory estimate, say) stays.
    earlier = {}
    if (folder / "config.json").is_file():
        try:
            earlier = {key: value for key, value in read_json(folder / "config.json", "config.json").items()
                       if key not in ("config", "versions")}
        except ResultsError:
            pass  # replaced below
    write_config(folder, result.config, **{**earlier, "dataset_source": dataset.source})
    write_metrics(folder, result.epochs, [own.epochs for own in result.copies])
    save_weights(folder, result.weights)
    save_trials(folder, result, dataset.class_names)
    if result.recordings is not None:
        rows = result.schedule.image[result.recordings["trials"]]
        save_recordings(folder, {**result.recordings, "images": pixel_table(dataset)[rows]})
    for c, own in enumerate(result.copies):
        save_run(folder / copy_folder(c), own, dataset)
    return folder


def copy_folder(copy: int) -> str:
    """The subfolder of a packed run's results that holds copy ``copy``'s (a complete run folder)."""
    return f"copy_{copy}"


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

    def template_diversity(self) -> dict[str, np.ndarray]:
        """Per class network, how many different input templates its first-layer units learned,
        see :func:`template_diversity`."""
        from ed_brian.weights import template_diversity

        network = self.config.network
        return template_diversity(self.weights, network.n_classes, network.n_pixels)

    @property
    def test_accuracy(self) -> float:
        """The last epoch's test accuracy, %."""
        return self.metrics[-1].test_accuracy

    @property
    def copies(self) -> list["Run"]:
        """A packed run's copies, each a Run of its own folder (``copy_<c>``); [] for one network."""
        return [load_run(self.folder / copy_folder(c)) for c in range(self.config.copies)]


def load_run(folder: str | os.PathLike) -> Run:
    """Everything a results folder holds (of ``ed-brian train``, ``save_run`` or a sweep point).

    FileNotFoundError if ``folder`` has no config.json; :class:`ResultsError`
    (naming the file) if one of its files is damaged or not ours.
    """
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
