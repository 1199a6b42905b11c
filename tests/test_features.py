"""The fixed random feature layer (``--features N``): what it computes, that it
spikes, that nothing in it learns, and that it runs the same on every device."""

from dataclasses import replace

import numpy as np
import pytest

import ed_brian
from ed_brian import features, results
from ed_brian.config import ConfigError
from ed_brian.copies import initial_weights
from ed_brian.invariants import check_weights
from ed_brian.network import expected_synapse_counts, fixed_synapse_count
from ed_brian.train import Trainer, evaluate, pixel_table, train
from ed_brian.weights import unit_templates

from brian2 import SpikeMonitor

from conftest import band_dataset

# Measured 0.72 for these 30 trials of 50 ms; 1 is out of reach with Poisson input.
CORRELATION = 0.5


def feature_config(**changes):
    base = dict(dataset="bands", n_classes=4, hidden=6, features=100, feature_active=0.25,
                train=24, test=12, epochs=1, seed=4, codegen="numpy")
    return ed_brian.Config(**{**base, **changes})


def test_fixed_synapses_obey_the_sign_rule_and_give_both_units_of_a_pair_one_membrane():
    config = feature_config().network
    data = band_dataset(50, 4)
    calibration = features.calibrate(config, pixel_table(data)[:50])
    i, j, w = features.connections(config, calibration)
    assert len(i) == fixed_synapse_count(config) == 100 * 784  # one per pixel and feature pair
    W = features.config_matrix(config)
    relay_type, pixel = 1 - 2 * (i % 2), i // 2
    # A membrane is its pair's E unit's (s_post = +1): each synapse's effect is the sign of its weight.
    np.testing.assert_array_equal(relay_type, np.sign(W[pixel, j]))
    np.testing.assert_allclose(w, np.abs(W[pixel, j]) / calibration["features/scale"][j]
                               * features.magnitude_per_unit_projection(config))
    # Every membrane gets exactly one synapse from each pixel, and both units of its pair read it.
    np.testing.assert_array_equal(np.bincount(j * 784 + pixel), np.ones(100 * 784))
    trainer = Trainer(feature_config(train=2, test=2), band_dataset(2, 2))
    units, membranes = trainer.layers["features"], trainer.net.feature_synapses.target
    assert len(membranes) == 100 and len(units) == 200
    membranes.v = "v_rest + i * mV / 10"
    np.testing.assert_array_equal(units.v[:], np.repeat(membranes.v[:], 2))


def test_thresholds_let_the_chosen_fraction_of_images_drive_a_feature():
    config = feature_config(feature_active=0.2).network
    pixels = pixel_table(band_dataset(400, 4))[:400]
    calibration = features.calibrate(config, pixels)
    projections = pixels @ features.config_matrix(config)
    driven = (projections > calibration["features/theta"]).mean(axis=0)
    np.testing.assert_allclose(driven, 0.2, atol=0.01)
    # At the threshold the resting point sits at the firing threshold.
    currents = features.tonic_currents(config, calibration)
    rest = config.lif.v_rest + config.lif.R_m * currents + config.feature_drive * (
        calibration["features/theta"] / calibration["features/scale"])
    np.testing.assert_allclose(rest, config.lif.v_threshold)


def test_feature_layer_spikes_by_its_projection_and_its_synapses_never_learn():
    config = feature_config(train=30, test=4)
    data = band_dataset(30, 4)
    trainer = Trainer(config, data)
    assert set(trainer.layers) == {"relay", "features", "hidden_1", "output"}
    assert set(trainer.projections) == {"features_to_hidden_1", "hidden_1_to_output"}
    fixed = trainer.net.feature_synapses
    before = np.array(fixed.w[:])
    spikes = SpikeMonitor(trainer.layers["features"], name="feature_spikes")
    trainer.add(spikes)
    trainer.run_trials(30)
    np.testing.assert_array_equal(fixed.w[:], before)
    trial = (np.array(spikes.t[:]) // 0.05).astype(int)
    counts = np.zeros((31, 200))
    np.add.at(counts, (trial, np.array(spikes.i[:])), 1)
    counts = counts[:30]
    # Identical input and no noise of their own: the E and I unit of a pair spike together.
    np.testing.assert_array_equal(counts[:, 0::2], counts[:, 1::2])
    # Trial by trial, features fire by how far the image drives them above threshold
    # (the rate model's feature values, which Poisson input blurs).
    calibration = trainer.net.feature_calibration
    projections = pixel_table(data)[trainer.schedule.image[:30]] @ features.config_matrix(config.network)
    analog = np.clip((projections - calibration["features/theta"]) / calibration["features/scale"], 0, None)
    assert np.corrcoef(analog.ravel(), counts[:, 0::2].ravel())[0, 1] > CORRELATION
    assert np.all(np.array(trainer.projections["features_to_hidden_1"].w[:]) >= 0)


def test_a_network_with_features_learns_the_bands_and_reloads_from_its_saved_weights(tmp_path):
    config = feature_config(train=80, test=20, epochs=2)
    data = band_dataset(80, 20)
    result = train(config, data)
    assert result.epochs[-1].test_accuracy > 50.0  # chance: 25 %
    assert result.epochs[-1].mean_rates["features"] > 0
    check_weights(config.network, result.weights)
    assert set(features.KEYS) <= result.weights.keys()
    # Thresholds come with the weights: another dataset evaluates with the same feature layer.
    results.save_weights(tmp_path, result.weights)
    loaded = results.load_weights(tmp_path)
    assert evaluate(config, data, loaded) == evaluate(config, data, result.weights) > 50.0
    other = band_dataset(80, 20, seed=8)
    trainer = Trainer(replace(config, epochs=1), other, initial_weights=loaded)
    np.testing.assert_array_equal(trainer.net.feature_calibration["features/theta"], loaded["features/theta"])
    templates = unit_templates(result.weights, 4)
    assert templates.shape == (4, 6, 784)


def test_an_interrupted_run_with_features_resumes_from_its_checkpoint_exactly(tmp_path, monkeypatch):
    from ed_brian import schedule
    from ed_brian.train import Interrupted

    monkeypatch.setattr(schedule, "CHUNK_TRIALS", 7)
    config = feature_config(train=16, test=6, epochs=2)
    data = band_dataset(16, 6)
    whole = train(config, data)
    calls = []
    with pytest.raises(Interrupted) as stopped:
        train(config, data, should_stop=lambda: calls.append(1) or len(calls) >= 3)
    results.save_checkpoint(tmp_path, stopped.value.checkpoint)
    resumed = train(config, data, resume=results.load_checkpoint(tmp_path))
    np.testing.assert_array_equal(resumed.predictions, whole.predictions)
    assert resumed.weights.keys() == whole.weights.keys()
    for key, value in whole.weights.items():
        np.testing.assert_array_equal(resumed.weights[key], value, err_msg=key)


def test_pixel_templates_read_the_first_layer_through_the_features():
    config = feature_config(features=3).network
    W = features.projection_matrix(784, 3, config.feature_seed)
    scale = np.array([1.0, 2.0, 4.0])
    # Unit 1 of class network 0 gets 0.5 from feature 2's E unit and 0.25 from feature 0's I unit.
    weights = {"features_to_hidden_1/i": np.array([4, 1]), "features_to_hidden_1/j": np.array([1, 1]),
               "features_to_hidden_1/w": np.array([0.5, 0.25]), "features/scale": scale,
               "features/seed": np.array([config.feature_seed]), "features/smoothing": np.array([0.0]),
               "features/theta": np.zeros(3)}
    templates = features.pixel_templates(weights, n_pixels=784)
    np.testing.assert_allclose(templates[1], 0.5 * W[:, 2] / 4.0 - 0.25 * W[:, 0] / 1.0)
    np.testing.assert_array_equal(templates[0], 0)


def test_weights_of_another_feature_layer_are_refused():
    config = feature_config()
    data = band_dataset(24, 12)
    weights = dict(initial_weights(config))
    weights.update(features.calibrate(config.network, pixel_table(data)[:24]))
    with pytest.raises(ConfigError, match="--feature_seed 1, this network's from 2"):
        Trainer(config.replace(feature_seed=2), data, initial_weights=weights)
    with pytest.raises(ConfigError, match="features/theta has 100 values, this network has 20"):
        Trainer(config.replace(features=20), data, initial_weights={
            **weights, **initial_weights(config.replace(features=20)), "features/scale": np.ones(20)})
    with pytest.raises(ConfigError, match="no projection 'relay_to_hidden_1'"):
        Trainer(config.replace(features=0), data, initial_weights=weights)
    assert expected_synapse_counts(config.network)["features_to_hidden_1"] == 200 * 4 * 6


def test_packed_copies_share_the_feature_layer_and_each_equals_its_single_run():
    config = feature_config(copies=2, lr=[0.1, 0.2], train=16, test=8)
    data = band_dataset(16, 8)
    packed = train(config, data)
    for c, own in enumerate(packed.copies):
        single = train(config.copy_config(c), data)
        assert own.weights.keys() == single.weights.keys()
        for key, value in single.weights.items():
            np.testing.assert_array_equal(own.weights[key], value, err_msg=key)
        np.testing.assert_array_equal(own.scores, single.scores)


def test_cython_and_cpp_standalone_are_identical_with_a_feature_layer(tmp_path):
    config = feature_config(epochs=2, codegen="cython", bias_rate=100.0)
    data = band_dataset(24, 12)
    runtime = train(config, data)
    standalone_config = config.replace(device="cpp_standalone", relay_input="linked", lif_groups="one")
    standalone = train(standalone_config, data, project_dir=tmp_path / "cpp")
    np.testing.assert_array_equal(np.floor(runtime.scores), np.floor(standalone.scores))
    assert runtime.weights.keys() == standalone.weights.keys()
    for key, value in runtime.weights.items():
        np.testing.assert_array_equal(standalone.weights[key], value, err_msg=key)
    # (Rates: the runtime's over its last epoch, standalone's over the run.)
    assert runtime.epochs[-1].mean_rates["features"] > 0 and standalone.epochs[-1].mean_rates["features"] > 0
    assert evaluate(config, data, runtime.weights) == evaluate(standalone_config, data, standalone.weights,
                                                               tmp_path / "cpp")
