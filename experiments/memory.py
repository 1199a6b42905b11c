"""The memory estimate (ed_brian.memory) against measured peaks.

    python experiments/memory.py --device cpp_standalone -- --mnist --hidden 256 --train 60000 --test 10000 --epochs 1
    python experiments/memory.py --device runtime -- --hidden 4096,128,128 --train 20 --test 10 --epochs 1

Everything after ``--`` is ``ed-brian train`` flags. Each configuration runs
in a fresh Python process that builds and runs it (a standalone program
through a launcher that records the program's own peak), then prints the
estimate, the measured peaks (Python process, standalone program, their sum)
and the estimate's error. ``--trials N`` caps the trials actually simulated:
the network and the image table are built at full size, but only the first N
trials of the schedule run, so a 60,000-image configuration is measured in
minutes. One line of JSON at the end with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile

CHILD = "--measure-in-this-process"


def measure(flags: list[str], device: str, trials: int) -> dict:
    """Build and run ``flags`` on ``device`` here; the peaks in MB."""
    import ed_brian
    from ed_brian.cli import build_parser, config_from_args
    from ed_brian.memory import estimate, measure_program_memory, program_peak_mb

    config = config_from_args(build_parser().parse_args(["train", "--device", device, *flags]))
    data = ed_brian.load_data(config)
    with tempfile.TemporaryDirectory() as project:
        if device == "cpp_standalone":
            measure_program_memory()
        sim = ed_brian.build(config, data, project_dir=project)
        sim.run_trials(min(trials, sim.schedule.n_trials))
        if device != "runtime":
            sim.build_and_run()
        program = program_peak_mb(project) if device == "cpp_standalone" else 0.0
    python = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    need = estimate(config)
    return {"flags": flags, "device": device, "estimate": need.to_dict(), "python_mb": python,
            "program_mb": program, "measured_mb": python + program}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpp_standalone", choices=["runtime", "cpp_standalone"])
    parser.add_argument("--trials", type=int, default=20, help="trials simulated [%(default)s]")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(CHILD, action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    flags = argv[cut + 1:]
    if getattr(args, CHILD[2:].replace("-", "_")):
        print(json.dumps(measure(flags, args.device, args.trials)))
        return
    child = subprocess.run([sys.executable, __file__, CHILD, "--device", args.device, "--trials", str(args.trials),
                            "--", *flags], capture_output=True, text=True, check=True)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    need = result["estimate"]
    print(f"{args.device} {' '.join(flags)}")
    print(f"estimate: {need['total_mb']:,.0f} MB ({need['synapses']:,} synapses: {need['synapses_mb']:,.0f} MB, "
          f"images {need['image_table_mb']:,.0f} MB, monitors {need['monitors_mb']:,.0f} MB, "
          f"base {need['base_mb']:,.0f} MB)")
    print(f"measured: {result['measured_mb']:,.0f} MB (Python {result['python_mb']:,.0f} MB, "
          f"program {result['program_mb']:,.0f} MB); estimate / measured = "
          f"{need['total_mb'] / result['measured_mb']:.2f}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
