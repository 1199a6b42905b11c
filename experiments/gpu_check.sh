#!/usr/bin/env bash
# One prepared check on a GPU machine (no network there): installs the carried
# wheels (brian2 2.10.1, brian2cuda 1.0b1), then trains the seed's network
# (MNIST, N training + 1000 test trials, one epoch) with cuda_standalone for
# each learning mode in MODES (default: event dense) and each hidden size in
# HIDDEN (default: 256), and prints build time, run time and accuracy.
# Usage (repo root, wheels in .whl/, MNIST IDX files in .gpudata/mnist/):
#   [MODES="dense"] [HIDDEN="256 1024"] bash experiments/gpu_check.sh [OUTDIR] [N]
set -uo pipefail
out=${1:-${OUT:-/tmp/gpu_check}}
n=${2:-10000}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
nvidia-smi -L; nvcc --version | tail -1; nproc
python3 -c "import brian2, brian2cuda, numpy; print('brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__, 'numpy', numpy.__version__)"
for hidden in ${HIDDEN:-256}; do
  for mode in ${MODES:-event dense}; do
    start=$(date +%s)
    run="cuda_${mode}_h$hidden"
    timeout 260 python3 -m ed_brian train --device cuda_standalone --mnist --data-dir .gpudata \
        --train "$n" --test 1000 --epochs 1 --hidden "$hidden" --lr 0.15 --spike_max_rate 150 \
        --learning "$mode" --no-progress --out "$out/$run" --project-dir "/tmp/$run" \
        2>&1 | grep -v "nvcc warning" | tail -4
    echo "$run: wall $(( $(date +%s) - start )) s for $n + 1000 trials"
    rm -f "$out/$run/weights.npz" "$out/$run/checkpoint.npz"
  done
done
