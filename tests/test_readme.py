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
