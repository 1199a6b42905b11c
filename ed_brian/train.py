"""Training and evaluation: epochs of trials, accuracies on the fixed test set.

The whole schedule is known before the first step, so every trial's image,
label and learning switch lives in TimedArrays. On the runtime device each
chunk of trials (at most ``schedule.CHUNK_TRIALS``, never across a phase)
runs inside one ``run()``, and a checkpoint can be taken after any chunk; on a
standalone device every chunk is queued and all run in one compiled program.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import brian2
import numpy as np
from brian2 import get_device, ms

from ed_brian import copies as packing, devices, features as feature_layer
from ed_brian.config import ConfigError, RunConfig, same_value
from ed_brian.data import Dataset, check_data
from ed_brian.invariants import InvariantError, check_weights, layer_warnings
from ed_brian.models import frelu, simple
from ed_brian.network import SHARED_LAYERS, EDNetwork, build_network, expected_synapse_counts, owning_groups
from ed_brian.record import Recorder, RecordSpec
from ed_brian.schedule import Phase, Schedule, build_schedule, chunks, test_schedule


@dataclass(frozen=True)
class EpochMetrics:
    """What one epoch measured."""

    epoch: int  # from 1
    train_accuracy: float  # %, online: each prediction made before that trial's update
    test_accuracy: float  # %, on the first n_test test images
    seconds: float  # wall time of the epoch (standalone: the run's time split evenly)
    mean_rates: dict = field(default_factory=dict)  # Hz per layer over the epoch (standalone: over the run)


@dataclass
class Checkpoint:
    """Everything needed to continue a run exactly where it stopped."""

    trial: int  # trials of the schedule completed
    weights: dict[str, np.ndarray]
    predictions: np.ndarray  # (trial,) predicted class of every completed trial
    epochs: list[EpochMetrics]  # the finished epochs
    epoch_seconds: float = 0.0  # wall time already spent in the unfinished epoch
    random_state: dict | None = None  # Brian2's random numbers at the first step of trial ``trial``
    # Packed copies (config.copies > 1): every copy's predictions (trial x copies)
    # and finished epochs; ``predictions`` and ``epochs`` are then the ensemble's.
    copy_predictions: np.ndarray | None = None
    copy_epochs: list | None = None
    # The run's configuration: a resume with another one is refused.
    # None in checkpoints written before it was kept (then nothing is checked).
    config: RunConfig | None = None


class Interrupted(Exception):
    """Training stopped on request; ``checkpoint`` holds the position reached.

    A standalone program keeps nothing of an unfinished program: ``checkpoint``
    is then the one where the last program ended (cpp_standalone runs one per
    epoch), or the one the run resumed from, or None.
    """

    def __init__(self, checkpoint: Checkpoint | None):
        where = f"after trial {checkpoint.trial}" if checkpoint else "before its first checkpoint"
        super().__init__(f"interrupted {where}")
        self.checkpoint = checkpoint


@dataclass
class TrainingResult:
    """What :func:`train` returns: metrics per epoch, final weights and every trial's outcome.

    ``weights`` maps ``<projection>/i``, ``/j``, ``/w`` (magnitude >= 0) and
    ``/sign`` to arrays (see :func:`weight_matrix`). ``predictions`` and
    ``schedule.label`` cover every trial of the run; ``scores`` (output spike
    count plus the membrane's progress to threshold, trials x classes) and
    ``amines`` (A+ and A- of every output unit after each trial) start at
    ``first_trial``. Save it all with :func:`save_run`.

    A packed run (``config.copies`` > 1) keeps the ensemble here: ``epochs``
    and ``predictions`` from the summed output counts of all copies, with the
    packed network's ``weights``, ``scores`` and ``amines`` (every copy's output
    units); ``copies`` holds each copy's own result, as a single run of
    ``config.copy_config(c)`` would return it.
    """

    config: RunConfig
    epochs: list[EpochMetrics]
    weights: dict[str, np.ndarray]
    predictions: np.ndarray  # (n_trials,) predicted class of every trial
    scores: np.ndarray  # (n_trials - first_trial, K) output spike count + membrane progress
    schedule: Schedule
    first_trial: int = 0  # where this process started (a resumed run starts later)
    standalone_times: devices.StandaloneTimes | None = None
    recordings: dict | None = None  # see ed_brian.record
    warnings: list[str] = field(default_factory=list)  # silent or saturated layers
    amines: np.ndarray | None = None  # (n_trials - first_trial, K, 2): A+ and A- of every output unit
    mean_dw: np.ndarray | None = None  # (n_trials - first_trial,): mean |dw| of the first projection
    copies: list = field(default_factory=list)  # packed runs: each copy's TrainingResult


def pixel_table(dataset: Dataset) -> np.ndarray:
    """Training then test images as rows of 784 values in [0, 1]."""
    images = np.concatenate([dataset.train_images, dataset.test_images])
    return images.reshape(len(images), -1).astype(np.float64) / 255.0


def predict(scores: np.ndarray) -> np.ndarray:
    """The class with the most output spikes; the membrane decides ties."""
    return np.argmax(scores, axis=1)


def run_schedule(config: RunConfig, train_labels: np.ndarray, test_labels: np.ndarray, shuffle_seed: int) -> Schedule:
    """The schedule of ``config``'s epochs over a table of these training then test images."""
    return build_schedule(train_labels, test_labels, config.epochs, np.random.default_rng(shuffle_seed),
                          config.shuffle, config.network.ed.lr_decay, per_epoch=config.n_train,
                          smooth_decay=config.network.ed.lr_schedule == "smooth",
                          max_shift=config.network.input.max_shift)


def shape_key(config: RunConfig) -> dict:
    """The network's shape: runs of the same shape share a standalone project folder,
    where make recompiles only the generated files that changed."""
    net = config.network
    return {
        "hidden": list(net.hidden),
        "n_classes": net.n_classes,
        "n_pixels": net.n_pixels,
        "input_fraction": net.input_fraction,
        "features": net.features,
        "shared_ei_trains": net.input.shared_ei_trains,
        "lif_groups": net.lif_groups,
        "relay_input": net.input.relay_input,
        "input_activity": net.ed.input_activity,
        "learning": net.ed.learning,
        "bias_units": net.ed.bias_rate > 0,
        "copies": config.copies,
        "threads": config.threads,
        "cuda_fixed_grid": config.cuda_fixed_grid,
    }


class Trainer:
    """The network of a run, built on its device, and its schedule of trials.

    Made by :func:`build` (or by :func:`train`, which hands it to its
    ``on_build`` callback). The network is plain Brian2: ``layers`` and
    ``projections`` hold its groups and synapses by name, ``network`` is the
    one ``brian2.Network`` that runs them, and ``add`` puts your own monitors
    or operations into it. ``run_trials(n)`` simulates whole trials.

    Time: trial k occupies [k*T, (k+1)*T) with T = ``config.spike_sim_time``.
    The learning of trial k runs at the start of the step at (k+1)*T, so
    ``run_trials`` always stops one time step into the next trial, once the
    last trial's update has run: a monitor recording every step holds
    n*S + 1 samples after ``run_trials(n)`` from the start (S steps per trial),
    and n*S more after every later call. ``trial_window(k)`` gives trial k's
    start and end times to cut a monitor's samples by trial.

    Trial indices are those of the full schedule; a trainer that resumes at
    ``start_trial`` builds its TimedArrays from the schedule's tail. On
    cpp_standalone the network also holds ``random_state_saver``, a one-unit
    group that saves Brian2's random state at the end of the schedule, where
    a following program continues it (:func:`train`).
    """

    def __init__(self, config: RunConfig, dataset: Dataset, initial_weights: dict | None = None,
                 project_dir: str | Path | None = None, compile: bool = True,
                 schedule: Schedule | None = None, start_trial: int = 0, record: RecordSpec | None = None,
                 profile: bool = False):
        self.profile = profile  # Brian2's per-code-object timing, for benchmarks
        self.profile_seconds: dict[str, float] = {}  # summed over the runtime runs so far
        if int(max(dataset.train_labels.max(), dataset.test_labels.max())) >= config.network.n_classes:
            raise ConfigError(f"{dataset.name} has labels beyond the {config.network.n_classes} output units")
        if schedule is None:
            check_data(config, dataset)
        self.config = config
        self.schedule = schedule or run_schedule(config, dataset.train_labels, dataset.test_labels, config.seed)
        self.offset = start_trial
        self.device = devices.DeviceSpec.of(config, compile=compile)
        self.project_dir = None
        if self.device.standalone:
            self.project_dir = Path(project_dir) if project_dir else devices.default_project_dir(
                self.device, shape_key(config)
            )
        devices.activate(self.device)
        brian2.seed(config.seed)
        network = config.network
        if network.ed.learning == "auto":
            mode = "event" if config.model == "lif" else "dense"
            network = replace(network, ed=replace(network.ed, learning=mode))
        tail = self.schedule.tail(start_trial)
        table = pixel_table(dataset)  # the network's copy, and the feature layer's calibration images
        if config.model == "lif":
            # Each copy's own learning parameters; the shape and the forms are ``network``'s.
            copies = [config.copy_config(c).network for c in range(config.copies)] if config.copies > 1 else None
            self.net: EDNetwork = build_network(network, table, tail, copies)
        else:
            self.net = {"simple": simple.build, "frelu": frelu.build}[config.model](network, table, tail)
        if initial_weights is None:
            initial_weights = packing.initial_weights(config)
        if config.network.features and "features/theta" not in initial_weights:
            # A new feature layer: thresholds from the first training images, saved with the weights.
            initial_weights = {**initial_weights, **feature_layer.calibrate(
                config.network, table[: len(dataset.train_images)])}
        self.net.set_weights(initial_weights, expected_synapse_counts(config.network, config.copies))
        self.dt = config.network.input.dt * ms
        if config.device == "cpp_standalone":
            boundary = (self.schedule.n_trials - start_trial) * self.net.trial_steps
            self.add(*devices.random_state_saver(boundary * self.dt))
        self.recorder = None
        if record is not None:
            record.validate(self.schedule.n_trials)
            self.recorder = Recorder(record, self.net, self.net.trial_steps, self.dt)
        self._spikes_before = None if self.device.standalone else self.net.spike_totals()
        self.random_state = None  # at the first step of the trial the last run stopped at

    @property
    def network(self) -> brian2.Network:
        """The ``brian2.Network`` holding every object of the model (and those you ``add``)."""
        return self.net.network

    @property
    def layers(self) -> dict[str, brian2.NeuronGroup]:
        """The unit groups by name: ``relay``, ``features`` (with a feature layer), ``hidden_1`` ...
        ``hidden_L``, ``output`` (and ``bias`` with bias units). Membrane ``v`` is in volt; ``ptype`` is +1 (E)
        or -1 (I); ``network`` is the unit's class network (-1: shared by all).

        Change LIF parameters through ``set_parameters``, not on the groups: the
        synaptic jump ``w_gain`` of the projections depends on them.
        """
        return {group.name: group for group in self.net.unit_groups}

    @property
    def projections(self) -> dict[str, brian2.Synapses]:
        """The learned synapses by name, ``<pre>_to_<post>`` (``relay_to_hidden_1``, ...).
        ``w`` is the magnitude (>= 0); the effect's sign is ``ptype_pre * ptype_post``."""
        return {syn.name: syn for syn in self.net.projections}

    def add(self, *objects) -> None:
        """Add Brian2 objects (monitors, operations) to the network, before it runs them."""
        self.net.network.add(*objects)

    @property
    def steps_per_trial(self) -> int:
        return self.net.trial_steps

    @property
    def _steps_done(self) -> int:
        # From the network's own clock, so that runs of the user's count too.
        return int(round(float(self.net.network.t / self.dt)))

    @property
    def trials_done(self) -> int:
        """Trials of the schedule simulated to their end (where ``run_trials`` continues)."""
        return self.offset + self._steps_done // self.net.trial_steps

    def trial_window(self, trial: int) -> tuple:
        """Start and end time (Brian2 quantities) of trial ``trial`` of the schedule."""
        duration = self.net.trial_steps * self.dt
        return (trial - self.offset) * duration, (trial - self.offset + 1) * duration

    def run_trials(self, n: int = 1) -> None:
        """Simulate the next ``n`` whole trials of the schedule, learning included.

        On a standalone device the trials are queued; ``build_and_run()`` runs them.
        """
        start = self.trials_done
        if not isinstance(n, int) or n < 1:
            raise ConfigError(f"run_trials takes a number of trials >= 1 (got {n!r})")
        if start + n > self.schedule.n_trials:
            raise ConfigError(f"run_trials({n}): only {self.schedule.n_trials - start} of the schedule's "
                              f"{self.schedule.n_trials} trials are left")
        for a, b in self.cuts(start, start + n):
            self.run_span(a, b)

    def set_parameters(self, **changes) -> None:
        """Change LIF parameters or the learning rate of the built network, as a rebuild would.

        Takes the Config names of ``v_rest``, ``v_threshold``, ``v_reset``, ``tau_m``,
        ``tau_ref``, ``R_m``, ``I_bias``, ``q_syn`` (quantities, or numbers in the
        flags' units) and ``lr``. They change every LIF layer, and ``w_gain``
        (R_m * q_syn / tau_m, the jump of v per unit of weight) is recomputed on
        every projection, so the network is the one ``build`` makes from
        ``config.replace(**changes)``, which becomes ``self.config``. Every other
        parameter shapes the generated code or the synapses and is fixed once
        built: ConfigError.
        """
        from ed_brian.network import LIF_SETTABLE, set_lif_parameters

        fixed = sorted(set(changes) - set(LIF_SETTABLE) - {"lr"})
        if fixed:
            raise ConfigError(f"{', '.join(fixed)} is fixed when the network is built: build again from "
                              f"config.replace({fixed[0]}=...)")
        config = self.config.replace(**changes)
        set_lif_parameters(self.net, config.network, {name for name in changes if name != "lr"})
        if "lr" in changes:
            for group in owning_groups(self.net.learning_layers):
                group.lr = config.network.ed.lr
        self.config = config

    def _recording(self, trial: int) -> bool:
        if self.recorder is None:
            return False
        first, last = self.recorder.edges
        return first <= trial < last

    def cuts(self, start: int, stop: int) -> list[tuple[int, int]]:
        """[start, stop) in the pieces that the loop runs: chunks on the runtime device
        (one piece on a standalone device), cut at the edges of the recorded trials."""
        pieces = [(start, stop)] if self.device.standalone else chunks(start, stop)
        edges = self.recorder.edges if self.recorder else ()
        out = []
        for a, b in pieces:
            inner = sorted({a, b, *(e for e in edges if a < e < b)})
            out += list(zip(inner[:-1], inner[1:]))
        return out

    def queue_all(self) -> None:
        """Queue every remaining trial on a standalone device.

        Brian2 generates a copy of every code object for each ``run()`` in
        standalone mode, so the whole schedule is one run (three when a
        recording window cuts it).
        """
        for a, b in self.cuts(self.trials_done, self.schedule.n_trials):
            self.run_span(a, b)

    def run_span(self, start: int, stop: int, report: Callable[[float], None] | None = None) -> None:
        """Simulate trials [start, stop) of the schedule (on a standalone device: queue them).

        The simulation goes on into the first step of trial ``stop``, where the
        learning operations of trial ``stop - 1`` run. On the runtime device the
        random state at that step is kept, so that a checkpoint taken here can
        continue in another process with exactly the same Poisson spikes.
        """
        target = (stop - self.offset) * self.net.trial_steps + 1
        if self.recorder:
            self.recorder.set_active(self._recording(start))
        if self.device.standalone:
            # One run per piece, cut at trial starts so that a recording covers
            # exactly its trials; the last piece adds the final boundary step.
            if stop < self.schedule.n_trials:
                target -= 1
            self.net.network.run((target - self._steps_done) * self.dt, profile=self.profile,
                                 **devices.progress_report())
            return
        kwargs = {}
        if report is not None:
            kwargs = dict(report=lambda elapsed, completed, begin, duration: report(completed),
                          report_period=1 * brian2.second)
        self._run((target - 1 - self._steps_done) * self.dt, **kwargs)
        self.random_state = devices.random_state()
        if self.recorder:
            self.recorder.set_active(self._recording(stop))
        self._run(self.dt)

    def _run(self, duration, **kwargs) -> None:
        self.net.network.run(duration, profile=self.profile, **kwargs)
        # Brian2 keeps only the latest run's profile.
        for name, seconds in self.net.network.profiling_info if self.profile else ():
            self.profile_seconds[name] = self.profile_seconds.get(name, 0.0) + float(seconds)

    def scores(self, start: int, stop: int) -> np.ndarray:
        """Output scores (trials x K; packed copies: trials x copies*K) of trials [start, stop), once simulated."""
        # Sample k of the monitor holds the scores of (local) trial k-1.
        first = start - self.offset + 1
        return np.array(self.net.score_monitor.score[:, first : first + stop - start]).T

    def image(self, trial: int) -> np.ndarray:
        """The 784 pixel values (in [0, 1]) shown in trial ``trial`` of the schedule."""
        return np.array(self.net.tables["pixels"].values[self.schedule.image[trial]])

    def predictions(self, start: int, stop: int) -> np.ndarray:
        """Predicted class of trials [start, stop), once simulated (the most output spikes;
        packed copies: the ensemble's, from the summed counts)."""
        return ensemble_predictions(self.scores(start, stop), self.config)

    def amines(self, start: int, stop: int) -> np.ndarray:
        """A+ and A- released by every output unit after trials [start, stop) (trials x K x 2)."""
        first = start - self.offset + 1
        mon = self.net.score_monitor
        # Recorded after the score: amine_exc/inh, or release_exc/inh with one LIF group.
        return np.stack([np.array(getattr(mon, name)[:, first : first + stop - start]).T
                         for name in mon.record_variables[1:]], axis=-1)

    def mean_dw(self, start: int, stop: int) -> np.ndarray:
        """Mean |dw| over the first learned synapses (relay or features -> hidden_1) after each of trials [start, stop)
        (packed copies: trials x copies, each over its own synapses)."""
        first = start - self.offset + 1
        mon = self.net.stats_monitor
        part = lambda name: np.array(getattr(mon, name)[:, first : first + stop - start]).T
        total = part("exc_activity") * part("fac_exc_total") + part("inh_activity") * part("fac_inh_total")
        mean = total / (len(self.net.synapses[0]) // self.config.copies)
        return mean[:, 0] if self.config.copies == 1 else mean

    def mean_rates(self, seconds_simulated: float) -> dict[str, float]:
        """Mean firing rate (Hz) of each layer since the last call (standalone: since the start).

        With packed copies, ``copy_rates`` then holds each copy's (the relay and features are every copy's)."""
        now = self.net.spike_totals()
        before = self._spikes_before or {name: 0 for name in now}
        self._spikes_before = now
        spikes = {name: (now[name] - before[name]) / seconds_simulated for name in now}
        C = self.config.copies
        self.copy_rates = [
            {name: float((rate if name in SHARED_LAYERS else rate.reshape(C, -1)[c]).mean()) for name, rate in spikes.items()}
            for c in range(C)]
        return {name: float(rate.mean()) for name, rate in spikes.items()}

    def build_and_run(self, on_progress: Callable[[Phase, float], None] | None = None,
                      should_stop: Callable[[], bool] | None = None) -> devices.StandaloneTimes:
        """Build and run the standalone program of every queued trial.

        ``on_progress(phase, trials_done)`` is called about once a second while
        the program runs, with the trial it has reached. When ``should_stop()``
        turns true the program is stopped (devices.ProgramStopped).
        """
        return devices.build_and_run(self.device, self.project_dir, on_progress=self.in_trials(on_progress),
                                     should_stop=should_stop)

    def in_trials(self, on_progress: Callable[[Phase, float], None] | None) -> Callable[[float], None] | None:
        """A standalone program's progress (simulated seconds) as (phase, trials done) of the schedule."""
        if on_progress is None:
            return None
        trial_seconds = float(self.net.trial_steps * self.dt)

        def report(seconds: float) -> None:
            trial = min(self.offset + seconds / trial_seconds, self.schedule.n_trials)
            phase = next((p for p in self.schedule.phases if p.start <= trial < p.stop), self.schedule.phases[-1])
            on_progress(phase, trial)

        return report


def copy_predictions_of(scores: np.ndarray, config: RunConfig) -> np.ndarray:
    """Every copy's predicted class (trials x copies) from packed output scores."""
    return np.argmax(packing.copy_scores(scores, config.copies), axis=2)


def ensemble_predictions(scores: np.ndarray, config: RunConfig) -> np.ndarray:
    """The predicted class of every trial: the one network's, or the ensemble's of packed copies."""
    if config.copies == 1:
        return predict(scores)
    return predict(packing.ensemble_scores(packing.copy_scores(scores, config.copies), config.network.ed.readout))


def accuracy(schedule: Schedule, predictions: np.ndarray, phase: Phase) -> float:
    """Accuracy (%) over the trials of ``phase``."""
    hits = predictions[phase.start : phase.stop] == schedule.label[phase.start : phase.stop]
    return 100.0 * float(np.mean(hits))


def epoch_pairs(schedule: Schedule) -> list[tuple[Phase, Phase]]:
    """(training phase, test phase) of every epoch."""
    return list(zip(schedule.phases[0::2], schedule.phases[1::2]))


def epoch_metrics(schedule: Schedule, predictions: np.ndarray, seconds: float = 0.0,
                  rates: dict | None = None) -> list[EpochMetrics]:
    """Every epoch's accuracies from the predictions of a whole run (standalone devices)."""
    return [
        EpochMetrics(train.epoch, accuracy(schedule, predictions, train), accuracy(schedule, predictions, test),
                     seconds, rates or {})
        for train, test in epoch_pairs(schedule)
    ]


def _check_same_run(saved: RunConfig, config: RunConfig) -> None:
    """ConfigError unless ``config`` is the checkpoint's run, but for its number of epochs
    (a finished run can be extended)."""
    changed = [f"{name} {old} (given {getattr(config, name)})" for name, old in saved.flags().items()
               if name != "epochs" and not same_value(old, getattr(config, name))]
    if changed:
        raise ConfigError(f"resume: this checkpoint's run has {', '.join(changed)}; resume with the run's own "
                          "configuration, or start a new run from its weights (initial_weights=checkpoint.weights)")


def train(
    config: RunConfig,
    dataset: Dataset,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    on_progress: Callable[[Phase, float], None] | None = None,
    initial_weights: dict | str | Path | None = None,
    project_dir: str | Path | None = None,
    resume: Checkpoint | None = None,
    on_checkpoint: Callable[[Checkpoint], None] | None = None,
    checkpoint_every: int = 0,
    should_stop: Callable[[], bool] | None = None,
    record: RecordSpec | None = None,
    on_build: Callable[[Trainer], None] | None = None,
) -> TrainingResult:
    """Train for ``config.epochs`` epochs; test on the fixed test set after each.

    ``dataset`` must hold the images ``config`` asks for: load it with
    :func:`load_data` (a dataset of other sizes is refused with ConfigError).
    Every epoch shows ``config.train`` training images (the first ones, or
    drawn from ``config.train_pool``), each followed by its ED update, then the
    first ``config.test`` test images with learning off.

    Callbacks: ``on_epoch(metrics)`` after every epoch; ``on_progress(phase,
    trials_done)`` about once a second (on standalone devices too, while the
    compiled program runs); ``on_build(trainer)`` once the network is built
    and before it runs, to add your own monitors (``trainer.add(...)``) or
    change parameters (``trainer.set_parameters(...)``).

    ``initial_weights``: the ``weights`` of an earlier result, or a path to a
    ``weights.npz`` (or its run folder). ``on_checkpoint`` gets a Checkpoint
    after every epoch and, with ``checkpoint_every``, after the first chunk end
    past every that many trials. When ``should_stop()`` turns true, training
    stops at the next chunk end and raises Interrupted with a checkpoint; on a
    standalone device the running program is stopped and Interrupted carries
    the checkpoint where the last program ended (or the one resumed from, or
    None). cpp_standalone runs one program per epoch, each continuing the
    last one's weights and random numbers (the numbers of one program), so
    that every epoch ends with its metrics and checkpoint; with ``record`` or
    ``on_build`` (which may add monitors spanning the run) and on
    cuda_standalone the whole run is one program, checkpointed at its end.
    ``resume`` continues from a checkpoint of the same
    run, with the same numbers as the uninterrupted run; ``config`` may ask for
    more epochs than the checkpoint's run, and any other change is refused
    with ConfigError. ``record`` (a
    RecordSpec) records membrane traces and spikes of chosen trials into
    ``result.recordings``.
    """
    if resume and resume.config is not None:
        _check_same_run(resume.config, config)
    start = resume.trial if resume else 0
    check_data(config, dataset)
    schedule = run_schedule(config, dataset.train_labels, dataset.test_labels, config.seed)
    if start >= schedule.n_trials:
        raise ConfigError("nothing to resume: this run has finished all its epochs")
    pending = [pair for pair in epoch_pairs(schedule) if pair[1].stop > start]
    # cpp_standalone runs one program per epoch, each continuing the last one's
    # weights and random numbers: the same numbers as one program, with every
    # epoch's metrics and checkpoint as it ends. A recording or the caller's
    # own monitors span the whole run, so they keep one program.
    in_parts = config.device == "cpp_standalone" and record is None and on_build is None
    ends = [test.stop for _, test in pending] if in_parts else [schedule.n_trials]

    def program(first: int, stop: int, weights: dict | None, random_state: dict | None) -> Trainer:
        trainer = Trainer(config, dataset, weights, project_dir, start_trial=first, record=record,
                          schedule=schedule if stop == schedule.n_trials else schedule.head(stop))
        if on_build is not None:
            on_build(trainer)
        if random_state is not None:
            if not trainer.device.standalone:
                devices.set_random_state(random_state)
            elif config.device == "cpp_standalone":
                devices.continue_random_numbers(trainer.project_dir, random_state)
        if trainer.device.standalone:
            trainer.queue_all()
        return trainer

    trainer = program(start, ends[0], resume.weights if resume else _weights(initial_weights),
                      resume.random_state if resume else None)
    K, C = config.network.n_classes, config.copies
    trial_seconds = config.network.input.sim_time * 1e-3
    predictions = np.full(schedule.n_trials, -1, dtype=np.int64)
    copy_predictions = np.full((schedule.n_trials, C), -1, dtype=np.int64)
    scores = np.zeros((schedule.n_trials - start, C * K))
    epochs = list(resume.epochs) if resume else []
    copy_epochs = [list(e) for e in resume.copy_epochs] if resume and C > 1 else [[] for _ in range(C)]
    epoch_seconds = resume.epoch_seconds if resume else 0.0
    if resume:
        predictions[:start] = resume.predictions
        if C > 1:
            copy_predictions[:start] = resume.copy_predictions
    amines, mean_dw = [], []

    def keep_scores(a: int, b: int) -> None:
        scores[a - start : b - start] = trainer.scores(a, b)
        predictions[a:b] = ensemble_predictions(scores[a - start : b - start], config)
        copy_predictions[a:b] = copy_predictions_of(scores[a - start : b - start], config)

    def checkpoint(trial: int, seconds: float) -> Checkpoint:
        packed = (copy_predictions[:trial].copy(), [list(e) for e in copy_epochs]) if C > 1 else (None, None)
        return Checkpoint(trial, trainer.net.weights(), predictions[:trial].copy(), list(epochs), seconds,
                          trainer.random_state, *packed, config=config)

    times = None
    latest = resume  # the checkpoint an interrupted standalone program leaves
    last_checkpoint = start
    for train_phase, test_phase in pending:
        began = time.perf_counter() - epoch_seconds
        first = max(train_phase.start, start)
        if trainer.device.standalone and first in (start, *ends):
            if first != start:
                carried = trainer.net.weights(), trainer.random_state
                # Dead before the next is built: Brian2 would number the new code objects
                # (_1, ...) while the old ones live, changing every generated file.
                trainer = None
                trainer = program(first, test_phase.stop, *carried)
            stop = trainer.schedule.n_trials
            try:
                part = trainer.build_and_run(on_progress, should_stop)
            except devices.ProgramStopped:
                raise Interrupted(latest) from None
            times = part if times is None else devices.StandaloneTimes(
                times.build_seconds + part.build_seconds, times.run_seconds + part.run_seconds)
            if config.device == "cpp_standalone":
                trainer.random_state = devices.program_random_state(trainer.project_dir)
            keep_scores(first, stop)
            amines.append(trainer.amines(first, stop))
            mean_dw.append(trainer.mean_dw(first, stop))
            program_epochs = sum(1 for _, test in pending if first < test.stop <= stop)
            seconds = (part.build_seconds + part.run_seconds) / program_epochs
            rates = trainer.mean_rates((stop - first) * trial_seconds)
        if not trainer.device.standalone:
            for phase in (train_phase, test_phase):
                for a, b in trainer.cuts(max(phase.start, start), phase.stop):
                    report = None
                    if on_progress:
                        report = lambda done, phase=phase, a=a, b=b: on_progress(phase, a + done * (b - a))
                    trainer.run_span(a, b, report)
                    keep_scores(a, b)
                    if b == test_phase.stop:
                        continue  # the epoch's own checkpoint follows
                    if should_stop and should_stop():
                        raise Interrupted(checkpoint(b, time.perf_counter() - began))
                    if on_checkpoint and checkpoint_every and b - last_checkpoint >= checkpoint_every:
                        on_checkpoint(checkpoint(b, time.perf_counter() - began))
                        last_checkpoint = b
            seconds = time.perf_counter() - began
            rates = trainer.mean_rates((test_phase.stop - first) * trial_seconds)
        epoch_seconds = 0.0
        metrics = EpochMetrics(
            train_phase.epoch,
            accuracy(schedule, predictions, train_phase),
            accuracy(schedule, predictions, test_phase),
            seconds,
            rates,
        )
        epochs.append(metrics)
        for c in range(C if C > 1 else 0):
            copy_epochs[c].append(EpochMetrics(
                train_phase.epoch, accuracy(schedule, copy_predictions[:, c], train_phase),
                accuracy(schedule, copy_predictions[:, c], test_phase), seconds, trainer.copy_rates[c]))
        if on_epoch:
            on_epoch(metrics)
        # A standalone program's weights are those of its end, not of each epoch inside it.
        ended = not trainer.device.standalone or test_phase.stop == trainer.schedule.n_trials
        if ended and (on_checkpoint or trainer.device.standalone):
            latest = checkpoint(test_phase.stop, 0.0)
            if on_checkpoint:
                on_checkpoint(latest)
            last_checkpoint = test_phase.stop
        if should_stop and should_stop() and ended and test_phase.stop < schedule.n_trials:
            raise Interrupted(checkpoint(test_phase.stop, 0.0))
    if not amines:
        amines.append(trainer.amines(start, schedule.n_trials))
        mean_dw.append(trainer.mean_dw(start, schedule.n_trials))
    amines, mean_dw = np.concatenate(amines), np.concatenate(mean_dw)
    weights = trainer.net.weights()
    check_weights(config.network, weights, C)
    if not np.all(np.isfinite(scores)):
        raise InvariantError("output scores contain NaN or infinite values")
    result = TrainingResult(
        config=config,
        epochs=epochs,
        weights=weights,
        predictions=predictions,
        scores=scores,
        schedule=schedule,
        first_trial=start,
        standalone_times=times,
        recordings=trainer.recorder.arrays(start) if trainer.recorder else None,
        amines=amines,
        mean_dw=mean_dw if C == 1 else mean_dw.mean(axis=1),
        warnings=layer_warnings(config.network, epochs[-1].mean_rates) if epochs else [],
    )
    if C > 1:
        result.copies = _copy_results(result, copy_epochs, copy_predictions, mean_dw)
    return result


def _copy_results(result: TrainingResult, copy_epochs: list, copy_predictions: np.ndarray,
                  mean_dw: np.ndarray) -> list[TrainingResult]:
    """Each copy's TrainingResult, as a single run of its ``copy_config`` returns it."""
    from ed_brian.network import learn_table

    config, K = result.config, result.config.network.n_classes
    scores = packing.copy_scores(result.scores, config.copies)
    out = []
    for c, weights in enumerate(packing.split_weights(result.weights, config)):
        own = config.copy_config(c)
        schedule = replace(result.schedule, learn=learn_table(result.schedule, [own.network.ed.lr_decay])[:, 0])
        out.append(TrainingResult(
            config=own, epochs=copy_epochs[c], weights=weights, predictions=copy_predictions[:, c].copy(),
            scores=scores[:, c].copy(), schedule=schedule, first_trial=result.first_trial,
            standalone_times=result.standalone_times, amines=result.amines[:, c * K : (c + 1) * K].copy(),
            mean_dw=mean_dw[:, c].copy(),
            warnings=layer_warnings(own.network, copy_epochs[c][-1].mean_rates) if copy_epochs[c] else [],
        ))
    return out


def evaluate(config: RunConfig, dataset: Dataset, weights: dict | str | Path, project_dir: str | Path | None = None,
             on_progress: Callable[[Phase, float], None] | None = None, per_copy: bool = False,
             repeats: int = 1, should_stop: Callable[[], bool] | None = None):
    """Test accuracy (%) of ``weights`` on the first ``config.test`` test images, learning off.

    ``weights``: a result's ``weights`` or a path to a ``weights.npz`` (or its
    run folder), from any device; it runs on ``config.device``. With packed
    copies, the ensemble's accuracy (summed output counts). ``per_copy``
    returns (that accuracy, [accuracy of each copy]).

    ``repeats`` R shows every test image R times, each time with its own
    Poisson spikes, and sums the output counts of its R presentations before
    the most active class wins: a look R times as long at each image, the
    membranes reset between looks (R times the test trials).

    On a standalone device ``should_stop()`` turning true stops the program
    (devices.ProgramStopped, a DeviceError).
    """
    scores = evaluation_scores(config, dataset, weights, project_dir, on_progress, repeats, should_stop)
    overall = voted_accuracy(scores, dataset.test_labels, config.network.ed.readout)
    if not per_copy:
        return overall
    return overall, copy_accuracies(scores, dataset.test_labels, config.network.ed.readout)


def evaluation_scores(config: RunConfig, dataset: Dataset, weights: dict | str | Path,
                      project_dir: str | Path | None = None,
                      on_progress: Callable[[Phase, float], None] | None = None, repeats: int = 1,
                      should_stop: Callable[[], bool] | None = None) -> np.ndarray:
    """Output scores of ``weights`` on the fixed test set shown ``repeats`` times, learning off.

    Returns images x copies x repeats x K (K classes): what :func:`evaluate`
    votes with, and what :func:`voted_accuracy` takes, so that the scores of
    several networks (other seeds' runs) can be joined along the copies axis
    and vote together.
    """
    trainer = build(config, dataset, weights, project_dir=project_dir, test_only=True, repeats=repeats)
    (phase,) = trainer.schedule.phases
    trainer.queue_all()
    if trainer.device.standalone:
        trainer.build_and_run(on_progress, should_stop)
    scores = trainer.scores(phase.start, phase.stop)
    n_images = len(scores) // repeats
    return scores.reshape(repeats, n_images, config.copies, -1).transpose(1, 2, 0, 3)


def voted_accuracy(scores: np.ndarray, labels: np.ndarray, readout: str = "count") -> float:
    """Accuracy (%) of every network and presentation in ``scores`` (images x copies x repeats x K) voting."""
    n_images, copies, repeats, n_classes = scores.shape
    voters = scores.reshape(n_images, copies * repeats, n_classes)
    return 100.0 * float(np.mean(predict(packing.ensemble_scores(voters, readout)) == labels[:n_images]))


def copy_accuracies(scores: np.ndarray, labels: np.ndarray, readout: str = "count") -> list[float]:
    """Accuracy (%) of each copy in ``scores`` (images x copies x repeats x K) alone, over its presentations."""
    return [voted_accuracy(scores[:, [c]], labels, readout) for c in range(scores.shape[1])]


def build(config: RunConfig, dataset: Dataset, weights: dict | str | Path | None = None,
          record: RecordSpec | None = None, project_dir: str | Path | None = None,
          test_only: bool = False, repeats: int = 1) -> Trainer:
    """Build the network of ``config`` on its device, ready to run trial by trial.

    Returns a :class:`Trainer`: its ``layers`` and ``projections`` are the
    Brian2 groups and synapses by name, ready for your own ``StateMonitor``,
    ``SpikeMonitor`` or ``PopulationRateMonitor`` (``trainer.add(monitor)``);
    ``trainer.run_trials(n)`` simulates the next n trials of the run's schedule
    (training trials learn, test trials do not). ``weights`` starts from saved
    weights instead of the initial draw, U(w1, w2) in NumPy from the weight
    seed (a dict, or a path to a ``weights.npz`` or its run folder). Brian2
    (the Poisson input) is seeded with ``config.seed`` and the device is
    activated here, so numbers equal the command line's.

    With ``test_only`` the schedule is only the fixed test set, learning off
    (as :func:`evaluate` runs it): trial k shows test image k, and with
    ``repeats`` R the whole test set follows R times over.
    """
    if not isinstance(repeats, int) or repeats < 1 or (repeats > 1 and not test_only):
        raise ConfigError(f"repeats must be a whole number >= 1, and > 1 only with test_only (got {repeats!r})")
    if not test_only:
        return Trainer(config, dataset, _weights(weights), project_dir, record=record)
    check_data(config, dataset, train_images=False)
    schedule = test_schedule(len(dataset.train_labels), dataset.test_labels, repeats)
    return Trainer(config, dataset, _weights(weights), project_dir, schedule=schedule, record=record)


def _weights(weights: dict | str | Path | None) -> dict | None:
    if weights is None or isinstance(weights, dict):
        return weights
    from ed_brian.results import load_weights

    return load_weights(weights)


class StandaloneSession:
    """Compile once, run many: one standalone program, rerun with ``run_args``.

    The program is built for one network shape and schedule length. Each
    ``run`` replaces, without recompiling, the images (a dataset of the same
    sizes), the training order (a shuffle seed), the initial weights and the
    learning rate; the Poisson random stream is the one compiled in. Runtime
    runs may come in between; another standalone run in the same process
    starts a new project and ends the session.
    """

    def __init__(self, config: RunConfig, dataset: Dataset, project_dir: str | Path | None = None):
        if config.device == "runtime":
            raise ConfigError("a standalone session needs --device cpp_standalone or cuda_standalone")
        self.config = config
        self.labels = dataset.train_labels, dataset.test_labels
        self.trainer = Trainer(config, dataset, project_dir=project_dir)
        self.trainer.queue_all()
        self.device = get_device()
        self.build_seconds = devices.build_and_run(self.trainer.device, self.trainer.project_dir,
                                                   run=False).build_seconds

    def run(self, dataset: Dataset | None = None, shuffle_seed: int | None = None,
            initial_weights: dict | None = None, lr: float | None = None,
            on_progress: Callable[[Phase, float], None] | None = None) -> TrainingResult:
        """Run the compiled program again with new values, without compiling.

        ``dataset``: images of the same sizes; ``shuffle_seed``: the training
        order; ``initial_weights``: magnitudes of every projection (as
        ``weights`` of a result); ``lr``: the learning rate. ``on_progress`` as
        for :func:`train`.
        """
        from ed_brian.network import check_weight_shapes, owning_groups, schedule_values

        net, config = self.trainer.net, self.config
        run_args = {}
        schedule = self.trainer.schedule
        if dataset is not None or shuffle_seed is not None:
            data = dataset
            if data is not None:
                table = pixel_table(data)
                if table.shape != net.tables["pixels"].values.shape:
                    raise ConfigError(f"the program was built for {len(net.tables['pixels'].values)} images")
                run_args[net.tables["pixels"]] = table
            # run_args last for one run: without new images the compiled-in ones are shown.
            labels = self.labels if data is None else (data.train_labels, data.test_labels)
            schedule = run_schedule(config, *labels, config.seed if shuffle_seed is None else shuffle_seed)
            decays = [config.copy_config(c).network.ed.lr_decay for c in range(config.copies)] \
                if config.copies > 1 else None
            shifts = bool(config.network.input.max_shift)
            for name, values in schedule_values(schedule, decays, shifts).items():
                run_args[net.tables[name]] = values
        if initial_weights is not None:
            check_weight_shapes(initial_weights, expected_synapse_counts(config.network, config.copies))
            # Weights without a feature calibration keep the program's.
            initial_weights = {**net.feature_calibration, **initial_weights}
            for owner, name, values in net.weight_values(initial_weights):
                run_args[getattr(owner, name)] = values
        if lr is not None:
            # The learning rate is shared by a group: set it once per group.
            for group in owning_groups(net.learning_layers):
                run_args[group.lr] = lr
        start = time.perf_counter()
        devices.run_program(self.trainer.project_dir, run_args, self.trainer.in_trials(on_progress), self.device)
        seconds = time.perf_counter() - start
        scores = self.trainer.scores(0, schedule.n_trials)
        predictions = predict(scores)
        simulated = schedule.n_trials * config.network.input.sim_time * 1e-3
        rates = {name: float(count.mean() / simulated) for name, count in net.spike_totals().items()}
        pairs = epoch_pairs(schedule)
        return TrainingResult(
            config=config,
            epochs=epoch_metrics(schedule, predictions, seconds / len(pairs), rates),
            weights=net.weights(),
            predictions=predictions,
            scores=scores,
            schedule=schedule,
            standalone_times=devices.StandaloneTimes(0.0, seconds),
        )
