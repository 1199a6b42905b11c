"""Where the network runs: Brian2's runtime device, ``cpp_standalone`` or ``cuda_standalone``.

The network is built the same way for every device; only this module knows
how they differ. Standalone devices collect every ``run()`` and execute them
in one compiled program at ``build_and_run``.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import get_device, prefs, set_device

DEVICES = ("runtime", "cpp_standalone", "cuda_standalone")
CODEGEN_TARGETS = ("auto", "numpy", "cython")


class DeviceError(RuntimeError):
    """A device that cannot be used here; the message says why and what to do."""


@dataclass(frozen=True)
class DeviceSpec:
    name: str = "runtime"
    codegen: str = "auto"  # runtime code generation target
    threads: int = 0  # OpenMP threads for cpp_standalone; 0 = none
    project_dir: str | None = None  # standalone project folder (default: a cache folder per shape)
    compile: bool = True  # False: only generate the standalone project
    # cuda_standalone: launch spike propagation over a fixed grid instead of
    # copying every step's spike counts to the host (cuda_grid_templates/synapses.cu).
    fixed_grid: bool = False

    @classmethod
    def of(cls, config, compile: bool = True) -> "DeviceSpec":
        """The device a RunConfig asks for."""
        return cls(config.device, config.codegen, config.threads, compile=compile, fixed_grid=config.cuda_fixed_grid)

    @property
    def standalone(self) -> bool:
        return self.name != "runtime"

    def validate(self) -> None:
        from ed_brian.config import ConfigError

        if self.name not in DEVICES:
            raise ConfigError(f"--device must be one of {', '.join(DEVICES)} (got {self.name!r})")
        if self.codegen not in CODEGEN_TARGETS:
            raise ConfigError(f"--codegen must be auto, numpy or cython (got {self.codegen!r})")
        if self.threads < 0:
            raise ConfigError(f"--threads must be >= 0 (got {self.threads})")
        if self.threads and self.name != "cpp_standalone":
            raise ConfigError("--threads applies to --device cpp_standalone only")
        if self.fixed_grid and self.name != "cuda_standalone":
            raise ConfigError("--cuda-fixed-grid applies to --device cuda_standalone only")


def use_runtime(codegen: str = "auto") -> str:
    """Select the runtime device with a code generation target and return it.

    'auto' takes cython when a C compiler works and numpy otherwise (Brian2's
    own rule); compiled cython code is cached under ~/.cython between runs.
    """
    if get_device().__class__.__name__ != "RuntimeDevice":
        # Left as it is: a StandaloneSession may still rerun its program.
        set_device("runtime")
    prefs.codegen.target = codegen
    _prepare_cython()
    return codegen


# The widest hidden layer at which OpenMP threads were measured (slower than none).
THREADS_MEASURED_UP_TO = 1024


def threads_warning(config) -> str | None:
    """Why ``config.threads`` is likely to make this run slower, or None."""
    if config.device != "cpp_standalone" or config.threads == 0:
        return None
    widest = max(config.network.hidden)
    if widest > THREADS_MEASURED_UP_TO:
        return (f"--threads {config.threads}: OpenMP was measured slower than none up to hidden "
                f"{THREADS_MEASURED_UP_TO}, not at hidden {widest}; compare with benchmark.py --threads")
    return (f"--threads {config.threads} was measured slower than --threads 0 on this network (hidden 256: "
            "7.2 ms per training trial without threads, 12.3 ms with 1, 24.5 ms with 2, on 2 cores); "
            "see --help")


def gpu_present() -> bool:
    """Whether an NVIDIA GPU answers nvidia-smi here."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def require(spec: DeviceSpec) -> None:
    """Raise DeviceError, with what to do, when ``spec`` cannot run here."""
    if spec.name != "cuda_standalone":
        return
    try:
        import brian2cuda  # noqa: F401  (registers the cuda_standalone device)
    except ImportError:
        raise DeviceError(
            "--device cuda_standalone needs brian2cuda: pip install 'ed-brian[cuda]' "
            "(brian2cuda 1.0b1, which pins brian2 2.10.1)"
        ) from None
    if spec.compile:
        if not gpu_present():
            raise DeviceError(
                "--device cuda_standalone needs an NVIDIA GPU and driver (nvidia-smi found none); "
                "use --device cpp_standalone, or `ed-brian export --device cuda_standalone` to "
                "generate the CUDA project for another machine"
            )
        if shutil.which("nvcc") is None and not os.environ.get("CUDA_PATH"):
            raise DeviceError("--device cuda_standalone needs the CUDA compiler nvcc on PATH (or CUDA_PATH)")


def _derived_templater(plain, templates_dirs: str | tuple[str, ...], prefix: str, package: str):
    """``plain`` with ed_brian's ``templates_dirs`` first (in order); a template
    there extends its original as "PREFIX/name" (from ``package``'s templates)."""
    from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

    dirs = (templates_dirs,) if isinstance(templates_dirs, str) else templates_dirs
    derived = plain.derive("ed_brian", templates_dir=dirs[0])
    derived.env.loader = ChoiceLoader([
        *(PackageLoader("ed_brian", folder) for folder in dirs),
        PrefixLoader({prefix: PackageLoader(package, "templates")}),
        PackageLoader(package, "templates"),
    ])
    return derived


# brian2cuda's templates with ed_brian's network (cuda_templates/: clocks
# compared relative to the time), and the same with ed_brian's spike
# propagation (cuda_grid_templates/) for the fixed grid; ed_brian's templates
# still reach brian2cuda's own as "brian2cuda/<name>".
_CUDA_TEMPLATERS: dict[bool, object] = {}


def _cuda_templater(fixed_grid: bool):
    from brian2cuda.codeobject import CUDAStandaloneCodeObject

    if not _CUDA_TEMPLATERS:
        plain = CUDAStandaloneCodeObject.templater
        _CUDA_TEMPLATERS.update({
            False: _derived_templater(plain, "cuda_templates", "brian2cuda", "brian2cuda"),
            True: _derived_templater(plain, ("cuda_grid_templates", "cuda_templates"), "brian2cuda", "brian2cuda"),
        })
    return _CUDA_TEMPLATERS[fixed_grid]


# Brian2's cpp_standalone templates with ed_brian's spike propagation first
# (cpp_templates/: no copy of the spikes into the queue where a pathway has no
# delay) and its network (clocks compared relative to the time). Made once per process.
_CPP_TEMPLATER: list = []


# Brian2's cython templates with ed_brian's spike propagation first
# (cython_templates/: the same reading of the eventspace as cpp_templates/).
_CYTHON_TEMPLATER: list = []


def _prepare_cython() -> None:
    from brian2.codegen.runtime.cython_rt import CythonCodeObject

    if not _CYTHON_TEMPLATER:
        _CYTHON_TEMPLATER.append(_derived_templater(CythonCodeObject.templater, "cython_templates",
                                                    "brian2", "brian2.codegen.runtime.cython_rt"))
    CythonCodeObject.templater = _CYTHON_TEMPLATER[0]


def _prepare_cpp(threads: int) -> None:
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

    prefs.devices.cpp_standalone.openmp_threads = threads
    if not _CPP_TEMPLATER:
        _CPP_TEMPLATER.append(_derived_templater(CPPStandaloneCodeObject.templater, "cpp_templates",
                                                 "brian2", "brian2.devices.cpp_standalone"))
    # brian2cuda's code objects have a templater of their own.
    CPPStandaloneCodeObject.templater = _CPP_TEMPLATER[0]


def _prepare_cuda(compile: bool, fixed_grid: bool) -> None:
    from brian2cuda.codeobject import CUDAStandaloneCodeObject

    # Every CUDA code object of the process renders through this class's
    # templater (brian2cuda offers no per-object choice for synapses).
    CUDAStandaloneCodeObject.templater = _cuda_templater(fixed_grid)
    cuda = prefs.devices.cuda_standalone
    if not compile:
        # Generating code only: no GPU to query, so name a target (Hopper).
        cuda.cuda_backend.detect_gpus = False
        cuda.cuda_backend.gpu_id = 0
        cuda.cuda_backend.compute_capability = 9.0
    # CUDA 12+/13 headers need C++17; nvcc takes the last -std it is given.
    backend = cuda.cuda_backend
    nvcc_args = [a for a in backend.extra_compile_args_nvcc if not a.startswith("-std=")]
    backend.extra_compile_args_nvcc = nvcc_args + ["-std=c++17"]
    gcc_args = [a for a in prefs.codegen.cpp.extra_compile_args_gcc if not a.startswith("-std=")]
    prefs.codegen.cpp.extra_compile_args_gcc = gcc_args + ["-std=c++17"]


def _exact_arithmetic() -> None:
    # No fused multiply-add contraction: compiled targets then round every
    # operation as the expression says, so cython and cpp_standalone agree bit
    # for bit (with -march=native, gcc would otherwise fuse where it likes).
    args = prefs.codegen.cpp.extra_compile_args_gcc
    if "-ffp-contract=off" not in args:
        prefs.codegen.cpp.extra_compile_args_gcc = [*args, "-ffp-contract=off"]


def activate(spec: DeviceSpec) -> None:
    """Make ``spec`` the active Brian2 device, before the network is built."""
    spec.validate()
    _exact_arithmetic()
    if not spec.standalone:
        use_runtime(spec.codegen)
        return
    require(spec)
    if spec.name == "cuda_standalone":
        _prepare_cuda(spec.compile, spec.fixed_grid)
    else:
        _prepare_cpp(spec.threads)
        # Busy-waiting OpenMP threads collapse on a machine with other work.
        prefs.devices.cpp_standalone.run_environment_variables["OMP_WAIT_POLICY"] = "passive"
    # A fresh project: forget what an earlier run in this process queued.
    set_device(spec.name, build_on_run=False)
    get_device().reinit()
    # The earlier project's code objects die with it only now (reference
    # cycles); alive, they would make Brian2 number the new ones (_1, ...),
    # renaming every generated file and defeating the project cache.
    gc.collect()
    get_device().activate(build_on_run=False)


# Lock files of the cache folders this process has claimed, kept open until it exits.
_claimed: dict[Path, object] = {}


def default_project_dir(spec: DeviceSpec, shape: dict) -> Path:
    """A cache folder per device and network shape, so an unchanged network is not recompiled.

    Two processes must not share one: the second would rebuild the program and
    overwrite the results of the first under it. A folder is claimed with a
    lock held until the process exits; a busy one is passed over for the next
    free copy (KEY-2, KEY-3, ...).
    """
    key = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
    root = Path(os.environ.get("ED_BRIAN_CACHE", Path.home() / ".cache" / "ed_brian")) / spec.name
    root.mkdir(parents=True, exist_ok=True)
    for copy in range(1, 1000):
        folder = root / (key if copy == 1 else f"{key}-{copy}")
        if folder in _claimed:
            return folder
        lock = open(folder.with_name(folder.name + ".lock"), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _claimed[folder] = lock
        return folder
    raise DeviceError(f"every standalone project folder for this network in {root} is in use")


@dataclass(frozen=True)
class StandaloneTimes:
    build_seconds: float  # code generation and compilation
    run_seconds: float  # the compiled program


def build_and_run(spec: DeviceSpec, project_dir: Path, run: bool = True, run_args=None,
                  on_progress=None, should_stop=None) -> StandaloneTimes:
    """Generate, compile (unless ``spec.compile`` is False) and run the standalone project.

    ``on_progress(seconds)`` gets the simulated time the running program has
    reached, about once a second (runs queued with ``progress_report()``).
    When ``should_stop()`` turns true the program is stopped and ProgramStopped
    raised (see :func:`run_program`).
    """
    device = get_device()
    start = time.perf_counter()
    try:
        device.build(directory=str(project_dir), compile=spec.compile, run=False, with_output=False)
    except (RuntimeError, OSError) as error:
        raise DeviceError(f"building the {spec.name} project in {project_dir} failed: {error}") from error
    built = time.perf_counter()
    if run and spec.compile:
        try:
            run_program(project_dir, run_args, on_progress, should_stop=should_stop)
        except ProgramStopped:
            raise
        except RuntimeError as error:
            stdout = Path(project_dir) / "results" / "stdout.txt"
            said = "; ".join(program_messages(stdout))
            raise DeviceError(
                f"the {spec.name} program in {project_dir} failed: {error}{'; it said: ' + said if said else ''}; "
                f"see {stdout}"
            ) from error
    return StandaloneTimes(built - start, time.perf_counter() - built)


class ProgramStopped(DeviceError):
    """A standalone program stopped on request (a signal, or ``should_stop``) before its end."""


# A standalone program reports its progress on its standard output, which
# Brian2 sends to results/stdout.txt: the body of Brian2's report_progress(elapsed,
# completed, start, duration), printing the simulated time reached in seconds.
PROGRESS_MARK = "ed_brian_progress"
_REPORT_CODE = f'std::cout << "{PROGRESS_MARK} " << (start + completed * duration) << std::endl;'
_REPORT_PERIOD_SECONDS = 1.0


def progress_report() -> dict:
    """``run()`` arguments that make a standalone program report its progress."""
    from brian2 import second

    return {"report": _REPORT_CODE, "report_period": _REPORT_PERIOD_SECONDS * second}


def last_progress(stdout: Path) -> float | None:
    """The latest simulated time (s) a program reported in its ``stdout``, if any."""
    try:
        text = stdout.read_text(errors="replace")
    except OSError:
        return None
    marks = [line.split()[1] for line in text.splitlines() if line.startswith(PROGRESS_MARK + " ")]
    try:
        return float(marks[-1]) if marks else None
    except (ValueError, IndexError):
        return None


def program_messages(stdout: Path, lines: int = 3) -> list[str]:
    """The last ``lines`` lines a program wrote to its ``stdout`` that are not progress reports."""
    try:
        text = stdout.read_text(errors="replace")
    except OSError:
        return []
    said = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(PROGRESS_MARK + " ")]
    return said[-lines:]


class _OtherThreadsOnly:
    """sys.stdout while a program runs in ``quiet``: Brian2 prints a failed program's
    whole output there, a progress line for every second it ran; that thread's
    writes are dropped (the error names the file), every other thread's pass on."""

    def __init__(self, stream, quiet: threading.Thread):
        self.stream, self.quiet = stream, quiet

    def write(self, text: str) -> int:
        if threading.current_thread() is self.quiet:
            return len(text)
        return self.stream.write(text)

    def __getattr__(self, name):  # encoding, isatty, fileno, ... of the stream it stands for
        return getattr(self.stream, name)


def child_programs(parent: int) -> list[int]:
    """The pids of ``parent``'s child processes named ``main``, standalone programs
    (read from Linux's /proc; none where it is missing)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            # "pid (name) state ppid ...": the name may hold spaces and parentheses
            name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
            if name == "main" and int(rest[1]) == parent:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def _stop_programs_of_this_process() -> None:
    """SIGTERM this process's standalone programs; where /proc is missing they run on to their end."""
    for pid in child_programs(os.getpid()):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            continue  # ended meanwhile


def run_program(project_dir: Path, run_args=None, on_progress=None, device=None, poll_seconds: float = 0.25,
                should_stop=None) -> None:
    """Run the built program of ``device`` (default: the active one), reporting its
    progress to ``on_progress`` while it runs.

    Brian2 runs the program and waits for it, so it runs in a thread here while
    this one reads the program's stdout for progress lines. When ``should_stop()``
    turns true (a signal handler's flag, say), or the program dies while it is
    true (Ctrl-C reaches the program too), ProgramStopped is raised.
    """
    device = device or get_device()
    stdout = Path(project_dir) / "results" / "stdout.txt"
    stdout.unlink(missing_ok=True)  # not the last run's progress
    failed: list[BaseException] = []

    def run() -> None:
        try:
            device.run(str(project_dir), with_output=False, run_args=run_args)
        except BaseException as error:  # handed to the caller's thread
            failed.append(error)

    worker = threading.Thread(target=run, name="ed_brian_standalone_run", daemon=True)
    shown = sys.stdout
    sys.stdout = quiet = _OtherThreadsOnly(shown, worker)
    stopping = False
    try:
        worker.start()
        reached = -1.0
        running = True
        while running:
            worker.join(poll_seconds)
            running = worker.is_alive()  # one more read after the end: the program's last report
            seconds = last_progress(stdout)
            if on_progress is not None and seconds is not None and seconds > reached:
                reached = seconds
                on_progress(seconds)
            if running and not stopping and should_stop is not None and should_stop():
                stopping = True
                _stop_programs_of_this_process()
    finally:
        if sys.stdout is quiet:
            sys.stdout = shown
    asked = stopping or (should_stop is not None and should_stop())
    if failed:
        if asked:
            raise ProgramStopped(f"the program in {project_dir} was stopped before its end") from None
        raise failed[0]
    # Brian2's programs end a run early and cleanly on SIGINT (Ctrl-C reaches the
    # whole process group), leaving the last run() incomplete.
    if asked and getattr(device, "_last_run_completed_fraction", 1.0) < 1.0:
        raise ProgramStopped(f"the program in {project_dir} was stopped before its end")


# Size of the block of random numbers Brian2's cython target draws from NumPy
# at a time (brian2.codegen.generators.cython_generator._BUFFER_SIZE).
_CYTHON_RANDOM_BLOCK = 20000


def random_state() -> dict[str, np.ndarray]:
    """Brian2's runtime random state, complete enough to continue in another process.

    The runtime targets draw from NumPy's global generator; the cython target
    draws it in blocks and keeps the unused part of the current block, which
    Brian2's own get_random_state only points to. Both are copied here.
    """
    state = get_device().get_random_state()
    name, keys, pos, has_gauss, cached = state["numpy_state"]
    out = {
        "numpy_keys": np.array(keys, dtype=np.uint32),
        "numpy_scalars": np.array([pos, has_gauss], dtype=np.int64),
        "numpy_gauss": np.array([cached], dtype=np.float64),
    }
    for kind in ("rand", "randn"):
        pointer = int(state[f"{kind}_buffer"][0])
        index = int(state[f"{kind}_buffer_index"][0])
        out[f"{kind}_index"] = np.array([index], dtype=np.int64)
        if pointer and index:
            block = (ctypes.c_double * _CYTHON_RANDOM_BLOCK).from_address(pointer)
            out[f"{kind}_block"] = np.ctypeslib.as_array(block).copy()
    return out


def set_random_state(saved: dict[str, np.ndarray]) -> None:
    """Continue Brian2's runtime random numbers from ``random_state()``'s copy."""
    pos, has_gauss = (int(x) for x in saved["numpy_scalars"])
    np.random.set_state(("MT19937", saved["numpy_keys"], pos, has_gauss, float(saved["numpy_gauss"][0])))
    device = get_device()
    for kind in ("rand", "randn"):
        index = int(saved[f"{kind}_index"][0])
        pointer = int(getattr(device, f"{kind}_buffer")[0])
        if index and not pointer:
            raise RuntimeError("the checkpoint's random numbers come from the cython target; resume with --codegen cython")
        if index:
            block = (ctypes.c_double * _CYTHON_RANDOM_BLOCK).from_address(pointer)
            np.ctypeslib.as_array(block)[:] = saved[f"{kind}_block"]
        getattr(device, f"{kind}_buffer_index")[:] = index


# A cpp_standalone program that continues another run reads Brian2's random
# state from this file in its project folder, where the run writes it first.
RANDOM_STATE_FILE = "ed_brian_random_state"
# Brian2's RandomGenerator is a std::mt19937, whose text form (624 words, then
# the position) is NumPy's MT19937 state: one line per OpenMP thread.
_MT_WORDS = 625


def _generator_count() -> int:
    """Brian2's random generators in a cpp_standalone program: one per OpenMP thread, one without OpenMP."""
    return max(int(prefs.devices.cpp_standalone.openmp_threads), 1)


def _generator_rows(saved: dict[str, np.ndarray]) -> list[list[int]] | None:
    """The std::mt19937 states of a random state (None with cython's current block partly used)."""
    if int(saved["rand_index"][0]) or int(saved["randn_index"][0]) or int(saved["numpy_scalars"][1]):
        return None  # the next numbers come from a block already drawn (or a cached gaussian)
    first = [int(word) for word in saved["numpy_keys"]] + [int(saved["numpy_scalars"][0])]
    return [first] + [[int(word) for word in row] for row in saved.get("thread_keys", ())]


def continue_random_numbers(project_dir: Path, saved: dict[str, np.ndarray]) -> bool:
    """Make the cpp_standalone program being queued continue Brian2's random numbers from ``saved``.

    ``saved`` is a ``random_state()`` copy or a program's own
    (``program_random_state``). The program reads it at the point of the queue
    where this is called (call it after building the network, before its
    runs), as ``set_random_state`` does at runtime. Returns False, changing
    nothing, where the state cannot be continued exactly: cython's block of
    random numbers partly used, or another number of threads.
    """
    rows = _generator_rows(saved)
    threads = _generator_count()
    if rows is None or len(rows) != threads:
        return False
    project_dir = Path(project_dir)
    project_dir.mkdir(parents=True, exist_ok=True)
    (project_dir / RANDOM_STATE_FILE).write_text("".join(" ".join(map(str, row)) + "\n" for row in rows))
    get_device().insert_code("main", f"""
    {{
        std::ifstream saved_state("{RANDOM_STATE_FILE}");
        for (int _i = 0; _i < {threads}; _i++)
            saved_state >> brian::_random_generators[_i];
        if (!saved_state) {{
            std::cerr << "cannot read the random state in {RANDOM_STATE_FILE}" << std::endl;
            return 1;
        }}
    }}""")
    return True


def random_state_saver(save_at) -> list:
    """Objects that make a cpp_standalone program save Brian2's random state at time ``save_at``,
    before anything of that step draws a random number (``program_random_state`` reads it).

    A run that ends at a trial boundary simulates that boundary's step (the last
    trial's learning) and its continuation simulates the step again as its
    first, so the state to continue from is the one before it, as a runtime
    checkpoint keeps it.
    """
    from brian2 import Function, NeuronGroup

    threads = _generator_count()
    save = Function(_standalone_only, arg_units=[1], return_unit=1, arg_types=["integer"], return_type="integer",
                    stateless=False)
    save.implementations.add_implementation("cpp", name="ed_brian_save_random_state", code=f"""
    int ed_brian_save_random_state(int now)
    {{
        if (now) {{
            std::ofstream saved_state(brian::results_dir + "{RANDOM_STATE_FILE}");
            for (int _i = 0; _i < {threads}; _i++)
                saved_state << brian::_random_generators[_i] << std::endl;
        }}
        return now;
    }}""")
    keeper = NeuronGroup(1, "save_at : second (shared, constant)\nsaved : integer", name="random_state_saver",
                         namespace={"ed_brian_save_random_state": save})
    keeper.save_at = save_at
    keeper.run_regularly("saved = ed_brian_save_random_state(int(abs(t - save_at) < 0.5*dt))",
                         when="before_start", order=-1000, name="random_state_save")
    return [keeper]


def _standalone_only(now):
    raise NotImplementedError("the random state is saved by cpp_standalone programs only")


def program_random_state(project_dir: Path) -> dict[str, np.ndarray] | None:
    """Brian2's random state where the cpp_standalone program in ``project_dir`` saved it
    (``random_state_saver``), in ``random_state()``'s form (more threads' generators
    under ``thread_keys``); None if it saved none."""
    path = Path(project_dir) / "results" / RANDOM_STATE_FILE
    try:
        rows = [[int(word) for word in line.split()] for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError):
        return None
    if not rows or any(len(row) != _MT_WORDS for row in rows):
        return None
    state = {
        "numpy_keys": np.array(rows[0][:-1], dtype=np.uint32),
        "numpy_scalars": np.array([rows[0][-1], 0], dtype=np.int64),
        "numpy_gauss": np.zeros(1),
        "rand_index": np.zeros(1, dtype=np.int64),
        "randn_index": np.zeros(1, dtype=np.int64),
    }
    if len(rows) > 1:
        state["thread_keys"] = np.array(rows[1:], dtype=np.int64)
    return state
