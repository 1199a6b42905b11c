"""Packed copies: several independent ED networks in one Brian2 network.

A run with ``copies`` C lays out C copies of the K class networks side by side
in every hidden and output layer: the units of copy 0, then those of copy 1,
and so on, so that one NeuronGroup, one Synapses object and one code object per
step serve them all (on a GPU the launches, not the arithmetic, set the pace).

What the copies share: the Poisson input, the relay and the feature layer (the same spikes reach
every copy), the bias units, the schedule (images, order, test set), the
network's shape and every parameter outside ``COPY_PARAMETERS``. What each copy
has of its own: its units and synapses (no synapse joins two copies), its
initial weights (from its weight seed), its learning rate, lr_decay, dif,
w1/w2 and I_bias, and so its amines, its learning and its predictions.

Copy c is exactly the network that a single run of ``config.copy_config(c)``
builds: its initial magnitudes are drawn in NumPy from its weight seed in the
single network's synapse order and scattered into the packed arrays; Brian2's
random numbers feed only the Poisson sources, which are the same in both; the
copy's units compute what the single network's compute, with the same
per-unit values in the same arithmetic. Its spikes, predictions and weights are
therefore the single run's, bit for bit (tests/test_copies.py).

The ensemble predicts from the summed output spike counts of all copies (ties
broken by the mean progress of the membranes towards threshold).
"""

from __future__ import annotations

import numpy as np

from ed_brian.config import COPY_PARAMETERS, RunConfig
from ed_brian.network import SHARED_LAYERS, expected_synapse_counts, input_mask, layer_sizes, learned_pairs

__all__ = ["COPY_PARAMETERS", "initial_weights", "synapse_copies", "pack_weights", "split_weights",
           "copy_scores", "ensemble_scores"]


def single_initial_weights(config: RunConfig) -> dict[str, np.ndarray]:
    """Initial magnitudes ~ U(w1, w2) of one network, drawn in NumPy from its weight seed."""
    seed = config.seed if config.weight_seed is None else config.weight_seed
    rng = np.random.default_rng([seed, 1])
    ed = config.network.ed
    return {f"{name}/w": rng.uniform(ed.w_min, ed.w_max, count)
            for name, count in expected_synapse_counts(config.network).items()}


def initial_weights(config: RunConfig) -> dict[str, np.ndarray]:
    """Initial magnitudes of every projection of ``config``'s network (all its copies).

    Each copy's are those a single run of ``config.copy_config(c)`` starts from;
    pass them to :func:`ed_brian.train` as ``initial_weights`` to reproduce a run
    whose weights were drawn elsewhere (an exported project, a sweep point).
    """
    if config.copies == 1:
        return single_initial_weights(config)
    # Copy by copy into the packed arrays: one copy's draw at a time in memory.
    copy_of = synapse_copies(config)
    packed = {f"{name}/w": np.empty(len(copies)) for name, copies in copy_of.items()}
    for c in range(config.copies):
        _scatter(packed, single_initial_weights(config.copy_config(c)), c, copy_of)
    return packed


def _scatter(packed: dict, single: dict, copy: int, copy_of: dict) -> None:
    for name, copies in copy_of.items():
        packed[f"{name}/w"][copies == copy] = single[f"{name}/w"]


def synapse_copies(config: RunConfig) -> dict[str, np.ndarray]:
    """The copy of every synapse of each projection, in the order Brian2 creates them.

    Brian2 creates synapses source by source, targets in ascending order, on
    every device. A copy's synapses therefore come in the order of the single
    network's, interleaved with the other copies' only where the source (relay,
    bias units) is shared.
    """
    network, C = config.network, config.copies
    sizes = layer_sizes(network)
    out = {}
    copy_index = np.arange(C, dtype=np.int16 if C < 2**15 else np.int32)  # small: one per synapse
    for pre, post in learned_pairs(network):
        name = f"{pre}_to_{post}"
        if pre in SHARED_LAYERS:
            per_source = np.full(sizes[pre], sizes[post])
            if pre == "relay" and network.input_fraction < 1:
                per_source = input_mask(sizes[pre], sizes[post], network.input_fraction).sum(axis=1)
            out[name] = np.repeat(np.tile(copy_index, sizes[pre]), np.repeat(per_source, C))
        else:
            out[name] = np.repeat(copy_index, sizes[pre] * (sizes[post] // network.n_classes))
    if network.ed.bias_rate > 0:
        for _, post in learned_pairs(network):
            out[f"bias_to_{post}"] = np.tile(np.repeat(copy_index, sizes[post]), 2)
    return out


def pack_weights(weights: list[dict[str, np.ndarray]], config: RunConfig) -> dict[str, np.ndarray]:
    """The magnitudes of the packed network from each copy's single-network weights."""
    copy_of = synapse_copies(config)
    packed = {f"{name}/w": np.empty(len(copies)) for name, copies in copy_of.items()}
    for c, single in enumerate(weights):
        _scatter(packed, single, c, copy_of)
    return packed


def split_weights(weights: dict[str, np.ndarray], config: RunConfig) -> list[dict[str, np.ndarray]]:
    """Each copy's weights (``i``, ``j``, ``w``, ``sign``) as a single run of it would save them."""
    sizes = layer_sizes(config.network)
    shared = (*SHARED_LAYERS, "bias")
    # The feature layer's calibration is every copy's.
    out = [{key: value for key, value in weights.items() if key.startswith("features/")}
           for _ in range(config.copies)]
    for name, copy_of in synapse_copies(config).items():
        pre, post = name.split("_to_")
        for c in range(config.copies):
            mine = copy_of == c
            i, j = weights[f"{name}/i"][mine], weights[f"{name}/j"][mine]
            out[c][f"{name}/i"] = i if pre in shared else i - c * sizes[pre]
            out[c][f"{name}/j"] = j - c * sizes[post]
            out[c][f"{name}/w"] = weights[f"{name}/w"][mine]
            out[c][f"{name}/sign"] = weights[f"{name}/sign"][mine]
    return out


def copy_scores(scores: np.ndarray, copies: int) -> np.ndarray:
    """Output scores (trials x copies*K) as trials x copies x K."""
    return scores.reshape(len(scores), copies, -1)


def ensemble_scores(scores: np.ndarray, readout: str = "count") -> np.ndarray:
    """The ensemble's score per class (trials x K) from every copy's (trials x copies x K).

    With the count readout a score is the spike count plus the membrane's
    progress to threshold (< 1): the ensemble sums the counts and breaks ties
    with the mean progress, which stays below 1. With the drive readout it sums
    the drives.
    """
    if readout != "count":
        return scores.sum(axis=1)
    counts = np.floor(scores)
    return counts.sum(axis=1) + (scores - counts).mean(axis=1)
