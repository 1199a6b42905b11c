"""The Simple and FReLU variants on the seed's FReLU command, scaled down.

    python experiments/variants.py --epochs 2 --out results/variants -- --device cpp_standalone

The seed's FReLU run: --fashion --train 2048 --test 2048 --hidden 2048,128,
20 epochs, 76.71 %. FReLU runs that command; Simple, which has one hidden
layer, runs --hidden 2048. Each writes its results folder; the script prints
test accuracy per epoch and the time per epoch.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import ed_brian

COMMON = ["--fashion", "--train", "2048", "--test", "2048", "--no-progress"]
VARIANTS = {"frelu": ["--model", "frelu", "--hidden", "2048,128"], "simple": ["--model", "simple", "--hidden", "2048"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", default="results/variants")
    parser.add_argument("extra", nargs="*", help="flags for every run (after --)")
    args = parser.parse_args()
    for name in args.variants:
        folder = Path(args.out) / name
        command = [sys.executable, "-m", "ed_brian", "train", *COMMON, *VARIANTS[name],
                   "--epochs", str(args.epochs), "--out", str(folder), *args.extra]
        print(" ".join(command), flush=True)
        subprocess.run(command, check=True)
        for epoch in ed_brian.load_run(folder).metrics:
            print(f"{name}: epoch {epoch.epoch} test {epoch.test_accuracy:.2f} % ({epoch.seconds:.1f} s)")


if __name__ == "__main__":
    main()
