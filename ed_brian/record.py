"""Bounded recordings: membrane traces and spikes of chosen layers, neurons and trials.

Monitors exist only for the layers asked for; they are switched on for the
chosen trials and off otherwise (the trainer cuts its runs at their edges), so
a 60,000-trial epoch records only what was asked. Works on every device:
standalone devices honour ``active`` per ``run()`` like the runtime does.

Saved as ``recordings.npz`` in the results folder:

- ``trials``: the recorded trial indices (of the whole schedule);
- ``<layer>/neurons``: indices of the neurons whose membrane was recorded;
- ``<layer>/v`` (neurons x samples, volt, as Brian2's ``StateMonitor.v``) and
  ``<layer>/v_t`` (samples, second);
- ``<layer>/spike_i``, ``<layer>/spike_t`` (second): every spike of the layer
  in the recorded trials (all its neurons, so heatmaps see the whole layer);
- ``trial_duration`` (second), ``v_threshold``, ``v_reset`` (volt).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import SpikeMonitor, StateMonitor, second, volt

LAYER_KINDS = ("input", "features", "hidden", "output")
# Files without this mark (written before it existed) hold v as samples x neurons.
RECORDING_LAYOUT = "v: neurons x samples"


@dataclass(frozen=True)
class RecordSpec:
    trials: tuple[int, int]  # [start, stop) in the whole schedule
    layers: tuple[str, ...] = ("hidden", "output")  # kinds, see LAYER_KINDS
    neurons: tuple[int, int] = (0, 20)  # [start, stop) within each layer

    def validate(self, n_trials: int) -> None:
        from ed_brian.config import ConfigError

        start, stop = self.trials
        if not 0 <= start < stop:
            raise ConfigError(f"--record-trials needs 0 <= start < stop (got {start}:{stop})")
        if start >= n_trials:
            raise ConfigError(f"--record-trials {start}:{stop} starts after the last trial ({n_trials - 1})")
        unknown = set(self.layers) - set(LAYER_KINDS)
        if unknown or not self.layers:
            raise ConfigError(f"--record-layers takes {', '.join(LAYER_KINDS)} (got {','.join(self.layers)})")
        if not 0 <= self.neurons[0] < self.neurons[1]:
            raise ConfigError(f"--record-neurons needs 0 <= start < stop (got {self.neurons[0]}:{self.neurons[1]})")


def parse_range(text: str, flag: str) -> tuple[int, int]:
    """'0:5' -> (0, 5); '7' -> (7, 8)."""
    from ed_brian.config import ConfigError

    try:
        parts = [int(p) for p in text.split(":")]
    except ValueError:
        raise ConfigError(f"{flag} takes START:STOP such as 0:5 (got {text!r})") from None
    if len(parts) == 1:
        return parts[0], parts[0] + 1
    if len(parts) != 2:
        raise ConfigError(f"{flag} takes START:STOP such as 0:5 (got {text!r})")
    return parts[0], parts[1]


def _kind(layer_name: str) -> str:
    return "input" if layer_name == "relay" else layer_name.split("_")[0]


class Recorder:
    """The monitors of a RecordSpec, attached to a built EDNetwork."""

    def __init__(self, spec: RecordSpec, net, trial_steps: int, dt):
        self.spec = spec
        self.state: dict[str, StateMonitor] = {}
        self.spikes: dict[str, SpikeMonitor] = {}
        self.layers = []
        for layer in net.layers:
            if _kind(layer.name) not in spec.layers:
                continue
            self.layers.append(layer)
            self.spikes[layer.name] = SpikeMonitor(layer, name=f"{layer.name}_spikes")
            if "v" in layer.variables:
                first, last = spec.neurons[0], min(spec.neurons[1], len(layer))
                if first < last:
                    self.state[layer.name] = StateMonitor(
                        layer, "v", record=np.arange(first, last), name=f"{layer.name}_trace"
                    )
        self.monitors = [*self.state.values(), *self.spikes.values()]
        net.network.add(self.monitors)
        self.set_active(False)
        self.trial_duration = trial_steps * dt
        self.thresholds = {layer.name: (layer.v_threshold[:], layer.v_reset[:]) for layer in self.layers
                           if "v" in layer.variables}

    @property
    def edges(self) -> tuple[int, int]:
        return self.spec.trials

    def set_active(self, active: bool) -> None:
        for monitor in self.monitors:
            monitor.active = active

    def arrays(self, offset: int = 0) -> dict[str, np.ndarray]:
        """Everything recorded, as plain arrays in SI units (times on the whole schedule's axis)."""
        shift = offset * float(self.trial_duration)
        out = {
            "trials": np.arange(*self.spec.trials),
            "trial_duration": np.array(float(self.trial_duration)),
        }
        for name, mon in self.state.items():
            out[f"{name}/neurons"] = np.asarray(mon.record)
            out[f"{name}/v"] = np.array(mon.v[:] / volt)
            out[f"{name}/v_t"] = np.array(mon.t[:] / second) + shift
            threshold, reset = self.thresholds[name]
            out[f"{name}/v_threshold"] = np.array(float(threshold))
            out[f"{name}/v_reset"] = np.array(float(reset))
        for name, mon in self.spikes.items():
            out[f"{name}/spike_i"] = np.array(mon.i[:])
            out[f"{name}/spike_t"] = np.array(mon.t[:] / second) + shift
            out[f"{name}/size"] = np.array(len(mon.source))
        return out


def save_recordings(folder: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``recordings.npz`` atomically (a temporary file, then a rename)."""
    from ed_brian.results import write_npz

    path = Path(folder) / "recordings.npz"
    write_npz(path, {"layout": np.array(RECORDING_LAYOUT), **arrays})
    return path


def load_recordings(path: str | Path) -> dict:
    """The saved recordings (a ``recordings.npz`` or its run folder), with Brian2 units.

    ``<layer>/v`` is neurons x samples, as Brian2's ``StateMonitor.v``, in volt;
    times (``v_t``, ``spike_t``, ``trial_duration``) in second. A missing,
    damaged or foreign file raises :class:`ed_brian.results.ResultsError`.
    """
    from ed_brian.results import check_recordings, read_npz

    path = Path(path)
    if path.is_dir():
        path = path / "recordings.npz"
    data = read_npz(path, "recordings file")
    check_recordings(path, data)
    out = {}
    old_layout = "layout" not in data
    for key in (key for key in data if key != "layout"):
        value = data[key]
        field = key.rsplit("/", 1)[-1]
        if field == "v" and old_layout:
            value = value.T
        if field in ("v", "v_threshold", "v_reset"):
            value = value * volt
        elif field in ("v_t", "spike_t", "trial_duration"):
            value = value * second
        out[key] = value
    return out
