//go:build !noasm

package kernels

import "unsafe"

// The amd64 GEMM kernel sets: a 6×16 tile for AVX2 (12 ymm accumulators)
// and a 14×32 tile for AVX-512 (28 zmm accumulators, A broadcast from
// memory by the FMAs), each with short-tile kernels for the last token
// block (microRows). Both pack with the transposing AVX2 packers: the
// float formats straight from their rows (f16 and bf16 widened on the
// way), the others through their decode.
//
// Tile choice: on the development machine (AMD EPYC, Zen 4 class, one
// 512-bit or two 256-bit FMAs per cycle, 32 KiB L1d, 1 MiB L2) the
// AVX-512 tiles 14×32, 12×32, 8×48, 6×64, 28×16 and 24×16 all run within
// ±4% of each other in isolation (~105 of a measured ~110 GFLOP/s per
// core); 14×32 needs the fewest loads per FMA, and nr = 32 divides the
// usual model dimensions. AVX2's 6×16 beat 4×24 and 12×8.

var _ = registerOps(AVX2, func(t *opTable) { t.gemm = gemmAVX2() })

var _ = registerOps(AVX512, func(t *opTable) { t.gemm = gemmAVX512() })

func gemmAVX2() gemmKernel {
	g := gemmKernel{mr: 6, nr: 16, micro: micro6x16AVX2, microRows: microRowsAVX2, packA: packAAVX2, packB: packBAVX2}
	g.blockingL2()
	return g
}

func gemmAVX512() gemmKernel {
	g := gemmKernel{mr: 14, nr: 32, micro: micro14x32AVX512, microRows: microRowsAVX512, packA: packAAVX2, packB: packBAVX2}
	g.blockingL2()
	return g
}

// blockingL2 sets the cache blocking of the amd64 kernel sets: the generic
// blocking (and its W·A8 tile sizes), then a K-block sized so that a B panel
// (kc·nr floats) takes an eighth of L2 rather than half of L1, at most 1024,
// an A block (mc·kc) in 5/8 of L2, and weight chunks of 512 rows. Streaming
// the B panel from L2 costs nothing measurable on the Zen 4 class machine
// here (1 MiB L2), while a long K-block halves or quarters the passes over
// C and the packing calls: 512×2048×2048 f32 on AVX-512 went from ~90 to
// ~100 GFLOP per CPU-second (kc 256 → 1024; mc 84–252 and nc 256–1024 within
// noise of the chosen values).
func (g *gemmKernel) blockingL2() {
	g.blocking()
	_, l2 := cacheSizes()
	g.kc = min(1024, max(256, l2/8/(4*g.nr)/256*256))
	g.mc = max(g.mr, (l2*5/8)/(4*g.kc)/g.mr*g.mr)
	g.nc = max(g.nr, 512/g.nr*g.nr)
}

func micro6x16AVX2(k int, a, b, c []float32, ldc int, add bool) {
	_, _, _ = a[6*k-1], b[16*k-1], c[5*ldc+15]
	gemmMicro6x16AVX2(k, &a[0], &b[0], &c[0], ldc, add)
}

func micro14x32AVX512(k int, a, b, c []float32, ldc int, add bool) {
	_, _, _ = a[14*k-1], b[32*k-1], c[13*ldc+31]
	gemmMicro14x32AVX512(k, &a[0], &b[0], &c[0], ldc, add)
}

// microRowsAVX2 computes the first rows < 6 rows of a 6×16 tile with the
// 2- and 4-row kernels; 5 rows run the full kernel into a tile on the stack.
func microRowsAVX2(k, rows int, a, b, c []float32, ldc int, add bool) {
	_, _, _ = a[6*k-1], b[16*k-1], c[(rows-1)*ldc+15]
	if rows <= 4 {
		gemmMicroRowsAVX2(k, &a[0], &b[0], &c[0], ldc, add, rows)
		return
	}
	var tile [6 * 16]float32
	gemmMicro6x16AVX2(k, &a[0], &b[0], &tile[0], 16, false)
	addRows(c, ldc, tile[:], 16, rows, add)
}

// addRows stores (or adds, if add) rows rows of nr values of tile into c.
func addRows(c []float32, ldc int, tile []float32, nr, rows int, add bool) {
	for i := 0; i < rows; i++ {
		ci, ti := c[i*ldc:i*ldc+nr], tile[i*nr:i*nr+nr]
		if add {
			for j, v := range ti {
				ci[j] += v
			}
		} else {
			copy(ci, ti)
		}
	}
}

// microRowsAVX512 computes the first rows < 14 rows of a 14×32 tile with
// the 4- and 8-row kernels (twice for 9–12 rows); 13 rows run the full
// kernel into a tile on the stack.
func microRowsAVX512(k, rows int, a, b, c []float32, ldc int, add bool) {
	_, _, _ = a[14*k-1], b[32*k-1], c[(rows-1)*ldc+31]
	switch {
	case rows <= 8:
		gemmMicroRowsAVX512(k, &a[0], &b[0], &c[0], ldc, add, rows)
	case rows <= 12:
		gemmMicroRowsAVX512(k, &a[0], &b[0], &c[0], ldc, add, 8)
		gemmMicroRowsAVX512(k, &a[8], &b[0], &c[8*ldc], ldc, add, rows-8)
	default:
		var tile [14 * 32]float32
		gemmMicro14x32AVX512(k, &a[0], &b[0], &tile[0], 32, false)
		addRows(c, ldc, tile[:], 32, rows, add)
	}
}

// packAAVX2 is packAGeneric with the full panels of mr = 6 or 14 rows
// transposed eight columns at a time in assembly.
func packAAVX2(dst, x []float32, ldx, rows, k0, kc, mr int) {
	if mr != 6 && mr != 14 {
		packAGeneric(dst, x, ldx, rows, k0, kc, mr)
		return
	}
	full := rows / mr
	kv := kc &^ 7
	for pi := 0; pi < full; pi++ {
		d := dst[pi*mr*kc : (pi+1)*mr*kc]
		r := pi * mr
		if kv > 0 {
			_ = x[(r+mr-1)*ldx+k0+kv-1]
			src := (*byte)(unsafe.Pointer(&x[r*ldx+k0]))
			if mr == 14 {
				packRows8F32AVX2(&d[0], mr, src, 4*ldx, kv)
				src = (*byte)(unsafe.Pointer(&x[(r+8)*ldx+k0]))
				packRows6F32AVX2(&d[8], mr, src, 4*ldx, kv)
			} else {
				packRows6F32AVX2(&d[0], mr, src, 4*ldx, kv)
			}
		}
		for i := 0; i < mr; i++ {
			src := x[(r+i)*ldx+k0+kv : (r+i)*ldx+k0+kc]
			for p, v := range src {
				d[(kv+p)*mr+i] = v
			}
		}
	}
	if full*mr < rows {
		packAGeneric(dst[full*mr*kc:], x[full*mr*ldx:], ldx, rows-full*mr, k0, kc, mr)
	}
}

// packBAVX2 packs B panels of nr (a multiple of 8) rows. Rows of f32,
// f16 and bf16 are transposed eight rows × eight columns at a time in
// assembly; other formats and partial groups of rows go through
// packBGeneric.
func packBAVX2(dst []float32, w *Matrix, r0, rows, k0, kc, nr int, tmp []float32) {
	var pack func(dst *float32, ldd int, src *byte, lds, n int)
	es := 4
	switch w.Format.family {
	case "f32":
		pack = packRows8F32AVX2
	case "f16":
		pack, es = packRows8F16AVX2, 2
	case "bf16":
		pack, es = packRows8BF16AVX2, 2
	}
	if pack == nil || nr%8 != 0 {
		packBGeneric(dst, w, r0, rows, k0, kc, nr, tmp)
		return
	}
	rb := w.RowBytes()
	full := rows / 8 // groups of 8 rows
	kv := kc &^ 7
	decode := w.Format.body.decode
	for g := 0; g < full; g++ {
		j := g * 8
		d := dst[(j/nr)*nr*kc+j%nr:]
		row := r0 + j
		if kv > 0 {
			_ = w.Data[(row+7)*rb+(k0+kv)*es-1]
			_ = d[(kv-1)*nr+7]
			pack(&d[0], nr, &w.Data[row*rb+k0*es], rb, kv)
		}
		if kv < kc {
			for i := 0; i < 8; i++ {
				t := tmp[:kc-kv]
				decode(t, w.Data[(row+i)*rb:(row+i+1)*rb], w.Cols, k0+kv)
				for p, v := range t {
					d[(kv+p)*nr+i] = v
				}
			}
		}
	}
	if j := full * 8; j < rows || j%nr != 0 {
		// The rest of the last panel: its valid rows, then zeros.
		pj := j / nr
		d := dst[pj*nr*kc : (pj+1)*nr*kc]
		for ; j < (pj+1)*nr; j++ {
			i := j % nr
			if j >= rows {
				for p := 0; p < kc; p++ {
					d[p*nr+i] = 0
				}
				continue
			}
			t := tmp[:kc]
			decode(t, w.Data[(r0+j)*rb:(r0+j+1)*rb], w.Cols, k0)
			for p, v := range t {
				d[p*nr+i] = v
			}
		}
	}
}

//go:noescape
func gemmMicro6x16AVX2(k int, a, b, c *float32, ldc int, add bool)

//go:noescape
func gemmMicro14x32AVX512(k int, a, b, c *float32, ldc int, add bool)

//go:noescape
func gemmMicroRowsAVX2(k int, a, b, c *float32, ldc int, add bool, rows int)

//go:noescape
func gemmMicroRowsAVX512(k int, a, b, c *float32, ldc int, add bool, rows int)

//go:noescape
func packRows8F32AVX2(dst *float32, ldd int, src *byte, lds, n int)

//go:noescape
func packRows8F16AVX2(dst *float32, ldd int, src *byte, lds, n int)

//go:noescape
func packRows8BF16AVX2(dst *float32, ldd int, src *byte, lds, n int)

//go:noescape
func packRows6F32AVX2(dst *float32, ldd int, src *byte, lds, n int)

// fmaPeakAVX2 and fmaPeakAVX512 run n iterations of 12 independent FMAs
// (8 or 16 lanes): BenchmarkPeak measures one core's FMA throughput with
// them, the yardstick of the GEMM benchmarks.

//go:noescape
func fmaPeakAVX2(n int)

//go:noescape
func fmaPeakAVX512(n int)
