#!/usr/bin/env bash
# GPU verification of docs/gpu.md, run from the repository root on a machine
# with an NVIDIA GPU, the CUDA driver and python3 with torch (no Go needed):
#
#   kernels/cuda/testdata/gpu-verify.sh BIN OUT
#
# BIN holds cuda.test and divergo, cross-compiled elsewhere with
#   CGO_ENABLED=0 go test -tags cuda -c -o BIN/cuda.test ./kernels/cuda
#   CGO_ENABLED=0 go build -tags cuda -o BIN/divergo ./cmd/divergo
# OUT receives the logs: the equality tests with their figures, the GEMM
# table, PyTorch's GEMM table and divergo bench's GPU and CPU rows.
set -uo pipefail
bin=${1:?usage: gpu-verify.sh BIN OUT}
out=${2:?usage: gpu-verify.sh BIN OUT}
mkdir -p "$out"
threads=$(nproc)
status=0

{ nvidia-smi; nvidia-smi -L; } >"$out/nvidia-smi.txt" 2>&1
python3 -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())' \
	>"$out/torch.txt" 2>&1

# Does the library search find CUDA by itself? If not, point it at the
# directories of PyTorch's nvidia wheels, and say so.
probe=$("$bin/cuda.test" -test.v -test.run 'TestGPUMatMul/f16/2048x2048' 2>&1)
echo "$probe" >"$out/probe.txt"
if grep -q -- '--- SKIP' <<<"$probe" && [ -z "${DIVERGO_CUDA_LIB_DIR:-}" ]; then
	DIVERGO_CUDA_LIB_DIR=$(python3 -c '
import importlib, os
dirs = []
for m in ("nvidia.cuda_runtime", "nvidia.cublas", "nvidia.cu13"):
    try:
        dirs.append(os.path.join(list(importlib.import_module(m).__path__)[0], "lib"))
    except Exception:
        pass
print(":".join(dirs))' 2>/dev/null)
	export DIVERGO_CUDA_LIB_DIR
	echo "the search did not find CUDA by itself; DIVERGO_CUDA_LIB_DIR=$DIVERGO_CUDA_LIB_DIR" | tee "$out/libdir.txt"
fi

# Absence and fake-device tests (fast), then the GPU ones.
"$bin/cuda.test" -test.v -test.timeout 30m 2>&1 | tee "$out/cuda-test.txt" || status=1

python3 kernels/cuda/testdata/torch_gemm.py --n 512 2048 2>&1 | tee "$out/torch-gemm.md" || status=1

# GPU rows (cuBLAS GEMM, MatMul, prefill) and the CPU's prefill beside them.
"$bin/divergo" bench --isa cuda,auto --shape tinyllama-1.1b --dtype f16,bf16,q8_0,q4_0 -t "$threads" -r 3 \
	--models 2>&1 | tee "$out/bench-models.md" || status=1
"$bin/divergo" bench --isa cuda --kernels --shape tinyllama-1.1b --dtype f32,f16,bf16,q4_0 -t "$threads" -r 3 \
	2>&1 | tee "$out/bench-kernels.md" || status=1
"$bin/divergo" bench --isa cuda --shape tinyllama-1.1b --dtype f16 -t "$threads" -r 3 --json \
	>"$out/bench.json" 2>"$out/bench.stderr" || status=1

# The CLI end to end: perplexity of the embedded model on the CPU and with
# every prefill product on the GPU (its products are below the default
# DIVERGO_CUDA_MIN_WORK); the two agree to about 1e-5.
for isa in auto cuda; do
	DIVERGO_CUDA_MIN_WORK=0 "$bin/divergo" ppl --isa $isa -f eval/data/tinystories_sample.txt -c 128 --chunks 40 --json \
		>"$out/ppl-$isa.json" 2>&1 || status=1
done
exit $status
