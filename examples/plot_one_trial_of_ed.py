r"""
One trial of Error-Diffusion learning
=====================================

What the ED rule does in a single training trial: a fresh network sees one
training image for one trial, its output units release two "amines" (A+ when
an output fired too little, A- when it fired too much), and every synapse of
each class network grows by

.. math::

    \Delta w = \alpha \, x_\mathrm{pre} \, f'(a_\mathrm{post}) \,
    \begin{cases} A^+ & \text{pre is excitatory} \\ A^- & \text{pre is inhibitory} \end{cases}

(Kaneko's rule, with the sign ``s_pre * s_post`` kept apart from the magnitude
``w``, so magnitudes only grow and no weight changes sign). This example
recomputes every weight change of the trial from the recorded spike counts and
the pixel values, in NumPy, and checks it against what the Brian2 network did.
"""

# %%
# A fresh network
# ---------------
# :func:`ed_brian.build` builds the network of a run, ready to run trial by
# trial; trial 0 of its schedule is the first (shuffled) training image. We copy
# every projection's magnitudes before it runs, and record the spikes of every
# layer with our own monitors.

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from brian2 import SpikeMonitor

import ed_brian
from ed_brian.learning import amine_gains

FULL = os.environ.get("ED_BRIAN_EXAMPLES_FULL") == "1"
OUT = Path("results/examples/one_trial_of_ed")
OUT.mkdir(parents=True, exist_ok=True)

config = ed_brian.Config(hidden=128 if FULL else 32, train=200, test=100, epochs=2)
data = ed_brian.load_data(config)
sim = ed_brian.build(config, data)

monitors = {name: SpikeMonitor(group, name=f"spikes_of_{name}") for name, group in sim.layers.items()}
sim.add(*monitors.values())
before = {name: np.array(syn.w[:]) for name, syn in sim.projections.items()}

# %%
# Run one trial
# -------------
# ``run_trials(1)`` simulates the trial and stops one time step into the next
# one, right after the trial's learning step has run.

sim.run_trials(1)
after = {name: np.array(syn.w[:]) for name, syn in sim.projections.items()}
dw = {name: after[name] - before[name] for name in sim.projections}

K = config.network.n_classes
label = int(sim.schedule.label[0])
learn = float(sim.schedule.learn[0])  # learning factor of trial 0: lr_decay**(epoch - 1)
start, end = sim.trial_window(0)


def trial_counts(name):
    """Spikes of every unit of layer ``name`` in trial 0, from our monitor."""
    mon = monitors[name]
    in_trial = (mon.t[:] >= start) & (mon.t[:] < end)
    return np.bincount(np.asarray(mon.i[:])[in_trial], minlength=len(sim.layers[name]))


counts = {name: trial_counts(name) for name in sim.layers}
print(f"trial 0: image of class {label} ({data.class_names[label]}), learning factor {learn:g}")
print("output spike counts:", counts["output"].tolist())
print("predicted class:", int(sim.predictions(0, 1)[0]))

# %%
# The two amines of every class
# -----------------------------
# The output activity is the spike count over ``n_ref``, the count at the
# reference rate (``activity_rate`` x trial), clipped at 1. The target is 1 for
# the image's class and 0 for the others.

output = sim.layers["output"]
n_ref = float(np.asarray(output.n_ref[:]).item())
o = np.minimum(counts["output"] / n_ref, 1.0)
target = (np.arange(K) == label).astype(float)
amines_expected = np.stack([learn * np.maximum(target - o, 0), learn * np.maximum(o - target, 0)], axis=-1)
amines = sim.amines(0, 1)[0]  # (K, 2): A+ and A- released after trial 0
print("A+ per class:", np.round(amines[:, 0], 3).tolist())
print("A- per class:", np.round(amines[:, 1], 3).tolist())
amine_difference = np.abs(amines - amines_expected).max()
print(f"amines vs the formula: max abs difference {amine_difference:.3g}")

# %%
# Kaneko's formula, recomputed
# ----------------------------
# The Brian2 code (``ed_brian/learning.py``) computes, at the trial boundary,
#
# - for every unit that receives learned synapses, the factor
#   ``fac_exc = lr * amine_gain * s * (1 - s) * A+`` (and ``fac_inh`` with A-),
#   where ``s = (min(count, n_ref) + 1/2) / (n_ref + 1)`` is the smoothed
#   activity, so that ``s (1 - s)`` is the slope f' of a sigmoid unit, and
#   ``amine_gain`` is the layer's diffusion factor (``dif**(L - l)``, 1 here);
# - for every presynaptic unit, its activity ``x``: the pixel value for the
#   input relay (``input_activity="pixel"``), ``min(count / n_ref, 1)`` for a
#   hidden unit;
# - ``w += x_E * fac_exc + x_I * fac_inh``: the E copy of a unit learns with
#   A+, the I copy with A-.
#
# We recompute that from the spike counts of our monitors and the image.

lr = config.network.ed.lr
hidden_layers = [name for name in sim.layers if name.startswith("hidden_")]
gains = dict(zip(hidden_layers, amine_gains(
    len(hidden_layers), config.network.ed.dif, config.network.ed.diffusion)))
gains["output"] = 1.0
pixels = sim.image(0)  # the 784 pixel values of trial 0, in [0, 1]


def pre_activity(name):
    group = sim.layers[name]
    if name == "relay":  # relay unit i carries pixel i // 2 (E copy even, I copy odd)
        return pixels[np.asarray(group.pixel[:])]
    n_ref_pre = float(np.asarray(group.n_ref[:]).item())
    return np.minimum(counts[name] / n_ref_pre, 1.0)


def post_factors(name):
    """(fac_exc, fac_inh) of every unit of layer ``name``, as the boundary code computes them."""
    group = sim.layers[name]
    n_ref_post = float(np.asarray(group.n_ref[:]).item())
    s = (np.minimum(counts[name], n_ref_post) + 0.5) / (n_ref_post + 1)
    cls = np.asarray(group.network[:])
    return tuple(lr * gains[name] * s * (1 - s) * amines_expected[cls, k] for k in (0, 1))


expected = {}
for name, syn in sim.projections.items():
    pre, post = syn.source.name, syn.target.name
    i, j = np.asarray(syn.i[:]), np.asarray(syn.j[:])
    x = pre_activity(pre)[i]
    fac_exc, fac_inh = post_factors(post)
    excitatory = np.asarray(sim.layers[pre].ptype[:])[i] > 0
    expected[name] = np.where(excitatory, x * fac_exc[j], x * fac_inh[j])

max_difference = max(np.abs(dw[name] - expected[name]).max() for name in dw)
for name in dw:
    print(f"{name}: {len(dw[name])} synapses, {np.count_nonzero(dw[name])} changed, "
          f"mean dw {dw[name].mean():.3e}, max dw {dw[name].max():.3e}")
print(f"dw vs Kaneko's formula: max abs difference {max_difference:.3g}")
assert max_difference < 1e-12 and amine_difference < 1e-12

# %%
# The same check against the network's own variables: after the trial the
# groups still hold the factors and activities the boundary code computed.

for name, syn in sim.projections.items():
    fac_exc, fac_inh = post_factors(syn.target.name)
    post = sim.layers[syn.target.name]
    assert np.allclose(post.fac_exc[:], fac_exc, rtol=0, atol=1e-15)
    assert np.allclose(post.fac_inh[:], fac_inh, rtol=0, atol=1e-15)
    assert np.allclose(sim.layers[syn.source.name].activity[:], pre_activity(syn.source.name), rtol=0, atol=1e-15)

# %%
# Magnitudes only grow
# --------------------
# Every factor of the rule is >= 0, so a magnitude never shrinks, and the
# effect's sign ``ptype_pre * ptype_post`` is fixed by the unit types: no
# weight changes sign.

shrunk = sum(int(np.sum(dw[name] < 0)) for name in dw)
sign_flips = 0
for name, syn in sim.projections.items():
    i, j = np.asarray(syn.i[:]), np.asarray(syn.j[:])
    sign = np.asarray(syn.source.ptype[:])[i] * np.asarray(syn.target.ptype[:])[j]
    sign_flips += int(np.sum(np.sign(sign * after[name]) != np.sign(sign * before[name])))
print(f"weights that shrank: {shrunk}; weights that changed sign: {sign_flips}")
assert shrunk == 0 and sign_flips == 0

# %%
# Where the weights changed
# -------------------------
# Left: the amines of every class. The image's class asks for more output
# (A+), every class that fired asks for less (A-). Middle: the summed weight
# change of each projection per class network. Right: for the image's class,
# what each pixel's E copy minus its I copy gained onto the first hidden layer
# (with :func:`ed_brian.pixel_weights` applied to the weight changes).

changes = {f"relay_to_hidden_1/{field}": np.asarray(getattr(sim.projections["relay_to_hidden_1"], field)[:])
           for field in ("i", "j")}
changes["relay_to_hidden_1/w"] = dw["relay_to_hidden_1"]
dw_maps = ed_brian.pixel_weights(changes, K)

fig, (ax_amine, ax_dw, ax_map) = plt.subplots(1, 3, figsize=(14, 4))
x = np.arange(K)
ax_amine.bar(x - 0.2, amines[:, 0], 0.4, label="A+ (fire more)")
ax_amine.bar(x + 0.2, amines[:, 1], 0.4, label="A- (fire less)")
ax_amine.set(xticks=x, xlabel="class network", ylabel="amine", title=f"Amines after one trial (label {label})")
ax_amine.legend()
width = 0.8 / len(dw)
for k, (name, change) in enumerate(dw.items()):
    post = sim.layers[sim.projections[name].target.name]
    cls = np.asarray(post.network[:])[np.asarray(sim.projections[name].j[:])]
    per_class = np.bincount(cls, weights=change, minlength=K)
    ax_dw.bar(x - 0.4 + width * (k + 0.5), per_class, width, label=name)
ax_dw.set(xticks=x, xlabel="class network", ylabel="sum of dw", title="Weight change per class network",
          yscale="log")
ax_dw.legend(fontsize=8)
limit = np.abs(dw_maps[label]).max() or 1.0
image = ax_map.imshow(dw_maps[label], cmap="RdBu_r", vmin=-limit, vmax=limit)
ax_map.set(title=f"dw(E) - dw(I) per pixel, class {label}", xticks=[], yticks=[])
fig.colorbar(image, ax=ax_map)
fig.tight_layout()
fig.savefig(OUT / "one_trial_of_ed.png", dpi=100)
plt.show()
