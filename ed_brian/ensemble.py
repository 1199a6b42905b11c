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

With ``repeats=R`` the runs vote with the test they keep in which every image
was shown R times (``ed-brian evaluate RUN --repeats R`` keeps it, as
``repeats-R.npz``): every look of every network is a voter.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import numpy as np

from ed_brian.copies import copy_scores, ensemble_scores
from ed_brian.results import ResultsError, Run, load_repeated_test, load_run, repeated_test_file

__all__ = ["Vote", "vote"]


@dataclasses.dataclass(frozen=True)
class Vote:
    """What :func:`vote` returns: the ensemble's test results and each run's alone.

    ``predictions`` and ``labels`` are per test image, in the runs' test order;
    ``run_accuracies`` (%) are each run's own accuracy on the same trials
    (with ``repeats`` looks at each image, as the ensemble had).
    """

    folders: tuple[str, ...]
    networks: int  # every copy of every run
    labels: np.ndarray
    predictions: np.ndarray
    run_accuracies: tuple[float, ...]
    repeats: int = 1

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


def _repeated_test_scores(run: Run, repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """(labels, scores as images x (copies x looks) x K) of the run's kept test with ``repeats`` looks."""
    kept = load_repeated_test(run.folder, repeats)
    if kept is None:
        raise ResultsError(f"{run.folder} keeps no test of its present weights with {repeats} looks per image "
                           f"({repeated_test_file(run.folder, repeats).name}): "
                           f"`ed-brian evaluate {run.folder} --repeats {repeats}` takes and keeps one")
    scores, labels = kept
    n_images, copies, looks, n_classes = scores.shape
    if copies != run.config.copies:
        raise ResultsError(f"{repeated_test_file(run.folder, repeats)} has scores of {copies} copies, "
                           f"the run has {run.config.copies}")
    return labels, scores.reshape(n_images, copies * looks, n_classes)


def vote(runs: Sequence[str | os.PathLike | Run], repeats: int = 1) -> Vote:
    """The ensemble of finished runs (results folders or loaded Runs) on their common test set.

    The runs must have tested the same images in the same order (the same
    dataset and ``--test``) with the same readout; ResultsError says which run
    differs otherwise. ``repeats`` R > 1 votes with each run's kept test in
    which every image was shown R times (ResultsError names the command that
    takes it when a run keeps none, or keeps one older than its weights).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1 (got {repeats})")
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
    every, images, labels = [], None, None
    for run in loaded:
        if repeats == 1:
            own_images, own_labels, scores = _test_scores(run)
        else:
            own_images, (own_labels, scores) = None, _repeated_test_scores(run, repeats)
        if labels is not None and (run.config.dataset != loaded[0].config.dataset or len(own_labels) != len(labels)
                                   or np.any(own_labels != labels)
                                   or (own_images is not None and np.any(own_images != images))):
            raise ResultsError(f"{run.folder} tested other images than {loaded[0].folder} "
                               f"({run.config.dataset}, {len(own_labels)} test images against "
                               f"{loaded[0].config.dataset}, {len(labels)}): runs vote only on the same test set")
        if labels is None:
            images, labels = own_images, own_labels
        every.append(scores)
    readout = readouts.pop()
    predictions = np.argmax(ensemble_scores(np.concatenate(every, axis=1), readout), axis=1)
    alone = [float(100 * np.mean(np.argmax(ensemble_scores(scores, readout), axis=1) == labels)) for scores in every]
    return Vote(folders=tuple(str(run.folder) for run in loaded), networks=sum(run.config.copies for run in loaded),
                labels=labels, predictions=predictions, run_accuracies=tuple(alone), repeats=repeats)
