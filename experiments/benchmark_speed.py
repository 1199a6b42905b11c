"""Training and test trials per second of the spiking ED network.

    python experiments/benchmark_speed.py --hidden 256 --codegen cython

Builds the network on MNIST (or the bundled Fashion-MNIST subset when no data
is found), runs one warm-up epoch (which also compiles the generated code) and
then times the training and the test trials of a second epoch separately.
Compare with the seed (ed_multi_snn, NumPy, hidden 256): 72-79 ms per training
sample, 50 ms per test sample on this kind of machine.
"""

from __future__ import annotations

import argparse
import time

from ed_brian.config import InputParams, NetworkConfig, RunConfig
from ed_brian.data import DataError, load_dataset, subset
from ed_brian.train import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--codegen", default="cython", choices=["numpy", "cython"])
    parser.add_argument("--spike_max_rate", type=float, default=150.0)
    parser.add_argument("--data-dir")
    args = parser.parse_args()

    try:
        data, name = load_dataset("mnist", args.data_dir), "mnist"
    except DataError:
        data, name = load_dataset("fashion-subset"), "fashion-subset"
    data = subset(data, args.train, args.test)
    config = RunConfig(
        network=NetworkConfig(hidden=(args.hidden,), input=InputParams(max_rate=args.spike_max_rate)),
        dataset=name, n_train=args.train, n_test=args.test, epochs=2, codegen=args.codegen,
    )
    start = time.perf_counter()
    trainer = Trainer(config, data)
    build = time.perf_counter() - start
    warmup_train, warmup_test, train_phase, test_phase = trainer.schedule.phases
    start = time.perf_counter()
    trainer.run_phase(warmup_train)
    trainer.run_phase(warmup_test)
    warmup = time.perf_counter() - start
    timings = {}
    for phase in (train_phase, test_phase):
        start = time.perf_counter()
        trainer.run_phase(phase)
        timings[phase.kind] = (time.perf_counter() - start) / (phase.stop - phase.start)
    print(f"dataset {name}, hidden {args.hidden}, codegen {args.codegen}, {args.spike_max_rate:g} Hz")
    print(f"network build {build:.1f} s, warm-up epoch (includes compilation) {warmup:.1f} s")
    for kind, seconds in timings.items():
        print(f"{kind:5s}: {1000 * seconds:6.1f} ms per trial, {1 / seconds:6.1f} trials per second")


if __name__ == "__main__":
    main()
