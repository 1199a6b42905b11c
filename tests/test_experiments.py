"""The experiment scripts: a protocol run end to end, and a failing run's error passed on."""

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import full_data_dir

from ed_brian.cli import build_parser, config_from_args

ACCURACY = Path(__file__).parent.parent / "experiments" / "accuracy.py"
TINY = ["--", "--train", "30", "--test", "20", "--hidden", "4", "--spike_sim_time", "20", "--codegen", "numpy"]


def run_accuracy(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, str(ACCURACY), *args], capture_output=True, text=True, timeout=600,
                          env=env, cwd=cwd)


def _accuracy_script():
    spec = importlib.util.spec_from_file_location("accuracy", ACCURACY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _accuracy_script()


@pytest.mark.parametrize("protocol", list(SCRIPT.PROTOCOLS))
def test_every_protocol_is_a_valid_configuration(protocol):
    args = build_parser().parse_args(["train", "--fashion", *SCRIPT.PROTOCOLS[protocol]])
    config = config_from_args(args)  # validated: a bad flag or value raises here
    assert config.dataset == "fashion" and SCRIPT.EPOCHS[protocol] >= 1
    if protocol == "bounded":
        assert config.w_bound == 3 and config.features == 4000 and config.hidden == (64,)


def test_a_protocol_that_cannot_find_its_data_exits_with_the_run_s_message_and_no_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ED_BRIAN_DATA"}
    env["KERAS_HOME"] = str(tmp_path / "keras")  # no cached dataset either
    env["HOME"] = str(tmp_path)
    done = run_accuracy("fixed", "--datasets", "mnist", "--seeds", "1", "--device", "runtime",
                        "--out", str(tmp_path / "out"), *TINY, env=env)
    assert done.returncode == 2
    assert "mnist dataset not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_two_seeds_of_a_protocol_write_a_summary_and_vote(tmp_path):
    env = {**os.environ, "ED_BRIAN_DATA": full_data_dir("mnist")}
    out = tmp_path / "fixed"
    done = run_accuracy("fixed", "--datasets", "mnist", "--seeds", "1", "2", "--epochs", "1", "--device", "runtime",
                        "--out", str(out), *TINY, env=env)
    assert done.returncode == 0, done.stderr
    with (out / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["dataset"], r["seed"], r["epoch"]) for r in rows] == [("mnist", "1", "1"), ("mnist", "2", "1")]
    assert (out / "learning_curves.png").stat().st_size > 0
    assert "mnist: the 2 seeds' networks voting:" in done.stdout
    # Run again with repeated test presentations: nothing is retrained, each network is tested once more.
    again = run_accuracy("fixed", "--datasets", "mnist", "--seeds", "1", "2", "--epochs", "1", "--device",
                         "runtime", "--out", str(out), "--repeats", "2", *TINY, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("1 epochs already there") == 2
    assert again.stdout.count("tested with 2 presentations per image") == 2
    assert "mnist: each test image shown 2 times:" in again.stdout
    assert "mnist: the 2 seeds' networks voting, 2 presentations each:" in again.stdout
    assert (out / "mnist-seed1" / "repeats-2.npz").exists()
    kept = run_accuracy("fixed", "--datasets", "mnist", "--seeds", "1", "2", "--epochs", "1", "--device",
                        "runtime", "--out", str(out), "--repeats", "2", *TINY, env=env)
    assert "tested with" not in kept.stdout  # the kept scores are used
    assert kept.stdout.splitlines()[-2:] == again.stdout.splitlines()[-2:]
    # A call for one seed keeps the other seed's lines in the summary.
    alone = run_accuracy("fixed", "--datasets", "mnist", "--seeds", "2", "--epochs", "1", "--device", "runtime",
                         "--out", str(out), *TINY, env=env)
    assert alone.returncode == 0, alone.stderr
    with (out / "summary.csv").open() as f:
        after = list(csv.DictReader(f))
    assert [(r["seed"], r["test_accuracy"]) for r in after] == [(r["seed"], r["test_accuracy"]) for r in rows]
