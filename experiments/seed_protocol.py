"""The seed's headline protocol on MNIST and Fashion-MNIST, over several seeds.

    python experiments/seed_protocol.py --epochs 3 --seeds 1 2 3 --out results/seed_protocol

Each (dataset, seed) runs ``ed-brian train`` with the seed's flags
(hidden 256, 1000 training / first 500 test images, lr 0.15, 150 Hz, 50 ms,
dt 1 ms) into its own results folder; ``summary.csv`` gets the test accuracy
of every epoch and the wall time. Extra flags after ``--`` go to every run.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

SEED_FLAGS = ["--train", "1000", "--test", "500", "--hidden", "256", "--lr", "0.15",
              "--spike_max_rate", "150", "--spike_sim_time", "50", "--spike_dt", "1.0"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion"], choices=["mnist", "fashion"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default="results/seed_protocol")
    parser.add_argument("extra", nargs="*", help="flags passed to every run (after --)")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for dataset in args.datasets:
        for seed in args.seeds:
            folder = out / f"{dataset}-seed{seed}"
            command = [sys.executable, "-m", "ed_brian", "train", f"--{dataset}", *SEED_FLAGS,
                       "--epochs", str(args.epochs), "--seed", str(seed), "--no-progress",
                       "--out", str(folder), *args.extra]
            print(" ".join(command), flush=True)
            subprocess.run(command, check=True)
            with (folder / "metrics.csv").open() as f:
                for row in csv.DictReader(f):
                    rows.append({"dataset": dataset, "seed": seed, **row})
    with (out / "summary.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for dataset in args.datasets:
        final = [float(r["test_accuracy"]) for r in rows
                 if r["dataset"] == dataset and int(r["epoch"]) == args.epochs]
        mean = sum(final) / len(final)
        spread = (max(final) - min(final)) / 2
        print(f"{dataset}: test accuracy after {args.epochs} epochs {mean:.2f} +/- {spread:.2f} % over seeds {args.seeds}")


if __name__ == "__main__":
    main()
