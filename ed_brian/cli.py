"""Command line: ``ed-brian train | evaluate | export | collect | plot | sweep``.

Only this module parses arguments and prints; the library returns values.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ed_brian.config import (
    HIDDEN_DERIVATIVES, LIF_GROUPINGS, LR_SCHEDULES, PARAMETERS, RELAY_INPUTS, Config, ConfigError, DeviceForms,
    EDParams, InputParams, LIFParams, NetworkConfig, inert_parameters, same_value,
)
from ed_brian.data import DataError
from ed_brian.devices import CODEGEN_TARGETS, DEVICES, DeviceError, DeviceSpec, ProgramStopped, threads_warning
from ed_brian.results import ResultsError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_LIF = LIFParams()
_INPUT = InputParams()
_ED = EDParams()
_RUN = Config()


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


def per_copy(kind):
    """An argparse type: one number, or one per packed copy, comma-separated (kept as text for Config)."""

    def parse(text: str):
        try:
            return kind(text) if "," not in text else ",".join(str(kind(part)) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"takes a number, or one per copy comma-separated such as 0.1,0.2 (got {text!r})") from None

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    """The seed's flags and ours: data, network, encoding, learning, run, device."""
    data = p.add_argument_group("data")
    which = data.add_mutually_exclusive_group()
    which.add_argument("--mnist", dest="dataset", action="store_const", const="mnist", help="MNIST digits")
    which.add_argument("--fashion", dest="dataset", action="store_const", const="fashion", help="Fashion-MNIST")
    data.add_argument("--data-dir", help="folder with the IDX .gz files (default: $ED_BRIAN_DATA, then the Keras cache)")
    data.add_argument("--train", type=int, default=_RUN.n_train,
                      help="training images per epoch: the first N, or N drawn from --train_pool [%(default)s]")
    data.add_argument("--train_pool", type=int, default=_RUN.train_pool, metavar="N",
                      help="draw the --train images afresh every epoch from the first N training images, "
                      "as the seed did (0: the same first --train images every epoch) [%(default)s]")
    data.add_argument("--test", type=int, default=_RUN.n_test, help="test images: the first N, the same every epoch [%(default)s]")
    data.add_argument("--no_shuffle", action="store_true", help="present training images in file order")

    net = p.add_argument_group("network")
    net.add_argument("--model", choices=["lif", "simple", "frelu"], default=_RUN.model,
                     help="lif: the full model (models/lif.py); simple: the same network with one hidden "
                     "layer, written to be read (models/simple.py); frelu: spiking input, FReLU rate "
                     "hidden and output units (models/frelu.py) [%(default)s]")
    net.add_argument("--input_fraction", type=float, default=NetworkConfig().input_fraction,
                    help="fraction of the input relay each first-layer unit receives (a fixed "
                    "pseudo-random pattern; weights scaled to keep the mean drive) [%(default)s]")
    net.add_argument("--hidden", type=parse_hidden, default=NetworkConfig().hidden, metavar="H[,H...]",
                     help="hidden units per class network, per layer [256]")
    _NET = NetworkConfig()
    net.add_argument("--features", type=int, default=_NET.features, metavar="N",
                     help="a fixed random feature layer: N pairs of LIF units between the relay and the class "
                     "networks, each driven by a random projection of the image through a threshold; the class "
                     "networks learn from them by ED (0: none, the relay reaches them directly) [%(default)s]")
    net.add_argument("--feature_seed", type=int, default=_NET.feature_seed,
                     help="seed of the features' random projections [%(default)s]")
    net.add_argument("--feature_active", type=float, default=_NET.feature_active, metavar="F",
                     help="fraction of the features an image drives: thresholds at that quantile of the first "
                     "training images' projections [%(default)s]")
    net.add_argument("--feature_drive", type=float, default=_NET.feature_drive, metavar="MV",
                     help="how far one standard deviation of a feature's projection moves its resting point, "
                     "mV [%(default)s]")
    net.add_argument("--feature_smoothing", type=float, default=_NET.feature_smoothing, metavar="PX",
                     help="blur each random projection by a Gaussian of PX pixels: smooth projections read the "
                     "images' large-scale differences, which Poisson input carries with less noise (0: none) "
                     "[%(default)s]")
    net.add_argument("--feature_tau_m", type=float, default=_NET.feature_tau_m, metavar="MS",
                     help="membrane time constant of the feature units, ms: longer sums the input over more "
                     "of the trial [%(default)s]")
    net.add_argument("--lif_groups", choices=LIF_GROUPINGS, default=None,
                     help="layer: a NeuronGroup per LIF layer; one: the hidden and output units in one NeuronGroup, "
                     "each layer a Subgroup (the same numbers; on a GPU four kernels fewer per time step for each "
                     "layer merged) [one on cuda_standalone with --model lif, else layer]")
    net.add_argument("--v_rest", type=float, default=_LIF.v_rest, help="resting potential, mV [%(default)s]")
    net.add_argument("--v_threshold", type=float, default=_LIF.v_threshold, help="threshold, mV [%(default)s]")
    net.add_argument("--v_reset", type=float, default=_LIF.v_reset, help="reset potential, mV [%(default)s]")
    net.add_argument("--tau_m", type=float, default=_LIF.tau_m, help="membrane time constant, ms [%(default)s]")
    net.add_argument("--tau_ref", type=float, default=_LIF.tau_ref, help="refractory period, ms [%(default)s]")
    net.add_argument("--R_m", type=float, default=_LIF.R_m, help="membrane resistance, MOhm [%(default)s]")
    net.add_argument("--I_bias", type=per_copy(float), default=_LIF.I_bias,
                     help="tonic current into hidden and output units, nA; 0.7 rests just below threshold, "
                     "more fires tonically [%(default)s]")
    net.add_argument("--I_bias_spread", type=float, default=_LIF.I_bias_spread, metavar="NA",
                     help="heterogeneous hidden units: their tonic currents spread evenly over I_bias +/- NA/2 "
                     "(a fixed pattern), so they sit at different distances from threshold; 0 for none [%(default)s]")
    net.add_argument("--q_syn", type=float, default=_LIF.q_syn,
                     help="charge per unit of weight, pC: a spike moves v by R_m*q_syn*w/tau_m [%(default)s]")

    enc = p.add_argument_group("input encoding")
    enc.add_argument("--spike_max_rate", type=float, default=_INPUT.max_rate, help="Poisson rate of a white pixel, Hz [%(default)s]")
    enc.add_argument("--spike_sim_time", type=float, default=_INPUT.sim_time, help="duration of one trial, ms [%(default)s]")
    enc.add_argument("--spike_dt", "--dt", dest="spike_dt", type=float, default=_INPUT.dt,
                     help="simulation time step of the whole network, ms [%(default)s]")
    enc.add_argument("--spike_encoding", choices=["poisson"], default="poisson",
                     help="input spike encoding; Poisson is the one the seed used [%(default)s]")
    enc.add_argument("--relay_input", choices=RELAY_INPUTS, default=None,
                     help="how Poisson spikes reach the input relay: a PoissonGroup and Synapses, or per-pixel "
                     "draws the relay reads through a linked variable (the same spikes; on a GPU two kernels "
                     "and a host copy fewer per time step) [linked on cuda_standalone with --model lif, else synapses]")
    enc.add_argument("--shift", type=int, default=_INPUT.max_shift, metavar="N",
                     help="augmentation: every training trial shows its image moved by up to N pixels along x "
                     "and along y, a fresh offset each trial; test images never move (--model lif) [%(default)s]")
    enc.add_argument("--independent_ei_trains", action="store_true",
                     help="give the E and I copy of a pixel independent Poisson trains (the seed shares one)")

    ed = p.add_argument_group("Error-Diffusion learning")
    ed.add_argument("--lr", type=per_copy(float), default=_ED.lr, help="learning rate alpha [%(default)s]")
    ed.add_argument("--lr_decay", type=per_copy(float), default=_ED.lr_decay,
                    help="epoch e learns with lr * lr_decay**(e-1); 1 keeps lr constant (the seed) [%(default)s]")
    ed.add_argument("--lr_schedule", choices=list(LR_SCHEDULES), default=_ED.lr_schedule,
                    help="epoch: the factor lr_decay**(e-1) steps down at each epoch; smooth: it falls "
                    "trial by trial, lr_decay**(e-1 + j/n) at the j-th of an epoch's n training trials, "
                    "so a one-epoch run anneals too [%(default)s]")
    ed.add_argument("--dif", type=per_copy(float), default=_ED.dif, help="amine diffusion coefficient u1 [%(default)s]")
    ed.add_argument("--diffusion", choices=["seed", "uniform"], default=_ED.diffusion,
                    help="seed: hidden layer l of L gets dif**(L-l)*amine; uniform: dif*amine (Kaneko) [%(default)s]")
    ed.add_argument("--w1", type=per_copy(float), default=_ED.w_min, help="initial weight magnitudes ~ U(w1, w2) [%(default)s]")
    ed.add_argument("--w2", type=per_copy(float), default=_ED.w_max, help="see --w1 [%(default)s]")
    ed.add_argument("--hidden_derivative", choices=list(HIDDEN_DERIVATIVES), default=_ED.hidden_derivative,
                    help="f'(a) of the hidden units in the rule: smoothed, s(1-s) for every unit as a sigmoid's "
                    "derivative; active, the same for units that fired in the trial and 0 for silent ones, as a "
                    "rectifier's, so a unit learns only from inputs that drive it (--model lif) [%(default)s]")
    ed.add_argument("--w_bound", type=float, default=_ED.w_bound,
                    help="soft bound on weight magnitudes: each update is scaled by (1 - w/w_bound), so growth "
                    "slows near w_bound and stops there; 0 for none, as Kaneko and the seed [%(default)s]")
    ed.add_argument("--bias_rate", type=float, default=_ED.bias_rate, metavar="HZ",
                    help="Kaneko's bias units: an E and an I unit firing regularly at HZ, with learned synapses "
                    "onto every hidden and output unit (--model lif); 0 for none, as the seed [%(default)s]")
    ed.add_argument("--activity_rate", type=float, default=_ED.activity_rate,
                    help="firing rate that counts as activity 1 in hidden and output units, Hz [%(default)s]")
    ed.add_argument("--input_activity", choices=["pixel", "count"], default=_ED.input_activity,
                    help="first-layer updates from the raw pixel (the seed) or the input spike count [%(default)s]")
    ed.add_argument("--output_error", choices=["clipped", "smoothed"], default=_ED.output_error,
                    help="output activity the error is taken from: min(count/n_ref, 1), or "
                    "(count+1/2)/(n_ref+1), which never reaches 0 or 1, so correct outputs keep "
                    "learning a margin [%(default)s]")
    ed.add_argument("--readout", choices=["count", "drive"], default=_ED.readout,
                    help="prediction from the output spike counts, or from the net synaptic input "
                    "each output unit received in the trial [%(default)s]")
    ed.add_argument("--learning", choices=["auto", "event", "dense"], default=_ED.learning,
                    help="event: updates only for units active in the trial; dense: every synapse at "
                    "every boundary. Same numbers; auto: event for --model lif (faster on every device), dense for the "
                    "other models [%(default)s]")
    ed.add_argument("--ami", type=float, default=None,
                    help="accepted for compatibility; has no effect (it had none in the seed either)")
    ed.add_argument("--sig", type=float, default=None,
                    help="FReLU slope u0 for --model frelu [1.2]; has no effect on the LIF models, whose units "
                    "are neurons, not sigmoids")
    ed.add_argument("--batch", type=int, default=None,
                    help="accepted for compatibility; has no effect: ED learns online, after every trial")

    run = p.add_argument_group("run")
    # None tells "not given" apart, so that --resume can take it as a new length.
    run.add_argument("--epochs", type=int, default=None,
                     help=f"[{_RUN.epochs}]; with --resume, a new length: a finished run is extended")
    run.add_argument("--seed", type=int, default=_RUN.seed,
                     help="seeds the Poisson input spikes, the training order and, without --weight_seed, "
                     "the initial weights [%(default)s]")
    run.add_argument("--weight_seed", type=per_copy(int), default=None,
                     help="seeds the initial weights [--seed]; copy c of --copies gets weight_seed + c, "
                     "or give one seed per copy, comma-separated")
    run.add_argument("--copies", type=int, default=_RUN.copies, metavar="N",
                     help="train N independent ED networks packed in one Brian2 network and one program "
                     "(--model lif): they share the input spikes, the training order and every parameter "
                     "except --lr, --lr_decay, --dif, --w1, --w2, --I_bias and --weight_seed, which take one "
                     "value per copy, comma-separated. Results per copy (RESULTS_DIR/copy_<c>/) and of "
                     "the ensemble, which votes with the summed output spike counts [%(default)s]")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    run.add_argument("--verbose", action="store_true", help="per-epoch firing rates; tracebacks on errors")
    run.add_argument("--init-weights", metavar="FILE",
                     help="start from saved weights (weights.npz of any run, on any device)")

    dev = p.add_argument_group("device")
    dev.add_argument("--device", choices=list(DEVICES), default=_RUN.device,
                     help="Brian2 device: runtime (default, no compiler set-up), cpp_standalone, "
                     "cuda_standalone (needs brian2cuda and a GPU) [%(default)s]")
    dev.add_argument("--codegen", choices=list(CODEGEN_TARGETS), default=_RUN.codegen,
                     help="runtime code generation target [%(default)s]")
    dev.add_argument("--threads", type=int, default=_RUN.threads,
                     help="OpenMP threads for cpp_standalone; 0 = none. Measured slower, not faster, on this "
                     "network (2 cores, MNIST training trials: hidden 256 7.2 ms without, 12.3 ms with 1 thread, "
                     "24.5 ms with 2; hidden 1024 50.8 / 69.7 / 70.5 ms): every code object opens a parallel "
                     "region at every 1 ms step, which costs more than the work it splits, and spike propagation "
                     "then takes Brian2's spike queue instead of ed-brian's direct read [%(default)s]")
    dev.add_argument("--cuda-fixed-grid", action=argparse.BooleanOptionalAction, default=None,
                     help="cuda_standalone: launch spike propagation over a fixed grid, without copying "
                     "each step's spike counts to the host (brian2cuda does, three times per step) "
                     "[on for cuda_standalone with --model lif]")
    dev.add_argument("--project-dir", help="standalone project folder (default: a cache folder per network shape)")
    dev.add_argument("--no-memory-check", action="store_true",
                     help="run even when the memory estimate (synapses, image table; --verbose prints it) "
                     "exceeds the memory available, which is refused otherwise")


def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train the spiking ED network and evaluate it on a fixed test set",
        description="Train K per-class spiking networks with Error-Diffusion. Without --mnist or "
        "--fashion the bundled Fashion-MNIST subset (1000 train / 500 test images) is used.",
    )
    _add_run_flags(p)
    p.add_argument("--out", help="results folder (default: a new folder under results/)")
    p.add_argument("--resume", metavar="RESULTS_DIR",
                   help="continue an interrupted run from its checkpoint with its own flags "
                   "(other flags given must repeat them)")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                   help="also checkpoint every N trials (runtime device; default: after every epoch)")
    rec = p.add_argument_group("recording and figures")
    rec.add_argument("--record-trials", metavar="START:STOP",
                     help="record membrane traces and spikes in these trials (of the whole run; none by default)")
    rec.add_argument("--record-layers", default="hidden,output",
                     help="layers to record: input, hidden, output [%(default)s]")
    rec.add_argument("--record-neurons", default="0:20", metavar="START:STOP",
                     help="neurons of each layer whose membrane is recorded [%(default)s]")
    rec.add_argument("--viz", action="store_true",
                     help="learning curves after every epoch (a window when a display exists; always saved)")
    rec.add_argument("--heatmap", action="store_true",
                     help="spike-activity heatmaps of recorded trials (default: the first 3 of the last test set)")
    rec.add_argument("--save_fig", nargs="?", const="", default=None, metavar="DIR",
                     help="save every figure at the end (default DIR: RESULTS_DIR/figures)")


def _other_parsers(sub) -> None:
    p = sub.add_parser("plot", help="redraw every figure of a finished run",
                       description="Draw learning curves, weights, confusion matrix, amines and, when the run "
                       "recorded them, rasters, membrane traces and heatmaps, from RESULTS_DIR's files.")
    p.add_argument("results_dir")
    p.add_argument("--out", help="folder for the figures [RESULTS_DIR/figures]")
    p.add_argument("--format", choices=["png", "pdf"], default="png")
    p.add_argument("--verbose", action="store_true")

    p = sub.add_parser("evaluate", help="test accuracy of a finished run's weights, on any device",
                       description="Load RESULTS_DIR/config.json and weights.npz and measure the accuracy "
                       "on the fixed test set with learning off.")
    p.add_argument("results_dir")
    p.add_argument("--device", choices=list(DEVICES), default=None, help="device to evaluate on [the run's]")
    p.add_argument("--codegen", choices=list(CODEGEN_TARGETS), default=None)
    p.add_argument("--data-dir")
    p.add_argument("--test", type=int, default=None, help="first N test images [the run's --test]")
    p.add_argument("--repeats", type=int, default=1, metavar="R",
                   help="show each test image R times, with fresh Poisson spikes each time, and sum the output "
                   "counts of its R presentations (a look R times as long; R times the test trials) [1]")
    p.add_argument("--project-dir")
    p.add_argument("--verbose", action="store_true")

    p = sub.add_parser("vote", help="test accuracy of finished runs voting together",
                       description="Sum the output spike counts of finished runs (other seeds, parameters or "
                       "devices) on their common test set and report the ensemble's accuracy beside each run's.")
    p.add_argument("results_dirs", nargs="+", metavar="RESULTS_DIR")
    p.add_argument("--repeats", type=int, default=1, metavar="R",
                   help="vote with each run's kept test in which every image was shown R times (written by "
                   "ed-brian evaluate RESULTS_DIR --repeats R) [1: the runs' own test]")
    p.add_argument("--verbose", action="store_true")

    p = sub.add_parser("sweep", help="train a grid of parameter values and seeds on a Dask cluster",
                       description="Every combination of the --grid values, for each of --seeds seeds, trained "
                       "with the other flags as given; one results folder per point, summary.csv and "
                       "accuracy.png in --out. A stopped sweep resumes: finished points are not rerun.")
    _add_run_flags(p)
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                   help="a swept flag and its values, e.g. lr=0.1,0.2 or hidden=64,128x32; repeat for more")
    p.add_argument("--seeds", type=int, default=1, help="seeds per point: --seed, --seed+1, ... [%(default)s]")
    p.add_argument("--workers", type=int, default=0, help="local Dask workers [one per core]")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler instead of a local cluster")
    p.add_argument("--allow-inert-axes", action="store_true",
                   help="run a --grid axis even when it cannot change any point (e.g. dif with one hidden layer "
                   "and --diffusion seed), which is refused otherwise")
    p.add_argument("--out", required=True, help="sweep folder")
    p.add_argument("--pack", type=int, default=1, metavar="N",
                   help="run up to N points that differ only in --lr, --lr_decay, --dif, --w1, --w2 or --I_bias "
                   "(and share their seed) as the packed copies of one network and program (see train "
                   "--copies); every point's results are those it has alone [%(default)s]")

    p = sub.add_parser("export", help="write a self-contained standalone C++/CUDA project of a training run",
                       description="Generate a cpp_standalone or cuda_standalone project that builds with "
                       "make, runs without Python and writes its results to files; see DIR/README.md.")
    _add_run_flags(p)
    p.add_argument("--out", required=True, help="project folder to write")

    p = sub.add_parser("collect", help="read the results of an exported project that has run",
                       description="Compute per-epoch accuracies and write metrics.csv and weights.npz "
                       "in an exported project folder after its ./main has run.")
    p.add_argument("project_dir")
    p.add_argument("--verbose", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ed-brian", description="Error-Diffusion learning on spiking LIF networks in Brian2")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _train_parser(sub)
    _other_parsers(sub)
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    """The Config of the parsed flags: every flag is the Config parameter of its name."""
    forms = DeviceForms.fastest(args.device, args.model).with_named(
        args.relay_input, args.lif_groups, args.cuda_fixed_grid)
    # Flags left at None (--epochs, --sig, no dataset flag) take Config's defaults.
    given = {name: getattr(args, name) for name in PARAMETERS if getattr(args, name, None) is not None}
    given.update(relay_input=forms.relay_input, lif_groups=forms.lif_groups, cuda_fixed_grid=forms.cuda_fixed_grid)
    return Config(**given)


def _progress_bar(enabled: bool, config: Config):
    from tqdm import tqdm

    total = config.epochs * (config.n_train + config.n_test)
    return tqdm(total=total, unit="trial", disable=not enabled, file=sys.stderr)


def _load_data(config: Config, data_dir):
    from ed_brian.data import load_run_data

    return load_run_data(config, data_dir)


def _load_weights(path, config=None):
    """The weights file (or run folder) ``path``, validated; with ``config``, also its shape.

    A missing, damaged or foreign file raises ResultsError naming it.
    """
    from ed_brian.results import load_weights

    if path is None:
        return None
    weights = load_weights(path)
    if config is not None:
        _check_shapes(Path(path), weights, config)
    return weights


def _check_shapes(path: Path, weights, config: Config) -> None:
    from ed_brian.network import check_weight_shapes, expected_synapse_counts

    try:
        check_weight_shapes(weights, expected_synapse_counts(config.network, config.copies))
    except ConfigError as error:
        raise ResultsError(f"{path}: {error}") from None


def _config_and_data(args, compile: bool = True):
    from ed_brian.devices import require

    config = config_from_args(args)
    require(DeviceSpec.of(config, compile=compile))
    weights = _load_weights(args.init_weights, config)
    for flag in ("ami", "batch"):
        if getattr(args, flag) is not None:
            print(f"ed-brian: note: --{flag} has no effect in the spiking model (see --help)", file=sys.stderr)
    for name, reason in inert_parameters(config, getattr(args, "named_flags", ())).items():
        print(f"ed-brian: note: --{name} changes nothing in this run: {reason}", file=sys.stderr)
    warning = threads_warning(config)
    if warning:
        print(f"ed-brian: warning: {warning}", file=sys.stderr)
    need = memory_needed(config, check=compile and not args.no_memory_check)
    if args.verbose:
        print(f"memory estimate: {need.describe()}", file=sys.stderr)
    return config, _load_data(config, args.data_dir), weights, need


def memory_needed(config: Config, check: bool):
    """The run's memory estimate; with ``check``, ConfigError when it exceeds the memory available."""
    from ed_brian import memory

    return memory.check(config) if check else memory.estimate(config)


def _record_spec(args, config: Config):
    from ed_brian.record import RecordSpec, parse_range

    if args.record_trials is None and not args.heatmap:
        return None
    if args.record_trials is not None:
        trials = parse_range(args.record_trials, "--record-trials")
    else:
        last_test = config.epochs * (config.n_train + config.n_test) - config.n_test
        trials = (last_test, last_test + min(3, config.n_test))
    layers = tuple(part.strip() for part in args.record_layers.split(",") if part.strip())
    if args.heatmap:
        layers = tuple(dict.fromkeys(layers + ("hidden", "output")))
    spec = RecordSpec(trials, layers, parse_range(args.record_neurons, "--record-neurons"))
    spec.validate(config.epochs * (config.n_train + config.n_test))
    return spec


def _figures_dir(args, folder: Path) -> Path | None:
    if args.save_fig is None and not (args.viz or args.heatmap):
        return None
    return Path(args.save_fig) if args.save_fig else folder / "figures"


def _stop_on_signals(standalone: bool = False):
    """SIGINT/SIGTERM ask training to stop at the next chunk end (a standalone program:
    at once); a second one aborts."""
    requested = []

    def handler(signum, frame):
        if requested:
            raise KeyboardInterrupt
        requested.append(signum)
        where = "the standalone program" if standalone else "at the next checkpoint"
        print(f"\ned-brian: stopping {where} (press Ctrl-C again to abort)", file=sys.stderr)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)
    return requested


def _extended(folder: Path, config: Config, checkpoint, epochs: int) -> Config:
    """The run's config with a new number of epochs, written back to its folder.

    Earlier epochs keep their trials: the schedule draws epoch by epoch, so a
    longer run starts with the same trials as a shorter one.
    """
    from ed_brian import results

    if epochs <= len(checkpoint.epochs):
        raise UsageError(f"--epochs {epochs} with --resume must exceed the {len(checkpoint.epochs)} "
                         f"epoch(s) {folder} has finished")
    if epochs != config.epochs:
        config = results.set_epochs(folder, epochs)
        print(f"{folder}: now {epochs} epochs", file=sys.stderr)
    return config


# Fixed when a run starts: what it records and the weights it starts from.
_RECORDING_FLAGS = ("record-trials", "record-layers", "record-neurons", "heatmap", "init-weights")


def _check_resume_flags(args: argparse.Namespace, folder: Path, config: Config) -> None:
    """UsageError for a flag given with --resume that would change the run: a resumed run
    keeps the flags it started with, and silently ignoring a new one would mislead.
    Flags repeating the run's own values (as experiments/accuracy.py passes them) are fine."""
    stored = config.flags()
    for flag in sorted(args.named_flags):
        if flag in _RECORDING_FLAGS:
            raise UsageError(f"--{flag} cannot be used with --resume: recording and starting weights are "
                             "set when a run starts")
        name = "dataset" if flag in ("mnist", "fashion") else flag.replace("-", "_")
        if name not in PARAMETERS and name.startswith("no_"):  # --no-cuda-fixed-grid
            name = name[3:]
        if name not in PARAMETERS or name == "epochs":
            continue
        value = getattr(args, name)
        try:
            given = config.replace(**{name: value}).flags()[name]
        except ConfigError:
            given = value
        if not same_value(given, stored[name]):
            shown = f"--{flag}" if flag in ("mnist", "fashion") or isinstance(value, bool) else f"--{flag} {value}"
            raise UsageError(f"{shown} differs from the run's own value {stored[name]} "
                             f"({folder / 'config.json'}): a resumed run keeps its flags. To continue with new "
                             f"ones, start a new run from its weights: --init-weights {folder / 'weights.npz'}")


def run_train(args: argparse.Namespace) -> int:
    from ed_brian import results
    from ed_brian.train import Interrupted, train

    checkpoint = None
    if args.resume:
        folder = Path(args.resume)
        # Both files are read and checked before anything in the folder is written.
        for name in ("config.json", results.CHECKPOINT_FILE):
            if not (folder / name).exists():
                raise UsageError(f"cannot resume from {folder}: it has no {name} (is it the results "
                                 "folder of an ed-brian train run?)")
        config = results.read_config(folder)
        _check_resume_flags(args, folder, config)
        checkpoint = results.load_checkpoint(folder)
        _check_shapes(folder / results.CHECKPOINT_FILE, checkpoint.weights, config)
        if (checkpoint.copy_predictions is None) != (config.copies == 1) or (
                checkpoint.copy_predictions is not None and checkpoint.copy_predictions.shape[1] != config.copies):
            raise ResultsError(f"{folder / results.CHECKPOINT_FILE}: its copies do not match the "
                               f"{config.copies} of {folder / 'config.json'}; not this run's checkpoint")
        total = config.epochs * (config.n_train + config.n_test)
        if checkpoint.trial > total:
            raise ResultsError(f"{folder / results.CHECKPOINT_FILE}: at trial {checkpoint.trial}, beyond the "
                               f"{total} trials of {folder / 'config.json'}; not this run's checkpoint")
        if args.epochs is not None:
            config = _extended(folder, config, checkpoint, args.epochs)
        dataset, weights = _load_data(config, args.data_dir), None
        print(f"resuming {folder} at trial {checkpoint.trial}", file=sys.stderr)
    else:
        config, dataset, weights, need = _config_and_data(args)
        _record_spec(args, config)  # bad recording flags fail before anything is written
        try:
            folder = results.new_results_dir(args.out)
            results.write_config(folder, config, dataset_source=dataset.source, memory_estimate_mb=need.to_dict())
        except OSError as error:
            raise UsageError(f"cannot write the results folder {args.out or 'results/'}: "
                             f"{error.strerror or error}") from None
    print(f"results: {folder}", file=sys.stderr)

    record = None if checkpoint else _record_spec(args, config)
    figures = _figures_dir(args, folder)
    bar = _progress_bar(args.progress, config)
    bar.update(checkpoint.trial if checkpoint else 0)
    history = list(checkpoint.epochs) if checkpoint else []

    def on_progress(phase, trials_done):
        bar.update(max(0, int(trials_done) - bar.n))
        bar.set_description(f"epoch {phase.epoch} {phase.kind}")

    def on_epoch(metrics):
        history.append(metrics)
        results.write_metrics(folder, history)
        line = (f"epoch {metrics.epoch:3d}  train {metrics.train_accuracy:6.2f} %  "
                f"test {metrics.test_accuracy:6.2f} %  {metrics.seconds:7.1f} s")
        if args.verbose:
            line += "  rates " + " ".join(f"{k} {v:.1f} Hz" for k, v in metrics.mean_rates.items())
        bar.write(line, file=sys.stdout)
        if args.viz:
            _show_curves(results.read_metrics(folder), figures)

    stop = _stop_on_signals(DeviceSpec.of(config).standalone)
    try:
        result = train(config, dataset, on_epoch=on_epoch, on_progress=on_progress,
                       initial_weights=weights, project_dir=args.project_dir, resume=checkpoint,
                       on_checkpoint=lambda c: results.save_checkpoint(folder, c),
                       checkpoint_every=args.checkpoint_every, should_stop=lambda: bool(stop), record=record)
    except Interrupted as interrupted:
        bar.close()
        if interrupted.checkpoint is None:
            print(f"ed-brian: interrupted; the {config.device} program was stopped before its end, and a "
                  f"standalone run keeps a checkpoint only where a program ends, so nothing can be resumed: run "
                  f"it again ({folder} holds its configuration)", file=sys.stderr)
        elif checkpoint is interrupted.checkpoint:
            print(f"ed-brian: interrupted; the {config.device} program was stopped before its end, so the "
                  f"checkpoint is still the one at trial {checkpoint.trial}. Continue with: "
                  f"ed-brian train --resume {folder}", file=sys.stderr)
        else:
            results.save_checkpoint(folder, interrupted.checkpoint)
            print(f"ed-brian: interrupted after trial {interrupted.checkpoint.trial}; checkpoint saved. "
                  f"Continue with: ed-brian train --resume {folder}", file=sys.stderr)
        return 128 + stop[0]
    finally:
        bar.close()
    if result.standalone_times:
        times = result.standalone_times
        print(f"{config.device}: build {times.build_seconds:.1f} s, run {times.run_seconds:.1f} s", file=sys.stderr)
    results.save_run(folder, result, dataset)
    for warning in result.warnings:
        print(f"ed-brian: warning: {warning}", file=sys.stderr)
    if args.verbose and config.model == "simple":
        _print_trials(result)
    if figures is not None:
        from ed_brian.plots import draw_all

        written = draw_all(folder, figures)
        print(f"{len(written)} figures in {figures}", file=sys.stderr)
    for c, own in enumerate(result.copies):
        print(f"copy {c}: final test accuracy {own.epochs[-1].test_accuracy:.2f} % "
              f"(best {max(m.test_accuracy for m in own.epochs):.2f} %)")
    best = max(m.test_accuracy for m in result.epochs)
    if result.copies:
        print(f"ensemble of {config.copies} copies (summed output counts):", end=" ")
    print(f"final test accuracy {result.epochs[-1].test_accuracy:.2f} % (best {best:.2f} %); saved in {folder}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ed_brian import results
    from ed_brian.train import copy_accuracies, evaluation_scores, voted_accuracy

    folder = Path(args.results_dir)
    if args.repeats < 1:
        raise UsageError(f"--repeats must be >= 1 (got {args.repeats})")
    if not (folder / "config.json").exists() or not (folder / "weights.npz").exists():
        raise UsageError(f"{folder} is not a finished run (needs config.json and weights.npz)")
    trained = results.read_config(folder)
    device = args.device or trained.device
    config = replace(
        trained,
        device=device,
        codegen=args.codegen or trained.codegen,
        n_test=args.test or trained.n_test,
        threads=trained.threads if device == "cpp_standalone" else 0,
        # The grid changes no object of the model: on another device, that device's choice.
        cuda_fixed_grid=(trained.cuda_fixed_grid if device == trained.device
                         else DeviceForms.fastest(device, trained.model).cuda_fixed_grid),
    )
    weights = _load_weights(folder / "weights.npz", config)
    dataset = _load_data(config, args.data_dir)
    # A standalone program is stopped on a signal; Ctrl-C ends a runtime evaluation as usual.
    stop = _stop_on_signals(standalone=True) if DeviceSpec.of(config).standalone else None
    try:
        scores = evaluation_scores(config, dataset, weights, args.project_dir, repeats=args.repeats,
                                   should_stop=(lambda: bool(stop)) if stop is not None else None)
    except ProgramStopped:
        print(f"ed-brian: interrupted; the {config.device} program was stopped, nothing was evaluated",
              file=sys.stderr)
        return 128 + stop[0]
    readout = config.network.ed.readout
    for c, own in enumerate(copy_accuracies(scores, dataset.test_labels, readout) if config.copies > 1 else []):
        print(f"copy {c}: test accuracy {own:.2f} %")
    what = f"ensemble of {config.copies} copies: " if config.copies > 1 else ""
    looks = f", each shown {args.repeats} times" if args.repeats > 1 else ""
    accuracy = voted_accuracy(scores, dataset.test_labels, readout)
    print(f"{what}test accuracy {accuracy:.2f} % on the first {config.n_test} test images{looks} ({config.device})")
    # The run's own test set, looked at longer: kept beside the run, for ed-brian vote --repeats.
    if args.repeats > 1 and config.n_test == trained.n_test:
        kept = results.save_repeated_test(folder, scores, dataset.test_labels, config.device)
        print(f"scores kept in {kept}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ed_brian.export import export_project

    config, dataset, weights, _ = _config_and_data(args, compile=False)
    if config.device == "runtime":
        raise UsageError("export needs --device cpp_standalone or --device cuda_standalone")
    out = export_project(config, dataset, args.out, weights)
    print(f"standalone project written to {out}; build and run it as {out}/README.md says")
    return 0


def run_collect(args: argparse.Namespace) -> int:
    from ed_brian import results
    from ed_brian.export import EXPORT_FILE, collect_results, copy_metrics

    folder = Path(args.project_dir)
    if not (folder / EXPORT_FILE).exists():
        raise UsageError(f"{folder} is not an exported project (no {EXPORT_FILE})")
    try:
        metrics, weights, scores = collect_results(folder)
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(str(error)) from None
    results.write_metrics(folder, metrics, copy_metrics(folder, scores))
    results.save_weights(folder, weights)
    for m in metrics:
        print(f"epoch {m.epoch:3d}  train {m.train_accuracy:6.2f} %  test {m.test_accuracy:6.2f} %")
    print(f"wrote {folder}/metrics.csv and {folder}/weights.npz")
    return 0


def _print_trials(result) -> None:
    """Per trial: label, prediction, the amines (the error split by sign) and mean |dw|."""
    schedule, first = result.schedule, result.first_trial
    print("trial  phase  label  predicted   A+(true class)  A-(sum others)   mean|dw|")
    for phase in schedule.phases:
        for k in range(max(phase.start, first), phase.stop):
            label, amines = schedule.label[k], result.amines[k - first]
            print(f"{k:5d}  {phase.kind:5s}  {label:5d}  {result.predictions[k]:9d}  "
                  f"{amines[label, 0]:14.3f}  {amines[:, 1].sum():14.3f}  {result.mean_dw[k - first]:9.2e}")


def _show_curves(metrics, figures: Path) -> None:
    """Save the learning curves; on a display also show them without blocking."""
    from ed_brian import plots

    plots.learning_curves(metrics, figures / "learning_curves.png")
    if plots.matplotlib.get_backend().lower() != "agg":
        import matplotlib.image as mpimg

        plots.plt.ion()
        plots.plt.figure("ed-brian learning curves")
        plots.plt.clf()
        plots.plt.imshow(mpimg.imread(figures / "learning_curves.png"))
        plots.plt.axis("off")
        plots.plt.pause(0.001)


def run_plot(args: argparse.Namespace) -> int:
    from ed_brian.plots import draw_all

    folder = Path(args.results_dir)
    if not (folder / "config.json").exists():
        raise UsageError(f"{folder} is not a results folder (no config.json)")
    written = draw_all(folder, args.out, args.format)
    for path in written:
        print(path)
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from ed_brian.sweep import check_axes, parse_grid, points, run_sweep as sweep

    config = config_from_args(args)
    grid = parse_grid(args.grid)
    if not grid:
        raise UsageError("sweep needs at least one --grid NAME=V1,V2")
    if args.seeds < 1 or args.workers < 0:
        raise UsageError("--seeds must be >= 1 and --workers >= 0")
    if not args.allow_inert_axes:
        check_axes(config, grid)
    _load_data(config, args.data_dir)  # a missing dataset fails here, not in every worker
    seeds = [config.seed + k for k in range(args.seeds)]
    total = len(points(grid, seeds))
    print(f"sweep: {total} runs into {args.out}", file=sys.stderr)
    if args.pack < 1:
        raise UsageError(f"--pack must be >= 1 (got {args.pack})")
    rows = sweep(config, grid, seeds, args.out, args.workers, args.scheduler, args.data_dir, allow_inert=True,
                 pack=args.pack,
                 on_row=lambda r: print(f"{r['status']:6s} test {r['test_accuracy'] or '-':>6s} %  "
                                        + " ".join(f"{k}={r[k]}" for k in [*grid, 'seed']), file=sys.stderr))
    failed = [r for r in rows if r["status"] != "done"]
    print(f"{total - len(failed)} of {total} points done; summary in {args.out}/summary.csv")
    return 1 if failed else 0


def run_vote(args: argparse.Namespace) -> int:
    from ed_brian.ensemble import vote

    if len(args.results_dirs) < 2:
        raise UsageError("vote needs at least two results folders")
    if args.repeats < 1:
        raise UsageError(f"--repeats must be >= 1 (got {args.repeats})")
    for folder in args.results_dirs:
        if not (Path(folder) / "config.json").exists():
            raise UsageError(f"{folder} is not a results folder (no config.json)")
    result = vote(args.results_dirs, repeats=args.repeats)
    for folder, accuracy in zip(result.folders, result.run_accuracies):
        print(f"{folder}: test {accuracy:6.2f} %")
    looks = f", each shown {args.repeats} times" if args.repeats > 1 else ""
    print(f"ensemble of {len(result.folders)} runs ({result.networks} networks, summed output counts): "
          f"test {result.accuracy:6.2f} % on {len(result.labels)} images{looks}")
    return 0


def named_flags(argv: list[str]) -> set[str]:
    """The flags written out on the command line (``--dif 3`` or ``--dif=3`` -> 'dif')."""
    return {token[2:].split("=", 1)[0] for token in argv if token.startswith("--")}


COMMANDS = {"sweep": run_sweep, "plot": run_plot, "train": run_train, "evaluate": run_evaluate,
            "export": run_export, "collect": run_collect, "vote": run_vote}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in arguments
    if not verbose:
        from brian2 import prefs

        from brian2.utils.logger import BrianLogger

        # Brian2 and brian2cuda log at INFO on the console by default; a network
        # abandoned after a refused checkpoint is not worth a warning either.
        prefs.logging.console_log_level = "WARNING"
        BrianLogger.suppress_name("unused_brian_object")
    try:
        args = parser.parse_args(argv)
        args.named_flags = named_flags(arguments)
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError, DataError, DeviceError, ResultsError) as error:
        # ResultsError: a file read back (checkpoint, weights, config.json, ...) is missing,
        # damaged or not ours; its message names the file, and nothing was written.
        if verbose:
            raise
        print(f"ed-brian: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        # An unwritable results folder or a full disk: files written before stay intact.
        if verbose:
            raise
        where = f"{error.filename}: " if error.filename and error.strerror else ""
        print(f"ed-brian: error: {where}{error.strerror if where else error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        kept = "; the results folder keeps the epochs finished so far" if arguments[:1] == ["train"] else ""
        print(f"ed-brian: interrupted{kept}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
