"""Parameter sweeps on dask.distributed: a grid of points times seeds, one results folder each.

Every point runs in a Dask worker process: by default an embedded
``LocalCluster``, or any cluster given by its scheduler address (dask-jobqueue
for SLURM or PBS). A point whose folder holds ``point.json`` is finished and
not rerun, so a stopped sweep resumes; a point that fails is retried once and
then reported in ``summary.csv`` with its error.

On a standalone device each worker keeps its latest compiled program and
reruns it with ``run_args`` for every point that differs from it only in
learning rate or seed (the seed then sets the training order and the initial weights;
the compiled Poisson stream is shared by those points).

With ``pack`` > 1, points that differ only in parameters a packed copy may
have of its own (ed_brian.config.COPY_PARAMETERS: lr, lr_decay, dif, w1, w2,
I_bias) and share their seed run as the copies of one network, up to
``pack`` at a time (ed_brian.copies): one build and one program for all of
them, and on a GPU nearly the time of one. Each copy is exactly the point's
own single run (same seed for the input, the order and its initial weights),
so its folder and summary row are those the unpacked sweep writes.
"""

from __future__ import annotations

import csv
import gc
import itertools
import json
import os
import time
from pathlib import Path

# Imported here, not inside a task: importing brian2 installs a signal handler,
# which only the main thread may do, and a Dask worker imports this module
# there when it unpickles a task; the task itself runs in a worker thread.
import brian2  # noqa: F401

from ed_brian.config import ConfigError, RunConfig

# Flags a grid may sweep (Config parameters of the same names).
PARAMETERS = ("lr", "lr_decay", "dif", "w1", "w2", "w_bound", "activity_rate", "bias_rate", "sig", "tau_m", "v_threshold",
              "I_bias", "I_bias_spread", "q_syn", "spike_max_rate", "hidden")
POINT_FILE = "point.json"


def parse_grid(items: list[str]) -> dict[str, list]:
    """['lr=0.1,0.2', 'hidden=64,128x32'] -> {'lr': [0.1, 0.2], 'hidden': [(64,), (128, 32)]}."""
    grid = {}
    for item in items:
        name, _, values = item.partition("=")
        if name not in PARAMETERS or not values:
            raise ConfigError(f"--grid takes NAME=V1,V2,... with NAME one of {', '.join(PARAMETERS)} (got {item!r})")
        try:
            if name == "hidden":
                grid[name] = [tuple(int(n) for n in v.split("x")) for v in values.split(",")]
            else:
                grid[name] = [float(v) for v in values.split(",")]
        except ValueError:
            raise ConfigError(f"--grid {name}: values must be numbers (hidden: 256 or 256x128), got {values!r}") from None
    return grid


def apply(config: RunConfig, point: dict) -> RunConfig:
    """``config`` with the point's values (and its seed) put in, validated."""
    return config.replace(**{name: int(value) if name == "seed" else value for name, value in point.items()})


def check_axes(base: RunConfig, grid: dict[str, list]) -> None:
    """ConfigError naming the first grid axis that cannot change any point of the sweep."""
    from ed_brian.config import unused_reason

    configs = [apply(base, point) for point in points(grid, [base.seed])]
    for name in grid:
        reasons = [unused_reason(config, name) for config in configs]
        if all(reasons):
            raise ConfigError(f"--grid {name} cannot change any point: {reasons[0]}; drop it, or pass "
                              "--allow-inert-axes to run it anyway")


def points(grid: dict[str, list], seeds: list[int]) -> list[dict]:
    names = list(grid)
    return [dict(zip(names, values), seed=seed) for values in itertools.product(*grid.values()) for seed in seeds]


def point_name(point: dict) -> str:
    def fmt(value):
        return "x".join(map(str, value)) if isinstance(value, tuple) else f"{value:g}"

    return "_".join(f"{k}={fmt(v)}" for k, v in point.items())


def _row(point: dict, result_epochs, seconds: float, status: str = "done", error: str = "") -> dict:
    row = {k: ("x".join(map(str, v)) if isinstance(v, tuple) else v) for k, v in point.items()}
    last = result_epochs[-1] if result_epochs else None
    row.update(test_accuracy=f"{last.test_accuracy:.2f}" if last else "",
               train_accuracy=f"{last.train_accuracy:.2f}" if last else "",
               seconds=f"{seconds:.1f}", status=status, error=error)
    return row


# This worker's compiled program and what it was built for. A second program
# would reset Brian2's standalone device under the first, so there is one.
_SESSION: dict[str, object] = {}


def _session_key(config: RunConfig) -> str:
    neutral = config.replace(seed=0, lr=1.0)
    return json.dumps(neutral.to_dict(), sort_keys=True)


def _train_standalone(config: RunConfig, dataset, folder: Path):
    """Reuse this worker's compiled program when only lr or seed differ."""
    from ed_brian.export import initial_weights
    from ed_brian.train import StandaloneSession

    key = _session_key(config)
    if _SESSION.get("key") != key:
        # The previous program's network must be gone before the next is built.
        _SESSION.clear()
        gc.collect()
        # Same folder for every shape of this worker: make recompiles only what changed.
        project = Path(os.environ.get("ED_BRIAN_CACHE", Path.home() / ".cache" / "ed_brian"))
        _SESSION.update(key=key, session=StandaloneSession(config, dataset, project / "sweep" / str(os.getpid())))
    return _SESSION["session"].run(dataset=dataset, shuffle_seed=config.seed,
                                   initial_weights=initial_weights(config), lr=config.network.ed.lr)


def packs(todo: list[dict], pack: int) -> list[list[dict]]:
    """``todo`` in groups of at most ``pack`` points that may share one packed network:
    equal in everything but COPY_PARAMETERS (their seed included)."""
    from ed_brian.config import COPY_PARAMETERS

    groups: dict[str, list[dict]] = {}
    for point in todo:
        shared = {name: value for name, value in point.items() if name not in COPY_PARAMETERS}
        groups.setdefault(json.dumps(shared, sort_keys=True, default=str), []).append(point)
    return [group[k : k + pack] for group in groups.values() for k in range(0, len(group), max(pack, 1))]


def packed_config(base: RunConfig, group: list[dict]) -> RunConfig:
    """One Config whose copy c is point c of ``group`` (every copy seeded with the points' seed)."""
    from ed_brian.config import COPY_PARAMETERS

    first = apply(base, group[0])
    per_copy = {name: [point[name] for point in group] for name in group[0] if name in COPY_PARAMETERS}
    return first.replace(copies=len(group), weight_seed=[first.seed] * len(group), **per_copy)


def run_pack(base: dict, group: list[dict], out: str, data_dir: str | None) -> list[dict]:
    """Train the points of ``group`` as the copies of one network (in a worker); their summary rows."""
    from ed_brian import results
    from ed_brian.data import load_run_data
    from ed_brian.train import train

    finished = [_finished(Path(out) / point_name(point)) for point in group]
    if all(finished):
        return finished
    config = packed_config(RunConfig.from_dict(base), group)
    dataset = load_run_data(config, data_dir)
    start = time.perf_counter()
    result = train(config, dataset)
    seconds = time.perf_counter() - start
    rows = []
    for point, own in zip(group, result.copies):
        folder = Path(out) / point_name(point)
        folder.mkdir(parents=True, exist_ok=True)
        results.write_config(folder, own.config, dataset_source=dataset.source, sweep_point=point_name(point),
                             packed_with=[point_name(p) for p in group])
        results.write_metrics(folder, own.epochs)
        results.save_weights(folder, own.weights)
        row = _row(point, own.epochs, seconds)
        (folder / POINT_FILE).write_text(json.dumps(row))
        rows.append(row)
    return rows


def _finished(folder: Path) -> dict | None:
    """The summary row of a finished point in ``folder``, None if it has to run."""
    from ed_brian.results import ResultsError, read_json

    if not (folder / POINT_FILE).exists():
        return None
    try:
        return read_json(folder / POINT_FILE, "sweep point record")
    except ResultsError:
        return None  # damaged: the point runs again and writes a new one


def run_point(base: dict, point: dict, out: str, data_dir: str | None) -> dict:
    """Train one point into ``out/<name>`` (in a worker); returns its summary row."""
    from ed_brian import results
    from ed_brian.data import load_run_data
    from ed_brian.train import train

    folder = Path(out) / point_name(point)
    done = folder / POINT_FILE
    finished = _finished(folder)
    if finished:
        return finished
    config = apply(RunConfig.from_dict(base), point)
    dataset = load_run_data(config, data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    results.write_config(folder, config, dataset_source=dataset.source, sweep_point=point_name(point))
    start = time.perf_counter()
    if config.device == "runtime":
        result = train(config, dataset)
    else:
        result = _train_standalone(config, dataset, folder)
    results.write_metrics(folder, result.epochs)
    results.save_weights(folder, result.weights)
    row = _row(point, result.epochs, time.perf_counter() - start)
    done.write_text(json.dumps(row))
    return row


def run_sweep(base: RunConfig, grid: dict[str, list], seeds: list[int], out: str | Path, workers: int = 0,
              scheduler: str | None = None, data_dir: str | None = None, on_row=None,
              allow_inert: bool = False, pack: int = 1) -> list[dict]:
    """Train every point of ``grid`` for every seed on a Dask cluster; one results folder each.

    ``grid`` maps parameter names (``PARAMETERS``, e.g. ``"lr"``, ``"tau_m"``,
    ``"hidden"``) to their values; the other parameters are ``base``'s. Runs
    on a ``LocalCluster`` of ``workers`` processes (default one per core), or
    on the cluster at ``scheduler``. Writes ``out/<point>/``, ``summary.csv``
    and ``accuracy.png``, and returns the summary rows; finished points are
    kept, so a stopped sweep resumes. An axis that cannot change any point
    (``dif`` with one hidden layer, say) is refused with ConfigError unless
    ``allow_inert``. With ``pack`` > 1, points that differ only in lr,
    lr_decay, dif, w1, w2 or I_bias run as the copies of one network, up to
    ``pack`` per program, with the results each would have alone. Dask's
    worker processes import the calling script again: in a script, call this
    under ``if __name__ == "__main__":``.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    todo = points(grid, seeds)
    if pack < 1:
        raise ConfigError(f"--pack must be >= 1 (got {pack})")
    for point in todo:
        apply(base, point)  # bad values fail here, before any worker starts
    groups = packs(todo, pack) if pack > 1 else [[point] for point in todo]
    for group in groups:
        if len(group) > 1:
            packed_config(base, group)
    if not allow_inert:
        check_axes(base, grid)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if scheduler:
        client = Client(scheduler)
    else:
        workers = workers or os.cpu_count() or 1
        client = Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                     dashboard_address=None))
    rows = []
    try:
        futures = {}
        for group in groups:
            if len(group) == 1:
                futures[client.submit(run_point, base.to_dict(), group[0], str(out), data_dir, pure=False,
                                      retries=1)] = group
            else:
                futures[client.submit(run_pack, base.to_dict(), group, str(out), data_dir, pure=False,
                                      retries=1)] = group
        for future in as_completed(futures):
            group = futures[future]
            try:
                done = future.result()
                done = [done] if isinstance(done, dict) else done
            except Exception as error:  # a failed point is reported, the sweep goes on
                done = [_row(point, [], 0.0, status="failed", error=f"{type(error).__name__}: {error}")
                        for point in group]
            for row in done:
                rows.append(row)
                if on_row:
                    on_row(row)
    finally:
        cluster = None if scheduler else client.cluster
        client.close()
        if cluster is not None:
            cluster.close()
    order = {point_name(p): k for k, p in enumerate(todo)}
    rows.sort(key=lambda r: order[point_name({k: _parse(k, r[k]) for k in [*grid, "seed"]})])
    write_summary(out, rows, [*grid, "seed"])
    from ed_brian.plots import sweep_accuracy

    sweep_accuracy(rows, list(grid), out / "accuracy.png")
    return rows


def _parse(name: str, text):
    if name == "seed":
        return int(text)
    if name == "hidden":
        return tuple(int(n) for n in str(text).split("x"))
    return float(text)


def write_summary(out: Path, rows: list[dict], names: list[str]) -> None:
    fields = [*names, "test_accuracy", "train_accuracy", "seconds", "status", "error"]
    with (Path(out) / "summary.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
