"""One model on every device: runtime (numpy, cython), cpp_standalone, cuda_standalone.

What is compared, and why it is exact: with the same seed every device draws
the same initial weights and Poisson spikes (Brian2's random number stream is
shared by its CPU targets), and compiled code is built without fused
multiply-add (devices._exact_arithmetic), so cython and cpp_standalone round
every operation alike. Per-trial output spike counts and every synaptic weight
after learning are then bit-identical.
"""

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ed_brian.devices import DeviceError, DeviceSpec, default_project_dir, require
from ed_brian.export import collect_results, export_project
from ed_brian.invariants import check_weights
from ed_brian.train import evaluate, train

from conftest import band_dataset, small_config


def test_cython_and_cpp_standalone_are_identical(tmp_path):
    data = band_dataset(24, 12)
    # With Kaneko's bias units, so that their regular spikes and learning are compared too.
    config = small_config(hidden=(6, 4), n_train=24, n_test=12, epochs=2, seed=9, codegen="cython", bias_rate=100.0)
    # Training images shown shifted, so that the offsets' tables and lookups are compared too.
    config = replace(config, network=replace(config.network, input=replace(config.network.input, max_shift=2)))
    runtime = train(config, data)
    assert {"bias_to_hidden_1/w", "bias_to_output/w"} <= runtime.weights.keys()
    # The standalone run is built the GPU's way: Poisson spikes through a linked
    # variable and every LIF unit in one group. Both forms must agree too.
    linked_input = replace(config.network.input, relay_input="linked")
    standalone_network = replace(config.network, input=linked_input, lif_groups="one")
    standalone_config = replace(config, device="cpp_standalone", network=standalone_network)
    standalone = train(standalone_config, data, project_dir=tmp_path / "cpp")
    assert standalone.standalone_times.run_seconds > 0
    np.testing.assert_array_equal(np.floor(runtime.scores), np.floor(standalone.scores))
    assert runtime.weights.keys() == standalone.weights.keys()
    for key, value in runtime.weights.items():
        np.testing.assert_array_equal(standalone.weights[key], value, err_msg=key)
    assert [m.test_accuracy for m in runtime.epochs] == [m.test_accuracy for m in standalone.epochs]

    # Weights trained on one device evaluate identically on the others.
    on_runtime = evaluate(config, data, runtime.weights)
    # Same project folder: make recompiles only the generated files that changed.
    on_cpp = evaluate(standalone_config, data, standalone.weights, tmp_path / "cpp")
    assert on_runtime == on_cpp
    assert on_runtime > 25.0  # chance with 4 classes


def test_cython_and_cpp_standalone_agree_past_64_seconds_of_simulated_time(tmp_path):
    # Past 64 s a double's last place exceeds Brian2's C++ clock tolerance
    # (1e-14 s): with it, k*T of the trial clock and n*dt of the step clock
    # missed each other at some boundaries (here first at trial 1282), whose
    # learning and resets then ran a step late. 1400 trials of 50 ms cross it.
    import ed_brian

    data = band_dataset(10, 1400, n_classes=10, seed=1)
    config = ed_brian.Config(hidden=4, train=10, test=1400, dataset="bands", codegen="cython", seed=7)
    scores = {}
    for device in ("runtime", "cpp_standalone"):
        sim = ed_brian.build(config.replace(device=device), data, test_only=True, project_dir=tmp_path / "cpp")
        sim.run_trials(1400)
        if device != "runtime":
            sim.build_and_run()
        scores[device] = sim.scores(0, 1400)
    assert float(sim.trial_window(1399)[1]) == pytest.approx(70.0)
    np.testing.assert_array_equal(scores["runtime"], scores["cpp_standalone"])
    network = (tmp_path / "cpp" / "network.cpp").read_text()
    assert "fabs(s-t)<=Clock_epsilon*(1.0+fabs(t))" in network and "fabs(s-t)<=Clock_epsilon)" not in network


@pytest.mark.long
def test_cython_and_cpp_standalone_train_identically_at_full_width(tmp_path):
    """Hidden 256 on the bundled Fashion-MNIST subset, two epochs: 3000 trials
    (150 s of simulated time), per-trial predictions and scores and the final
    weights compared bit for bit."""
    import ed_brian

    config = ed_brian.Config(hidden=256, train=1000, test=500, epochs=2, codegen="cython", seed=7)
    data = ed_brian.load_data(config)
    runtime = ed_brian.train(config, data)
    standalone = ed_brian.train(config.replace(device="cpp_standalone"), data, project_dir=tmp_path / "cpp")
    np.testing.assert_array_equal(runtime.predictions, standalone.predictions)
    np.testing.assert_array_equal(runtime.scores, standalone.scores)
    for key, value in runtime.weights.items():
        np.testing.assert_array_equal(standalone.weights[key], value, err_msg=key)
    assert [m.test_accuracy for m in runtime.epochs] == [m.test_accuracy for m in standalone.epochs]


@pytest.mark.parametrize("lif_groups", ["layer", "one"])
def test_cpp_export_builds_runs_and_collects(tmp_path, lif_groups):
    data = band_dataset(20, 10)
    config = replace(small_config(hidden=(5,), n_train=20, n_test=10, epochs=2, seed=4), device="cpp_standalone")
    config = replace(config, network=replace(config.network, lif_groups=lif_groups))
    out = export_project(config, data, tmp_path / "project")
    assert (out / "README.md").read_text().count("make") >= 1
    assert any((out / "static_arrays").iterdir())
    # ed_brian's templates: each pathway's push and propagation test for a zero delay.
    zero_delay_test = "_queue.scalar_delay && _queue.delays[0] == 0"
    for kind in ("codeobject", "push_spikes"):
        # Brian2 numbers the code objects of a process's later networks (_1, ...).
        pathways = [path for path in (out / "code_objects").glob(f"*_{kind}*.cpp")
                    if re.search(rf"_to_[a-z0-9_]+_(pre|learning)_{kind}(_\d+)?\.cpp$", path.name)
                    and not path.name.startswith("before_run")]
        assert len(pathways) >= 3 and all(zero_delay_test in path.read_text() for path in pathways), kind
    with pytest.raises(FileNotFoundError, match="build and run"):
        collect_results(out)
    subprocess.run(["make", "-j2"], cwd=out, check=True, capture_output=True)
    subprocess.run(["./main"], cwd=out, check=True, capture_output=True)
    metrics, weights, scores = collect_results(out)
    assert [m.epoch for m in metrics] == [1, 2]
    assert scores.shape == (2 * 30, 4)
    assert np.floor(scores).sum() > 0
    w = weights["relay_to_hidden_1/w"]
    assert w.shape == (1568 * 4 * 5,) and w.min() >= config.network.ed.w_min
    # Learning changed the weights the program read from static_arrays/.
    from ed_brian.export import initial_weights

    assert np.any(w > initial_weights(config)["relay_to_hidden_1/w"])
    # Signs from each layer's unit types (with one group: its slice of the group's array).
    check_weights(config.network, weights)
    assert set(np.unique(weights["hidden_1_to_output/sign"])) == {-1, 1}
    # The exported weights load into the runtime device.
    assert 0.0 <= evaluate(replace(config, device="runtime", codegen="numpy"), data, weights) <= 100.0


def test_cuda_project_generates_without_a_gpu(tmp_path):
    pytest.importorskip("brian2cuda")
    data = band_dataset(10, 5)
    config = replace(small_config(hidden=(4,), n_train=10, n_test=5), device="cuda_standalone")
    out = export_project(config, data, tmp_path / "cuda")
    sources = {path.name for path in out.iterdir()}
    assert {"main.cu", "makefile", "README.md", "ed_brian_export.json"} <= sources
    assert "-std=c++17" in (out / "makefile").read_text()
    assert any(path.suffix == ".cu" for path in (out / "code_objects").iterdir())


def _pathway_sources(project: Path) -> dict[str, str]:
    """Generated spike propagation code objects (``on_pre`` and ``on_event`` pathways), by file name."""
    return {path.name: path.read_text() for path in (project / "code_objects").glob("*.cu")
            if re.search(r"_(pre|learning)_codeobject(_\d+)?\.cu$", path.name)}


# brian2cuda's own forms: the command line's defaults on cuda_standalone are the launch-saving ones.
PLAIN_CUDA_FORMS = ("--no-cuda-fixed-grid", "--relay_input", "synapses", "--lif_groups", "layer")


def _cli_export(out: Path, *flags: str) -> Path:
    """A cuda project in the plain forms, except where ``flags`` name others."""
    # One process per project: Brian2 names the objects of a second network in a process apart.
    subprocess.run([sys.executable, "-m", "ed_brian", "export", "--device", "cuda_standalone", "--out", str(out),
                    "--train", "10", "--test", "5", "--epochs", "1", "--hidden", "4", *PLAIN_CUDA_FORMS, *flags],
                   check=True, capture_output=True)
    return out


def test_cuda_fixed_grid_launches_propagation_without_host_copies(tmp_path):
    pytest.importorskip("brian2cuda")
    # Event-driven learning: its "learn" pathways are propagated too.
    plain = _cli_export(tmp_path / "plain", "--learning", "event")
    grid = _cli_export(tmp_path / "grid", "--learning", "event", "--cuda-fixed-grid")
    plain_pathways, grid_pathways = _pathway_sources(plain), _pathway_sources(grid)
    assert plain_pathways.keys() == grid_pathways.keys() == {
        "poisson_to_relay_pre_codeobject.cu", "relay_to_hidden_1_pre_codeobject.cu",
        "hidden_1_to_output_pre_codeobject.cu", "relay_to_hidden_1_learning_codeobject.cu",
        "hidden_1_to_output_learning_codeobject.cu"}
    for name, code in plain_pathways.items():
        # brian2cuda sizes each step's grid from a count copied to the host.
        assert "cudaMemcpyDeviceToHost" in code, name
        assert "cudaMemcpyDeviceToHost" not in grid_pathways[name], name
        assert ">= eventspace[num_spiking_neurons]" in grid_pathways[name], name
    # Nothing else in the generated code differs (Brian2 may order some
    # independent lines differently from one process to the next).
    for path in (plain / "code_objects").glob("*.cu"):
        if path.name not in plain_pathways:
            ours = (grid / "code_objects" / path.name).read_text().splitlines()
            assert sorted(ours) == sorted(path.read_text().splitlines()), path.name


def test_cuda_templates_are_brian2cuda_own_again_after_a_fixed_grid_project(tmp_path):
    pytest.importorskip("brian2cuda")
    data = band_dataset(10, 5)
    config = replace(small_config(hidden=(4,), n_train=10, n_test=5, learning="event"), device="cuda_standalone")
    export_project(replace(config, cuda_fixed_grid=True), data, tmp_path / "grid")
    plain = _pathway_sources(export_project(config, data, tmp_path / "plain"))
    assert len(plain) == 5
    assert all("cudaMemcpyDeviceToHost" in code for code in plain.values())
    # Both take ed_brian's network: clocks compared relative to the time.
    for project in ("grid", "plain"):
        network = (tmp_path / project / "network.cu").read_text()
        assert "fabs(s-t)<=Clock_epsilon*(1.0+fabs(t))" in network and "fabs(s-t)<=Clock_epsilon)" not in network


def _step_code_objects(project: Path, clock: str = "defaultclock") -> set[str]:
    """Code objects the generated main runs on ``clock``: by default at every time step."""
    return set(re.findall(rf"ed_network\.add\(&{clock}, _run_(\w+)\);", (project / "main.cu").read_text()))


def test_cuda_linked_relay_input_runs_no_poisson_pathway(tmp_path):
    pytest.importorskip("brian2cuda")
    plain = _step_code_objects(_cli_export(tmp_path / "plain", "--learning", "dense"))
    linked_project = _cli_export(tmp_path / "linked", "--learning", "dense", "--relay_input", "linked")
    linked = _step_code_objects(linked_project)
    # The Poisson threshold (two kernels: clear and fill the spike space), the
    # pathway (a host copy of the spike count, then a kernel) and the relay's
    # reset (its counts are the sources') give way to one draw.
    assert plain - linked == {"poisson_spike_thresholder_codeobject", "poisson_to_relay_pre_push_spikes",
                              "poisson_to_relay_pre_codeobject", "relay_spike_resetter_codeobject"}
    assert linked - plain == {"poisson_draw_codeobject"}
    draw = (linked_project / "code_objects" / "poisson_draw_codeobject.cu").read_text()
    assert draw.count("<<<") == 1 and "cudaMemcpyDeviceToHost" not in draw
    copies = [name for name in linked - {"random_number_buffer"} if "cudaMemcpyDeviceToHost" in
              (linked_project / "code_objects" / f"{name}.cu").read_text()]
    assert sorted(copies) == ["hidden_1_to_output_pre_codeobject", "hidden_1_to_output_pre_push_spikes",
                              "relay_to_hidden_1_pre_codeobject", "relay_to_hidden_1_pre_push_spikes"]


def test_cuda_event_learning_launches_nothing_per_step(tmp_path):
    pytest.importorskip("brian2cuda")
    project = _cli_export(tmp_path / "event", "--learning", "event")
    assert {"relay_learn_thresholder_codeobject", "relay_to_hidden_1_learning_codeobject",
            "hidden_1_learn_resetter_codeobject"} <= _step_code_objects(project, "trial_clock")
    assert not [name for name in _step_code_objects(project) if "learn" in name]
    # The program reports its progress on stdout about once a second, as on cpp_standalone.
    main = (project / "main.cu").read_text()
    assert 'std::cout << "ed_brian_progress " << (start + completed * duration)' in main
    assert re.search(r"ed_network\.run\([\d.]+, report_progress, 1\.0\);", main)


@pytest.mark.long
def test_cuda_project_with_every_launch_saving_compiles(tmp_path):
    """nvcc compiles every code object of a project with the fixed grid, the
    linked relay input, one LIF group and a feature layer (its units read their
    pair's membrane through a linked variable); no GPU needed, cuRAND headers via CPATH."""
    pytest.importorskip("brian2cuda")
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on PATH")
    data = band_dataset(10, 5)
    config = replace(small_config(hidden=(4,), n_train=10, n_test=5, learning="event"), device="cuda_standalone",
                     cuda_fixed_grid=True)
    linked_input = replace(config.network.input, relay_input="linked")
    network = replace(config.network, input=linked_input, lif_groups="one", hidden=(4, 3), features=20)
    out = export_project(replace(config, network=network), data, tmp_path / "grid")
    objects = [f"code_objects/{path.stem}.o" for path in (out / "code_objects").glob("*.cu")]
    assert len(objects) > 30 and any("feature_membranes" in name for name in objects)
    result = subprocess.run(["make", "-j2", *objects], cwd=out, capture_output=True, text=True)
    if "curand.h" in result.stderr:
        pytest.skip("no cuRAND headers (the nvidia-curand wheel has them: set CPATH)")
    assert result.returncode == 0, result.stderr[-3000:]


def test_cuda_without_brian2cuda_or_gpu_is_a_clear_error(monkeypatch):
    import ed_brian.devices as devices

    monkeypatch.setattr(devices, "gpu_present", lambda: False)
    with pytest.raises(DeviceError, match="brian2cuda|GPU"):
        require(DeviceSpec("cuda_standalone"))
    monkeypatch.setitem(sys.modules, "brian2cuda", None)
    with pytest.raises(DeviceError, match=r"pip install 'ed-brian\[cuda\]'"):
        require(DeviceSpec("cuda_standalone"))


def test_standalone_session_reruns_with_run_args_without_rebuilding(tmp_path):
    from ed_brian.export import initial_weights
    from ed_brian.train import StandaloneSession

    data, other = band_dataset(16, 8), band_dataset(16, 8, seed=5)
    # 12 training images per epoch drawn from 16: the pool's draws must match too.
    config = replace(small_config(hidden=(5,), n_train=12, n_test=8, seed=2), device="cpp_standalone", train_pool=16)
    # With shifted training images: a new shuffle seed draws new offsets too.
    config = replace(config, network=replace(config.network, input=replace(config.network.input, max_shift=1)))
    # The program has every LIF unit in one group (one learning rate to set);
    # the references are runtime runs with a group per layer.
    session = StandaloneSession(replace(config, network=replace(config.network, lif_groups="one")), data,
                                tmp_path / "project")
    program = tmp_path / "project" / "main"
    built = program.stat().st_mtime_ns
    first = session.run()
    reference = train(replace(config, device="runtime", codegen="cython"), data)
    np.testing.assert_array_equal(first.predictions, reference.predictions)

    # New images, initial weights and learning rate, same program.
    weights = initial_weights(config)
    faster = replace(config.network, ed=replace(config.network.ed, lr=0.3))
    second = session.run(dataset=other, initial_weights=weights, lr=0.3)
    assert program.stat().st_mtime_ns == built
    expected = train(replace(config, network=faster, device="runtime", codegen="cython"), other,
                     initial_weights=weights)
    np.testing.assert_array_equal(second.predictions, expected.predictions)
    for key, value in expected.weights.items():
        np.testing.assert_array_equal(second.weights[key], value, err_msg=key)
    assert not np.array_equal(second.weights["relay_to_hidden_1/w"], first.weights["relay_to_hidden_1/w"])

    # Another order over the compiled-in images: labels are those images' labels.
    third = session.run(shuffle_seed=9)
    table_labels = np.concatenate([data.train_labels, data.test_labels])
    np.testing.assert_array_equal(third.schedule.label, table_labels[third.schedule.image])
    assert not np.array_equal(third.schedule.image, first.schedule.image)
    assert not np.array_equal(third.schedule.shift, first.schedule.shift)


def test_recordings_are_the_same_on_cython_and_cpp_standalone(tmp_path):
    from ed_brian.record import RecordSpec

    data = band_dataset(12, 4)
    config = small_config(hidden=(4,), n_train=12, n_test=4, seed=6, codegen="cython")
    spec = RecordSpec(trials=(5, 7), layers=("input", "hidden", "output"), neurons=(0, 3))
    runtime = train(config, data, record=spec)
    standalone = train(replace(config, device="cpp_standalone"), data, project_dir=tmp_path / "cpp", record=spec)
    assert runtime.recordings.keys() == standalone.recordings.keys()
    for key, value in runtime.recordings.items():
        np.testing.assert_allclose(standalone.recordings[key], value, rtol=1e-12, atol=1e-15, err_msg=key)
    assert len(standalone.recordings["hidden_1/spike_t"]) > 0


def test_concurrent_processes_get_separate_standalone_folders(tmp_path, monkeypatch):
    # A second process building the same network shape must not rebuild and
    # overwrite the results of the first in the shared cache folder.
    monkeypatch.setenv("ED_BRIAN_CACHE", str(tmp_path))
    spec = DeviceSpec("cpp_standalone")
    shape = {"hidden": [4], "test": "locking"}
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from ed_brian.devices import DeviceSpec, default_project_dir; "
         f"print(default_project_dir(DeviceSpec('cpp_standalone'), {shape!r}), flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        theirs = Path(holder.stdout.readline().strip())
        ours = default_project_dir(spec, shape)
        assert ours != theirs and ours.name == theirs.name + "-2"
        assert default_project_dir(spec, shape) == ours  # this process keeps its own claim
    finally:
        holder.kill()
        holder.wait()


# Pathways (name: source units, delay, synapse order). Created source by
# source, each source's synapses are one run of indices (the network's own
# order, which the templates walk as a range); created target by target, they
# interleave (walked through the source's list).
DELAYED_PATHWAYS = {
    "none_runs": (slice(None), 0, "by source"), "none_interleaved": (slice(None), 0, "by target"),
    "sub_none_runs": (slice(2, 5), 0, "by source"), "sub_none_interleaved": (slice(2, 5), 0, "by target"),
    "scalar": (slice(None), 2, "by target"), "sub_scalar": (slice(1, 4), 3, "by source"),
    "each": (slice(None), None, "by target"),
}


def _delayed_pathways_run(target: str, project_dir: Path | None = None) -> dict[str, np.ndarray]:
    """Spikes of a Subgroup and of a whole group through DELAYED_PATHWAYS on
    ``target`` (a runtime codegen target or cpp_standalone): what each target
    group received, and on the runtime, the generated pathway code."""
    from brian2 import Network, NeuronGroup, Synapses, ms

    from ed_brian.devices import activate, build_and_run

    spec = DeviceSpec(target) if target == "cpp_standalone" else DeviceSpec(codegen=target)
    activate(spec)
    # Several units fire in some steps, none in others, for the first 5 steps.
    source = NeuronGroup(6, "", threshold="(3 * i + t_in_timesteps) % 4 == 0 and t_in_timesteps < 5",
                         dt=1 * ms, name="source")
    targets, synapses = {}, []
    for name, (units, delay, order) in DELAYED_PATHWAYS.items():
        pre = source[units]
        target = NeuronGroup(4, "v : 1", dt=1 * ms, name=f"{name}_target")
        syn = Synapses(pre, target, "w : 1", on_pre="v_post += w", delay=None if delay is None else delay * ms,
                       dt=1 * ms, name=f"{name}_synapses")
        pairs = [(i, j) for j in range(4) for i in range(len(pre)) if (i + 2 * j) % 3 != 0]
        if order == "by source":
            pairs.sort()
        syn.connect(i=[i for i, _ in pairs], j=[j for _, j in pairs])
        syn.w = "1 + i + 10 * j"
        if delay is None:
            syn.delay = "(i + j) % 4 * ms"
        targets[name] = target
        synapses.append(syn)
    Network(source, *targets.values(), *synapses).run(9 * ms)
    if spec.standalone:
        build_and_run(spec, project_dir)
        return {name: np.array(target.v[:]) for name, target in targets.items()}
    return {name: np.array(target.v[:]) for name, target in targets.items()} | {
        "code": "\n".join(obj.code.run for syn in synapses for obj in syn.pre.code_objects)}


def test_cython_pathways_read_zero_delay_events_directly_and_queue_delayed_ones():
    expected = _delayed_pathways_run("numpy")
    ours = _delayed_pathways_run("cython")
    # ed_brian's cython templates generated each pathway's push and propagation.
    assert ours["code"].count("_queue.scalar_delay and _queue.delays[0] == 0") == 2 * len(DELAYED_PATHWAYS)
    for name in DELAYED_PATHWAYS:
        assert expected[name].sum() > 0, name
        np.testing.assert_array_equal(ours[name], expected[name], err_msg=name)


def test_cpp_pathways_with_runs_interleaved_lists_and_delays_equal_the_runtime(tmp_path):
    expected = _delayed_pathways_run("numpy")
    ours = _delayed_pathways_run("cpp_standalone", tmp_path / "cpp")
    code = "\n".join(path.read_text() for path in (tmp_path / "cpp" / "code_objects").glob("*_synapses_pre_codeobject*.cpp"))
    assert code.count("_synapses[_num_synapses - 1] - _first_synapse + 1 == _num_synapses") == len(DELAYED_PATHWAYS)
    for name in DELAYED_PATHWAYS:
        np.testing.assert_array_equal(ours[name], expected[name], err_msg=name)


def test_a_failed_programs_message_leaves_out_its_progress_lines(tmp_path):
    from ed_brian.devices import PROGRESS_MARK, last_progress, program_messages

    stdout = tmp_path / "stdout.txt"
    stdout.write_text("".join(f"{PROGRESS_MARK} {t}\n" for t in range(3000))
                      + "terminate called after throwing an instance of 'std::bad_alloc'\n"
                      + f"{PROGRESS_MARK} 3000\n  what():  std::bad_alloc\n")
    assert program_messages(stdout) == ["terminate called after throwing an instance of 'std::bad_alloc'",
                                        "what():  std::bad_alloc"]
    assert last_progress(stdout) == 3000.0
    assert program_messages(tmp_path / "missing.txt") == []
