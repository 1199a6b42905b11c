"""The README's Python example runs as written, and does what it says."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(README.read_text())
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    printed = capsys.readouterr().out
    accuracies = [float(a) for a in re.findall(r"epoch \d: test ([\d.]+) %", printed)]
    assert len(accuracies) == 2
    assert accuracies[-1] > 25.0, printed  # chance is 10 % on the 10 classes
    assert namespace["monitors"]["hidden"].num_spikes > 0
    W = namespace["W"]
    assert W.shape == (10 * 32, 10)
    # Each output unit receives only from its own class network, with E/I signs.
    assert np.count_nonzero(W) == 10 * 32
    assert (tmp_path / "results" / "readme" / "weights.npz").is_file()


def test_the_readme_copies_commands_run(tmp_path):
    """The two commands of 'Many networks in one program', as written (outputs under tmp_path)."""
    import csv
    import shlex
    import subprocess
    import sys

    section = README.read_text().split("## Many networks in one program", 1)[1]
    commands = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)[0].strip().splitlines()
    assert [c.split()[:2] for c in commands] == [["ed-brian", "train"], ["ed-brian", "sweep"]]
    train = subprocess.run([sys.executable, "-m", "ed_brian", *shlex.split(commands[0])[1:], "--no-progress"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert train.returncode == 0, train.stderr
    assert "ensemble of 4 copies" in train.stdout
    assert len(re.findall(r"copy \d: final test accuracy", train.stdout)) == 4
    sweep = subprocess.run([sys.executable, "-m", "ed_brian", *shlex.split(commands[1])[1:]], cwd=tmp_path,
                           capture_output=True, text=True)
    assert sweep.returncode == 0, sweep.stderr
    with (tmp_path / "sweeps" / "lr" / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["done"] * 4
    assert len({r["test_accuracy"] for r in rows} | {r["train_accuracy"] for r in rows}) > 1
