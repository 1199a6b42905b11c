"""ed-brian: Kaneko's Error-Diffusion learning on fully spiking LIF networks in Brian2.

The names a script needs, in the order of a run::

    import ed_brian
    config = ed_brian.Config(hidden=64, train=300, test=100, epochs=2)
    data = ed_brian.load_data(config)
    result = ed_brian.train(config, data)
    ed_brian.save_run("results/my_run", result, data)
    run = ed_brian.load_run("results/my_run")

Everything else (``ed_brian.network``, ``ed_brian.learning``, ...) is the
machinery behind them; ``ed_brian.plots`` draws every figure from saved runs.
"""

__version__ = "0.1.0"

from ed_brian.config import Config, ConfigError
from ed_brian.copies import initial_weights
from ed_brian.data import DataError, Dataset, load_data, load_dataset
from ed_brian.devices import DeviceError
from ed_brian.ensemble import Vote, vote
from ed_brian.export import collect_results, export_project
from ed_brian.record import RecordSpec, load_recordings
from ed_brian.results import (
    ResultsError, Run, load_repeated_test, load_run, load_weights, save_repeated_test, save_run,
)
from ed_brian.sweep import run_sweep as sweep
from ed_brian.train import (
    Checkpoint, EpochMetrics, Interrupted, StandaloneSession, Trainer, TrainingResult, build, evaluate,
    evaluation_scores, train, voted_accuracy,
)
from ed_brian.weights import pixel_weights, template_diversity, unit_templates, weight_matrix

__all__ = [
    "Config", "ConfigError",
    "load_data", "load_dataset", "Dataset", "DataError",
    "build", "Trainer", "train", "evaluate", "evaluation_scores", "voted_accuracy",
    "TrainingResult", "EpochMetrics", "Checkpoint", "Interrupted",
    "RecordSpec", "StandaloneSession", "DeviceError",
    "save_run", "load_run", "Run", "ResultsError", "load_weights", "save_repeated_test", "load_repeated_test",
    "load_recordings", "weight_matrix", "pixel_weights",
    "unit_templates", "template_diversity",
    "export_project", "collect_results", "initial_weights", "sweep", "vote", "Vote",
]
