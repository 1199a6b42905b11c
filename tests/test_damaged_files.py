"""Damaged, truncated and foreign files: one line naming the file, exit code 2, nothing overwritten.

Every file ed-brian reads back (checkpoint.npz, weights.npz, config.json,
metrics.csv, trials.npz, recordings.npz and an exported project's results)
either loads or raises ResultsError whose message is one line naming the file.
The property tests corrupt copies of a real tiny run at random: truncation
(down to 0 bytes), flipped or overwritten bytes, appended junk, another
kind's file, random bytes, and structured edits (a JSON value or key, a CSV
cell, an .npz member deleted, replaced or given one bad value). Any exception
other than ResultsError fails them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ed_brian import results
from ed_brian.cli import main
from ed_brian.export import EXPORT_FILE, collect_results
from ed_brian.record import load_recordings
from ed_brian.results import ResultsError

RUN_ARGS = ["--train", "20", "--test", "10", "--hidden", "3", "--epochs", "1", "--spike_sim_time", "20",
            "--codegen", "numpy", "--no-progress"]
FILES = ("checkpoint.npz", "weights.npz", "config.json", "metrics.csv", "trials.npz", "recordings.npz")
PROPERTY = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- the real files -------------------------------------------------------------------------------------------

def fake_export(run: Path, out: Path) -> Path:
    """An exported project that has run, made from a runtime run's files (the format of ed_brian.export).

    hidden_1 and output share one unit-type file (subgroup slices), and the
    hidden_1 -> output post indices are stored with an offset, as Brian2 does.
    """
    config = json.loads((run / "config.json").read_text())["config"]
    weights, trials = results.load_weights(run), results.load_trials(run)
    K, n = config["network"]["n_classes"], len(trials["label"])
    folder = out / "results"
    folder.mkdir(parents=True)
    arrays = {}

    def put(name, values, file=None, **extra):
        values = np.asarray(values)
        file = file or name.replace("/", "_")
        values.tofile(folder / file)
        arrays[name] = {"file": file, "dtype": values.dtype.str, **extra}

    rng = np.random.default_rng(0)
    put("scores", rng.random((n + 1) * K) * 3)
    projections = [key[: -len("/w")] for key in weights if key.endswith("/w")]
    sizes: dict[str, int] = {}
    for name in projections:
        pre, post = name.split("_to_")
        sizes[pre] = max(sizes.get(pre, 0), int(weights[f"{name}/i"].max()) + 1)
        sizes[post] = max(sizes.get(post, 0), int(weights[f"{name}/j"].max()) + 1)
    types = {layer: (1 - 2 * (np.arange(size) % 2)).astype(np.int32) for layer, size in sizes.items()}
    put("relay/ptype", types["relay"])
    shared = np.concatenate([types["hidden_1"], types["output"]]).astype(np.float64)
    shared.tofile(folder / "units_ptype")
    h = sizes["hidden_1"]
    arrays["hidden_1/ptype"] = {"file": "units_ptype", "dtype": shared.dtype.str, "start": 0, "stop": h}
    arrays["output/ptype"] = {"file": "units_ptype", "dtype": shared.dtype.str, "start": h, "stop": len(shared)}
    for name in projections:
        put(f"{name}/i", weights[f"{name}/i"])
        post_offset = h if name.endswith("_to_output") else 0
        put(f"{name}/j", weights[f"{name}/j"] + post_offset, **({"offset": h} if post_offset else {}))
        put(f"{name}/w", weights[f"{name}/w"])
    phases, start = [], 0
    for epoch in range(1, config["epochs"] + 1):
        phases += [[epoch, "train", start, start + config["n_train"]],
                   [epoch, "test", start + config["n_train"], start + config["n_train"] + config["n_test"]]]
        start = phases[-1][3]
    manifest = {"config": config, "versions": results.versions(), "dataset_source": "tests", "arrays": arrays,
                "projections": projections, "phases": phases, "labels": trials["label"].tolist()}
    (out / EXPORT_FILE).write_text(json.dumps(manifest) + "\n")
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """One tiny real run with recordings, and an exported project's results made from it."""
    folder = tmp_path_factory.mktemp("damaged") / "run"
    assert main(["train", *RUN_ARGS, "--out", str(folder), "--record-trials", "0:2"]) == 0
    assert all((folder / name).is_file() for name in FILES)
    metrics, weights, scores = collect_results(fake_export(folder, folder.parent / "project"))
    assert [m.epoch for m in metrics] == [1]
    np.testing.assert_array_equal(weights["hidden_1_to_output/j"], results.load_weights(folder)["hidden_1_to_output/j"])
    return folder


@pytest.fixture(scope="module")
def originals(run) -> dict[str, bytes]:
    found = {name: (run / name).read_bytes() for name in FILES}
    buffer = io.BytesIO()
    np.save(buffer, np.arange(5))
    found["array.npy"] = buffer.getvalue()
    found["empty"] = b""
    return found


# --- corruptions ----------------------------------------------------------------------------------------------

JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9), st.floats(), st.text(max_size=6),
                        st.lists(st.integers(-3, 3), max_size=3),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def mutate_json(data, value):
    """``value`` (parsed JSON) with one node deleted, replaced by another JSON value, or renamed."""
    nodes = []

    def walk(node):
        if isinstance(node, dict):
            for key, child in node.items():
                nodes.append((node, key))
                walk(child)
        elif isinstance(node, list):
            for key, child in enumerate(node):
                nodes.append((node, key))
                walk(child)

    walk(value)
    if not nodes:
        return data.draw(JSON_VALUES)
    parent, key = data.draw(st.sampled_from(nodes))
    action = data.draw(st.sampled_from(["delete", "replace", "rename"]))
    if action == "delete":
        del parent[key]
    elif action == "rename" and isinstance(parent, dict):
        parent[key + data.draw(st.text(min_size=1, max_size=3))] = parent.pop(key)
    else:
        parent[key] = data.draw(JSON_VALUES)
    return value


def mutate_csv(data, original: bytes) -> bytes:
    rows = list(csv.reader(io.StringIO(original.decode())))
    r = data.draw(st.integers(0, len(rows) - 1))
    c = data.draw(st.integers(0, len(rows[r]) - 1))
    action = data.draw(st.sampled_from(["cell", "drop cell", "drop row", "duplicate row"]))
    if action == "cell":
        rows[r][c] = data.draw(st.one_of(st.text(max_size=8), st.floats().map(str), st.integers().map(str)))
    elif action == "drop cell":
        del rows[r][c]
    elif action == "drop row":
        del rows[r]
    else:
        rows.insert(r, list(rows[r]))
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


BAD_VALUES = {"i": [-1, 2, -128, 127, 2**31 - 1], "u": [0, 2, 255], "f": [-1.0, np.nan, np.inf, -np.inf, 1e300, 0.0],
              "U": ["", "{", "x" * 20], "b": [True, False]}
RANDOM_ARRAYS = hnp.arrays(st.sampled_from([np.int8, np.int32, np.int64, np.float64, np.dtype("<U3"), np.bool_]),
                           hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))


def mutate_npz(data, original: bytes) -> bytes:
    """The archive re-saved with one member deleted, replaced, shortened or given one bad value."""
    with np.load(io.BytesIO(original)) as archive:
        arrays = {key: archive[key] for key in archive.files}
    key = data.draw(st.sampled_from(sorted(arrays)))
    value = arrays[key]
    action = data.draw(st.sampled_from(["delete", "replace", "shorten", "bad value", "meta"]))
    if action == "delete":
        del arrays[key]
    elif action == "replace":
        arrays[key] = data.draw(RANDOM_ARRAYS)
    elif action == "shorten" and value.ndim:
        arrays[key] = value[:-1]
    elif action == "meta" and "meta" in arrays:
        arrays["meta"] = np.array(json.dumps(mutate_json(data, json.loads(str(arrays["meta"])))))
    elif value.size and value.dtype.kind in BAD_VALUES:
        value = value.copy()
        flat = value.reshape(-1)
        # Only values the member's dtype can hold (2**31 - 1 does not fit an int8 sign).
        fitting = [bad for bad in BAD_VALUES[value.dtype.kind]
                   if value.dtype.kind not in "iu" or np.iinfo(value.dtype).min <= bad <= np.iinfo(value.dtype).max]
        flat[data.draw(st.integers(0, flat.size - 1))] = data.draw(st.sampled_from(fitting))
        arrays[key] = value
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def corrupt(data, original: bytes, others: list[bytes], kind: str) -> bytes:
    """A random corruption of ``original``: bytes, another file, or (by ``kind``) a structured edit."""
    ways = ["truncate", "flip", "overwrite", "append", "other file", "random bytes"]
    ways += {"npz": ["member"] * 3, "json": ["json"] * 3, "csv": ["cell"] * 3}.get(kind, [])
    how = data.draw(st.sampled_from(ways), label="corruption")
    n = len(original)
    if how == "truncate":
        return original[: data.draw(st.integers(0, n - 1))]
    if how in ("flip", "overwrite"):
        changed = bytearray(original)
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(0, n - 1))
            if data.draw(st.booleans()):  # the end holds the zip directory: aim there half the time
                at = n - 1 - data.draw(st.integers(0, min(n - 1, 2000)))
            if how == "flip":
                changed[at] ^= data.draw(st.integers(1, 255))
            else:
                chunk = data.draw(st.binary(min_size=1, max_size=64))
                changed[at : at + len(chunk)] = chunk
        return bytes(changed)
    if how == "append":
        return original + data.draw(st.binary(min_size=1, max_size=200))
    if how == "other file":
        return data.draw(st.sampled_from(others))
    if how == "random bytes":
        return data.draw(st.binary(max_size=3000))
    if how == "member":
        return mutate_npz(data, original)
    if how == "json":
        return (json.dumps(mutate_json(data, json.loads(original)), indent=2) + "\n").encode()
    return mutate_csv(data, original)


def assert_loads_or_one_line(load, path: Path) -> None:
    """``load()`` succeeds or raises ResultsError: one line that names ``path``. Anything else fails."""
    try:
        load()
    except ResultsError as error:
        message = str(error)
        assert "\n" not in message and "\r" not in message, message
        assert message.startswith(f"{path}: "), message
        assert len(message) < 600, message


def damaged_copy(data, originals, name: str, kind: str) -> Path:
    """A fresh folder holding ``name``, corrupted, and the run's other files intact."""
    folder = Path(tempfile.mkdtemp(prefix="damaged-"))
    for other in FILES:
        (folder / other).write_bytes(originals[other])
    others = [content for key, content in originals.items() if key != name]
    (folder / name).write_bytes(corrupt(data, originals[name], others, kind))
    return folder


LOADERS = {
    "checkpoint.npz": ("npz", lambda folder: results.load_checkpoint(folder)),
    "weights.npz": ("npz", lambda folder: results.load_weights(folder / "weights.npz")),
    "config.json": ("json", lambda folder: results.read_config(folder)),
    "metrics.csv": ("csv", lambda folder: (results.read_metrics(folder), results.load_metrics(folder))),
    "trials.npz": ("npz", lambda folder: results.load_trials(folder)),
    "recordings.npz": ("npz", lambda folder: load_recordings(folder / "recordings.npz")),
}


# --- property tests: one per kind of file ---------------------------------------------------------------------

@pytest.mark.parametrize("name", FILES)
def test_a_damaged_file_loads_or_fails_in_one_line_naming_it(originals, name):
    kind, load = LOADERS[name]

    @PROPERTY
    @given(data=st.data())
    def check(data):
        folder = damaged_copy(data, originals, name, kind)
        try:
            assert_loads_or_one_line(lambda: load(folder), folder / name)
            # The whole folder, as load_run and `ed-brian plot` read it: the same rule.
            assert_loads_or_one_line(lambda: results.load_run(folder), folder / name)
        finally:
            shutil.rmtree(folder)

    check()


def test_a_damaged_export_loads_or_fails_in_one_line_naming_the_file(run):
    project = run.parent / "project"
    names = [EXPORT_FILE] + sorted(f"results/{p.name}" for p in (project / "results").iterdir())
    contents = {name: (project / name).read_bytes() for name in names}

    @PROPERTY
    @given(data=st.data())
    def check(data):
        name = data.draw(st.sampled_from(names), label="file")
        folder = Path(tempfile.mkdtemp(prefix="damaged-export-"))
        try:
            (folder / "results").mkdir()
            for other, content in contents.items():
                (folder / other).write_bytes(content)
            others = [content for other, content in contents.items() if other != name]
            (folder / name).write_bytes(corrupt(data, contents[name], others, "json" if name == EXPORT_FILE else ""))
            try:
                collect_results(folder)
            except ResultsError as error:
                message = str(error)
                assert "\n" not in message and message.startswith(f"{folder}/"), message
            except FileNotFoundError as error:  # a manifest now naming another results file: "not run yet"
                assert "build and run the project first" in str(error)
        finally:
            shutil.rmtree(folder)

    check()


# --- the command line: exit 2, one line naming the file, nothing written ---------------------------------------

def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def truncate(path: Path, size: int = 1000) -> None:
    path.write_bytes(path.read_bytes()[:size])


def one_error_line(capsys, path: Path) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"ed-brian: error: {path}: "), err
    return lines[0]


@pytest.fixture
def copy(run, tmp_path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    return folder


def test_resume_from_a_truncated_checkpoint_exits_2_and_writes_nothing(copy, capsys):
    truncate(copy / "checkpoint.npz")
    before = snapshot(copy)
    assert main(["train", "--resume", str(copy), "--epochs", "2", "--no-progress"]) == 2
    line = one_error_line(capsys, copy / "checkpoint.npz")
    assert "truncated or not a zip archive" in line
    assert snapshot(copy) == before


def test_resume_from_another_runs_checkpoint_names_it(copy, capsys, tmp_path):
    other = tmp_path / "other"
    assert main(["train", *RUN_ARGS, "--hidden", "2", "--out", str(other)]) == 0
    shutil.copy(other / "checkpoint.npz", copy / "checkpoint.npz")
    capsys.readouterr()
    before = snapshot(copy)
    assert main(["train", "--resume", str(copy), "--no-progress"]) == 2
    assert "another network shape" in one_error_line(capsys, copy / "checkpoint.npz")
    assert snapshot(copy) == before


def test_resume_with_a_damaged_config_exits_2_and_writes_nothing(copy, capsys):
    (copy / "config.json").write_text('{"config": {"network": ')
    before = snapshot(copy)
    assert main(["train", "--resume", str(copy), "--epochs", "2", "--no-progress"]) == 2
    one_error_line(capsys, copy / "config.json")
    assert snapshot(copy) == before


def test_init_weights_truncated_exits_2_before_creating_the_run(run, tmp_path, capsys):
    weights = tmp_path / "w.npz"
    weights.write_bytes((run / "weights.npz").read_bytes()[:5000])
    assert main(["train", *RUN_ARGS, "--init-weights", str(weights), "--out", str(tmp_path / "new")]) == 2
    one_error_line(capsys, weights)
    assert not (tmp_path / "new").exists()


def test_evaluate_with_truncated_weights_exits_2_and_writes_nothing(copy, capsys):
    truncate(copy / "weights.npz", 0)
    before = snapshot(copy)
    assert main(["evaluate", str(copy), "--codegen", "numpy"]) == 2
    assert "empty" in one_error_line(capsys, copy / "weights.npz")
    assert snapshot(copy) == before


@pytest.mark.parametrize("name, damage", [
    ("config.json", lambda path: path.write_text(path.read_text()[:300])),
    ("config.json", lambda path: path.write_text(path.read_text().replace('"n_train"', '"n_trian"'))),
    ("metrics.csv", lambda path: path.write_text(path.read_text().replace("\n1,", "\n1x,"))),
    ("metrics.csv", lambda path: path.write_text(path.read_text()[:-10])),
    ("weights.npz", lambda path: truncate(path)),
    ("trials.npz", lambda path: path.write_bytes(b"\x00" * 100)),
    ("recordings.npz", lambda path: shutil.copy(path.parent / "weights.npz", path)),
])
def test_plot_of_a_damaged_file_exits_2_and_writes_no_figure(copy, capsys, name, damage):
    damage(copy / name)
    before = snapshot(copy)
    assert main(["plot", str(copy)]) == 2
    one_error_line(capsys, copy / name)
    assert snapshot(copy) == before and not (copy / "figures").exists()


def test_collect_of_a_damaged_project_exits_2_and_writes_nothing(run, tmp_path, capsys):
    project = tmp_path / "project"
    shutil.copytree(run.parent / "project", project)
    scores = project / "results" / "scores"
    scores.write_bytes(scores.read_bytes()[:-3])
    before = snapshot(project)
    assert main(["collect", str(project)]) == 2
    assert "truncated" in one_error_line(capsys, scores)
    assert snapshot(project) == before


def test_the_real_command_prints_exactly_one_line(copy):
    truncate(copy / "checkpoint.npz")
    result = subprocess.run([sys.executable, "-m", "ed_brian", "train", "--resume", str(copy)],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(f"ed-brian: error: {copy / 'checkpoint.npz'}: ")
