"""What a cuda_standalone time step launches, read from the generated code (no GPU needed).

    python experiments/cuda_step_kernels.py                       # hidden 256, the variants below
    python experiments/cuda_step_kernels.py --hidden 1024 --json

On a GPU this network is bound by launches, not by arithmetic: a step of the
seed's network does little work per kernel. For each configuration this
exports the brian2cuda project (``ed-brian export``, one process each) and
lists the code objects the generated main runs on the simulation clock, with
the kernels each launches and its blocking device-to-host copies, counted in
the generated source:

- a thresholder launches two kernels (clear the spike space, then fill it);
- a pathway copies the step's spike count to the host to size its grid, then
  launches one kernel (no copy with --cuda-fixed-grid);
- a pathway's ``push_spikes`` launches nothing and copies nothing when all
  its synapses have the same delay, as here (its code for other delays is
  generated but never runs);
- ``random_number_buffer`` runs on the host and refills cuRAND buffers every
  few hundred steps; it is left out.

Variants: learning mode (dense, event), then "+grid" for --cuda-fixed-grid,
"+linked" for --relay_input linked and "+one" for --lif_groups one. With --json the last line is one JSON
object: per variant, kernels and copies per step.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

VARIANTS = ("dense", "dense+grid", "dense+grid+linked", "dense+grid+linked+one", "event+grid+linked+one")


def variant_flags(variant: str) -> list[str]:
    mode, *options = variant.split("+")
    unknown = set(options) - {"grid", "linked", "one"}
    if mode not in ("dense", "event") or unknown:
        raise ValueError(f"unknown variant {variant!r}: a learning mode (dense, event), then any of +grid, +linked, +one")
    # Every form named, since the command line's defaults on cuda_standalone are the fastest ones.
    return ["--learning", mode, "--cuda-fixed-grid" if "grid" in options else "--no-cuda-fixed-grid",
            "--relay_input", "linked" if "linked" in options else "synapses",
            "--lif_groups", "one" if "one" in options else "layer"]


def step_code_objects(project: Path) -> list[str]:
    """Names of the code objects main.cu runs at every step, in its order."""
    return re.findall(r"ed_network\.add\(&defaultclock, _run_(\w+)\);", (project / "main.cu").read_text())


def launches(project: Path, name: str) -> tuple[int, int]:
    """(kernels, device-to-host copies) of one step of code object ``name``."""
    if name == "random_number_buffer" or name.endswith("_push_spikes"):
        return 0, 0
    source = (project / "code_objects" / f"{name}.cu").read_text()
    return source.count("<<<"), source.count("cudaMemcpyDeviceToHost")


def count(variant: str, hidden: int, workdir: Path) -> dict:
    project = workdir / variant.replace("+", "_")
    subprocess.run([sys.executable, "-m", "ed_brian", "export", "--device", "cuda_standalone", "--out", str(project),
                    "--train", "10", "--test", "5", "--epochs", "1", "--hidden", str(hidden),
                    *variant_flags(variant)], check=True, capture_output=True)
    per_object = {name: launches(project, name) for name in step_code_objects(project)}
    return {
        "kernels": sum(k for k, _ in per_object.values()),
        "copies": sum(c for _, c in per_object.values()),
        "code_objects": {name: {"kernels": k, "copies": c} for name, (k, c) in per_object.items() if k or c},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--verbose", action="store_true", help="list every code object")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = parser.parse_args()
    for variant in args.variants:
        try:
            variant_flags(variant)
        except ValueError as error:
            parser.error(str(error))
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for variant in args.variants:
            results[variant] = found = count(variant, args.hidden, Path(workdir))
            print(f"{variant:20s} {found['kernels']:3d} kernels, {found['copies']} device-to-host copies per step")
            if args.verbose:
                for name, each in found["code_objects"].items():
                    print(f"    {name:55s} {each['kernels']} kernels, {each['copies']} copies")
    if args.json:
        print(json.dumps({"hidden": args.hidden, "per_step": results}))


if __name__ == "__main__":
    main()
