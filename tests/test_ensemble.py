"""Voting of separate runs (ed_brian.ensemble and ``ed-brian vote``)."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

import ed_brian
from ed_brian.cli import main as cli_main
from ed_brian import results
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


def keep_repeated_test(folder, repeats: int):
    run = ed_brian.load_run(folder)
    data = band_dataset(30, run.config.n_test)
    scores = ed_brian.evaluation_scores(run.config, data, run.weights, repeats=repeats)
    ed_brian.save_repeated_test(folder, scores, data.test_labels, run.config.device)
    return scores, data.test_labels


@pytest.fixture(scope="module")
def repeated(runs):
    return {name: keep_repeated_test(runs[name], 2) for name in ("packed", "seed4")}


def test_runs_vote_with_their_kept_repeated_tests(runs, repeated):
    (packed, labels), (seed4, _) = repeated["packed"], repeated["seed4"]
    assert packed.shape == (12, 3, 2, 4) and seed4.shape == (12, 1, 2, 4)
    kept, kept_labels = ed_brian.load_repeated_test(runs["packed"], 2)
    np.testing.assert_array_equal(kept, packed)
    np.testing.assert_array_equal(kept_labels, labels)
    vote = ed_brian.vote([runs["packed"], runs["seed4"]], repeats=2)
    assert vote.networks == 4 and vote.repeats == 2
    readout = ed_brian.load_run(runs["packed"]).config.network.ed.readout
    assert vote.accuracy == pytest.approx(
        ed_brian.voted_accuracy(np.concatenate([packed, seed4], axis=1), labels, readout))
    assert vote.run_accuracies == pytest.approx(
        (ed_brian.voted_accuracy(packed, labels, readout), ed_brian.voted_accuracy(seed4, labels, readout)))
    # The second look is a voter: two looks of one network are not its first look counted twice.
    assert not np.array_equal(seed4[:, :, 0], seed4[:, :, 1])


def test_a_vote_without_a_kept_repeated_test_names_the_command_that_takes_it(runs, repeated):
    with pytest.raises(ResultsError, match=r"keeps no test .* 3 looks .*ed-brian evaluate .* --repeats 3"):
        ed_brian.vote([runs["packed"], runs["seed4"]], repeats=3)
    with pytest.raises(ResultsError, match="keeps no test"):
        ed_brian.vote([runs["seed4"], runs["fewer_tests"]], repeats=2)


def test_a_repeated_test_older_than_the_run_s_weights_is_not_used(runs, repeated, tmp_path):
    folder = shutil.copytree(runs["seed4"], tmp_path / "seed4")
    assert ed_brian.load_repeated_test(folder, 2) is not None
    run = ed_brian.load_run(folder)
    results.write_metrics(folder, [*run.metrics, dataclasses.replace(run.metrics[-1], epoch=2)])
    assert ed_brian.load_repeated_test(folder, 2) is None
    with pytest.raises(ResultsError, match="present weights"):
        ed_brian.vote([runs["packed"], folder], repeats=2)


def test_a_damaged_repeated_test_is_named(runs, repeated, tmp_path):
    folder = shutil.copytree(runs["seed4"], tmp_path / "seed4")
    results.repeated_test_file(folder, 2).write_bytes(b"not an archive")
    with pytest.raises(ResultsError, match="repeats-2.npz"):
        ed_brian.load_repeated_test(folder, 2)
