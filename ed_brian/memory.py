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
from ed_brian.network import expected_synapse_counts

MB = 1024 * 1024

# Peak bytes per synapse, from peaks measured with experiments/memory.py at
# hidden 64, 256 and 4096,128,128: on the runtime device Brian2's dynamic
# arrays grow by doubling while the synapses are created and the spike queue
# keeps Python-side lists; a standalone program holds the synapse arrays and
# one index list per pathway. Event learning adds a second pathway.
BYTES_PER_SYNAPSE = {
    ("runtime", "event"): 58.0,
    ("runtime", "dense"): 50.0,
    ("cpp_standalone", "event"): 27.0,
    ("cpp_standalone", "dense"): 23.0,
    # The GPU holds the synapses; the host keeps the arrays it copies up once.
    ("cuda_standalone", "event"): 27.0,
    ("cuda_standalone", "dense"): 23.0,
}
# Python, NumPy, Brian2 and (standalone) the program's own start, measured.
BASE_MB = {"runtime": 250.0, "cpp_standalone": 330.0, "cuda_standalone": 330.0}


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak memory of a run in MB, by part (standalone: the Python process and the program together)."""

    synapses: int
    synapses_mb: float
    image_table_mb: float
    monitors_mb: float
    base_mb: float

    @property
    def total_mb(self) -> float:
        return self.synapses_mb + self.image_table_mb + self.monitors_mb + self.base_mb

    def to_dict(self) -> dict:
        return {**asdict(self), "total_mb": self.total_mb}

    def describe(self) -> str:
        return (f"{self.total_mb:,.0f} MB ({self.synapses:,} synapses {self.synapses_mb:,.0f} MB, image table "
                f"{self.image_table_mb:,.0f} MB, monitors {self.monitors_mb:,.0f} MB, "
                f"Python and Brian2 {self.base_mb:,.0f} MB)")


def estimate(config: Config, recorded_values: int = 0) -> MemoryEstimate:
    """The peak memory a run of ``config`` needs; ``recorded_values``: membrane samples
    and spikes a recording keeps (0 without one)."""
    learning = config.network.ed.learning
    if learning == "auto":
        learning = "event" if config.model == "lif" else "dense"
    synapses = sum(expected_synapse_counts(config.network).values())
    images = config.pool_size + config.n_test
    trials = config.epochs * (config.n_train + config.n_test)
    # float64 rows; a standalone run keeps the table in Python and in the program.
    copies = 1 if config.device == "runtime" else 2
    table = images * config.network.n_pixels * 8 * copies
    # Output scores and amines (3 per class) and 4 learning totals per trial,
    # in arrays that grow by doubling on the runtime device.
    monitors = trials * (3 * config.network.n_classes + 4) * 8 * 2 + recorded_values * 16
    return MemoryEstimate(
        synapses=synapses,
        synapses_mb=synapses * BYTES_PER_SYNAPSE[(config.device, learning)] / MB,
        image_table_mb=table / MB,
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
