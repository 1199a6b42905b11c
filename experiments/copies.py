"""Packed copies: time per trial against the number of copies, and ensemble accuracy.

    python experiments/copies.py speed --mnist --device cpp_standalone --hidden 256 --copies 1 4 16 64 --trials 100
    python experiments/copies.py ensemble --mnist --copies 16 --train 10000 --out results/copies/mnist
    python experiments/copies.py table results/copies/mnist       # the ensemble table of a finished run

speed     runs experiments/benchmark.py once per number of copies, each in its
          own process (one build each), and prints the time per training and
          test trial, per copy, and against N separate runs (N times the time
          of one copy): the speed-up of packing.
ensemble  one ``ed-brian train --copies N`` run (extra train flags after
          ``--``), then the table below.
table     from a packed run's trials.npz, the final test accuracy of ensembles
          of 1, 2, 4, ... N copies: every disjoint group of that many copies
          (copies 0..m-1, m..2m-1, ...) votes with its summed output spike
          counts, exactly as the run's own ensemble does; mean, lowest and
          highest over the groups. Since copy c of a packed run is exactly the
          single run of its own seed, the size-1 row is the accuracy of N
          independent single networks.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from ed_brian import load_run
from ed_brian.copies import copy_scores, ensemble_scores

BENCHMARK = Path(__file__).with_name("benchmark.py")


def speed(args, extra: list[str]) -> None:
    rows = []
    for n in args.copies:
        command = [sys.executable, str(BENCHMARK), "--device", args.device, "--hidden", str(args.hidden),
                   "--trials", str(args.trials), "--copies", str(n), "--json", *extra]
        command += ["--mnist"] if args.mnist else ["--fashion"] if args.fashion else []
        print("$", " ".join(command[1:]), flush=True)
        out = subprocess.run(command, capture_output=True, text=True)
        if out.returncode:
            print(out.stdout[-2000:], out.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"the benchmark of {n} copies failed (exit {out.returncode})")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"  {n} copies: train {rows[-1]['train_ms_per_trial']:.1f} ms, test {rows[-1]['test_ms_per_trial']:.1f} ms "
              "per trial", flush=True)
    one = next((row for row in rows if row["copies"] == 1), None)
    print(f"\n{args.device}, hidden {args.hidden}, {rows[0]['dataset']}, {rows[0]['trials']} trials per phase")
    print("copies | train ms/trial | per copy | vs separate runs | test ms/trial | per copy | vs separate runs "
          "| build s | peak MB (program)")
    for row in rows:
        n = row["copies"]
        cells = []
        for kind in ("train", "test"):
            ms = row[f"{kind}_ms_per_trial"]
            versus = f"{n * one[f'{kind}_ms_per_trial'] / ms:.2f}x faster" if one else "-"
            cells += [f"{ms:.1f}", f"{ms / n:.2f}", versus]
        peak = row.get("peak_rss_program_mb") or row.get("peak_rss_self_mb")
        print(f"{n:6d} | " + " | ".join(cells) + f" | {row['build_seconds']:.1f} | {peak:.0f}")


def ensemble_table(folder: Path) -> list[dict]:
    """Final test accuracy of disjoint groups of 1, 2, 4, ... copies of a packed run in ``folder``."""
    run = load_run(folder)
    config, trials = run.config, run.trials
    if config.copies < 2 or "scores" not in trials:
        raise SystemExit(f"{folder} is not a packed run with saved scores (ed-brian train --copies N)")
    rows = trials["test_rows"]
    scores = copy_scores(trials["scores"][rows], config.copies)
    labels = trials["label"][rows]
    out = []
    size = 1
    while size <= config.copies:
        accuracies = []
        for first in range(0, config.copies - size + 1, size):
            votes = ensemble_scores(scores[:, first : first + size], config.network.ed.readout)
            accuracies.append(100.0 * float(np.mean(np.argmax(votes, axis=1) == labels)))
        out.append({"copies": size, "groups": len(accuracies), "mean": float(np.mean(accuracies)),
                    "min": min(accuracies), "max": max(accuracies)})
        size *= 2
    if out[-1]["copies"] != config.copies:  # not a power of two: the whole ensemble too
        votes = ensemble_scores(scores, config.network.ed.readout)
        accuracy = 100.0 * float(np.mean(np.argmax(votes, axis=1) == labels))
        out.append({"copies": config.copies, "groups": 1, "mean": accuracy, "min": accuracy, "max": accuracy})
    return out


def print_table(folder: Path) -> None:
    run = load_run(folder)
    print(f"{folder}: {run.config.dataset}, hidden {','.join(map(str, run.config.network.hidden))}, "
          f"{run.config.n_train} training images x {run.config.epochs} epoch(s), "
          f"{len(run.trials['test_rows'])} test images; metrics.csv ensemble: {run.test_accuracy:.2f} %")
    print("ensemble size | groups | test accuracy % (mean) | lowest | highest")
    for row in ensemble_table(folder):
        print(f"{row['copies']:13d} | {row['groups']:6d} | {row['mean']:22.2f} | {row['min']:6.2f} | {row['max']:7.2f}")


def ensemble(args, extra: list[str]) -> None:
    command = [sys.executable, "-m", "ed_brian", "train", "--copies", str(args.copies[0]), "--train",
               str(args.train), "--test", str(args.test), "--epochs", str(args.epochs), "--hidden", str(args.hidden),
               "--device", args.device, "--out", str(args.out), "--no-progress", *extra]
    command += ["--mnist"] if args.mnist else ["--fashion"] if args.fashion else []
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)
    print_table(Path(args.out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "ensemble", "table"])
    parser.add_argument("folder", nargs="?", help="table: a packed run's results folder")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--mnist", action="store_true")
    which.add_argument("--fashion", action="store_true")
    parser.add_argument("--device", default="cpp_standalone", choices=["runtime", "cpp_standalone", "cuda_standalone"])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--trials", type=int, default=100, help="speed: trials timed per phase [%(default)s]")
    parser.add_argument("--train", type=int, default=60000, help="ensemble: training images per epoch [%(default)s]")
    parser.add_argument("--test", type=int, default=10000, help="ensemble: test images [%(default)s]")
    parser.add_argument("--epochs", type=int, default=1, help="ensemble: epochs [%(default)s]")
    parser.add_argument("--out", default="results/copies", help="ensemble: results folder [%(default)s]")
    args, extra = parser.parse_known_args()
    extra = [flag for flag in extra if flag != "--"]
    if args.what == "speed":
        speed(args, extra)
    elif args.what == "ensemble":
        ensemble(args, extra)
    else:
        if not args.folder:
            parser.error("table needs a results folder")
        print_table(Path(args.folder))


if __name__ == "__main__":
    main()
