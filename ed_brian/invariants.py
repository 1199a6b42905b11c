"""Checks at the end of every run: the sign rule, finite numbers, living layers."""

from __future__ import annotations

import numpy as np

from ed_brian.config import NetworkConfig


class InvariantError(RuntimeError):
    """The network broke a rule the ED method guarantees; results are not to be trusted."""


def unit_types(config: NetworkConfig, copies: int = 1) -> dict[str, np.ndarray]:
    """+1/-1 type of every unit of every layer (of ``copies`` packed copies), as network.py assigns them."""
    K = config.n_classes * copies
    types = {"relay": 1 - 2 * (np.arange(2 * config.n_pixels) % 2),
             "features": 1 - 2 * (np.arange(2 * config.features) % 2)}
    for number, size in enumerate(config.hidden, start=1):
        types[f"hidden_{number}"] = 1 - 2 * ((np.arange(K * size) % size) % 2)
    types["output"] = np.ones(K, dtype=int)
    types["bias"] = np.array([1, -1])
    return types


def check_weights(config: NetworkConfig, weights: dict[str, np.ndarray], copies: int = 1) -> None:
    """Every magnitude finite and >= 0, every sign s_pre * s_post; raises InvariantError."""
    types = unit_types(config, copies)
    for key in (k for k in weights if k.endswith("/w")):
        name = key[: -len("/w")]
        w, i, j, sign = (weights[f"{name}/{field}"] for field in ("w", "i", "j", "sign"))
        if not np.all(np.isfinite(w)):
            raise InvariantError(f"{name}: {np.sum(~np.isfinite(w))} weights are NaN or infinite")
        if np.any(w < 0):
            raise InvariantError(f"{name}: {np.sum(w < 0)} magnitudes are negative")
        pre, post = name.split("_to_")
        expected = types[pre][i] * types[post][j]
        if np.any(sign != expected):
            raise InvariantError(f"{name}: {np.sum(sign != expected)} synapses break the sign rule s_pre * s_post")


def layer_warnings(config: NetworkConfig, mean_rates: dict[str, float]) -> list[str]:
    """A layer that fell silent or fires at its ceiling, with its rate."""
    ceiling = 1000.0 / max(config.lif.tau_ref, config.input.dt)  # Hz
    out = []
    for layer, rate in mean_rates.items():
        if not np.isfinite(rate):
            out.append(f"{layer}: firing rate is not finite")
        elif rate < 0.5:
            out.append(f"{layer} fell silent ({rate:.2f} Hz): check --I_bias, --q_syn and the input rate")
        elif layer != "relay" and rate > 0.9 * ceiling:
            out.append(f"{layer} saturated ({rate:.0f} Hz of at most {ceiling:.0f} Hz): lower --I_bias or --q_syn")
    return out
