"""Voting of separate runs (ed_brian.ensemble and ``ed-brian vote``)."""

from __future__ import annotations

import numpy as np
import pytest

import ed_brian
from ed_brian.cli import main as cli_main
from ed_brian.results import ResultsError

from conftest import band_dataset


def small_run(tmp_path, name: str, **changes):
    base = dict(dataset="bands", n_classes=4, hidden=6, train=30, test=12, epochs=1, spike_sim_time=20,
                I_bias=1.2, seed=3, codegen="cython")
    config = ed_brian.Config(**{**base, **changes})
    data = band_dataset(30, config.n_test)
    return ed_brian.save_run(tmp_path / name, ed_brian.train(config, data), data)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("runs")
    return {"packed": small_run(tmp_path, "packed", copies=3),
            "seed4": small_run(tmp_path, "seed4", seed=4),
            "fewer_tests": small_run(tmp_path, "fewer_tests", test=8)}


def test_the_copies_of_a_packed_run_vote_as_the_packed_run_does(runs):
    packed = ed_brian.load_run(runs["packed"])
    vote = ed_brian.vote([runs["packed"] / f"copy_{c}" for c in range(3)])
    trials = packed.trials
    test = trials["test_rows"]
    np.testing.assert_array_equal(vote.predictions, trials["prediction"][test])
    np.testing.assert_array_equal(vote.labels, trials["label"][test])
    assert vote.networks == 3
    assert vote.accuracy == pytest.approx(packed.test_accuracy, abs=0.005)
    for own, accuracy in zip(packed.copies, vote.run_accuracies):
        assert accuracy == pytest.approx(own.test_accuracy, abs=0.005)


def test_a_packed_run_votes_with_every_copy_beside_single_runs(runs):
    vote = ed_brian.vote([runs["packed"], runs["seed4"]])
    assert vote.networks == 4
    assert vote.run_accuracies[0] == pytest.approx(ed_brian.load_run(runs["packed"]).test_accuracy, abs=0.005)
    assert vote.run_accuracies[1] == pytest.approx(ed_brian.load_run(runs["seed4"]).test_accuracy, abs=0.005)
    assert 0 <= vote.accuracy <= 100 and len(vote.labels) == 12


def test_runs_on_other_test_images_are_refused(runs):
    with pytest.raises(ResultsError, match="tested other images"):
        ed_brian.vote([runs["seed4"], runs["fewer_tests"]])


def test_cli_vote_prints_each_run_and_the_ensemble(runs, capsys):
    assert cli_main(["vote", str(runs["packed"]), str(runs["seed4"])]) == 0
    out = capsys.readouterr().out
    vote = ed_brian.vote([runs["packed"], runs["seed4"]])
    assert f"test {vote.accuracy:6.2f} % on 12 images" in out
    assert "ensemble of 2 runs (4 networks" in out


@pytest.mark.parametrize("which, message", [
    (["seed4"], "at least two results folders"),
    (["seed4", "nowhere"], "is not a results folder"),
    (["seed4", "fewer_tests"], "tested other images"),
    (["seed4", "seed4"], "given more than once"),
])
def test_cli_vote_bad_input_exits_2(runs, tmp_path, capsys, which, message):
    folders = [str(runs[name]) if name in runs else str(tmp_path / name) for name in which]
    assert cli_main(["vote", *folders]) == 2
    assert message in capsys.readouterr().err
