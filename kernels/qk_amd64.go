//go:build !noasm

package kernels

import "github.com/klauspost/cpuid/v2"

// Assembly bodies of the k-quants q4_K, q5_K and q6_K for amd64
// (qk_avx2_amd64.s; the AVX512 path inherits them). The W·A8 kernels need
// the q8_K activation codes shuffled once per activation row (prepQ8K*),
// which the gemvAct wrapper does into a pooled scratch buffer before it
// runs the rows.

// A kDotAct kernel returns DotAct of one row of nb super-blocks, given the
// q8_K row xq and its shuffled codes xs.
type kDotAct func(w, xq, xs *byte, nb int) float32

//go:noescape
func prepQ8K(dst, xq *byte, nb int)

//go:noescape
func prepQ8K6(dst, xq *byte, nb int)

//go:noescape
func dotActQ4KAVX2(w, xq, xs *byte, nb int) float32

//go:noescape
func dotActQ5KAVX2(w, xq, xs *byte, nb int) float32

//go:noescape
func dotActQ6KAVX2(w, xq, xs *byte, nb int) float32

//go:noescape
func dequantQ4KAVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ5KAVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ6KAVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ4KAVX512(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ5KAVX512(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ6KAVX512(dst *float32, src *byte, nb int)

//go:noescape
func dotQ4KAVX512(w *byte, x *float32, nb int) float32

//go:noescape
func dotQ5KAVX512(w *byte, x *float32, nb int) float32

//go:noescape
func dotQ6KAVX512(w *byte, x *float32, nb int) float32

//go:noescape
func dotF32AVX2(a, b *float32, n int) float32

// kKernels lists one k-quant's AVX2 bodies.
type kKernels struct {
	family  string
	bb      int // bytes per super-block
	act     kDotAct
	prep    func(dst, xq *byte, nb int)
	prepBB  int // scratch bytes per super-block written by prep
	dequant dequantBlocks
}

var kAVX2 = []kKernels{
	{"q4_k", 144, dotActQ4KAVX2, prepQ8K, 256, dequantQ4KAVX2},
	{"q5_k", 176, dotActQ5KAVX2, prepQ8K, 256, dequantQ5KAVX2},
	{"q6_k", 210, dotActQ6KAVX2, prepQ8K6, 512, dequantQ6KAVX2},
}

var _ = func() bool {
	for _, k := range kAVX2 {
		registerFormat(AVX2, k.family, func(f *Format, t *formatTable) {
			t.dequant = blockDequant(k.dequant, qkK, k.bb)
			t.gemv = gemvDequantK(k.dequant, k.bb)
			t.dot = dotFromGemv(t.gemv)
			t.gemvAct = gemvActK(k)
			t.dotAct = dotActFromGemv(t.gemvAct)
			t.decode, t.gemmAct = nil, nil // derived from the bodies above
		})
	}
	return true
}()

// gemvDequantK is the AVX2 weight-only GEMV of a k-quant: each row is
// decoded eight super-blocks at a time into a stack buffer and multiplied
// with x by dotF32AVX2.
func gemvDequantK(dq dequantBlocks, bb int) func(dst []float32, w []byte, stride int, x []float32) {
	const step = 8
	return func(dst []float32, w []byte, stride int, x []float32) {
		if len(dst) == 0 {
			return
		}
		nb := len(x) / qkK
		if nb == 0 {
			clear(dst)
			return
		}
		_ = w[(len(dst)-1)*stride+nb*bb-1]
		var buf [step * qkK]float32
		for i := range dst {
			row := w[i*stride:]
			var sum float32
			for b0 := 0; b0 < nb; b0 += step {
				m := min(step, nb-b0)
				dq(&buf[0], &row[b0*bb], m)
				sum += dotF32AVX2(&buf[0], &x[b0*qkK], m*qkK)
			}
			dst[i] = sum
		}
	}
}

// gemvActK wraps a k-quant row kernel as the gemvAct hook.
func gemvActK(k kKernels) func(dst []float32, w []byte, stride int, xq []byte, n int) {
	return func(dst []float32, w []byte, stride int, xq []byte, n int) {
		if len(dst) == 0 {
			return
		}
		nb := n / qkK
		if nb == 0 {
			clear(dst)
			return
		}
		_ = xq[nb*292-1]
		_ = w[(len(dst)-1)*stride+nb*k.bb-1]
		bufp := getBytes(nb * k.prepBB)
		xs := *bufp
		k.prep(&xs[0], &xq[0], nb)
		for i := range dst {
			dst[i] = k.act(&w[i*stride], &xq[0], &xs[0], nb)
		}
		putBytes(bufp)
	}
}

// The AVX-512 decoders and weight-only dots (qk_avx512_amd64.s).
var kAVX512 = []struct {
	family  string
	bb      int
	dequant dequantBlocks
	dot     func(w *byte, x *float32, nb int) float32
}{
	{"q4_k", 144, dequantQ4KAVX512, dotQ4KAVX512},
	{"q5_k", 176, dequantQ5KAVX512, dotQ5KAVX512},
	{"q6_k", 210, dequantQ6KAVX512, dotQ6KAVX512},
}

var _ = func() bool {
	for _, k := range kAVX512 {
		registerFormat(AVX512, k.family, func(f *Format, t *formatTable) {
			t.dequant = blockDequant(k.dequant, qkK, k.bb)
			t.gemv = gemvRows1(k.dot, qkK, k.bb)
			t.dot = dotFromGemv(t.gemv)
			t.decode = nil
		})
	}
	return true
}()

// gemvRows1 wraps a single-row weight-only kernel as the gemv hook.
func gemvRows1(k func(w *byte, x *float32, nb int) float32, blk, bb int) func(dst []float32, w []byte, stride int, x []float32) {
	return func(dst []float32, w []byte, stride int, x []float32) {
		if len(dst) == 0 {
			return
		}
		nb := len(x) / blk
		if nb == 0 {
			clear(dst)
			return
		}
		_ = w[(len(dst)-1)*stride+nb*bb-1]
		for i := range dst {
			dst[i] = k(&w[i*stride], &x[0], nb)
		}
	}
}

// AVX-512 VNNI + VBMI W·A8 GEMM of q4_K and q5_K (qk_vnni_amd64.s).

// kTile carries a gemmAct call (or a tile of its tokens) to the assembly.
type kTile struct {
	w            *byte // row 0
	stride, rows int
	xq           *byte // token 0's q8_K row
	xqStride     int
	xs           *byte // arranged codes: super-block b, token t at (b·nt + t)·256
	nt, nb       int
	state        *float32 // per (row, token): sums[8], sumf, 3 unused
}

//go:noescape
func gemmActQ4KVNNI(a *kTile)

//go:noescape
func gemmActQ5KVNNI(a *kTile)

//go:noescape
func prepQ8KPerm(dst, xq *byte, nb, dstStride int)

var (
	_ = registerFormat(AVX512, "q4_k", func(f *Format, t *formatTable) {
		if hasVNNI() && cpuid.CPU.Supports(cpuid.AVX512VBMI) {
			t.gemmAct = gemmActK(gemmActQ4KVNNI, 144)
			t.gemmActRows = kGemmRows
		}
	})
	_ = registerFormat(AVX512, "q5_k", func(f *Format, t *formatTable) {
		if hasVNNI() && cpuid.CPU.Supports(cpuid.AVX512VBMI) {
			t.gemmAct = gemmActK(gemmActQ5KVNNI, 176)
			t.gemmActRows = kGemmRows
		}
	})
)

// kGemmRows is the rows per gemmAct call: the arranged activations of a
// token tile are made once per call, so more rows amortize them (16 rows
// measured 100, 32 rows 110 GOP per CPU-second on TinyLlama shapes).
const kGemmRows = 32

// kTokTile is the tokens per kernel call: their arranged codes, q8_K
// block heads and states stay in L1 while the rows pass over them.
const kTokTile = 32

// gemmActK is the gemmAct hook over the VNNI kernel k: tokens in tiles of
// kTokTile, each tile's state finished in the generic lane order.
func gemmActK(k func(a *kTile), bb int) func(dst []float32, ldd int, w []byte, stride, rows int, xq []byte, xqStride, nt, n int) {
	return func(dst []float32, ldd int, w []byte, stride, rows int, xq []byte, xqStride, nt, n int) {
		if rows == 0 || nt == 0 {
			return
		}
		_ = dst[(nt-1)*ldd+rows-1]
		nb := n / qkK
		if nb == 0 {
			for t := 0; t < nt; t++ {
				clear(dst[t*ldd : t*ldd+rows])
			}
			return
		}
		_ = xq[(nt-1)*xqStride+nb*292-1]
		_ = w[(rows-1)*stride+nb*bb-1]
		tn := min(nt, kTokTile)
		xsp := getBytes(nb * tn * 256)
		defer putBytes(xsp)
		stp := getFloats(rows * tn * 12)
		defer putFloats(stp)
		xs, state := *xsp, *stp
		for t0 := 0; t0 < nt; t0 += tn {
			m := min(tn, nt-t0)
			for t := 0; t < m; t++ {
				prepQ8KPerm(&xs[t*256], &xq[(t0+t)*xqStride], nb, m*256)
			}
			clear(state[:rows*m*12])
			k(&kTile{w: &w[0], stride: stride, rows: rows, xq: &xq[t0*xqStride], xqStride: xqStride,
				xs: &xs[0], nt: m, nb: nb, state: &state[0]})
			for r := 0; r < rows; r++ {
				for t := 0; t < m; t++ {
					st := state[(r*m+t)*12:]
					s := st[8]
					for l := 0; l < 8; l++ {
						s += st[l]
					}
					dst[(t0+t)*ldd+r] = s
				}
			}
		}
	}
}
