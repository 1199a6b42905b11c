#!/usr/bin/env bash
# One prepared check on a GPU machine (no network there): installs the carried
# wheels (brian2 2.10.1, brian2cuda 1.0b1), then trains the seed's network
# (hidden 256, MNIST, 2000 training + 1000 test trials) with cuda_standalone and
# prints build time, run time, trials per second and accuracy.
# Usage (repo root, wheels in .whl/, MNIST IDX files in .gpudata/mnist/):
#   bash experiments/gpu_check.sh [OUTDIR]
set -uo pipefail
out=${1:-${OUT:-/tmp/gpu_check}}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi -L; nvcc --version | tail -2
python3 -c "import brian2, brian2cuda, numpy; print('brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__, 'numpy', numpy.__version__)"
nproc
start=$(date +%s)
timeout 420 python3 -m ed_brian train --device cuda_standalone --mnist --data-dir .gpudata \
    --train 2000 --test 1000 --epochs 1 --hidden 256 --lr 0.15 --spike_max_rate 150 \
    --no-progress --verbose --out "$out/cuda_run" --project-dir /tmp/cuda_project 2>&1 | tee "$out/cuda_train.log"
echo "wall $(( $(date +%s) - start )) s"
cp /tmp/cuda_project/results/stdout.txt "$out/cuda_stdout.txt" 2>/dev/null
tail -c 3000 /tmp/cuda_project/results/stdout.txt 2>/dev/null
