"""Build ed_brian/datasets/fashion_mnist_subset.npz, the small dataset shipped with the package.

Usage: python experiments/make_bundled_subset.py FASHION_MNIST_DIR [--out PATH]

FASHION_MNIST_DIR holds the four Fashion-MNIST IDX files (.gz or raw). The
subset is the first 1000 training and first 500 test images, so it is the same
every time and matches what `subset(load_dataset("fashion"), 1000, 500)` gives.
"""

import argparse
from pathlib import Path

import numpy as np

from ed_brian.data import IDX_FILES, read_idx

N_TRAIN, N_TEST = 1000, 500
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "ed_brian" / "datasets" / "fashion_mnist_subset.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fashion_dir", type=Path, help="directory with the four Fashion-MNIST IDX files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    def read(stem: str) -> np.ndarray:
        gz = args.fashion_dir / (stem + ".gz")
        return read_idx(gz if gz.exists() else args.fashion_dir / stem)

    train_images, train_labels, test_images, test_labels = map(read, IDX_FILES)
    arrays = {
        "train_images": train_images[:N_TRAIN], "train_labels": train_labels[:N_TRAIN],
        "test_images": test_images[:N_TEST], "test_labels": test_labels[:N_TEST],
    }
    arrays = {k: np.ascontiguousarray(v, dtype=np.uint8) for k, v in arrays.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB); class counts "
          f"train {np.bincount(arrays['train_labels'], minlength=10).tolist()}, "
          f"test {np.bincount(arrays['test_labels'], minlength=10).tolist()}")


if __name__ == "__main__":
    main()
