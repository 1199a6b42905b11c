"""Assembles the Brian2 ``Network`` of the K class networks from a configuration.

Layers, each one ``NeuronGroup`` holding all K class networks:

    PoissonGroup (one source per pixel, or per relay unit)
      -> relay      2 * 784 units, E and I copy of every pixel, shared by all classes
     (-> features   2 * N LIF units, fixed random projections, shared by all classes)
      -> hidden_1   K * H_1 LIF units, types alternating E/I within a class
      -> ...
      -> output     K LIF units, all excitatory, unit n is class n

The relay (or, with ``features`` N > 0, the fixed random feature layer of
ed_brian.features) projects to every first-layer unit; deeper layers connect
only within a class network. With ``bias_rate`` > 0, Kaneko's two bias units (E
and I, firing regularly) reach every hidden and output unit. The ED rule is
attached here from ed_brian.learning.

Two options build the same network with fewer code objects per time step
(for GPUs, which this network keeps busy with launches rather than work):
``relay_input='linked'`` replaces the PoissonGroup and its Synapses by
sources whose draws the relay reads through a linked variable, and
``lif_groups='one'`` puts every hidden and output unit in one NeuronGroup,
each layer a Subgroup. Both give the same numbers as the plain form.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
from brian2 import (
    Clock,
    Subgroup,
    defaultclock,
    Hz,
    Mohm,
    Network,
    NeuronGroup,
    PoissonGroup,
    StateMonitor,
    Synapses,
    TimedArray,
    linked_var,
    ms,
    mV,
    nA,
    pcoulomb,
    second,
)

from ed_brian import features as feature_layer_math
from ed_brian import learning
from ed_brian.config import ConfigError, NetworkConfig
from ed_brian.models import lif
from ed_brian.schedule import Schedule, image_pixel


@dataclass
class EDNetwork:
    """The built network and handles to the parts the trainer reads."""

    network: Network
    layers: list  # relay, [features,] hidden_1..hidden_L, output (with lif_groups "one", Subgroups of one group)
    synapses: list[Synapses]  # the learned chain: layers[k] -> layers[k+1] from the relay or the features on
    score_monitor: StateMonitor  # output scores of trial k-1 at t = k*T
    trial_steps: int
    tables: dict[str, TimedArray]  # images and schedule, by name (run_args keys in standalone)
    stats_monitor: StateMonitor  # first-layer totals of trial k-1 at t = k*T, for mean |dw|
    bias: NeuronGroup | None = None  # Kaneko's bias units, when the config has them
    bias_synapses: list[Synapses] = field(default_factory=list)  # bias -> every hidden layer and the output
    feature_synapses: Synapses | None = None  # relay -> features, fixed, with a feature layer
    feature_calibration: dict = field(default_factory=dict)  # features/seed, smoothing, theta, scale, once set
    config: NetworkConfig | None = None  # what it was built from

    @property
    def output(self) -> NeuronGroup:
        return self.layers[-1]

    @property
    def learning_layers(self) -> list:
        """The layers that receive learned synapses: hidden_1..hidden_L, output."""
        return self.layers[2:] if self.feature_synapses is not None else self.layers[1:]

    @property
    def unit_groups(self) -> list[NeuronGroup]:
        """The layers, then the bias units if any."""
        return [*self.layers, *([self.bias] if self.bias is not None else [])]

    @property
    def projections(self) -> list[Synapses]:
        """Every learned projection: the layer chain, then the bias projections."""
        return [*self.synapses, *self.bias_synapses]

    def weights(self) -> dict[str, np.ndarray]:
        """Magnitudes, indices and signs of every projection, keyed by its name."""
        out = {}
        for syn in self.projections:
            pre, post = syn.source, syn.target
            # Copies: Brian2 hands out views of arrays that die with the network.
            i, j = np.array(syn.i[:]), np.array(syn.j[:])
            out[f"{syn.name}/i"] = i
            out[f"{syn.name}/j"] = j
            out[f"{syn.name}/w"] = np.array(syn.w[:])
            out[f"{syn.name}/sign"] = (pre.ptype[:][i] * post.ptype[:][j]).astype(np.int8)
        out.update({key: np.array(value) for key, value in self.feature_calibration.items()})
        return out

    def weight_values(self, weights: dict[str, np.ndarray]) -> list[tuple[object, str, np.ndarray]]:
        """What loading ``weights`` sets, as (group or synapses, variable, values): every learned
        magnitude and, with a feature layer, its fixed magnitudes and tonic currents."""
        values = [(syn, "w", np.asarray(weights[f"{syn.name}/w"], dtype=float)) for syn in self.projections]
        if self.feature_synapses is not None:
            config = self.config
            feature_layer_math.check_calibration(weights, config)
            calibration = {key: weights[key] for key in feature_layer_math.KEYS}
            values.append((self.feature_synapses, "w", feature_layer_math.fixed_magnitudes(config, calibration)))
            values.append((self.feature_synapses.target, "I_bias",
                           feature_layer_math.tonic_currents(config, calibration) * nA))
            self.feature_calibration = calibration
        return values

    def set_weights(self, weights: dict[str, np.ndarray], expected_counts: dict[str, int]) -> None:
        """Load magnitudes saved by ``weights()`` (any device) into this network (with a
        feature layer, also the calibration they carry).

        Synapses are created in the same order on every device, so the
        magnitude arrays line up; a checkpoint of another shape is refused.
        """
        check_weight_shapes(weights, expected_counts)
        for owner, name, values in self.weight_values(weights):
            setattr(owner, name, values)

    def spike_totals(self) -> dict[str, np.ndarray]:
        return {layer.name: np.array(layer.spikes_total[:]) for layer in self.layers
                if "spikes_total" in layer.variables}


# Layers every class network and packed copy reads; the class networks' own layers follow them.
SHARED_LAYERS = ("relay", "features")


def layer_sizes(config: NetworkConfig) -> dict[str, int]:
    """Units per layer of one network (packed copies repeat every layer but the shared ones)."""
    K = config.n_classes
    sizes = {"relay": 2 * config.n_pixels}
    if config.features:
        sizes["features"] = 2 * config.features
    sizes.update({f"hidden_{n}": K * size for n, size in enumerate(config.hidden, start=1)})
    sizes["output"] = K
    return sizes


# A fixed pseudo-random hash of (relay unit i, first-layer unit j) in [0, 1000):
# unit j receives relay unit i when the hash is below 1000 * input_fraction.
# Integer arithmetic below 2**31, so every code generation target agrees.
INPUT_HASH = "(((i * 31 + j * 17 + 7) % 9973) * ((i * 13 + j * 29 + 3) % 9973)) % 1000"


def input_hash(units_per_copy: int) -> str:
    """INPUT_HASH of a packed first layer: every copy has the pattern of a single network."""
    return INPUT_HASH.replace("j", f"(j % {units_per_copy})")


def input_threshold(fraction: float) -> int:
    return int(round(1000 * fraction))


def input_mask(n_relay: int, n_first: int, fraction: float) -> np.ndarray:
    """(n_relay, n_first) booleans: which relay units reach which first-layer units."""
    i, j = np.arange(n_relay)[:, None], np.arange(n_first)[None, :]
    return eval(INPUT_HASH, {}, {"i": i, "j": j}) < input_threshold(fraction)


def learned_pairs(config: NetworkConfig) -> list[tuple[str, str]]:
    """(pre, post) layer names of every learned projection of the chain: all consecutive
    layers but relay -> features, which is fixed."""
    names = list(layer_sizes(config))
    return [(pre, post) for pre, post in zip(names[:-1], names[1:]) if post != "features"]


def fixed_synapse_count(config: NetworkConfig) -> int:
    """Synapses that never learn: relay -> feature membranes, a pixel to each feature pair."""
    return config.features * config.n_pixels


def expected_synapse_counts(config: NetworkConfig, copies: int = 1) -> dict[str, int]:
    """Learned synapses per projection: the relay (or the features) reaches every
    first-layer unit, deeper layers connect all-to-all within each class network;
    ``copies`` times that for packed copies."""
    if copies != 1:
        return {name: copies * count for name, count in expected_synapse_counts(config).items()}
    sizes = layer_sizes(config)
    K = config.n_classes
    counts = {}
    for pre, post in learned_pairs(config):
        per_class = sizes[post] // K
        if pre not in SHARED_LAYERS:
            counts[f"{pre}_to_{post}"] = sizes[pre] * per_class
        elif pre == "relay" and config.input_fraction < 1:
            counts[f"{pre}_to_{post}"] = int(input_mask(sizes[pre], sizes[post], config.input_fraction).sum())
        else:
            counts[f"{pre}_to_{post}"] = sizes[pre] * sizes[post]
    if config.ed.bias_rate > 0:
        counts.update({f"bias_to_{post}": 2 * sizes[post] for _, post in learned_pairs(config)})
    return counts


def check_weight_shapes(weights: dict[str, np.ndarray], expected_counts: dict[str, int]) -> None:
    """ConfigError unless ``weights`` has every projection with the expected number of magnitudes >= 0."""
    for name, count in expected_counts.items():
        key = f"{name}/w"
        if key not in weights:
            raise ConfigError(f"the weights file has no projection {name!r}: it is from another network shape")
        w = np.asarray(weights[key], dtype=float)
        if len(w) != count:
            raise ConfigError(
                f"the weights file has {len(w)} synapses in {name}, this network has {count}: "
                "it is from another network shape"
            )
        if np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ConfigError(f"the weights file has negative or non-finite magnitudes in {name}")


def learn_table(schedule: Schedule, decays=None) -> np.ndarray:
    """(trials, copies) learning factors: 0 on test trials, ``decay**progress`` on
    training trials (Schedule.learn_factors), a column per copy's lr_decay (None: the schedule's own)."""
    if decays is None:
        return schedule.learn[:, None]
    # The schedule's own expression, so that one copy gives schedule.learn exactly.
    return np.stack([schedule.learn_factors(decay) for decay in decays], axis=1)


def schedule_values(schedule: Schedule, decays=None, shifts: bool = False) -> dict[str, np.ndarray]:
    """The per-trial TimedArray values of ``schedule``, by TimedArray name; ``prev_learn``
    has a column per copy (``decays``: each copy's lr_decay). With ``shifts`` also
    each trial's image offsets (``trial_dx`` ... ``prev_dy``; 0 where the schedule has none)."""
    values = {
        "trial_image": schedule.image,
        "prev_image": schedule.previous(schedule.image),
        "prev_label": schedule.previous(schedule.label, fill=-1),
        "prev_learn": np.concatenate([np.zeros((1, len(decays) if decays else 1)), learn_table(schedule, decays)]),
    }
    if shifts:
        offsets = np.zeros((schedule.n_trials, 2), dtype=np.int64) if schedule.shift is None else schedule.shift
        for axis, name in enumerate(("dx", "dy")):
            values[f"trial_{name}"] = offsets[:, axis]
            values[f"prev_{name}"] = schedule.previous(offsets[:, axis])
    return values


def time_tables(pixel_table: np.ndarray, schedule: Schedule, trial: object, decays=None, shifts: bool = False) -> dict:
    # Image k is row k of `pixels`, looked up at time k seconds: a table, not a signal.
    tables = {"pixels": TimedArray(pixel_table, dt=1 * second, name="pixels")}
    for name, values in schedule_values(schedule, decays, shifts).items():
        tables[name] = TimedArray(values, dt=trial, name=name)
    return tables


def shown_pixel(config: NetworkConfig, when: str, pixel: str) -> str:
    """The expression for ``pixel`` of the image of the ``when`` trial ('trial' or
    'prev'), moved by that trial's offsets when the run shifts its images."""
    shift = (f"{when}_dx(t)", f"{when}_dy(t)") if config.input.max_shift else None
    return image_pixel(f"{when}_image(t)", pixel, config.image_side, shift)


def _learn_events(config: NetworkConfig, presynaptic: bool) -> dict | None:
    if config.ed.learning != "dense" and presynaptic:
        return {"learn": learning.LEARN_EVENT}
    return None


def _set_lif_constants(group: NeuronGroup, p, tau_m: float) -> None:
    """LIF constants of ``p`` (LIFParams) with membranes of ``tau_m`` ms, and v at rest."""
    group.v_rest = p.v_rest * mV
    group.v_threshold = p.v_threshold * mV
    group.v_reset = p.v_reset * mV
    group.tau_m = tau_m * ms
    group.tau_ref = p.tau_ref * ms
    group.R_m = p.R_m * Mohm
    group.v = "v_rest"


def _lif_group(n, config: NetworkConfig, amine: str | None, name: str, clock, namespace, presynaptic=True) -> NeuronGroup:
    """LIF units with the config's constants; ``amine`` None: units whose input does not learn."""
    p = config.lif
    learning_part = "" if amine is None else lif.LEARNING_VARIABLES + amine
    group = NeuronGroup(
        n,
        lif.LIF_EQUATIONS + lif.UNIT_VARIABLES + learning_part,
        threshold=lif.LIF_THRESHOLD,
        reset=lif.LIF_RESET,
        refractory=lif.LIF_REFRACTORY,
        method="exact",
        events=_learn_events(config, presynaptic),
        clock=clock,
        name=name,
        namespace=namespace,
    )
    _set_lif_constants(group, p, p.tau_m)
    group.n_ref = config.ed.activity_rate * config.input.sim_time * 1e-3
    return group


GOLDEN_RATIO = (1 + 5 ** 0.5) / 2


def tonic_offsets(units: int, spread: float) -> np.ndarray:
    """Offsets (nA) of ``units`` hidden units' tonic currents: spread * (frac(k * golden ratio) - 1/2).

    A fixed low-discrepancy pattern rather than random draws: any run of
    consecutive units (a class network, a unit type) covers the range evenly,
    and every run, copy and device gets the same pattern without an RNG."""
    return spread * (np.modf(np.arange(units) * GOLDEN_RATIO)[0] - 0.5)


def set_copy_values(layer, copies: list[NetworkConfig], units_per_copy: int, gains: list[float],
                    spread: float = 0.0) -> None:
    """Give ``layer`` (a group or Subgroup of ``len(copies)`` blocks of units) each
    copy's learning rate, tonic current (spread by ``spread`` nA, see tonic_offsets)
    and amine factor (``gains``, per copy)."""
    per_unit = lambda values: np.repeat(np.asarray(values, dtype=float), units_per_copy)
    layer.copy = np.repeat(np.arange(len(copies)), units_per_copy)
    layer.lr = per_unit([c.ed.lr for c in copies])
    offsets = np.tile(tonic_offsets(units_per_copy, spread), len(copies))
    layer.I_bias = (per_unit([c.lif.I_bias for c in copies]) + offsets) * nA
    layer.amine_gain = per_unit(gains)


# Every pathway acts in the step of its event. Given to the constructor, a
# delay is one shared value: no per-synapse delay array (8 bytes per synapse
# and pathway, in memory and in a standalone program's results), and
# brian2cuda compiles its constant-delay spike propagation.
NO_DELAY = 0 * ms


def _projection(pre, post, name: str, clock, trial_clock, namespace, mode: str, w_bound: float = 0.0) -> Synapses:
    """E/I synapses from ``pre`` to ``post`` with the ED update in ``mode`` 'event' or 'dense'
    (soft-bounded at ``w_bound`` when that is > 0)."""
    update = learning.synapse_update(w_bound)
    on_pre = lif.OUTPUT_SYNAPSE_ON_PRE if post.name == "output" else lif.SYNAPSE_ON_PRE
    if mode != "dense":  # "event", or "auto" when no device chose
        syn = Synapses(
            pre, post, model=lif.SYNAPSE_MODEL,
            on_pre={"pre": on_pre, "learning": update},
            on_event={"pre": "spike", "learning": "learn"},
            delay={"pre": NO_DELAY, "learning": NO_DELAY},
            clock=clock, name=name, namespace=namespace,
        )
        # Before this step's spike propagation, like the dense form at "start".
        syn.learning.order = syn.pre.order - 1
        return syn
    syn = Synapses(pre, post, model=lif.SYNAPSE_MODEL, on_pre=on_pre, delay=NO_DELAY,
                   clock=clock, name=name, namespace=namespace)
    syn.run_regularly(update, clock=trial_clock, when="start",
                      order=learning.ORDER_SYNAPSES, name=f"{name}_learning")
    return syn


def learn_events_on_trial_clock(sources, synapses, trial_clock: Clock) -> None:
    """Check, propagate and reset the learn event only at trial boundaries.

    The event can only fire in a boundary step: its condition reads
    ``learn_pending`` and ``activity``, which change only there. Brian2 gives
    an event's threshold, reset and pathway their group's clock, so they would
    run, idle, at every step (on a GPU, kernel launches at every step). The
    trial clock ticks in the same boundary steps, so the order of the step's
    slots, and with it every number, stays the same. Brian2 has no argument
    for this clock; it reads ``_clock`` when it schedules an object.
    """
    for group in sources:
        group.thresholder["learn"]._clock = trial_clock
        group.resetter["learn"]._clock = trial_clock
    for syn in synapses:
        syn.learning._clock = trial_clock


def connect_class_networks(syn: Synapses, n_networks: int, input_fraction: float = 1.0, copies: int = 1) -> None:
    """The relay reaches every unit of the next layer (or ``input_fraction`` of the
    relay reaches each, by INPUT_HASH, the same pattern in every copy); deeper
    layers connect within a class network only (``n_networks``: classes times
    copies). Initial magnitudes are set by the trainer (ed_brian.copies)."""
    if syn.source.name == "relay" and input_fraction < 1:
        syn.connect(condition=f"{input_hash(len(syn.target) // copies)} < {input_threshold(input_fraction)}")
    elif syn.source.name in SHARED_LAYERS:
        syn.connect()
    else:
        size_post = len(syn.target) // n_networks
        syn.connect(j=f"k for k in range(network_pre * {size_post}, (network_pre + 1) * {size_post})")


def synaptic_jump(config: NetworkConfig, from_relay: bool = False):
    """``w_gain``: the jump of v (volt) per unit of weight, R_m * q_syn / tau_m.

    A sparser input keeps the mean drive of a dense one: from the relay,
    divided by ``input_fraction``.
    """
    gain = config.lif.R_m * Mohm * config.lif.q_syn * pcoulomb / (config.lif.tau_m * ms)
    return gain / config.input_fraction if from_relay else gain


# LIF parameters that a built network can change (Trainer.set_parameters):
# Config name -> (group variable, unit of the stored number).
LIF_SETTABLE = {"v_rest": ("v_rest", mV), "v_threshold": ("v_threshold", mV), "v_reset": ("v_reset", mV),
                "tau_m": ("tau_m", ms), "tau_ref": ("tau_ref", ms), "R_m": ("R_m", Mohm), "I_bias": ("I_bias", nA),
                "q_syn": (None, pcoulomb)}


def set_lif_parameters(net: "EDNetwork", config: NetworkConfig, names) -> None:
    """Give the LIF layers of a built network ``config``'s values of ``names``, and
    every projection the ``w_gain`` they imply: the network ``build`` makes from ``config``."""
    from ed_brian.config import ConfigError

    # The feature layer keeps the constants it was calibrated with.
    groups = owning_groups([layer for layer in net.learning_layers if "tau_m" in layer.variables])
    if not groups:
        raise ConfigError("this model has no LIF hidden or output units to change")
    for name in names:
        variable, unit = LIF_SETTABLE[name]
        if variable is not None:
            for group in groups:
                setattr(group, variable, getattr(config.lif, name) * unit)
    for syn in net.projections:
        if "w_gain" in syn.variables:
            syn.w_gain = synaptic_jump(config, from_relay=syn.source.name == "relay")


def bias_units(config: NetworkConfig, clock, trial_clock, namespace) -> NeuronGroup:
    """Kaneko's constant sources: unit 0 excitatory, unit 1 inhibitory, in no class network."""
    inp = config.input
    bias = NeuronGroup(
        2,
        lif.BIAS_EQUATIONS + lif.UNIT_VARIABLES,
        threshold=lif.BIAS_THRESHOLD,
        reset=lif.BIAS_RESET,
        method="euler",  # exact for a constant derivative
        events=_learn_events(config, presynaptic=True),
        clock=clock,
        name="bias",
        namespace=namespace,
    )
    bias.ptype = "1 - 2 * i"
    bias.network = -1
    bias.bias_rate = config.ed.bias_rate * Hz
    # Activity on the pixels' scale: a bias unit at max_rate counts as a white pixel.
    bias.n_ref = inp.max_rate * inp.sim_time * 1e-3
    bias.run_regularly(learning.BIAS_BOUNDARY, clock=trial_clock, when="start", order=learning.ORDER_UNITS,
                       name="bias_boundary")
    return bias


def learning_stats(relay: NeuronGroup, first_hidden: NeuronGroup, trial_clock: Clock, copies: int = 1):
    """Objects that total, after every trial, what the mean |dw| of the first learned projection needs
    (``relay``: its presynaptic layer, the relay or the features).

    sum_ij a_i f_j = (sum_E a)(sum fac_exc) + (sum_I a)(sum fac_inh): four sums,
    taken by summed variables at the trial boundary, one unit per packed copy.
    Returns (objects, monitor).
    """
    stats = NeuronGroup(copies, lif.STATS_EQUATIONS, clock=trial_clock, name="learning_stats")
    objects = [stats]
    for group, model in ((relay, lif.RELAY_TO_STATS), (first_hidden, lif.HIDDEN_TO_STATS)):
        link = Synapses(group, stats, model=model, clock=trial_clock, name=f"{group.name}_to_stats")
        # The relay is every copy's; a hidden unit belongs to one.
        link.connect() if group is relay or copies == 1 else link.connect(j="copy_pre")
        objects.append(link)
    monitor = StateMonitor(stats, ["exc_activity", "inh_activity", "fac_exc_total", "fac_inh_total"],
                           record=True, clock=trial_clock, when="end", name="learning_stats_monitor")
    return [*objects, monitor], monitor


@contextmanager
def _no_reset_warning():
    """Brian2 warns of a threshold without a reset, which the linked relay has by design."""
    log = logging.getLogger("brian2.groups.neurongroup.only_threshold")
    was, log.disabled = log.disabled, True
    try:
        yield
    finally:
        log.disabled = was


def feature_layer(config: NetworkConfig, relay: NeuronGroup, clock, trial_clock, namespace) -> tuple[NeuronGroup, NeuronGroup, Synapses]:
    """The fixed random feature layer (ed_brian.features): (features, their membranes, relay -> membranes).

    ``features`` is the layer the class networks learn from: 2N units, unit 2f
    the E and 2f+1 the I unit of feature f, shared by every class network.
    Both units of a pair get the same input, so one LIF membrane per pair
    (``feature_membranes``, N units) integrates it and both read it through a
    linked variable: they fire together, when it crosses threshold. The fixed
    synapses' magnitudes and the membranes' tonic currents come from the
    calibration that ``EDNetwork.set_weights`` loads.
    """
    membranes = NeuronGroup(
        config.features,
        lif.LIF_EQUATIONS,
        threshold=lif.LIF_THRESHOLD,
        reset=lif.FEATURE_MEMBRANE_RESET,
        refractory=lif.LIF_REFRACTORY,
        method="exact",
        clock=clock,
        name="feature_membranes",
        namespace=namespace,
    )
    p = config.lif
    _set_lif_constants(membranes, p, config.feature_tau_m)
    membranes.run_regularly(learning.FEATURE_MEMBRANE_BOUNDARY, clock=trial_clock, when="start",
                            order=learning.ORDER_UNITS, name="feature_membranes_boundary")
    features = NeuronGroup(
        2 * config.features,
        lif.FEATURE_UNIT_EQUATIONS + lif.UNIT_VARIABLES,
        threshold=lif.LIF_THRESHOLD,
        reset=lif.FEATURE_UNIT_RESET,  # counts only: the membrane resets itself
        events=_learn_events(config, presynaptic=True),
        clock=clock,
        name="features",
        namespace=namespace,
    )
    features.v = linked_var(membranes, "v", index=np.arange(2 * config.features) // 2)
    features.v_threshold = p.v_threshold * mV
    features.v_reset = p.v_reset * mV
    features.ptype = "1 - 2 * (i % 2)"
    features.network = -1
    features.n_ref = config.ed.activity_rate * config.input.sim_time * 1e-3
    features.run_regularly(learning.FEATURE_BOUNDARY, clock=trial_clock, when="start", order=learning.ORDER_UNITS,
                           name="features_boundary")
    fixed = Synapses(relay, membranes, model=lif.SYNAPSE_MODEL, on_pre=lif.FIXED_SYNAPSE_ON_PRE, delay=NO_DELAY,
                     clock=clock, name="relay_to_feature_membranes", namespace=namespace)
    # The order set_weights loads the magnitudes in.
    i, j = feature_layer_math.synapse_indices(config)
    fixed.connect(i=i, j=j)
    fixed.w_gain = synaptic_jump(replace(config, lif=replace(config.lif, tau_m=config.feature_tau_m)))
    return features, membranes, fixed


def input_layer(config: NetworkConfig, clock, trial_clock, namespace) -> tuple[list, NeuronGroup]:
    """The Poisson sources and the relay, E and I unit of every pixel: (source objects, relay).

    A relay unit fires in the step after its source spiked, unless it fired in
    that step itself. With ``relay_input`` 'synapses' the spikes of a
    ``PoissonGroup`` reach it through ``Synapses``; with 'linked' each source
    draws its spike into a variable that the relay's threshold reads through a
    linked variable, and counts the spikes its relay units fire, so the relay
    has no reset. Both draw the same random numbers in the same order, so they
    give the same spikes; 'linked' runs no spike propagation and no relay reset
    (on a GPU, three kernels and a device-to-host copy fewer per step).
    """
    inp = config.input
    n_relay = 2 * config.n_pixels
    n_sources = config.n_pixels if inp.shared_ei_trains else n_relay
    pixel_of_source = "i" if inp.shared_ei_trains else "i // 2"
    source_rate = f"max_rate * {shown_pixel(config, 'trial', pixel_of_source)}"
    linked = inp.relay_input == "linked"
    with _no_reset_warning():
        relay = NeuronGroup(
            n_relay,
            lif.LINKED_RELAY_EQUATIONS + lif.UNIT_STATE if linked else lif.RELAY_EQUATIONS + lif.UNIT_VARIABLES,
            threshold=lif.RELAY_THRESHOLD,
            reset=None if linked else lif.RELAY_RESET,
            # With a feature layer the relay's synapses are fixed: no learn events.
            events=_learn_events(config, presynaptic=not config.features),
            clock=clock,
            name="relay",
            namespace=namespace,
        )
    relay.ptype = "1 - 2 * (i % 2)"
    relay.pixel = "i // 2"
    relay.network = -1
    # A relay unit fires one step after its source, so it sees T - dt of input.
    relay.n_ref = inp.max_rate * (inp.sim_time - inp.dt) * 1e-3
    if linked:
        sources = NeuronGroup(n_sources, lif.POISSON_SOURCE_EQUATIONS.replace("RATE", source_rate),
                              clock=clock, name="poisson", namespace=namespace)
        # At the end of the step: the relay has read this step's pending spike.
        sources.run_regularly(lif.POISSON_SOURCE_DRAW, clock=clock, when="end", name="poisson_draw")
        # After the relay's boundary has read the trial's count.
        sources.run_regularly(learning.SOURCE_BOUNDARY, clock=trial_clock, when="start",
                              order=learning.ORDER_SYNAPSES, name="poisson_boundary")
        source_of_relay = np.arange(n_relay) // (n_relay // n_sources)
        relay.pending = linked_var(sources, "pending", index=source_of_relay)
        relay.count = linked_var(sources, "count", index=source_of_relay)
        return [sources], relay
    poisson = PoissonGroup(n_sources, rates=source_rate, clock=clock, name="poisson", namespace=namespace)
    drive = Synapses(poisson, relay, on_pre=lif.POISSON_TO_RELAY, delay=NO_DELAY, clock=clock,
                     name="poisson_to_relay")
    if inp.shared_ei_trains:
        drive.connect(j="2 * i + k for k in range(2)")
    else:
        drive.connect(j="i")
    return [poisson, drive], relay


def lif_layers(config: NetworkConfig, copies: list[NetworkConfig], gains: list[list[float]], clock,
               namespace) -> tuple[list[NeuronGroup], NeuronGroup]:
    """A NeuronGroup per hidden layer and one for the outputs: (hidden, output).

    Hidden units read the amines of their class's output unit through linked
    variables. ``gains[c][l]``: copy c's amine factor of hidden layer l.
    """
    K, C = config.n_classes, len(copies)
    output = _lif_group(C * K, config, lif.OUTPUT_AMINE, "output", clock, namespace, presynaptic=False)
    _set_output_types(output)
    set_copy_values(output, copies, K, [1.0] * C)
    hidden = []
    for number, size in enumerate(config.hidden, start=1):
        group = _lif_group(C * K * size, config, lif.HIDDEN_AMINE, f"hidden_{number}", clock, namespace)
        _set_hidden_types(group, size)
        network_of_unit = np.repeat(np.arange(C * K), size)
        group.amine_exc = linked_var(output, "amine_exc", index=network_of_unit)
        group.amine_inh = linked_var(output, "amine_inh", index=network_of_unit)
        set_copy_values(group, copies, K * size, [g[number - 1] for g in gains], config.lif.I_bias_spread)
        hidden.append(group)
    return hidden, output


def owning_groups(layers) -> list[NeuronGroup]:
    """The NeuronGroups that hold ``layers`` (a layer itself, or a Subgroup's group), each once, in order."""
    groups = (layer.source if isinstance(layer, Subgroup) else layer for layer in layers)
    # By name: a Subgroup's group is a weak proxy, which cannot be hashed.
    return list({group.name: group for group in groups}.values())


def _set_output_types(output) -> None:
    """Output unit n is excitatory and belongs to class network n (class n % K of copy n // K)."""
    output.ptype = 1
    output.network = "i"


def _set_hidden_types(group, size: int) -> None:
    group.ptype = f"1 - 2 * ((i % {size}) % 2)"
    group.network = f"i // {size}"


def one_lif_group(config: NetworkConfig, copies: list[NetworkConfig], gains: list[list[float]], clock,
                  trial_clock, namespace):
    """Every hidden and output unit in one NeuronGroup, each layer a named Subgroup.

    The same units, synapses and numbers as ``lif_layers``, with one state
    update, threshold and reset per time step for all layers. Returns (objects for
    the Network, hidden subgroups, output subgroup). An output unit keeps the
    amines it releases in release_exc/inh; a Synapses object per hidden layer
    copies them to that layer's units of the class at each trial boundary.
    """
    K, C = config.n_classes, len(copies)
    sizes = [C * K * size for size in config.hidden] + [C * K]
    group = _lif_group(sum(sizes), config, lif.ONE_GROUP_AMINE, "lif_units", clock, namespace)
    starts = np.cumsum([0, *sizes])
    layers = [Subgroup(group, start, stop, name=f"hidden_{number}")
              for number, (start, stop) in enumerate(zip(starts[:-2], starts[1:-1]), start=1)]
    output = Subgroup(group, starts[-2], starts[-1], name="output")
    _set_output_types(output)
    set_copy_values(output, copies, K, [1.0] * C)
    diffusion = []
    for number, (layer, size) in enumerate(zip(layers, config.hidden)):
        _set_hidden_types(layer, size)
        set_copy_values(layer, copies, K * size, [g[number] for g in gains], config.lif.I_bias_spread)
        link = Synapses(output, layer, clock=trial_clock, name=f"output_to_{layer.name}_amine")
        link.connect(j=f"k for k in range(i * {size}, (i + 1) * {size})")
        # After the output boundary has released the amines, before the hidden boundaries read them.
        link.run_regularly(lif.AMINE_DIFFUSION, clock=trial_clock, when="start", order=learning.ORDER_DIFFUSION,
                           name=f"output_to_{layer.name}_diffusion")
        diffusion.append(link)
    return [group, *layers, output, *diffusion], layers, output


def build_network(config: NetworkConfig, pixel_table: np.ndarray, schedule: Schedule,
                  copies: list[NetworkConfig] | None = None) -> EDNetwork:
    """The whole network for ``schedule`` over ``pixel_table`` (images x 784, in [0, 1]).

    ``copies``: the NetworkConfig of each packed copy (default: ``config``
    alone). They share ``config``'s shape, input and LIF constants and differ in
    ed_brian.config.COPY_PARAMETERS; unit blocks of copy c follow those of
    copy c-1 in every hidden and output layer, and all copies read one relay.

    Call ``brian2.seed`` first: the Poisson spikes come from Brian2's random
    numbers, so that every device draws them the same way. The synapses start
    at zero; the trainer sets their initial magnitudes.
    """
    copies = copies or [config]
    K, C, inp, ed = config.n_classes, len(copies), config.input, config.ed
    trial = inp.sim_time * ms
    # One clock for the dynamics and one for the trial boundaries, shared by all.
    # The dynamics use defaultclock: brian2cuda's synapse code refers to it by name.
    clock = defaultclock
    clock.dt = inp.dt * ms
    trial_clock = Clock(trial, name="trial_clock")
    # One network learns with the schedule's own factors; packed copies each with their lr_decay.
    tables = time_tables(pixel_table, schedule, trial, [c.ed.lr_decay for c in copies] if len(copies) > 1 else None,
                         shifts=bool(inp.max_shift))
    namespace = dict(tables, max_rate=inp.max_rate * Hz, n_classes=K)

    source_objects, relay = input_layer(config, clock, trial_clock, namespace)
    features, feature_synapses, first = None, None, relay  # first: the first learned projection's source
    if config.features:
        features, feature_membranes, feature_synapses = feature_layer(config, relay, clock, trial_clock, namespace)
        first = features

    gains = [learning.amine_gains(len(config.hidden), c.ed.dif, c.ed.diffusion) for c in copies]
    if config.lif_groups == "one":
        lif_objects, hidden, output = one_lif_group(config, copies, gains, clock, trial_clock, namespace)
    else:
        hidden, output = lif_layers(config, copies, gains, clock, namespace)
        lif_objects = [*hidden, output]

    chain = [first, *hidden, output]  # the layers joined by learned projections
    layers = [relay, *chain] if features is not None else chain
    synapses = []
    w_gain = synaptic_jump(config)
    for pre, post in zip(chain[:-1], chain[1:]):
        syn = _projection(pre, post, f"{pre.name}_to_{post.name}", clock, trial_clock, namespace, ed.learning, ed.w_bound)
        connect_class_networks(syn, C * K, config.input_fraction, C)
        syn.w_gain = synaptic_jump(config, from_relay=pre is relay)
        synapses.append(syn)
    # Learn events belong to whole groups: with one LIF group, to that group.
    sources = [first, *owning_groups(hidden)]
    bias, bias_objects, bias_synapses = None, [], []
    if ed.bias_rate > 0:
        bias = bias_units(config, clock, trial_clock, namespace)
        for post in chain[1:]:
            syn = _projection(bias, post, f"bias_to_{post.name}", clock, trial_clock, namespace, ed.learning, ed.w_bound)
            syn.connect()
            syn.w_gain = w_gain
            bias_synapses.append(syn)
        bias_objects = [bias, *bias_synapses]
        sources = [*sources, bias]
    if ed.learning != "dense":
        for group in sources:
            group.run_on_event("learn", learning.AFTER_LEARN_EVENT)
        learn_events_on_trial_clock(sources, [*synapses, *bias_synapses], trial_clock)

    relay.run_regularly(
        learning.relay_boundary(ed.input_activity, inp.relay_input, shown_pixel(config, "prev", "pixel")),
        clock=trial_clock,
        when="start",
        order=learning.ORDER_UNITS,
        name="relay_boundary",
    )
    for group in hidden:
        group.run_regularly(
            learning.hidden_boundary(ed.hidden_derivative), clock=trial_clock, when="start", order=learning.ORDER_UNITS, name=f"{group.name}_boundary"
        )
    # With one LIF group the output's amines are its own release_exc/inh.
    released = "release" if config.lif_groups == "one" else "amine"
    output_code = learning.output_boundary(ed.readout, ed.output_error)
    output_code = output_code.replace("amine_exc", f"{released}_exc").replace("amine_inh", f"{released}_inh")
    output.run_regularly(output_code, clock=trial_clock, when="start", order=learning.ORDER_OUTPUT, name="output_boundary")
    scores = StateMonitor(
        output, ["score", f"{released}_exc", f"{released}_inh"], record=True, clock=trial_clock, when="start",
        order=learning.ORDER_UNITS, name="output_scores",
    )
    stats, stats_monitor = learning_stats(first, hidden[0], trial_clock, C)
    feature_objects = [features, feature_membranes, feature_synapses] if features is not None else []
    network = Network(*source_objects, relay, *feature_objects, *lif_objects, *synapses, *bias_objects, scores,
                      *stats, name="ed_network")
    return EDNetwork(network, layers, synapses, scores, inp.steps_per_trial, tables, stats_monitor, bias,
                     bias_synapses, feature_synapses, config=config)
