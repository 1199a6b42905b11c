"""Error-Diffusion on a spiking network, in one file to read top to bottom.

This is the "Simple" version of the seed's three models: one hidden layer,
one learning rule, no options. It builds the same network as models/lif.py
with ``--hidden H --learning dense --input_activity pixel`` and gives the same
numbers (tests/test_simple.py checks it), so it can be read instead of the
general code. Run it with ``ed-brian train --model simple``.

The task: K classes, one small network per class. Each network sees the whole
image, has H hidden LIF units and one output LIF unit, and learns only from
how wrong its own output was.
"""

from __future__ import annotations

import numpy as np
from brian2 import (
    Clock,
    Hz,
    Mohm,
    Network,
    NeuronGroup,
    PoissonGroup,
    StateMonitor,
    Synapses,
    TimedArray,
    defaultclock,
    linked_var,
    ms,
    mV,
    nA,
    pcoulomb,
    second,
)


def build(config, pixel_table: np.ndarray, schedule):
    """The network for ``schedule`` over ``pixel_table``; returns ed_brian.network.EDNetwork."""
    from ed_brian.network import EDNetwork, learning_stats

    K, H = config.n_classes, config.hidden[0]
    lif, inp, ed = config.lif, config.input, config.ed
    T = inp.sim_time * ms  # one trial: one image, then learning
    defaultclock.dt = inp.dt * ms
    trial_clock = Clock(T, name="trial_clock")

    # Which image each trial shows, and (for the learning step at the start of
    # trial k) the label and the learning switch of trial k-1. Image k is row k
    # of `pixels`, looked up at time k seconds.
    previous = schedule.previous
    pixels = TimedArray(pixel_table, dt=1 * second, name="pixels")
    trial_image = TimedArray(schedule.image, dt=T, name="trial_image")
    prev_image = TimedArray(previous(schedule.image), dt=T, name="prev_image")
    prev_label = TimedArray(previous(schedule.label, fill=-1), dt=T, name="prev_label")
    prev_learn = TimedArray(previous(schedule.learn), dt=T, name="prev_learn")
    tables = {t.name: t for t in (pixels, trial_image, prev_image, prev_label, prev_learn)}
    namespace = dict(tables, max_rate=inp.max_rate * Hz)

    # Input: one Poisson source per pixel, firing at pixel * max_rate.
    poisson = PoissonGroup(784, rates="max_rate * pixels(trial_image(t) * second, i)",
                           name="poisson", namespace=namespace)

    # Every unit has a type (ptype: +1 excitatory, -1 inhibitory), a class
    # network, a spike count for the current trial, and the activity of the
    # last trial (split by type for the learning rule).
    unit = """
        ptype : 1 (constant)
        network : integer (constant)
        count : integer
        spikes_total : integer
        activity : 1
        act_exc : 1
        act_inh : 1
        n_ref : 1 (shared, constant)
        """

    # Kaneko duplicates every input: an excitatory and an inhibitory copy. Both
    # relay the same Poisson spikes, one step later. Their `activity` is what
    # the learning rule uses as x_j: the raw pixel value.
    relay = NeuronGroup(1568, unit + """
        pending : integer
        pixel : integer (constant)
        """, threshold="pending > 0", reset="pending = 0\ncount += 1\nspikes_total += 1",
        name="relay", namespace=namespace)
    relay.ptype = "1 - 2 * (i % 2)"
    relay.pixel = "i // 2"
    relay.network = -1
    relay.n_ref = inp.max_rate * (inp.sim_time - inp.dt) * 1e-3
    drive = Synapses(poisson, relay, on_pre="pending_post += 1", name="poisson_to_relay")
    drive.connect(j="2 * i + k for k in range(2)")

    # Hidden and output units: leaky integrate-and-fire neurons with a tonic
    # current that holds them just below threshold (the default I_bias).
    # The learning factors below are filled in at the end of every trial.
    # I_bias, lr and amine_gain are per unit, as in models/lif.py (where each
    # packed copy has its own), so that both models do the same arithmetic.
    neuron = unit + """
        dv/dt = (v_rest + R_m * I_bias - v) / tau_m : volt (unless refractory)
        v_rest : volt (shared, constant)
        v_threshold : volt (shared, constant)
        v_reset : volt (shared, constant)
        tau_m : second (shared, constant)
        tau_ref : second (shared, constant)
        R_m : ohm (shared, constant)
        I_bias : amp (constant)
        fac_exc : 1
        fac_inh : 1
        lr : 1 (constant)
        amine_gain : 1 (constant)
        """

    def lif_group(n, amine, name):
        group = NeuronGroup(n, neuron + amine, threshold="v > v_threshold",
                            reset="v = v_reset\ncount += 1\nspikes_total += 1",
                            refractory="tau_ref", method="exact", name=name, namespace=namespace)
        group.v_rest, group.v_threshold, group.v_reset = lif.v_rest * mV, lif.v_threshold * mV, lif.v_reset * mV
        group.tau_m, group.tau_ref = lif.tau_m * ms, lif.tau_ref * ms
        group.R_m, group.I_bias = lif.R_m * Mohm, lif.I_bias * nA
        group.v = "v_rest"
        group.lr = ed.lr
        group.n_ref = ed.activity_rate * inp.sim_time * 1e-3  # spikes that mean activity 1
        return group

    # The output unit n belongs to class n and is excitatory. It releases the
    # two amines: A+ when its activity is below the target, A- when above.
    output = lif_group(K, """
        amine_exc : 1
        amine_inh : 1
        score : 1
        """, "output")
    output.ptype, output.network, output.amine_gain = 1, "i", 1.0

    # Hidden units alternate E/I within each class network and read the
    # amines of their own class's output unit: that is the "diffusion".
    hidden = lif_group(K * H, """
        amine_exc : 1 (linked)
        amine_inh : 1 (linked)
        """, "hidden_1")
    hidden.ptype = f"1 - 2 * ((i % {H}) % 2)"
    hidden.network = f"i // {H}"
    hidden.amine_exc = linked_var(output, "amine_exc", index=np.repeat(np.arange(K), H))
    hidden.amine_inh = linked_var(output, "amine_inh", index=np.repeat(np.arange(K), H))
    hidden.amine_gain = 1.0  # one hidden layer: dif**0

    # Synapses keep a magnitude w >= 0; the sign is always ptype_pre * ptype_post
    # (E->E and I->I positive, E->I and I->E negative), so it cannot flip.
    # A spike moves v_post by R_m * q_syn * w / tau_m times that sign.
    w_gain = lif.R_m * Mohm * lif.q_syn * pcoulomb / (lif.tau_m * ms)
    synapses = []
    for pre, post in ((relay, hidden), (hidden, output)):
        syn = Synapses(pre, post, model="w : 1\nw_gain : volt (shared, constant)",
                       on_pre="v_post += w_gain * ptype_pre * ptype_post * w",
                       name=f"{pre.name}_to_{post.name}", namespace=namespace)
        if pre is relay:
            syn.connect()  # every pixel copy reaches every hidden unit of every class
        else:
            syn.connect(j="network_pre")  # a hidden unit reaches its own class's output only
        # Initial magnitudes ~ U(w1, w2) are drawn in NumPy and set by the trainer
        # (ed_brian.copies.initial_weights), the same on every device.
        syn.w_gain = w_gain
        synapses.append(syn)

    # The end of trial k-1 is the start of trial k. In this order:
    # 1. the output compares its activity (spike count / n_ref) with the target
    #    and releases the amines (zero on test trials, where prev_learn is 0);
    derivative = """
        s = (clip(count, 0, n_ref) + 0.5) / (n_ref + 1)
        fac_exc = lr * amine_gain * s * (1 - s) * amine_exc
        fac_inh = lr * amine_gain * s * (1 - s) * amine_inh
        """
    fresh_trial = """
        count = 0
        lastspike = -10000 * second
        not_refractory = True
        v = v_rest
        """
    output.run_regularly("""
        activity = clip(count / n_ref, 0, 1)
        score = count + clip((v - v_reset) / (v_threshold - v_reset), 0, 0.999)
        target = int(network == prev_label(t))
        amine_exc = prev_learn(t) * clip(target - activity, 0, inf)
        amine_inh = prev_learn(t) * clip(activity - target, 0, inf)
        """ + derivative + fresh_trial, clock=trial_clock, when="start", order=0, name="output_boundary")
    # 2. every unit computes its activity and its share of the update:
    #    f'(activity) times the amine its inputs of each type answer to;
    split = """
        act_exc = activity * int(ptype > 0)
        act_inh = activity * int(ptype < 0)
        """
    hidden.run_regularly("activity = clip(count / n_ref, 0, 1)\n" + derivative + split + fresh_trial,
                         clock=trial_clock, when="start", order=1, name="hidden_1_boundary")
    relay.run_regularly("activity = pixels(prev_image(t) * second, pixel)\n" + split + "count = 0\npending = 0",
                        clock=trial_clock, when="start", order=1, name="relay_boundary")
    # 3. every weight grows: dw = alpha * x_pre * f'(post) * (A+ if pre is E else A-).
    for syn in synapses:
        syn.run_regularly("w += act_exc_pre * fac_exc_post + act_inh_pre * fac_inh_post",
                          clock=trial_clock, when="start", order=2, name=f"{syn.name}_learning")

    # What the trainer reads after each trial: output scores and amines, and
    # (from the library) the sums that give the mean |dw| of the first projection.
    scores = StateMonitor(output, ["score", "amine_exc", "amine_inh"], record=True, clock=trial_clock,
                          when="start", order=1, name="output_scores")
    stats, stats_monitor = learning_stats(relay, hidden, trial_clock)

    network = Network(poisson, drive, relay, hidden, output, *synapses, scores, *stats, name="ed_network")
    return EDNetwork(network, [relay, hidden, output], synapses, scores, inp.steps_per_trial, tables, stats_monitor)
