"""The memory estimate: what it counts, and a run it refuses before building."""

import json
import subprocess
import sys

import pytest

from ed_brian import Config, ConfigError, memory
from ed_brian.network import expected_synapse_counts


def test_the_estimate_counts_every_synapse_and_image():
    config = Config(hidden=(64, 32), train=600, test=200, device="cpp_standalone")
    need = memory.estimate(config)
    assert need.synapses == sum(expected_synapse_counts(config.network).values()) == 1568 * 640 + 640 * 32 + 320
    # float64 images, kept by Python and by the program on a standalone device.
    assert need.image_table_mb == pytest.approx(2 * 800 * 784 * 8 / memory.MB)
    assert need.image_table_mb / 2 == pytest.approx(memory.estimate(config.replace(device="runtime")).image_table_mb)
    wider = memory.estimate(config.replace(hidden=(256, 32)))
    assert wider.synapses_mb > need.synapses_mb and wider.total_mb > need.total_mb
    assert memory.estimate(config.replace(train_pool=60000)).image_table_mb > 50 * need.image_table_mb


def test_a_run_larger_than_the_memory_available_is_refused(monkeypatch):
    monkeypatch.setattr(memory, "available_mb", lambda: 1000.0)
    assert memory.check(Config(hidden=8, train=100, test=50)).total_mb < 1000
    with pytest.raises(ConfigError, match=r"needs about [\d,]+ MB .* but 1,000 MB are available"):
        memory.check(Config(hidden=4096))


def test_the_command_line_refuses_an_oversize_network_in_one_line_before_building(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ed_brian", "train", "--hidden", "100000", "--train", "10",
                             "--test", "10", "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ed-brian: error: this run needs about"), result.stderr
    assert "--no-memory-check" in lines[0]
    assert not (tmp_path / "run").exists()


def test_verbose_prints_the_estimate_and_config_json_records_it(tmp_path):
    from ed_brian.cli import main

    out = tmp_path / "run"
    assert main(["train", "--train", "10", "--test", "5", "--hidden", "2", "--epochs", "1", "--spike_sim_time", "20",
                 "--codegen", "numpy", "--no-progress", "--out", str(out)]) == 0
    recorded = json.loads((out / "config.json").read_text())["memory_estimate_mb"]
    assert recorded["synapses"] == 1568 * 20 + 20 and recorded["total_mb"] > recorded["synapses_mb"]
