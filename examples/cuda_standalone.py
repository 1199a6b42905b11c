"""
Training on an NVIDIA GPU (``cuda_standalone``)
===============================================

The same training script on Brian2CUDA's ``cuda_standalone`` device: the
whole run becomes one CUDA program. It needs ``pip install 'ed-brian[cuda]'``
(brian2cuda), the CUDA compiler ``nvcc`` and an NVIDIA GPU with its driver.
Where any of them is missing, :class:`ed_brian.DeviceError` says which, in one
line; the CUDA project can still be generated (not compiled) with
:func:`ed_brian.export_project`, to read its code or to build it on a GPU
machine.
"""

# %%
# Train on the GPU, if there is one
# ---------------------------------
# Only ``device`` differs from a CPU run. On this device ed_brian also picks
# the forms of the network that launch fewest GPU kernels per time step (the
# same numbers as the plain forms).

import os
from pathlib import Path

from brian2 import BrianLogger

import ed_brian

# brian2cuda lists its preferences at INFO level; keep the output short.
BrianLogger.suppress_hierarchy("brian2cuda")

FULL = os.environ.get("ED_BRIAN_EXAMPLES_FULL") == "1"
OUT = Path("results/examples/cuda_standalone")

config = ed_brian.Config(hidden=256 if FULL else 32, train=1000 if FULL else 200, test=500 if FULL else 100,
                         epochs=5 if FULL else 2, device="cuda_standalone")
data = ed_brian.load_data(config)
try:
    result = ed_brian.train(config, data, on_epoch=lambda m: print(
        f"epoch {m.epoch}: train {m.train_accuracy:.1f} %, test {m.test_accuracy:.1f} %"))
except ed_brian.DeviceError as error:
    result = None
    print(f"cuda_standalone is not available here: {error}")
else:
    times = result.standalone_times
    print(f"final test accuracy: {result.epochs[-1].test_accuracy:.1f} % "
          f"(build {times.build_seconds:.1f} s, run {times.run_seconds:.1f} s)")
    ed_brian.save_run(OUT / "run", result, data)

# %%
# The generated CUDA project
# --------------------------
# ``export_project`` writes the project without compiling it (no GPU needed,
# only brian2cuda): one ``.cu`` file per code object, a makefile, and the
# images, schedule and initial weights as binary files.

try:
    project = ed_brian.export_project(config, data, OUT / "project")
except ed_brian.DeviceError as error:
    print(f"cannot generate the CUDA project: {error}")
else:
    kernels = sorted((project / "code_objects").glob("*.cu"))
    print(f"generated CUDA project in {project}: {len(kernels)} .cu code objects")
    learning = [path for path in kernels if "relay_to_hidden_1_learning_codeobject" in path.name]
    if learning:
        # The ED update of the input synapses: Kaneko's rule as a CUDA kernel.
        lines = learning[0].read_text().splitlines()
        update = next((k for k, line in enumerate(lines) if "w +=" in line), None)
        if update is not None:
            print(f"the ED update, in {learning[0].name}:")
            print("\n".join(line.strip() for line in lines[update - 5 : update + 2] if line.strip()))
    print(f"build it on a GPU machine: cd {project} && make && ./main")
