package quant

import (
	"encoding/binary"
	"math"

	"github.com/divergo/divergo/kernels"
)

// Ports of ggml's reference quantizers for the 32-value block formats
// (quantize_row_q8_0_ref … quantize_row_q5_1_ref in ggml/src/ggml-quants.c,
// which llama-quantize uses when no importance matrix is given). The
// arithmetic is float32 in ggml's order; explicit float32(…) conversions
// keep the Go compiler from fusing a product into a following addition
// (a fused multiply-add would round differently from ggml's x86 build).

const qk = 32 // values per block of the 32-block formats

// putF16 stores v as float16, rounded as GGML_FP32_TO_FP16 does.
func putF16(b []byte, v float32) { binary.LittleEndian.PutUint16(b, kernels.FloatToHalf(v)) }

// getF16 reads a float16.
func getF16(b []byte) float32 { return kernels.HalfToFloat(binary.LittleEndian.Uint16(b)) }

// inv returns 1/d, or 0 when d is 0 (ggml: `d ? 1.0f/d : 0.0f`). When 1/d
// overflows (d below 2^-128, whose float16 rounding is 0 anyway) it returns
// 0 too: ggml would compute x·Inf here, which is undefined behaviour in C.
func inv(d float32) float32 {
	if d == 0 {
		return 0
	}
	id := 1 / d
	if math.IsInf(float64(id), 0) {
		return 0
	}
	return id
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// roundf rounds half away from zero, like C roundf.
func roundf(x float32) float32 { return float32(math.Round(float64(x))) }

// quantRowQ8_0 is quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d).
func quantRowQ8_0(dst []byte, x []float32) {
	for i := 0; i < len(x)/qk; i++ {
		xb, b := x[i*qk:(i+1)*qk], dst[i*34:(i+1)*34]
		var amax float32
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		id := inv(d)
		putF16(b, d)
		for j, v := range xb {
			b[2+j] = byte(int8(roundf(v * id)))
		}
	}
}

// absMaxSigned returns the value of largest magnitude with its sign (the
// first one on ties), as the q4_0/q5_0 quantizers pick it.
func absMaxSigned(xb []float32) float32 {
	var amax, mx float32
	for _, v := range xb {
		if amax < abs32(v) {
			amax = abs32(v)
			mx = v
		}
	}
	return mx
}

// quantRowQ4_0 is quantize_row_q4_0_ref: d = max/−8 (max keeps its sign),
// q = min(15, trunc(x/d + 8.5)), so the extreme value maps to nibble 0.
func quantRowQ4_0(dst []byte, x []float32) {
	for i := 0; i < len(x)/qk; i++ {
		xb, b := x[i*qk:(i+1)*qk], dst[i*18:(i+1)*18]
		d := absMaxSigned(xb) / -8
		id := inv(d)
		putF16(b, d)
		for j := 0; j < qk/2; j++ {
			x0 := float32(xb[j] * id)
			x1 := float32(xb[qk/2+j] * id)
			xi0 := min(15, int32(x0+8.5))
			xi1 := min(15, int32(x1+8.5))
			b[2+j] = byte(xi0) | byte(xi1)<<4
		}
	}
}

// minMax returns the smallest and largest value as ggml's q4_1/q5_1 loops find them.
func minMax(xb []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range xb {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// quantRowQ4_1 is quantize_row_q4_1_ref: d = (max−min)/15, m = min,
// q = min(15, trunc((x−min)/d + 0.5)).
func quantRowQ4_1(dst []byte, x []float32) {
	for i := 0; i < len(x)/qk; i++ {
		xb, b := x[i*qk:(i+1)*qk], dst[i*20:(i+1)*20]
		lo, hi := minMax(xb)
		d := (hi - lo) / 15
		id := inv(d)
		putF16(b, d)
		putF16(b[2:], lo)
		for j := 0; j < qk/2; j++ {
			x0 := float32((xb[j] - lo) * id)
			x1 := float32((xb[qk/2+j] - lo) * id)
			xi0 := min(15, int32(x0+0.5))
			xi1 := min(15, int32(x1+0.5))
			b[4+j] = byte(xi0) | byte(xi1)<<4
		}
	}
}

// quantRowQ5_0 is quantize_row_q5_0_ref: d = max/−16, q = min(31,
// trunc(x/d + 16.5)); low nibbles in qs, fifth bits in the 32-bit qh.
func quantRowQ5_0(dst []byte, x []float32) {
	for i := 0; i < len(x)/qk; i++ {
		xb, b := x[i*qk:(i+1)*qk], dst[i*22:(i+1)*22]
		d := absMaxSigned(xb) / -16
		id := inv(d)
		putF16(b, d)
		var qh uint32
		for j := 0; j < qk/2; j++ {
			x0 := float32(xb[j] * id)
			x1 := float32(xb[qk/2+j] * id)
			xi0 := uint32(min(31, int32(x0+16.5)))
			xi1 := uint32(min(31, int32(x1+16.5)))
			b[6+j] = byte(xi0&0x0f) | byte(xi1&0x0f)<<4
			qh |= (xi0 & 0x10) >> 4 << j
			qh |= (xi1 & 0x10) >> 4 << (j + qk/2)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

// quantRowQ5_1 is quantize_row_q5_1_ref: d = (max−min)/31, m = min,
// q = trunc((x−min)/d + 0.5).
func quantRowQ5_1(dst []byte, x []float32) {
	for i := 0; i < len(x)/qk; i++ {
		xb, b := x[i*qk:(i+1)*qk], dst[i*24:(i+1)*24]
		lo, hi := minMax(xb)
		d := (hi - lo) / 31
		id := inv(d)
		putF16(b, d)
		putF16(b[2:], lo)
		var qh uint32
		for j := 0; j < qk/2; j++ {
			x0 := float32((xb[j] - lo) * id)
			x1 := float32((xb[qk/2+j] - lo) * id)
			xi0 := uint32(uint8(int32(x0 + 0.5)))
			xi1 := uint32(uint8(int32(x1 + 0.5)))
			b[8+j] = byte(xi0&0x0f) | byte(xi1&0x0f)<<4
			qh |= (xi0 & 0x10) >> 4 << j
			qh |= (xi1 & 0x10) >> 4 << (j + qk/2)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}
