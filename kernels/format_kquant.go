package kernels

import (
	"encoding/binary"
	"math"
)

// The ggml k-quants (256-value super-blocks, ggml-common.h) and their
// activation format q8_K. Byte layouts, offsets in a block:
//
//	q2_K (84):  scales[16] (low nibble scale, high nibble min) @0, qs[64] @16, d f16 @80, dmin f16 @82
//	q3_K (110): hmask[32] @0, qs[64] @32, scales[12] (6-bit, packed) @96, d f16 @108
//	q4_K (144): d f16 @0, dmin f16 @2, scales[12] (6-bit scale+min ×8) @4, qs[128] @16
//	q5_K (176): d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48
//	q6_K (210): ql[128] @0, qh[64] @128, scales[16] int8 @192, d f16 @208
//	q8_K (292): d f32 @0, qs[256] int8 @4, bsums[16] int16 @260
//
// Decoders follow ggml's dequantize_row_q{2..6}_K, the quantizer
// quantize_row_q8_K_ref and the dots ggml_vec_dot_q{2..6}_K_q8_K_generic:
// integer sums per sub-block, then per super-block float terms in ggml's
// order, with the q3_K…q6_K dots keeping ggml's eight float lanes (sums[l]
// over the values whose index is l mod 8) added to the total at the end.

const qkK = 256 // values per k-quant super-block

var formatQ2K = &Format{
	Name: "q2_k", GGML: 10, Block: qkK, BlockBytes: 84, Bits: 2.625,
	RowBytes: func(n int) int { return n / qkK * 84 },
	Act:      actQ8K,
	family:   "q2_k", checkCols: wholeBlocks("q2_k", qkK),
	generic: formatTable{dequant: dequantQ2K, dot: dotViaDequant(dequantQ2K, 84), dotAct: dotActQ2K},
}

var formatQ3K = &Format{
	Name: "q3_k", GGML: 11, Block: qkK, BlockBytes: 110, Bits: 3.4375,
	RowBytes: func(n int) int { return n / qkK * 110 },
	Act:      actQ8K,
	family:   "q3_k", checkCols: wholeBlocks("q3_k", qkK),
	generic: formatTable{dequant: dequantQ3K, dot: dotViaDequant(dequantQ3K, 110), dotAct: dotActQ3K},
}

var formatQ4K = &Format{
	Name: "q4_k", GGML: 12, Block: qkK, BlockBytes: 144, Bits: 4.5,
	RowBytes: func(n int) int { return n / qkK * 144 },
	Act:      actQ8K,
	family:   "q4_k", checkCols: wholeBlocks("q4_k", qkK),
	generic: formatTable{dequant: dequantQ4K, dot: dotQ4K, dotAct: dotActQ4K},
}

var formatQ5K = &Format{
	Name: "q5_k", GGML: 13, Block: qkK, BlockBytes: 176, Bits: 5.5,
	RowBytes: func(n int) int { return n / qkK * 176 },
	Act:      actQ8K,
	family:   "q5_k", checkCols: wholeBlocks("q5_k", qkK),
	generic: formatTable{dequant: dequantQ5K, dot: dotViaDequant(dequantQ5K, 176), dotAct: dotActQ5K},
}

var formatQ6K = &Format{
	Name: "q6_k", GGML: 14, Block: qkK, BlockBytes: 210, Bits: 6.5625,
	RowBytes: func(n int) int { return n / qkK * 210 },
	Act:      actQ8K,
	family:   "q6_k", checkCols: wholeBlocks("q6_k", qkK),
	generic: formatTable{dequant: dequantQ6K, dot: dotViaDequant(dequantQ6K, 210), dotAct: dotActQ6K},
}

// actQ8K is ggml's block_q8_K: d f32, qs[256] int8, bsums[16] int16 (292 bytes).
var actQ8K = &ActFormat{
	Name:     "q8_k",
	RowBytes: func(n int) int { return n / qkK * 292 },
	family:   "q8_k",
	generic:  quantizeQ8K,
	dequant: func(dst []float32, src []byte, n int) {
		for i := 0; i < n/qkK; i++ {
			b := src[i*292 : i*292+292]
			d := f32le(b)
			for j := 0; j < qkK; j++ {
				dst[i*qkK+j] = float32(int8(b[4+j])) * d
			}
		}
	},
}

// dotViaDequant makes the reference weight-only dot of a k-quant: decode one
// super-block into a stack buffer, then dotGeneric per super-block, summed
// in block order.
func dotViaDequant(dequant func(dst []float32, src []byte), bb int) func(w []byte, x []float32) float32 {
	return func(w []byte, x []float32) float32 {
		var buf [qkK]float32
		var sum float32
		for i := 0; i < len(x)/qkK; i++ {
			dequant(buf[:], w[i*bb:])
			sum += dotGeneric(buf[:], x[i*qkK:i*qkK+qkK])
		}
		return sum
	}
}

// nearestInt is ggml's nearest_int: round to nearest, ties to even, by
// adding 1.5·2²³ (valid for |f| ≤ 4194303).
func nearestInt(f float32) int32 {
	v := float32(f) + 12582912
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

// quantizeQ8K is quantize_row_q8_K_ref: d = −max/127 with max the element of
// largest magnitude (sign kept), q = min(127, nearest_int(x·(−127/max))),
// bsums = Σq per 16 values. ggml leaves bsums unwritten for an all-zero
// block; here they are zero.
func quantizeQ8K(dst []byte, x []float32) {
	for i := 0; i < len(x)/qkK; i++ {
		xb := x[i*qkK : i*qkK+qkK]
		b := dst[i*292 : i*292+292]
		var mx, amax float32
		for _, v := range xb {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax, mx = a, v
			}
		}
		q := b[4:260]
		if amax == 0 {
			clear(b)
			continue
		}
		iscale := -127 / mx
		for j, v := range xb {
			q[j] = byte(int8(min(127, nearestInt(float32(iscale*v)))))
		}
		for j := 0; j < qkK/16; j++ {
			var s int16
			for _, v := range q[j*16 : j*16+16] {
				s += int16(int8(v))
			}
			binary.LittleEndian.PutUint16(b[260+2*j:], uint16(s))
		}
		binary.LittleEndian.PutUint32(b, math.Float32bits(1/iscale))
	}
}

// scaleMinK4 is ggml's get_scale_min_k4: the 6-bit scale and min of
// sub-block j (0…7) of a q4_K/q5_K block from its 12 scale bytes.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// q3Scales unpacks the sixteen 6-bit q3_K scales (0…63, bias 32 not yet
// removed) as dequantize_row_q3_K does with its kmask shuffles.
func q3Scales(s []byte) (out [16]int8) {
	a0, a1, tmp := le32(s), le32(s[4:]), le32(s[8:])
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	aux := [4]uint32{
		a0&kmask2 | (tmp>>0&kmask1)<<4,
		a1&kmask2 | (tmp>>2&kmask1)<<4,
		(a0>>4)&kmask2 | (tmp>>4&kmask1)<<4,
		(a1>>4)&kmask2 | (tmp>>6&kmask1)<<4,
	}
	for i, v := range aux {
		for k := 0; k < 4; k++ {
			out[4*i+k] = int8(v >> (8 * k))
		}
	}
	return out
}

func dequantQ2K(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qkK; i++ {
		b := src[i*84 : i*84+84]
		sc, qs := b[0:16], b[16:80]
		d, dmin := half(b[80:]), half(b[82:])
		y := dst[i*qkK : i*qkK+qkK]
		is := 0
		for n := 0; n < qkK; n += 128 {
			q := qs[n/4 : n/4+32]
			for j, shift := 0, uint(0); j < 4; j, shift = j+1, shift+2 {
				for half := 0; half < 2; half++ {
					s := sc[is]
					is++
					dl, ml := d*float32(s&0xf), dmin*float32(s>>4)
					for l := 0; l < 16; l++ {
						y[0] = float32(dl*float32((q[l+16*half]>>shift)&3)) - ml
						y = y[1:]
					}
				}
			}
		}
	}
}

func dequantQ3K(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qkK; i++ {
		b := src[i*110 : i*110+110]
		hm, qs := b[0:32], b[32:96]
		scales := q3Scales(b[96:108])
		dAll := half(b[108:])
		y := dst[i*qkK : i*qkK+qkK]
		is := 0
		m := uint8(1)
		for n := 0; n < qkK; n += 128 {
			q := qs[n/4 : n/4+32]
			for j, shift := 0, uint(0); j < 4; j, shift = j+1, shift+2 {
				for half := 0; half < 2; half++ {
					dl := dAll * float32(int32(scales[is])-32)
					is++
					for l := 16 * half; l < 16*half+16; l++ {
						v := int32((q[l] >> shift) & 3)
						if hm[l]&m == 0 {
							v -= 4
						}
						y[0] = dl * float32(v)
						y = y[1:]
					}
				}
				m <<= 1
			}
		}
	}
}

func dequantQ4K(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qkK; i++ {
		b := src[i*144 : i*144+144]
		d, dmin := half(b), half(b[2:])
		scales, qs := b[4:16], b[16:144]
		y := dst[i*qkK : i*qkK+qkK]
		for j := 0; j < 4; j++ {
			sc1, m1 := scaleMinK4(2*j, scales)
			sc2, m2 := scaleMinK4(2*j+1, scales)
			d1, dm1 := d*float32(sc1), dmin*float32(m1)
			d2, dm2 := d*float32(sc2), dmin*float32(m2)
			q := qs[32*j : 32*j+32]
			yy := y[64*j : 64*j+64]
			for l, v := range q {
				yy[l] = float32(d1*float32(v&0xf)) - dm1
				yy[l+32] = float32(d2*float32(v>>4)) - dm2
			}
		}
	}
}

func dequantQ5K(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qkK; i++ {
		b := src[i*176 : i*176+176]
		d, dmin := half(b), half(b[2:])
		scales, qh, qs := b[4:16], b[16:48], b[48:176]
		y := dst[i*qkK : i*qkK+qkK]
		u1, u2 := uint8(1), uint8(2)
		for j := 0; j < 4; j++ {
			sc1, m1 := scaleMinK4(2*j, scales)
			sc2, m2 := scaleMinK4(2*j+1, scales)
			d1, dm1 := d*float32(sc1), dmin*float32(m1)
			d2, dm2 := d*float32(sc2), dmin*float32(m2)
			q := qs[32*j : 32*j+32]
			yy := y[64*j : 64*j+64]
			for l, v := range q {
				lo, hi := int32(v&0xf), int32(v>>4)
				if qh[l]&u1 != 0 {
					lo += 16
				}
				if qh[l]&u2 != 0 {
					hi += 16
				}
				yy[l] = float32(d1*float32(lo)) - dm1
				yy[l+32] = float32(d2*float32(hi)) - dm2
			}
			u1 <<= 2
			u2 <<= 2
		}
	}
}

func dequantQ6K(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qkK; i++ {
		b := src[i*210 : i*210+210]
		d := half(b[208:])
		y := dst[i*qkK : i*qkK+qkK]
		for n := 0; n < 2; n++ {
			ql := b[64*n : 64*n+64]
			qh := b[128+32*n : 128+32*n+32]
			sc := b[192+8*n : 192+8*n+8]
			yy := y[128*n : 128*n+128]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
				q2 := int32(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				// d * sc * q, left to right
				yy[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				yy[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				yy[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				yy[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
		}
	}
}

// dotQ4K is the reference q4_K·f32 dot: per 32-value sub-block,
// Σ q·x and Σ x in float32, then sum += d·sc·Σqx − dmin·m·Σx.
func dotQ4K(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/qkK; i++ {
		b := w[i*144 : i*144+144]
		d, dmin := half(b), half(b[2:])
		scales, qs := b[4:16], b[16:144]
		xb := x[i*qkK : i*qkK+qkK]
		for j := 0; j < 4; j++ {
			sc1, m1 := scaleMinK4(2*j, scales)
			sc2, m2 := scaleMinK4(2*j+1, scales)
			q := qs[32*j : 32*j+32]
			x1, x2 := xb[64*j:64*j+32], xb[64*j+32:64*j+64]
			var s1, s2, t1, t2 float32
			for l, v := range q {
				s1 += float32(v&0xf) * x1[l]
				s2 += float32(v>>4) * x2[l]
				t1 += x1[l]
				t2 += x2[l]
			}
			sum += float32(float32(d*float32(sc1))*s1) - float32(float32(dmin*float32(m1))*t1)
			sum += float32(float32(d*float32(sc2))*s2) - float32(float32(dmin*float32(m2))*t2)
		}
	}
	return sum
}

// W·A8 dots with q8_K activations.

func dotActQ2K(w, xq []byte, n int) float32 {
	var sumf float32
	for i := 0; i < n/qkK; i++ {
		b := w[i*84 : i*84+84]
		y := xq[i*292 : i*292+292]
		sc, q2 := b[0:16], b[16:80]
		q8 := y[4:260]
		var summs int32
		for j := 0; j < 16; j++ {
			summs += int32(int16(le16(y[260+2*j:]))) * int32(sc[j]>>4)
		}
		dy := f32le(y)
		dall, dmin := dy*half(b[80:]), dy*half(b[82:])
		var isum int32
		is := 0
		for k := 0; k < qkK/128; k++ {
			q := q2[32*k : 32*k+32]
			for j, shift := 0, uint(0); j < 4; j, shift = j+1, shift+2 {
				p := q8[128*k+32*j : 128*k+32*j+32]
				var s0, s1 int32
				for l := 0; l < 16; l++ {
					s0 += int32(int8(p[l])) * int32((q[l]>>shift)&3)
					s1 += int32(int8(p[l+16])) * int32((q[l+16]>>shift)&3)
				}
				isum += int32(sc[is]&0xf)*s0 + int32(sc[is+1]&0xf)*s1
				is += 2
			}
		}
		sumf += float32(float32(dall*float32(isum)) - float32(dmin*float32(summs)))
	}
	return sumf
}

// addLanes adds the eight-lane float accumulators of the q3_K…q6_K dots
// in lane order, as ggml's final "for l: sumf += sums[l]".
func addLanes(sumf float32, sums *[8]float32) float32 {
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

func dotActQ3K(w, xq []byte, n int) float32 {
	var sums [8]float32
	for i := 0; i < n/qkK; i++ {
		b := w[i*110 : i*110+110]
		y := xq[i*292 : i*292+292]
		hm, qs := b[0:32], b[32:96]
		scales := q3Scales(b[96:108])
		q8 := y[4:260]
		var a [qkK]int8
		m := uint8(1)
		for n := 0; n < 2; n++ {
			q := qs[32*n : 32*n+32]
			for k, shift := 0, uint(0); k < 4; k, shift = k+1, shift+2 {
				aa := a[128*n+32*k : 128*n+32*k+32]
				for l := range aa {
					v := int8((q[l] >> shift) & 3)
					if hm[l]&m == 0 {
						v -= 4
					}
					aa[l] = v
				}
				m <<= 1
			}
		}
		var aux [8]int32
		for j := 0; j < qkK/16; j++ {
			s := int32(scales[j]) - 32
			for l := 0; l < 16; l++ {
				aux[l&7] += s * int32(int8(q8[16*j+l])) * int32(a[16*j+l])
			}
		}
		d := half(b[108:]) * f32le(y)
		for l := range sums {
			sums[l] += float32(d * float32(aux[l]))
		}
	}
	return addLanes(0, &sums)
}

func dotActQ4K(w, xq []byte, n int) float32 {
	var sums [8]float32
	var sumf float32
	for i := 0; i < n/qkK; i++ {
		b := w[i*144 : i*144+144]
		y := xq[i*292 : i*292+292]
		scales, qs := b[4:16], b[16:144]
		q8 := y[4:260]
		var sc, mn [8]int32
		for j := range sc {
			s, m := scaleMinK4(j, scales)
			sc[j], mn[j] = int32(s), int32(m)
		}
		var sumi int32
		for j := 0; j < 16; j++ {
			sumi += int32(int16(le16(y[260+2*j:]))) * mn[j/2]
		}
		var aux [8]int32
		for j := 0; j < 4; j++ {
			q := qs[32*j : 32*j+32]
			p1, p2 := q8[64*j:64*j+32], q8[64*j+32:64*j+64]
			for l, v := range q {
				aux[l&7] += sc[2*j] * int32(int8(p1[l])) * int32(v&0xf)
				aux[l&7] += sc[2*j+1] * int32(int8(p2[l])) * int32(v>>4)
			}
		}
		dy := f32le(y)
		d := half(b) * dy
		for l := range sums {
			sums[l] += float32(d * float32(aux[l]))
		}
		dmin := half(b[2:]) * dy
		sumf -= float32(dmin * float32(sumi))
	}
	return addLanes(sumf, &sums)
}

func dotActQ5K(w, xq []byte, n int) float32 {
	var sums [8]float32
	var sumf float32
	for i := 0; i < n/qkK; i++ {
		b := w[i*176 : i*176+176]
		y := xq[i*292 : i*292+292]
		scales, qh, qs := b[4:16], b[16:48], b[48:176]
		q8 := y[4:260]
		var sc, mn [8]int32
		for j := range sc {
			s, m := scaleMinK4(j, scales)
			sc[j], mn[j] = int32(s), int32(m)
		}
		var sumi int32
		for j := 0; j < 16; j++ {
			sumi += int32(int16(le16(y[260+2*j:]))) * mn[j/2]
		}
		var aux [8]int32
		u1, u2 := uint8(1), uint8(2)
		for j := 0; j < 4; j++ {
			q := qs[32*j : 32*j+32]
			p1, p2 := q8[64*j:64*j+32], q8[64*j+32:64*j+64]
			for l, v := range q {
				lo, hi := int32(v&0xf), int32(v>>4)
				if qh[l]&u1 != 0 {
					lo += 16
				}
				if qh[l]&u2 != 0 {
					hi += 16
				}
				aux[l&7] += sc[2*j] * int32(int8(p1[l])) * lo
				aux[l&7] += sc[2*j+1] * int32(int8(p2[l])) * hi
			}
			u1 <<= 2
			u2 <<= 2
		}
		dy := f32le(y)
		d := half(b) * dy
		for l := range sums {
			sums[l] += float32(d * float32(aux[l]))
		}
		dmin := half(b[2:]) * dy
		sumf -= float32(dmin * float32(sumi))
	}
	return addLanes(sumf, &sums)
}

func dotActQ6K(w, xq []byte, n int) float32 {
	var sums [8]float32
	for i := 0; i < n/qkK; i++ {
		b := w[i*210 : i*210+210]
		y := xq[i*292 : i*292+292]
		q8 := y[4:260]
		var aux [8]int32
		for h := 0; h < 2; h++ {
			ql := b[64*h : 64*h+64]
			qh := b[128+32*h : 128+32*h+32]
			p := q8[128*h : 128*h+128]
			sc := b[192+8*h : 192+8*h+8]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
				q2 := int32(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				aux[l&7] += int32(int8(sc[is])) * q1 * int32(int8(p[l]))
				aux[l&7] += int32(int8(sc[is+2])) * q2 * int32(int8(p[l+32]))
				aux[l&7] += int32(int8(sc[is+4])) * q3 * int32(int8(p[l+64]))
				aux[l&7] += int32(int8(sc[is+6])) * q4 * int32(int8(p[l+96]))
			}
		}
		d := half(b[208:]) * f32le(y)
		for l := range sums {
			sums[l] += float32(d * float32(aux[l]))
		}
	}
	return addLanes(0, &sums)
}
