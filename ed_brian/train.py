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

from ed_brian import devices
from ed_brian.config import ConfigError, RunConfig
from ed_brian.data import Dataset
from ed_brian.invariants import InvariantError, check_weights, layer_warnings
from ed_brian.models import frelu, simple
from ed_brian.network import EDNetwork, build_network, expected_synapse_counts
from ed_brian.record import Recorder, RecordSpec
from ed_brian.schedule import Phase, Schedule, build_schedule, chunks, test_schedule


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
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


class Interrupted(Exception):
    """Training stopped on request; ``checkpoint`` holds the position reached."""

    def __init__(self, checkpoint: Checkpoint):
        super().__init__(f"interrupted after trial {checkpoint.trial}")
        self.checkpoint = checkpoint


@dataclass
class TrainingResult:
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
                          config.shuffle, config.network.ed.lr_decay, per_epoch=config.n_train)


def shape_key(config: RunConfig) -> dict:
    """The network's shape: runs of the same shape share a standalone project folder,
    where make recompiles only the generated files that changed."""
    net = config.network
    return {
        "hidden": list(net.hidden),
        "n_classes": net.n_classes,
        "n_pixels": net.n_pixels,
        "input_fraction": net.input_fraction,
        "shared_ei_trains": net.input.shared_ei_trains,
        "lif_groups": net.lif_groups,
        "relay_input": net.input.relay_input,
        "input_activity": net.ed.input_activity,
        "learning": net.ed.learning,
        "bias_units": net.ed.bias_rate > 0,
        "threads": config.threads,
        "cuda_fixed_grid": config.cuda_fixed_grid,
    }


class Trainer:
    """Builds the network for a run on its device and simulates its schedule.

    Trial indices are those of the full schedule; a trainer that resumes at
    ``start_trial`` builds its TimedArrays from the schedule's tail.
    """

    def __init__(self, config: RunConfig, dataset: Dataset, initial_weights: dict | None = None,
                 project_dir: str | Path | None = None, compile: bool = True,
                 schedule: Schedule | None = None, start_trial: int = 0, record: RecordSpec | None = None,
                 profile: bool = False):
        config.validate()
        self.profile = profile  # Brian2's per-code-object timing, for benchmarks
        self.profile_seconds: dict[str, float] = {}  # summed over the runtime runs so far
        if int(max(dataset.train_labels.max(), dataset.test_labels.max())) >= config.network.n_classes:
            raise ConfigError(f"{dataset.name} has labels beyond the {config.network.n_classes} output units")
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
        build = {"lif": build_network, "simple": simple.build, "frelu": frelu.build}[config.model]
        self.net: EDNetwork = build(network, pixel_table(dataset), self.schedule.tail(start_trial))
        if initial_weights is not None:
            self.net.set_weights(initial_weights, expected_synapse_counts(config.network))
        self.dt = config.network.input.dt * ms
        self.recorder = None
        if record is not None:
            record.validate(self.schedule.n_trials)
            self.recorder = Recorder(record, self.net, self.net.trial_steps, self.dt)
        self._steps_done = 0
        self._spikes_before = None if self.device.standalone else self.net.spike_totals()
        self.random_state = None  # at the first step of the trial the last run_trials stopped at

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
        for a, b in self.cuts(self.offset, self.schedule.n_trials):
            self.run_trials(a, b)

    def run_trials(self, start: int, stop: int, report: Callable[[float], None] | None = None) -> None:
        """Simulate trials [start, stop) (on a standalone device: queue them).

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
            self.net.network.run((target - self._steps_done) * self.dt, profile=self.profile)
            self._steps_done = target
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
        self._steps_done = target

    def _run(self, duration, **kwargs) -> None:
        self.net.network.run(duration, profile=self.profile, **kwargs)
        # Brian2 keeps only the latest run's profile.
        for name, seconds in self.net.network.profiling_info if self.profile else ():
            self.profile_seconds[name] = self.profile_seconds.get(name, 0.0) + float(seconds)

    def scores(self, start: int, stop: int) -> np.ndarray:
        """Output scores (trials x K) of trials [start, stop), once simulated."""
        # Sample k of the monitor holds the scores of (local) trial k-1.
        first = start - self.offset + 1
        return np.array(self.net.score_monitor.score[:, first : first + stop - start]).T

    def amines(self, start: int, stop: int) -> np.ndarray:
        """A+ and A- released by every output unit after trials [start, stop) (trials x K x 2)."""
        first = start - self.offset + 1
        mon = self.net.score_monitor
        # Recorded after the score: amine_exc/inh, or release_exc/inh with one LIF group.
        return np.stack([np.array(getattr(mon, name)[:, first : first + stop - start]).T
                         for name in mon.record_variables[1:]], axis=-1)

    def mean_dw(self, start: int, stop: int) -> np.ndarray:
        """Mean |dw| over the relay -> hidden_1 synapses after each of trials [start, stop)."""
        first = start - self.offset + 1
        mon = self.net.stats_monitor
        part = lambda name: np.array(getattr(mon, name)[0, first : first + stop - start])
        total = part("exc_activity") * part("fac_exc_total") + part("inh_activity") * part("fac_inh_total")
        return total / len(self.net.synapses[0])

    def mean_rates(self, seconds_simulated: float) -> dict[str, float]:
        """Mean firing rate (Hz) of each layer since the last call (standalone: since the start)."""
        now = self.net.spike_totals()
        before = self._spikes_before or {name: 0 for name in now}
        self._spikes_before = now
        return {name: float((now[name] - before[name]).mean() / seconds_simulated) for name in now}

    def build_and_run(self) -> devices.StandaloneTimes:
        return devices.build_and_run(self.device, self.project_dir)


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


def train(
    config: RunConfig,
    dataset: Dataset,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    on_progress: Callable[[Phase, float], None] | None = None,  # (phase, trials done)
    initial_weights: dict | None = None,
    project_dir: str | Path | None = None,
    resume: Checkpoint | None = None,
    on_checkpoint: Callable[[Checkpoint], None] | None = None,
    checkpoint_every: int = 0,
    should_stop: Callable[[], bool] | None = None,
    record: RecordSpec | None = None,
) -> TrainingResult:
    """Train for ``config.epochs`` epochs; evaluate on the fixed test set after each.

    ``on_checkpoint`` gets a Checkpoint after every epoch and, with
    ``checkpoint_every``, after the first chunk end past every that many
    trials. When ``should_stop()`` turns true, training stops at the next chunk
    end and raises Interrupted with a checkpoint (runtime device only).
    ``resume`` continues from a checkpoint of the same run, with the same
    numbers as the uninterrupted run.
    """
    start = resume.trial if resume else 0
    weights = resume.weights if resume else initial_weights
    trainer = Trainer(config, dataset, weights, project_dir, start_trial=start, record=record)
    if resume and resume.random_state is not None and not trainer.device.standalone:
        devices.set_random_state(resume.random_state)
    schedule = trainer.schedule
    if start >= schedule.n_trials:
        raise ConfigError("nothing to resume: this run has finished all its epochs")
    K = config.network.n_classes
    trial_seconds = config.network.input.sim_time * 1e-3
    predictions = np.full(schedule.n_trials, -1, dtype=np.int64)
    scores = np.zeros((schedule.n_trials - start, K))
    epochs = list(resume.epochs) if resume else []
    epoch_seconds = resume.epoch_seconds if resume else 0.0
    if resume:
        predictions[:start] = resume.predictions
    pending = [pair for pair in epoch_pairs(schedule) if pair[1].stop > start]

    def record(a: int, b: int) -> None:
        scores[a - start : b - start] = trainer.scores(a, b)
        predictions[a:b] = predict(scores[a - start : b - start])

    def checkpoint(trial: int, seconds: float) -> Checkpoint:
        return Checkpoint(trial, trainer.net.weights(), predictions[:trial].copy(), list(epochs), seconds,
                          trainer.random_state)

    times = None
    if trainer.device.standalone:
        trainer.queue_all()
        times = trainer.build_and_run()
        record(start, schedule.n_trials)
        seconds = (times.build_seconds + times.run_seconds) / len(pending)
        rates = trainer.mean_rates((schedule.n_trials - start) * trial_seconds)
    last_checkpoint = start
    for train_phase, test_phase in pending:
        began = time.perf_counter() - epoch_seconds
        first = max(train_phase.start, start)
        if not trainer.device.standalone:
            for phase in (train_phase, test_phase):
                for a, b in trainer.cuts(max(phase.start, start), phase.stop):
                    report = None
                    if on_progress:
                        report = lambda done, phase=phase, a=a, b=b: on_progress(phase, a + done * (b - a))
                    trainer.run_trials(a, b, report)
                    record(a, b)
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
        if on_epoch:
            on_epoch(metrics)
        if on_checkpoint:
            on_checkpoint(checkpoint(test_phase.stop, 0.0))
            last_checkpoint = test_phase.stop
        if should_stop and should_stop() and test_phase.stop < schedule.n_trials:
            raise Interrupted(checkpoint(test_phase.stop, 0.0))
    weights = trainer.net.weights()
    check_weights(config.network, weights)
    if not np.all(np.isfinite(scores)):
        raise InvariantError("output scores contain NaN or infinite values")
    return TrainingResult(
        config=config,
        epochs=epochs,
        weights=weights,
        predictions=predictions,
        scores=scores,
        schedule=schedule,
        first_trial=start,
        standalone_times=times,
        recordings=trainer.recorder.arrays(start) if trainer.recorder else None,
        amines=trainer.amines(start, schedule.n_trials),
        mean_dw=trainer.mean_dw(start, schedule.n_trials),
        warnings=layer_warnings(config.network, epochs[-1].mean_rates) if epochs else [],
    )


def evaluate(config: RunConfig, dataset: Dataset, weights: dict, project_dir: str | Path | None = None) -> float:
    """Test accuracy (%) of saved ``weights`` on the fixed test set, learning off, on ``config.device``."""
    schedule = test_schedule(len(dataset.train_labels), dataset.test_labels)
    trainer = Trainer(config, dataset, weights, project_dir, schedule=schedule)
    (phase,) = schedule.phases
    trainer.queue_all()
    if trainer.device.standalone:
        trainer.build_and_run()
    return accuracy(schedule, predict(trainer.scores(phase.start, phase.stop)), phase)


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
            initial_weights: dict | None = None, lr: float | None = None) -> TrainingResult:
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
            for name, values in schedule_values(schedule).items():
                run_args[net.tables[name]] = values
        if initial_weights is not None:
            check_weight_shapes(initial_weights, expected_synapse_counts(config.network))
            for syn in net.projections:
                run_args[syn.w] = np.asarray(initial_weights[f"{syn.name}/w"], dtype=float)
        if lr is not None:
            # The learning rate is shared by a group: set it once per group.
            for group in owning_groups(net.layers[1:]):
                run_args[group.lr] = lr
        start = time.perf_counter()
        self.device.run(str(self.trainer.project_dir), with_output=False, run_args=run_args)
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
