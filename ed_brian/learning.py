"""Kaneko's Error-Diffusion rule as Brian2 code, run at every trial boundary.

At t = k*T (T the trial duration) the spike counts of trial k-1 are complete.
Three ``run_regularly`` operations, in this order, then apply the rule:

1. the output units turn their counts into activities o_n, compare them with
   the target of trial k-1 and release the two amines
   A+ = max(t_n - o_n, 0) and A- = max(o_n - t_n, 0);
2. every other group computes its activity, its post-synaptic factor
   ``lr * gain * f'(a) * A`` (hidden units read the amines of their class's
   output unit through linked variables) and splits its activity by unit type;
   then counts and membranes are reset for trial k;
3. every ``Synapses`` object grows its magnitudes,
   ``w += a_pre * lr * gain * f'(a_post) * (A+ if pre is E else A-)``,
   which is Kaneko's dw = alpha x_j f'(z_i) s_j s_i A with the sign s_j s_i
   kept apart from the magnitude.

The schedule's ``prev_*`` TimedArrays describe trial k-1 at time k*T.
``prev_learn(t, copy)`` is that trial's learning factor for each packed copy
of the network: 0 on test trials, so both amines and every update are zero;
``lr_decay**(epoch-1)`` (the copy's lr_decay; with ``lr_schedule`` 'smooth',
``lr_decay**(epoch-1 + j/n)`` at the j-th of n training trials) on training trials. It scales
the amines released, and so every update of the trial. Every copy trains on
the same trials, so units shared by all copies read copy 0's column.

Activities: a = clip(count / n_ref, 0, 1), where n_ref is the count at the
layer's reference rate. f'(a) = s (1 - s) uses the smoothed estimate
s = (min(count, n_ref) + 1/2) / (n_ref + 1), so that a silent or saturated unit
still learns a little, as a sigmoid unit does.
"""

ORDER_OUTPUT = 0
ORDER_DIFFUSION = 1  # one LIF group: amines copied from output to hidden units
ORDER_UNITS = 2
ORDER_SYNAPSES = 3

_POST_FACTOR = """
smoothed = (clip(count, 0, n_ref) + 0.5) / (n_ref + 1)
fac_exc = lr * amine_gain * smoothed * (1 - smoothed) * amine_exc
fac_inh = lr * amine_gain * smoothed * (1 - smoothed) * amine_inh
"""

_PRE_SPLIT = """
act_exc = activity * int(ptype > 0)
act_inh = activity * int(ptype < 0)
learn_pending = int(prev_learn(t, 0) > 0)
"""

# What the prediction (argmax over output units) compares after a trial.
READOUTS = {
    # spike count; the membrane's progress towards the next spike breaks ties
    "count": "count + clip((v - v_reset) / (v_threshold - v_reset), 0, 0.999)",
    # the net synaptic input of the trial (mV), before the threshold's nonlinearity
    "drive": "drive / mV",
}

# The output activity the error is taken from.
ERROR_ACTIVITIES = {
    # o = min(count / n_ref, 1): a unit at 0 or n_ref spikes has no error left
    "clipped": "activity",
    # o = (min(count, n_ref) + 1/2) / (n_ref + 1), never exactly 0 or 1: like a
    # sigmoid unit, a correct output keeps asking for a larger margin
    "smoothed": "((clip(count, 0, n_ref) + 0.5) / (n_ref + 1))",
}


# READOUT and ERROR_ACTIVITY are filled in by output_boundary().
_OUTPUT_TEMPLATE = (
    """
activity = clip(count / n_ref, 0, 1)
score = READOUT
target = int(network % n_classes == prev_label(t))
amine_exc = prev_learn(t, copy) * clip(target - ERROR_ACTIVITY, 0, inf)
amine_inh = prev_learn(t, copy) * clip(ERROR_ACTIVITY - target, 0, inf)
"""
    + _POST_FACTOR
    + """
count = 0
drive = 0 * mV
lastspike = -10000 * second
not_refractory = True
v = v_rest
"""
)


def output_boundary(readout: str = "count", error: str = "clipped") -> str:
    """Boundary code of the output units for prediction ``readout`` (a READOUTS key)
    and the error taken from the ``error`` activity (an ERROR_ACTIVITIES key)."""
    code = _OUTPUT_TEMPLATE.replace("score = READOUT", f"score = {READOUTS[readout]}")
    return code.replace("ERROR_ACTIVITY", ERROR_ACTIVITIES[error])


# Activity from the trial's spike count, for every unit that has an n_ref.
COUNT_ACTIVITY = "activity = clip(count / n_ref, 0, 1)\n"

# Every trial starts from rest. Brian2 writes v only where not_refractory is
# true ("unless refractory"), so refractoriness is cleared before v is set.
HIDDEN_BOUNDARY = (
    COUNT_ACTIVITY
    + _POST_FACTOR
    + _PRE_SPLIT
    + """
count = 0
lastspike = -10000 * second
not_refractory = True
v = v_rest
"""
)


# The fixed random features (ed_brian.features): presynaptic to learned synapses
# only. Their units count spikes; the membranes of their pairs start from rest.
FEATURE_BOUNDARY = COUNT_ACTIVITY + _PRE_SPLIT + "count = 0\n"
FEATURE_MEMBRANE_BOUNDARY = """
lastspike = -10000 * second
not_refractory = True
v = v_rest
"""


def hidden_boundary(derivative: str = "smoothed") -> str:
    """Boundary code of the hidden units with f'(a) of ``derivative``.

    'smoothed': s(1 - s) for every unit, as a sigmoid's derivative, never 0;
    'active': the same for units that fired in the trial and 0 for silent ones,
    as a rectifier's derivative, so a unit learns only from the inputs that
    drive it.
    """
    if derivative == "smoothed":
        return HIDDEN_BOUNDARY
    gated = _POST_FACTOR.replace("* amine_exc", "* amine_exc * int(count > 0)").replace(
        "* amine_inh", "* amine_inh * int(count > 0)")
    return HIDDEN_BOUNDARY.replace(_POST_FACTOR, gated)


_RELAY_ACTIVITY = {
    # The seed: first-layer updates see the pixel value itself.
    "pixel": "activity = PIXEL\n",
    # The spike count, normalised by its expectation for a white pixel.
    "count": COUNT_ACTIVITY,
}
_PREVIOUS_PIXEL = "pixels(prev_image(t) * second, pixel)"


def relay_boundary(input_activity: str, relay_input: str = "synapses", previous_pixel: str = _PREVIOUS_PIXEL) -> str:
    """Boundary code of the input relay for ``input_activity`` 'pixel' or 'count'.

    'pixel' reads ``previous_pixel``, the expression for the unit's pixel in
    the trial that ended (moved as that trial showed it, with shifted images).
    With ``relay_input`` 'linked' the count and the pending spikes belong to
    the Poisson sources, which clear them after this (SOURCE_BOUNDARY); the
    relay, having no reset, adds the trial's count to its total here."""
    activity = _RELAY_ACTIVITY[input_activity].replace("PIXEL", previous_pixel)
    if relay_input == "linked":
        return activity + _PRE_SPLIT + "spikes_total += count\n"
    return activity + _PRE_SPLIT + "count = 0\npending = 0\n"


SOURCE_BOUNDARY = """
pending = 0
count = 0
"""


# The bias units' activity: their regular count over max_rate x trial, the pixels' scale.
BIAS_BOUNDARY = (
    COUNT_ACTIVITY
    + _PRE_SPLIT
    + """
count = 0
phase = 0
"""
)


_SYNAPSE_STEP = "act_exc_pre * fac_exc_post + act_inh_pre * fac_inh_post"
SYNAPSE_UPDATE = f"w += {_SYNAPSE_STEP}"


def synapse_update(w_bound: float = 0.0) -> str:
    """The magnitude update of every synapse; with ``w_bound`` > 0 a soft bound.

    ED only grows magnitudes, and on the full sets they grow about sevenfold in
    one epoch. The bound scales each step by (1 - w / w_bound), as soft-bounded
    (multiplicative) STDP does: growth slows as a weight nears w_bound and stops
    there. It reads the synapse's own magnitude only, so it stays local and runs
    in the event form. 0: unbounded (Kaneko, the seed).
    """
    if w_bound <= 0:
        return SYNAPSE_UPDATE
    return f"w += ({_SYNAPSE_STEP}) * clip(1 - w / {float(w_bound)!r}, 0, 1)"

# Event-driven form of the same update. A presynaptic unit that was active in
# a training trial emits a "learn" event at the boundary step, and only its
# synapses run SYNAPSE_UPDATE; everywhere else the update is zero anyway.
# Silent inputs (black pixels) and test trials then cost nothing. The event
# pathway runs before spike propagation in that step, as the dense
# run_regularly form does, so both give the same numbers.
LEARN_EVENT = "learn_pending > 0 and activity > 0"
AFTER_LEARN_EVENT = "learn_pending = 0"
LEARNING_MODES = ("event", "dense")


def amine_gains(n_hidden_layers: int, dif: float, diffusion: str) -> list[float]:
    """The amine factor of each hidden layer, first to last.

    'seed': layer l (1-based) of L gets dif**(L - l), as ed_multi_snn does;
    'uniform': every hidden layer gets dif, as in Kaneko's original.
    """
    if diffusion == "uniform":
        return [dif] * n_hidden_layers
    return [dif ** (n_hidden_layers - layer) for layer in range(1, n_hidden_layers + 1)]
