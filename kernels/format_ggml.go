package kernels

import (
	"encoding/binary"
	"math"
)

// The ggml 32-value block formats (ggml-common.h) and their activation
// formats q8_0 and q8_1. Decoders follow ggml's dequantize_row_* and the
// activation quantizers quantize_row_q8_0_ref / q8_1_ref bit for bit; the
// W·A8 dots follow ggml_vec_dot_*_generic, integer sums per block and then
// the float products in the order that code uses. Explicit float32(…)
// conversions around products keep the compiler from fusing a multiply and
// an add into one FMA (the Go spec allows fusion otherwise, and arm64 does
// it), which would change the last bit.

const qk = 32 // values per block of the 32-block formats

var formatQ8_0 = &Format{
	Name: "q8_0", GGML: 8, Block: qk, BlockBytes: 34, Bits: 8.5,
	RowBytes: func(n int) int { return n / qk * 34 },
	Act:      actQ8_0,
	family:   "q8_0", checkCols: wholeBlocks("q8_0", qk),
	generic: formatTable{dequant: dequantQ8_0, dot: dotQ8_0, dotAct: dotActQ8_0},
}

var formatQ4_0 = &Format{
	Name: "q4_0", GGML: 2, Block: qk, BlockBytes: 18, Bits: 4.5,
	RowBytes: func(n int) int { return n / qk * 18 },
	Act:      actQ8_0,
	family:   "q4_0", checkCols: wholeBlocks("q4_0", qk),
	generic: formatTable{dequant: dequantQ4_0, dot: dotQ4_0, dotAct: dotActQ4_0},
}

var formatQ4_1 = &Format{
	Name: "q4_1", GGML: 3, Block: qk, BlockBytes: 20, Bits: 5,
	RowBytes: func(n int) int { return n / qk * 20 },
	Act:      actQ8_1,
	family:   "q4_1", checkCols: wholeBlocks("q4_1", qk),
	generic: formatTable{dequant: dequantQ4_1, dot: dotQ4_1, dotAct: dotActQ4_1},
}

var formatQ5_0 = &Format{
	Name: "q5_0", GGML: 6, Block: qk, BlockBytes: 22, Bits: 5.5,
	RowBytes: func(n int) int { return n / qk * 22 },
	Act:      actQ8_0,
	family:   "q5_0", checkCols: wholeBlocks("q5_0", qk),
	generic: formatTable{dequant: dequantQ5_0, dot: dotQ5_0, dotAct: dotActQ5_0},
}

var formatQ5_1 = &Format{
	Name: "q5_1", GGML: 7, Block: qk, BlockBytes: 24, Bits: 6,
	RowBytes: func(n int) int { return n / qk * 24 },
	Act:      actQ8_1,
	family:   "q5_1", checkCols: wholeBlocks("q5_1", qk),
	generic: formatTable{dequant: dequantQ5_1, dot: dotQ5_1, dotAct: dotActQ5_1},
}

// actQ8_0 is ggml's block_q8_0: d f16, qs[32] int8 (34 bytes per 32 values).
var actQ8_0 = &ActFormat{
	Name:     "q8_0",
	RowBytes: func(n int) int { return n / qk * 34 },
	family:   "q8_0",
	generic:  quantizeQ8_0,
	dequant: func(dst []float32, src []byte, n int) {
		dequantQ8_0(dst[:n], src)
	},
}

// actQ8_1 is ggml's block_q8_1: d f16, s f16 (= d·Σq), qs[32] int8 (36 bytes).
var actQ8_1 = &ActFormat{
	Name:     "q8_1",
	RowBytes: func(n int) int { return n / qk * 36 },
	family:   "q8_1",
	generic:  quantizeQ8_1,
	dequant: func(dst []float32, src []byte, n int) {
		for i := 0; i < n/qk; i++ {
			b := src[i*36 : i*36+36]
			d := half(b)
			for j := 0; j < qk; j++ {
				dst[i*qk+j] = float32(int8(b[4+j])) * d
			}
		}
	},
}

// roundAway is C's roundf: nearest integer, halves away from zero.
func roundAway(v float32) float32 { return float32(math.Round(float64(v))) }

// amax32 returns max |x_j| of a block, as MAX(amax, fabsf(v)) does.
func amax32(x []float32) float32 {
	var amax float32
	for _, v := range x {
		a := float32(math.Abs(float64(v)))
		if a > amax {
			amax = a
		}
	}
	return amax
}

// quantizeQ8_0 is quantize_row_q8_0_ref: d = amax/127 in float32, the stored
// scale is f16(d), and q = roundf(x·(1/d)) with 1/d from the unrounded d.
// (llama.cpp's x86 SIMD quantize_row_q8_0 differs slightly: it scales by
// 127/amax and rounds ties to even, so a q can differ by one where x·id is
// within an ulp of a half; the reference is what ggml's generic build and
// the "ref" functions compute.)
func quantizeQ8_0(dst []byte, x []float32) {
	for i := 0; i < len(x)/qk; i++ {
		xb := x[i*qk : i*qk+qk]
		b := dst[i*34 : i*34+34]
		d := amax32(xb) / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(b, f32ToF16(d))
		q := b[2:34]
		for j, v := range xb {
			q[j] = byte(int8(roundAway(v * id)))
		}
	}
}

// quantizeQ8_1 is quantize_row_q8_1_ref: as q8_0, plus s = f16(Σq·d).
func quantizeQ8_1(dst []byte, x []float32) {
	for i := 0; i < len(x)/qk; i++ {
		xb := x[i*qk : i*qk+qk]
		b := dst[i*36 : i*36+36]
		d := amax32(xb) / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		q := b[4:36]
		sum := 0
		for j, v := range xb {
			qj := int8(roundAway(v * id))
			q[j] = byte(qj)
			sum += int(qj)
		}
		binary.LittleEndian.PutUint16(b, f32ToF16(d))
		binary.LittleEndian.PutUint16(b[2:], f32ToF16(float32(sum)*d))
	}
}

// Decoders: dequantize_row_q8_0 / q4_0 / q4_1 / q5_0 / q5_1.

func dequantQ8_0(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qk; i++ {
		b := src[i*34 : i*34+34]
		d := half(b)
		y := dst[i*qk : i*qk+qk]
		q := b[2:34]
		for j := range y {
			y[j] = float32(int8(q[j])) * d
		}
	}
}

func dequantQ4_0(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qk; i++ {
		b := src[i*18 : i*18+18]
		d := half(b)
		y := dst[i*qk : i*qk+qk]
		q := b[2:18]
		for j, v := range q {
			y[j] = float32(int(v&0x0f)-8) * d
			y[j+16] = float32(int(v>>4)-8) * d
		}
	}
}

func dequantQ4_1(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qk; i++ {
		b := src[i*20 : i*20+20]
		d, m := half(b), half(b[2:])
		y := dst[i*qk : i*qk+qk]
		q := b[4:20]
		for j, v := range q {
			y[j] = float32(float32(v&0x0f)*d) + m
			y[j+16] = float32(float32(v>>4)*d) + m
		}
	}
}

func dequantQ5_0(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qk; i++ {
		b := src[i*22 : i*22+22]
		d := half(b)
		qh := le32(b[2:])
		y := dst[i*qk : i*qk+qk]
		q := b[6:22]
		for j, v := range q {
			h0 := (qh >> uint(j) << 4) & 0x10
			h1 := (qh >> uint(j+12)) & 0x10
			y[j] = float32(int32(uint32(v&0x0f)|h0)-16) * d
			y[j+16] = float32(int32(uint32(v>>4)|h1)-16) * d
		}
	}
}

func dequantQ5_1(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qk; i++ {
		b := src[i*24 : i*24+24]
		d, m := half(b), half(b[2:])
		qh := le32(b[4:])
		y := dst[i*qk : i*qk+qk]
		q := b[8:24]
		for j, v := range q {
			h0 := (qh >> uint(j) << 4) & 0x10
			h1 := (qh >> uint(j+12)) & 0x10
			y[j] = float32(float32(uint32(v&0x0f)|h0)*d) + m
			y[j+16] = float32(float32(uint32(v>>4)|h1)*d) + m
		}
	}
}

// Weight-only dots with float32 activations (no ggml counterpart: ggml
// always quantizes the activations). Per block, Σ q_j·x_j is summed in
// float32 in the order j = 0…15 (low nibbles with x[j]) interleaved with the
// high nibbles (x[j+16]), then scaled once: sum += d·Σ (+ m·Σx for the
// offset formats).

func dotQ8_0(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qk; i++ {
		b := w[i*34 : i*34+34]
		xb := x[i*qk : i*qk+qk]
		q := b[2:34]
		var s0, s1 float32
		for j := 0; j < qk; j += 2 {
			s0 += float32(int8(q[j])) * xb[j]
			s1 += float32(int8(q[j+1])) * xb[j+1]
		}
		sum += float32(half(b) * (s0 + s1))
	}
	return sum
}

func dotQ4_0(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qk; i++ {
		b := w[i*18 : i*18+18]
		xb := x[i*qk : i*qk+qk]
		q := b[2:18]
		var s0, s1 float32
		for j, v := range q {
			s0 += float32(int(v&0x0f)-8) * xb[j]
			s1 += float32(int(v>>4)-8) * xb[j+16]
		}
		sum += float32(half(b) * (s0 + s1))
	}
	return sum
}

func dotQ4_1(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qk; i++ {
		b := w[i*20 : i*20+20]
		xb := x[i*qk : i*qk+qk]
		q := b[4:20]
		var s0, s1, sx float32
		for j, v := range q {
			s0 += float32(v&0x0f) * xb[j]
			s1 += float32(v>>4) * xb[j+16]
			sx += xb[j] + xb[j+16]
		}
		sum += float32(float32(half(b)*(s0+s1)) + float32(half(b[2:])*sx))
	}
	return sum
}

func dotQ5_0(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qk; i++ {
		b := w[i*22 : i*22+22]
		xb := x[i*qk : i*qk+qk]
		qh := le32(b[2:])
		q := b[6:22]
		var s0, s1 float32
		for j, v := range q {
			h0 := (qh >> uint(j) << 4) & 0x10
			h1 := (qh >> uint(j+12)) & 0x10
			s0 += float32(int32(uint32(v&0x0f)|h0)-16) * xb[j]
			s1 += float32(int32(uint32(v>>4)|h1)-16) * xb[j+16]
		}
		sum += float32(half(b) * (s0 + s1))
	}
	return sum
}

func dotQ5_1(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qk; i++ {
		b := w[i*24 : i*24+24]
		xb := x[i*qk : i*qk+qk]
		qh := le32(b[4:])
		q := b[8:24]
		var s0, s1, sx float32
		for j, v := range q {
			h0 := (qh >> uint(j) << 4) & 0x10
			h1 := (qh >> uint(j+12)) & 0x10
			s0 += float32(uint32(v&0x0f)|h0) * xb[j]
			s1 += float32(uint32(v>>4)|h1) * xb[j+16]
			sx += xb[j] + xb[j+16]
		}
		sum += float32(float32(half(b)*(s0+s1)) + float32(half(b[2:])*sx))
	}
	return sum
}

// W·A8 dots: ggml_vec_dot_{q8_0,q4_0,q5_0}_q8_0_generic and
// ggml_vec_dot_{q4_1,q5_1}_q8_1_generic.

func dotActQ8_0(w, xq []byte, n int) float32 {
	var sumf float32
	for i := 0; i < n/qk; i++ {
		b := w[i*34 : i*34+34]
		y := xq[i*34 : i*34+34]
		q, p := b[2:34], y[2:34]
		var sumi int32
		for j := range q {
			sumi += int32(int8(q[j])) * int32(int8(p[j]))
		}
		// sumi*(dx*dy)
		sumf += float32(float32(sumi) * float32(half(b)*half(y)))
	}
	return sumf
}

func dotActQ4_0(w, xq []byte, n int) float32 {
	var sumf float32
	for i := 0; i < n/qk; i++ {
		b := w[i*18 : i*18+18]
		y := xq[i*34 : i*34+34]
		q, p := b[2:18], y[2:34]
		var s0, s1 int32
		for j, v := range q {
			s0 += (int32(v&0x0f) - 8) * int32(int8(p[j]))
			s1 += (int32(v>>4) - 8) * int32(int8(p[j+16]))
		}
		// sumi*dx*dy, left to right
		sumf += float32(float32(float32(s0+s1)*half(b)) * half(y))
	}
	return sumf
}

func dotActQ5_0(w, xq []byte, n int) float32 {
	var sumf float32
	for i := 0; i < n/qk; i++ {
		b := w[i*22 : i*22+22]
		y := xq[i*34 : i*34+34]
		qh := le32(b[2:])
		q, p := b[6:22], y[2:34]
		var s0, s1 int32
		for j, v := range q {
			h0 := (qh >> uint(j) << 4) & 0x10
			h1 := (qh >> uint(j+12)) & 0x10
			s0 += (int32(uint32(v&0x0f)|h0) - 16) * int32(int8(p[j]))
			s1 += (int32(uint32(v>>4)|h1) - 16) * int32(int8(p[j+16]))
		}
		// (dx*dy)*sumi
		sumf += float32(float32(half(b)*half(y)) * float32(s0+s1))
	}
	return sumf
}

func dotActQ4_1(w, xq []byte, n int) float32 {
	var sumf float32
	for i := 0; i < n/qk; i++ {
		b := w[i*20 : i*20+20]
		y := xq[i*36 : i*36+36]
		q, p := b[4:20], y[4:36]
		var s0, s1 int32
		for j, v := range q {
			s0 += int32(v&0x0f) * int32(int8(p[j]))
			s1 += int32(v>>4) * int32(int8(p[j+16]))
		}
		// (dx*dy)*sumi + m*s
		sumf += float32(float32(float32(half(b)*half(y))*float32(s0+s1)) + float32(half(b[2:])*half(y[2:])))
	}
	return sumf
}

func dotActQ5_1(w, xq []byte, n int) float32 {
	var sumf float32
	for i := 0; i < n/qk; i++ {
		b := w[i*24 : i*24+24]
		y := xq[i*36 : i*36+36]
		qh := le32(b[4:])
		q, p := b[8:24], y[4:36]
		var s0, s1 int32
		for j, v := range q {
			h0 := (qh >> uint(j) << 4) & 0x10
			h1 := (qh >> uint(j+12)) & 0x10
			s0 += int32(uint32(v&0x0f)|h0) * int32(int8(p[j]))
			s1 += int32(uint32(v>>4)|h1) * int32(int8(p[j+16]))
		}
		sumf += float32(float32(float32(half(b)*half(y))*float32(s0+s1)) + float32(half(b[2:])*half(y[2:])))
	}
	return sumf
}
