"""The Simple model computes what the full model computes, and learns."""

from dataclasses import replace

import numpy as np

from ed_brian.train import train

from conftest import band_dataset, small_config


def test_simple_model_equals_the_full_model_trial_by_trial():
    data = band_dataset(20, 8)
    full = small_config(hidden=(6,), n_train=20, n_test=8, epochs=2, seed=8, learning="dense")
    a = train(full, data)
    b = train(replace(full, model="simple"), data)
    np.testing.assert_array_equal(a.scores, b.scores)  # same input spikes, same output spikes
    np.testing.assert_array_equal(a.mean_dw, b.mean_dw)  # same weight change in every trial
    for key, value in a.weights.items():
        np.testing.assert_array_equal(b.weights[key], value, err_msg=key)


def test_simple_model_learns_above_chance():
    result = train(small_config(hidden=(8,), n_train=120, n_test=40, epochs=2, model="simple"), band_dataset(120, 40))
    assert result.epochs[-1].test_accuracy >= 75.0  # chance: 25 %
