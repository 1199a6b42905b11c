"""How much input noise at test time costs: trained weights tested at other input rates.

    python experiments/test_noise.py results/accuracy-best/fashion-seed1 --factors 1 2 4

For each factor f the run's weights are tested on its fixed test set with the
input rate times f and the charge per spike divided by f: the same mean drive,
1/f of the Poisson variance. A different Brian2 seed from the run's (``--seed``,
default the run's + 100) gives a fresh Poisson draw, so factor 1 measures how
much one test draw varies. Learning is off; nothing in the run folder changes.
"""

from __future__ import annotations

import argparse
import time

import ed_brian


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a results folder (config.json and weights.npz)")
    parser.add_argument("--factors", nargs="+", type=float, default=[1.0, 2.0])
    parser.add_argument("--seed", type=int, help="Brian2 seed of the test runs [the run's + 100]")
    parser.add_argument("--device", help="device to test on [the run's]")
    args = parser.parse_args()

    run = ed_brian.load_run(args.run)
    config = run.config if args.device is None else run.config.replace(device=args.device)
    data = ed_brian.load_data(config)
    rate, charge = config.network.input.max_rate, config.network.lif.q_syn
    seed = config.seed + 100 if args.seed is None else args.seed
    for factor in args.factors:
        if not factor > 0:
            parser.error(f"--factors must be > 0 (got {factor:g})")
        start = time.perf_counter()
        accuracy = ed_brian.evaluate(config.replace(spike_max_rate=rate * factor, q_syn=charge / factor, seed=seed),
                                     data, run.weights)
        print(f"rate x{factor:g} ({rate * factor:g} Hz, q_syn {charge / factor:g} pC): {accuracy:.2f} % "
              f"on {config.test} test images ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
