package kernels

// The plain-Go GEMM kernel set: a 2×4 register tile, and packing through the
// format's decode.

func gemmGeneric() gemmKernel {
	g := gemmKernel{mr: 2, nr: 4, micro: micro2x4, packA: packAGeneric, packB: packBGeneric}
	g.blocking()
	return g
}

// micro2x4 is the reference microkernel (mr = 2, nr = 4): eight running
// float32 sums, each over p in increasing order. (Plain Go keeps eight
// accumulators in registers; a 4×4 tile spills and runs ~40% slower.)
func micro2x4(k int, a, b, c []float32, ldc int, add bool) {
	a, b = a[:2*k], b[:4*k]
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	for p := 0; p < k; p++ {
		aa := a[2*p : 2*p+2 : 2*p+2]
		bb := b[4*p : 4*p+4 : 4*p+4]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		a0, a1 := aa[0], aa[1]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	r0 := c[0:4:4]
	r1 := c[ldc : ldc+4 : ldc+4]
	if add {
		r0[0] += c00
		r0[1] += c01
		r0[2] += c02
		r0[3] += c03
		r1[0] += c10
		r1[1] += c11
		r1[2] += c12
		r1[3] += c13
		return
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
}

func packAGeneric(dst, x []float32, ldx, rows, k0, kc, mr int) {
	panels := ceilDiv(rows, mr)
	for pi := 0; pi < panels; pi++ {
		d := dst[pi*mr*kc : (pi+1)*mr*kc]
		for i := 0; i < mr; i++ {
			r := pi*mr + i
			if r >= rows {
				for p := 0; p < kc; p++ {
					d[p*mr+i] = 0
				}
				continue
			}
			src := x[r*ldx+k0 : r*ldx+k0+kc]
			for p, v := range src {
				d[p*mr+i] = v
			}
		}
	}
}

func packBGeneric(dst []float32, w *Matrix, r0, rows, k0, kc, nr int, tmp []float32) {
	rb := w.RowBytes()
	decode := w.Format.body.decode
	tmp = tmp[:kc]
	panels := ceilDiv(rows, nr)
	for pj := 0; pj < panels; pj++ {
		d := dst[pj*nr*kc : (pj+1)*nr*kc]
		for j := 0; j < nr; j++ {
			r := pj*nr + j
			if r >= rows {
				for p := 0; p < kc; p++ {
					d[p*nr+j] = 0
				}
				continue
			}
			row := r0 + r
			decode(tmp, w.Data[row*rb:(row+1)*rb], w.Cols, k0)
			for p, v := range tmp {
				d[p*nr+j] = v
			}
		}
	}
}
