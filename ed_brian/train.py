"""Training and evaluation: epochs of trials, accuracies on the fixed test set.

The whole schedule is known before the first step, so every trial's image,
label and learning switch lives in TimedArrays. On the runtime device each
phase (the training or the test trials of an epoch) runs inside one ``run()``;
on a standalone device all phases run in one compiled program.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import brian2
import numpy as np
from brian2 import ms

from ed_brian import devices
from ed_brian.config import ConfigError, RunConfig
from ed_brian.data import Dataset
from ed_brian.network import EDNetwork, build_network, expected_synapse_counts
from ed_brian.schedule import Phase, Schedule, build_schedule, test_schedule


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    train_accuracy: float  # %, online: each prediction made before that trial's update
    test_accuracy: float  # %, on the first n_test test images
    seconds: float  # wall time of the epoch (standalone: the run's time split evenly)
    mean_rates: dict = field(default_factory=dict)  # Hz per layer over the epoch (standalone: over the run)


@dataclass
class TrainingResult:
    config: RunConfig
    epochs: list[EpochMetrics]
    weights: dict[str, np.ndarray]
    predictions: np.ndarray  # (n_trials,) predicted class of every trial
    scores: np.ndarray  # (n_trials, K) output spike count + membrane progress
    schedule: Schedule
    standalone_times: devices.StandaloneTimes | None = None


def pixel_table(dataset: Dataset) -> np.ndarray:
    """Training then test images as rows of 784 values in [0, 1]."""
    images = np.concatenate([dataset.train_images, dataset.test_images])
    return images.reshape(len(images), -1).astype(np.float64) / 255.0


def predict(scores: np.ndarray) -> np.ndarray:
    """The class with the most output spikes; the membrane decides ties."""
    return np.argmax(scores, axis=1)


def shape_key(config: RunConfig) -> dict:
    """The network's shape: runs of the same shape share a standalone project folder,
    where make recompiles only the generated files that changed."""
    net = config.network
    return {
        "hidden": list(net.hidden),
        "n_classes": net.n_classes,
        "n_pixels": net.n_pixels,
        "shared_ei_trains": net.input.shared_ei_trains,
        "input_activity": net.ed.input_activity,
        "threads": config.threads,
    }


class Trainer:
    """Builds the network for a run on its device and runs its schedule."""

    def __init__(self, config: RunConfig, dataset: Dataset, initial_weights: dict | None = None,
                 project_dir: str | Path | None = None, compile: bool = True, schedule: Schedule | None = None):
        config.validate()
        if int(max(dataset.train_labels.max(), dataset.test_labels.max())) >= config.network.n_classes:
            raise ConfigError(f"{dataset.name} has labels beyond the {config.network.n_classes} output units")
        self.config = config
        rng = np.random.default_rng(config.seed)
        self.schedule = schedule or build_schedule(
            dataset.train_labels, dataset.test_labels, config.epochs, rng, config.shuffle
        )
        table = pixel_table(dataset)
        self.device = devices.DeviceSpec(config.device, config.codegen, config.threads, compile=compile)
        self.project_dir = None
        if self.device.standalone:
            self.project_dir = Path(project_dir) if project_dir else devices.default_project_dir(
                self.device, shape_key(config)
            )
        devices.activate(self.device)
        brian2.seed(config.seed)
        self.net: EDNetwork = build_network(config.network, table, self.schedule)
        if initial_weights is not None:
            self.net.set_weights(initial_weights, expected_synapse_counts(config.network))
        self.dt = config.network.input.dt * ms
        self._steps_done = 0
        self._spikes_before = None if self.device.standalone else self.net.spike_totals()

    def run_phase(self, phase: Phase, report: Callable[[float], None] | None = None) -> None:
        """Simulate the trials of ``phase`` (on a standalone device: queue them).

        The simulation goes on to the first step of the next trial, where the
        learning operations of the phase's last trial run.
        """
        target = phase.stop * self.net.trial_steps + 1
        duration = (target - self._steps_done) * self.dt
        kwargs = {}
        if report is not None and not self.device.standalone:
            kwargs = dict(report=lambda elapsed, completed, start, dur: report(completed),
                          report_period=1 * brian2.second)
        self.net.network.run(duration, **kwargs)
        self._steps_done = target

    def scores(self, phase: Phase) -> np.ndarray:
        """Output scores (trials x K) of the trials of ``phase``, once simulated."""
        # Sample k of the monitor holds the scores of trial k-1.
        return np.array(self.net.score_monitor.score[:, phase.start + 1 : phase.stop + 1]).T

    def mean_rates(self, seconds_simulated: float) -> dict[str, float]:
        """Mean firing rate (Hz) of each layer since the last call (standalone: since the start)."""
        now = self.net.spike_totals()
        before = self._spikes_before or {name: 0 for name in now}
        self._spikes_before = now
        return {name: float((now[name] - before[name]).mean() / seconds_simulated) for name in now}

    def build_and_run(self) -> devices.StandaloneTimes:
        return devices.build_and_run(self.device, self.project_dir)


def phase_accuracy(schedule: Schedule, scores: np.ndarray, phase: Phase) -> float:
    """Accuracy (%) over the trials of ``phase``, from the scores of every trial."""
    hits = predict(scores[phase.start : phase.stop]) == schedule.label[phase.start : phase.stop]
    return 100.0 * float(np.mean(hits))


def epoch_pairs(schedule: Schedule) -> list[tuple[Phase, Phase]]:
    """(training phase, test phase) of every epoch."""
    return list(zip(schedule.phases[0::2], schedule.phases[1::2]))


def train(
    config: RunConfig,
    dataset: Dataset,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    on_progress: Callable[[Phase, float], None] | None = None,
    initial_weights: dict | None = None,
    project_dir: str | Path | None = None,
) -> TrainingResult:
    """Train for ``config.epochs`` epochs; evaluate on the fixed test set after each."""
    trainer = Trainer(config, dataset, initial_weights, project_dir)
    schedule = trainer.schedule
    trial_seconds = config.network.input.sim_time * 1e-3
    scores = np.zeros((schedule.n_trials, config.network.n_classes))
    times = None
    if trainer.device.standalone:
        for phase in schedule.phases:
            trainer.run_phase(phase)
        times = trainer.build_and_run()
        seconds = (times.build_seconds + times.run_seconds) / config.epochs
        rates = trainer.mean_rates(schedule.n_trials * trial_seconds)
    epochs = []
    for train_phase, test_phase in epoch_pairs(schedule):
        start = time.perf_counter()
        for phase in (train_phase, test_phase):
            if not trainer.device.standalone:
                report = (lambda done, phase=phase: on_progress(phase, done)) if on_progress else None
                trainer.run_phase(phase, report)
            scores[phase.start : phase.stop] = trainer.scores(phase)
        if not trainer.device.standalone:
            seconds = time.perf_counter() - start
            rates = trainer.mean_rates((test_phase.stop - train_phase.start) * trial_seconds)
        metrics = EpochMetrics(
            train_phase.epoch,
            phase_accuracy(schedule, scores, train_phase),
            phase_accuracy(schedule, scores, test_phase),
            seconds,
            rates,
        )
        epochs.append(metrics)
        if on_epoch:
            on_epoch(metrics)
    return TrainingResult(
        config=config,
        epochs=epochs,
        weights=trainer.net.weights(),
        predictions=predict(scores),
        scores=scores,
        schedule=schedule,
        standalone_times=times,
    )


def evaluate(config: RunConfig, dataset: Dataset, weights: dict, project_dir: str | Path | None = None) -> float:
    """Test accuracy (%) of saved ``weights`` on the fixed test set, learning off, on ``config.device``."""
    schedule = test_schedule(len(dataset.train_labels), dataset.test_labels)
    trainer = Trainer(config, dataset, weights, project_dir, schedule=schedule)
    (phase,) = schedule.phases
    trainer.run_phase(phase)
    if trainer.device.standalone:
        trainer.build_and_run()
    return phase_accuracy(schedule, trainer.scores(phase), phase)
