"""Recording is bounded to the chosen trials; every figure renders headless."""

import matplotlib.image as mpimg
import numpy as np
import pytest

from ed_brian.cli import main
from ed_brian.record import RecordSpec, load_recordings

from conftest import band_dataset, small_config
from ed_brian.train import train


def test_recording_covers_exactly_the_chosen_trials_and_neurons():
    config = small_config(hidden=(6,), n_train=12, n_test=4, epochs=1, sim_time=20.0)
    spec = RecordSpec(trials=(3, 5), layers=("input", "hidden", "output"), neurons=(0, 4))
    result = train(config, band_dataset(12, 4), record=spec)
    rec = result.recordings
    steps = 20  # per trial at dt = 1 ms
    np.testing.assert_array_equal(rec["trials"], [3, 4])
    for layer in ("hidden_1", "output"):
        assert rec[f"{layer}/v"].shape == (4, 2 * steps)  # neurons x samples, as StateMonitor.v
        t = rec[f"{layer}/v_t"]
        assert t.min() == pytest.approx(3 * 0.020) and t.max() == pytest.approx(5 * 0.020 - 0.001)
    assert "relay/v" not in rec  # the relay has no membrane
    for layer in ("relay", "hidden_1", "output"):
        spike_t = rec[f"{layer}/spike_t"]
        assert len(spike_t) > 0
        assert spike_t.min() >= 3 * 0.020 and spike_t.max() < 5 * 0.020
    # Membranes stay between reset and threshold except at spikes.
    v = rec["output/v"]
    assert v.min() >= rec["output/v_reset"] - 1e-12 and v.max() <= rec["output/v_threshold"] + 0.05


def test_figures_render_headless_from_a_real_run(tmp_path):
    out = tmp_path / "run"
    code = main(["train", "--train", "30", "--test", "10", "--hidden", "4", "--epochs", "2",
                 "--spike_sim_time", "20", "--codegen", "numpy", "--no-progress", "--out", str(out),
                 "--record-trials", "30:32", "--record-layers", "input,hidden,output", "--heatmap", "--viz"])
    assert code == 0
    rec = load_recordings(out)
    from brian2 import volt

    assert rec["output/v"].has_same_dimensions(volt)
    figures = sorted((out / "figures").glob("*.png"))
    names = {path.stem for path in figures}
    assert {"learning_curves", "first_layer_weights", "confusion_matrix", "learning_statistics", "raster",
            "membrane_hidden_1", "membrane_output", "heatmap_trial30", "heatmap_trial31"} <= names
    for path in figures:
        image = mpimg.imread(path)
        assert image.shape[0] > 200 and image.shape[1] > 300, path.name
        assert image[..., :3].std() > 0.02, f"{path.name} is blank"
    # Redrawn later from the folder alone, as PDF on request.
    assert main(["plot", str(out), "--out", str(tmp_path / "pdf"), "--format", "pdf"]) == 0
    assert (tmp_path / "pdf" / "learning_curves.pdf").stat().st_size > 1000


def test_bad_recording_flags_exit_2(capsys):
    assert main(["train", "--record-trials", "5:2", "--no-progress", "--train", "10", "--test", "5",
                 "--hidden", "2", "--codegen", "numpy"]) == 2
    assert "--record-trials" in capsys.readouterr().err
