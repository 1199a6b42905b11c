"""A non-spiking yardstick: a 784-H-10 ReLU network trained by backpropagation.

    python experiments/backprop_reference.py --mnist --train 1000 --test 500 --data-dir ../shared/data

Not ED and not spiking: plain NumPy, online softmax cross-entropy SGD on the
same images and the same fixed test set as an ed-brian run, to show how much
a gradient-trained network of the same size gets from them. With
``--train_pool`` the training images are drawn afresh every epoch, as in
the seed protocol. ``--poisson`` trains on the spike counts of the Poisson
input (150 Hz, 50 ms) instead of the pixel values.
"""

from __future__ import annotations

import argparse

import numpy as np

import ed_brian


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--mnist", dest="dataset", action="store_const", const="mnist")
    which.add_argument("--fashion", dest="dataset", action="store_const", const="fashion")
    parser.add_argument("--data-dir")
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--train_pool", type=int, default=0)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--poisson", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    # The images an ed-brian run with these flags sees.
    config = ed_brian.Config(dataset=args.dataset, train=args.train, train_pool=args.train_pool, test=args.test)
    data = ed_brian.load_data(config, args.data_dir)
    x = data.train_images.reshape(len(data.train_labels), -1) / 255.0
    x_test = data.test_images.reshape(args.test, -1) / 255.0
    targets = np.eye(10)[data.train_labels]
    rng = np.random.default_rng(args.seed)
    w1 = rng.normal(0, 1 / np.sqrt(x.shape[1]), (x.shape[1], args.hidden))
    w2 = rng.normal(0, 1 / np.sqrt(args.hidden), (args.hidden, 10))
    b1, b2 = np.zeros(args.hidden), np.zeros(10)
    expected_spikes = 150.0 * 0.050  # a white pixel's count in one trial
    for epoch in range(1, args.epochs + 1):
        for k in rng.permutation(len(x))[:args.train]:
            xk = rng.poisson(x[k] * expected_spikes) / expected_spikes if args.poisson else x[k]
            h = np.maximum(xk @ w1 + b1, 0)
            error = softmax(h @ w2 + b2) - targets[k]
            back = (w2 @ error) * (h > 0)
            w2 -= args.lr * np.outer(h, error)
            b2 -= args.lr * error
            w1 -= args.lr * np.outer(xk, back)
            b1 -= args.lr * back
        scores = np.maximum(x_test @ w1 + b1, 0) @ w2 + b2
        accuracy = 100 * np.mean(np.argmax(scores, axis=1) == data.test_labels)
        print(f"epoch {epoch:3d}  test {accuracy:6.2f} %", flush=True)


if __name__ == "__main__":
    main()
