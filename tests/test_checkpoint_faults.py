"""Faults while a checkpoint is written: the previous checkpoint stays intact and resumable.

A full disk (ENOSPC, simulated part-way through the write) and a process
killed with SIGKILL in the middle of one both leave checkpoint.npz as the
previous complete checkpoint; ``ed-brian train --resume`` from it finishes the
run with the same numbers as the uninterrupted run (tests/test_checkpoints.py
explains why they are exact).
"""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from ed_brian import results, schedule
from ed_brian.cli import main

# 60 trials in chunks of 5, checkpoints at trials 10, 20, 30 (end of epoch 1), 40, 50, 60.
CHUNK = 5
ARGS = ["--train", "20", "--test", "10", "--hidden", "3", "--epochs", "2", "--spike_sim_time", "20",
        "--codegen", "numpy", "--no-progress", "--seed", "7", "--checkpoint-every", "10"]
FIRST_CHECKPOINT = 10
WRITTEN_BEFORE_FAULT = 20_000  # bytes of the second checkpoint written before the fault


class FullDisk:
    """A file that takes ``limit`` bytes, then fails as a full disk does (after a partial write)."""

    def __init__(self, file, limit: int):
        self.file, self.left = file, limit

    def write(self, data) -> int:
        data = bytes(data)
        if len(data) <= self.left:
            self.left -= len(data)
            return self.file.write(data)
        self.file.write(data[: self.left])
        self.file.flush()
        self.left = 0
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.file, name)


def run_cli(argv: list[str]) -> int:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(schedule, "CHUNK_TRIALS", CHUNK)
        return main(argv)


def assert_same_run(a: Path, b: Path) -> None:
    strip = lambda rows: [(r["epoch"], r["train_accuracy"], r["test_accuracy"]) for r in rows]  # noqa: E731
    assert strip(results.read_metrics(b)) == strip(results.read_metrics(a))
    wa, wb = results.load_weights(a), results.load_weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)
    np.testing.assert_array_equal(results.load_trials(a)["prediction"], results.load_trials(b)["prediction"])


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    """The uninterrupted run."""
    out = tmp_path_factory.mktemp("faults") / "whole"
    assert run_cli(["train", *ARGS, "--out", str(out)]) == 0
    assert results.load_checkpoint(out).trial == 60
    return out


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one(whole, tmp_path, monkeypatch, capsys):
    part = tmp_path / "part"
    real_savez = np.savez
    previous = {}

    def savez(file, *args, **kwargs):
        if (part / "checkpoint.npz").exists():  # the second checkpoint: the disk fills up part-way
            previous["bytes"] = (part / "checkpoint.npz").read_bytes()
            file = FullDisk(file, WRITTEN_BEFORE_FAULT)
        return real_savez(file, *args, **kwargs)

    monkeypatch.setattr(np, "savez", savez)
    capsys.readouterr()
    assert run_cli(["train", *ARGS, "--out", str(part)]) == 1
    # One line naming the file; exit code 1 as for every write error (not a usage error).
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ed-brian: error:")]
    assert errors == [f"ed-brian: error: {part / 'checkpoint.npz'}: No space left on device "
                      "(not written; its previous version, if any, is intact)"]

    assert (part / "checkpoint.npz").read_bytes() == previous["bytes"]
    assert not (part / "checkpoint.npz.tmp").exists()
    assert sorted(p.name for p in part.iterdir()) == ["checkpoint.npz", "config.json"]
    assert results.load_checkpoint(part).trial == FIRST_CHECKPOINT

    monkeypatch.setattr(np, "savez", real_savez)  # space freed
    assert run_cli(["train", "--resume", str(part), "--no-progress"]) == 0
    assert_same_run(whole, part)


def test_a_full_disk_leaves_no_temporary_file_for_any_results_file(tmp_path, monkeypatch):
    (tmp_path / "metrics.csv").write_text("old\n")

    def write(path):
        with path.open("w") as f:
            f.write("partial")
            f.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left on device") as failed:
        results._replace(tmp_path / "metrics.csv", write)
    assert failed.value.errno == errno.ENOSPC and failed.value.filename == str(tmp_path / "metrics.csv")
    assert (tmp_path / "metrics.csv").read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


CHILD = """
import sys
import time
from pathlib import Path

import numpy as np

from ed_brian import schedule
from ed_brian.cli import main

schedule.CHUNK_TRIALS = {chunk}
marker = Path(sys.argv[1])
real_savez = np.savez


class Stalls:
    # Writes {limit} bytes, then says so and hangs, as a process about to be killed.
    def __init__(self, file):
        self.file, self.left = file, {limit}

    def write(self, data):
        data = bytes(data)
        if len(data) <= self.left:
            self.left -= len(data)
            return self.file.write(data)
        self.file.write(data[: self.left])
        self.file.flush()
        marker.touch()
        time.sleep(600)

    def __getattr__(self, name):
        return getattr(self.file, name)


def savez(file, *args, **kwargs):
    if (Path(sys.argv[-1]) / "checkpoint.npz").exists():
        file = Stalls(file)
    return real_savez(file, *args, **kwargs)


np.savez = savez
sys.exit(main(sys.argv[2:]))
"""


def test_sigkill_while_writing_a_checkpoint_keeps_the_previous_one(whole, tmp_path):
    part, marker = tmp_path / "part", tmp_path / "writing"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD.format(chunk=CHUNK, limit=WRITTEN_BEFORE_FAULT)))
    child = subprocess.Popen([sys.executable, str(script), str(marker), "train", *ARGS, "--out", str(part)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), child.stderr.read().decode() if child.poll() is not None else "no write began"
        tmp = part / "checkpoint.npz.tmp"
        assert 0 < tmp.stat().st_size <= WRITTEN_BEFORE_FAULT  # part of a checkpoint on disk, being written
        before = (part / "checkpoint.npz").read_bytes()
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()

    assert (part / "checkpoint.npz").read_bytes() == before
    assert results.load_checkpoint(part).trial == FIRST_CHECKPOINT
    assert tmp.exists()  # nothing could remove it; the next checkpoint overwrites it
    assert run_cli(["train", "--resume", str(part), "--no-progress"]) == 0
    assert not tmp.exists()
    assert_same_run(whole, part)
