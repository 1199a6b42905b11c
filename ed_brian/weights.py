"""Views of saved weights: a projection as a signed matrix, the input weights as images,
how different the first-layer units' templates are.

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
    templates = unit_templates(weights, n_classes, int(np.prod(image_shape)))
    return templates.mean(axis=1).reshape(n_classes, *image_shape)


def unit_templates(weights: dict, n_classes: int, n_pixels: int = 784) -> np.ndarray:
    """Each first-layer unit's input template: (classes, units per class network, pixels).

    Entry [n, h, p] is the magnitude from pixel p's E relay unit minus the one
    from its I relay unit onto unit h of class network n, the pixel's net push
    towards the unit's own sign (``pixel_weights`` is its mean over h). With a
    feature layer the same through the features, taken as linear
    (ed_brian.features.pixel_templates).
    """
    if "features_to_hidden_1/w" in weights:
        from ed_brian.features import pixel_templates

        templates = pixel_templates(weights, n_pixels)
    else:
        templates = pair_differences(weights, "relay_to_hidden_1", n_pixels)
    return templates.reshape(n_classes, len(templates) // n_classes, -1)


def pair_differences(weights: dict, projection: str, n_pairs: int) -> np.ndarray:
    """(postsynaptic units, source pairs) of a projection from E/I pairs (the relay's
    pixels, the features): the magnitude from pair k's E unit 2k minus the one from its I unit 2k+1."""
    i, j, w = (np.asarray(weights[f"{projection}/{field}"]) for field in ("i", "j", "w"))
    out = np.zeros((int(j.max()) + 1, n_pairs))
    np.add.at(out, (j, i // 2), np.where(i % 2 == 0, w, -w))
    return out


def template_diversity(weights: dict, n_classes: int, n_pixels: int = 784) -> dict[str, np.ndarray]:
    """How many different things the first-layer units of each class network learned.

    ED gives every hidden unit of a class network the same amine, so their
    templates (``unit_templates``, each less its mean over pixels) tend to
    share a few directions. Per class network: ``first_component`` is the
    share of the templates' variance along their first principal direction
    (1: every unit learned one template, up to scale), and ``effective_number``
    the participation ratio (sum of variances)^2 / sum of squared variances,
    between 1 and the number of units.
    """
    first, effective = [], []
    for templates in unit_templates(weights, n_classes, n_pixels):
        centred = templates - templates.mean(axis=1, keepdims=True)
        variances = np.linalg.svd(centred, compute_uv=False) ** 2
        first.append(variances[0] / variances.sum())
        effective.append(variances.sum() ** 2 / (variances ** 2).sum())
    return {"first_component": np.array(first), "effective_number": np.array(effective)}
