// Package cuda runs divergo's large matrix products on an NVIDIA GPU
// through cuBLAS, with the CUDA runtime and cuBLAS loaded at run time by
// github.com/ebitengine/purego: no cgo, no CUDA toolkit at build time.
//
// # Using it
//
// Open finds and loads the libraries, picks the device and returns a
// Backend; kernels.SetBackend installs it, after which kernels.MatMul
// offers it every product of more than one activation row made with a
// worker pool (prefill and teacher-forced passes) and the GPU computes
// those of at least Options.MinWork multiply-adds (DIVERGO_CUDA_MIN_WORK,
// default DefaultMinWork). Decoding (one row),
// attention, norms and the rest of the forward pass stay on the CPU, where
// moving their data would cost more than it saves. eval.SelectISA("cuda")
// (--isa cuda) does this.
//
// Weights are copied to the device the first time they are used and stay
// there, keyed by their *kernels.Matrix, while it is reachable and memory
// allows (least recently used copies make room): f32, f16 and bf16 as
// stored; the ggml and int formats decoded (Format.Dequant) and rounded to
// float16 (kernels.F32ToF16), or kept as float32 when a value is beyond
// float16's range. Products run in cuBLAS with float32 accumulation:
// cublasSgemm_v2 for float32 weights (no TF32), cublasGemmEx with
// CUBLAS_COMPUTE_32F for 16-bit ones, whose activations are split into two
// 16-bit terms (Options.FastActivations: one).
//
// # Finding the libraries
//
// The CUDA runtime (libcudart.so.13, .so.12, .so.11.0, .so) and cuBLAS
// (libcublas.so.13, .so.12, .so.11, .so; the runtime's major version
// first) are looked for in the directories of DIVERGO_CUDA_LIB_DIR (a
// colon-separated list), then by the dynamic loader (LD_LIBRARY_PATH,
// ld.so.cache), then in $CUDA_HOME and $CUDA_PATH, /usr/local/cuda and
// /usr/local/cuda-*, the distribution's library directories, and the
// site-packages of pip's nvidia wheels (those PyTorch installs: system,
// user, virtualenv, conda and pyenv Pythons) and conda's lib. Without them, or without a GPU, Open fails with one
// line that says what was looked for and where.
//
// # Building
//
// purego's dlopen makes a binary dynamically linked against the C library,
// so the GPU path is behind the cuda build tag and the default divergo
// stays fully static:
//
//	CGO_ENABLED=0 go build -tags cuda ./cmd/divergo
//
// Without the tag (or on a platform other than linux/amd64 and
// linux/arm64) the package builds and its pure-Go parts work, and Open
// reports how to get the GPU path. docs/gpu.md has the verification recipe
// for a GPU machine.
package cuda
