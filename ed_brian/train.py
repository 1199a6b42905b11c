"""Training and evaluation: epochs of trials, accuracies on the fixed test set.

The whole schedule is known before the first step, so every trial's image,
label and learning switch lives in TimedArrays and each phase (the training or
test trials of an epoch) runs inside a single ``run()``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import brian2
import numpy as np
from brian2 import ms

from ed_brian.config import RunConfig
from ed_brian.data import Dataset
from ed_brian.devices import use_runtime
from ed_brian.network import EDNetwork, build_network
from ed_brian.schedule import Phase, Schedule, build_schedule


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    train_accuracy: float  # %, online: each prediction made before that trial's update
    test_accuracy: float  # %, on the first n_test test images
    seconds: float  # wall time of the epoch
    mean_rates: dict = field(default_factory=dict)  # Hz per layer over the epoch


@dataclass
class TrainingResult:
    config: RunConfig
    epochs: list[EpochMetrics]
    weights: dict[str, np.ndarray]
    predictions: np.ndarray  # (n_trials,) predicted class of every trial
    scores: np.ndarray  # (n_trials, K) output spike count + membrane progress
    schedule: Schedule


def pixel_table(dataset: Dataset) -> np.ndarray:
    """Training then test images as rows of 784 values in [0, 1]."""
    images = np.concatenate([dataset.train_images, dataset.test_images])
    return images.reshape(len(images), -1).astype(np.float64) / 255.0


def predict(scores: np.ndarray) -> np.ndarray:
    """The class with the most output spikes; the membrane decides ties."""
    return np.argmax(scores, axis=1)


class Trainer:
    """Runs the schedule phase by phase on one built network."""

    def __init__(self, config: RunConfig, dataset: Dataset):
        config.validate()
        self.config = config
        rng = np.random.default_rng(config.seed)
        self.schedule = build_schedule(
            dataset.train_labels, dataset.test_labels, config.epochs, rng, config.shuffle
        )
        use_runtime(config.codegen)
        brian2.seed(config.seed)
        self.net: EDNetwork = build_network(config.network, pixel_table(dataset), self.schedule)
        self.dt = config.network.input.dt * ms
        self._steps_done = 0
        self._spikes_before = self.net.spike_totals()

    def run_phase(self, phase: Phase, report: Callable[[float], None] | None = None) -> np.ndarray:
        """Simulate the trials of ``phase`` and return their output scores (trials x K).

        The simulation goes on to the first step of the next trial, where the
        learning operations of the phase's last trial run.
        """
        target = phase.stop * self.net.trial_steps + 1
        duration = (target - self._steps_done) * self.dt
        kwargs = {}
        if report is not None:
            kwargs = dict(report=lambda elapsed, completed, start, dur: report(completed), report_period=1 * brian2.second)
        self.net.network.run(duration, **kwargs)
        self._steps_done = target
        # Sample k of the monitor holds the scores of trial k-1.
        return np.array(self.net.score_monitor.score[:, phase.start + 1 : phase.stop + 1]).T

    def mean_rates(self, seconds_simulated: float) -> dict[str, float]:
        """Mean firing rate (Hz) of each layer since the last call."""
        now = self.net.spike_totals()
        rates = {
            name: float((now[name] - self._spikes_before[name]).mean() / seconds_simulated)
            for name in now
        }
        self._spikes_before = now
        return rates


def train(
    config: RunConfig,
    dataset: Dataset,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    on_progress: Callable[[Phase, float], None] | None = None,
) -> TrainingResult:
    """Train for ``config.epochs`` epochs; evaluate on the fixed test set after each."""
    trainer = Trainer(config, dataset)
    schedule = trainer.schedule
    trial_seconds = config.network.input.sim_time * 1e-3
    scores = np.zeros((schedule.n_trials, config.network.n_classes))
    epochs = []
    phases = list(schedule.phases)
    for train_phase, test_phase in zip(phases[0::2], phases[1::2]):
        start = time.perf_counter()
        accuracy = {}
        for phase in (train_phase, test_phase):
            report = (lambda done, phase=phase: on_progress(phase, done)) if on_progress else None
            scores[phase.start : phase.stop] = trainer.run_phase(phase, report)
            hits = predict(scores[phase.start : phase.stop]) == schedule.label[phase.start : phase.stop]
            accuracy[phase.kind] = 100.0 * hits.mean()
        n_trials = test_phase.stop - train_phase.start
        metrics = EpochMetrics(
            epoch=train_phase.epoch,
            train_accuracy=accuracy["train"],
            test_accuracy=accuracy["test"],
            seconds=time.perf_counter() - start,
            mean_rates=trainer.mean_rates(n_trials * trial_seconds),
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
    )
