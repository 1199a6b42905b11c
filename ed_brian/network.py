"""Assembles the Brian2 ``Network`` of the K class networks from a configuration.

Layers, each one ``NeuronGroup`` holding all K class networks:

    PoissonGroup (one source per pixel, or per relay unit)
      -> relay      2 * 784 units, E and I copy of every pixel, shared by all classes
      -> hidden_1   K * H_1 LIF units, types alternating E/I within a class
      -> ...
      -> output     K LIF units, all excitatory, unit n is class n

The relay projects to every first-layer unit; deeper layers connect only
within a class network. With ``bias_rate`` > 0, Kaneko's two bias units (E
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
from dataclasses import dataclass, field

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

from ed_brian import learning
from ed_brian.config import ConfigError, NetworkConfig
from ed_brian.models import lif
from ed_brian.schedule import Schedule


@dataclass
class EDNetwork:
    """The built network and handles to the parts the trainer reads."""

    network: Network
    layers: list  # relay, hidden_1..hidden_L, output (with lif_groups "one", Subgroups of one group)
    synapses: list[Synapses]  # layers[k] -> layers[k+1]
    score_monitor: StateMonitor  # output scores of trial k-1 at t = k*T
    trial_steps: int
    tables: dict[str, TimedArray]  # images and schedule, by name (run_args keys in standalone)
    stats_monitor: StateMonitor  # first-layer totals of trial k-1 at t = k*T, for mean |dw|
    bias: NeuronGroup | None = None  # Kaneko's bias units, when the config has them
    bias_synapses: list[Synapses] = field(default_factory=list)  # bias -> every hidden layer and the output

    @property
    def output(self) -> NeuronGroup:
        return self.layers[-1]

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
        return out

    def set_weights(self, weights: dict[str, np.ndarray], expected_counts: dict[str, int]) -> None:
        """Load magnitudes saved by ``weights()`` (any device) into this network.

        Synapses are created in the same order on every device, so the
        magnitude arrays line up; a checkpoint of another shape is refused.
        """
        check_weight_shapes(weights, expected_counts)
        for syn in self.projections:
            syn.w[:] = np.asarray(weights[f"{syn.name}/w"], dtype=float)

    def spike_totals(self) -> dict[str, np.ndarray]:
        return {layer.name: np.array(layer.spikes_total[:]) for layer in self.layers
                if "spikes_total" in layer.variables}


def layer_sizes(config: NetworkConfig) -> dict[str, int]:
    K = config.n_classes
    sizes = {"relay": 2 * config.n_pixels}
    sizes.update({f"hidden_{n}": K * size for n, size in enumerate(config.hidden, start=1)})
    sizes["output"] = K
    return sizes


# A fixed pseudo-random hash of (relay unit i, first-layer unit j) in [0, 1000):
# unit j receives relay unit i when the hash is below 1000 * input_fraction.
# Integer arithmetic below 2**31, so every code generation target agrees.
INPUT_HASH = "(((i * 31 + j * 17 + 7) % 9973) * ((i * 13 + j * 29 + 3) % 9973)) % 1000"


def input_threshold(fraction: float) -> int:
    return int(round(1000 * fraction))


def input_mask(n_relay: int, n_first: int, fraction: float) -> np.ndarray:
    """(n_relay, n_first) booleans: which relay units reach which first-layer units."""
    i, j = np.arange(n_relay)[:, None], np.arange(n_first)[None, :]
    return eval(INPUT_HASH, {}, {"i": i, "j": j}) < input_threshold(fraction)


def expected_synapse_counts(config: NetworkConfig) -> dict[str, int]:
    """Synapses per projection: the relay reaches every first-layer unit, deeper
    layers connect all-to-all within each class network."""
    names = list(layer_sizes(config))
    sizes = layer_sizes(config)
    K = config.n_classes
    counts = {}
    for pre, post in zip(names[:-1], names[1:]):
        per_class = sizes[post] // K
        if pre != "relay":
            counts[f"{pre}_to_{post}"] = sizes[pre] * per_class
        elif config.input_fraction < 1:
            counts[f"{pre}_to_{post}"] = int(input_mask(sizes[pre], sizes[post], config.input_fraction).sum())
        else:
            counts[f"{pre}_to_{post}"] = sizes[pre] * sizes[post]
    if config.ed.bias_rate > 0:
        counts.update({f"bias_to_{post}": 2 * sizes[post] for post in names[1:]})
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


def schedule_values(schedule: Schedule) -> dict[str, np.ndarray]:
    """The per-trial TimedArray values of ``schedule``, by TimedArray name."""
    return {
        "trial_image": schedule.image,
        "prev_image": schedule.previous(schedule.image),
        "prev_label": schedule.previous(schedule.label, fill=-1),
        "prev_learn": schedule.previous(schedule.learn),
    }


def time_tables(pixel_table: np.ndarray, schedule: Schedule, trial: object) -> dict:
    # Image k is row k of `pixels`, looked up at time k seconds: a table, not a signal.
    tables = {"pixels": TimedArray(pixel_table, dt=1 * second, name="pixels")}
    for name, values in schedule_values(schedule).items():
        tables[name] = TimedArray(values, dt=trial, name=name)
    return tables


def _learn_events(config: NetworkConfig, presynaptic: bool) -> dict | None:
    if config.ed.learning != "dense" and presynaptic:
        return {"learn": learning.LEARN_EVENT}
    return None


def _lif_group(n, config: NetworkConfig, amine: str, name: str, clock, namespace, presynaptic=True,
               learning_variables: str = lif.LEARNING_VARIABLES) -> NeuronGroup:
    p = config.lif
    group = NeuronGroup(
        n,
        lif.LIF_EQUATIONS + lif.UNIT_VARIABLES + learning_variables + amine,
        threshold=lif.LIF_THRESHOLD,
        reset=lif.LIF_RESET,
        refractory=lif.LIF_REFRACTORY,
        method="exact",
        events=_learn_events(config, presynaptic),
        clock=clock,
        name=name,
        namespace=namespace,
    )
    group.v_rest = p.v_rest * mV
    group.v_threshold = p.v_threshold * mV
    group.v_reset = p.v_reset * mV
    group.tau_m = p.tau_m * ms
    group.tau_ref = p.tau_ref * ms
    group.R_m = p.R_m * Mohm
    group.I_bias = p.I_bias * nA
    group.v = "v_rest"
    group.lr = config.ed.lr
    group.n_ref = config.ed.activity_rate * config.input.sim_time * 1e-3
    return group


# Every pathway acts in the step of its event. Given to the constructor, a
# delay is one shared value: no per-synapse delay array (8 bytes per synapse
# and pathway, in memory and in a standalone program's results), and
# brian2cuda compiles its constant-delay spike propagation.
NO_DELAY = 0 * ms


def _projection(pre, post, name: str, clock, trial_clock, namespace, mode: str) -> Synapses:
    """E/I synapses from ``pre`` to ``post`` with the ED update in ``mode`` 'event' or 'dense'."""
    on_pre = lif.OUTPUT_SYNAPSE_ON_PRE if post.name == "output" else lif.SYNAPSE_ON_PRE
    if mode != "dense":  # "event", or "auto" when no device chose
        syn = Synapses(
            pre, post, model=lif.SYNAPSE_MODEL,
            on_pre={"pre": on_pre, "learning": learning.SYNAPSE_UPDATE},
            on_event={"pre": "spike", "learning": "learn"},
            delay={"pre": NO_DELAY, "learning": NO_DELAY},
            clock=clock, name=name, namespace=namespace,
        )
        # Before this step's spike propagation, like the dense form at "start".
        syn.learning.order = syn.pre.order - 1
        return syn
    syn = Synapses(pre, post, model=lif.SYNAPSE_MODEL, on_pre=on_pre, delay=NO_DELAY,
                   clock=clock, name=name, namespace=namespace)
    syn.run_regularly(learning.SYNAPSE_UPDATE, clock=trial_clock, when="start",
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


def connect_class_networks(syn: Synapses, n_classes: int, ed, input_fraction: float = 1.0) -> None:
    """The relay reaches every unit of the next layer (or ``input_fraction`` of the
    relay reaches each, by INPUT_HASH); deeper layers connect within a class
    network only. Magnitudes start ~ U(w_min, w_max), drawn by Brian2."""
    if syn.source.name == "relay" and input_fraction < 1:
        syn.connect(condition=f"{INPUT_HASH} < {input_threshold(input_fraction)}")
    elif syn.source.name == "relay":
        syn.connect()
    else:
        size_post = len(syn.target) // n_classes
        syn.connect(j=f"k for k in range(network_pre * {size_post}, (network_pre + 1) * {size_post})")
    draw_magnitudes(syn, ed)


def draw_magnitudes(syn: Synapses, ed) -> None:
    """Initial magnitudes ~ U(w_min, w_max), from Brian2's random numbers."""
    syn.w = f"{ed.w_min} + {ed.w_max - ed.w_min} * rand()"


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

    groups = owning_groups([layer for layer in net.layers if "tau_m" in layer.variables])
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


def learning_stats(relay: NeuronGroup, first_hidden: NeuronGroup, trial_clock: Clock):
    """Objects that total, after every trial, what the mean |dw| of the first projection needs.

    sum_ij a_i f_j = (sum_E a)(sum fac_exc) + (sum_I a)(sum fac_inh): four sums,
    taken by summed variables at the trial boundary. Returns (objects, monitor).
    """
    stats = NeuronGroup(1, lif.STATS_EQUATIONS, clock=trial_clock, name="learning_stats")
    objects = [stats]
    for group, model in ((relay, lif.RELAY_TO_STATS), (first_hidden, lif.HIDDEN_TO_STATS)):
        link = Synapses(group, stats, model=model, clock=trial_clock, name=f"{group.name}_to_stats")
        link.connect()
        objects.append(link)
    monitor = StateMonitor(stats, ["exc_activity", "inh_activity", "fac_exc_total", "fac_inh_total"],
                           record=0, clock=trial_clock, when="end", name="learning_stats_monitor")
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
    source_rate = f"max_rate * pixels(trial_image(t) * second, {pixel_of_source})"
    linked = inp.relay_input == "linked"
    with _no_reset_warning():
        relay = NeuronGroup(
            n_relay,
            lif.LINKED_RELAY_EQUATIONS + lif.UNIT_STATE if linked else lif.RELAY_EQUATIONS + lif.UNIT_VARIABLES,
            threshold=lif.RELAY_THRESHOLD,
            reset=None if linked else lif.RELAY_RESET,
            events=_learn_events(config, presynaptic=True),
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


def lif_layers(config: NetworkConfig, gains: list[float], clock, namespace) -> tuple[list[NeuronGroup], NeuronGroup]:
    """A NeuronGroup per hidden layer and one for the outputs: (hidden, output).

    Hidden units read the amines of their class's output unit through linked variables.
    """
    K = config.n_classes
    output = _lif_group(K, config, lif.OUTPUT_AMINE, "output", clock, namespace, presynaptic=False)
    _set_output_types(output)
    hidden = []
    for number, (size, gain) in enumerate(zip(config.hidden, gains), start=1):
        group = _lif_group(K * size, config, lif.HIDDEN_AMINE, f"hidden_{number}", clock, namespace)
        _set_hidden_types(group, size)
        class_of_unit = np.repeat(np.arange(K), size)
        group.amine_exc = linked_var(output, "amine_exc", index=class_of_unit)
        group.amine_inh = linked_var(output, "amine_inh", index=class_of_unit)
        group.amine_gain = gain
        hidden.append(group)
    return hidden, output


def owning_groups(layers) -> list[NeuronGroup]:
    """The NeuronGroups that hold ``layers`` (a layer itself, or a Subgroup's group), each once, in order."""
    groups = (layer.source if isinstance(layer, Subgroup) else layer for layer in layers)
    # By name: a Subgroup's group is a weak proxy, which cannot be hashed.
    return list({group.name: group for group in groups}.values())


def _set_output_types(output) -> None:
    """Output unit n is excitatory, belongs to class n and gets its amine undiluted."""
    output.ptype = 1
    output.network = "i"
    output.amine_gain = 1.0


def _set_hidden_types(group, size: int) -> None:
    group.ptype = f"1 - 2 * ((i % {size}) % 2)"
    group.network = f"i // {size}"


def one_lif_group(config: NetworkConfig, gains: list[float], clock, trial_clock, namespace):
    """Every hidden and output unit in one NeuronGroup, each layer a named Subgroup.

    The same units, synapses and numbers as ``lif_layers``, with one state
    update, threshold and reset per time step for all layers. Returns (objects for
    the Network, hidden subgroups, output subgroup). An output unit keeps the
    amines it releases in release_exc/inh; a Synapses object per hidden layer
    copies them to that layer's units of the class at each trial boundary.
    """
    K = config.n_classes
    sizes = [K * size for size in config.hidden] + [K]
    # Each layer has its own amine factor: a per-unit constant here.
    per_unit_gain = lif.LEARNING_VARIABLES.replace("amine_gain : 1 (shared, constant)", "amine_gain : 1 (constant)")
    group = _lif_group(sum(sizes), config, lif.ONE_GROUP_AMINE, "lif_units", clock, namespace,
                       learning_variables=per_unit_gain)
    starts = np.cumsum([0, *sizes])
    layers = [Subgroup(group, start, stop, name=f"hidden_{number}")
              for number, (start, stop) in enumerate(zip(starts[:-2], starts[1:-1]), start=1)]
    output = Subgroup(group, starts[-2], starts[-1], name="output")
    _set_output_types(output)
    diffusion = []
    for layer, size, gain in zip(layers, config.hidden, gains):
        _set_hidden_types(layer, size)
        layer.amine_gain = gain
        link = Synapses(output, layer, clock=trial_clock, name=f"output_to_{layer.name}_amine")
        link.connect(j=f"k for k in range(i * {size}, (i + 1) * {size})")
        # After the output boundary has released the amines, before the hidden boundaries read them.
        link.run_regularly(lif.AMINE_DIFFUSION, clock=trial_clock, when="start", order=learning.ORDER_DIFFUSION,
                           name=f"output_to_{layer.name}_diffusion")
        diffusion.append(link)
    return [group, *layers, output, *diffusion], layers, output


def build_network(config: NetworkConfig, pixel_table: np.ndarray, schedule: Schedule) -> EDNetwork:
    """The whole network for ``schedule`` over ``pixel_table`` (images x 784, in [0, 1]).

    Call ``brian2.seed`` first: initial weights and Poisson spikes come from
    Brian2's random numbers, so that every device draws them the same way.
    """
    K, inp, ed = config.n_classes, config.input, config.ed
    trial = inp.sim_time * ms
    # One clock for the dynamics and one for the trial boundaries, shared by all.
    # The dynamics use defaultclock: brian2cuda's synapse code refers to it by name.
    clock = defaultclock
    clock.dt = inp.dt * ms
    trial_clock = Clock(trial, name="trial_clock")
    tables = time_tables(pixel_table, schedule, trial)
    namespace = dict(tables, max_rate=inp.max_rate * Hz)

    source_objects, relay = input_layer(config, clock, trial_clock, namespace)

    gains = learning.amine_gains(len(config.hidden), ed.dif, ed.diffusion)
    if config.lif_groups == "one":
        lif_objects, hidden, output = one_lif_group(config, gains, clock, trial_clock, namespace)
    else:
        hidden, output = lif_layers(config, gains, clock, namespace)
        lif_objects = [*hidden, output]

    layers = [relay, *hidden, output]
    synapses = []
    w_gain = synaptic_jump(config)
    for pre, post in zip(layers[:-1], layers[1:]):
        syn = _projection(pre, post, f"{pre.name}_to_{post.name}", clock, trial_clock, namespace, ed.learning)
        connect_class_networks(syn, K, ed, config.input_fraction)
        syn.w_gain = synaptic_jump(config, from_relay=pre is relay)
        synapses.append(syn)
    # Learn events belong to whole groups: with one LIF group, to that group.
    sources = [relay, *owning_groups(hidden)]
    bias, bias_objects, bias_synapses = None, [], []
    if ed.bias_rate > 0:
        bias = bias_units(config, clock, trial_clock, namespace)
        for post in layers[1:]:
            syn = _projection(bias, post, f"bias_to_{post.name}", clock, trial_clock, namespace, ed.learning)
            syn.connect()
            draw_magnitudes(syn, ed)
            syn.w_gain = w_gain
            bias_synapses.append(syn)
        bias_objects = [bias, *bias_synapses]
        sources = [*sources, bias]
    if ed.learning != "dense":
        for group in sources:
            group.run_on_event("learn", learning.AFTER_LEARN_EVENT)
        learn_events_on_trial_clock(sources, [*synapses, *bias_synapses], trial_clock)

    relay.run_regularly(
        learning.relay_boundary(ed.input_activity, inp.relay_input),
        clock=trial_clock,
        when="start",
        order=learning.ORDER_UNITS,
        name="relay_boundary",
    )
    for group in hidden:
        group.run_regularly(
            learning.HIDDEN_BOUNDARY, clock=trial_clock, when="start", order=learning.ORDER_UNITS, name=f"{group.name}_boundary"
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
    stats, stats_monitor = learning_stats(relay, hidden[0], trial_clock)
    network = Network(*source_objects, relay, *lif_objects, *synapses, *bias_objects, scores, *stats, name="ed_network")
    return EDNetwork(network, layers, synapses, scores, inp.steps_per_trial, tables, stats_monitor, bias,
                     bias_synapses)
