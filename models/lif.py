"""Equations of the fully spiking ED network.

Three kinds of unit, all Brian2 ``NeuronGroup``s:

- the input relay: two units per pixel, one excitatory and one inhibitory
  (Kaneko's duplicated inputs), each firing whenever its Poisson source does;
- hidden and output units: leaky integrate-and-fire neurons;
- every unit has a fixed type ``ptype`` (+1 E, -1 I) and belongs to one class
  network (``network``); the relay belongs to all of them.

Every synapse carries a magnitude ``w >= 0``; its effect has the fixed sign
``ptype_pre * ptype_post``, so learning, which only changes magnitudes, can
never flip it.
"""

# Variables of every unit that takes part in learning. The trial-boundary code
# in ed_brian.learning reads and writes them. The linked relay reads its
# count from its source (LINKED_RELAY_EQUATIONS) and takes UNIT_STATE alone.
TRIAL_COUNT = "count : integer                # spikes in the current trial\n"
UNIT_STATE = """
ptype : 1 (constant)           # +1 excitatory, -1 inhibitory
network : integer (constant)   # class network of the unit
spikes_total : integer         # spikes since the start, for firing-rate reports
activity : 1                   # normalised count of the last trial, in [0, 1]
act_exc : 1                    # activity if excitatory, else 0
act_inh : 1                    # activity if inhibitory, else 0
n_ref : 1 (shared, constant)   # count that means activity 1
learn_pending : integer        # 1 from a training trial's boundary until the unit's updates ran
"""
UNIT_VARIABLES = TRIAL_COUNT + UNIT_STATE

# Postsynaptic side of the ED update: units that receive learned synapses.
# Learning rate and diffusion factor are per unit: each packed copy of the
# network (ed_brian.copies) has its own.
LEARNING_VARIABLES = """
fac_exc : 1                    # update factor for synapses from E units
fac_inh : 1                    # update factor for synapses from I units
lr : 1 (constant)              # learning rate alpha of the unit's copy
amine_gain : 1 (constant)      # diffusion factor of the amine reaching the unit's layer
copy : integer (constant)      # which packed copy of the network the unit belongs to
"""

OUTPUT_AMINE = """
amine_exc : 1                  # A+ = max(target - output, 0)
amine_inh : 1                  # A- = max(output - target, 0)
score : 1                      # what the prediction compares (see ed_brian.learning.READOUTS)
drive : volt                   # net synaptic input received in the current trial
"""

# Hidden units read the amine of their class's output unit.
HIDDEN_AMINE = """
amine_exc : 1 (linked)
amine_inh : 1 (linked)
"""

# All LIF layers in one group: every unit has the output's variables, and
# hidden units receive their class's amines at each trial boundary from a
# synapse of their class's output unit (AMINE_DIFFUSION) instead of through
# linked variables, which a Subgroup cannot hold.
ONE_GROUP_AMINE = """
release_exc : 1                # A+ released by an output unit
release_inh : 1                # A- released by an output unit
amine_exc : 1                  # A+ of the unit's class, diffused to a hidden unit
amine_inh : 1                  # A- of the unit's class, diffused to a hidden unit
score : 1                      # output units: see ed_brian.learning.READOUTS
drive : volt                   # output units: net synaptic input of the trial
"""
AMINE_DIFFUSION = """
amine_exc_post = release_exc_pre
amine_inh_post = release_inh_pre
"""

LIF_EQUATIONS = """
dv/dt = (v_rest + R_m * I_bias - v) / tau_m : volt (unless refractory)
v_rest : volt (shared, constant)
v_threshold : volt (shared, constant)
v_reset : volt (shared, constant)
tau_m : second (shared, constant)
tau_ref : second (shared, constant)
R_m : ohm (shared, constant)
I_bias : amp (constant)        # per unit: each packed copy has its own
"""
LIF_THRESHOLD = "v > v_threshold"
LIF_RESET = """
v = v_reset
count += 1
spikes_total += 1
"""
LIF_REFRACTORY = "tau_ref"

# The relay fires in the step after its Poisson source spiked.
RELAY_EQUATIONS = """
pending : integer              # Poisson spikes received in the last step
pixel : integer (constant)     # which pixel this unit relays
"""
RELAY_THRESHOLD = "pending > 0"
RELAY_RESET = """
pending = 0
count += 1
spikes_total += 1
"""
POISSON_TO_RELAY = "pending_post += 1"

# The linked form of the same relay: each Poisson source keeps its spike of
# the step in ``pending``, which the relay's threshold reads. The source draws
# at the end of every step from the same random numbers as a PoissonGroup
# (rand() < rates * dt); a relay unit that has just fired drops the spike, as
# the reset above does. Before drawing, the source counts the spike its relay
# units fired in this step (its last ``pending``), so the relay needs no reset:
# on a GPU, one kernel fewer per step. The relay adds the trial's count to
# ``spikes_total`` at the trial boundary.
LINKED_RELAY_EQUATIONS = """
pending : integer (linked)     # its Poisson source's spike of the last step
count : integer (linked)       # spikes in the current trial, counted by its source
pixel : integer (constant)     # which pixel this unit relays
"""
# The feature layer's units (ed_brian.features): the E and I unit of a feature
# pair get the same input, so one LIF membrane per pair (FEATURE_MEMBRANE_RESET,
# LIF_EQUATIONS otherwise) integrates it, and both units read it through a
# linked variable: they cross its threshold in the same step, the membrane
# resets itself, and the relay's spikes reach N membranes instead of 2N units.
FEATURE_UNIT_EQUATIONS = """
v : volt (linked)              # the membrane of the unit's feature pair
v_threshold : volt (shared, constant)
v_reset : volt (shared, constant)
"""
FEATURE_UNIT_RESET = """
count += 1
spikes_total += 1
"""
FEATURE_MEMBRANE_RESET = "v = v_reset"

POISSON_SOURCE_EQUATIONS = """
rates = RATE : Hz
pending : integer              # 1 if the source spiked in this step and its relay did not
count : integer                # spikes of its relay units in the current trial
"""
POISSON_SOURCE_DRAW = """
count += pending
pending = int(rand() < rates * dt) * int(pending == 0)
"""

# Kaneko's bias units: one excitatory and one inhibitory constant source shared
# by all class networks, reaching every hidden and output unit through learned
# synapses like any other input. Here they fire regularly at bias_rate, so a
# unit's learned bias arrives as spikes, and their activity is the same in
# every trial.
BIAS_EQUATIONS = """
dphase/dt = bias_rate : 1      # fires at phase 1, so at bias_rate, from phase 0 at every trial start
bias_rate : Hz (shared, constant)
"""
BIAS_THRESHOLD = "phase >= 1"
BIAS_RESET = """
phase -= 1
count += 1
spikes_total += 1
"""

SYNAPSE_MODEL = """
w : 1                             # magnitude, never negative
w_gain : volt (shared, constant)  # R_m * q_syn / tau_m of the target layer
"""
SYNAPSE_ON_PRE = "v_post += w_gain * ptype_pre * ptype_post * w"
# Onto a feature pair's membrane, which is its E unit's: s_post = +1.
FIXED_SYNAPSE_ON_PRE = "v_post += w_gain * ptype_pre * w"
# Synapses onto the output units also total the input of the trial.
OUTPUT_SYNAPSE_ON_PRE = SYNAPSE_ON_PRE + "\ndrive_post += w_gain * ptype_pre * ptype_post * w"

# Per-trial totals for the learning statistics (one unit, updated at trial
# boundaries through summed variables).
STATS_EQUATIONS = """
exc_activity : 1               # sum of the relay's E activities
inh_activity : 1               # sum of the relay's I activities
fac_exc_total : 1              # sum of the first hidden layer's E update factors
fac_inh_total : 1              # sum of the first hidden layer's I update factors
"""
RELAY_TO_STATS = """
exc_activity_post = act_exc_pre : 1 (summed)
inh_activity_post = act_inh_pre : 1 (summed)
"""
HIDDEN_TO_STATS = """
fac_exc_total_post = fac_exc_pre : 1 (summed)
fac_inh_total_post = fac_inh_pre : 1 (summed)
"""
