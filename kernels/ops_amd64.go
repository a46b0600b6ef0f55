//go:build !noasm

package kernels

import "math"

// The amd64 bodies of the vector ops. The assembly takes a pointer per
// slice and one length; the wrappers here check the lengths the contracts
// promise (so that a wrong call panics in Go, not in assembly). The
// AVX-512 bodies handle tails with K-masks; the AVX2 ones process whole
// vectors of 8 and the wrappers finish the last 0–7 elements in Go.
//
// Exactness (see kernels_test.go): Scale, Add, Mul, RoPE's rounded products
// and the conversions are bit-identical to the generic bodies; Dot, Axpy
// (FMA) and the float64 sums of RMSNorm and Softmax differ by reordering
// only; expf is computed in double precision and rounded once, as the
// generic bodies compute it.

var _ = registerOps(AVX2, func(t *opTable) {
	t.dot = dotBodyAVX2
	t.axpy = axpyBodyAVX2
	t.scale = scaleBodyAVX2
	t.add = addBodyAVX2
	t.mul = mulBodyAVX2
	t.rmsNorm = rmsNormAVX2
	t.softmax = softmaxAVX2
	t.siluMul = siluMulBodyAVX2
	t.ropePairs = ropePairsBodyAVX2
	t.ropeHalves = ropeHalvesBodyAVX2
	t.f16ToF32 = f16ToF32BodyAVX2
	t.bf16ToF32 = bf16ToF32BodyAVX2
	t.f32ToF16 = f32ToF16BodyAVX2
	t.f32ToBF16 = f32ToBF16BodyAVX2
})

var _ = registerOps(AVX512, func(t *opTable) {
	t.dot = dotBodyAVX512
	t.axpy = axpyBodyAVX512
	t.scale = scaleBodyAVX512
	t.add = addBodyAVX512
	t.mul = mulBodyAVX512
	t.rmsNorm = rmsNormAVX512
	t.softmax = softmaxAVX512
	t.siluMul = siluMulBodyAVX512
	t.ropePairs = ropePairsBodyAVX512
	t.ropeHalves = ropeHalvesBodyAVX512
	t.f16ToF32 = f16ToF32BodyAVX512
	t.bf16ToF32 = bf16ToF32BodyAVX512
	t.f32ToF16 = f32ToF16BodyAVX512
	t.f32ToBF16 = f32ToBF16BodyAVX512
})

// rmsScale is rmsNormScale's 1/sqrtf(mean+eps) from the float64 sum of
// squares of n values.
func rmsScale(sum float64, n int, eps float32) float32 {
	mean := float32(sum / float64(n))
	return 1 / float32(math.Sqrt(float64(mean+eps)))
}

// AVX-512 wrappers.

func dotBodyAVX512(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	return dotAVX512(&a[0], &b[0], len(a))
}

func axpyBodyAVX512(alpha float32, x, y []float32) {
	if len(x) == 0 {
		return
	}
	y = y[:len(x)]
	axpyAVX512(alpha, &x[0], &y[0], len(x))
}

func scaleBodyAVX512(alpha float32, x []float32) {
	if len(x) > 0 {
		scaleAVX512(alpha, &x[0], len(x))
	}
}

func addBodyAVX512(dst, x []float32) {
	if len(dst) == 0 {
		return
	}
	x = x[:len(dst)]
	addAVX512(&dst[0], &x[0], len(dst))
}

func mulBodyAVX512(dst, x []float32) {
	if len(dst) == 0 {
		return
	}
	x = x[:len(dst)]
	mulAVX512(&dst[0], &x[0], len(dst))
}

func rmsNormAVX512(dst, x, w []float32, eps float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	x, w = x[:n], w[:n]
	s := rmsScale(sumSquaresAVX512(&x[0], n), n, eps)
	scaleMulAVX512(&dst[0], &x[0], &w[0], s, n)
}

func softmaxAVX512(x []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	mx := maxAVX512(&x[0], n)
	s := float32(1 / expSumAVX512(&x[0], mx, n))
	scaleAVX512(s, &x[0], n)
}

func siluMulBodyAVX512(gate, up []float32) {
	if len(gate) == 0 {
		return
	}
	up = up[:len(gate)]
	siluMulAVX512(&gate[0], &up[0], len(gate))
}

func ropePairsBodyAVX512(x, cos, sin []float32) {
	h := len(cos)
	if h == 0 {
		return
	}
	x, sin = x[:2*h], sin[:h]
	ropePairsAVX512(&x[0], &cos[0], &sin[0], h)
}

func ropeHalvesBodyAVX512(x, cos, sin []float32) {
	h := len(cos)
	if h == 0 {
		return
	}
	lo, hi, sin := x[:h], x[h:2*h], sin[:h]
	ropeHalvesAVX512(&lo[0], &hi[0], &cos[0], &sin[0], h)
}

func f16ToF32BodyAVX512(dst []float32, src []uint16) {
	if len(dst) == 0 {
		return
	}
	src = src[:len(dst)]
	f16ToF32AVX512(&dst[0], &src[0], len(dst))
}

func bf16ToF32BodyAVX512(dst []float32, src []uint16) {
	if len(dst) == 0 {
		return
	}
	src = src[:len(dst)]
	bf16ToF32AVX512(&dst[0], &src[0], len(dst))
}

func f32ToF16BodyAVX512(dst []uint16, src []float32) {
	if len(dst) == 0 {
		return
	}
	src = src[:len(dst)]
	f32ToF16AVX512(&dst[0], &src[0], len(dst))
}

func f32ToBF16BodyAVX512(dst []uint16, src []float32) {
	if len(dst) == 0 {
		return
	}
	src = src[:len(dst)]
	f32ToBF16AVX512(&dst[0], &src[0], len(dst))
}

// AVX2 wrappers: whole vectors in assembly, the tail here.

func dotBodyAVX2(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s float32
	if v := n &^ 7; v > 0 {
		s = dotAVX2(&a[0], &b[0], v)
	}
	for i := n &^ 7; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}

func axpyBodyAVX2(alpha float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	v := n &^ 7
	if v > 0 {
		axpyAVX2(alpha, &x[0], &y[0], v)
	}
	axpyGeneric(alpha, x[v:], y[v:])
}

func scaleBodyAVX2(alpha float32, x []float32) {
	v := len(x) &^ 7
	if v > 0 {
		scaleAVX2(alpha, &x[0], v)
	}
	scaleGeneric(alpha, x[v:])
}

func addBodyAVX2(dst, x []float32) {
	n := len(dst)
	x = x[:n]
	v := n &^ 7
	if v > 0 {
		addAVX2(&dst[0], &x[0], v)
	}
	addGeneric(dst[v:], x[v:])
}

func mulBodyAVX2(dst, x []float32) {
	n := len(dst)
	x = x[:n]
	v := n &^ 7
	if v > 0 {
		mulAVX2(&dst[0], &x[0], v)
	}
	mulGeneric(dst[v:], x[v:])
}

func rmsNormAVX2(dst, x, w []float32, eps float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	x, w = x[:n], w[:n]
	v := n &^ 7
	var sum float64
	if v > 0 {
		sum = sumSquaresAVX2(&x[0], v)
	}
	for _, e := range x[v:] {
		sum += float64(e * e)
	}
	s := rmsScale(sum, n, eps)
	if v > 0 {
		scaleMulAVX2(&dst[0], &x[0], &w[0], s, v)
	}
	for i := v; i < n; i++ {
		dst[i] = float32(x[i]*s) * w[i]
	}
}

func softmaxAVX2(x []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	v := n &^ 7
	mx := float32(math.Inf(-1))
	if v > 0 {
		mx = maxAVX2(&x[0], v)
	}
	for _, e := range x[v:] {
		mx = max(mx, e)
	}
	var sum float64
	if v > 0 {
		sum = expSumAVX2(&x[0], mx, v)
	}
	for i := v; i < n; i++ {
		e := expf(x[i] - mx)
		x[i] = e
		sum += float64(e)
	}
	scaleBodyAVX2(float32(1/sum), x)
}

func siluMulBodyAVX2(gate, up []float32) {
	n := len(gate)
	up = up[:n]
	v := n &^ 7
	if v > 0 {
		siluMulAVX2(&gate[0], &up[0], v)
	}
	siluMulGeneric(gate[v:], up[v:])
}

func ropePairsBodyAVX2(x, cos, sin []float32) {
	h := len(cos)
	x, sin = x[:2*h], sin[:h]
	v := h &^ 3
	if v > 0 {
		ropePairsAVX2(&x[0], &cos[0], &sin[0], v)
	}
	ropePairsGeneric(x[2*v:], cos[v:], sin[v:])
}

func ropeHalvesBodyAVX2(x, cos, sin []float32) {
	h := len(cos)
	lo, hi, sin := x[:h], x[h:2*h], sin[:h]
	v := h &^ 7
	if v > 0 {
		ropeHalvesAVX2(&lo[0], &hi[0], &cos[0], &sin[0], v)
	}
	for i := v; i < h; i++ {
		c, s := cos[i], sin[i]
		x0, x1 := lo[i], hi[i]
		lo[i] = float32(x0*c) - float32(x1*s)
		hi[i] = float32(x0*s) + float32(x1*c)
	}
}

func f16ToF32BodyAVX2(dst []float32, src []uint16) {
	n := len(dst)
	src = src[:n]
	v := n &^ 7
	if v > 0 {
		f16ToF32AVX2(&dst[0], &src[0], v)
	}
	f16ToF32Generic(dst[v:], src[v:])
}

func bf16ToF32BodyAVX2(dst []float32, src []uint16) {
	n := len(dst)
	src = src[:n]
	v := n &^ 7
	if v > 0 {
		bf16ToF32AVX2(&dst[0], &src[0], v)
	}
	bf16ToF32Generic(dst[v:], src[v:])
}

func f32ToF16BodyAVX2(dst []uint16, src []float32) {
	n := len(dst)
	src = src[:n]
	v := n &^ 7
	if v > 0 {
		f32ToF16AVX2(&dst[0], &src[0], v)
	}
	f32ToF16Generic(dst[v:], src[v:])
}

func f32ToBF16BodyAVX2(dst []uint16, src []float32) {
	n := len(dst)
	src = src[:n]
	v := n &^ 7
	if v > 0 {
		f32ToBF16AVX2(&dst[0], &src[0], v)
	}
	f32ToBF16Generic(dst[v:], src[v:])
}

// Assembly, ops_avx512_amd64.s.

//go:noescape
func dotAVX512(a, b *float32, n int) float32

//go:noescape
func axpyAVX512(alpha float32, x, y *float32, n int)

//go:noescape
func scaleAVX512(alpha float32, x *float32, n int)

//go:noescape
func addAVX512(dst, x *float32, n int)

//go:noescape
func mulAVX512(dst, x *float32, n int)

//go:noescape
func sumSquaresAVX512(x *float32, n int) float64

//go:noescape
func scaleMulAVX512(dst, x, w *float32, s float32, n int)

//go:noescape
func maxAVX512(x *float32, n int) float32

//go:noescape
func expSumAVX512(x *float32, mx float32, n int) float64

//go:noescape
func siluMulAVX512(gate, up *float32, n int)

//go:noescape
func ropePairsAVX512(x, cos, sin *float32, n int)

//go:noescape
func ropeHalvesAVX512(lo, hi, cos, sin *float32, n int)

//go:noescape
func f16ToF32AVX512(dst *float32, src *uint16, n int)

//go:noescape
func bf16ToF32AVX512(dst *float32, src *uint16, n int)

//go:noescape
func f32ToF16AVX512(dst *uint16, src *float32, n int)

//go:noescape
func f32ToBF16AVX512(dst *uint16, src *float32, n int)

// Assembly, ops_avx2_amd64.s.

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func scaleAVX2(alpha float32, x *float32, n int)

//go:noescape
func addAVX2(dst, x *float32, n int)

//go:noescape
func mulAVX2(dst, x *float32, n int)

//go:noescape
func sumSquaresAVX2(x *float32, n int) float64

//go:noescape
func scaleMulAVX2(dst, x, w *float32, s float32, n int)

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func expSumAVX2(x *float32, mx float32, n int) float64

//go:noescape
func siluMulAVX2(gate, up *float32, n int)

//go:noescape
func ropePairsAVX2(x, cos, sin *float32, n int)

//go:noescape
func ropeHalvesAVX2(lo, hi, cos, sin *float32, n int)

//go:noescape
func f16ToF32AVX2(dst *float32, src *uint16, n int)

//go:noescape
func bf16ToF32AVX2(dst *float32, src *uint16, n int)

//go:noescape
func f32ToF16AVX2(dst *uint16, src *float32, n int)

//go:noescape
func f32ToBF16AVX2(dst *uint16, src *float32, n int)
