"""The public Python API: Config from keyword arguments, data checks, the built
network with the user's own monitors, parameters changed after building, runs
saved and loaded."""

import dataclasses

import numpy as np
import pytest
from brian2 import Hz, SpikeMonitor, StateMonitor, mV, ms, nA, second

import ed_brian
from ed_brian import Config, ConfigError
from ed_brian.cli import build_parser, config_from_args

from conftest import band_dataset


def small(**changes) -> Config:
    """A tiny tonic network on the generated band images (4 classes)."""
    base = dict(hidden=6, n_classes=4, train=20, test=8, epochs=1, spike_sim_time=20 * ms, I_bias=1.2 * nA,
                codegen="numpy", seed=3, dataset="bands")
    return Config(**{**base, **changes})


def test_config_from_keyword_arguments_with_units_equals_the_command_line():
    config = Config(hidden=(64, 32), lr=0.2, tau_m=20 * ms, v_threshold=-45 * mV, spike_max_rate=100 * Hz,
                    train=300, test=100, epochs=2)
    args = build_parser().parse_args(["train", "--hidden", "64,32", "--lr", "0.2", "--tau_m", "20",
                                      "--v_threshold", "-45", "--spike_max_rate", "100", "--train", "300",
                                      "--test", "100", "--epochs", "2"])
    assert config == config_from_args(args)
    # Bare numbers are taken in the flags' units; every flat name reads back with its unit.
    assert Config(tau_m=20) == Config(tau_m=20 * ms) == Config(tau_m=0.02 * second)
    assert config.tau_m == 20 * ms and config.network.lif.tau_m == 20.0
    assert config.hidden == (64, 32) and config.train == 300 and config.lr == 0.2
    assert Config(hidden=16).hidden == (16,) and Config(hidden="16,8").hidden == (16, 8)
    assert Config(no_shuffle=True).shuffle is False


@pytest.mark.parametrize("changes, message", [
    (dict(tau_m=20 * mV), "tau_m takes a value in ms"),
    (dict(lr=0.1 * ms), "lr is a plain number"),
    (dict(lr="fast"), "lr takes a number"),
    (dict(hidden="wide"), "hidden takes layer sizes"),
    (dict(hidden=[16, 2.5]), "hidden takes layer sizes"),
    (dict(train=10.5), "train takes a whole number"),
    (dict(no_shuffle="yes"), "no_shuffle takes True or False"),
    (dict(lif=dict(tau_m=20)), "unknown parameter 'lif'"),
    (dict(tau=20), "did you mean 'tau_m'"),
    (dict(tau_m=-1 * ms), "--tau_m must be > 0"),
    (dict(v_threshold=-70 * mV), "--v_threshold"),
    (dict(device="gpu"), "--device must be one of"),
])
def test_wrong_types_units_names_and_values_raise_config_error(changes, message):
    with pytest.raises(ConfigError, match=message):
        Config(**changes)


def test_replace_validates_again_and_changes_only_what_it_names():
    config = Config(hidden=32, lr=0.2)
    faster = config.replace(lr=0.4, tau_m=15 * ms)
    assert (faster.lr, faster.tau_m, faster.hidden) == (0.4, 15 * ms, (32,))
    assert config.lr == 0.2  # frozen: the original is unchanged
    with pytest.raises(ConfigError, match="--lr must be > 0"):
        config.replace(lr=-1.0)
    # The nested dataclasses still work with dataclasses.replace.
    assert dataclasses.replace(config, n_test=7).test == 7
    assert Config.from_dict(faster.to_dict()) == faster
    assert "lr=0.4" in repr(faster) and "tau_m=15. * msecond" in repr(faster)


def test_a_dataset_that_does_not_match_the_config_is_refused():
    config = small()
    with pytest.raises(ConfigError, match="train=20"):
        ed_brian.train(config, band_dataset(40, 8))
    with pytest.raises(ConfigError, match="test=8"):
        ed_brian.build(config, band_dataset(20, 12))
    # load_data applies train, train_pool and test as the command line does.
    bundled = Config(train=30, test=12, train_pool=50)
    data = ed_brian.load_data(bundled)
    assert (len(data.train_labels), len(data.test_labels)) == (50, 12)


def test_the_built_network_is_plain_brian2_and_whole_trials_feed_a_user_monitor():
    config = small()
    sim = ed_brian.build(config, band_dataset(20, 8))
    assert list(sim.layers) == ["relay", "hidden_1", "output"]
    assert list(sim.projections) == ["relay_to_hidden_1", "hidden_1_to_output"]
    trace = StateMonitor(sim.layers["hidden_1"], "v", record=[0, 1, 2])
    spikes = SpikeMonitor(sim.layers["output"])
    sim.add(trace, spikes)
    steps = sim.steps_per_trial
    assert steps == 20
    sim.run_trials(3)
    # Three trials and the step where the last one's learning runs.
    assert trace.v.shape == (3, 3 * steps + 1)
    assert sim.trials_done == 3
    sim.run_trials(2)
    assert trace.v.shape == (3, 5 * steps + 1)
    start, end = sim.trial_window(4)
    assert (start, end) == (80 * ms, 100 * ms)
    # The user's monitor agrees with the trainer's own spike counts.
    counts = np.floor(sim.scores(4, 5)[0]).astype(int)
    in_trial = (spikes.t >= start) & (spikes.t < end)
    np.testing.assert_array_equal(np.bincount(spikes.i[in_trial], minlength=4), counts)
    # A run of the user's own counts too: the next trial starts where it ended.
    sim.network.run(steps * config.spike_dt - config.spike_dt)
    assert sim.trials_done == 6
    with pytest.raises(ConfigError, match="left"):
        sim.run_trials(100)


def test_train_hands_the_built_network_to_on_build():
    seen = {}

    def add_monitor(trainer):
        seen["monitor"] = SpikeMonitor(trainer.layers["hidden_1"], name="my_hidden_spikes")
        trainer.add(seen["monitor"])

    config = small()
    result = ed_brian.train(config, band_dataset(20, 8), on_build=add_monitor)
    trials = config.epochs * (config.train + config.test)
    rate = seen["monitor"].num_spikes / (len(seen["monitor"].source) * trials * config.spike_sim_time)
    assert rate / Hz == pytest.approx(result.epochs[0].mean_rates["hidden_1"], rel=0.05)


@pytest.mark.parametrize("changes", [dict(tau_m=18 * ms), dict(R_m=30.0, q_syn=1.3),
                                     dict(v_threshold=-42 * mV, I_bias=1.0 * nA), dict(lr=0.05)])
def test_set_parameters_changes_the_model_exactly_as_a_rebuild(changes):
    data = band_dataset(20, 8)
    changed = ed_brian.build(small(), data)
    changed.set_parameters(**changes)
    changed.run_trials(6)
    rebuilt = ed_brian.build(small(**changes), data)
    rebuilt.run_trials(6)
    assert changed.config == rebuilt.config
    np.testing.assert_array_equal(changed.scores(0, 6), rebuilt.scores(0, 6))
    for name, syn in rebuilt.projections.items():
        np.testing.assert_array_equal(changed.projections[name].w_gain[:], syn.w_gain[:])
        np.testing.assert_array_equal(changed.projections[name].w[:], syn.w[:])
    # And it is another model than the unchanged one.
    plain = ed_brian.build(small(), data)
    plain.run_trials(6)
    assert not (np.array_equal(plain.scores(0, 6), changed.scores(0, 6))
                and all(np.array_equal(plain.projections[n].w[:], s.w[:]) for n, s in changed.projections.items()))


def test_parameters_fixed_at_build_time_are_refused_after_building():
    sim = ed_brian.build(small(), band_dataset(20, 8))
    with pytest.raises(ConfigError, match="hidden is fixed when the network is built"):
        sim.set_parameters(hidden=8)
    with pytest.raises(ConfigError, match="takes a value in ms"):
        sim.set_parameters(tau_m=3 * mV)


def test_a_saved_run_loads_with_int_epochs_units_and_brian2_orientation(tmp_path):
    config = small(epochs=2)
    data = band_dataset(20, 8)
    spec = ed_brian.RecordSpec(trials=(2, 4), layers=("hidden", "output"), neurons=(0, 3))
    result = ed_brian.train(config, data, record=spec)
    ed_brian.save_run(tmp_path / "run", result, data)
    run = ed_brian.load_run(tmp_path / "run")
    assert run.config == config
    assert [m.epoch for m in run.metrics] == [1, 2] and isinstance(run.metrics[0].epoch, int)
    assert run.test_accuracy == pytest.approx(result.epochs[-1].test_accuracy, abs=0.005)
    np.testing.assert_array_equal(run.trials["prediction"], result.predictions)
    # v as Brian2's StateMonitor.v: neurons x samples, in volt.
    v = run.recordings["output/v"]
    assert v.shape == (3, 2 * config.network.input.steps_per_trial) and v.has_same_dimensions(mV)
    # The signed matrix holds every synapse's effect with its sign rule.
    matrix = run.weight_matrix("hidden_1_to_output")
    assert matrix.shape == (4 * 6, 4)
    hidden_type = np.where(np.arange(24) % 6 % 2 == 0, 1, -1)
    for j in range(4):
        rows = slice(6 * j, 6 * (j + 1))  # output unit j's class network
        assert np.all(np.sign(matrix[rows, j]) == hidden_type[rows])
        assert np.all(np.delete(matrix[:, j], np.arange(6 * j, 6 * (j + 1))) == 0)
    maps = run.pixel_weights()
    assert maps.shape == (4, 28, 28)
    np.testing.assert_array_equal(maps, ed_brian.pixel_weights(ed_brian.load_weights(tmp_path / "run"), 4))


def test_a_standalone_program_reports_its_progress_while_it_runs(tmp_path):
    config = small(device="cpp_standalone", codegen="auto", train=30, test=10)
    reports = []
    result = ed_brian.train(config, band_dataset(30, 10), project_dir=tmp_path / "project",
                            on_progress=lambda phase, trials: reports.append((phase.kind, trials)))
    assert result.epochs[0].test_accuracy >= 0
    # The program's own reports (at its start and end at least), read while it ran.
    assert reports and reports[-1] == ("test", 40)
    trials = [t for _, t in reports]
    assert trials == sorted(trials)


def synthetic_first_layer(templates: np.ndarray) -> dict:
    """Saved-weights dict of a relay -> hidden_1 projection whose units have ``templates``
    (classes x units x pixels) as E-minus-I magnitudes."""
    n_classes, units, n_pixels = templates.shape
    i, j = np.meshgrid(np.arange(2 * n_pixels), np.arange(n_classes * units), indexing="ij")
    i, j = i.ravel(), j.ravel()
    net = templates.reshape(n_classes * units, n_pixels)[j, i // 2]
    # Magnitudes are never negative: a positive push sits on the E copy, a negative one on the I copy.
    w = np.where(i % 2 == 0, np.clip(net, 0, None), np.clip(-net, 0, None)) + 0.3
    return {"relay_to_hidden_1/i": i, "relay_to_hidden_1/j": j, "relay_to_hidden_1/w": w,
            "relay_to_hidden_1/sign": np.ones_like(i)}


def test_template_diversity_tells_one_shared_template_from_many():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=(1, 1, 64)) * rng.uniform(0.5, 2, size=(3, 40, 1))  # one template, units scale it
    independent = rng.normal(size=(3, 40, 64))
    weights = synthetic_first_layer(np.concatenate([shared, independent]))
    np.testing.assert_allclose(ed_brian.unit_templates(weights, 6, 64)[:3], shared.repeat(1, 0), atol=1e-12)
    diversity = ed_brian.template_diversity(weights, 6, 64)
    np.testing.assert_allclose(diversity["first_component"][:3], 1, atol=1e-9)
    np.testing.assert_allclose(diversity["effective_number"][:3], 1, atol=1e-6)
    assert np.all(diversity["first_component"][3:] < 0.15) and np.all(diversity["effective_number"][3:] > 20)
    maps = ed_brian.pixel_weights(weights, 6, (8, 8))
    np.testing.assert_allclose(maps[4], independent[1].mean(axis=0).reshape(8, 8), atol=1e-12)
