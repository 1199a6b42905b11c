"""Every figure, drawn from what a run saved in its results folder.

Each function takes arrays (not a live network) and writes one image file;
``draw_all`` redraws every figure a results folder has the data for, which is
what ``ed-brian plot RESULTS_DIR`` runs. Without a display, matplotlib's Agg
backend is used and nothing ever waits for a window.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 100


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def learning_curves(metrics: list[dict], path: Path) -> Path:
    """Train and test accuracy and error rate per epoch."""
    epochs = [m["epoch"] for m in metrics]
    fig, (acc, err) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("train_accuracy", "train (online)"), ("test_accuracy", "test (fixed set)")):
        values = np.array([m[key] for m in metrics])
        acc.plot(epochs, values, "o-", label=label)
        err.plot(epochs, 100 - values, "o-", label=label)
    acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    err.set(xlabel="epoch", ylabel="error rate (%)", title="Error rate")
    for ax in (acc, err):
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def _layers(recordings: dict) -> list[str]:
    names = {key.split("/")[0] for key in recordings if key.endswith("/spike_i")}
    order = {"relay": 0, "features": 1, "output": 99}
    return sorted(names, key=lambda n: order.get(n, int(n.split("_")[-1]) if n.startswith("hidden") else 50))


def _trial_window(recordings: dict, trial: int) -> tuple[float, float]:
    duration = float(recordings["trial_duration"])
    return trial * duration, (trial + 1) * duration


def raster(recordings: dict, trials, path: Path) -> Path:
    """Spike raster of the recorded trials, one panel per layer."""
    layers = _layers(recordings)
    start, _ = _trial_window(recordings, min(trials))
    _, stop = _trial_window(recordings, max(trials))
    fig, axes = plt.subplots(len(layers), 1, figsize=(10, 2.2 * len(layers)), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], layers):
        t, i = recordings[f"{name}/spike_t"], recordings[f"{name}/spike_i"]
        keep = (t >= start) & (t < stop)
        ax.plot(1000 * t[keep], i[keep], "|", markersize=3, color="k")
        ax.set(ylabel=f"{name}\nunit", ylim=(-0.5, int(recordings[f"{name}/size"]) - 0.5))
        for trial in trials:
            ax.axvline(1000 * _trial_window(recordings, trial)[0], color="tab:red", lw=0.8, alpha=0.6)
    axes[-1, 0].set_xlabel("time (ms)")
    axes[0, 0].set_title(f"Spikes, trials {min(trials)}-{max(trials)} (red: trial starts)")
    return _save(fig, path)


def membrane_traces(recordings: dict, layer: str, path: Path, max_neurons: int = 5) -> Path:
    """Membrane potential of recorded neurons with threshold and reset lines and spike marks."""
    v = recordings[f"{layer}/v"][:max_neurons].T  # samples x neurons
    t = recordings[f"{layer}/v_t"]
    neurons = recordings[f"{layer}/neurons"][:max_neurons]
    threshold, reset = float(recordings[f"{layer}/v_threshold"]), float(recordings[f"{layer}/v_reset"])
    spike_t, spike_i = recordings[f"{layer}/spike_t"], recordings[f"{layer}/spike_i"]
    fig, axes = plt.subplots(len(neurons), 1, figsize=(10, 1.8 * len(neurons)), sharex=True, squeeze=False)
    for k, (ax, neuron) in enumerate(zip(axes[:, 0], neurons)):
        ax.plot(1000 * t, 1000 * v[:, k], lw=0.8)
        ax.axhline(1000 * threshold, color="tab:red", ls="--", lw=0.8, label="threshold")
        ax.axhline(1000 * reset, color="tab:blue", ls=":", lw=0.8, label="reset")
        spikes = spike_t[spike_i == neuron]
        spikes = spikes[(spikes >= t.min()) & (spikes <= t.max())]
        ax.plot(1000 * spikes, np.full(len(spikes), 1000 * threshold + 3), "v", color="k", ms=4)
        ax.set_ylabel(f"unit {neuron}\nv (mV)")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[0, 0].set_title(f"Membrane potential, {layer} (triangles: spikes)")
    axes[-1, 0].set_xlabel("time (ms)")
    return _save(fig, path)


def activity_heatmap(recordings: dict, trial: int, image: np.ndarray, label: int, prediction: int,
                     class_names, n_classes: int, path: Path) -> Path:
    """One trial: input image, spike counts of every layer, predicted vs true class."""
    start, stop = _trial_window(recordings, trial)
    layers = [name for name in _layers(recordings) if name != "relay"]
    fig, axes = plt.subplots(1, len(layers) + 1, figsize=(4 * (len(layers) + 1), 4))
    axes[0].imshow(image.reshape(28, 28), cmap="gray")
    axes[0].set_title(f"input (trial {trial})")
    axes[0].axis("off")
    for ax, name in zip(axes[1:], layers):
        t, i = recordings[f"{name}/spike_t"], recordings[f"{name}/spike_i"]
        counts = np.bincount(i[(t >= start) & (t < stop)], minlength=int(recordings[f"{name}/size"]))
        if name == "output":
            colors = ["tab:green" if c == label else "tab:gray" for c in range(n_classes)]
            ax.bar(range(n_classes), counts, color=colors)
            ax.set_xticks(range(n_classes), class_names, rotation=60, fontsize=8)
            ax.set(ylabel="spikes", title="output (green: true class)")
        else:
            im = ax.imshow(counts.reshape(n_classes, -1), aspect="auto", cmap="viridis", interpolation="nearest")
            ax.set(xlabel="unit in class network", ylabel="class network", title=f"{name} spike counts")
            fig.colorbar(im, ax=ax, fraction=0.046)
    verdict = "correct" if prediction == label else "wrong"
    fig.suptitle(f"true: {class_names[label]}   predicted: {class_names[prediction]} ({verdict})")
    return _save(fig, path)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, class_names, path: Path) -> Path:
    K = len(class_names)
    matrix = np.zeros((K, K), dtype=int)
    np.add.at(matrix, (labels, predictions), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(matrix, cmap="Blues")
    for (r, c), n in np.ndenumerate(matrix):
        if n:
            ax.text(c, r, n, ha="center", va="center", fontsize=7,
                    color="white" if n > matrix.max() / 2 else "black")
    ax.set_xticks(range(K), class_names, rotation=60, fontsize=8)
    ax.set_yticks(range(K), class_names, fontsize=8)
    accuracy = 100 * np.trace(matrix) / max(matrix.sum(), 1)
    ax.set(xlabel="predicted", ylabel="true", title=f"Test set confusion matrix ({accuracy:.1f} %)")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)


def effective_input_weights(weights: dict, n_classes: int, class_names, path: Path) -> Path:
    """Per class network: mean over its first-layer units of |w| from a pixel's E copy minus its I copy.

    For a unit of either type this is the pixel's net push towards that unit's
    own sign, so bright regions are pixels that drive the class network. With a
    feature layer the map is read through the features, taken as linear.
    """
    from ed_brian.weights import pixel_weights

    maps = pixel_weights(weights, n_classes)
    cols = min(n_classes, 5)
    rows = int(np.ceil(n_classes / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 2.6 * rows), squeeze=False)
    limit = np.abs(maps).max() or 1
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n_classes:
            ax.imshow(maps[k], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(class_names[k], fontsize=9)
    pathway = "through the features, linearised" if "features_to_hidden_1/w" in weights else "E minus I pathway"
    fig.suptitle(f"First-layer effective weights ({pathway}), red = drives the class")
    return _save(fig, path)


def _running_mean(ax, values: np.ndarray, label: str, window: int) -> None:
    (raw,) = ax.plot(values, lw=0.4, alpha=0.35)
    if len(values) >= window:
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window - 1, len(values)), smooth, lw=1.5, color=raw.get_color(),
                label=f"{label}, mean of {window}")


def learning_statistics(amines: np.ndarray, mean_dw: np.ndarray | None, learn: np.ndarray, path: Path,
                        window: int = 50) -> Path:
    """Per training trial: mean A+ and A- over the class networks, and mean |dw| of the first layer."""
    train = learn.astype(bool)
    panels = 2 if mean_dw is not None else 1
    fig, axes = plt.subplots(panels, 1, figsize=(10, 3.2 * panels), sharex=True, squeeze=False)
    ax = axes[0, 0]
    for channel, label in ((0, "A+ (output too low)"), (1, "A- (output too high)")):
        _running_mean(ax, amines[train][:, :, channel].mean(axis=1), label, window)
    ax.set(ylabel="amine (mean over classes)", title="Amine released and weight change per training trial")
    ax.legend()
    if mean_dw is not None:
        ax = axes[1, 0]
        _running_mean(ax, mean_dw[train], "mean |dw|, relay -> hidden_1", window)
        ax.set(ylabel="mean |dw|")
        ax.legend()
    for ax in axes[:, 0]:
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("training trial")
    return _save(fig, path)


def sweep_accuracy(rows: list[dict], names: list[str], path: Path) -> Path:
    """Final test accuracy against each swept parameter: mean and spread over the other points and seeds."""
    done = [r for r in rows if r.get("status") == "done"]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(4.5 * max(len(names), 1), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        values = sorted({r[name] for r in done}, key=lambda v: (float(v) if str(v).replace(".", "").isdigit() else str(v)))
        groups = [[float(r["test_accuracy"]) for r in done if r[name] == v] for v in values]
        means = [np.mean(g) for g in groups]
        spreads = [np.std(g) for g in groups]
        x = np.arange(len(values))
        ax.errorbar(x, means, yerr=spreads, fmt="o-", capsize=4)
        ax.set_xticks(x, [str(v) for v in values])
        ax.set(xlabel=name, ylabel="test accuracy (%)", title=f"accuracy vs {name}")
        ax.grid(alpha=0.3)
    return _save(fig, path)


def draw_all(folder: str | Path, out: str | Path | None = None, fmt: str = "png") -> list[Path]:
    """Redraw every figure the results folder has data for; returns the files written.

    Every file is read (and checked, see ``results.load_run``) before the first
    figure is written. Of a packed run (``--copies``) the learning curves and
    the confusion matrix are the ensemble's, the weights and learning
    statistics copy 0's (each ``copy_<c>`` folder draws its own).
    """
    import dataclasses

    from ed_brian.results import load_run

    run = load_run(folder)
    out = Path(out) if out else run.folder / "figures"
    K = run.config.network.n_classes
    trials = run.trials
    names = tuple(trials["class_names"]) if trials is not None else tuple(map(str, range(K)))
    written = []
    first = run.copies[0] if run.config.copies > 1 else run
    if run.metrics:
        written.append(learning_curves([dataclasses.asdict(m) for m in run.metrics], out / f"learning_curves.{fmt}"))
    if first.weights is not None:
        written.append(effective_input_weights(first.weights, K, names, out / f"first_layer_weights.{fmt}"))
    if trials is not None:
        test = trials["test_rows"]
        written.append(confusion_matrix(trials["label"][test], trials["prediction"][test], names,
                                        out / f"confusion_matrix.{fmt}"))
    if first.trials is not None:
        written.append(learning_statistics(first.trials["amines"], first.trials.get("mean_dw"), first.trials["learn"],
                                           out / f"learning_statistics.{fmt}"))
    if run.recordings is not None:
        rec = {k: np.asarray(v) for k, v in run.recordings.items()}
        recorded = [int(t) for t in rec["trials"]]
        written.append(raster(rec, recorded, out / f"raster.{fmt}"))
        for layer in _layers(rec):
            if f"{layer}/v" in rec:
                written.append(membrane_traces(rec, layer, out / f"membrane_{layer}.{fmt}"))
        # The heatmap's output row is one network's K units.
        if "images" in rec and trials is not None and "output/spike_i" in rec and run.config.copies == 1:
            for trial, image in zip(recorded, rec["images"]):
                if trial < len(trials["prediction"]):
                    written.append(activity_heatmap(
                        rec, trial, image, int(trials["label"][trial]), int(trials["prediction"][trial]),
                        names, K, out / f"heatmap_trial{trial}.{fmt}"))
    return written
