"""The gallery examples in examples/: each runs as a script, in a fresh folder,
and prints the numbers it is about; these tests check those numbers."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ed_brian.devices import gpu_present

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CHANCE = 10.0  # % for the 10 classes of Fashion-MNIST


def run_example(name: str, cwd: Path, timeout: float = 600) -> str:
    """Run examples/<name> as a script in ``cwd`` without a display; its stdout, after checking rc 0."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("ED_BRIAN_EXAMPLES_FULL", None)  # the small default sizes
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{name} failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc.stdout


def numbers(pattern: str, text: str) -> list[float]:
    """Every match of ``pattern``'s first group in ``text``, as floats."""
    return [float(value) for value in re.findall(pattern, text)]


def one_number(pattern: str, text: str) -> float:
    found = numbers(pattern, text)
    assert len(found) == 1, f"expected one line matching {pattern!r} in:\n{text}"
    return found[0]


def test_every_example_has_a_test_and_a_gallery_header():
    tested = {"plot_train_and_evaluate.py", "plot_membrane_traces_and_rasters.py", "plot_one_trial_of_ed.py",
              "plot_compare_parameter.py", "plot_standalone_run_args.py", "export_standalone_project.py",
              "plot_dask_sweep.py", "cuda_standalone.py", "plot_packed_copies.py", "plot_feature_layer.py"}
    assert {path.name for path in EXAMPLES.glob("*.py")} == tested
    for name in tested:
        text = (EXAMPLES / name).read_text()
        lines = text.lstrip().splitlines()
        # A docstring with an rST title (underlined to its length) and a paragraph, then # %% cells.
        assert lines[0] in ('"""', 'r"""') and set(lines[2]) == {"="} and len(lines[2]) == len(lines[1]), name
        assert "\n# %%\n" in text, name


def test_train_and_evaluate(tmp_path):
    out = run_example("plot_train_and_evaluate.py", tmp_path)
    test_accuracies = numbers(r"epoch \d+: train [\d.]+ %, test ([\d.]+) %", out)
    assert len(test_accuracies) == 2
    assert one_number(r"final test accuracy: ([\d.]+) %", out) == test_accuracies[-1] > CHANCE
    assert one_number(r"evaluate\(\) of the learned weights: ([\d.]+) %", out) > CHANCE
    assert one_number(r"evaluate\(\) with each test image shown 3 times: ([\d.]+) %", out) > CHANCE
    folder = tmp_path / "results" / "examples" / "train_and_evaluate"
    for name in ("config.json", "metrics.csv", "weights.npz", "trials.npz", "learning_curve.png"):
        assert (folder / name).is_file(), name


def test_membrane_traces_and_rasters(tmp_path):
    out = run_example("plot_membrane_traces_and_rasters.py", tmp_path)
    assert one_number(r"trained: test accuracy ([\d.]+) %", out) > CHANCE
    samples, steps = re.search(r"samples per monitor: (\d+) \((\d+) steps per trial \+ 1\)", out).groups()
    assert int(samples) == int(steps) + 1
    counts = re.search(r"output spike counts per class: \[([\d, ]+)\]", out).group(1).split(",")
    assert len(counts) == 10
    for layer in ("relay", "hidden_1", "output"):
        assert re.search(rf"^{layer}: \d+ spikes from \d+ units$", out, re.M), layer
    label, prediction = re.search(r"label: (\d+) \(.+\), prediction: (\d+) \(.+\)", out).groups()
    # The prediction is the output unit with the most spikes (this image has a clear winner or a tie).
    assert int(counts[int(prediction)]) == max(int(c) for c in counts)
    assert (tmp_path / "results/examples/membrane_traces_and_rasters/membrane_traces_and_rasters.png").is_file()


def test_one_trial_of_ed_matches_kanekos_formula(tmp_path):
    out = run_example("plot_one_trial_of_ed.py", tmp_path)
    assert one_number(r"dw vs Kaneko's formula: max abs difference (\S+)", out) < 1e-9
    assert one_number(r"amines vs the formula: max abs difference (\S+)", out) < 1e-9
    assert "weights that shrank: 0; weights that changed sign: 0" in out
    # The image's class asks for more output (A+ > 0) and only it.
    a_plus = [float(a) for a in re.search(r"A\+ per class: \[(.+)\]", out).group(1).split(",")]
    label = int(re.search(r"trial 0: image of class (\d+)", out).group(1))
    assert a_plus[label] > 0 and all(a == 0 for k, a in enumerate(a_plus) if k != label)
    changed = numbers(r"synapses, (\d+) changed", out)
    assert len(changed) == 2 and all(n > 0 for n in changed)
    assert (tmp_path / "results/examples/one_trial_of_ed/one_trial_of_ed.png").is_file()


def test_compare_parameter(tmp_path):
    out = run_example("plot_compare_parameter.py", tmp_path)
    final = dict(re.findall(r"tau_m = (\d+) ms: final test accuracy ([\d.]+) %", out))
    assert set(final) == {"12", "30"}
    assert all(float(a) > CHANCE for a in final.values())
    assert (tmp_path / "results/examples/compare_parameter/compare_tau_m.png").is_file()


def test_feature_layer(tmp_path):
    out = run_example("plot_feature_layer.py", tmp_path)
    assert one_number(r"pixels: final test accuracy ([\d.]+) %", out) > CHANCE
    assert one_number(r"features: final test accuracy ([\d.]+) %", out) > CHANCE
    # The feature layer spikes, and the class networks below it do too.
    rates = dict(re.findall(r"(\w+) ([\d.]+) Hz", out.split("features: ")[1].splitlines()[0]))
    assert float(rates["features"]) > 0 and float(rates["hidden_1"]) > 0 and float(rates["output"]) > 0
    assert "saved calibration: 400 thresholds, projections blurred by 1 pixel" in out


def test_packed_copies_and_their_ensemble(tmp_path):
    out = run_example("plot_packed_copies.py", tmp_path)
    copies = re.findall(r"copy (\d) \(lr ([\d.]+), weight seed (\d+)\): final test accuracy ([\d.]+) %", out)
    assert [(int(c), float(lr), int(seed)) for c, lr, seed, _ in copies] == [
        (0, 0.05, 1), (1, 0.1, 2), (2, 0.15, 3), (3, 0.3, 4)]
    assert all(float(a) > CHANCE for *_, a in copies)
    ensemble = one_number(r"ensemble of 4: final test accuracy ([\d.]+) %", out)
    assert one_number(r"ensemble recomputed from trials.npz: ([\d.]+) %", out) == ensemble > CHANCE
    assert (tmp_path / "results/examples/packed_copies/copies_and_ensemble.png").is_file()
    assert (tmp_path / "results/examples/packed_copies/copy_3/weights.npz").is_file()


def test_standalone_run_args_compiles_once_and_reruns_per_lr(tmp_path):
    out = run_example("plot_standalone_run_args.py", tmp_path)
    assert len(re.findall(r"^build: [\d.]+ s", out, re.M)) == 1
    runs = re.findall(r"^lr ([\d.]+): run ([\d.]+) s, test accuracy ([\d.]+) %", out, re.M)
    assert [float(lr) for lr, _, _ in runs] == [0.05, 0.15, 0.4]
    accuracies = [float(a) for _, _, a in runs]
    assert len(set(accuracies)) == 3, "every learning rate should give its own result"
    assert all(a > CHANCE for a in accuracies)
    assert (tmp_path / "results/examples/standalone_run_args/accuracy_per_lr.png").is_file()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make and a C++ compiler")
def test_export_standalone_project_builds_runs_and_collects(tmp_path):
    out = run_example("export_standalone_project.py", tmp_path)
    exported = numbers(r"exported program, epoch \d+: train [\d.]+ %, test ([\d.]+) %", out)
    trained = numbers(r"ed_brian\.train, epoch \d+: train [\d.]+ %, test ([\d.]+) %", out)
    assert len(exported) == len(trained) == 2
    assert all(a > CHANCE for a in exported + trained)
    # From the same initial weights, the program without Python and train() compute the same run.
    assert exported == trained and "agree on every epoch: True" in out
    assert re.search(r"scores of 600 trials x 10 classes; 2 projections", out)
    project = tmp_path / "results/examples/export_standalone_project/project"
    assert (project / "main").is_file() and (project / "ed_brian_export.json").is_file()


def test_dask_sweep(tmp_path):
    pytest.importorskip("dask.distributed")
    out = run_example("plot_dask_sweep.py", tmp_path)
    rows = re.findall(r"^([\d.]+)\s+(\d)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s+(\w+)$", out, re.M)
    assert len(rows) == 4 and all(row[-1] == "done" for row in rows)
    assert {(float(lr), int(seed)) for lr, seed, *_ in rows} == {(0.05, 1), (0.05, 2), (0.4, 1), (0.4, 2)}
    assert all(float(test) > CHANCE for _, _, test, _, _ in rows)
    # Every axis changes the runs: no two points give the same numbers.
    assert len({(test, train) for _, _, test, train, _ in rows}) == 4
    assert "4 of 4 points done" in out
    folder = tmp_path / "results/examples/dask_sweep"
    with (folder / "summary.csv").open() as f:
        assert [row["status"] for row in csv.DictReader(f)] == ["done"] * 4
    assert (folder / "accuracy.png").is_file() and (folder / "accuracy_vs_lr.png").is_file()


def _brian2cuda_installed() -> bool:
    try:
        import brian2cuda  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not gpu_present(), reason="needs an NVIDIA GPU (nvidia-smi)")
def test_cuda_standalone_trains_on_the_gpu(tmp_path):
    if not _brian2cuda_installed():
        pytest.skip("needs brian2cuda: pip install 'ed-brian[cuda]'")
    out = run_example("cuda_standalone.py", tmp_path)
    assert one_number(r"final test accuracy: ([\d.]+) %", out) > CHANCE
    assert "generated CUDA project" in out


@pytest.mark.skipif(gpu_present(), reason="checks the message of a machine without a GPU")
def test_cuda_standalone_without_a_gpu_says_why_and_still_generates_the_project(tmp_path):
    out = run_example("cuda_standalone.py", tmp_path)
    reason = re.search(r"^cuda_standalone is not available here: (.+)$", out, re.M)
    assert reason, out
    if not _brian2cuda_installed():
        assert "pip install 'ed-brian[cuda]'" in reason.group(1)
        assert "cannot generate the CUDA project" in out
        return
    assert "NVIDIA GPU" in reason.group(1) or "nvcc" in reason.group(1)
    count = one_number(r"generated CUDA project in .+: (\d+) \.cu code objects", out)
    assert count > 10
    # The ED update of the input synapses, as the generated kernel computes it.
    assert "w += (act_exc_pre * fac_exc_post) + (act_inh_pre * fac_inh_post);" in out
    assert (tmp_path / "results/examples/cuda_standalone/project/makefile").is_file()
