"""Loading MNIST and Fashion-MNIST from IDX files, the Keras cache or the bundled subset.

NumPy only, so that data problems surface before Brian2 is imported. Every
failure raises DataError with a one-line message naming the file and the fix.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASETS = ("mnist", "fashion", "fashion-subset")
CLASS_NAMES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
}

# File stems of the four IDX files, in the order (train images, train labels,
# test images, test labels); each may be stored gzipped (.gz) or raw.
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# Sub-folders of a data directory that hold each dataset.
_SUBDIRS = {"mnist": ("mnist",), "fashion": ("fashion-mnist", "fashion")}
_URLS = {"mnist": "https://yann.lecun.com/exdb/mnist/",
         "fashion": "https://github.com/zalandoresearch/fashion-mnist"}
_KERAS_NAMES = {"mnist": "mnist", "fashion": "fashion_mnist"}
_BUNDLED = "fashion_mnist_subset.npz"

# IDX type codes (third header byte); multi-byte values are big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(Exception):
    """A dataset is missing or malformed; the message says which file and how to fix it."""


@dataclass(frozen=True, eq=False)  # eq=False: comparing ndarray fields has no single truth value
class Dataset:
    name: str
    train_images: np.ndarray  # (N, 28, 28) uint8
    train_labels: np.ndarray  # (N,) uint8
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...]
    source: str  # where it was loaded from, recorded in the run's config.json

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into an array of its declared shape."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    complete = True
    if path.suffix == ".gz" or raw[:2] == b"\x1f\x8b":
        # A decompressobj (unlike gzip.decompress) keeps what it could inflate
        # from a cut-off file, so truncation is reported with byte counts.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw)
        except zlib.error as exc:
            raise DataError(f"{path}: corrupt gzip file ({exc}); download it again") from exc
        complete = inflater.eof

    if not complete and len(raw) < 4:
        raise DataError(f"{path}: truncated gzip file ({len(raw)} bytes inflate before it ends); "
                        "download it again")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        magic = int.from_bytes(raw[:4], "big")
        raise DataError(f"{path}: not an IDX file (magic number {magic} / 0x{magic:08x}; "
                        f"expected 2051 for images or 2049 for labels)")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated: header of {header} bytes, found {len(raw)}; "
                        "download it again")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise DataError(f"{path}: truncated: expected {expected} bytes of data, found {found}; "
                        "download it again")
    if not complete:
        raise DataError(f"{path}: truncated gzip file (the data is there but the stream's end "
                        "and checksum are missing); download it again")
    if found > expected:
        raise DataError(f"{path}: {found - expected} bytes of data beyond the {expected} "
                        f"that its header declares for shape {shape}; download it again")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def load_dataset(name: str, data_dir=None) -> Dataset:
    """A whole dataset: "mnist", "fashion" or "fashion-subset" (bundled, 1000 train / 500 test images).

    For a run, :func:`load_data` takes the images its Config asks for.

    MNIST and Fashion-MNIST come from the first place holding all four files:
    data_dir (if given, and only there), $ED_BRIAN_DATA, the Keras cache
    ($KERAS_HOME/datasets or ~/.keras/datasets), then a tensorflow download.
    """
    if name == "fashion-subset":
        return _load_bundled()
    if name not in _SUBDIRS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")

    if data_dir is not None:
        # An explicit directory is a promise: silently using another copy would hide a typo.
        files = _find_in_data_dir(Path(data_dir), name)
        if files is None:
            raise DataError(f"{name}: the four IDX files ({', '.join(IDX_FILES)}, .gz or raw) "
                            f"are not in {_where(Path(data_dir), name)}; {_how_to_get(name)}")
        return _load_idx_files(name, files)

    looked = []
    env_dir = os.environ.get("ED_BRIAN_DATA")
    if env_dir:
        files = _find_in_data_dir(Path(env_dir), name)
        if files is not None:
            return _load_idx_files(name, files)
        looked.append(f"ED_BRIAN_DATA={env_dir} ({_where(Path(env_dir), name)})")
    else:
        looked.append("ED_BRIAN_DATA (unset)")

    cache = _keras_cache()
    if name == "mnist":
        npz = cache / "mnist.npz"
        if npz.is_file():
            return _load_keras_npz(npz)
        looked.append(str(npz))
    else:
        files = _find_idx(cache / "fashion-mnist")
        if files is not None:
            return _load_idx_files(name, files)
        looked.append(str(cache / "fashion-mnist"))

    try:
        import tensorflow as tf
    except ImportError:
        tf = None
    if tf is None:
        raise DataError(f"{name} dataset not found (looked in: {'; '.join(looked)}) and "
                        f"tensorflow is not installed; {_how_to_get(name)}")
    try:
        (x_train, y_train), (x_test, y_test) = getattr(tf.keras.datasets, _KERAS_NAMES[name]).load_data()
    except Exception as exc:  # network or cache errors from Keras, in any of its forms
        raise DataError(f"{name}: download through tensorflow.keras failed ({exc}); "
                        f"{_how_to_get(name)}") from exc
    src = f"tensorflow.keras.datasets.{_KERAS_NAMES[name]}"
    return _make(name, x_train, y_train, x_test, y_test, src,
                 tuple(f"{src}[{k}]" for k in ("x_train", "y_train", "x_test", "y_test")))


def subset(dataset: Dataset, n_train: int, n_test: int, train_flag: str = "--train") -> Dataset:
    """The first n_train training and n_test test examples (fixed, so runs are comparable)."""
    for flag, n, have, kind in ((train_flag, n_train, len(dataset.train_labels), "training"),
                                ("--test", n_test, len(dataset.test_labels), "test")):
        if n < 0 or n > have:
            raise DataError(f"{flag} {n} asked, but {dataset.name} has {have} {kind} images")
    return dataclasses.replace(
        dataset,
        train_images=dataset.train_images[:n_train], train_labels=dataset.train_labels[:n_train],
        test_images=dataset.test_images[:n_test], test_labels=dataset.test_labels[:n_test])


def load_data(config, data_dir=None) -> Dataset:
    """The images a run of ``config`` needs: its training pool and its fixed test set.

    The first ``config.train`` training images (or the first ``config.train_pool``
    when the run draws from a pool) and the first ``config.test`` test images of
    ``config.dataset``, found as :func:`load_dataset` says. This is what
    :func:`train` expects; the command line loads its data the same way.
    """
    return subset(load_dataset(config.dataset, data_dir), config.pool_size, config.n_test,
                  "--train_pool" if config.train_pool else "--train")


load_run_data = load_data


def check_data(config, dataset: Dataset, train_images: bool = True) -> None:
    """ConfigError unless ``dataset`` has the image counts ``config`` asks for."""
    from ed_brian.config import ConfigError

    wanted = [("test", config.n_test, len(dataset.test_labels))]
    if train_images:
        pool = "train_pool" if config.train_pool else "train"
        wanted.insert(0, (pool, config.pool_size, len(dataset.train_labels)))
    for name, asked, found in wanted:
        if asked != found:
            raise ConfigError(f"the dataset has {found} {'test' if name == 'test' else 'training'} images "
                              f"but the config asks for {name}={asked}: load it with ed_brian.load_data(config)")


def _find_idx(directory: Path) -> list[Path] | None:
    """The four IDX files in directory (gzipped preferred), or None if any is missing."""
    found = []
    for stem in IDX_FILES:
        candidates = [directory / (stem + ".gz"), directory / stem]
        hit = next((p for p in candidates if p.is_file()), None)
        if hit is None:
            return None
        found.append(hit)
    return found


def _data_dir_candidates(root: Path, name: str) -> list[Path]:
    dirs = [root / sub for sub in _SUBDIRS[name]]
    # Files directly in root are accepted too, unless root is plainly the other
    # dataset's folder (e.g. .../mnist when asking for fashion): the file names are identical.
    other = {s for n, subs in _SUBDIRS.items() if n != name for s in subs}
    return dirs if root.name in other else dirs + [root]


def _find_in_data_dir(root: Path, name: str) -> list[Path] | None:
    return next((f for f in map(_find_idx, _data_dir_candidates(root, name)) if f is not None), None)


def _where(root: Path, name: str) -> str:
    return " or ".join(f"{d}/" for d in _data_dir_candidates(root, name))


def _how_to_get(name: str) -> str:
    sub = _SUBDIRS[name][0]
    return (f"download the four IDX .gz files from {_URLS[name]} into DIR/{sub}/ and pass "
            f"--data-dir DIR or set ED_BRIAN_DATA=DIR, or `pip install ed-brian[tensorflow]` "
            f"to download it automatically")


def _keras_cache() -> Path:
    home = os.environ.get("KERAS_HOME")
    return (Path(home) if home else Path.home() / ".keras") / "datasets"


def _load_idx_files(name: str, files: list[Path]) -> Dataset:
    arrays = [read_idx(f) for f in files]
    return _make(name, *arrays, str(files[0].parent.resolve()), tuple(str(f) for f in files))


def _load_keras_npz(path: Path) -> Dataset:
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = [npz[k] for k in keys]
    except (OSError, ValueError, KeyError, zlib.error, EOFError) as exc:
        raise DataError(f"{path}: unreadable or incomplete Keras MNIST archive ({exc}); "
                        "delete it so that it is downloaded again") from exc
    return _make("mnist", *arrays, str(path.resolve()), tuple(f"{path}[{k}]" for k in keys))


def _load_bundled() -> Dataset:
    resource = importlib.resources.files("ed_brian") / "datasets" / _BUNDLED
    keys = ("train_images", "train_labels", "test_images", "test_labels")
    try:
        with resource.open("rb") as f, np.load(f, allow_pickle=False) as npz:
            arrays = [npz[k] for k in keys]
    except (OSError, ValueError, KeyError, zlib.error, EOFError) as exc:
        raise DataError(f"{resource}: bundled Fashion-MNIST subset missing or unreadable ({exc}); "
                        "reinstall ed-brian") from exc
    return _make("fashion-subset", *arrays, f"bundled:ed_brian/datasets/{_BUNDLED}",
                 tuple(f"{_BUNDLED}[{k}]" for k in keys))


def _make(name, train_images, train_labels, test_images, test_labels, source, names) -> Dataset:
    """Check shapes, types and label range, naming the offending file, then build the Dataset."""
    checked = []
    for images, labels, img_name, lbl_name in ((train_images, train_labels, names[0], names[1]),
                                               (test_images, test_labels, names[2], names[3])):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
            raise DataError(f"{img_name}: expected uint8 images of shape (N, 28, 28), "
                            f"found {images.dtype} of shape {images.shape}")
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"{lbl_name}: expected a 1-D array of integer labels, "
                            f"found {labels.dtype} of shape {labels.shape}")
        if len(labels) != len(images):
            raise DataError(f"{lbl_name}: {len(labels)} labels, but {img_name} "
                            f"has {len(images)} images")
        if len(labels) and (labels.min() < 0 or labels.max() > 9):
            raise DataError(f"{lbl_name}: labels must be in 0..9, "
                            f"found {labels.min()}..{labels.max()}")
        checked += [images, labels.astype(np.uint8)]
    class_names = CLASS_NAMES["mnist" if name == "mnist" else "fashion"]
    return Dataset(name, *checked, class_names=class_names, source=source)
