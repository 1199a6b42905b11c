"""Command line: ``ed-brian train`` with the seed's flags.

Only this module parses arguments and prints; the library returns values.
"""

from __future__ import annotations

import argparse
import sys

from ed_brian.config import ConfigError, EDParams, InputParams, LIFParams, NetworkConfig, RunConfig
from ed_brian.data import DataError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_LIF = LIFParams()
_INPUT = InputParams()
_ED = EDParams()
_RUN = RunConfig()


class UsageError(Exception):
    """Bad command-line use: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def parse_hidden(text: str) -> tuple[int, ...]:
    """'256' or '256,128' -> (256,) or (256, 128)."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes comma-separated layer sizes such as 256 or 256,128 (got {text!r})"
        ) from None
    return sizes


def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train the spiking ED network and evaluate it on a fixed test set",
        description="Train K per-class spiking networks with Error-Diffusion. Without --mnist or "
        "--fashion the bundled Fashion-MNIST subset (1000 train / 500 test images) is used.",
    )
    data = p.add_argument_group("data")
    which = data.add_mutually_exclusive_group()
    which.add_argument("--mnist", dest="dataset", action="store_const", const="mnist", help="MNIST digits")
    which.add_argument("--fashion", dest="dataset", action="store_const", const="fashion", help="Fashion-MNIST")
    data.add_argument("--data-dir", help="folder with the IDX .gz files (default: $ED_BRIAN_DATA, then the Keras cache)")
    data.add_argument("--train", type=int, default=_RUN.n_train, help="training images per epoch (the first N) [%(default)s]")
    data.add_argument("--test", type=int, default=_RUN.n_test, help="test images: the first N, the same every epoch [%(default)s]")
    data.add_argument("--no_shuffle", action="store_true", help="present training images in file order")

    net = p.add_argument_group("network")
    net.add_argument("--hidden", type=parse_hidden, default=NetworkConfig().hidden, metavar="H[,H...]",
                     help="hidden units per class network, per layer [256]")
    net.add_argument("--v_rest", type=float, default=_LIF.v_rest, help="resting potential, mV [%(default)s]")
    net.add_argument("--v_threshold", type=float, default=_LIF.v_threshold, help="threshold, mV [%(default)s]")
    net.add_argument("--v_reset", type=float, default=_LIF.v_reset, help="reset potential, mV [%(default)s]")
    net.add_argument("--tau_m", type=float, default=_LIF.tau_m, help="membrane time constant, ms [%(default)s]")
    net.add_argument("--tau_ref", type=float, default=_LIF.tau_ref, help="refractory period, ms [%(default)s]")
    net.add_argument("--R_m", type=float, default=_LIF.R_m, help="membrane resistance, MOhm [%(default)s]")
    net.add_argument("--I_bias", type=float, default=_LIF.I_bias,
                     help="tonic current into hidden and output units, nA; sets the baseline rate [%(default)s]")
    net.add_argument("--q_syn", type=float, default=_LIF.q_syn,
                     help="charge per unit of weight, pC: a spike moves v by R_m*q_syn*w/tau_m [%(default)s]")

    enc = p.add_argument_group("input encoding")
    enc.add_argument("--spike_max_rate", type=float, default=_INPUT.max_rate, help="Poisson rate of a white pixel, Hz [%(default)s]")
    enc.add_argument("--spike_sim_time", type=float, default=_INPUT.sim_time, help="duration of one trial, ms [%(default)s]")
    enc.add_argument("--spike_dt", "--dt", dest="spike_dt", type=float, default=_INPUT.dt,
                     help="simulation time step of the whole network, ms [%(default)s]")
    enc.add_argument("--spike_encoding", choices=["poisson"], default="poisson",
                     help="input spike encoding; Poisson is the one the seed used [%(default)s]")
    enc.add_argument("--independent_ei_trains", action="store_true",
                     help="give the E and I copy of a pixel independent Poisson trains (the seed shares one)")

    ed = p.add_argument_group("Error-Diffusion learning")
    ed.add_argument("--lr", type=float, default=_ED.lr, help="learning rate alpha [%(default)s]")
    ed.add_argument("--dif", type=float, default=_ED.dif, help="amine diffusion coefficient u1 [%(default)s]")
    ed.add_argument("--diffusion", choices=["seed", "uniform"], default=_ED.diffusion,
                    help="seed: hidden layer l of L gets dif**(L-l)*amine; uniform: dif*amine (Kaneko) [%(default)s]")
    ed.add_argument("--w1", type=float, default=_ED.w_min, help="initial weight magnitudes ~ U(w1, w2) [%(default)s]")
    ed.add_argument("--w2", type=float, default=_ED.w_max, help="see --w1 [%(default)s]")
    ed.add_argument("--activity_rate", type=float, default=_ED.activity_rate,
                    help="firing rate that counts as activity 1 in hidden and output units, Hz [%(default)s]")
    ed.add_argument("--input_activity", choices=["pixel", "count"], default=_ED.input_activity,
                    help="first-layer updates from the raw pixel (the seed) or the input spike count [%(default)s]")
    ed.add_argument("--ami", type=float, default=None,
                    help="accepted for compatibility; has no effect (it had none in the seed either)")
    ed.add_argument("--sig", type=float, default=None,
                    help="accepted for compatibility; has no effect: units here are LIF neurons, not sigmoids")
    ed.add_argument("--batch", type=int, default=None,
                    help="accepted for compatibility; has no effect: ED learns online, after every trial")

    run = p.add_argument_group("run")
    run.add_argument("--epochs", type=int, default=_RUN.epochs, help="[%(default)s]")
    run.add_argument("--seed", type=int, default=_RUN.seed, help="seeds NumPy and Brian2 [%(default)s]")
    run.add_argument("--codegen", choices=["auto", "numpy", "cython"], default=_RUN.codegen,
                     help="Brian2 runtime code generation target [%(default)s]")
    run.add_argument("--out", help="results folder (default: a new folder under results/)")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    run.add_argument("--verbose", action="store_true", help="per-epoch firing rates; tracebacks on errors")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ed-brian", description="Error-Diffusion learning on spiking LIF networks in Brian2")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _train_parser(sub)
    return parser


def config_from_args(args: argparse.Namespace) -> RunConfig:
    network = NetworkConfig(
        hidden=args.hidden,
        lif=LIFParams(
            v_rest=args.v_rest, v_threshold=args.v_threshold, v_reset=args.v_reset, tau_m=args.tau_m,
            tau_ref=args.tau_ref, R_m=args.R_m, I_bias=args.I_bias, q_syn=args.q_syn,
        ),
        input=InputParams(
            max_rate=args.spike_max_rate, sim_time=args.spike_sim_time, dt=args.spike_dt,
            shared_ei_trains=not args.independent_ei_trains,
        ),
        ed=EDParams(
            lr=args.lr, dif=args.dif, diffusion=args.diffusion, w_min=args.w1, w_max=args.w2,
            activity_rate=args.activity_rate, input_activity=args.input_activity,
        ),
    )
    config = RunConfig(
        network=network, dataset=args.dataset or "fashion-subset", n_train=args.train, n_test=args.test,
        epochs=args.epochs, seed=args.seed, shuffle=not args.no_shuffle, codegen=args.codegen,
    )
    config.validate()
    return config


def _progress_bar(enabled: bool, config: RunConfig):
    from tqdm import tqdm

    total = config.epochs * (config.n_train + config.n_test)
    return tqdm(total=total, unit="trial", disable=not enabled, file=sys.stderr)


def run_train(args: argparse.Namespace) -> int:
    from ed_brian import results
    from ed_brian.data import load_dataset, subset
    from ed_brian.train import train

    config = config_from_args(args)
    for flag in ("ami", "sig", "batch"):
        if getattr(args, flag) is not None:
            print(f"ed-brian: note: --{flag} has no effect in the spiking model (see --help)", file=sys.stderr)
    dataset = subset(load_dataset(config.dataset, args.data_dir), config.n_train, config.n_test)
    folder = results.new_results_dir(args.out)
    results.write_config(folder, config, dataset_source=dataset.source)
    print(f"results: {folder}", file=sys.stderr)

    bar = _progress_bar(args.progress, config)
    done_before = {"trials": 0}
    history = []

    def on_progress(phase, completed):
        current = phase.start + int(round(completed * (phase.stop - phase.start)))
        bar.update(max(0, current - done_before["trials"]))
        done_before["trials"] = max(done_before["trials"], current)
        bar.set_description(f"epoch {phase.epoch} {phase.kind}")

    def on_epoch(metrics):
        history.append(metrics)
        results.write_metrics(folder, history)
        line = (f"epoch {metrics.epoch:3d}  train {metrics.train_accuracy:6.2f} %  "
                f"test {metrics.test_accuracy:6.2f} %  {metrics.seconds:7.1f} s")
        if args.verbose:
            line += "  rates " + " ".join(f"{k} {v:.1f} Hz" for k, v in metrics.mean_rates.items())
        bar.write(line, file=sys.stdout)

    try:
        result = train(config, dataset, on_epoch=on_epoch, on_progress=on_progress)
    finally:
        bar.close()
    results.save_weights(folder, result.weights)
    best = max(m.test_accuracy for m in result.epochs)
    print(f"final test accuracy {result.epochs[-1].test_accuracy:.2f} % (best {best:.2f} %); saved in {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    verbose = "--verbose" in (argv if argv is not None else sys.argv[1:])
    try:
        args = parser.parse_args(argv)
        if args.command == "train":
            return run_train(args)
    except (UsageError, ConfigError, DataError) as error:
        if verbose:
            raise
        print(f"ed-brian: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ed-brian: interrupted; the results folder keeps the epochs finished so far", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
