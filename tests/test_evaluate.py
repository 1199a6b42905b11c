"""Testing saved weights: learning off, and each test image shown several times."""

import os
import signal
from dataclasses import replace

import numpy as np
import pytest

from ed_brian.cli import main
from ed_brian.config import ConfigError
from ed_brian.copies import ensemble_scores
from ed_brian.train import build, evaluate, evaluation_scores, train, voted_accuracy

from conftest import band_dataset, small_config, start_standalone_command


@pytest.fixture(scope="module")
def trained():
    config = small_config(n_classes=4, hidden=(6,), n_train=60, n_test=24, sim_time=10.0)
    data = band_dataset(60, 24)
    return config, data, train(config, data).weights


def test_repeated_test_set_sums_each_image_s_presentations(trained):
    config, data, weights = trained
    once = build(config, data, weights, test_only=True)
    once.run_trials(24)
    twice = build(config, data, weights, test_only=True, repeats=2)
    twice.run_trials(48)
    first, scores = once.scores(0, 24), twice.scores(0, 48)
    assert list(twice.schedule.image) == list(once.schedule.image) * 2
    # The first showing is the single run's (same Brian2 seed); the second has its own Poisson spikes.
    np.testing.assert_array_equal(scores[:24], first)
    assert not np.array_equal(scores[24:], first)
    both = ensemble_scores(np.stack([scores[:24], scores[24:]], axis=1))
    expected = 100.0 * np.mean(np.argmax(both, axis=1) == data.test_labels)
    assert evaluate(config, data, weights, repeats=2) == pytest.approx(expected)
    assert evaluate(config, data, weights) == pytest.approx(100.0 * np.mean(np.argmax(first, 1) == data.test_labels))
    assert np.floor(scores).sum() > 0


def test_scores_of_several_networks_vote_together(trained):
    config, data, weights = trained
    other = train(replace(config, seed=4), data).weights
    mine, theirs = (evaluation_scores(config, data, w, repeats=2) for w in (weights, other))
    assert mine.shape == (24, 1, 2, 4)
    together = np.concatenate([mine, theirs], axis=1)
    summed = np.floor(together).sum(axis=(1, 2)) + (together - np.floor(together)).mean(axis=(1, 2))
    assert voted_accuracy(together, data.test_labels) == pytest.approx(
        100.0 * np.mean(np.argmax(summed, axis=1) == data.test_labels))
    assert voted_accuracy(mine, data.test_labels) == evaluate(config, data, weights, repeats=2)


def test_repeats_below_one_are_refused(trained):
    config, data, weights = trained
    with pytest.raises(ConfigError, match="repeats"):
        evaluate(config, data, weights, repeats=0)
    with pytest.raises(ConfigError, match="test_only"):
        build(config, data, weights, repeats=2)


def test_evaluate_command_refuses_zero_repeats_with_exit_2(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path), "--repeats", "0"]) == 2
    assert "--repeats must be >= 1" in capsys.readouterr().err


def test_evaluate_command_keeps_a_repeated_test_that_vote_uses(tmp_path, capsys):
    import ed_brian

    tiny = ["--train", "30", "--test", "10", "--hidden", "3", "--spike_sim_time", "10", "--codegen", "numpy",
            "--epochs", "1", "--no-progress"]
    folders = [str(tmp_path / f"seed{seed}") for seed in (1, 2)]
    for seed, folder in zip((1, 2), folders):
        assert main(["train", *tiny, "--seed", str(seed), "--out", folder]) == 0
    capsys.readouterr()

    # Another test set than the run's is measured but not kept.
    assert main(["evaluate", folders[0], "--repeats", "2", "--test", "6"]) == 0
    assert "kept" not in capsys.readouterr().out
    assert ed_brian.load_repeated_test(folders[0], 2) is None
    for folder in folders:
        assert main(["evaluate", folder, "--repeats", "2"]) == 0
        out = capsys.readouterr().out
        assert f"scores kept in {folder}/repeats-2.npz" in out
        scores, labels = ed_brian.load_repeated_test(folder, 2)
        assert scores.shape == (10, 1, 2, 10)
        assert f"test accuracy {ed_brian.voted_accuracy(scores, labels):.2f} %" in out

    assert main(["vote", *folders, "--repeats", "2"]) == 0
    vote = ed_brian.vote(folders, repeats=2)
    assert f"test {vote.accuracy:6.2f} % on 10 images, each shown 2 times" in capsys.readouterr().out
    assert main(["vote", *folders, "--repeats", "3"]) == 2
    err = capsys.readouterr().err
    assert f"ed-brian evaluate {folders[0]} --repeats 3" in err and "Traceback" not in err
    assert main(["vote", *folders, "--repeats", "0"]) == 2
    assert "--repeats must be >= 1" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the standalone program through /proc")
def test_ctrl_c_stops_a_standalone_evaluation_in_one_line(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--train", "20", "--test", "500", "--hidden", "3", "--spike_sim_time", "10",
                 "--codegen", "numpy", "--epochs", "1", "--no-progress", "--out", str(run)]) == 0
    # 50,000 test trials: only the signal ends it within the test.
    proc, programs = start_standalone_command("evaluate", str(run), "--repeats", "100", "--device", "cpp_standalone",
                                              "--project-dir", str(tmp_path / "project"))
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C
    output, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "the cpp_standalone program was stopped, nothing was evaluated" in err
    assert "Traceback" not in err and "test accuracy" not in output
    assert not any(os.path.exists(f"/proc/{pid}") for pid in programs), "the program outlived ed-brian"
    assert not (run / "repeats-100.npz").exists()
