"""How much memory a run needs, estimated from its configuration before anything is built.

The big items are the synapses (a magnitude and two indices each, plus the
lists a spike propagation pathway keeps per source) and the image table
(every image of the run as 784 float64 values). Bytes per synapse were
measured on each device (``experiments/memory.py`` compares this estimate
with measured peaks); a run whose estimate exceeds the memory available is
refused before it starts, instead of dying inside Brian2's synapse creation.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ed_brian.config import Config, ConfigError
from ed_brian.network import expected_synapse_counts, fixed_synapse_count

MB = 1024 * 1024

# Fitted to the peaks experiments/memory.py measured on 2026-12-06 at hidden 64
# (1.0 M synapses), 256 (4.0 M, all 70,000 MNIST images) and 4096,128,128
# (69.6 M) with event learning: bytes per synapse (a magnitude, two indices,
# and each pathway's per-source index lists), and what Python, NumPy and
# Brian2 (and a program's start) take before any of it. cuda_standalone's host
# side is taken to be cpp_standalone's (not measured). Standalone refitted the
# same day at hidden 256 with 1 and 8 packed copies (4.0 M and 32.1 M synapses)
# once initial magnitudes came from NumPy: Python keeps the array for the build
# and the program a second copy it loads, 25 bytes per synapse more.
BYTES_PER_SYNAPSE = {"runtime": 25.0, "cpp_standalone": 49.0, "cuda_standalone": 49.0}
BASE_MB = {"runtime": 290.0, "cpp_standalone": 180.0, "cuda_standalone": 180.0}
# uint8 images of the whole dataset file, loaded before the run's images are cut from it.
DATASET_IMAGES = {"mnist": 70000, "fashion": 70000, "fashion-subset": 1500}


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak memory of a run in MB, by part (standalone: the Python process and the program together)."""

    synapses: int
    synapses_mb: float
    image_table_mb: float  # the run's images as float64, in Python and (standalone) in the program
    dataset_mb: float  # the dataset file's images as loaded (uint8)
    monitors_mb: float
    base_mb: float

    @property
    def total_mb(self) -> float:
        return self.synapses_mb + self.image_table_mb + self.dataset_mb + self.monitors_mb + self.base_mb

    def to_dict(self) -> dict:
        return {**asdict(self), "total_mb": self.total_mb}

    def describe(self) -> str:
        return (f"{self.total_mb:,.0f} MB ({self.synapses:,} synapses {self.synapses_mb:,.0f} MB, image table "
                f"{self.image_table_mb:,.0f} MB, dataset {self.dataset_mb:,.0f} MB, monitors "
                f"{self.monitors_mb:,.0f} MB, Python and Brian2 {self.base_mb:,.0f} MB)")


def estimate(config: Config, recorded_values: int = 0) -> MemoryEstimate:
    """The peak memory a run of ``config`` needs; ``recorded_values``: membrane samples
    and spikes a recording keeps (0 without one)."""
    synapses = sum(expected_synapse_counts(config.network, config.copies).values()) + fixed_synapse_count(config.network)
    images = config.pool_size + config.n_test
    trials = config.epochs * (config.n_train + config.n_test)
    # float64 rows; a standalone run keeps the table in Python and in the program.
    copies = 1 if config.device == "runtime" else 2
    table = images * config.network.n_pixels * 8 * copies
    # Output scores and amines (3 per class) and 4 learning totals per trial and
    # copy, in arrays that grow by doubling on the runtime device.
    monitors = trials * (3 * config.network.n_classes + 4) * config.copies * 8 * 2 + recorded_values * 16
    return MemoryEstimate(
        synapses=synapses,
        synapses_mb=synapses * BYTES_PER_SYNAPSE[config.device] / MB,
        image_table_mb=table / MB,
        dataset_mb=DATASET_IMAGES.get(config.dataset, images) * config.network.n_pixels / MB,
        monitors_mb=monitors / MB,
        base_mb=BASE_MB[config.device],
    )


def available_mb() -> float:
    """Memory this process may still use, MB: MemAvailable, or a smaller cgroup limit."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) / 1024)
    except OSError:
        pass
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            text = Path(limit).read_text().strip()
            if text != "max" and int(text) < 1 << 60:
                found.append((int(text) - int(Path(usage).read_text())) / MB)
        except (OSError, ValueError):
            continue
    if not found:  # not Linux: the physical memory, if the platform tells
        try:
            found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES") / MB)
        except (ValueError, OSError, AttributeError):
            return float("inf")
    return min(found)


def check(config: Config, recorded_values: int = 0) -> MemoryEstimate:
    """The estimate; ConfigError in one line when it exceeds the memory available."""
    need = estimate(config, recorded_values)
    have = available_mb()
    if need.total_mb > have:
        raise ConfigError(f"this run needs about {need.total_mb:,.0f} MB ({need.synapses:,} synapses, "
                          f"{need.image_table_mb:,.0f} MB of images) but {have:,.0f} MB are available; "
                          "use a smaller --hidden or fewer images, or --no-memory-check to try anyway")
    return need


# The kernel's peak resident memory of a child includes its parent's at the
# fork, so a standalone program started by a large Python process would report
# that process's peak. A small Python process starts it and writes its peak.
_PROGRAM_PEAK_FILE = "peak_rss_kb.txt"
_PROGRAM_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    f"open({_PROGRAM_PEAK_FILE!r}, 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def measure_program_memory() -> None:
    """Run every cpp_standalone program through a launcher that records its peak memory."""
    import sys

    from brian2 import prefs

    prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c", _PROGRAM_LAUNCHER, "./main"]


def program_peak_mb(project_dir) -> float:
    """The peak resident memory (MB) of the last program run under ``measure_program_memory``."""
    return int((Path(project_dir) / _PROGRAM_PEAK_FILE).read_text()) / 1024
