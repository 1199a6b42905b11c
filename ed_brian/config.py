"""Parameters of the network, the ED rule and a training run, as frozen dataclasses.

:class:`Config` is the public face: flat keyword arguments named like the
command-line flags, Brian2 quantities or bare numbers in the flags' units
(millivolts, milliseconds, megaohms, nanoamperes, picocoulombs, hertz). The
nested dataclasses below store plain numbers in those units; they become
Brian2 quantities again in ``ed_brian.network``.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
from dataclasses import dataclass, field

import numpy as np


class ConfigError(ValueError):
    """A parameter value the model cannot run with; the message names the flag."""


@dataclass(frozen=True)
class LIFParams:
    """Leaky integrate-and-fire hidden and output units.

    ``dv/dt = (v_rest + R_m*I_bias - v) / tau_m``; every presynaptic spike moves v
    by ``R_m * q_syn * w / tau_m`` (a charge ``q_syn*w`` delivered instantly).
    The seed's input relay used v_rest -65, v_threshold -40, v_reset -70 mV,
    tau_m 12 ms, tau_ref 1 ms, R 35, which are the defaults here.
    """

    v_rest: float = -65.0  # mV
    v_threshold: float = -40.0  # mV
    v_reset: float = -70.0  # mV
    tau_m: float = 12.0  # ms
    tau_ref: float = 1.0  # ms
    R_m: float = 35.0  # MOhm
    # Tonic drive. 0.7 nA x 35 MOhm = 24.5 mV holds a unit at rest just below
    # threshold (-40.5 mV): it fires as soon as its net synaptic input is
    # excitatory, a spiking rectifier. Above 0.71 nA units fire tonically, the
    # counterpart of a sigmoid sitting at 0.5; that learned less well (README).
    I_bias: float = 0.7  # nA
    # Heterogeneous hidden units: unit k of a hidden layer (of each copy) gets
    # I_bias + I_bias_spread * (frac(k * golden ratio) - 1/2), a fixed, evenly
    # spread pattern, so units sit at different distances from threshold.
    I_bias_spread: float = 0.0  # nA
    q_syn: float = 1.0  # pC per unit of weight magnitude

    def validate(self) -> None:
        if not self.v_threshold > self.v_rest:
            raise ConfigError(
                f"--v_threshold ({self.v_threshold} mV) must be above --v_rest ({self.v_rest} mV)"
            )
        if not self.v_reset < self.v_threshold:
            raise ConfigError(
                f"--v_reset ({self.v_reset} mV) must be below --v_threshold ({self.v_threshold} mV)"
            )
        for name in ("tau_m", "R_m", "q_syn"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"--{name} must be > 0 (got {getattr(self, name)})")
        if self.tau_ref < 0:
            raise ConfigError(f"--tau_ref must be >= 0 (got {self.tau_ref})")
        if self.I_bias < 0:
            raise ConfigError(f"--I_bias must be >= 0 (got {self.I_bias})")
        if self.I_bias_spread < 0:
            raise ConfigError(f"--I_bias_spread must be >= 0 (got {self.I_bias_spread})")
        if self.I_bias_spread > 2 * self.I_bias:
            raise ConfigError(f"--I_bias_spread ({self.I_bias_spread} nA) may be at most twice --I_bias "
                              f"({self.I_bias} nA): no unit gets a negative tonic current")


RELAY_INPUTS = ("synapses", "linked")
LIF_GROUPINGS = ("layer", "one")
LR_SCHEDULES = ("epoch", "smooth")
HIDDEN_DERIVATIVES = ("smoothed", "active")


@dataclass(frozen=True)
class InputParams:
    """Poisson encoding of a 28x28 image for one trial of ``sim_time`` ms."""

    max_rate: float = 150.0  # Hz for a white pixel
    sim_time: float = 50.0  # ms per trial
    dt: float = 1.0  # ms, the simulation time step of the whole network
    # Seed: the E and I copies of a pixel share one spike train. False gives
    # each copy its own Poisson source.
    shared_ei_trains: bool = True
    # How Poisson spikes reach the relay: "synapses" (a PoissonGroup and a
    # Synapses pathway) or "linked" (the same spikes, read through a linked
    # variable: no spike propagation, fewer GPU kernels per step).
    relay_input: str = "synapses"
    # Augmentation: each training trial shows its image moved by up to this
    # many pixels along x and along y (a fresh offset per trial, the uncovered
    # border black); test images never move. 0: none.
    max_shift: int = 0

    @property
    def steps_per_trial(self) -> int:
        return int(round(self.sim_time / self.dt))

    def validate(self) -> None:
        if not self.dt > 0:
            raise ConfigError(f"--spike_dt must be > 0 (got {self.dt})")
        if not self.sim_time > 0:
            raise ConfigError(f"--spike_sim_time must be > 0 (got {self.sim_time})")
        if self.dt > self.sim_time:
            raise ConfigError(
                f"--spike_dt ({self.dt} ms) is longer than --spike_sim_time ({self.sim_time} ms)"
            )
        if abs(self.steps_per_trial * self.dt - self.sim_time) > 1e-9 * self.sim_time:
            raise ConfigError(
                f"--spike_sim_time ({self.sim_time} ms) must be a whole number of --spike_dt ({self.dt} ms)"
            )
        if self.steps_per_trial < 4:
            raise ConfigError(f"--spike_sim_time / --spike_dt must give a trial of at least 4 time steps "
                              f"(got {self.sim_time} / {self.dt} = {self.steps_per_trial})")
        if self.relay_input not in RELAY_INPUTS:
            raise ConfigError(f"--relay_input must be synapses or linked (got {self.relay_input!r})")
        if not self.max_rate > 0:
            raise ConfigError(f"--spike_max_rate must be > 0 (got {self.max_rate})")
        if self.max_shift < 0:
            raise ConfigError(f"--shift must be >= 0 pixels, 0 for none (got {self.max_shift})")
        if self.max_rate * self.dt * 1e-3 > 1:
            raise ConfigError(
                f"--spike_max_rate {self.max_rate} Hz exceeds one spike per time step at --spike_dt {self.dt} ms"
            )


@dataclass(frozen=True)
class EDParams:
    """Kaneko's Error-Diffusion rule as applied at every trial boundary."""

    lr: float = 0.15  # alpha
    # Epoch e learns with lr * lr_decay**(e-1): large early steps, then settling.
    lr_decay: float = 0.85
    # "epoch": the factor drops at each epoch; "smooth": it falls trial by trial,
    # lr_decay**(e-1 + j/n) at the j-th of the epoch's n training trials.
    lr_schedule: str = "epoch"
    dif: float = 1.0  # u1, amine diffusion coefficient
    # "seed": hidden layer l of L gets dif**(L-l) * amine (the seed);
    # "uniform": every hidden layer gets dif * amine (Kaneko).
    diffusion: str = "seed"
    w_min: float = 0.3  # initial magnitudes ~ U(w_min, w_max)   (--w1)
    w_max: float = 0.5  # (--w2)
    # Soft bound on the magnitudes: each update is scaled by (1 - w / w_bound).
    # 0: unbounded, as Kaneko's rule and the seed.
    w_bound: float = 0.0
    # Activity 1 corresponds to this firing rate; counts above it saturate.
    activity_rate: float = 200.0  # Hz
    # "pixel": first-layer updates use the raw pixel value (the seed);
    # "count": they use the input spike count normalised by its expectation.
    input_activity: str = "pixel"
    # "event": updates run only for presynaptic units active in the trial;
    # "dense": every synapse runs the update at every boundary. Same numbers.
    # "auto": event for --model lif (faster on every device measured, an H200
    # included), dense for the other models, which learn only in that form.
    learning: str = "auto"
    # f'(a) of the hidden units: "smoothed" (every unit, never 0) or "active"
    # (0 for a unit silent in the trial), see ed_brian.learning.hidden_boundary.
    hidden_derivative: str = "smoothed"
    # What the prediction compares: "count" (output spikes) or "drive" (net input).
    readout: str = "count"
    # Output activity the error is taken from: "clipped" min(count/n_ref, 1) or
    # "smoothed" (count + 1/2)/(n_ref + 1), which never reaches 0 or 1.
    output_error: str = "clipped"
    # Kaneko's bias units: an E and an I source firing regularly at this rate,
    # learned synapses onto every hidden and output unit. 0: none (the seed).
    bias_rate: float = 0.0  # Hz
    # Slope parameter u0 of the FReLU units (--model frelu), the seed's --sig.
    sig: float = 1.2

    def validate(self) -> None:
        if not self.lr > 0:
            raise ConfigError(f"--lr must be > 0 (got {self.lr})")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"--lr_decay must be in (0, 1] (got {self.lr_decay})")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"--lr_schedule must be epoch or smooth (got {self.lr_schedule!r})")
        if not self.dif > 0:
            raise ConfigError(f"--dif must be > 0 (got {self.dif})")
        if self.diffusion not in ("seed", "uniform"):
            raise ConfigError(f"--diffusion must be 'seed' or 'uniform' (got {self.diffusion!r})")
        if self.learning not in ("auto", "event", "dense"):
            raise ConfigError(f"--learning must be auto, event or dense (got {self.learning!r})")
        if self.output_error not in ("clipped", "smoothed"):
            raise ConfigError(f"--output_error must be 'clipped' or 'smoothed' (got {self.output_error!r})")
        if self.hidden_derivative not in HIDDEN_DERIVATIVES:
            raise ConfigError(f"--hidden_derivative must be smoothed or active (got {self.hidden_derivative!r})")
        if self.readout not in ("count", "drive"):
            raise ConfigError(f"--readout must be 'count' or 'drive' (got {self.readout!r})")
        if self.input_activity not in ("pixel", "count"):
            raise ConfigError(f"--input_activity must be 'pixel' or 'count' (got {self.input_activity!r})")
        if not 0 <= self.w_min <= self.w_max:
            raise ConfigError(f"need 0 <= --w1 <= --w2 (got {self.w_min}, {self.w_max})")
        if self.w_bound < 0:
            raise ConfigError(f"--w_bound must be >= 0, 0 for none (got {self.w_bound})")
        if 0 < self.w_bound <= self.w_max:
            raise ConfigError(f"--w_bound ({self.w_bound}) must exceed the initial magnitudes' --w2 ({self.w_max}); "
                              "0 for no bound")
        if self.bias_rate < 0:
            raise ConfigError(f"--bias_rate must be >= 0 (got {self.bias_rate})")
        if not self.activity_rate > 0:
            raise ConfigError(f"--activity_rate must be > 0 (got {self.activity_rate})")


@dataclass(frozen=True)
class NetworkConfig:
    """Shape and parameters of the K class networks."""

    hidden: tuple[int, ...] = (256,)
    n_classes: int = 10
    n_pixels: int = 784
    # Fraction of the relay units each first-layer unit receives, picked by a
    # fixed pseudo-random pattern (the same on every device and every run).
    input_fraction: float = 1.0
    # A fixed random feature layer between the relay and the class networks
    # (ed_brian.features): N pairs of LIF units; 0 for none, the relay then
    # reaching the first hidden layers directly.
    features: int = 0
    feature_seed: int = 1  # draws the features' random projections
    # Gaussian blur (pixels) of each random projection: smooth projections pick up
    # the images' large-scale differences, which Poisson input carries with less noise.
    feature_smoothing: float = 1.0
    feature_active: float = 0.2  # fraction of the features an image drives
    # mV the resting point moves per standard deviation of a projection; with
    # feature_tau_m 100 ms a unit approaches it at 10 mV/ms per standard deviation.
    feature_drive: float = 1000.0
    # Membrane time constant of the feature units: long, so that a unit sums its
    # input over the whole trial instead of its last tau_m (less Poisson noise).
    feature_tau_m: float = 100.0  # ms
    # "layer": one NeuronGroup per LIF layer. "one": the hidden and output
    # units in one NeuronGroup, each layer a Subgroup of it (the same numbers;
    # fewer code objects per time step, which a GPU is bound by).
    lif_groups: str = "layer"
    lif: LIFParams = field(default_factory=LIFParams)
    input: InputParams = field(default_factory=InputParams)
    ed: EDParams = field(default_factory=EDParams)

    @property
    def image_side(self) -> int:
        """Pixels along each side of the (square) images."""
        return int(round(self.n_pixels ** 0.5))

    def validate(self) -> None:
        if not self.hidden:
            raise ConfigError("--hidden needs at least one layer size")
        for size in self.hidden:
            if size <= 0:
                raise ConfigError(f"--hidden sizes must be > 0 (got {size})")
        if self.lif_groups not in LIF_GROUPINGS:
            raise ConfigError(f"--lif_groups must be layer or one (got {self.lif_groups!r})")
        if not 0 < self.input_fraction <= 1:
            raise ConfigError(f"--input_fraction must be in (0, 1] (got {self.input_fraction})")
        if self.n_classes < 2:
            raise ConfigError(f"need at least 2 classes (got {self.n_classes})")
        if self.features < 0:
            raise ConfigError(f"--features must be >= 0, 0 for none (got {self.features})")
        if not 0 < self.feature_active < 1:
            raise ConfigError(f"--feature_active must be in (0, 1) (got {self.feature_active})")
        if not self.feature_drive > 0:
            raise ConfigError(f"--feature_drive must be > 0 (got {self.feature_drive})")
        if self.feature_smoothing < 0:
            raise ConfigError(f"--feature_smoothing must be >= 0, 0 for none (got {self.feature_smoothing})")
        if not self.feature_tau_m > 0:
            raise ConfigError(f"--feature_tau_m must be > 0 (got {self.feature_tau_m})")
        if self.features and self.input_fraction < 1:
            raise ConfigError("--input_fraction thins the relay's projection to the first hidden layer, which "
                              "--features replaces: give one of them")
        self.lif.validate()
        self.input.validate()
        self.ed.validate()
        if self.input.max_shift and self.input.max_shift >= self.image_side / 2:
            raise ConfigError(f"--shift {self.input.max_shift} would move a {self.image_side}x{self.image_side} "
                              f"image out of view: give less than {self.image_side / 2:g} pixels")
        if self.ed.bias_rate * self.input.dt * 1e-3 > 1:
            raise ConfigError(f"--bias_rate {self.ed.bias_rate} Hz exceeds one spike per time step "
                              f"at --spike_dt {self.input.dt} ms")


@dataclass(frozen=True)
class DeviceForms:
    """Forms of the same model (the same spikes and weights) to build when the
    command line leaves them open: those that ran fastest on the device."""

    relay_input: str = "synapses"
    lif_groups: str = "layer"
    cuda_fixed_grid: bool = False

    @classmethod
    def fastest(cls, device: str, model: str) -> "DeviceForms":
        # On an H200 the three launch-saving forms (9 kernels per step instead
        # of 16, no blocking host copies) ran a full MNIST epoch 2.9 times as
        # fast as brian2cuda's plain form; on CPU devices the plain forms are
        # the measured ones. Only --model lif has the other forms.
        if device == "cuda_standalone" and model == "lif":
            return cls(relay_input="linked", lif_groups="one", cuda_fixed_grid=True)
        return cls()

    def with_named(self, relay_input: str | None, lif_groups: str | None,
                   cuda_fixed_grid: bool | None) -> "DeviceForms":
        """These forms, with each one the user named (not None) in its place."""
        named = {"relay_input": relay_input, "lif_groups": lif_groups, "cuda_fixed_grid": cuda_fixed_grid}
        return dataclasses.replace(self, **{name: form for name, form in named.items() if form is not None})


@dataclass(frozen=True)
class Parameter:
    """One flat parameter: a command-line flag (without its dashes) and where it lives."""

    path: tuple[str, ...]  # attributes from the Config down to the stored value
    kind: str  # "float", "int", "str", "bool" or "hidden"
    unit: str = ""  # the unit a bare number is taken in (and the stored value's unit)
    invert: bool = False  # a flag stored as its opposite (--no_shuffle -> shuffle)
    doc: str = ""


# Every flag of ``ed-brian train`` that sets a parameter, by the name a Python
# script uses for it: Config(lr=0.1, tau_m=20*ms) is --lr 0.1 --tau_m 20.
PARAMETERS: dict[str, Parameter] = {
    "dataset": Parameter(("dataset",), "str", doc='"fashion-subset" (bundled), "mnist" or "fashion"'),
    "train": Parameter(("n_train",), "int", doc="training trials per epoch: the first N images, or N drawn from train_pool"),
    "train_pool": Parameter(("train_pool",), "int", doc="draw the training images afresh every epoch from the first N (0: none)"),
    "test": Parameter(("n_test",), "int", doc="test trials: the first N test images, the same every epoch"),
    "no_shuffle": Parameter(("shuffle",), "bool", invert=True, doc="present training images in file order"),
    "epochs": Parameter(("epochs",), "int", doc="epochs of training, each followed by the test set"),
    "seed": Parameter(("seed",), "int", doc="seeds the Poisson input spikes, the training order and (without weight_seed) the initial weights"),
    "weight_seed": Parameter(("weight_seed",), "optional_int", doc="seeds the initial weights (None: seed); copy c of a packed run gets weight_seed + c"),
    "copies": Parameter(("copies",), "int", doc="independent ED networks packed in one Brian2 network, sharing the input spikes (--model lif)"),
    "model": Parameter(("model",), "str", doc='"lif", "simple" or "frelu"'),
    "hidden": Parameter(("network", "hidden"), "hidden", doc="hidden units per class network, per layer: 256, (256, 128) or \"256,128\""),
    "n_classes": Parameter(("network", "n_classes"), "int", doc="output units, one class network each"),
    "input_fraction": Parameter(("network", "input_fraction"), "float", doc="fraction of the relay each first-layer unit receives"),
    "features": Parameter(("network", "features"), "int",
                          doc="fixed random LIF feature pairs between the relay and the class networks (0: none)"),
    "feature_seed": Parameter(("network", "feature_seed"), "int", doc="seeds the feature layer's random projections"),
    "feature_active": Parameter(("network", "feature_active"), "float",
                                doc="fraction of the features an image drives (sets their thresholds)"),
    "feature_drive": Parameter(("network", "feature_drive"), "float", "mV",
                               doc="shift of a feature's resting point per standard deviation of its projection"),
    "feature_smoothing": Parameter(("network", "feature_smoothing"), "float",
                                   doc="Gaussian blur (pixels) of the features' random projections (0: none)"),
    "feature_tau_m": Parameter(("network", "feature_tau_m"), "float", "ms", doc="membrane time constant of the feature units"),
    "lif_groups": Parameter(("network", "lif_groups"), "str", doc='"layer" (a NeuronGroup per layer) or "one" (Subgroups of one group)'),
    "v_rest": Parameter(("network", "lif", "v_rest"), "float", "mV", doc="resting potential"),
    "v_threshold": Parameter(("network", "lif", "v_threshold"), "float", "mV", doc="firing threshold"),
    "v_reset": Parameter(("network", "lif", "v_reset"), "float", "mV", doc="reset potential"),
    "tau_m": Parameter(("network", "lif", "tau_m"), "float", "ms", doc="membrane time constant"),
    "tau_ref": Parameter(("network", "lif", "tau_ref"), "float", "ms", doc="refractory period"),
    "R_m": Parameter(("network", "lif", "R_m"), "float", "Mohm", doc="membrane resistance"),
    "I_bias": Parameter(("network", "lif", "I_bias"), "float", "nA", doc="tonic current into hidden and output units"),
    "I_bias_spread": Parameter(("network", "lif", "I_bias_spread"), "float", "nA",
                               doc="spread of the hidden units' tonic currents around I_bias"),
    "q_syn": Parameter(("network", "lif", "q_syn"), "float", "pC", doc="charge per unit of weight magnitude"),
    "spike_max_rate": Parameter(("network", "input", "max_rate"), "float", "Hz", doc="Poisson rate of a white pixel"),
    "spike_sim_time": Parameter(("network", "input", "sim_time"), "float", "ms", doc="duration of one trial"),
    "spike_dt": Parameter(("network", "input", "dt"), "float", "ms", doc="simulation time step of the whole network"),
    "relay_input": Parameter(("network", "input", "relay_input"), "str", doc='"synapses" or "linked"'),
    "shift": Parameter(("network", "input", "max_shift"), "int",
                       doc="training images move by up to N pixels in x and y, a fresh offset per trial (0: none)"),
    "independent_ei_trains": Parameter(("network", "input", "shared_ei_trains"), "bool", invert=True,
                                       doc="independent Poisson trains for a pixel's E and I copy"),
    "lr": Parameter(("network", "ed", "lr"), "float", doc="learning rate alpha"),
    "lr_decay": Parameter(("network", "ed", "lr_decay"), "float", doc="epoch e learns with lr * lr_decay**(e-1)"),
    "dif": Parameter(("network", "ed", "dif"), "float", doc="amine diffusion coefficient u1"),
    "diffusion": Parameter(("network", "ed", "diffusion"), "str", doc='"seed" (dif**(L-l) per layer) or "uniform"'),
    "w1": Parameter(("network", "ed", "w_min"), "float", doc="initial magnitudes ~ U(w1, w2)"),
    "w2": Parameter(("network", "ed", "w_max"), "float", doc="see w1"),
    "w_bound": Parameter(("network", "ed", "w_bound"), "float", doc="soft bound on magnitudes (0: none)"),
    "bias_rate": Parameter(("network", "ed", "bias_rate"), "float", "Hz", doc="rate of Kaneko's bias units (0: none)"),
    "activity_rate": Parameter(("network", "ed", "activity_rate"), "float", "Hz", doc="firing rate that counts as activity 1"),
    "input_activity": Parameter(("network", "ed", "input_activity"), "str", doc='"pixel" or "count"'),
    "output_error": Parameter(("network", "ed", "output_error"), "str", doc='"clipped" or "smoothed"'),
    "lr_schedule": Parameter(("network", "ed", "lr_schedule"), "str",
                             doc='"epoch" (lr_decay steps at each epoch) or "smooth" (trial by trial)'),
    "hidden_derivative": Parameter(("network", "ed", "hidden_derivative"), "str",
                                   doc='"smoothed" (every hidden unit learns) or "active" (only those that fired)'),
    "readout": Parameter(("network", "ed", "readout"), "str", doc='"count" or "drive"'),
    "learning": Parameter(("network", "ed", "learning"), "str", doc='"auto", "event" or "dense"'),
    "sig": Parameter(("network", "ed", "sig"), "float", doc="FReLU slope u0 (model frelu)"),
    "device": Parameter(("device",), "str", doc='"runtime", "cpp_standalone" or "cuda_standalone"'),
    "codegen": Parameter(("codegen",), "str", doc='runtime code generation: "auto", "numpy" or "cython"'),
    "threads": Parameter(("threads",), "int", doc="OpenMP threads (cpp_standalone; 0: none)"),
    "cuda_fixed_grid": Parameter(("cuda_fixed_grid",), "bool", doc="cuda_standalone: spike propagation on a fixed grid"),
}

# Parameters that may differ between the copies of a packed run (ed_brian.copies):
# a list or tuple of values, one per copy, or a comma-separated string on the
# command line. Everything else is shared by every copy.
COPY_PARAMETERS = ("lr", "lr_decay", "dif", "w1", "w2", "I_bias", "weight_seed")


def _copy_list(name: str, value) -> list | None:
    """``value`` as a list of per-copy values, or None for a single value."""

    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
        kind = float if PARAMETERS[name].kind == "float" else int
        try:
            return [kind(part) for part in parts]
        except ValueError:
            raise ConfigError(f"{name} takes a number, or one per copy comma-separated (got {value!r})") from None
    if isinstance(value, np.ndarray) and value.ndim == 0:  # a scalar Quantity, say
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        values = list(value)
        if not values:
            raise ConfigError(f"{name} got an empty list of per-copy values")
        return values
    return None


# Fields of Config that no flag names directly; dataclasses.replace passes them.
_FIELDS = {
    "n_train": Parameter(("n_train",), "int"),
    "n_test": Parameter(("n_test",), "int"),
    "shuffle": Parameter(("shuffle",), "bool"),
    "copy_values": Parameter(("copy_values",), "copy_values"),
}


def _units() -> dict:
    from brian2 import Hz, Mohm, mV, ms, nA, pcoulomb

    return {"mV": mV, "ms": ms, "Mohm": Mohm, "nA": nA, "pC": pcoulomb, "Hz": Hz}


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def convert(name: str, value, parameter: Parameter | None = None):
    """``value`` of parameter ``name`` as stored: a number in the parameter's unit,
    an int, a str, a bool or a tuple of layer sizes; ConfigError if it cannot be."""
    from brian2 import Quantity
    from brian2.units.fundamentalunits import have_same_dimensions

    p = parameter or PARAMETERS[name]
    if isinstance(value, Quantity):
        if value.size != 1:
            raise ConfigError(f"{name} takes one value (got an array of {value.size})")
        if p.unit:
            unit = _units()[p.unit]
            if not have_same_dimensions(value, unit):
                raise ConfigError(f"{name} takes a value in {p.unit} (got {value!r})")
            return float(value / unit)
        if not value.is_dimensionless:
            raise ConfigError(f"{name} is a plain number, without a unit (got {value!r})")
        value = float(value)
    if p.kind == "float":
        if not _is_number(value):
            unit = f" (a number in {p.unit}, or a Brian2 quantity)" if p.unit else ""
            raise ConfigError(f"{name} takes a number{unit} (got {value!r})")
        return float(value)
    if p.kind == "optional_int" and value is None:
        return None
    if p.kind in ("int", "optional_int"):
        if not (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))):
            raise ConfigError(f"{name} takes a whole number (got {value!r})")
        return int(value)
    if p.kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{name} takes a string (got {value!r})")
        return value
    if p.kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"{name} takes True or False (got {value!r})")
        return bool(value)
    return _layer_sizes(name, value)


def _layer_sizes(name: str, value) -> tuple[int, ...]:
    if isinstance(value, str):
        try:
            return tuple(int(part) for part in value.split(","))
        except ValueError:
            raise ConfigError(f"{name} takes layer sizes such as 256, (256, 128) or '256,128' (got {value!r})") from None
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return (int(value),)
    if isinstance(value, (tuple, list)) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in value):
        return tuple(int(v) for v in value)
    raise ConfigError(f"{name} takes layer sizes such as 256, (256, 128) or '256,128' (got {value!r})")


def _set(obj, path: tuple[str, ...], value):
    """A copy of the frozen dataclass ``obj`` with the attribute at ``path`` set."""
    if len(path) == 1:
        return dataclasses.replace(obj, **{path[0]: value})
    return dataclasses.replace(obj, **{path[0]: _set(getattr(obj, path[0]), path[1:], value)})


def _parameter_table() -> str:
    """The flat parameters with their units and defaults, for Config's docstring."""
    defaults = {f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default
                for f in dataclasses.fields(Config)}
    rows = []
    for name, p in PARAMETERS.items():
        value = defaults[p.path[0]]
        for attr in p.path[1:]:
            value = getattr(value, attr)
        value = (not value) if p.invert else value
        unit = f" [{p.unit}]" if p.unit else ""
        rows.append(f"    ``{name}``{unit}, default ``{value!r}``\n        {p.doc}.")
    return "\n".join(rows)


@dataclass(frozen=True, init=False, repr=False)
class Config:
    """The configuration of a run: network, Error-Diffusion rule, data sizes, device.

    Built from flat keyword arguments with the names, defaults and validation of
    the ``ed-brian train`` flags::

        from brian2 import ms
        config = ed_brian.Config(hidden=256, lr=0.15, tau_m=20*ms, train=1000, test=500)
        faster = config.replace(lr=0.3)   # a new, re-validated Config

    A parameter with a unit takes a Brian2 quantity (``20*ms``) or a bare number
    in the unit given below (``20`` means 20 ms, as on the command line). A wrong
    type, a wrong unit, an unknown name or a value the model cannot run with
    raises :class:`ConfigError`. Every flat name is also readable:
    ``config.tau_m`` is ``12. * msecond``, ``config.train`` is ``1000``; the stored
    values are plain numbers in those units, grouped in nested frozen dataclasses
    (``config.network.lif.tau_m == 12.0``).

    Parameters (flat keyword arguments; [unit of a bare number]):

{PARAMETERS}
    """

    network: NetworkConfig = field(default_factory=NetworkConfig)
    model: str = "lif"  # "lif" (models/lif.py), "simple" (models/simple.py) or "frelu"
    dataset: str = "fashion-subset"
    n_train: int = 1000  # training trials per epoch
    n_test: int = 500
    # 0: the first n_train training images, the same every epoch. N > n_train:
    # every epoch draws n_train of the first N afresh, as the seed's --train did.
    train_pool: int = 0
    epochs: int = 3
    seed: int = 1
    shuffle: bool = True
    device: str = "runtime"  # runtime, cpp_standalone or cuda_standalone
    codegen: str = "auto"  # runtime code generation target: auto, numpy, cython
    threads: int = 0  # OpenMP threads (cpp_standalone)
    cuda_fixed_grid: bool = False  # cuda_standalone: spike propagation without host round trips
    copies: int = 1  # ED networks packed in one Brian2 network (ed_brian.copies)
    weight_seed: int | None = None  # seed of the initial weights; None: seed
    # Per-copy values of COPY_PARAMETERS, as ((name, (value of copy 0, ...)), ...);
    # the scalar slot of such a parameter holds copy 0's value.
    copy_values: tuple = ()

    def __init__(self, network: NetworkConfig | None = None, **parameters):
        values = {f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default
                  for f in dataclasses.fields(Config)}
        if network is not None:
            if not isinstance(network, NetworkConfig):
                raise ConfigError(f"network takes a NetworkConfig (got {type(network).__name__}); "
                                  "or give its parameters by name, e.g. Config(hidden=256, tau_m=20*ms)")
            values["network"] = network
        per_copy = {name: tuple(values) for name, values in parameters.pop("copy_values", None) or ()}
        # Fields first, then flags: Config.replace(train=...) overrides the n_train it passes.
        ordered = sorted(parameters.items(), key=lambda item: item[0] in PARAMETERS)
        for name, value in ordered:
            if name in COPY_PARAMETERS:
                per_copy.pop(name, None)  # a value given by name replaces earlier per-copy values
                listed = _copy_list(name, value)
                if listed is not None:
                    per_copy[name] = tuple(convert(name, v) for v in listed)
                    value = listed[0]
            p = _FIELDS.get(name) or PARAMETERS.get(name)
            if p is None:
                close = difflib.get_close_matches(name, [*PARAMETERS, *_FIELDS], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"unknown parameter {name!r}{hint}")
            value = convert(name, value, p)
            if p.invert:
                value = not value
            if p.path[0] == "network":
                values["network"] = _set(values["network"], p.path[1:], value)
            else:
                values[p.path[0]] = value
        for name, copy_value in per_copy.items():
            p = PARAMETERS[name]
            first = copy_value[0]
            if p.path[0] == "network":
                values["network"] = _set(values["network"], p.path[1:], first)
            else:
                values[p.path[0]] = first
        values["copy_values"] = tuple((name, per_copy[name]) for name in COPY_PARAMETERS if name in per_copy)
        for name, value in values.items():
            object.__setattr__(self, name, value)
        self.validate()

    def __getattr__(self, name: str):
        # Only reached for names that are not fields: the flat parameters.
        p = PARAMETERS.get(name)
        if p is None:
            raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")
        value = self
        for attr in p.path:
            value = object.__getattribute__(value, attr)
        if p.invert:
            value = not value
        values = dict(object.__getattribute__(self, "copy_values")).get(name)
        if values is not None:  # per-copy values: a tuple, copy by copy
            return tuple(v * _units()[p.unit] for v in values) if p.unit else values
        return value * _units()[p.unit] if p.unit else value

    def copy_config(self, copy: int) -> "Config":
        """The single-network Config of copy ``copy`` of a packed run: its own values
        of COPY_PARAMETERS and its weight seed, one copy. A run of it gives copy
        ``copy``'s spikes and weights exactly (ed_brian.copies)."""
        if not 0 <= copy < self.copies:
            raise ConfigError(f"copy {copy} does not exist: this run has {self.copies} copies")
        changes = {name: values[copy] for name, values in self.copy_values}
        changes["weight_seed"] = self.weight_seeds[copy]
        current = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        current.update(copies=1, copy_values=())
        return type(self)(**{**current, **changes})

    @property
    def weight_seeds(self) -> tuple[int, ...]:
        """The seed of each copy's initial weights: weight_seed (or seed) + copy, unless given per copy."""
        given = dict(self.copy_values).get("weight_seed")
        if given is not None:
            return tuple(given)
        base = self.seed if self.weight_seed is None else self.weight_seed
        return tuple(base + copy for copy in range(self.copies))

    def replace(self, **changes) -> "Config":
        """A new Config with ``changes`` (flat names, as in the constructor), validated again."""
        current = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return type(self)(**{**current, **changes})

    def flags(self) -> dict:
        """Every flat parameter and its value (with its unit where it has one)."""
        return {name: getattr(self, name) for name in PARAMETERS}

    def __repr__(self) -> str:
        default = _default_config()
        changed = {name: value for name, value in self.flags().items() if not same_value(value, getattr(default, name))}
        return f"Config({', '.join(f'{name}={value!r}' for name, value in changed.items())})"

    def validate(self) -> None:
        if self.copies < 1:
            raise ConfigError(f"--copies must be >= 1 (got {self.copies})")
        for name, values in self.copy_values:
            if len(values) != self.copies:
                raise ConfigError(f"{name} has {len(values)} per-copy values for {self.copies} copies "
                                  f"(give one value, or one per copy)")
        if self.copies > 1 and self.model != "lif":
            raise ConfigError("--copies is for --model lif; the other models build one network")
        if self.copy_values:
            for copy in range(self.copies):
                try:
                    self.copy_config(copy)
                except ConfigError as error:
                    raise ConfigError(f"copy {copy}: {error}") from None
        for name in ("n_train", "n_test", "epochs"):
            if getattr(self, name) <= 0:
                flag = {"n_train": "--train", "n_test": "--test", "epochs": "--epochs"}[name]
                raise ConfigError(f"{flag} must be > 0 (got {getattr(self, name)})")
        if self.train_pool and self.train_pool < self.n_train:
            raise ConfigError(f"--train_pool ({self.train_pool}) must be at least --train ({self.n_train})")
        if self.train_pool > self.n_train and not self.shuffle:
            raise ConfigError("--train_pool draws images at random every epoch: drop --no_shuffle")
        from ed_brian.devices import DeviceSpec

        DeviceSpec.of(self).validate()
        self.network.validate()
        if self.model not in ("lif", "simple", "frelu"):
            raise ConfigError(f"--model must be lif, simple or frelu (got {self.model!r})")
        if self.model != "lif" and self.network.input_fraction < 1:
            raise ConfigError("--input_fraction is for --model lif; the other models connect every input")
        if self.model != "lif" and self.network.features:
            raise ConfigError("--features is for --model lif; the other models read the relay directly")
        if self.model != "lif" and self.network.ed.bias_rate > 0:
            raise ConfigError("--bias_rate is for --model lif; the other models have no bias units")
        if self.model != "lif" and self.network.lif_groups != "layer":
            raise ConfigError("--lif_groups one is for --model lif; the other models have a group per layer")
        if self.model != "lif" and self.network.input.max_shift:
            raise ConfigError("--shift is for --model lif; the other models show every image where it is")
        if self.model != "lif" and self.network.input.relay_input != "synapses":
            raise ConfigError("--relay_input linked is for --model lif; the other models use a PoissonGroup and Synapses")
        if self.model == "frelu":
            if self.network.ed.learning == "event":
                raise ConfigError("--model frelu learns in the dense form: drop --learning event")
            if not self.network.input.shared_ei_trains:
                raise ConfigError("--model frelu shares the E/I input trains: drop --independent_ei_trains")
            if not self.network.ed.sig > 0:
                raise ConfigError(f"--sig must be > 0 (got {self.network.ed.sig})")
        if self.model == "simple":
            net = self.network
            if len(net.hidden) != 1:
                raise ConfigError("--model simple has one hidden layer: give --hidden H")
            if net.ed.learning == "event" or net.ed.input_activity != "pixel" or not net.input.shared_ei_trains:
                raise ConfigError("--model simple learns densely from pixels with shared E/I trains; "
                                  "use --model lif for --learning event, --input_activity count or "
                                  "--independent_ei_trains")

    @property
    def pool_size(self) -> int:
        """How many training images the run draws from (the image table's training rows)."""
        return max(self.train_pool, self.n_train)

    def to_dict(self) -> dict:
        """Every stored value, nested as in the dataclasses (as saved in config.json)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Config":
        """The Config that ``to_dict`` (or a run's config.json) describes."""
        net = dict(data["network"])
        net["hidden"] = tuple(net["hidden"])
        net["lif"] = LIFParams(**net["lif"])
        net["input"] = InputParams(**net["input"])
        net["ed"] = EDParams(**net["ed"])
        data = dict(data)
        data["copy_values"] = tuple((name, tuple(values)) for name, values in data.get("copy_values", ()))
        return cls(**{**data, "network": NetworkConfig(**net)})


_LIF_ONLY = ("v_rest", "v_threshold", "v_reset", "tau_m", "tau_ref", "R_m", "I_bias", "I_bias_spread", "q_syn",
             "activity_rate")
# Parameters a model never reads, and why.
_MODEL_UNUSED = {
    "lif": {"sig": "it is the FReLU slope of --model frelu; LIF units are neurons, not sigmoids"},
    "simple": {
        "sig": "it is the FReLU slope of --model frelu; LIF units are neurons, not sigmoids",
        "I_bias_spread": "--model simple's hidden units share one tonic current",
        "dif": "--model simple's one hidden layer gets the amine undiluted",
        "diffusion": "--model simple's one hidden layer gets the amine undiluted",
        "hidden_derivative": "--model simple's hidden units learn with the smoothed derivative",
        "readout": "--model simple predicts from output spike counts",
        "output_error": "--model simple takes the error from min(count / n_ref, 1)",
    },
    "frelu": {
        **{name: "--model frelu has no LIF hidden or output units" for name in _LIF_ONLY},
        "hidden_derivative": "--model frelu's units learn with the FReLU derivative",
        "readout": "--model frelu predicts from the FReLU output activity",
        "output_error": "--model frelu takes the error from the FReLU output activity",
    },
}


def unused_reason(config: Config, name: str) -> str | None:
    """Why parameter ``name`` cannot change a run of ``config``, whatever its value; None if it can."""
    reason = _MODEL_UNUSED.get(config.model, {}).get(name)
    if reason:
        return reason
    layers, ed = len(config.network.hidden), config.network.ed
    if name.startswith("feature_") and not config.network.features:
        return "there is no feature layer: give --features N"
    if name == "input_activity" and config.network.features:
        return "with --features the relay's synapses are fixed; the first learned ones start at the features"
    if name == "dif" and ed.diffusion == "seed" and layers == 1:
        return ("with --diffusion seed a single hidden layer gets dif**0 = 1 times the amine "
                "(--diffusion uniform or more hidden layers make it count)")
    if name == "diffusion" and layers == 1 and ed.dif == 1:
        return "with one hidden layer and --dif 1, seed (dif**0) and uniform (dif) both give the amine undiluted"
    if name == "lr_decay" and config.epochs == 1 and ed.lr_schedule == "epoch":
        return "the first epoch learns with lr * lr_decay**0; it acts from epoch 2 on"
    return None


def inert_parameters(config: Config, named=()) -> dict[str, str]:
    """Parameters that cannot change a run of ``config``, with the reason: those set away
    from their defaults, and those in ``named`` (given explicitly, e.g. on the command line)."""
    default = _default_config()
    chosen = [name for name in PARAMETERS
              if name in named or not same_value(getattr(config, name), getattr(default, name))]
    reasons = {name: unused_reason(config, name) for name in chosen}
    return {name: reason for name, reason in reasons.items() if reason}


Config.__doc__ = Config.__doc__.replace("{PARAMETERS}", _parameter_table())

# The name the library used before Config; still used inside it.
RunConfig = Config

_DEFAULT: list = []


def _default_config() -> Config:
    if not _DEFAULT:
        _DEFAULT.append(Config())
    return _DEFAULT[0]


def same_value(a, b) -> bool:
    """Whether two parameter values are equal (numbers, quantities, tuples, strings)."""
    try:
        return bool(np.all(a == b))
    except Exception:  # quantities of other dimensions
        return False
