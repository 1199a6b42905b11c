"""Training and test trials per second of the spiking ED network, per device.

    python experiments/benchmark.py --mnist --device cpp_standalone --hidden 256 --trials 200 --json
    python experiments/benchmark.py --mnist --device runtime --codegen cython --profile
    python experiments/benchmark.py --mnist --device cuda_standalone --trials 2000 --json

The dataset is MNIST (--data-dir or $ED_BRIAN_DATA) with --mnist, Fashion-MNIST
with --fashion, else the bundled Fashion-MNIST subset. The image table holds
the timed images only, unless --full-table keeps every image as a
full-dataset run does (for the memory figure).

Runtime: the network is built and one training trial run (this compiles the
code: build_seconds), then N training and N test trials are timed apart.
Standalone: one program of N training trials and one of N test trials; the
build (code generation and compilation) is timed apart from the run, and the
simulation loop (Brian2's last run time) apart from the program's start-up
(loading arrays, creating synapses; on a GPU, the CUDA context).
--profile adds Brian2's time per code object, summed into Poisson input,
input relay, synaptic propagation, state update (with threshold and reset)
and learning. With --json the last line is one JSON object.

The seed (ed_multi_snn, NumPy, hidden 256, one core) took 72-79 ms per
training sample and 50 ms per test sample.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from brian2 import get_device, prefs

from ed_brian.config import LIF_GROUPINGS, RELAY_INPUTS, Config, DeviceForms
from ed_brian.data import DataError, Dataset, load_dataset, subset
from ed_brian.schedule import Phase, Schedule
from ed_brian.memory import measure_program_memory, program_peak_mb
from ed_brian.train import Trainer


def timed_schedule(data: Dataset, n_train: int, n_test: int) -> Schedule:
    """n_train training trials on the first training images, then n_test test trials."""
    image = np.concatenate([np.arange(n_train), len(data.train_labels) + np.arange(n_test)])
    labels = np.concatenate([data.train_labels, data.test_labels]).astype(np.int64)
    learn = np.concatenate([np.ones(n_train), np.zeros(n_test)])
    phases = (Phase(1, "train", 0, n_train), Phase(1, "test", n_train, n_train + n_test))
    return Schedule(image, labels[image], learn, phases)


def profile_split(profiling_info) -> dict[str, float]:
    """Seconds per part of the model, from Brian2's (code object, seconds) pairs."""
    split = defaultdict(float)
    for name, seconds in profiling_info:
        seconds = float(seconds)
        if name.startswith("poisson"):
            part = "poisson_input"
        elif any(key in name for key in ("boundary", "learn", "stats")):
            part = "learning"
        elif name.startswith("relay") and "_to_" not in name:
            part = "input_relay"
        elif name.startswith("relay_to_feature"):
            part = "feature_propagation"
        elif "_to_" in name:
            part = "synaptic_propagation"
        elif any(key in name for key in ("stateupdater", "thresholder", "resetter", "spikemonitor")):
            part = "state_update"
        else:
            part = "other"
        split[part] += seconds
    return dict(split)


def peak_rss_self_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def runtime_speed(config: Config, data: Dataset, n: int, profile: bool) -> dict:
    start = time.perf_counter()
    trainer = Trainer(config, data, schedule=timed_schedule(data, n + 1, n), profile=profile)
    train_phase, test_phase = trainer.schedule.phases
    trainer.run_span(0, 1)
    trainer.profile_seconds.clear()
    out = {"build_seconds": time.perf_counter() - start, "profile": {}}
    for phase, first in ((train_phase, 1), (test_phase, test_phase.start)):
        began = time.perf_counter()
        trainer.run_span(first, phase.stop)
        out[f"{phase.kind}_ms_per_trial"] = 1000 * (time.perf_counter() - began) / (phase.stop - first)
        if profile:
            out["profile"][phase.kind] = profile_split(trainer.profile_seconds.items())
            trainer.profile_seconds.clear()
    return out


def standalone_speed(config: Config, data: Dataset, n: int, profile: bool, wait_policy: str | None = None) -> dict:
    out = {"build_seconds": 0.0, "profile": {}, "peak_rss_program_mb": 0.0}
    measure_program_memory()
    for kind, (n_train, n_test) in {"train": (n, 1), "test": (1, n)}.items():
        trainer = Trainer(config, data, schedule=timed_schedule(data, n_train, n_test), profile=profile)
        if wait_policy:  # after the device's own set-up, which asks for passive waiting
            prefs.devices.cpp_standalone.run_environment_variables["OMP_WAIT_POLICY"] = wait_policy
        trainer.queue_all()
        times = trainer.build_and_run()
        out["build_seconds"] += times.build_seconds
        out[f"{kind}_ms_per_trial"] = 1000 * times.run_seconds / n
        loop_seconds = get_device()._last_run_time
        out[f"{kind}_loop_ms_per_trial"] = 1000 * loop_seconds / n
        out["peak_rss_program_mb"] = max(out["peak_rss_program_mb"], program_peak_mb(trainer.project_dir))
        print(f"{kind} program: build {times.build_seconds:.1f} s, run {times.run_seconds:.2f} s "
              f"(simulation loop {loop_seconds:.2f} s)")
        if profile:
            out["profile"][kind] = profile_split(trainer.net.network.profiling_info)
    return out


def load(args) -> tuple[Dataset, str]:
    if args.mnist or args.fashion:
        name = "mnist" if args.mnist else "fashion"
        return load_dataset(name, args.data_dir), name
    try:
        return load_dataset("mnist", args.data_dir), "mnist"
    except DataError:
        return load_dataset("fashion-subset"), "fashion-subset"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--mnist", action="store_true")
    which.add_argument("--fashion", action="store_true")
    parser.add_argument("--data-dir")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--features", type=int, default=0, help="a fixed random feature layer of N pairs [0: none]")
    parser.add_argument("--copies", type=int, default=1, help="packed copies of the network [%(default)s]")
    parser.add_argument("--trials", type=int, default=300, help="trials timed per phase [%(default)s]")
    parser.add_argument("--device", default="runtime", choices=["runtime", "cpp_standalone", "cuda_standalone"])
    parser.add_argument("--codegen", default="cython", choices=["numpy", "cython"])
    parser.add_argument("--threads", type=int, default=0, help="OpenMP threads (cpp_standalone) [%(default)s]")
    parser.add_argument("--omp-wait-policy", choices=["passive", "active"],
                        help="OMP_WAIT_POLICY of the program [passive, as ed-brian runs it]")
    parser.add_argument("--learning", default="auto", choices=["auto", "event", "dense"])
    # Forms left open are the device's fastest, as on the command line (DeviceForms).
    parser.add_argument("--cuda-fixed-grid", action=argparse.BooleanOptionalAction, default=None,
                        help="cuda_standalone: spike propagation without per-step host copies [on for cuda_standalone]")
    parser.add_argument("--relay_input", choices=RELAY_INPUTS,
                        help="Poisson spikes reach the relay through Synapses or a linked variable "
                        "[linked on cuda_standalone, else synapses]")
    parser.add_argument("--lif_groups", choices=LIF_GROUPINGS,
                        help="a NeuronGroup per LIF layer, or one for all of them [one on cuda_standalone, else layer]")
    parser.add_argument("--spike_max_rate", type=float, default=150.0)
    parser.add_argument("--float32", action="store_true",
                        help="single precision for every state variable (prefs.core.default_float_dtype)")
    parser.add_argument("--full-table", action="store_true", help="keep every image in the table, as a full run does")
    parser.add_argument("--profile", action="store_true", help="Brian2's time per part of the model")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = parser.parse_args()
    if args.trials < 2:
        parser.error("--trials must be at least 2")

    forms = DeviceForms.fastest(args.device, "lif").with_named(args.relay_input, args.lif_groups, args.cuda_fixed_grid)
    if args.float32:
        prefs.core.default_float_dtype = np.float32
    data, name = load(args)
    n = min(args.trials, len(data.train_labels) - 1, len(data.test_labels))
    if not args.full_table:
        data = subset(data, n + 1, n)
    # The timed schedule below replaces the one train/test would make from these sizes.
    config = Config(hidden=args.hidden, lif_groups=forms.lif_groups, spike_max_rate=args.spike_max_rate,
                    relay_input=forms.relay_input, learning=args.learning, dataset=name, device=args.device,
                    codegen=args.codegen, threads=args.threads, cuda_fixed_grid=forms.cuda_fixed_grid,
                    no_shuffle=True, copies=args.copies, features=args.features)
    label = args.device + (f" ({args.codegen})" if args.device == "runtime" else f", threads {args.threads}")
    label += ", fixed grid" if forms.cuda_fixed_grid else ""
    label += f", relay input {forms.relay_input}, LIF groups: {forms.lif_groups}"
    label += f", {args.copies} copies" if args.copies > 1 else ""
    label += f", {args.features} features" if args.features else ""
    print(f"{name}, hidden {args.hidden}, {label}, learning {args.learning}, {n} trials per phase, "
          f"{len(data.train_labels) + len(data.test_labels)} images in the table")
    if args.device == "runtime":
        result = runtime_speed(config, data, n, args.profile)
    else:
        result = standalone_speed(config, data, n, args.profile, args.omp_wait_policy)
    result["peak_rss_self_mb"] = peak_rss_self_mb()
    print(f"build: {result['build_seconds']:.1f} s")
    for kind in ("train", "test"):
        ms = result[f"{kind}_ms_per_trial"]
        print(f"{kind:5s}: {ms:7.2f} ms per trial, {1000 / ms:8.1f} trials per second")
        split = result["profile"].get(kind)
        if split:
            total = sum(split.values())
            print("       " + ", ".join(f"{part} {100 * t / total:.0f} %" for part, t in
                                       sorted(split.items(), key=lambda item: -item[1])))
    program = result.get("peak_rss_program_mb")
    print(f"peak resident memory: {result['peak_rss_self_mb']:.0f} MB (Python)"
          + (f", {program:.0f} MB (standalone program)" if program else ""))
    if args.json:
        print(json.dumps({"device": args.device, "codegen": args.codegen if args.device == "runtime" else None,
                          "threads": args.threads, "omp_wait_policy": args.omp_wait_policy or "passive",
                          "hidden": args.hidden, "copies": args.copies, "features": args.features,
                          "dataset": name, "trials": n,
                          "learning": args.learning, "float32": args.float32,
                          **dataclasses.asdict(forms), **result}))


if __name__ == "__main__":
    main()
