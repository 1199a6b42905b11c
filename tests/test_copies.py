"""Packed copies: copy c of a packed run is the single run of its own seed and parameters.

Compared, bit for bit: every weight magnitude (with its indices and sign), the
output scores of every trial (spike count plus membrane progress, so every
output spike), the predictions, the amines and the mean |dw| of each copy,
against a single run of ``config.copy_config(c)``. It is exact because the copy's
initial magnitudes are drawn in NumPy from its own weight seed in the single
network's synapse order, Brian2's random numbers feed only the Poisson input
(the same in both runs), no synapse joins two copies, and each unit of the copy
computes with the same per-unit values in the same arithmetic as its twin.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

import ed_brian
from ed_brian import results, schedule
from ed_brian.config import ConfigError
from ed_brian.copies import ensemble_scores, synapse_copies
from ed_brian.train import Interrupted, Trainer, train

from conftest import band_dataset

# Two hidden layers with uniform diffusion, so that every per-copy parameter acts.
PER_COPY = dict(lr=[0.1, 0.2, 0.15], dif=[1.0, 0.5, 2.0], I_bias=[1.2, 1.1, 1.25], lr_decay=[0.85, 0.5, 1.0],
                w1=[0.3, 0.2, 0.3], w2=[0.5, 0.5, 0.6])


def packed_config(**changes):
    base = dict(dataset="bands", n_classes=4, hidden=(6, 4), diffusion="uniform", train=20, test=10, epochs=2,
                spike_sim_time=20, seed=5, copies=3, codegen="cython", **PER_COPY)
    return ed_brian.Config(**{**base, **changes})


def assert_copy_is_single_run(own, single):
    assert set(own.weights) == set(single.weights)
    for key, value in single.weights.items():
        np.testing.assert_array_equal(own.weights[key], value, err_msg=key)
    np.testing.assert_array_equal(own.scores, single.scores)
    np.testing.assert_array_equal(own.predictions, single.predictions)
    np.testing.assert_array_equal(own.amines, single.amines)
    np.testing.assert_array_equal(own.mean_dw, single.mean_dw)
    assert [(m.train_accuracy, m.test_accuracy) for m in own.epochs] == [
        (m.train_accuracy, m.test_accuracy) for m in single.epochs]


@pytest.mark.parametrize("changes", [
    dict(),
    dict(device="cpp_standalone"),
    # The GPU's forms, Kaneko's bias units and a sparse input, on the runtime device: the
    # slowest case (4 min of a CI core), so run with -m long; test_devices covers the forms.
    pytest.param(dict(lif_groups="one", relay_input="linked", bias_rate=50.0, input_fraction=0.5, lr_decay=0.7),
                 marks=pytest.mark.long),
], ids=["cython", "cpp_standalone", "one_group-linked-bias-sparse"])
def test_each_copy_equals_the_single_run_of_its_seed_and_parameters(changes):
    config = packed_config(**changes)
    data = band_dataset(20, 10)
    packed = train(config, data)
    assert len(packed.copies) == 3
    for c, own in enumerate(packed.copies):
        single_config = config.copy_config(c)
        assert single_config.copies == 1 and single_config.weight_seed == config.seed + c
        assert_copy_is_single_run(own, train(single_config, data))
    # Every output of every copy spiked: the comparison above is not of silent networks.
    assert np.all(np.floor(packed.scores).sum(axis=0) > 0)


def test_copies_of_one_configuration_learn_different_weights_and_the_ensemble_sums_their_counts(tmp_path):
    config = ed_brian.Config(dataset="bands", n_classes=4, hidden=6, train=30, test=12, epochs=1,
                             spike_sim_time=20, I_bias=1.2, copies=4, codegen="cython")
    data = band_dataset(30, 12)
    result = train(config, data)
    first = [own.weights["relay_to_hidden_1/w"] for own in result.copies]
    for a in range(4):
        for b in range(a + 1, 4):
            assert not np.array_equal(first[a], first[b])
    folder = ed_brian.save_run(tmp_path / "packed", result, data)

    trials = np.load(folder / "trials.npz")
    scores = trials["scores"].reshape(len(trials["label"]), 4, 4)  # trials x copies x classes
    counts = np.floor(scores)
    mean_progress = (scores - counts).mean(axis=1)
    ensemble = np.argmax(counts.sum(axis=1) + mean_progress, axis=1)
    np.testing.assert_array_equal(ensemble, trials["prediction"])
    np.testing.assert_array_equal(np.argmax(scores, axis=2), trials["copy_prediction"])
    test = trials["test_rows"]
    expected = 100.0 * np.mean(ensemble[test] == trials["label"][test])
    run = ed_brian.load_run(folder)
    assert run.test_accuracy == pytest.approx(expected, abs=0.005)
    for c, own in enumerate(run.copies):
        np.testing.assert_array_equal(own.trials["prediction"], trials["copy_prediction"][:, c])
        assert own.config == config.copy_config(c)
        assert own.weights["relay_to_hidden_1/w"].shape == (1568 * 24,)  # a single network's
        assert run.metrics[0].test_accuracy >= 0
    own_accuracy = [100.0 * np.mean(trials["copy_prediction"][test, c] == trials["label"][test]) for c in range(4)]
    with open(folder / "metrics.csv") as f:
        header, row = (line.strip().split(",") for line in f.readlines()[:2])
    for c in range(4):
        assert float(row[header.index(f"copy_{c}_test_accuracy")]) == pytest.approx(own_accuracy[c], abs=0.005)
    # evaluate() of the packed weights: the ensemble, and each copy.
    overall, copies = ed_brian.evaluate(config, data, result.weights, per_copy=True)
    assert len(copies) == 4 and 0 <= overall <= 100


def test_ensemble_scores_sum_counts_and_break_ties_by_mean_progress():
    scores = np.array([[[3.2, 3.9], [1.0, 1.05]], [[2.5, 0.0], [0.1, 2.7]]])  # trials x copies x classes
    np.testing.assert_allclose(ensemble_scores(scores), [[4.1, 4.475], [2.3, 2.35]])
    np.testing.assert_allclose(ensemble_scores(scores, "drive"), [[4.2, 4.95], [2.6, 2.7]])


def test_synapse_copies_follow_brian2s_creation_order():
    config = packed_config(input_fraction=0.6, bias_rate=40.0, train=4, test=2, epochs=1)
    trainer = Trainer(config, band_dataset(4, 2))
    sizes = {layer.name: len(layer) // 3 for layer in trainer.net.unit_groups}
    for name, copy_of in synapse_copies(config).items():
        post = trainer.projections[name].target
        np.testing.assert_array_equal(np.array(trainer.projections[name].j[:]) // sizes[post.name], copy_of,
                                      err_msg=name)


def test_interrupted_packed_run_resumes_to_the_same_run(tmp_path, monkeypatch):
    monkeypatch.setattr(schedule, "CHUNK_TRIALS", 9)
    config = packed_config(codegen="numpy")
    data = band_dataset(20, 10)
    whole = train(config, data)
    calls = []
    with pytest.raises(Interrupted) as stopped:
        train(config, data, should_stop=lambda: len(calls.append(1) or calls) >= 3)
    results.save_checkpoint(tmp_path, stopped.value.checkpoint)
    checkpoint = results.load_checkpoint(tmp_path)
    assert checkpoint.copy_predictions.shape == (checkpoint.trial, 3)
    resumed = train(config, data, resume=checkpoint)
    np.testing.assert_array_equal(resumed.predictions, whole.predictions)
    for own, twin in zip(resumed.copies, whole.copies):
        np.testing.assert_array_equal(own.predictions, twin.predictions)
        assert [m.test_accuracy for m in own.epochs] == [m.test_accuracy for m in twin.epochs]
        for key, value in twin.weights.items():
            np.testing.assert_array_equal(own.weights[key], value, err_msg=key)


@pytest.mark.parametrize("changes, message", [
    (dict(copies=2, lr=[0.1, 0.2, 0.3]), "lr has 3 per-copy values for 2 copies"),
    (dict(copies=2, lr=[0.1, -0.2]), "copy 1: --lr must be > 0"),
    (dict(copies=0), "--copies must be >= 1"),
    (dict(copies=2, model="simple"), "--copies is for --model lif"),
    (dict(copies=2, w1="0.3,x"), "w1 takes a number, or one per copy"),
])
def test_bad_copy_values_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        ed_brian.Config(**changes)


def test_per_copy_values_read_back_and_survive_config_json():
    config = ed_brian.Config(copies=2, lr=(0.1, 0.3), I_bias="0.6,0.7", weight_seed=10)
    assert config.lr == (0.1, 0.3) and config.weight_seeds == (10, 11)
    assert ed_brian.Config.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.copy_config(1).network.lif.I_bias == 0.7 and config.copy_config(1).weight_seed == 11
    assert config.replace(lr=0.2).copy_values == (("I_bias", (0.6, 0.7)),)


def test_cli_trains_copies_and_refuses_a_list_without_copies(tmp_path):
    cli = [sys.executable, "-m", "ed_brian", "train", "--hidden", "4", "--train", "10", "--test", "5",
           "--epochs", "1", "--no-progress"]
    bad = subprocess.run([*cli, "--lr", "0.1,0.2", "--out", str(tmp_path / "bad")], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "lr has 2 per-copy values for 1 copies" in bad.stderr
    assert not (tmp_path / "bad").exists()
    good = subprocess.run([*cli, "--copies", "2", "--lr", "0.1,0.2", "--out", str(tmp_path / "good")],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert "ensemble of 2 copies" in good.stdout and "copy 1: final test accuracy" in good.stdout
    for c in range(2):
        assert ed_brian.load_run(tmp_path / "good" / f"copy_{c}").config.lr == (0.1, 0.2)[c]


def test_cli_resume_extends_a_packed_run_to_the_longer_run(tmp_path):
    from ed_brian.cli import main

    flags = ["--copies", "2", "--lr", "0.1,0.2", "--hidden", "4", "--train", "20", "--test", "10",
             "--spike_sim_time", "20", "--codegen", "numpy", "--no-progress"]
    assert main(["train", *flags, "--epochs", "1", "--out", str(tmp_path / "short")]) == 0
    assert main(["train", "--resume", str(tmp_path / "short"), "--epochs", "2", "--no-progress"]) == 0
    assert main(["train", *flags, "--epochs", "2", "--out", str(tmp_path / "long")]) == 0
    for name in ("metrics.csv", "copy_0/metrics.csv", "copy_1/metrics.csv"):
        short, long = (results.read_metrics((tmp_path / run / name).parent) for run in ("short", "long"))
        drop = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]  # noqa: E731
        assert drop(short) == drop(long), name
    for c in range(2):
        a, b = (ed_brian.load_weights(tmp_path / run / f"copy_{c}") for run in ("short", "long"))
        for key, value in b.items():
            np.testing.assert_array_equal(a[key], value, err_msg=key)
