package kernels

import "math"

// Plain-Go reference bodies of the vector ops. Each is the definition the
// SIMD bodies are tested against; see opTable for the contracts.

func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		aa := a[i : i+4 : i+4]
		bb := b[i : i+4 : i+4]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += float32(alpha * v)
	}
}

func scaleGeneric(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

func addGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

func mulGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] *= x[i]
	}
}

// rmsNormScale returns ggml's 1/sqrtf(mean(x²)+eps).
func rmsNormScale(x []float32, eps float32) float32 {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	return 1 / float32(math.Sqrt(float64(mean+eps)))
}

func rmsNormGeneric(dst, x, w []float32, eps float32) {
	s := rmsNormScale(x, eps)
	x = x[:len(dst)]
	w = w[:len(dst)]
	for i := range dst {
		dst[i] = float32(x[i]*s) * w[i]
	}
}

// expf is C's expf for float32: the float64 exponential rounded once.
func expf(v float32) float32 { return float32(math.Exp(float64(v))) }

func softmaxGeneric(x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		e := expf(v - mx)
		x[i] = e
		sum += float64(e)
	}
	s := float32(1 / sum)
	for i := range x {
		x[i] *= s
	}
}

func siluMulGeneric(gate, up []float32) {
	up = up[:len(gate)]
	for i, v := range gate {
		gate[i] = float32(v/(1+expf(-v))) * up[i]
	}
}

// ropePairsGeneric is ggml's rope (mode NORM) on one head: for each pair,
// x0·c − x1·s and x0·s + x1·c with each product rounded to float32.
func ropePairsGeneric(x, cos, sin []float32) {
	x = x[:2*len(cos)]
	sin = sin[:len(cos)]
	for i, c := range cos {
		s := sin[i]
		x0, x1 := x[2*i], x[2*i+1]
		x[2*i] = float32(x0*c) - float32(x1*s)
		x[2*i+1] = float32(x0*s) + float32(x1*c)
	}
}

// ropeHalvesGeneric is ggml's rope (mode NEOX) / HF's rotate_half on one head.
func ropeHalvesGeneric(x, cos, sin []float32) {
	h := len(cos)
	lo, hi := x[:h], x[h:2*h]
	sin = sin[:h]
	for i, c := range cos {
		s := sin[i]
		x0, x1 := lo[i], hi[i]
		lo[i] = float32(x0*c) - float32(x1*s)
		hi[i] = float32(x0*s) + float32(x1*c)
	}
}
