"""The FReLU variant: spiking input, FReLU rate units, the same ED rule."""

import brian2
import numpy as np
from brian2 import SpikeMonitor, ms

from ed_brian.config import EDParams, InputParams, NetworkConfig
from ed_brian.devices import use_runtime
from ed_brian.models import frelu
from ed_brian.schedule import Phase, Schedule
from ed_brian.train import train

from conftest import band_dataset, small_config, with_initial_weights


def frelu_np(u, u0):
    return np.clip(0.5 + u / (2 * u0), 0, 1)


def test_forward_pass_and_update_follow_the_formulas():
    config = NetworkConfig(hidden=(4,), n_classes=3, n_pixels=16, input=InputParams(sim_time=30.0),
                           ed=EDParams(lr=0.2, sig=0.8, learning="dense"))
    pixels = np.random.default_rng(1).uniform(0, 1, (1, 16))
    schedule = Schedule(np.array([0]), np.array([2]), np.array([1]), (Phase(1, "train", 0, 1),))
    use_runtime("numpy")
    brian2.seed(4)
    net = with_initial_weights(frelu.build(config, pixels, schedule), config)
    relay_spikes = SpikeMonitor(net.layers[0], name="relay_spikes")
    net.network.add(relay_spikes)
    relay_to_hidden, hidden_to_output = net.synapses
    w1, w2 = np.array(relay_to_hidden.w[:]), np.array(hidden_to_output.w[:])
    T = 30 * ms
    net.network.run(T + 1 * ms)

    counts = np.bincount(np.asarray(relay_spikes.i[:])[np.asarray(relay_spikes.t[:] < T)], minlength=32)
    rate = np.clip(counts / (config.input.max_rate * 0.029), 0, 1)
    relay_type = 1 - 2 * (np.arange(32) % 2)
    hidden_type = 1 - 2 * ((np.arange(12) % 4) % 2)
    i1, j1 = np.asarray(relay_to_hidden.i[:]), np.asarray(relay_to_hidden.j[:])
    u_hidden = np.zeros(12)
    np.add.at(u_hidden, j1, relay_type[i1] * hidden_type[j1] * w1 * rate[i1])
    a_hidden = frelu_np(u_hidden, 0.8)
    np.testing.assert_allclose(net.layers[1].activity[:], a_hidden, rtol=1e-12)

    i2, j2 = np.asarray(hidden_to_output.i[:]), np.asarray(hidden_to_output.j[:])
    u_out = np.zeros(3)
    np.add.at(u_out, j2, hidden_type[i2] * w2 * a_hidden[i2])
    out = frelu_np(u_out, 0.8)
    np.testing.assert_allclose(net.output.activity[:], out, rtol=1e-12)

    target = (np.arange(3) == 2).astype(float)
    a_plus, a_minus = np.clip(target - out, 0, None), np.clip(out - target, 0, None)
    slope = lambda a: np.clip(a * (1 - a), 0.01, 1)
    x = np.repeat(pixels[0], 2)  # the seed: first-layer updates from the raw pixel
    cls = j1 // 4
    amine = np.where(relay_type[i1] > 0, a_plus[cls], a_minus[cls])
    expected = 0.2 * x[i1] * slope(a_hidden[j1]) * amine
    np.testing.assert_allclose(np.array(relay_to_hidden.w[:]) - w1, expected, rtol=1e-9, atol=1e-14)
    amine2 = np.where(hidden_type[i2] > 0, a_plus[j2], a_minus[j2])
    expected2 = 0.2 * a_hidden[i2] * slope(out[j2]) * amine2
    np.testing.assert_allclose(np.array(hidden_to_output.w[:]) - w2, expected2, rtol=1e-9, atol=1e-14)


def test_frelu_learns_above_chance_with_two_hidden_layers():
    config = small_config(hidden=(16, 8), n_train=120, n_test=40, epochs=2, model="frelu")
    result = train(config, band_dataset(120, 40))
    assert result.epochs[-1].test_accuracy >= 60.0  # chance: 25 %
    assert set(result.epochs[-1].mean_rates) == {"relay"}  # only the input spikes
