"""ED on fixed random features: a NumPy rate model, then the spiking network on them.

    python experiments/random_features.py analog --fashion --features 0 2000 4000 --epochs 3
    python experiments/random_features.py analog --fashion --features 2000 --smoothing 1 --poisson 7.5
    python experiments/random_features.py analog --fashion --features 4000 --smoothing 1 --patch 10
    python experiments/random_features.py spiking --fashion --features 2000 --active 0.2 --train 10000 --train_pool 60000 --test 2000
    python experiments/random_features.py spiking --fashion --features 4000

Each feature is a fixed random projection of the image through a threshold,
h_j = min(max(x . W_j - theta_j, 0) / s_j, 1), with W_j ~ N(0, 1) per pixel,
theta_j the (1 - active)-quantile of x . W_j over the first 2000 training
images (so about ``--active`` of the features respond to an image) and s_j
their standard deviation. Nothing about the features is learned; they are
drawn from ``--feature_seed``. ``--patch P`` (analog only) keeps each
projection to a random P x P window of the image, a local receptive field.

analog   the rate model of what ED learns on top of a layer: an output unit
         per class, o = sigmoid(h . w + b), and Kaneko's update for one
         layer, dw = lr o (1 - o) (t - o) h (the E and I magnitudes together),
         with the learning rate halving per epoch trial by trial. Features 0
         means the pixels themselves: a linear classifier.
spiking  the spiking ED network (ed_brian.train, every other setting the
         CLI's default) on the features as its input "pixels": N features make
         N Poisson sources and 2N relay units. The features are computed here,
         outside the network, so this measures what spiking ED learns from
         them, not a spiking feature layer.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

import ed_brian
from ed_brian.cli import parse_hidden
from ed_brian.data import Dataset
from ed_brian.features import projection_matrix
from ed_brian.train import pixel_table


def patch_mask(n_features: int, side: int, patch: int, seed: int) -> np.ndarray:
    """(side * side, n_features) True inside each feature's window: a patch x patch square
    at a uniformly drawn position inside the image."""
    rng = np.random.default_rng([seed, 99])
    top, left = (rng.integers(0, side - patch + 1, n_features) for _ in range(2))
    r = np.arange(side)
    rows = (r >= top[:, None]) & (r < top[:, None] + patch)
    cols = (r >= left[:, None]) & (r < left[:, None] + patch)
    return (rows[:, :, None] & cols[:, None, :]).reshape(n_features, -1).T


def random_features(dataset: Dataset, n: int, active: float, seed: int, smoothing: float = 0.0,
                    poisson: float = 0.0, patch: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(training, test) features in [0, 1] as float32 (n = 0: the pixels).

    ``smoothing``: the projections' Gaussian blur in pixels (ed_brian.features).
    ``patch`` > 0: each projection only inside its own patch x patch window.
    ``poisson`` > 0: each image is seen through Poisson counts with that mean for
    a white pixel, as an ideal integrator of the network's input spike trains
    would see it over one trial (a fresh draw per image, thresholds from the
    noiseless images)."""
    table = pixel_table(dataset)
    train, test = table[: len(dataset.train_images)], table[len(dataset.train_images) :]
    if n == 0:
        return train.astype(np.float32), test.astype(np.float32)
    weights = projection_matrix(train.shape[1], n, seed, smoothing)
    if patch:
        weights = weights * patch_mask(n, int(round(train.shape[1] ** 0.5)), patch, seed)
        weights /= weights.std(axis=0)
    sample = train[:2000] @ weights
    theta, scale = np.quantile(sample, 1 - active, axis=0), sample.std(axis=0)
    noise = np.random.default_rng([seed, 7])

    def project(x: np.ndarray) -> np.ndarray:
        out = np.empty((len(x), n), np.float32)
        for start in range(0, len(x), 5000):  # a block at a time: 60,000 x 4000 doubles would be 1.9 GB
            block = x[start : start + 5000]
            if poisson > 0:
                block = noise.poisson(poisson * block) / poisson
            z = block @ weights
            out[start : start + 5000] = np.clip(z - theta, 0, None) / scale
        return np.minimum(out, 1)

    return project(train), project(test)


def analog(args, dataset: Dataset) -> None:
    targets = np.eye(dataset.n_classes, dtype=np.float32)
    for n in args.features:
        # A fresh stream per feature count: its numbers do not depend on the counts listed before it.
        rng = np.random.default_rng(args.seed)
        train, test = random_features(dataset, n, args.active, args.feature_seed, args.smoothing, args.poisson,
                                       args.patch)
        w = np.zeros((train.shape[1], dataset.n_classes), np.float32)
        b = np.zeros(dataset.n_classes, np.float32)
        lr = args.lr if args.lr is not None else (0.05 if n == 0 else 0.03)
        began = time.perf_counter()
        for epoch in range(args.epochs):
            order = rng.permutation(len(train))[: args.train]
            for k, row in enumerate(order):
                h = train[row]
                o = 1 / (1 + np.exp(-np.clip(h @ w + b, -50, 50)))
                step = lr * 0.5 ** (epoch + k / len(order)) * o * (1 - o) * (targets[dataset.train_labels[row]] - o)
                w += np.outer(h, step)
                b += step
            scores = test[: args.test] @ w + b
            accuracy = 100 * np.mean(scores.argmax(axis=1) == dataset.test_labels[: args.test])
            print(f"{'pixels' if n == 0 else f'{n} features'} (smoothing {args.smoothing:g}, patch "
                  f"{args.patch}, Poisson {args.poisson:g}, mean {train.mean():.3f}), lr {lr:g}, "
                  f"epoch {epoch + 1}: test {accuracy:.2f} % ({time.perf_counter() - began:.0f} s)", flush=True)


def spiking(args, dataset: Dataset) -> None:
    n = args.features[0]
    train, test = random_features(dataset, n, args.active, args.feature_seed, args.smoothing)
    pool = args.train_pool or args.train
    as_images = lambda values: np.round(values * 255).astype(np.uint8)
    features = Dataset(name=f"{dataset.name}-features{n}", train_images=as_images(train[:pool]),
                       train_labels=dataset.train_labels[:pool], test_images=as_images(test[: args.test]),
                       test_labels=dataset.test_labels[: args.test], class_names=dataset.class_names,
                       source=f"{dataset.source}, {n} random features (seed {args.feature_seed})")
    config = ed_brian.Config(hidden=args.hidden, train=args.train, train_pool=args.train_pool, test=args.test,
                             epochs=args.epochs, seed=args.seed, device=args.device)
    config = replace(config, network=replace(config.network, n_pixels=n))
    began = time.perf_counter()
    result = ed_brian.train(config, features)
    for m in result.epochs:
        print(f"{n} features, hidden {','.join(map(str, args.hidden))}, epoch {m.epoch}: test {m.test_accuracy:.2f} %, "
              f"online training {m.train_accuracy:.2f} %", flush=True)
    print(f"mean rates (Hz): {result.epochs[-1].mean_rates}; {time.perf_counter() - began:.0f} s")
    if args.out:
        ed_brian.save_run(args.out, result, features)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["analog", "spiking"])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--mnist", action="store_const", const="mnist", dest="dataset")
    which.add_argument("--fashion", action="store_const", const="fashion", dest="dataset")
    parser.add_argument("--data-dir", help="folder of the IDX files [$ED_BRIAN_DATA]")
    parser.add_argument("--features", type=int, nargs="+", default=[2000],
                        help="features per image, 0 for the pixels (spiking: the first value) [2000]")
    parser.add_argument("--active", type=float, default=0.15, help="fraction of features an image drives [0.15]")
    parser.add_argument("--feature_seed", type=int, default=1)
    parser.add_argument("--smoothing", type=float, default=0.0, help="Gaussian blur of the projections, pixels [0]")
    parser.add_argument("--poisson", type=float, default=0.0,
                        help="analog: see each image through Poisson counts of this mean for a white pixel "
                        "(150 Hz x 50 ms: 7.5), an ideal integrator of the spike trains [0: exact]")
    parser.add_argument("--patch", type=int, default=0,
                        help="analog: each projection inside a random P x P window of the image [0: the whole image]")
    parser.add_argument("--train", type=int, default=60000, help="training images per epoch [60000]")
    parser.add_argument("--train_pool", type=int, default=0, help="spiking: draw them afresh from the first N")
    parser.add_argument("--test", type=int, default=10000, help="the first N test images [10000]")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lr", type=float, help="analog: learning rate [0.05 for pixels, 0.03 for features]")
    parser.add_argument("--hidden", type=parse_hidden, default=(64,), help="spiking: hidden units per class network [64]")
    parser.add_argument("--device", default="cpp_standalone", help="spiking [cpp_standalone]")
    parser.add_argument("--out", help="spiking: save the run here")
    args = parser.parse_args()
    if not 0 < args.active < 1:
        parser.error(f"--active must be in (0, 1) (got {args.active})")
    if not 0 <= args.patch <= 28 or (args.patch and args.mode == "spiking"):
        parser.error("--patch must be in [0, 28], and is for the analog mode")
    if any(n < 0 for n in args.features) or (args.mode == "spiking" and args.features[0] == 0):
        parser.error("--features must be >= 0 (spiking: > 0; the pixels are ed-brian train itself)")
    dataset = ed_brian.load_dataset(args.dataset, args.data_dir)
    (analog if args.mode == "analog" else spiking)(args, dataset)


if __name__ == "__main__":
    main()
