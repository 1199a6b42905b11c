#!/usr/bin/env bash
# One prepared check on a GPU machine (no network there): installs the carried
# wheels (brian2 2.10.1, brian2cuda 1.0b1), then trains the seed's network
# (MNIST, N training + 1000 test trials, one epoch) with cuda_standalone for
# each variant in VARIANTS and each hidden size in HIDDEN, and prints build
# time, program time, simulation-loop time and accuracy. A variant is a learning mode (dense, event),
# then any of "+grid" (--cuda-fixed-grid), "+linked" (--relay_input linked) and
# "+one" (--lif_groups one); experiments/cuda_step_kernels.py counts what each
# launches per step (dense 16 kernels and 3 host copies, dense+grid+linked+one and
# event+grid+linked+one 9 and 0).
#
# Here, once (wheels into .whl/, MNIST into .gpudata/mnist/, both git-ignored):
#   bash experiments/gpu_check.sh --prepare [DATA_DIR]     # DATA_DIR: default ../shared/data
# There (repo root; the device tool's carry: [".whl", ".gpudata"]):
#   [VARIANTS="dense dense+grid+linked+one"] [HIDDEN="256 1024"] bash experiments/gpu_check.sh [OUTDIR] [N]
# (default variants: dense dense+grid+linked+one event+grid+linked+one)
# A full epoch, the speed target (event+grid+linked+one is what cuda_standalone builds by
# default; 112 s of simulation on an H200, 2026-12-04):
#   VARIANTS=event+grid+linked+one RUN_TIMEOUT=400 bash experiments/gpu_check.sh OUTDIR 60000
# Packed copies (--copies), the time of N networks in one program against one:
#   VARIANTS=event+grid+linked+one COPIES="1 4 16 64" bash experiments/gpu_check.sh OUTDIR 5000
set -uo pipefail

if [ "${1:-}" = "--prepare" ]; then
    data=${2:-../shared/data}
    mkdir -p .git/info .gpudata/mnist
    for path in /.whl/ /.gpudata/; do grep -qx "$path" .git/info/exclude 2>/dev/null || echo "$path" >>.git/info/exclude; done
    cp "$data"/mnist/*.gz .gpudata/mnist/ || exit 1
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl brian2==2.10.1 brian2cuda==1.0b1 || exit 1
    du -sh .whl .gpudata
    exit 0
fi

out=${1:-${OUT:-/tmp/gpu_check}}
n=${2:-5000}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
nvidia-smi -L; nvcc --version | tail -1; nproc
python3 -c "import brian2, brian2cuda, numpy; print('brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__, 'numpy', numpy.__version__)"
for copies in ${COPIES:-1}; do
for hidden in ${HIDDEN:-256}; do
  for variant in ${VARIANTS:-dense dense+grid+linked+one event+grid+linked+one}; do
    mode=${variant%%+*}
    # Every form named: the command line's defaults on cuda_standalone are the fastest ones.
    flags=(--no-cuda-fixed-grid --relay_input synapses --lif_groups layer)
    case "+$variant+" in *+grid+*) flags+=(--cuda-fixed-grid);; esac
    case "+$variant+" in *+linked+*) flags+=(--relay_input linked);; esac
    case "+$variant+" in *+one+*) flags+=(--lif_groups one);; esac
    run="cuda_${variant//+/_}_h${hidden}_c$copies"
    start=$(date +%s)
    timeout "${RUN_TIMEOUT:-240}" python3 -m ed_brian train --device cuda_standalone "${flags[@]}" --mnist --data-dir .gpudata \
        --train "$n" --test 1000 --epochs 1 --hidden "$hidden" --lr 0.15 --spike_max_rate 150 \
        --learning "$mode" --copies "$copies" --no-progress --out "$out/$run" --project-dir "/tmp/$run" \
        2>&1 | grep -v "nvcc warning" | tail -4
    echo "$run: wall $(( $(date +%s) - start )) s for $n + 1000 trials"
    # The simulation loop alone (Brian2's last_run_info: seconds, fraction completed).
    echo "$run: simulation loop $(cat "/tmp/$run/results/last_run_info.txt" 2>/dev/null) s for $n + 1000 trials"
    rm -f "$out/$run/weights.npz" "$out/$run/checkpoint.npz" "$out/$run/trials.npz"
  done
done
done
