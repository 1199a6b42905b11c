"""A fixed random feature layer between the input relay and the class networks.

With ``features`` N > 0 the relay no longer reaches the class networks
directly. It drives N pairs of LIF units (an E and an I unit with the same
input), and the pairs are what the class networks' first hidden layers
receive and learn from::

    relay (2 x 784) --fixed--> feature_membranes (N) ==linked==> features (2 x N) --ED--> hidden_1 --ED--> ... output

Feature f is a random projection of the image through a threshold: its
membrane is driven by x . W_f (x the pixel rates; W_f drawn N(0, 1) per pixel
in NumPy from ``feature_seed``, blurred on the image by a Gaussian of
``feature_smoothing`` pixels and rescaled to unit variance), and its tonic
current puts the threshold at the (1 - ``feature_active``) quantile of
x . W_f over the first training images, so about that fraction of the
features fire for an image. ``feature_drive`` is how far one standard
deviation of x . W_f moves the membrane's resting point (mV), which the
membrane approaches with its own time constant ``feature_tau_m``. Blurred
projections and long membranes keep the Poisson input's noise down
(docs/results.rst). Nothing in the layer learns: no learn events, no update
code, only spike propagation. Everything that learns is trained by ED, as
before.

The sign rule holds here too: a synapse's effect is s_pre * s_post. The E unit
of pair f receives pixel p from the pixel's E relay unit where W[p, f] > 0 and
from its I relay unit where W[p, f] < 0 (the I unit would receive the opposite
relay unit, the same signed input with the E and I copies of a pixel sharing
one Poisson train). Since both units of a pair would integrate the same input,
the network integrates it once: the pair's membrane (``feature_membranes``,
the E unit's input) receives the fixed synapses, and the E and I unit of the
pair both read it through a linked variable, so they fire together when it
crosses threshold. Each relay spike reaches N membranes instead of 2N units.
With ``independent_ei_trains`` the I unit still fires with its E unit: the
pair integrates the relay copies of W's sign, not the other copies' trains.

A run's calibration (the seed, each feature's threshold and scale) is saved
with its weights under ``features/``, so a saved network is rebuilt exactly
without its training images.
"""

from __future__ import annotations

import numpy as np

from ed_brian.config import ConfigError, NetworkConfig

# The images the thresholds are taken from: the first of the training set.
CALIBRATION_IMAGES = 2000
KEYS = ("features/seed", "features/smoothing", "features/theta", "features/scale")  # saved with the weights


def projection_matrix(n_pixels: int, n_features: int, seed: int, smoothing: float = 0.0) -> np.ndarray:
    """(n_pixels, n_features) random projections: W ~ N(0, 1) per pixel (the draw of
    experiments/random_features.py), each column blurred on the square image by a Gaussian of
    ``smoothing`` pixels (0: none) and rescaled to unit variance."""
    W = np.random.default_rng(seed).normal(0, 1, (n_pixels, n_features))
    if smoothing <= 0:
        return W
    side = int(round(n_pixels ** 0.5))
    if side * side != n_pixels:
        raise ConfigError(f"--feature_smoothing needs square images (got {n_pixels} pixels)")
    offsets = np.arange(side)
    blur = np.exp(-((offsets[:, None] - offsets[None, :]) ** 2) / (2 * smoothing ** 2))
    blur /= blur.sum(axis=1, keepdims=True)
    images = W.T.reshape(n_features, side, side)
    W = np.einsum("ij,njk,lk->nil", blur, images, blur).reshape(n_features, n_pixels).T
    return W / W.std(axis=0)


def config_matrix(config: NetworkConfig) -> np.ndarray:
    """The projection matrix of ``config``'s feature layer."""
    return projection_matrix(config.n_pixels, config.features, config.feature_seed, config.feature_smoothing)


def calibrate(config: NetworkConfig, train_pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The calibration of ``config``'s feature layer from training images (rows of pixels in [0, 1]):
    ``features/theta``, the (1 - feature_active) quantile of each projection, and
    ``features/scale``, its standard deviation over the first CALIBRATION_IMAGES."""
    if len(train_pixels) < 2:
        raise ConfigError("the feature layer calibrates its thresholds on training images: give at least 2")
    sample = np.asarray(train_pixels[:CALIBRATION_IMAGES], dtype=float) @ config_matrix(config)
    scale = sample.std(axis=0)
    return {
        "features/seed": np.array([config.feature_seed]),
        "features/smoothing": np.array([config.feature_smoothing]),
        "features/theta": np.quantile(sample, 1 - config.feature_active, axis=0),
        # A feature no image moves (a zero projection) keeps a finite scale.
        "features/scale": np.where(scale > 0, scale, 1.0),
    }


def check_calibration(weights: dict, config: NetworkConfig) -> None:
    """ConfigError unless ``weights`` holds a calibration of ``config``'s feature layer."""
    missing = [key for key in KEYS if key not in weights]
    if missing:
        raise ConfigError(f"the weights have no feature calibration ({', '.join(missing)}): "
                          f"they are not from a network with --features {config.features}")
    seed = int(np.asarray(weights["features/seed"]).ravel()[0])
    smoothing = float(np.asarray(weights["features/smoothing"]).ravel()[0])
    for key in KEYS[2:]:
        values = np.asarray(weights[key], dtype=float)
        if values.shape != (config.features,):
            raise ConfigError(f"the weights' {key} has {values.size} values, this network has "
                              f"{config.features} features: it is from another network shape")
        if not np.all(np.isfinite(values)):
            raise ConfigError(f"the weights' {key} has non-finite values")
    if np.any(np.asarray(weights["features/scale"]) <= 0):
        raise ConfigError("the weights' features/scale must be > 0")
    if seed != config.feature_seed:
        raise ConfigError(f"the weights' feature layer was drawn from --feature_seed {seed}, "
                          f"this network's from {config.feature_seed}")
    if smoothing != config.feature_smoothing:
        raise ConfigError(f"the weights' feature layer has --feature_smoothing {smoothing:g}, "
                          f"this network's {config.feature_smoothing:g}")


def magnitude_per_unit_projection(config: NetworkConfig) -> float:
    """Synaptic magnitude that moves a feature's resting point by ``feature_drive`` mV per unit of
    x . W / scale: a relay unit firing at max_rate * x moves it by R_m * q_syn * max_rate * x * w."""
    mv_per_magnitude = config.lif.R_m * config.lif.q_syn * config.input.max_rate * 1e-3  # MOhm pC kHz = mV
    return config.feature_drive / mv_per_magnitude


def synapse_indices(config: NetworkConfig) -> tuple[np.ndarray, np.ndarray]:
    """The fixed relay -> feature membranes synapses (i, j): pixel by pixel, feature by
    feature, as ``Synapses.connect(i=..., j=...)`` creates them. A membrane is its pair's
    E unit's, so it takes the relay copy of W's sign: the effect s_pre * s_post is sign(W)."""
    n, n_pixels = config.features, config.n_pixels
    negative = (config_matrix(config) < 0).ravel()
    i = 2 * np.repeat(np.arange(n_pixels), n) + negative
    j = np.tile(np.arange(n), n_pixels)
    return i.astype(np.int32), j.astype(np.int32)


def fixed_magnitudes(config: NetworkConfig, calibration: dict) -> np.ndarray:
    """The magnitudes of the synapses ``synapse_indices`` lists, in its order."""
    scale = np.asarray(calibration["features/scale"], dtype=float)
    return (np.abs(config_matrix(config)) / scale).ravel() * magnitude_per_unit_projection(config)


def connections(config: NetworkConfig, calibration: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fixed relay -> feature membranes synapses (i, j, w) of ``calibration``."""
    return (*synapse_indices(config), fixed_magnitudes(config, calibration))


def tonic_currents(config: NetworkConfig, calibration: dict) -> np.ndarray:
    """Tonic current (nA) of every feature membrane: at x . W = theta its resting point is the threshold."""
    theta = np.asarray(calibration["features/theta"], dtype=float)
    scale = np.asarray(calibration["features/scale"], dtype=float)
    lif = config.lif
    resting_shift = lif.v_threshold - lif.v_rest - config.feature_drive * theta / scale  # mV
    return resting_shift / lif.R_m  # mV / MOhm = nA


def pixel_templates(weights: dict, n_pixels: int) -> np.ndarray:
    """What the first hidden layer learned, seen through the feature layer as if it were linear:
    (first-layer units, pixels). Unit h's entry for pixel p is
    sum_f (w from f's E unit - w from f's I unit) * W[p, f] / scale_f."""
    from ed_brian.weights import pair_differences

    scale = np.asarray(weights["features/scale"], dtype=float)
    n = len(scale)
    per_feature = pair_differences(weights, "features_to_hidden_1", n)
    W = projection_matrix(n_pixels, n, int(np.asarray(weights["features/seed"]).ravel()[0]),
                          float(np.asarray(weights["features/smoothing"]).ravel()[0]))
    return (per_feature / scale) @ W.T
