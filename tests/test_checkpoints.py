"""Checkpoints: an interrupted and resumed run equals the uninterrupted one.

Compared: the predicted class of every trial, every weight, and the per-epoch
accuracies. It is exact because the checkpoint keeps Brian2's random state at
the first step of the next trial (NumPy's generator and the cython target's
unused block, ed_brian.devices.random_state) and the state that crosses a
trial boundary (membranes, counts, refractoriness) is reset there.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from ed_brian import results, schedule
from ed_brian.config import ConfigError
from ed_brian.train import Interrupted, train

from conftest import band_dataset, small_config, start_standalone_command


def assert_same_run(a, b):
    np.testing.assert_array_equal(a.predictions, b.predictions)
    for key, value in a.weights.items():
        np.testing.assert_array_equal(b.weights[key], value, err_msg=key)
    assert [(m.epoch, m.train_accuracy, m.test_accuracy) for m in a.epochs] == [
        (m.epoch, m.train_accuracy, m.test_accuracy) for m in b.epochs
    ]


# Shifted training images in one case: the resumed run must continue their offsets too.
@pytest.mark.parametrize("codegen, stop_after_chunks, shift", [("numpy", 2, 0), ("numpy", 5, 2), ("cython", 3, 0)])
def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path, monkeypatch, codegen, stop_after_chunks, shift):
    monkeypatch.setattr(schedule, "CHUNK_TRIALS", 7)
    data = band_dataset(20, 8)
    config = small_config(hidden=(5,), n_train=20, n_test=8, epochs=2, seed=13, codegen=codegen).replace(shift=shift)
    whole = train(config, data)

    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) >= stop_after_chunks

    with pytest.raises(Interrupted) as stopped:
        train(config, data, should_stop=should_stop)
    checkpoint = stopped.value.checkpoint
    assert 0 < checkpoint.trial < whole.schedule.n_trials
    results.save_checkpoint(tmp_path, checkpoint)
    resumed = train(config, data, resume=results.load_checkpoint(tmp_path))
    assert resumed.first_trial == checkpoint.trial
    assert_same_run(whole, resumed)


def test_a_cpp_standalone_run_is_a_program_per_epoch_whose_checkpoints_resume_exactly(tmp_path):
    # Each epoch's program continues the last one's weights and random numbers.
    data = band_dataset(20, 8)
    config = small_config(hidden=(5,), n_train=20, n_test=8, epochs=3, seed=13, codegen="cython")
    standalone = replace(config, device="cpp_standalone")
    project = tmp_path / "cpp"
    kept, ended = [], []
    whole = train(standalone, data, project_dir=project, on_checkpoint=kept.append,
                  on_epoch=lambda m: ended.append((m.epoch, len(kept))))
    assert ended == [(1, 0), (2, 1), (3, 2)] and [c.trial for c in kept] == [28, 56, 84]
    key = "relay_to_hidden_1/w"
    assert not np.array_equal(kept[0].weights[key], kept[1].weights[key])  # each epoch's own weights
    assert_same_run(train(config, data), whole)  # the numbers of one runtime run
    assert_same_run(whole, train(standalone, data, project_dir=project, resume=kept[0]))
    assert_same_run(whole, train(standalone, data, project_dir=project, resume=kept[1]))

    with pytest.raises(Interrupted) as stopped:
        train(standalone, data, project_dir=project, on_checkpoint=kept.append, should_stop=lambda: len(kept) > 3)
    assert stopped.value.checkpoint.trial == 28
    assert_same_run(whole, train(standalone, data, project_dir=project, resume=stopped.value.checkpoint))


def test_checkpoint_every_n_trials_and_after_each_epoch(monkeypatch):
    monkeypatch.setattr(schedule, "CHUNK_TRIALS", 5)
    data = band_dataset(20, 5)
    seen = []
    train(small_config(hidden=(3,), n_train=20, n_test=5, epochs=2), data,
          on_checkpoint=lambda c: seen.append((c.trial, len(c.epochs))), checkpoint_every=10)
    assert seen == [(10, 0), (20, 0), (25, 1), (35, 1), (45, 1), (50, 2)]


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    data = band_dataset(10, 5)
    result = train(small_config(hidden=(3,), n_train=10, n_test=5), data, on_checkpoint=lambda c: results.save_checkpoint(tmp_path, c))
    good = results.load_checkpoint(tmp_path)
    assert good.trial == 15

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError):
        results.save_checkpoint(tmp_path, good)
    again = results.load_checkpoint(tmp_path)
    assert again.trial == good.trial
    np.testing.assert_array_equal(again.weights["relay_to_hidden_1/w"], result.weights["relay_to_hidden_1/w"])


def test_sigterm_checkpoints_and_resume_finishes_the_same_run(tmp_path):
    args = ["--train", "200", "--test", "20", "--hidden", "3", "--epochs", "4", "--spike_sim_time", "10",
            "--codegen", "numpy", "--no-progress", "--seed", "7"]
    cli = [sys.executable, "-m", "ed_brian", "train"]
    whole = tmp_path / "whole"
    subprocess.run([*cli, *args, "--out", str(whole)], check=True, capture_output=True, timeout=600)

    part = tmp_path / "part"
    proc = subprocess.Popen([*cli, *args, "--out", str(part)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (part / "metrics.csv").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=600)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "--resume" in err and "Traceback" not in err
    assert results.load_checkpoint(part).trial < 4 * 220

    resumed = subprocess.run([*cli, "--resume", str(part), "--no-progress"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    strip = lambda rows: [(r["epoch"], r["train_accuracy"], r["test_accuracy"]) for r in rows]
    assert strip(results.read_metrics(part)) == strip(results.read_metrics(whole))
    a, b = results.load_weights(whole / "weights.npz"), results.load_weights(part / "weights.npz")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_a_finished_run_extended_by_an_epoch_equals_the_longer_run(tmp_path):
    data = band_dataset(20, 8)
    config = small_config(hidden=(5,), n_train=20, n_test=8, epochs=2, seed=5, codegen="numpy")
    whole = train(config, data)
    short = replace(config, epochs=1)
    train(short, data, on_checkpoint=lambda c: results.save_checkpoint(tmp_path, c))
    finished = results.load_checkpoint(tmp_path)
    assert finished.trial == 28 and len(finished.epochs) == 1
    with pytest.raises(ConfigError, match="nothing to resume"):
        train(short, data, resume=finished)
    assert finished.config.to_dict() == short.to_dict()
    with pytest.raises(ConfigError, match=r"this checkpoint's run has lr 0.15 \(given 0.05\)"):
        train(config.replace(lr=0.05), data, resume=finished)
    extended = train(config, data, resume=finished)
    assert_same_run(whole, extended)
    assert extended.epochs[1].epoch == 2


def test_resume_with_epochs_extends_the_run_and_refuses_to_shorten_or_change_it(tmp_path):
    cli = [sys.executable, "-m", "ed_brian", "train"]
    run = tmp_path / "run"
    args = ["--train", "30", "--test", "10", "--hidden", "3", "--spike_sim_time", "10", "--codegen", "numpy",
            "--no-progress"]
    subprocess.run([*cli, *args, "--epochs", "1", "--out", str(run)], check=True, capture_output=True, timeout=600)

    shorter = subprocess.run([*cli, "--resume", str(run), "--epochs", "1"], capture_output=True, text=True, timeout=600)
    assert shorter.returncode == 2
    assert "--epochs 1 with --resume must exceed the 1 epoch(s)" in shorter.stderr
    assert "Traceback" not in shorter.stderr

    changed = subprocess.run([*cli, "--resume", str(run), "--epochs", "2", "--lr", "0.05"],
                             capture_output=True, text=True, timeout=600)
    assert changed.returncode == 2 and "Traceback" not in changed.stderr
    assert "--lr 0.05 differs from the run's own value 0.15" in changed.stderr
    assert "--init-weights" in changed.stderr
    recording = subprocess.run([*cli, "--resume", str(run), "--epochs", "2", "--record-trials", "0:2"],
                               capture_output=True, text=True, timeout=600)
    assert recording.returncode == 2 and "--record-trials cannot be used with --resume" in recording.stderr
    assert results.read_config(run).epochs == 1  # refused before anything was written

    # The run's own values may be repeated (experiments/accuracy.py passes its extra flags again).
    longer = subprocess.run([*cli, "--resume", str(run), "--epochs", "2", "--no-progress", "--hidden", "3",
                             "--spike_sim_time", "10"], capture_output=True, text=True, timeout=600)
    assert longer.returncode == 0, longer.stderr
    assert [int(r["epoch"]) for r in results.read_metrics(run)] == [1, 2]
    assert results.read_config(run).epochs == 2
    assert results.load_checkpoint(run).trial == 2 * 40


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the standalone program through /proc")
@pytest.mark.parametrize("how", ["SIGTERM to ed-brian", "Ctrl-C to the terminal's process group"])
def test_a_signal_stops_a_standalone_run_at_once_and_says_nothing_can_be_resumed(tmp_path, how):
    project = tmp_path / "project"
    out = tmp_path / "run"
    # An epoch (one program) long enough that only the signal can end it within the test.
    proc, programs = start_standalone_command(
        "train", "--train", "1000", "--test", "500", "--spike_sim_time", "500", "--hidden", "3", "--epochs", "2",
        "--device", "cpp_standalone", "--project-dir", str(project), "--no-progress", "--out", str(out))
    if how.startswith("SIGTERM"):
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    output, err = proc.communicate(timeout=120)
    expected = signal.SIGTERM if how.startswith("SIGTERM") else signal.SIGINT
    assert proc.returncode == 128 + expected, err
    assert "stopping the standalone program" in err and "nothing can be resumed" in err
    assert "Traceback" not in err
    assert "ed_brian_progress" not in output + err  # Brian2's dump of the program's output is held back
    assert not any(os.path.exists(f"/proc/{pid}") for pid in programs), "the program outlived ed-brian"
    assert (out / "config.json").exists() and not (out / "checkpoint.npz").exists()
