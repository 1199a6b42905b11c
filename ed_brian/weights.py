"""Views of saved weights: a projection as a signed matrix, the input weights as images.

Weights are kept as Brian2 keeps synapses, one entry per synapse:
``<projection>/i`` (presynaptic index), ``/j`` (postsynaptic index), ``/w``
(magnitude, >= 0) and ``/sign`` (+1 or -1, fixed by the unit types). These
functions take that dict, as ``TrainingResult.weights``, ``Run.weights`` or
``load_weights`` give it.
"""

from __future__ import annotations

import numpy as np


def projections(weights: dict) -> list[str]:
    """The projection names in ``weights``, in the order they were saved."""
    return list(dict.fromkeys(key.rsplit("/", 1)[0] for key in weights if key.endswith("/w")))


def weight_matrix(weights: dict, projection: str, signed: bool = True, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A projection as a dense (presynaptic x postsynaptic) matrix, like Brian2's ``W[i, j]``.

    With ``signed`` each entry is the synapse's effect, ``sign * w``; otherwise
    its magnitude. Pairs without a synapse are 0. ``shape`` defaults to the
    largest indices present plus one.
    """
    if f"{projection}/w" not in weights:
        from ed_brian.config import ConfigError

        raise ConfigError(f"no projection {projection!r}; the weights hold {', '.join(projections(weights))}")
    i, j, w = (np.asarray(weights[f"{projection}/{field}"]) for field in ("i", "j", "w"))
    if shape is None:
        shape = (int(i.max()) + 1 if len(i) else 0, int(j.max()) + 1 if len(j) else 0)
    matrix = np.zeros(shape)
    matrix[i, j] = w * np.asarray(weights[f"{projection}/sign"]) if signed else w
    return matrix


def pixel_weights(weights: dict, n_classes: int, image_shape: tuple[int, int] = (28, 28)) -> np.ndarray:
    """Per class network, what each pixel does to its first hidden layer: (classes, height, width).

    The mean over the class network's first-layer units of the magnitude from
    the pixel's E relay unit minus the one from its I relay unit. For a unit of
    either type this is the pixel's net push towards that unit's own sign, so
    positive pixels drive the class network and negative ones hold it back.
    """
    i, j, w = (np.asarray(weights[f"relay_to_hidden_1/{field}"]) for field in ("i", "j", "w"))
    per_class = (int(j.max()) + 1) // n_classes
    e_minus_i = np.where(i % 2 == 0, w, -w)  # relay unit 2p is pixel p's E copy, 2p+1 its I copy
    maps = np.zeros((n_classes, int(np.prod(image_shape))))
    np.add.at(maps, (j // per_class, i // 2), e_minus_i)
    return (maps / per_class).reshape(n_classes, *image_shape)
