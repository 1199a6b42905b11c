"""
Membrane traces and spike rasters
=================================

Look inside the network while it classifies one test image: train briefly,
rebuild the network with the learned weights and the fixed test set
(learning off), attach ordinary Brian2 monitors, run one trial and plot the
image, the membrane potentials of hidden and output units, and a spike raster
of every layer.
"""

# %%
# Train briefly
# -------------

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from brian2 import SpikeMonitor, StateMonitor, mV, ms

import ed_brian

FULL = os.environ.get("ED_BRIAN_EXAMPLES_FULL") == "1"
OUT = Path("results/examples/membrane_traces_and_rasters")
OUT.mkdir(parents=True, exist_ok=True)

config = ed_brian.Config(hidden=128 if FULL else 32, train=1000 if FULL else 200, test=500 if FULL else 100,
                         epochs=3 if FULL else 2)
data = ed_brian.load_data(config)
result = ed_brian.train(config, data)
print(f"trained: test accuracy {result.epochs[-1].test_accuracy:.1f} %")

# %%
# Rebuild with the learned weights and add monitors
# -------------------------------------------------
# With ``test_only=True`` the schedule is the fixed test set with learning
# off: trial k shows test image k. ``layers`` holds the network's
# ``NeuronGroup``\ s by name; ``add`` puts our monitors into its ``Network``.

sim = ed_brian.build(config, data, weights=result.weights, test_only=True)
hidden, output = sim.layers["hidden_1"], sim.layers["output"]
H = config.hidden[0]
shown_hidden = list(range(6))  # the first units of class network 0 (E, I, E, ...)
v_hidden = StateMonitor(hidden, "v", record=shown_hidden)
v_output = StateMonitor(output, "v", record=True)
spikes = {name: SpikeMonitor(group) for name, group in sim.layers.items()}
sim.add(v_hidden, v_output, *spikes.values())

# %%
# Run one trial
# -------------
# One trial is ``spike_sim_time`` (50 ms) of Poisson input at a rate
# proportional to each pixel. The run stops one time step into the next trial,
# so the monitors hold one sample more than the trial's steps.

trial = 0
sim.run_trials(1)
start, end = sim.trial_window(trial)
label = int(sim.schedule.label[trial])
prediction = int(sim.predictions(trial, trial + 1)[0])
in_trial = {name: (mon.t >= start) & (mon.t < end) for name, mon in spikes.items()}
counts = np.bincount(np.asarray(spikes["output"].i[:])[in_trial["output"]], minlength=config.n_classes)
print(f"samples per monitor: {len(v_output.t)} ({sim.steps_per_trial} steps per trial + 1)")
print("output spike counts per class:", counts.tolist())
for name, mon in spikes.items():
    print(f"{name}: {int(in_trial[name].sum())} spikes from {len(sim.layers[name])} units")
print(f"label: {label} ({data.class_names[label]}), prediction: {prediction} ({data.class_names[prediction]})")

# %%
# The output unit with the most spikes wins; the membrane's progress towards
# the next spike breaks ties. ``sim.scores`` holds exactly that number.

assert np.array_equal(np.floor(sim.scores(trial, trial + 1)[0]).astype(int), counts)

# %%
# Plot
# ----
# Left: the image. Middle: membranes, with the threshold (dashed); a unit
# resets to ``v_reset`` after each spike. Right: one raster per layer (the
# relay is the input: an E and an I unit per pixel).

threshold = config.v_threshold / mV
fig = plt.figure(figsize=(14, 8))
grid = fig.add_gridspec(3, 3, width_ratios=[1, 1.6, 1.6])
ax_image = fig.add_subplot(grid[0, 0])
ax_image.imshow(data.test_images[trial], cmap="gray_r")
ax_image.set(title=f"test image {trial}: {data.class_names[label]}\npredicted: {data.class_names[prediction]}",
             xticks=[], yticks=[])
ax_counts = fig.add_subplot(grid[1:, 0])
ax_counts.barh(np.arange(config.n_classes), counts, color=["C2" if k == label else "C0" for k in range(config.n_classes)])
ax_counts.set(yticks=np.arange(config.n_classes), yticklabels=data.class_names, xlabel="output spikes",
              title="output spike counts")
ax_counts.invert_yaxis()

for row, (mon, title, names) in enumerate([
    (v_hidden, "hidden_1 membranes (class network 0)", [f"unit {n}" for n in shown_hidden]),
    (v_output, "output membranes", list(data.class_names)),
]):
    ax = fig.add_subplot(grid[row, 1])
    for k, name in enumerate(names):
        ax.plot(mon.t / ms, mon.v[k] / mV, lw=1, label=name)
    ax.axhline(threshold, color="k", ls="--", lw=1, label="threshold")
    ax.set(title=title, ylabel="v (mV)")
    ax.legend(fontsize=6, ncol=2, loc="lower right")
ax = fig.add_subplot(grid[2, 1])
ax.plot(v_output.t / ms, v_output.v[label] / mV, color="C2", label=f"output {label} (label)")
ax.plot(v_output.t / ms, v_output.v[prediction] / mV, color="C3", ls=":", label=f"output {prediction} (prediction)")
ax.axhline(threshold, color="k", ls="--", lw=1)
ax.set(xlabel="time (ms)", ylabel="v (mV)", title="label vs predicted output")
ax.legend(fontsize=7)

for row, name in enumerate(["relay", "hidden_1", "output"]):
    ax = fig.add_subplot(grid[row, 2])
    mon = spikes[name]
    ax.plot(mon.t / ms, mon.i, "|", ms=2 if name == "relay" else 4, color="k")
    ax.set(title=f"{name} spikes", ylabel="unit", xlim=(start / ms, end / ms))
    if name == "hidden_1":
        for k in range(1, config.n_classes):
            ax.axhline(k * H - 0.5, color="grey", lw=0.5)
ax.set_xlabel("time (ms)")
fig.tight_layout()
fig.savefig(OUT / "membrane_traces_and_rasters.png", dpi=100)
plt.show()
