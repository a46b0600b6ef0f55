package quant

import "math"

// Reference float16 and bfloat16 conversions, written from IEEE 754 rather
// than from ggml's bit tricks: round to nearest, ties to even, overflow to
// ±Inf, NaN kept as a quiet NaN. The tests hold kernels' conversions (which
// the quantizers use, and which must equal GGML_FP32_TO_FP16 and
// GGML_FP32_TO_BF16) to these.

// f32ToF16 converts x to IEEE binary16 bits with round-to-nearest-even.
func f32ToF16(x float32) uint16 {
	b := math.Float32bits(x)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp > 127+15: // too large: Inf
		return sign | 0x7c00
	case exp >= 127-14: // normal range of binary16
		e := uint32(exp - 127 + 15)
		v := e<<10 | man>>13
		rest := man & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && v&1 == 1) {
			v++ // may carry into the exponent, up to Inf: still correct
		}
		return sign | uint16(v)
	case exp < 127-25: // below half the smallest subnormal
		return sign
	default: // subnormal binary16
		m := man | 0x800000
		shift := uint(127 - 14 - exp + 13) // 14..24
		v := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && v&1 == 1) {
			v++
		}
		return sign | uint16(v)
	}
}

// f16ToF32 converts binary16 bits to float32 (exact).
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	default: // subnormal: man · 2^-24
		v := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
}

// f32ToBF16 converts x to bfloat16 bits with round-to-nearest-even; NaN
// stays a (quiet) NaN.
func f32ToBF16(x float32) uint16 {
	b := math.Float32bits(x)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// bf16ToF32 converts bfloat16 bits to float32 (exact).
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }
