"""The trial schedule of a run: which image, which label, learning on or off.

A run is one sequence of trials in continuous simulated time; trial k occupies
[k*T, (k+1)*T). Every epoch is its training trials (shuffled unless asked not
to) followed by the fixed test set (the first n_test test images, in order).
The schedule becomes TimedArrays indexed by trial, so a whole epoch runs inside
one ``run()`` on any device.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Phase:
    """A contiguous block of trials: the training or test part of one epoch."""

    epoch: int
    kind: str  # "train" or "test"
    start: int  # first trial index
    stop: int  # one past the last trial index


@dataclass(frozen=True)
class Schedule:
    image: np.ndarray  # (N,) row of the image table shown in each trial
    label: np.ndarray  # (N,) its class
    # (N,) the learning factor: 0 on test trials, lr_decay**progress on training
    # trials (1 without decay). It scales the amines, hence every update.
    learn: np.ndarray
    phases: tuple[Phase, ...]
    # (N,) epochs of training before each trial: e-1 in epoch e, plus the
    # fraction of the epoch already done with a smooth decay; None when the
    # factors follow the phases alone.
    progress: np.ndarray | None = None
    # (N, 2) integer offsets (dx, dy) in pixels at which each trial shows its
    # image (0 on test trials); None: every image where it is.
    shift: np.ndarray | None = None

    @property
    def n_trials(self) -> int:
        return len(self.image)

    def tail(self, start: int) -> "Schedule":
        """The trials from ``start`` on, renumbered from 0 (to resume a run)."""
        phases = tuple(
            Phase(p.epoch, p.kind, max(p.start, start) - start, p.stop - start)
            for p in self.phases
            if p.stop > start
        )
        return Schedule(self.image[start:], self.label[start:], self.learn[start:], phases,
                        *(None if a is None else a[start:] for a in (self.progress, self.shift)))

    def head(self, stop: int) -> "Schedule":
        """The trials before ``stop`` (to run a run in parts, one program each)."""
        phases = tuple(Phase(p.epoch, p.kind, p.start, min(p.stop, stop)) for p in self.phases if p.start < stop)
        return Schedule(self.image[:stop], self.label[:stop], self.learn[:stop], phases,
                        *(None if a is None else a[:stop] for a in (self.progress, self.shift)))

    def learn_factors(self, decay: float) -> np.ndarray:
        """(N,) the learning factor of every trial for this ``decay`` (one packed copy's lr_decay)."""
        factors = np.zeros(self.n_trials)
        for phase in self.phases:
            if phase.kind == "train":
                progress = (phase.epoch - 1 if self.progress is None
                            else self.progress[phase.start : phase.stop])
                factors[phase.start : phase.stop] = np.power(decay, progress, dtype=np.float64)
        return factors

    def previous(self, values: np.ndarray, fill: float = 0) -> np.ndarray:
        """``values`` shifted by one trial: entry k describes trial k-1.

        The learning rule runs at t = k*T and looks back at trial k-1; entry 0
        (the start of the run) gets ``fill``. One extra entry covers the
        boundary after the last trial.
        """
        return np.concatenate([[fill], values]).astype(values.dtype)


# On the runtime device a phase runs in chunks of at most this many trials,
# the places where progress is reported, a stop request is honoured and a
# checkpoint can be taken. Cutting a run never changes its numbers.
CHUNK_TRIALS = 1000


def chunks(start: int, stop: int, size: int | None = None) -> list[tuple[int, int]]:
    """[start, stop) cut at the multiples of ``size`` (default CHUNK_TRIALS)."""
    size = size or CHUNK_TRIALS
    edges = [start, *range((start // size + 1) * size, stop, size), stop]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def build_schedule(
    train_labels: np.ndarray,
    test_labels: np.ndarray,
    epochs: int,
    rng: np.random.Generator,
    shuffle: bool = True,
    lr_decay: float = 1.0,
    per_epoch: int | None = None,
    smooth_decay: bool = False,
    max_shift: int = 0,
) -> Schedule:
    """Trials for ``epochs`` epochs over an image table of train then test images.

    Every epoch shows ``per_epoch`` training images (default: all of them),
    drawn afresh from the table's training rows when there are more.
    Training trials of epoch e learn with factor ``lr_decay**(e-1)``; with
    ``smooth_decay`` the factor falls trial by trial instead,
    ``lr_decay**(e-1 + j/n)`` for the j-th of the epoch's n training trials,
    so a one-epoch run anneals too. With ``max_shift`` s every training trial
    shows its image moved by offsets dx, dy drawn uniformly from -s..s (after
    the training orders, so these stay those of an unshifted run).
    """
    n_pool, n_test = len(train_labels), len(test_labels)
    per_epoch = n_pool if per_epoch is None else per_epoch
    if not 0 < per_epoch <= n_pool:
        raise ValueError(f"cannot draw {per_epoch} training images per epoch from {n_pool}")
    test_rows = n_pool + np.arange(n_test)
    images, progress, phases = [], [], []
    start = 0
    for epoch in range(1, epochs + 1):
        if shuffle:
            train_rows = rng.permutation(n_pool)[:per_epoch]
        else:
            train_rows = np.arange(per_epoch)
        for kind, rows in (("train", train_rows), ("test", test_rows)):
            images.append(rows)
            steps = np.arange(len(rows)) / len(rows) if smooth_decay and kind == "train" else 0.0
            progress.append(np.full(len(rows), epoch - 1.0) + steps)
            phases.append(Phase(epoch, kind, start, start + len(rows)))
            start += len(rows)
    image = np.concatenate(images).astype(np.int64)
    all_labels = np.concatenate([train_labels, test_labels]).astype(np.int64)
    shift = None
    if max_shift:
        shift = np.zeros((len(image), 2), dtype=np.int64)
        for phase in phases:
            if phase.kind == "train":
                shift[phase.start : phase.stop] = rng.integers(-max_shift, max_shift + 1, (phase.stop - phase.start, 2))
    schedule = Schedule(image=image, label=all_labels[image], learn=np.zeros(len(image)), phases=tuple(phases),
                        progress=np.concatenate(progress), shift=shift)
    return replace(schedule, learn=schedule.learn_factors(lr_decay))


def test_schedule(n_train: int, test_labels: np.ndarray, repeats: int = 1) -> Schedule:
    """Only the fixed test set, learning off (the image table still starts with n_train training images).

    With ``repeats`` R the test set is shown R times over: trial r*n + k shows
    test image k (of n) for the r-th time, with its own Poisson spikes.
    """
    n_test = len(test_labels)
    return Schedule(
        image=np.tile(n_train + np.arange(n_test), repeats).astype(np.int64),
        label=np.tile(np.asarray(test_labels, dtype=np.int64), repeats),
        learn=np.zeros(n_test * repeats, dtype=np.float64),
        phases=(Phase(0, "test", 0, n_test * repeats),),
    )


def image_pixel(image: str, pixel: str, side: int, shift: tuple[str, str] | None = None) -> str:
    """A Brian2 expression for the value of ``pixel`` in row ``image`` of the
    ``pixels`` table, the image moved by ``shift`` (expressions for dx, dy in
    pixels; None: not moved). A pixel whose source lies outside the image is 0.

    ``image``, ``pixel`` and the shifts are expressions too (say
    ``trial_image(t)``, ``i``), so the lookup runs as generated code on every device.
    """
    if shift is None:
        return f"pixels({image} * second, {pixel})"
    dx, dy = shift
    row, col = f"({pixel} // {side} - {dy})", f"({pixel} % {side} - {dx})"
    # Integers here: a row or column in view lies within half a pixel of the centre's span.
    inside = " * ".join(f"int(abs({x} - {(side - 1) / 2}) < {side / 2})" for x in (row, col))
    index = f"int(clip({row}, 0, {side - 1}) * {side} + clip({col}, 0, {side - 1}))"
    return f"pixels({image} * second, {index}) * {inside}"
