// Package kernels holds every hot loop of divergo: dot products, GEMV and
// GEMM over the weight formats, RMSNorm, softmax, SiLU·mul, RoPE, float
// conversions and activation quantization; a plain-Go reference body for
// each, Go assembly for AVX2, AVX-512 and NEON chosen once at start, and a
// persistent worker pool.
package kernels
