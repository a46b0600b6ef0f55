#!/usr/bin/env python3
"""PyTorch's GEMM on the products divergo's GPU path runs, for comparison.

Times torch.nn.functional.linear(x, w) = x @ w.T (the same "TN" cuBLAS GEMM as
kernels/cuda: w is rows x cols, x is n x cols) with both operands resident on
the device, on the shapes of TestGPUGEMMTable (kernels/cuda/gpu_test.go), and
prints a Markdown table in the same units (TFLOP/s = 2*n*rows*cols / time).
TF32 is off, as in divergo's float32 path. PyTorch writes a 16-bit result where
divergo writes float32 (more bytes, negligible next to the products).

    python3 kernels/cuda/testdata/torch_gemm.py [--n 512 2048] [--reps 20] [--json]
"""
import argparse
import json

import torch

SHAPES = [
    ("tinyllama attn.q", 2048, 2048),
    ("tinyllama mlp.up", 5632, 2048),
    ("tinyllama mlp.down", 2048, 5632),
    ("tinyllama lm_head", 32000, 2048),
    ("llama-7b attn.q", 4096, 4096),
    ("llama-7b mlp.up", 11008, 4096),
    ("llama-7b mlp.down", 4096, 11008),
]
DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}


def tflops(rows, cols, n, dtype, reps):
    w = (torch.randn(rows, cols, device="cuda") * 0.02).to(dtype)
    x = torch.randn(n, cols, device="cuda").to(dtype)
    torch.nn.functional.linear(x, w)  # warm-up: cuBLAS picks its kernel
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        torch.nn.functional.linear(x, w)
    end.record()
    torch.cuda.synchronize()
    seconds = start.elapsed_time(end) / 1e3 / reps
    return 2 * n * rows * cols / seconds / 1e12


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[512, 2048], help="activation rows")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--json", action="store_true", help="one JSON document instead of the table")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    rows_out = []
    for name, rows, cols in SHAPES:
        for dname, dtype in DTYPES.items():
            for n in a.n:
                rows_out.append({"matrix": name, "rows": rows, "cols": cols, "dtype": dname, "n": n,
                                 "tflops": tflops(rows, cols, n, dtype, a.reps)})
    info = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "cublas_fp16_reduced_precision": torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction}
    if a.json:
        print(json.dumps({"info": info, "rows": rows_out}, indent=2))
        return
    print(f"{info['device']}, torch {info['torch']}, CUDA {info['cuda']}\n")
    print("| matrix | rows×cols | dtype | n | PyTorch TFLOP/s |\n|---|---|---|---:|---:|")
    for r in rows_out:
        print(f"| {r['matrix']} | {r['rows']}×{r['cols']} | {r['dtype']} | {r['n']} | {r['tflops']:.1f} |")


if __name__ == "__main__":
    main()
