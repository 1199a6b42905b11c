"""The command line: a full tiny run and one-line errors with exit code 2."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from ed_brian.cli import build_parser, config_from_args, main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ed_brian", *args], capture_output=True, text=True, timeout=600)


def test_train_on_bundled_data_writes_results_folder(tmp_path):
    out = tmp_path / "run"
    code = main(["train", "--train", "40", "--test", "20", "--hidden", "4", "--epochs", "2",
                 "--spike_sim_time", "20", "--codegen", "numpy", "--no-progress", "--out", str(out)])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["network"]["hidden"] == [4]
    assert config["config"]["dataset"] == "fashion-subset"
    assert config["config"]["seed"] == 1
    assert "brian2" in config["versions"]
    with (out / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert set(rows[0]) == {"epoch", "train_accuracy", "test_accuracy", "seconds",
                            "rate_relay_hz", "rate_hidden_1_hz", "rate_output_hz"}
    assert all(float(row["rate_relay_hz"]) > 0 for row in rows)
    assert all(0.0 <= float(row["test_accuracy"]) <= 100.0 for row in rows)
    with np.load(out / "weights.npz") as weights:
        assert weights["relay_to_hidden_1/w"].shape == (2 * 784 * 10 * 4,)
        assert weights["hidden_1_to_output/w"].min() >= 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--train", "-5"], "--train must be > 0"),
        (["--test", "0"], "--test must be > 0"),
        (["--hidden", "256,abc"], "--hidden takes comma-separated layer sizes"),
        (["--hidden", "0"], "--hidden sizes must be > 0"),
        (["--v_threshold", "-70", "--v_rest", "-65"], "must be above --v_rest"),
        (["--tau_m", "0"], "--tau_m must be > 0"),
        (["--shift", "14"], "--shift 14 would move a 28x28 image out of view"),
        (["--shift", "2", "--model", "simple"], "--shift is for --model lif"),
        (["--lr_decay", "1.5"], "--lr_decay must be in (0, 1]"),
        (["--lr_schedule", "cosine"], "invalid choice: 'cosine'"),
        (["--w_bound", "0.45"], "--w_bound (0.45) must exceed the initial magnitudes"),
        (["--spike_dt", "60", "--spike_sim_time", "50"], "is longer than --spike_sim_time"),
        (["--lr", "abc"], "--lr: takes a number, or one per copy"),
        (["--mnist", "--data-dir", "/nonexistent/data"], "/nonexistent/data"),
        (["--train", "5000"], "fashion-subset has 1000 training images"),
        (["--train_pool", "5000"], "--train_pool 5000 asked, but fashion-subset has 1000"),
        (["--train", "200", "--train_pool", "100"], "--train_pool (100) must be at least --train (200)"),
        (["--train_pool", "1000", "--train", "100", "--no_shuffle"], "drop --no_shuffle"),
        (["--bias_rate", "-1"], "--bias_rate must be >= 0"),
        (["--bias_rate", "1500"], "--bias_rate 1500.0 Hz exceeds one spike per time step"),
        (["--bias_rate", "100", "--model", "simple"], "--bias_rate is for --model lif"),
        (["--cuda-fixed-grid", "--device", "cpp_standalone"], "--cuda-fixed-grid applies to --device cuda_standalone"),
        (["--relay_input", "linked", "--model", "frelu"], "--relay_input linked is for --model lif"),
        (["--relay_input", "direct"], "invalid choice: 'direct'"),
        (["--lif_groups", "one", "--model", "simple"], "--lif_groups one is for --model lif"),
        (["--features", "-1"], "--features must be >= 0"),
        (["--features", "10", "--input_fraction", "0.5"], "give one of them"),
        (["--features", "10", "--model", "simple"], "--features is for --model lif"),
        (["--features", "10", "--feature_active", "1.5"], "--feature_active must be in (0, 1)"),
        (["--features", "10", "--feature_smoothing", "-1"], "--feature_smoothing must be >= 0"),
        (["--unknown-flag"], "unrecognized arguments"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    result = run_cli("train", "--no-progress", *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ed-brian: error:")
    assert message in lines[0]


def test_help_says_which_seed_flags_have_no_effect():
    result = run_cli("train", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for flag in ("--ami", "--sig", "--batch"):
        assert flag in text
    assert text.count("has no effect") >= 3


@pytest.mark.parametrize(
    "flags, forms",
    [
        ([], ("synapses", "layer", False)),
        (["--device", "cpp_standalone"], ("synapses", "layer", False)),
        # The launch-saving forms: a full MNIST epoch ran 2.9 times as fast on an H200.
        (["--device", "cuda_standalone"], ("linked", "one", True)),
        (["--device", "cuda_standalone", "--relay_input", "synapses", "--no-cuda-fixed-grid"], ("synapses", "one", False)),
        (["--device", "cuda_standalone", "--lif_groups", "layer"], ("linked", "layer", True)),
        (["--device", "cuda_standalone", "--model", "simple"], ("synapses", "layer", False)),
        (["--relay_input", "linked", "--lif_groups", "one"], ("linked", "one", False)),
    ],
)
def test_forms_left_open_are_the_fastest_on_the_device_and_named_ones_stay(flags, forms):
    config = config_from_args(build_parser().parse_args(["train", *flags]))
    assert (config.network.input.relay_input, config.network.lif_groups, config.cuda_fixed_grid) == forms


@pytest.mark.parametrize("flags, flag, why", [
    (["--dif", "3"], "--dif", "--diffusion seed"),
    (["--diffusion", "uniform"], "--diffusion", "--dif 1"),
    (["--epochs", "1", "--lr_decay", "0.5"], "--lr_decay", "lr_decay**0"),
    (["--sig", "2"], "--sig", "FReLU slope"),
    (["--model", "frelu", "--tau_m", "20"], "--tau_m", "no LIF hidden or output units"),
    (["--model", "simple", "--readout", "drive"], "--readout", "spike counts"),
])
def test_a_flag_that_cannot_change_the_run_gets_a_note(flags, flag, why):
    result = run_cli("train", "--train", "10", "--test", "5", "--hidden", "2", "--epochs", "1",
                     "--spike_sim_time", "20", "--codegen", "numpy", "--no-progress", "--out", "/dev/null/x",
                     *flags)
    notes = [line for line in result.stderr.splitlines() if line.startswith("ed-brian: note:")]
    assert notes == [line for line in notes if flag in line] and len(notes) == 1, result.stderr
    assert f"{flag} changes nothing in this run" in notes[0] and why in notes[0]


def test_flags_that_change_the_run_get_no_note():
    result = run_cli("train", "--train", "10", "--test", "5", "--hidden", "2,2", "--epochs", "2", "--dif", "3",
                     "--lr_decay", "0.5", "--spike_sim_time", "20", "--codegen", "numpy", "--no-progress",
                     "--out", "/dev/null/x")
    assert "note:" not in result.stderr, result.stderr
    # A smooth schedule anneals within the first epoch, so lr_decay counts in a one-epoch run.
    result = run_cli("train", "--train", "10", "--test", "5", "--hidden", "2", "--epochs", "1",
                     "--lr_decay", "0.5", "--lr_schedule", "smooth", "--spike_sim_time", "20", "--codegen", "numpy",
                     "--no-progress", "--out", "/dev/null/x")
    assert "note:" not in result.stderr, result.stderr


@pytest.mark.parametrize("flags, expected", [
    (["--threads", "2"], "--threads 2 was measured slower than --threads 0"),
    (["--threads", "1", "--hidden", "2048"], "not at hidden 2048"),
    ([], None),
])
def test_threads_on_cpp_standalone_come_with_the_measured_warning(flags, expected):
    result = run_cli("train", "--device", "cpp_standalone", "--train", "10", "--test", "5", "--no-progress",
                     "--out", "/dev/null/x", *flags)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("ed-brian: warning:")]
    if expected is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and expected in warnings[0], result.stderr
    assert result.returncode == 2  # the results folder cannot be written: nothing ran
