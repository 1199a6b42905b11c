"""The ED rule in generated code against the spec's formula computed in NumPy."""

from dataclasses import replace

import brian2
import numpy as np
import pytest
from brian2 import SpikeMonitor, ms

from ed_brian.config import ConfigError, EDParams, InputParams, LIFParams, NetworkConfig
from ed_brian.devices import use_runtime
from ed_brian.network import build_network, expected_synapse_counts, input_mask
from ed_brian.schedule import Phase, Schedule, build_schedule
from ed_brian.train import train

from conftest import TONIC, band_dataset, small_config, with_initial_weights


def one_trial_schedule(label: int, learn: float = 1, shift=None) -> Schedule:
    return Schedule(
        image=np.array([0]), label=np.array([label]), learn=np.array([learn]),
        phases=(Phase(1, "train", 0, 1),), shift=None if shift is None else np.array([shift]),
    )


def run_one_trial(net, config):
    """Run ``net``'s one trial and the boundary after it: the magnitudes before, and each
    group's spike count per unit in the trial."""
    monitors = [SpikeMonitor(group, name=f"{group.name}_spikes") for group in net.unit_groups]
    net.network.add(monitors)
    before = {syn.name: np.array(syn.w[:]) for syn in net.projections}
    T = config.input.sim_time * ms
    net.network.run(T + config.input.dt * ms)
    counts = {}
    for group, mon in zip(net.unit_groups, monitors):
        in_trial = np.asarray(mon.t[:] < T)
        counts[group.name] = np.bincount(np.asarray(mon.i[:])[in_trial], minlength=len(group)).astype(float)
    return before, counts


def expected_weight_change(config, net, counts, pixels, label, learn_factor=1.0, weights_before=None):
    """dw of every projection from the spec, given the spike counts of the trial."""
    ed, K, T = config.ed, config.n_classes, config.input.sim_time * 1e-3
    n_ref = ed.activity_rate * T

    def smoothed_derivative(c):
        s = (np.clip(c, 0, n_ref) + 0.5) / (n_ref + 1)
        return s * (1 - s)

    out = np.clip(counts["output"] / n_ref, 0, 1)
    if ed.output_error == "smoothed":
        out = (np.clip(counts["output"], 0, n_ref) + 0.5) / (n_ref + 1)
    target = (np.arange(K) == label).astype(float)
    amine_exc, amine_inh = np.clip(target - out, 0, None), np.clip(out - target, 0, None)
    L = len(config.hidden)
    gains = {f"hidden_{l}": ed.dif ** (L - l) for l in range(1, L + 1)}
    gains["output"] = 1.0
    if ed.input_activity == "pixel":
        relay_activity = np.repeat(pixels, 2)
    else:
        relay_activity = np.clip(counts["relay"] / (config.input.max_rate * (config.input.sim_time - config.input.dt) * 1e-3), 0, 1)
    activities = {"relay": relay_activity}
    if "bias" in counts:  # on the pixels' scale: max_rate is activity 1
        activities["bias"] = np.clip(counts["bias"] / (config.input.max_rate * T), 0, 1)
    changes = {}
    for syn in net.projections:
        pre, post = syn.source, syn.target
        i, j = np.asarray(syn.i[:]), np.asarray(syn.j[:])
        a_pre = activities[pre.name][i] if pre.name in activities else np.clip(counts[pre.name] / n_ref, 0, 1)[i]
        cls = np.asarray(post.network[:])[j]
        amine = np.where(np.asarray(pre.ptype[:])[i] > 0, amine_exc[cls], amine_inh[cls])
        derivative = smoothed_derivative(counts[post.name][j])
        if ed.hidden_derivative == "active" and post.name.startswith("hidden"):
            derivative = derivative * (counts[post.name][j] > 0)
        changes[syn.name] = learn_factor * ed.lr * a_pre * gains[post.name] * derivative * amine
        if ed.w_bound > 0:
            changes[syn.name] *= np.clip(1 - weights_before[syn.name] / ed.w_bound, 0, 1)
    return changes


@pytest.mark.parametrize("learning_mode, learn_factor, output_error, bias_rate, hidden_derivative, w_bound",
                         [("event", 1.0, "clipped", 0.0, "smoothed", 0.0),
                          ("dense", 1.0, "clipped", 120.0, "active", 0.0),
                          ("event", 0.25, "smoothed", 120.0, "active", 0.9)])
@pytest.mark.parametrize("input_activity", ["pixel", "count"])
def test_weight_change_matches_formula(input_activity, learning_mode, learn_factor, output_error, bias_rate,
                                       hidden_derivative, w_bound):
    # With "active", hidden units spread from near rest to tonic firing, so some stay silent.
    lif = TONIC if hidden_derivative == "smoothed" else replace(TONIC, I_bias_spread=2.0)
    config = NetworkConfig(
        hidden=(6, 4), n_classes=3, n_pixels=16, lif=lif,
        input=InputParams(sim_time=30.0),
        ed=EDParams(lr=0.2, dif=0.5, input_activity=input_activity, learning=learning_mode,
                    output_error=output_error, bias_rate=bias_rate, hidden_derivative=hidden_derivative,
                    w_bound=w_bound),
    )
    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 1, 16)
    pixels[:4] = 0  # black pixels: no update at all
    label = 1
    use_runtime("numpy")
    brian2.seed(11)
    net = with_initial_weights(build_network(config, pixels[None, :], one_trial_schedule(label, learn_factor)), config)
    before, counts = run_one_trial(net, config)
    assert counts["output"].sum() > 0 and counts["hidden_2"].sum() > 0, "the trial must make spikes"
    if bias_rate:  # regular firing: floor(120 Hz x 30 ms) = 3 spikes each, every trial
        np.testing.assert_array_equal(counts["bias"], [3, 3])
        assert [syn.name for syn in net.bias_synapses] == ["bias_to_hidden_1", "bias_to_hidden_2", "bias_to_output"]
    else:
        assert net.bias is None and not net.bias_synapses
    expected = expected_weight_change(config, net, counts, pixels, label, learn_factor, before)
    if hidden_derivative == "active":  # some hidden unit was silent, and learned nothing
        silent = [syn for syn in net.projections if syn.target.name.startswith("hidden")
                  and np.any(counts[syn.target.name][np.asarray(syn.j[:])] == 0)]
        assert silent and all(np.all(expected[syn.name][counts[syn.target.name][np.asarray(syn.j[:])] == 0] == 0)
                              for syn in silent)
    for syn in net.projections:
        change = np.asarray(syn.w[:]) - before[syn.name]
        np.testing.assert_allclose(change, expected[syn.name], rtol=1e-9, atol=1e-12, err_msg=syn.name)
        assert np.any(change > 0), f"{syn.name} did not learn"
    relay_to_hidden = net.synapses[0]
    # The per-trial learning statistics give the same mean |dw| (sample 1: trial 0),
    # before a soft bound scales it.
    mon = net.stats_monitor
    mean_dw = (mon.exc_activity[0, 1] * mon.fac_exc_total[0, 1]
               + mon.inh_activity[0, 1] * mon.fac_inh_total[0, 1]) / len(relay_to_hidden)
    change = np.asarray(relay_to_hidden.w[:]) - before[relay_to_hidden.name]
    if not w_bound:
        assert mean_dw == pytest.approx(np.abs(change).mean(), rel=1e-9)
    black = np.asarray(relay_to_hidden.i[:]) < 8
    assert np.all(relay_to_hidden.w[:][black] == before[relay_to_hidden.name][black])


@pytest.mark.parametrize("codegen", ["numpy", "cython"])
@pytest.mark.parametrize("input_activity", ["pixel", "count"])
def test_a_shifted_trial_shows_the_moved_image_and_learns_from_it(codegen, input_activity):
    config = NetworkConfig(
        hidden=(5,), n_classes=2, n_pixels=16, lif=TONIC, input=InputParams(sim_time=30.0, max_rate=400.0, max_shift=1),
        ed=EDParams(lr=0.2, input_activity=input_activity),
    )
    image = np.random.default_rng(4).uniform(0.3, 1, (4, 4))
    dx, dy = 1, -1  # one pixel right and one up: column 0 and row 3 show black
    moved = np.zeros((4, 4))
    moved[:3, 1:] = image[1:, :3]
    use_runtime(codegen)
    brian2.seed(5)
    net = with_initial_weights(build_network(config, image.reshape(1, 16), one_trial_schedule(1, shift=(dx, dy))),
                               config)
    before, counts = run_one_trial(net, config)
    per_pixel = counts["relay"].reshape(4, 4, 2).sum(axis=2)
    assert np.all(per_pixel[moved == 0] == 0) and np.all(per_pixel[moved > 0] > 0), per_pixel
    # About max_rate * T * value spikes per relay unit where the moved image is bright.
    assert np.corrcoef(per_pixel[moved > 0], moved[moved > 0])[0, 1] > 0.5
    expected = expected_weight_change(config, net, counts, moved.ravel(), 1, 1.0, before)
    for syn in net.projections:
        np.testing.assert_allclose(np.asarray(syn.w[:]) - before[syn.name], expected[syn.name],
                                   rtol=1e-9, atol=1e-12, err_msg=syn.name)


def test_training_trials_get_shifts_within_the_bound_and_test_trials_none():
    labels = np.arange(50) % 5
    plain = build_schedule(labels, labels[:8], epochs=2, rng=np.random.default_rng(3))
    shifted = build_schedule(labels, labels[:8], epochs=2, rng=np.random.default_rng(3), max_shift=2)
    assert plain.shift is None
    np.testing.assert_array_equal(shifted.image, plain.image)  # the same training orders
    for phase in shifted.phases:
        offsets = shifted.shift[phase.start : phase.stop]
        if phase.kind == "test":
            assert np.all(offsets == 0)
        else:  # every offset from -2 to 2 along both axes turns up in 50 trials
            assert set(offsets[:, 0]) == set(offsets[:, 1]) == {-2, -1, 0, 1, 2}
    np.testing.assert_array_equal(shifted.tail(30).shift, shifted.shift[30:])
    np.testing.assert_array_equal(shifted.head(30).shift, shifted.shift[:30])


def test_learning_rate_decays_per_epoch_and_test_trials_never_learn():
    schedule = build_schedule(np.arange(4) % 2, np.arange(3) % 2, epochs=3,
                              rng=np.random.default_rng(0), lr_decay=0.5)
    for phase in schedule.phases:
        factors = schedule.learn[phase.start:phase.stop]
        expected = 0.5 ** (phase.epoch - 1) if phase.kind == "train" else 0.0
        np.testing.assert_array_equal(factors, expected)


def test_a_smooth_schedule_anneals_trial_by_trial_and_every_copy_and_resumed_tail_agrees():
    from ed_brian.network import learn_table

    schedule = build_schedule(np.arange(4) % 2, np.arange(3) % 2, epochs=2, rng=np.random.default_rng(0),
                              lr_decay=0.25, smooth_decay=True)
    train_1, test_1, train_2, test_2 = schedule.phases
    np.testing.assert_allclose(schedule.learn[train_1.start:train_1.stop], 0.25 ** (np.arange(4) / 4))
    np.testing.assert_allclose(schedule.learn[train_2.start:train_2.stop], 0.25 ** (1 + np.arange(4) / 4))
    assert schedule.learn[train_2.start] == 0.25
    for phase in (test_1, test_2):
        np.testing.assert_array_equal(schedule.learn[phase.start:phase.stop], 0.0)
    # A packed copy with the schedule's own decay gets its factors bit for bit; another decay its own.
    table = learn_table(schedule, [0.25, 0.5])
    np.testing.assert_array_equal(table[:, 0], schedule.learn)
    np.testing.assert_allclose(table[train_2.start:train_2.stop, 1], 0.5 ** (1 + np.arange(4) / 4))
    # A resumed run's tail keeps each trial's place in the schedule.
    np.testing.assert_array_equal(learn_table(schedule.tail(6), [0.25])[:, 0], schedule.learn[6:])


def test_a_smooth_schedule_makes_lr_decay_act_in_a_one_epoch_run():
    data = band_dataset(30, 10)
    grown = {}
    for lr_schedule, lr_decay in (("epoch", 1.0), ("epoch", 0.2), ("smooth", 1.0), ("smooth", 0.2)):
        config = small_config(n_train=30, n_test=10, lr_schedule=lr_schedule, lr_decay=lr_decay)
        result = train(config, data)
        grown[lr_schedule, lr_decay] = np.concatenate([w.ravel() for w in result.weights.values()])
    # ED only grows magnitudes: with the factor annealed to 0.2 they grow less.
    np.testing.assert_array_equal(grown["epoch", 1.0], grown["epoch", 0.2])
    np.testing.assert_array_equal(grown["epoch", 1.0], grown["smooth", 1.0])
    assert grown["smooth", 0.2].sum() < grown["smooth", 1.0].sum()


def test_a_training_pool_is_drawn_afresh_every_epoch_with_the_right_labels():
    pool_labels, test_labels = np.arange(40) % 7, np.arange(5) % 3
    schedule = build_schedule(pool_labels, test_labels, epochs=4, rng=np.random.default_rng(2), per_epoch=10)
    table_labels = np.concatenate([pool_labels, test_labels])
    np.testing.assert_array_equal(schedule.label, table_labels[schedule.image])
    shown = []
    for phase in schedule.phases:
        rows = schedule.image[phase.start:phase.stop]
        if phase.kind == "test":
            np.testing.assert_array_equal(rows, 40 + np.arange(5))
        else:
            assert len(rows) == len(set(rows)) == 10 and rows.max() < 40
            shown.append(set(rows))
    assert len({frozenset(rows) for rows in shown}) == 4
    # Without a larger pool, an epoch is a permutation of the same images, as before.
    whole = build_schedule(pool_labels, test_labels, epochs=1, rng=np.random.default_rng(2))
    again = build_schedule(pool_labels, test_labels, epochs=1, rng=np.random.default_rng(2), per_epoch=40)
    np.testing.assert_array_equal(whole.image, again.image)
    assert sorted(whole.image[:40]) == list(range(40))


@pytest.mark.parametrize("lif_groups, bias_rate", [("layer", 0.0), ("one", 100.0)])
def test_event_driven_and_dense_learning_give_identical_runs(lif_groups, bias_rate):
    data = band_dataset(30, 10)
    runs = {}
    for mode in ("event", "dense"):
        config = small_config(hidden=(6, 4), n_train=30, n_test=10, epochs=2, seed=4, learning=mode,
                              bias_rate=bias_rate)
        runs[mode] = train(replace(config, network=replace(config.network, lif_groups=lif_groups)), data)
    np.testing.assert_array_equal(runs["event"].scores, runs["dense"].scores)
    for key, value in runs["dense"].weights.items():
        np.testing.assert_array_equal(runs["event"].weights[key], value, err_msg=key)


def test_learn_events_are_checked_only_at_trial_boundaries():
    """The learn event's threshold, reset and pathways tick with the trial clock, not at every step."""
    config = NetworkConfig(hidden=(6,), n_classes=3, n_pixels=16, ed=EDParams(learning="event", bias_rate=100.0))
    net = with_initial_weights(build_network(config, np.full((1, 16), 0.5), one_trial_schedule(0)), config)
    contained = [part for obj in net.network.objects for part in (obj, *obj.contained_objects)]
    learn_objects = {obj.name: obj.clock.name for obj in contained
                     if obj.name.endswith(("_learn_thresholder", "_learn_resetter", "_learning"))}
    # relay, hidden_1 and the bias units: threshold and reset; four learned projections.
    assert len(learn_objects) == 3 * 2 + 4, learn_objects
    assert set(learn_objects.values()) == {"trial_clock"}


@pytest.mark.parametrize("learning", ["event", "dense"])
def test_a_synapse_stores_its_weight_but_no_delay_of_its_own(learning):
    # Every pathway acts in the step of its event: a per-synapse delay would
    # add 8 bytes per synapse and pathway (64 MB per program at hidden 256).
    config = NetworkConfig(hidden=(4,), n_classes=2, n_pixels=16, ed=EDParams(learning=learning, bias_rate=100.0))
    use_runtime("numpy")
    net = with_initial_weights(build_network(config, np.full((1, 16), 0.8), one_trial_schedule(0)), config)
    pathways = [(syn, pathway) for syn in net.network.objects if isinstance(syn, brian2.Synapses)
                for pathway in syn._pathways]
    assert {syn.name for syn, _ in pathways} == {"poisson_to_relay", "relay_to_hidden_1", "hidden_1_to_output",
                                                  "bias_to_hidden_1", "bias_to_output"}
    assert len(pathways) == 5 + 4 * (learning == "event")
    for syn, pathway in pathways:
        delay = pathway.variables["delay"]
        assert delay.scalar and delay.size == 1, f"{syn.name}.{pathway.name}"
        assert float(delay.get_value()[0]) == 0.0
        floats_per_synapse = {name for name, var in syn.variables.items() if getattr(var, "dynamic", False)
                              and not var.scalar and np.issubdtype(var.dtype, np.floating)}
        assert floats_per_synapse == ({"w"} if syn in net.projections else set()), syn.name


def test_test_trials_do_not_change_weights():
    config = NetworkConfig(hidden=(4,), n_classes=2, n_pixels=16, input=InputParams(sim_time=20.0))
    use_runtime("numpy")
    brian2.seed(2)
    net = with_initial_weights(build_network(config, np.full((1, 16), 0.8), one_trial_schedule(0, learn=0)), config)
    before = net.weights()
    net.network.run(20 * ms + 1 * ms)
    after = net.weights()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])


def test_signs_follow_the_rule_after_training():
    config = small_config(hidden=(6, 4), epochs=2, n_train=30, n_test=10)
    result = train(config, band_dataset(30, 10))
    weights = result.weights
    H1, H2 = config.network.hidden
    projections = {
        # name: (type of pre unit by index, type of post unit by index)
        "relay_to_hidden_1": (lambda i: 1 - 2 * (i % 2), lambda j: 1 - 2 * ((j % H1) % 2)),
        "hidden_1_to_hidden_2": (lambda i: 1 - 2 * ((i % H1) % 2), lambda j: 1 - 2 * ((j % H2) % 2)),
        "hidden_2_to_output": (lambda i: 1 - 2 * ((i % H2) % 2), lambda j: np.ones_like(j)),
    }
    for name, (pre_type, post_type) in projections.items():
        i, j, w, sign = (weights[f"{name}/{f}"] for f in ("i", "j", "w", "sign"))
        assert np.all(w >= 0), name
        np.testing.assert_array_equal(sign, pre_type(i) * post_type(j), err_msg=name)
        assert np.all(np.isfinite(w)), name
        # Magnitudes only grow from their initial range.
        assert w.min() >= config.network.ed.w_min
    # Deeper projections stay inside each class network.
    K = config.network.n_classes
    i, j = weights["hidden_1_to_hidden_2/i"], weights["hidden_1_to_hidden_2/j"]
    np.testing.assert_array_equal(i // H1, j // H2)
    assert len(i) == K * H1 * H2
    i, j = weights["hidden_2_to_output/i"], weights["hidden_2_to_output/j"]
    np.testing.assert_array_equal(i // H2, j)


def test_drive_readout_scores_the_net_synaptic_input_of_the_trial():
    config = NetworkConfig(hidden=(6,), n_classes=3, n_pixels=16, lif=TONIC, input=InputParams(sim_time=30.0),
                           ed=EDParams(readout="drive"))
    use_runtime("numpy")
    brian2.seed(5)
    net = with_initial_weights(build_network(config, np.full((1, 16), 0.7), one_trial_schedule(0, learn=0)), config)
    hidden = net.layers[-2]
    spikes = SpikeMonitor(hidden, name="hidden_spikes")
    net.network.add(spikes)
    net.network.run(30 * ms + 1 * ms)
    syn = net.synapses[-1]
    i, j, w = np.asarray(syn.i[:]), np.asarray(syn.j[:]), np.asarray(syn.w[:])
    signed = np.asarray(hidden.ptype[:])[i] * w * float(syn.w_gain / brian2.mV)
    counts = np.bincount(np.asarray(spikes.i[:]), minlength=len(hidden))
    expected = np.bincount(j, weights=signed * counts[i], minlength=3)
    assert counts.sum() > 0
    np.testing.assert_allclose(net.score_monitor.score[:, 1], expected, rtol=1e-9)


@pytest.mark.parametrize("codegen", ["numpy", "cython"])
def test_sparse_input_follows_the_fixed_pattern_on_every_target(codegen):
    config = NetworkConfig(hidden=(8,), n_classes=3, n_pixels=16, input_fraction=0.3)
    use_runtime(codegen)
    brian2.seed(1)
    net = with_initial_weights(build_network(config, np.full((1, 16), 0.5), one_trial_schedule(0)), config)
    first = net.synapses[0]
    built = np.zeros((32, 24), dtype=bool)
    built[np.asarray(first.i[:]), np.asarray(first.j[:])] = True
    mask = input_mask(32, 24, 0.3)
    np.testing.assert_array_equal(built, mask)
    assert 0.2 < mask.mean() < 0.4 and mask.any(axis=0).all()  # every unit gets some input
    assert len(first) == expected_synapse_counts(config)["relay_to_hidden_1"]
    dense = NetworkConfig(hidden=(8,), n_classes=3, n_pixels=16)
    dense_first = with_initial_weights(build_network(dense, np.full((1, 16), 0.5), one_trial_schedule(0)), dense).synapses[0]
    assert float(first.w_gain[:]) == pytest.approx(float(dense_first.w_gain[:]) / 0.3)


def test_a_soft_bound_keeps_magnitudes_below_it_and_slows_their_growth():
    data = band_dataset(30, 10)
    free = train(small_config(n_train=30, n_test=10, lr=0.6), data)
    bounded = train(small_config(n_train=30, n_test=10, lr=0.6, w_bound=0.8), data)
    free_w, bounded_w = ([np.concatenate([w for key, w in result.weights.items() if key.endswith("/w")])
                          for result in (free, bounded)])
    assert free_w.max() > 0.8  # unbounded, some magnitudes pass the bound
    assert bounded_w.max() <= 0.8
    assert bounded_w.min() >= 0  # magnitudes, never signs
    assert 0.42 < bounded_w.mean() < free_w.mean()  # grown from U(0.3, 0.5), less than unbounded
    with pytest.raises(ConfigError, match="--w_bound"):
        small_config(w_bound=0.4).validate()


@pytest.mark.parametrize("lif_groups", ["layer", "one"])
def test_hidden_tonic_currents_spread_evenly_and_outputs_keep_theirs(lif_groups):
    lif = LIFParams(I_bias=0.7, I_bias_spread=0.4)
    config = NetworkConfig(hidden=(8, 6), n_classes=3, n_pixels=16, lif=lif, lif_groups=lif_groups)
    net = build_network(config, np.full((1, 16), 0.5), one_trial_schedule(0))
    for layer, size in zip(net.layers[1:-1], config.hidden):
        currents = np.asarray(layer.I_bias[:]) / 1e-9
        assert len(currents) == 3 * size
        assert 0.5 - 1e-9 <= currents.min() < 0.55 and 0.85 < currents.max() <= 0.9 + 1e-9
        # every class network, and either unit type within it, spans the range
        for network in currents.reshape(3, size):
            assert np.ptp(network) > 0.2 and np.ptp(network[0::2]) > 0.15 and np.ptp(network[1::2]) > 0.15
        assert abs(currents.mean() - 0.7) < 0.03
    np.testing.assert_allclose(np.asarray(net.layers[-1].I_bias[:]) / 1e-9, 0.7)
    with pytest.raises(ConfigError, match="--I_bias_spread"):
        LIFParams(I_bias=0.1, I_bias_spread=0.4).validate()
