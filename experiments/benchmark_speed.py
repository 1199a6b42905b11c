"""Training and test trials per second of the spiking ED network, on any device.

    python experiments/benchmark_speed.py --hidden 256 --device runtime --codegen cython
    python experiments/benchmark_speed.py --hidden 256 --device cpp_standalone --threads 2
    python experiments/benchmark_speed.py --hidden 256 --device cuda_standalone --train 2000

MNIST is used when found (--data-dir or $ED_BRIAN_DATA), else the bundled
Fashion-MNIST subset. Runtime: one warm-up epoch (which compiles the code),
then the training and the test trials of a second epoch are timed apart.
Standalone: one program with N training trials and one with N test trials;
the build (code generation + compilation) is timed apart from the run.
Compare with the seed (ed_multi_snn, NumPy, hidden 256, one core): 72-79 ms
per training sample and 50 ms per test sample.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from ed_brian.config import InputParams, NetworkConfig, RunConfig
from ed_brian.data import DataError, load_dataset, subset
from ed_brian.train import Trainer, train


def runtime_speed(config: RunConfig, data) -> dict[str, float]:
    trainer = Trainer(replace(config, epochs=2), data)
    warmup_train, warmup_test, train_phase, test_phase = trainer.schedule.phases
    start = time.perf_counter()
    trainer.run_trials(warmup_train.start, warmup_test.stop)
    print(f"warm-up epoch (includes compilation): {time.perf_counter() - start:.1f} s")
    timings = {}
    for phase in (train_phase, test_phase):
        start = time.perf_counter()
        trainer.run_trials(phase.start, phase.stop)
        timings[phase.kind] = (time.perf_counter() - start) / (phase.stop - phase.start)
    scores = trainer.scores(test_phase.start, test_phase.stop)
    accuracy = (scores.argmax(1) == trainer.schedule.label[test_phase.start:test_phase.stop]).mean()
    print(f"test accuracy after 2 epochs: {100 * accuracy:.2f} %")
    return timings


def standalone_speed(config: RunConfig, data, n: int) -> dict[str, float]:
    timings = {}
    for kind, (n_train, n_test) in {"train": (n, 1), "test": (1, n)}.items():
        run_config = replace(config, n_train=n_train, n_test=n_test, epochs=1)
        result = train(run_config, subset(data, n_train, n_test))
        times = result.standalone_times
        print(f"{kind} program: build {times.build_seconds:.1f} s, run {times.run_seconds:.2f} s "
              f"(train accuracy {result.epochs[0].train_accuracy:.2f} %)")
        timings[kind] = times.run_seconds / n
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--train", type=int, default=300, help="trials timed per phase")
    parser.add_argument("--device", default="runtime", choices=["runtime", "cpp_standalone", "cuda_standalone"])
    parser.add_argument("--codegen", default="cython", choices=["numpy", "cython"])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--spike_max_rate", type=float, default=150.0)
    parser.add_argument("--data-dir")
    args = parser.parse_args()

    try:
        data, name = load_dataset("mnist", args.data_dir), "mnist"
    except DataError:
        data, name = load_dataset("fashion-subset"), "fashion-subset"
    n = min(args.train, len(data.train_labels), len(data.test_labels))
    data = subset(data, n, n)
    config = RunConfig(
        network=NetworkConfig(hidden=(args.hidden,), input=InputParams(max_rate=args.spike_max_rate)),
        dataset=name, n_train=n, n_test=n, device=args.device, codegen=args.codegen, threads=args.threads,
    )
    label = args.device + (f" ({args.codegen})" if args.device == "runtime" else f" threads={args.threads}")
    print(f"dataset {name}, hidden {args.hidden}, {label}, {args.spike_max_rate:g} Hz, {n} trials per phase")
    timings = runtime_speed(config, data) if args.device == "runtime" else standalone_speed(config, data, n)
    for kind, seconds in timings.items():
        print(f"{kind:5s}: {1000 * seconds:7.2f} ms per trial, {1 / seconds:8.1f} trials per second")


if __name__ == "__main__":
    main()
