"""End-of-run invariants and property-based tests of the data reader and the flags."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ed_brian.cli import build_parser, config_from_args, main, parse_hidden
from ed_brian.config import ConfigError, NetworkConfig
from ed_brian.data import DataError, read_idx
from ed_brian.invariants import InvariantError, check_weights, layer_warnings
from ed_brian.train import train

from conftest import band_dataset, small_config


@pytest.fixture(scope="module")
def trained():
    config = small_config(hidden=(4, 3), n_train=10, n_test=4)
    return config, train(config, band_dataset(10, 4))


def test_a_trained_network_passes_and_doctored_weights_fail(trained):
    config, result = trained
    check_weights(config.network, result.weights)
    for field, value, message in [
        ("w", -0.1, "negative"),
        ("w", np.nan, "NaN"),
        ("sign", None, "sign rule"),
    ]:
        weights = {k: v.copy() for k, v in result.weights.items()}
        key = f"hidden_1_to_hidden_2/{field}"
        weights[key][0] = -weights[key][0] if value is None else value
        with pytest.raises(InvariantError, match=message):
            check_weights(config.network, weights)


def test_silent_and_saturated_layers_are_reported():
    config = NetworkConfig()
    warnings = layer_warnings(config, {"relay": 30.0, "hidden_1": 0.0, "output": 990.0})
    assert any("hidden_1 fell silent" in w for w in warnings)
    assert any("output saturated" in w for w in warnings)
    assert layer_warnings(config, {"relay": 30.0, "hidden_1": 60.0, "output": 20.0}) == []


def test_unwritable_results_folder_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["train", "--train", "10", "--test", "5", "--hidden", "2", "--codegen", "numpy",
                 "--no-progress", "--out", str(blocker / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot write the results folder" in err[0]


def test_weights_of_another_shape_are_refused(tmp_path, trained, capsys):
    _, result = trained
    path = tmp_path / "weights.npz"
    np.savez(path, **result.weights)
    code = main(["train", "--train", "10", "--test", "5", "--hidden", "7", "--codegen", "numpy",
                 "--no-progress", "--init-weights", str(path), "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "another network shape" in err[-1] and not any("Traceback" in line for line in err)


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), cut=st.integers(0, 200), seed=st.integers(0, 99))
def test_idx_reader_round_trips_or_names_the_file(tmp_path, shape, cut, seed):
    array = np.random.default_rng(seed).integers(0, 256, size=shape).astype(np.uint8)
    data = gzip.compress(idx_bytes(array))
    path = tmp_path / f"case-{seed}-{cut}.gz"
    np.testing.assert_array_equal(read_idx(_write(path, data)), array)
    truncated = data[: max(0, len(data) - 1 - cut)]
    try:
        read_idx(_write(path, truncated))
    except DataError as error:
        assert path.name in str(error)


def _write(path, data):
    path.write_bytes(data)
    return path


@given(st.text(max_size=12))
def test_hidden_parser_accepts_only_comma_separated_integers(text):
    import argparse

    try:
        sizes = parse_hidden(text)
    except argparse.ArgumentTypeError as error:
        assert "--hidden" in str(error)
    else:
        assert sizes == tuple(int(part) for part in text.split(","))


@settings(max_examples=60, deadline=None)
@given(
    v_rest=st.floats(-100, 0), v_threshold=st.floats(-100, 0), tau_m=st.floats(-5, 50),
    dt=st.floats(-1, 60), hidden=st.integers(-3, 5), train_size=st.integers(-3, 5),
)
# A valid dt that leaves a 50 ms trial fewer than 4 steps (once a message without its flag).
@example(v_rest=-65.0, v_threshold=-40.0, tau_m=12.0, dt=25.0, hidden=1, train_size=1)
def test_flag_values_give_a_valid_config_or_a_config_error(v_rest, v_threshold, tau_m, dt, hidden, train_size):
    args = build_parser().parse_args([
        "train", f"--v_rest={v_rest}", f"--v_threshold={v_threshold}", f"--tau_m={tau_m}",
        f"--spike_dt={dt}", f"--hidden={hidden}", f"--train={train_size}",
    ])
    try:
        config = config_from_args(args)
    except ConfigError as error:
        assert str(error).startswith("--")
    else:
        assert config.network.lif.v_threshold > config.network.lif.v_rest
        assert config.network.lif.tau_m > 0 and 0 < config.network.input.dt <= 50
        assert config.network.hidden[0] > 0 and config.n_train > 0
