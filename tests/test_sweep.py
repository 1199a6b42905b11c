"""Sweeps on a local Dask cluster: the table, the folders, resuming after a failure."""

import csv

import pytest

from ed_brian.cli import main
from ed_brian.config import ConfigError
from ed_brian.sweep import parse_grid, point_name

ARGS = ["--train", "20", "--test", "10", "--hidden", "3", "--epochs", "1", "--spike_sim_time", "20",
        "--codegen", "numpy", "--workers", "2", "--grid", "lr=0.1,0.3", "--grid", "hidden=3,4", "--seeds", "1"]


def read_summary(out):
    with (out / "summary.csv").open() as f:
        return list(csv.DictReader(f))


def test_sweep_runs_every_point_and_resumes_after_a_failure(tmp_path):
    out = tmp_path / "sweep"
    out.mkdir()
    # A file where one point's folder must go makes that point fail in its worker.
    blocked = out / point_name({"lr": 0.3, "hidden": (4,), "seed": 1})
    blocked.write_text("in the way")
    assert main(["sweep", *ARGS, "--out", str(out)]) == 1
    rows = read_summary(out)
    assert [(r["lr"], r["hidden"]) for r in rows] == [("0.1", "3"), ("0.1", "4"), ("0.3", "3"), ("0.3", "4")]
    assert [r["status"] for r in rows] == ["done", "done", "done", "failed"]
    assert all(0 <= float(r["test_accuracy"]) <= 100 for r in rows[:3])
    assert (out / "accuracy.png").stat().st_size > 0
    finished = {r["lr"] + r["hidden"]: (out / point_name({"lr": float(r["lr"]), "hidden": (int(r["hidden"]),),
                                                            "seed": 1}) / "metrics.csv").stat().st_mtime_ns
                for r in rows[:3]}

    blocked.unlink()
    assert main(["sweep", *ARGS, "--out", str(out)]) == 0
    rows = read_summary(out)
    assert [r["status"] for r in rows] == ["done"] * 4
    for r in rows[:3]:  # finished points were not run again
        folder = out / point_name({"lr": float(r["lr"]), "hidden": (int(r["hidden"]),), "seed": 1})
        assert (folder / "metrics.csv").stat().st_mtime_ns == finished[r["lr"] + r["hidden"]]


def test_bad_grids_are_clear_errors():
    with pytest.raises(ConfigError, match="--grid"):
        parse_grid(["nonsense=1,2"])
    with pytest.raises(ConfigError, match="numbers"):
        parse_grid(["lr=fast"])
    assert parse_grid(["hidden=64,128x32"]) == {"hidden": [(64,), (128, 32)]}
    assert main(["sweep", "--out", "x"]) == 2


@pytest.mark.long
def test_standalone_sweep_reuses_one_program_folder_per_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("ED_BRIAN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "sweep"
    # lr and seed reuse the compiled program; dif needs another build (the worker switches back and forth).
    args = ["--train", "12", "--test", "6", "--hidden", "3", "--epochs", "1", "--spike_sim_time", "20",
            "--device", "cpp_standalone", "--workers", "1", "--grid", "lr=0.1,0.3", "--grid", "dif=0.5,1.0",
            "--diffusion", "uniform", "--seeds", "1"]
    assert main(["sweep", *args, "--out", str(out)]) == 0
    rows = read_summary(out)
    assert [r["status"] for r in rows] == ["done"] * 4
    assert len(list((tmp_path / "cache" / "sweep").iterdir())) == 1  # one project folder for the worker
    from ed_brian.results import load_weights

    learned = {load_weights(out / point_name({"lr": float(r["lr"]), "dif": float(r["dif"]), "seed": 1})
                            / "weights.npz")["relay_to_hidden_1/w"].tobytes() for r in rows}
    assert len(learned) == 4  # every point learned differently


def test_a_grid_axis_that_cannot_change_any_point_is_refused(tmp_path, capsys):
    # One hidden layer with --diffusion seed: that layer gets dif**0 = 1, whatever dif is.
    args = ["--train", "20", "--test", "10", "--hidden", "3", "--epochs", "1", "--grid", "lr=0.1,0.2",
            "--grid", "dif=0.5,1.0", "--out", str(tmp_path / "sweep")]
    assert main(["sweep", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ed-brian: error: --grid dif cannot change any point")
    assert "--diffusion seed" in err[0] and "--allow-inert-axes" in err[0]
    assert not (tmp_path / "sweep").exists()  # refused before anything ran or was written
    # The same axis matters with two hidden layers, or with uniform diffusion.
    from ed_brian.cli import build_parser, config_from_args
    from ed_brian.sweep import check_axes

    for flags in (["--hidden", "3,3"], ["--diffusion", "uniform"]):
        check_axes(config_from_args(build_parser().parse_args(["train", *flags])), {"dif": [0.5, 1.0]})
    # sig is the FReLU slope: inert for the LIF model, not for frelu.
    with pytest.raises(ConfigError, match="--grid sig cannot change"):
        check_axes(config_from_args(build_parser().parse_args(["train"])), {"sig": [1.0, 2.0]})
    check_axes(config_from_args(build_parser().parse_args(["train", "--model", "frelu"])), {"sig": [1.0, 2.0]})


def test_a_packed_sweep_gives_every_point_the_results_it_has_alone(tmp_path):
    from ed_brian.results import load_weights, read_config, read_json

    args = ["--train", "16", "--test", "8", "--hidden", "3", "--epochs", "1", "--spike_sim_time", "20",
            "--codegen", "numpy", "--workers", "2", "--grid", "lr=0.1,0.3", "--grid", "w1=0.2,0.3",
            "--grid", "hidden=3,4", "--seeds", "2"]
    assert main(["sweep", *args, "--out", str(tmp_path / "alone")]) == 0
    assert main(["sweep", *args, "--pack", "4", "--out", str(tmp_path / "packed")]) == 0
    alone, packed = read_summary(tmp_path / "alone"), read_summary(tmp_path / "packed")
    assert len(packed) == 16 and [r["status"] for r in packed] == ["done"] * 16
    assert [(r["test_accuracy"], r["train_accuracy"]) for r in packed] == [
        (r["test_accuracy"], r["train_accuracy"]) for r in alone]
    for r in packed:
        point = {"lr": float(r["lr"]), "w1": float(r["w1"]), "hidden": (int(r["hidden"]),), "seed": int(r["seed"])}
        folder = tmp_path / "packed" / point_name(point)
        # Four points (lr x w1) of one shape and seed shared one network.
        assert read_config(folder).copies == 1
        assert len(read_json(folder / "config.json", "config")["packed_with"]) == 4
        mine, theirs = load_weights(folder), load_weights(tmp_path / "alone" / point_name(point))
        for key, value in theirs.items():
            assert (mine[key] == value).all(), key
