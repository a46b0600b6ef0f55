package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// F16ToF32 converts IEEE half-precision values to float32: exact for every
// number, subnormals and infinities included; NaNs keep their payload and
// come out quiet.
// len(dst) must equal len(src).
func F16ToF32(dst []float32, src []uint16) {
	mustLen("F16ToF32", len(dst), len(src))
	active.f16ToF32(dst, src)
}

// BF16ToF32 converts bfloat16 values to float32 (exact).
// len(dst) must equal len(src).
func BF16ToF32(dst []float32, src []uint16) {
	mustLen("BF16ToF32", len(dst), len(src))
	active.bf16ToF32(dst, src)
}

// F32ToF16 converts float32 values to IEEE half precision, rounding to
// nearest even; overflow gives ±Inf, NaN gives 0x7E00 with the sign kept,
// bit-identical with ggml's GGML_FP32_TO_FP16. len(dst) must equal len(src).
func F32ToF16(dst []uint16, src []float32) {
	mustLen("F32ToF16", len(dst), len(src))
	active.f32ToF16(dst, src)
}

// F32ToBF16 converts float32 values to bfloat16, rounding to nearest even;
// NaN stays a (quiet) NaN, as ggml's GGML_FP32_TO_BF16. len(dst) must equal
// len(src).
func F32ToBF16(dst []uint16, src []float32) {
	mustLen("F32ToBF16", len(dst), len(src))
	active.f32ToBF16(dst, src)
}

// HalfToFloat converts one IEEE half-precision value to float32 (exact).
func HalfToFloat(h uint16) float32 { return f16ToF32(h) }

// FloatToHalf converts one float32 to IEEE half precision as F32ToF16 does.
func FloatToHalf(f float32) uint16 { return f32ToF16(f) }

// f16ToF32 is the scalar conversion (exact; NaNs quieted). Normal numbers
// are re-biased in place; zeros, subnormals, infinities and NaNs (exponent 0
// or 31) come from a small table, which keeps the function cheap enough to
// inline into the dot loops.
func f16ToF32(h uint16) float32 {
	em := uint32(h) & 0x7fff
	bits := em<<13 + 112<<23
	if em-0x0400 >= 0x7800 {
		bits = f16Rare[(em>>4)&0x400|em&0x3ff]
	}
	return math.Float32frombits(uint32(h&0x8000)<<16 | bits)
}

// f16Rare holds the float32 bits of the halves with exponent 0 (index =
// mantissa) and exponent 31 (index = 1024 + mantissa), sign clear.
var f16Rare = func() (t [2048]uint32) {
	for m := uint32(0); m < 1024; m++ {
		// Subnormal (or zero): m·2⁻²⁴ is exact in float32.
		t[m] = math.Float32bits(float32(m) * 0x1p-24)
		t[1024+m] = 0x7f800000 | m<<13
		if m != 0 {
			// NaN: quieted, as F16C's VCVTPH2PS and ggml's conversion do.
			t[1024+m] |= 0x00400000
		}
	}
	return t
}()

// f32ToF16 is ggml's ggml_compute_fp32_to_fp16 (from the FP16 library of
// M. Dukhan): scaling by 2¹¹² and 2⁻¹¹⁰ lets one float addition round the
// mantissa to 10 bits, nearest even, subnormals included.
func f32ToF16(f float32) uint16 {
	w := math.Float32bits(f)
	base := float32(math.Float32frombits(w&0x7fffffff)*0x1p112) * 0x1p-110
	shl1w := w + w
	sign := w & 0x80000000
	bias := shl1w & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits((bias>>1)+0x07800000) + base
	bits := math.Float32bits(base)
	nonsign := (bits>>13)&0x7c00 + bits&0x0fff
	if shl1w > 0xff000000 {
		return uint16(sign>>16) | 0x7e00
	}
	return uint16(sign>>16 | nonsign)
}

func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// f32ToBF16 is ggml's ggml_compute_fp32_to_bf16.
func f32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + (0x7fff + (u>>16)&1)) >> 16)
}

func f16ToF32Generic(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = f16ToF32(h)
	}
}

func bf16ToF32Generic(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

func f32ToF16Generic(dst []uint16, src []float32) {
	src = src[:len(dst)]
	for i, f := range src {
		dst[i] = f32ToF16(f)
	}
}

func f32ToBF16Generic(dst []uint16, src []float32) {
	src = src[:len(dst)]
	for i, f := range src {
		dst[i] = f32ToBF16(f)
	}
}

// Little-endian field readers for block layouts.

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// half reads a little-endian f16 and converts it.
func half(b []byte) float32 { return f16ToF32(binary.LittleEndian.Uint16(b)) }

// f32le reads a little-endian float32.
func f32le(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// viewF32 returns the first n float32 values of b, a row of little-endian
// float32, without copying when the host allows unaligned little-endian
// loads; otherwise it decodes into tmp (len ≥ n).
func viewF32(b []byte, n int, tmp []float32) []float32 {
	if n == 0 {
		return nil
	}
	_ = b[4*n-1]
	if unalignedLE {
		return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), n)
	}
	for i := range tmp[:n] {
		tmp[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return tmp[:n]
}

// viewU16 is viewF32 for rows of 16-bit values (f16, bf16).
func viewU16(b []byte, n int, tmp []uint16) []uint16 {
	if n == 0 {
		return nil
	}
	_ = b[2*n-1]
	if unalignedLE {
		return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), n)
	}
	for i := range tmp[:n] {
		tmp[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return tmp[:n]
}
