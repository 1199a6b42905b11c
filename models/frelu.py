"""The FReLU variant: spiking input, rate-coded hidden and output units.

As in the seed's ``ed_multi_frelu_snn``, only the input spikes: Poisson
sources drive the E/I relay of models/lif.py. Hidden and output layers are
rate units whose activity is computed once per trial, at the trial boundary,
from the relay's spike counts:

    u_i = sum_j s_j s_i w_ij x_j          (a summed variable of the Synapses)
    a_i = FReLU(u_i) = min(max(1/2 + u_i / (2 u0), 0), 1)

FReLU here is a ReLU shifted to 1/2 at u = 0 and clipped at 1: continuous,
bounded in [0, 1], with the slope 1/(2 u0) of Kaneko's sigmoid
1/(1 + exp(-2u/u0)) at its centre (u0 = --sig). The seed's code computed a
clipped function that jumps at 1; that form is not reproduced.

Learning is the same ED rule in the same generated code (dense form), with
Kaneko's derivative term a (1 - a), floored at 0.01 so that a unit clipped to
0 or 1 can come back. Everything runs at trial boundaries on the trial clock,
so the model runs on every device.
"""

from __future__ import annotations

import numpy as np
from brian2 import Clock, Hz, Network, NeuronGroup, PoissonGroup, StateMonitor, Synapses, defaultclock, linked_var, ms

from ed_brian import learning
from ed_brian.models import lif

RATE_UNIT = """
ptype : 1 (constant)
network : integer (constant)
u : 1                          # summed input of the trial
activity : 1
act_exc : 1
act_inh : 1
fac_exc : 1
fac_inh : 1
lr : 1 (shared, constant)
amine_gain : 1 (shared, constant)
u0 : 1 (shared, constant)      # FReLU slope parameter (--sig)
"""

# The summed input; the weight's sign is s_pre * s_post as everywhere.
RATE_SYNAPSE = """
w : 1
u_post = ptype_pre * ptype_post * w * rate_pre : 1 (summed)
"""

FRELU = "activity = clip(0.5 + u / (2 * u0), 0, 1)\n"
_FACTOR = """
slope = clip(activity * (1 - activity), 0.01, 1)
fac_exc = lr * amine_gain * slope * amine_exc
fac_inh = lr * amine_gain * slope * amine_inh
"""
_SPLIT = """
act_exc = activity * int(ptype > 0)
act_inh = activity * int(ptype < 0)
rate = activity
"""
OUTPUT_STEP = FRELU + """
score = activity
target = int(network == prev_label(t))
amine_exc = prev_learn(t, 0) * clip(target - activity, 0, inf)
amine_inh = prev_learn(t, 0) * clip(activity - target, 0, inf)
""" + _FACTOR


def build(config, pixel_table: np.ndarray, schedule):
    """The FReLU network for ``schedule``; returns ed_brian.network.EDNetwork."""
    from ed_brian.network import EDNetwork, connect_class_networks, learning_stats, time_tables

    K, inp, ed = config.n_classes, config.input, config.ed
    trial = inp.sim_time * ms
    defaultclock.dt = inp.dt * ms
    trial_clock = Clock(trial, name="trial_clock")
    tables = time_tables(pixel_table, schedule, trial)
    namespace = dict(tables, max_rate=inp.max_rate * Hz)

    # The spiking input, as in the LIF model; `rate` is its forward activity.
    poisson = PoissonGroup(config.n_pixels, rates="max_rate * pixels(trial_image(t) * second, i)",
                           name="poisson", namespace=namespace)
    relay = NeuronGroup(2 * config.n_pixels, lif.RELAY_EQUATIONS + lif.UNIT_VARIABLES + "rate : 1\n",
                        threshold=lif.RELAY_THRESHOLD, reset=lif.RELAY_RESET, name="relay", namespace=namespace)
    relay.ptype = "1 - 2 * (i % 2)"
    relay.pixel = "i // 2"
    relay.network = -1
    relay.n_ref = inp.max_rate * (inp.sim_time - inp.dt) * 1e-3
    drive = Synapses(poisson, relay, on_pre=lif.POISSON_TO_RELAY, name="poisson_to_relay")
    drive.connect(j="2 * i + k for k in range(2)")

    def rate_group(n, extra, name, gain):
        group = NeuronGroup(n, RATE_UNIT + extra, clock=trial_clock, name=name, namespace=namespace)
        group.lr, group.amine_gain, group.u0 = ed.lr, gain, ed.sig
        return group

    output = rate_group(K, lif.OUTPUT_AMINE, "output", 1.0)
    output.ptype, output.network = 1, "i"
    hidden = []
    gains = learning.amine_gains(len(config.hidden), ed.dif, ed.diffusion)
    for number, (size, gain) in enumerate(zip(config.hidden, gains), start=1):
        group = rate_group(K * size, lif.HIDDEN_AMINE + "rate : 1\n", f"hidden_{number}", gain)
        group.ptype = f"1 - 2 * ((i % {size}) % 2)"
        group.network = f"i // {size}"
        index = np.repeat(np.arange(K), size)
        group.amine_exc = linked_var(output, "amine_exc", index=index)
        group.amine_inh = linked_var(output, "amine_inh", index=index)
        hidden.append(group)

    # At t = k*T, in this order: the relay's counts of trial k-1 become rates;
    # each layer sums its input and applies FReLU; the output releases the
    # amines; every layer computes its update factors; every synapse learns.
    order = iter(range(100))
    relay.run_regularly("rate = clip(count / n_ref, 0, 1)\n" + learning.relay_boundary(ed.input_activity),
                        clock=trial_clock, when="start", order=next(order), name="relay_boundary")
    layers = [relay, *hidden, output]
    synapses = []
    for pre, post in zip(layers[:-1], layers[1:]):
        syn = Synapses(pre, post, model=RATE_SYNAPSE, clock=trial_clock, name=f"{pre.name}_to_{post.name}",
                       namespace=namespace)
        connect_class_networks(syn, K)
        summed = syn.summed_updaters["u_post"]
        summed.when, summed.order = "start", next(order)
        code = OUTPUT_STEP if post is output else FRELU + _SPLIT
        post.run_regularly(code, clock=trial_clock, when="start", order=next(order), name=f"{post.name}_forward")
        synapses.append(syn)
    for group in hidden:
        group.run_regularly(_FACTOR, clock=trial_clock, when="start", order=next(order), name=f"{group.name}_factor")
    learn_order = next(order)
    for syn in synapses:
        syn.run_regularly(learning.synapse_update(ed.w_bound), clock=trial_clock, when="start", order=learn_order,
                          name=f"{syn.name}_learning")

    scores = StateMonitor(output, ["score", "amine_exc", "amine_inh"], record=True, clock=trial_clock,
                          when="start", order=next(order), name="output_scores")
    stats, stats_monitor = learning_stats(relay, hidden[0], trial_clock)
    network = Network(poisson, drive, *layers, *synapses, scores, *stats, name="ed_network")
    return EDNetwork(network, layers, synapses, scores, inp.steps_per_trial, tables, stats_monitor)
