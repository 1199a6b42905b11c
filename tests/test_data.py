"""Tests of ed_brian.data on tiny IDX files written here, plus the bundled subset."""

import gzip
import sys

import numpy as np
import pytest

from ed_brian.data import (CLASS_NAMES, DATASETS, IDX_FILES, DataError, Dataset,
                           load_dataset, read_idx, subset)

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array)
    header = bytes([0, 0, _CODES[array.dtype], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, gz=None):
    """Write array as an IDX file; gzipped when gz is True or the name ends in .gz."""
    data = idx_bytes(array)
    if gz if gz is not None else str(path).endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def write_dataset(directory, n_train=6, n_test=4, gz=True, seed=0):
    """Four IDX files with n_train/n_test random images; returns (directory, arrays)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = [rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              (np.arange(n_train) % 10).astype(np.uint8),
              rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              (np.arange(n_test) % 10).astype(np.uint8)]
    for stem, array in zip(IDX_FILES, arrays):
        write_idx(directory / (stem + (".gz" if gz else "")), array, gz=gz)
    return directory, arrays


@pytest.fixture
def no_other_sources(tmp_path, monkeypatch):
    """No env var, an empty Keras cache and no tensorflow, so only what a test sets up is found."""
    monkeypatch.delenv("ED_BRIAN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` fail


# --- read_idx ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["x-idx3-ubyte.gz", "x-idx3-ubyte"])
def test_read_idx_round_trip(tmp_path, name):
    images = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    out = read_idx(write_idx(tmp_path / name, images))
    assert out.dtype == np.uint8 and out.shape == (3, 28, 28)
    np.testing.assert_array_equal(out, images)


def test_read_idx_labels_and_wider_types(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l.gz", labels)), labels)
    ints = np.array([[-2, 70000], [5, 6]], np.int32)
    out = read_idx(write_idx(tmp_path / "i", ints))
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, ints)


def test_read_idx_headers_have_standard_magic(tmp_path):
    images = write_idx(tmp_path / "im", np.zeros((1, 28, 28), np.uint8))
    labels = write_idx(tmp_path / "lb", np.zeros(1, np.uint8))
    assert int.from_bytes(images.read_bytes()[:4], "big") == 2051
    assert int.from_bytes(labels.read_bytes()[:4], "big") == 2049


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_truncated(tmp_path, gz):
    data = idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-100]
    path = tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.*truncated: expected 1568 bytes "
                                        r"of data, found 1468"):
        read_idx(path)


def test_read_idx_cut_off_gzip_stream(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    rng = np.random.default_rng(2)
    path.write_bytes(gzip.compress(idx_bytes(rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)))[:5000])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: truncated"):
        read_idx(path)


def test_read_idx_trailing_bytes(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(np.zeros(4, np.uint8)) + b"\x00\x00")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: 2 bytes of data beyond"):
        read_idx(path)


def test_read_idx_corrupt_gzip(tmp_path):
    good = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(good[:12] + bytes(b ^ 0xFF for b in good[12:-8]) + good[-8:])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: corrupt gzip"):
        read_idx(path)


def test_read_idx_not_gzip_at_all(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz"):
        read_idx(path)


def test_read_idx_wrong_magic(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes((1234).to_bytes(4, "big") + bytes(100))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: not an IDX file \(magic number 1234"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.gz"):
        read_idx(tmp_path / "nope.gz")


# --- validation after loading -------------------------------------------------

def test_label_out_of_range(tmp_path, no_other_sources):
    d, _ = write_dataset(tmp_path / "d" / "mnist")
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 10], np.uint8))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: labels must be in 0\.\.9"):
        load_dataset("mnist", tmp_path / "d")


def test_image_label_count_mismatch(tmp_path, no_other_sources):
    d, _ = write_dataset(tmp_path / "d" / "mnist", n_train=6)
    write_idx(d / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: 5 labels, but .*train-images"):
        load_dataset("mnist", tmp_path / "d")


def test_images_of_wrong_shape(tmp_path, no_other_sources):
    d, _ = write_dataset(tmp_path / "d" / "mnist")
    write_idx(d / "train-images-idx3-ubyte.gz", np.zeros((6, 32, 32), np.uint8))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: expected uint8 images"):
        load_dataset("mnist", tmp_path / "d")


# --- where datasets are looked for ---------------------------------------------

@pytest.mark.parametrize("name,sub", [("mnist", "mnist"), ("fashion", "fashion-mnist"),
                                      ("fashion", "fashion"), ("mnist", None)])
def test_data_dir_layouts(tmp_path, no_other_sources, name, sub):
    root = tmp_path / "data"
    _, arrays = write_dataset(root / sub if sub else root, n_train=7, n_test=3)
    ds = load_dataset(name, root)
    assert isinstance(ds, Dataset) and ds.name == name
    assert ds.class_names == CLASS_NAMES[name] and ds.n_classes == 10
    for got, want in zip((ds.train_images, ds.train_labels, ds.test_images, ds.test_labels), arrays):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.uint8
    assert ds.source == str((root / sub if sub else root).resolve())


def test_raw_idx_files_accepted(tmp_path, no_other_sources):
    write_dataset(tmp_path / "mnist", n_train=5, gz=False)
    assert len(load_dataset("mnist", tmp_path).train_labels) == 5


def test_data_dir_beats_env_var(tmp_path, no_other_sources, monkeypatch):
    write_dataset(tmp_path / "arg" / "mnist", n_train=5)
    write_dataset(tmp_path / "env" / "mnist", n_train=8)
    monkeypatch.setenv("ED_BRIAN_DATA", str(tmp_path / "env"))
    assert len(load_dataset("mnist", tmp_path / "arg").train_images) == 5
    assert len(load_dataset("mnist").train_images) == 8


def test_explicit_data_dir_without_files_fails_even_if_env_var_is_valid(
        tmp_path, no_other_sources, monkeypatch):
    write_dataset(tmp_path / "env" / "mnist")
    monkeypatch.setenv("ED_BRIAN_DATA", str(tmp_path / "env"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        load_dataset("mnist", tmp_path / "empty")


def test_mnist_folder_not_taken_for_fashion(tmp_path, no_other_sources):
    write_dataset(tmp_path / "mnist")
    with pytest.raises(DataError):
        load_dataset("fashion", tmp_path / "mnist")


def test_env_var_without_files_falls_through_to_keras_cache(tmp_path, no_other_sources, monkeypatch):
    (tmp_path / "env").mkdir()
    monkeypatch.setenv("ED_BRIAN_DATA", str(tmp_path / "env"))
    write_dataset(tmp_path / "keras" / "datasets" / "fashion-mnist", n_train=9)
    ds = load_dataset("fashion")
    assert len(ds.train_images) == 9 and "fashion-mnist" in ds.source


def test_keras_cache_mnist_npz_under_home(tmp_path, no_other_sources, monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    _, (xtr, ytr, xte, yte) = write_dataset(tmp_path / "unused", n_train=4, n_test=2)
    cache = tmp_path / "home" / ".keras" / "datasets"
    cache.mkdir(parents=True)
    np.savez(cache / "mnist.npz", x_train=xtr, y_train=ytr.astype(np.int64), x_test=xte, y_test=yte)
    ds = load_dataset("mnist")
    assert ds.source.endswith("mnist.npz") and ds.train_labels.dtype == np.uint8
    np.testing.assert_array_equal(ds.test_images, xte)


def test_nothing_found_without_tensorflow(tmp_path, no_other_sources):
    with pytest.raises(DataError, match="ED_BRIAN_DATA") as info:
        load_dataset("fashion")
    assert "tensorflow" in str(info.value) and "\n" not in str(info.value)


def test_unknown_dataset():
    with pytest.raises(DataError, match="fashion-subset"):
        load_dataset("cifar10")


# --- bundled subset and subset() ----------------------------------------------

def test_bundled_fashion_subset():
    ds = load_dataset("fashion-subset")
    assert ds.name == "fashion-subset" and ds.class_names == CLASS_NAMES["fashion"]
    assert ds.train_images.shape == (1000, 28, 28) and ds.test_images.shape == (500, 28, 28)
    assert ds.train_labels.shape == (1000,) and ds.test_labels.shape == (500,)
    for a in (ds.train_images, ds.train_labels, ds.test_images, ds.test_labels):
        assert a.dtype == np.uint8
    assert set(np.unique(ds.train_labels)) == set(range(10)) == set(np.unique(ds.test_labels))
    assert "fashion-subset" in DATASETS


def test_subset_takes_the_first_examples():
    ds = load_dataset("fashion-subset")
    sub = subset(ds, 100, 50)
    assert len(sub.train_images) == len(sub.train_labels) == 100
    assert len(sub.test_images) == len(sub.test_labels) == 50
    np.testing.assert_array_equal(sub.train_images, ds.train_images[:100])
    np.testing.assert_array_equal(sub.test_labels, ds.test_labels[:50])
    assert sub.name == ds.name and sub.source == ds.source
    assert len(subset(ds, 1000, 500).train_images) == 1000


def test_subset_bounds():
    ds = load_dataset("fashion-subset")
    with pytest.raises(DataError, match="--train 5000 asked, but fashion-subset has 1000 training images"):
        subset(ds, 5000, 10)
    with pytest.raises(DataError, match="--test 501 asked, but fashion-subset has 500 test images"):
        subset(ds, 10, 501)
    with pytest.raises(DataError):
        subset(ds, -1, 10)


# --- the real MNIST, where available --------------------------------------------

def test_full_mnist_from_env(data_dir):
    ds = load_dataset("mnist", data_dir)
    assert ds.train_images.shape == (60000, 28, 28) and ds.test_images.shape == (10000, 28, 28)
    assert np.bincount(ds.test_labels).tolist() == [980, 1135, 1032, 1010, 982,
                                                    892, 958, 1028, 974, 1009]


def test_full_dataset_tests_skip_without_data_and_fail_when_required(tmp_path, monkeypatch):
    from conftest import full_data_dir

    monkeypatch.delenv("ED_BRIAN_REQUIRE_DATA", raising=False)
    for value in (None, str(tmp_path / "nowhere")):
        if value is None:
            monkeypatch.delenv("ED_BRIAN_DATA", raising=False)
        else:
            monkeypatch.setenv("ED_BRIAN_DATA", value)
        with pytest.raises(pytest.skip.Exception, match="needs the full mnist dataset"):
            full_data_dir("mnist")
        monkeypatch.setenv("ED_BRIAN_REQUIRE_DATA", "1")
        with pytest.raises(pytest.fail.Exception, match="ED_BRIAN_REQUIRE_DATA asks for the full datasets"):
            full_data_dir("mnist")
        monkeypatch.delenv("ED_BRIAN_REQUIRE_DATA")
    write_dataset(tmp_path / "data" / "mnist", n_train=3)
    monkeypatch.setenv("ED_BRIAN_DATA", str(tmp_path / "data"))
    assert full_data_dir("mnist") == str(tmp_path / "data")
