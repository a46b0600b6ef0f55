package kernels

import "fmt"

// An opTable holds the installed body of every vector op. The exported
// functions check lengths, then call the body; bodies may assume the lengths
// they are documented with and must not read or write outside them. No
// alignment is assumed anywhere: slices may start at any element.
type opTable struct {
	// dot returns Σ a[i]·b[i]; len(a) == len(b).
	dot func(a, b []float32) float32
	// axpy computes y[i] += alpha·x[i]; len(x) == len(y). FMA allowed.
	axpy func(alpha float32, x, y []float32)
	// scale computes x[i] *= alpha (exact per element).
	scale func(alpha float32, x []float32)
	// add computes dst[i] += x[i]; len(dst) == len(x) (exact per element).
	add func(dst, x []float32)
	// mul computes dst[i] *= x[i]; len(dst) == len(x) (exact per element).
	mul func(dst, x []float32)
	// rmsNorm writes dst = x·s·w with s = 1/sqrt(mean(x²)+eps); equal
	// lengths, dst may be x itself.
	rmsNorm func(dst, x, w []float32, eps float32)
	// softmax replaces x by softmax(x).
	softmax func(x []float32)
	// siluMul computes gate[i] = silu(gate[i])·up[i]; equal lengths.
	siluMul func(gate, up []float32)
	// ropePairs rotates the pairs (x[2i], x[2i+1]) of one head by the
	// angles whose cosines and sines are cos[i], sin[i]; len(x) == 2·len(cos).
	ropePairs func(x, cos, sin []float32)
	// ropeHalves rotates the pairs (x[i], x[i+len(x)/2]) likewise.
	ropeHalves func(x, cos, sin []float32)

	f16ToF32  func(dst []float32, src []uint16)
	bf16ToF32 func(dst []float32, src []uint16)
	f32ToF16  func(dst []uint16, src []float32)
	f32ToBF16 func(dst []uint16, src []float32)

	// gemm is the prefill GEMM kernel set (see matmul.go).
	gemm gemmKernel
}

// active is the installed op table (set by SetISA / init).
var active opTable

func genericOps() opTable {
	return opTable{
		dot:        dotGeneric,
		axpy:       axpyGeneric,
		scale:      scaleGeneric,
		add:        addGeneric,
		mul:        mulGeneric,
		rmsNorm:    rmsNormGeneric,
		softmax:    softmaxGeneric,
		siluMul:    siluMulGeneric,
		ropePairs:  ropePairsGeneric,
		ropeHalves: ropeHalvesGeneric,
		f16ToF32:   f16ToF32Generic,
		bf16ToF32:  bf16ToF32Generic,
		f32ToF16:   f32ToF16Generic,
		f32ToBF16:  f32ToBF16Generic,
		gemm:       gemmGeneric(),
	}
}

func mustLen(op string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("kernels: %s: length mismatch %d != %d", op, a, b))
	}
}

// Dot returns Σ a[i]·b[i], summed in float32. The reference sums four
// running partial sums over i mod 4 and adds them as (s0+s1)+(s2+s3); SIMD
// bodies sum in another order (results agree to ~1e-6 relative to Σ|a·b|).
// It panics if len(a) != len(b).
func Dot(a, b []float32) float32 {
	mustLen("Dot", len(a), len(b))
	return active.dot(a, b)
}

// Axpy computes y[i] += alpha·x[i]. SIMD bodies may fuse the multiply-add.
func Axpy(alpha float32, x, y []float32) {
	mustLen("Axpy", len(x), len(y))
	active.axpy(alpha, x, y)
}

// Scale computes x[i] *= alpha.
func Scale(alpha float32, x []float32) { active.scale(alpha, x) }

// Add computes dst[i] += x[i] (the residual connection).
func Add(dst, x []float32) {
	mustLen("Add", len(dst), len(x))
	active.add(dst, x)
}

// Mul computes dst[i] *= x[i].
func Mul(dst, x []float32) {
	mustLen("Mul", len(dst), len(x))
	active.mul(dst, x)
}

// RMSNorm writes dst[i] = (x[i]·s)·w[i] with s = 1/sqrt(mean(x²) + eps), the
// Llama RMSNorm as ggml computes it (rms_norm then mul): Σx² accumulates the
// float32 squares in float64, mean = Σ/n is rounded to float32, and
// s = 1/sqrtf(mean+eps) is formed in float32. dst may be x itself (in place);
// the slices must not overlap otherwise. An empty x is a no-op.
func RMSNorm(dst, x, w []float32, eps float32) {
	mustLen("RMSNorm", len(dst), len(x))
	mustLen("RMSNorm", len(w), len(x))
	if len(x) == 0 {
		return
	}
	active.rmsNorm(dst, x, w, eps)
}

// Softmax replaces x by exp(x−max)/Σexp(x−max), as ggml's soft_max: the
// exponentials are float32 (expf, correctly rounded here), their sum
// accumulates in float64, and the values are multiplied by float32(1/sum).
// (ggml's own SIMD loop uses an approximate expf within ~2 ulp, so llama.cpp
// agrees to ~1e-6, not bit for bit.) An empty x is a no-op.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	active.softmax(x)
}

// SiLUMul computes gate[i] = silu(gate[i])·up[i] with silu(v) = v/(1+expf(−v))
// in float32: ggml's scalar swiglu (its SIMD loop approximates expf, ~1e-6).
func SiLUMul(gate, up []float32) {
	mustLen("SiLUMul", len(gate), len(up))
	active.siluMul(gate, up)
}
