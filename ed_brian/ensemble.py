"""Ensembles of separate runs: their output spike counts on the same test images, summed.

Packed copies (ed_brian.copies) vote inside one run and share its input
spikes, so they make much the same errors. Separate runs (other seeds, other
parameters, other devices) see their own Poisson spikes; ``vote`` combines
their saved test trials the way a packed run combines its copies: each
network's output counts are summed per class and the largest sum wins (ties
broken by the mean progress of the output membranes towards threshold). A
packed run takes part with every one of its copies.

    vote = ed_brian.vote(["results/seed1", "results/seed2", "results/seed3"])
    print(vote.accuracy, vote.run_accuracies)
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import numpy as np

from ed_brian.copies import copy_scores, ensemble_scores
from ed_brian.results import ResultsError, Run, load_run

__all__ = ["Vote", "vote"]


@dataclasses.dataclass(frozen=True)
class Vote:
    """What :func:`vote` returns: the ensemble's test results and each run's alone.

    ``predictions`` and ``labels`` are per test image, in the runs' test order;
    ``run_accuracies`` (%) are each run's own accuracy on the same trials.
    """

    folders: tuple[str, ...]
    networks: int  # every copy of every run
    labels: np.ndarray
    predictions: np.ndarray
    run_accuracies: tuple[float, ...]

    @property
    def accuracy(self) -> float:
        """The ensemble's test accuracy, %."""
        return float(100 * np.mean(self.predictions == self.labels))


def _test_scores(run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, labels, scores as trials x copies x K) of a run's last test set."""
    if run.trials is None:
        raise ResultsError(f"{run.folder} has no trials.npz: it holds no test trials to vote with")
    if "scores" not in run.trials:
        raise ResultsError(f"{run.folder}/trials.npz has no output scores (a run from before they were saved)")
    rows = run.trials["test_rows"]
    if not len(rows):
        raise ResultsError(f"{run.folder} has no test trials")
    scores = run.trials["scores"][rows]
    if not np.all(np.isfinite(scores)):
        raise ResultsError(f"{run.folder}/trials.npz has no scores for its last test trials")
    return run.trials["image"][rows], run.trials["label"][rows], copy_scores(scores, run.config.copies)


def vote(runs: Sequence[str | os.PathLike | Run]) -> Vote:
    """The ensemble of finished runs (results folders or loaded Runs) on their common test set.

    The runs must have tested the same images in the same order (the same
    dataset and ``--test``) with the same readout; ResultsError says which run
    differs otherwise.
    """
    loaded = [run if isinstance(run, Run) else load_run(run) for run in runs]
    if not loaded:
        raise ResultsError("voting needs at least one run")
    folders = [run.folder.resolve() for run in loaded]
    twice = sorted({str(folder) for folder in folders if folders.count(folder) > 1})
    if twice:
        raise ResultsError(f"{', '.join(twice)} given more than once: a run votes once")
    readouts = {run.config.network.ed.readout for run in loaded}
    if len(readouts) > 1:
        raise ResultsError(f"the runs use different readouts ({', '.join(sorted(readouts))}): "
                           "their scores are not comparable")
    images, labels, first = _test_scores(loaded[0])
    names = [run.config.dataset for run in loaded]
    every = [first]
    for run, name in zip(loaded[1:], names[1:]):
        own_images, own_labels, scores = _test_scores(run)
        if name != names[0] or len(own_images) != len(images) or np.any(own_images != images) \
                or np.any(own_labels != labels):
            raise ResultsError(f"{run.folder} tested other images than {loaded[0].folder} "
                               f"({name}, {len(own_images)} test trials against {names[0]}, {len(images)}): "
                               "runs vote only on the same test set")
        every.append(scores)
    combined = np.concatenate(every, axis=1)
    predictions = np.argmax(ensemble_scores(combined, readouts.pop()), axis=1)
    alone = [float(100 * np.mean(np.argmax(ensemble_scores(s, run.config.network.ed.readout), axis=1) == labels))
             for s, run in zip(every, loaded)]
    return Vote(folders=tuple(str(run.folder) for run in loaded), networks=combined.shape[1],
                labels=labels, predictions=predictions, run_accuracies=tuple(alone))
