"""Training end to end: it learns, it is reproducible, codegen targets agree."""

from dataclasses import replace

import numpy as np
import pytest

from ed_brian.config import LIFParams
from ed_brian.data import load_dataset, subset
from ed_brian.train import train

from conftest import band_dataset, small_config


def test_learns_a_generated_task_well_above_chance():
    config = small_config(n_classes=4, hidden=(8,), epochs=2, n_train=120, n_test=40)
    result = train(config, band_dataset(120, 40))
    # Chance is 25 %.
    assert result.epochs[-1].test_accuracy >= 75.0
    rates = result.epochs[-1].mean_rates
    assert all(rate > 0 for rate in rates.values()), rates


def test_every_layer_spikes_in_every_class_network():
    config = small_config(n_classes=3, hidden=(6, 4), n_train=20, n_test=10)
    result = train(config, band_dataset(20, 10, n_classes=3))
    assert set(result.epochs[0].mean_rates) == {"relay", "hidden_1", "hidden_2", "output"}
    assert all(rate > 1.0 for rate in result.epochs[0].mean_rates.values())
    # Every output unit fired in some trial.
    assert np.all(np.floor(result.scores).sum(axis=0) > 0)


def test_same_seed_same_numbers_other_seed_other_numbers():
    data = band_dataset(30, 10)
    first = train(small_config(n_train=30, n_test=10, seed=5), data)
    again = train(small_config(n_train=30, n_test=10, seed=5), data)
    other = train(small_config(n_train=30, n_test=10, seed=6), data)
    np.testing.assert_array_equal(first.scores, again.scores)
    for key in first.weights:
        np.testing.assert_array_equal(first.weights[key], again.weights[key])
    assert not np.array_equal(first.scores, other.scores)


def test_numpy_and_cython_give_identical_spike_counts_and_weights():
    data = band_dataset(20, 10)
    by_target = {
        target: train(small_config(hidden=(6, 4), n_train=20, n_test=10, seed=9, codegen=target), data)
        for target in ("numpy", "cython")
    }
    counts = {target: np.floor(result.scores) for target, result in by_target.items()}
    np.testing.assert_array_equal(counts["numpy"], counts["cython"])
    for key, value in by_target["numpy"].weights.items():
        np.testing.assert_allclose(by_target["cython"].weights[key], value, rtol=1e-12, err_msg=key)


def _with_relay_input(config, relay_input, shared_ei_trains=True):
    network = config.network
    encoding = replace(network.input, relay_input=relay_input, shared_ei_trains=shared_ei_trains)
    return replace(config, network=replace(network, input=encoding))


# With input_activity "count" the first layer learns from the relay's spike
# counts, which the linked form counts in its Poisson sources.
@pytest.mark.parametrize("shared_ei_trains, input_activity", [(True, "pixel"), (False, "count"), (True, "count")],
                         ids=["shared-pixel", "independent-count", "shared-count"])
def test_linked_relay_input_gives_the_same_spikes_and_weights(shared_ei_trains, input_activity):
    data = band_dataset(24, 12)
    config = small_config(hidden=(6,), n_train=24, n_test=12, seed=9, bias_rate=100.0, input_activity=input_activity)
    by_form = {form: train(_with_relay_input(config, form, shared_ei_trains), data)
               for form in ("synapses", "linked")}
    synapses, linked = by_form["synapses"], by_form["linked"]
    assert synapses.epochs[0].mean_rates["relay"] > 1.0
    assert linked.epochs[0].mean_rates == synapses.epochs[0].mean_rates
    np.testing.assert_array_equal(linked.scores, synapses.scores)
    assert linked.weights.keys() == synapses.weights.keys()
    for key, value in synapses.weights.items():
        np.testing.assert_array_equal(linked.weights[key], value, err_msg=key)


@pytest.mark.parametrize("learning", ["event", "dense"])
def test_one_lif_group_gives_the_same_spikes_and_weights(learning):
    data = band_dataset(24, 12, n_classes=3)
    config = small_config(n_classes=3, hidden=(6, 4), n_train=24, n_test=12, seed=9, bias_rate=100.0,
                          learning=learning)
    per_layer = train(config, data)
    one_group = train(replace(config, network=replace(config.network, lif_groups="one")), data)
    assert set(one_group.epochs[0].mean_rates) == {"relay", "hidden_1", "hidden_2", "output"}
    assert one_group.epochs[0].mean_rates == per_layer.epochs[0].mean_rates
    np.testing.assert_array_equal(one_group.scores, per_layer.scores)
    # The amines reach the hidden units through synapses instead of linked variables.
    assert per_layer.amines.sum() > 0
    np.testing.assert_array_equal(one_group.amines, per_layer.amines)
    assert one_group.weights.keys() == per_layer.weights.keys()
    for key, value in per_layer.weights.items():
        np.testing.assert_array_equal(one_group.weights[key], value, err_msg=key)


def test_learns_real_mnist_above_chance(data_dir):
    data = subset(load_dataset("mnist", data_dir), 300, 200)
    # The default units: at rest just below threshold, they spike only when driven.
    config = small_config(n_classes=10, hidden=(16,), epochs=1, n_train=300, n_test=200,
                          codegen="cython", sim_time=50.0, lif=LIFParams())
    assert LIFParams().v_rest + LIFParams().R_m * LIFParams().I_bias < LIFParams().v_threshold
    result = train(config, data)
    # Chance is 10 %.
    assert result.epochs[-1].test_accuracy >= 40.0
    assert all(rate > 1.0 for rate in result.epochs[-1].mean_rates.values()), result.epochs[-1].mean_rates


@pytest.mark.long
def test_seed_protocol_one_epoch_mnist_beats_the_seed_on_cpp_standalone(data_dir, tmp_path):
    # The seed measured 78.2 % after its first epoch (first 1000 test images).
    from dataclasses import replace

    data = subset(load_dataset("mnist", data_dir), 1000, 500)
    config = replace(small_config(n_classes=10, hidden=(256,), n_train=1000, n_test=500, sim_time=50.0),
                     device="cpp_standalone", seed=1)
    result = train(config, data, project_dir=tmp_path / "project")
    assert result.epochs[0].test_accuracy >= 70.0
