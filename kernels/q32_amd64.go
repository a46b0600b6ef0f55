//go:build !noasm

package kernels

// Assembly bodies of the ggml 32-value block formats (q8_0, q4_0, q4_1,
// q5_0, q5_1) for amd64: q32_avx2_amd64.s (AVX2 + FMA + F16C) and
// q32_avx512_amd64.s (AVX-512, VNNI for the W·A8 tiles).
//
// The row kernels work on four weight rows per pass over the activation
// row; the wrappers below check every length once, then hand the assembly
// raw pointers and a block count. A pass with fewer than four rows left
// repeats the last row (its results are dropped), so the assembly never
// reads outside the rows it is given.

// An actRows4 kernel writes dst[r] = DotAct(row r, xq, 32·nb) for the four
// rows w0…w3.
type actRows4 func(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

// An f32Rows4 kernel writes dst[r] = Dot(row r, x) for the four rows w0…w3
// and x of 32·nb values.
type f32Rows4 func(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

// A dequantBlocks kernel decodes nb blocks of src into dst.
type dequantBlocks func(dst *float32, src *byte, nb int)

//go:noescape
func gemvActQ8_0AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

//go:noescape
func gemvActQ4_0AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

//go:noescape
func gemvActQ4_1AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

//go:noescape
func gemvActQ5_0AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

//go:noescape
func gemvActQ5_1AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

//go:noescape
func gemvQ8_0AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ4_0AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ4_1AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ5_0AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ5_1AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func dequantQ8_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ4_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ4_1AVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ5_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ5_1AVX2(dst *float32, src *byte, nb int)

// q32Kernels lists one format's AVX2 bodies.
type q32Kernels struct {
	family  string
	bb, ab  int // bytes per weight block, per activation block
	act     actRows4
	f32     f32Rows4
	dequant dequantBlocks
}

var q32AVX2 = []q32Kernels{
	{"q8_0", 34, 34, gemvActQ8_0AVX2, gemvQ8_0AVX2, dequantQ8_0AVX2},
	{"q4_0", 18, 34, gemvActQ4_0AVX2, gemvQ4_0AVX2, dequantQ4_0AVX2},
	{"q4_1", 20, 36, gemvActQ4_1AVX2, gemvQ4_1AVX2, dequantQ4_1AVX2},
	{"q5_0", 22, 34, gemvActQ5_0AVX2, gemvQ5_0AVX2, dequantQ5_0AVX2},
	{"q5_1", 24, 36, gemvActQ5_1AVX2, gemvQ5_1AVX2, dequantQ5_1AVX2},
}

var _ = registerQ32(AVX2, q32AVX2)

func registerQ32(isa ISA, ks []q32Kernels) bool {
	for _, k := range ks {
		registerFormat(isa, k.family, func(f *Format, t *formatTable) {
			t.dequant = blockDequant(k.dequant, qk, k.bb)
			t.gemv = gemvRows4(k.f32, qk, k.bb)
			t.dot = dotFromGemv(t.gemv)
			t.gemvAct = gemvActRows4(k.act, qk, k.bb, k.ab)
			t.dotAct = dotActFromGemv(t.gemvAct)
			t.decode, t.gemmAct = nil, nil // derived from the bodies above
		})
	}
	return true
}

// blockDequant wraps a block decoder: dst gets len(dst)/blk blocks of src.
func blockDequant(k dequantBlocks, blk, bb int) func(dst []float32, src []byte) {
	return func(dst []float32, src []byte) {
		nb := len(dst) / blk
		if nb == 0 {
			return
		}
		_ = src[nb*bb-1]
		k(&dst[0], &src[0], nb)
	}
}

// gemvActRows4 wraps a four-row W·A8 kernel as the gemvAct hook.
func gemvActRows4(k actRows4, blk, bb, ab int) func(dst []float32, w []byte, stride int, xq []byte, n int) {
	return func(dst []float32, w []byte, stride int, xq []byte, n int) {
		if len(dst) == 0 {
			return
		}
		nb := n / blk
		if nb == 0 {
			clear(dst)
			return
		}
		last := len(dst) - 1
		_ = xq[nb*ab-1]
		_ = w[last*stride+nb*bb-1]
		var out [4]float32
		for i := 0; i < len(dst); i += 4 {
			k(&out, &w[i*stride], &w[min(i+1, last)*stride], &w[min(i+2, last)*stride], &w[min(i+3, last)*stride], &xq[0], nb)
			copy(dst[i:], out[:])
		}
	}
}

// gemvRows4 wraps a four-row weight-only kernel as the gemv hook.
func gemvRows4(k f32Rows4, blk, bb int) func(dst []float32, w []byte, stride int, x []float32) {
	return func(dst []float32, w []byte, stride int, x []float32) {
		if len(dst) == 0 {
			return
		}
		nb := len(x) / blk
		if nb == 0 {
			clear(dst)
			return
		}
		last := len(dst) - 1
		_ = w[last*stride+nb*bb-1]
		var out [4]float32
		for i := 0; i < len(dst); i += 4 {
			k(&out, &w[i*stride], &w[min(i+1, last)*stride], &w[min(i+2, last)*stride], &w[min(i+3, last)*stride], &x[0], nb)
			copy(dst[i:], out[:])
		}
	}
}

// dotFromGemv is the single-row dot of a gemv hook.
func dotFromGemv(gemv func(dst []float32, w []byte, stride int, x []float32)) func(w []byte, x []float32) float32 {
	return func(w []byte, x []float32) float32 {
		var d [1]float32
		gemv(d[:], w, 0, x)
		return d[0]
	}
}

// dotActFromGemv is the single-row dot of a gemvAct hook.
func dotActFromGemv(gemv func(dst []float32, w []byte, stride int, xq []byte, n int)) func(w, xq []byte, n int) float32 {
	return func(w, xq []byte, n int) float32 {
		var d [1]float32
		gemv(d[:], w, 0, xq, n)
		return d[0]
	}
}
