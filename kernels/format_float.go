package kernels

// The float formats: rows of little-endian float32, IEEE half or bfloat16.
// They always run with float32 activations (Act is nil). Unlike ggml, whose
// CPU backend converts the activations to f16 (bf16) before an f16 (bf16)
// dot product (vec_dot_type F16/BF16), divergo keeps the activations in
// float32 and widens the weights, so f16 weights cost no activation rounding.

var formatF32 = &Format{
	Name: "f32", GGML: 0, Block: 1, BlockBytes: 4, Bits: 32,
	RowBytes: func(n int) int { return 4 * n },
	family:   "f32",
	generic: formatTable{
		dequant: dequantF32,
		dot:     dotF32Row,
		decode:  decodeF32,
	},
}

var formatF16 = &Format{
	Name: "f16", GGML: 1, Block: 1, BlockBytes: 2, Bits: 16,
	RowBytes: func(n int) int { return 2 * n },
	family:   "f16",
	generic: formatTable{
		dequant: dequantF16,
		dot:     dotF16Row,
		decode:  decodeF16,
	},
}

var formatBF16 = &Format{
	Name: "bf16", GGML: 30, Block: 1, BlockBytes: 2, Bits: 16,
	RowBytes: func(n int) int { return 2 * n },
	family:   "bf16",
	generic: formatTable{
		dequant: dequantBF16,
		dot:     dotBF16Row,
		decode:  decodeBF16,
	},
}

// rowF32 views n float32 of b (allocating only on hosts without unaligned
// little-endian loads).
func rowF32(b []byte, n int) []float32 {
	var tmp []float32
	if !unalignedLE {
		tmp = make([]float32, n)
	}
	return viewF32(b, n, tmp)
}

func rowU16(b []byte, n int) []uint16 {
	var tmp []uint16
	if !unalignedLE {
		tmp = make([]uint16, n)
	}
	return viewU16(b, n, tmp)
}

func dequantF32(dst []float32, src []byte) { copy(dst, rowF32(src, len(dst))) }

// dequantF16 and dequantBF16 go through the installed conversion bodies, so
// a SIMD F16ToF32 speeds up every f16 path, the GEMM packing included.
func dequantF16(dst []float32, src []byte) { active.f16ToF32(dst, rowU16(src, len(dst))) }

func dequantBF16(dst []float32, src []byte) { active.bf16ToF32(dst, rowU16(src, len(dst))) }

func decodeF32(dst []float32, row []byte, n, k0 int) { dequantF32(dst, row[4*k0:]) }

func decodeF16(dst []float32, row []byte, n, k0 int) { dequantF16(dst, row[2*k0:]) }

func decodeBF16(dst []float32, row []byte, n, k0 int) { dequantBF16(dst, row[2*k0:]) }

// dotF32Row goes through the installed Dot body.
func dotF32Row(w []byte, x []float32) float32 { return active.dot(rowF32(w, len(x)), x) }

// dotF16Row is the reference f16·f32 dot: four running float32 sums over
// i mod 4, added as (s0+s1)+(s2+s3) at the end, as dotGeneric. Rows are
// widened 256 values at a time into a stack buffer with the installed
// F16ToF32 body (exact, so any ISA's conversion gives the same sums).
func dotF16Row(w []byte, x []float32) float32 {
	return dotHalfRow(rowU16(w, len(x)), x, active.f16ToF32)
}

// dotBF16Row is the reference bf16·f32 dot, summed as dotF16Row.
func dotBF16Row(w []byte, x []float32) float32 {
	return dotHalfRow(rowU16(w, len(x)), x, active.bf16ToF32)
}

func dotHalfRow(h []uint16, x []float32, widen func(dst []float32, src []uint16)) float32 {
	var buf [256]float32
	var s0, s1, s2, s3 float32
	for o := 0; o < len(x); o += len(buf) {
		m := min(len(buf), len(x)-o)
		widen(buf[:m], h[o:o+m])
		xs, ws := x[o:o+m], buf[:m]
		i := 0
		for ; i+4 <= m; i += 4 {
			ww := ws[i : i+4 : i+4]
			xx := xs[i : i+4 : i+4]
			s0 += ww[0] * xx[0]
			s1 += ww[1] * xx[1]
			s2 += ww[2] * xx[2]
			s3 += ww[3] * xx[3]
		}
		for ; i < m; i++ {
			s0 += ws[i] * xs[i]
		}
	}
	return (s0 + s1) + (s2 + s3)
}
