//go:build !noasm

package kernels

// NEON bodies of the k-quants q4_K, q5_K and q6_K (kquant_neon_arm64.s).
//
// W·A8: two rows (or one) per pass over the q8_K activations. ggml's
// generic k-quant dots, which DotAct reproduces bit for bit, keep eight
// integer accumulators over the values whose index is l mod 8 and scale
// each into its own float lane; SMULL/SMLAL give those class sums directly
// (SDOT would need a byte permutation of both operands first, for the same
// instruction count), so these kernels are the same with and without
// dotprod. The kernels return the eight lane sums and the min term per
// row; the lanes are added here in ggml's order. Decoders are exact; the
// weight-only dot decodes a super-block at a time and runs the NEON Dot.

//go:noescape
func gemvActQ4Kx2NEON(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ4Kx1NEON(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ5Kx2NEON(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ5Kx1NEON(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ6Kx2NEON(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ6Kx1NEON(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func dequantQ4KNEON(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ5KNEON(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ6KNEON(dst *float32, src *byte, nb int)

var (
	_ = registerFormat(NEON, "q4_k", func(f *Format, t *formatTable) {
		installKQuant(t, gemvActQ4Kx2NEON, gemvActQ4Kx1NEON, dequantQ4KNEON, 144)
	})
	_ = registerFormat(NEON, "q5_k", func(f *Format, t *formatTable) {
		installKQuant(t, gemvActQ5Kx2NEON, gemvActQ5Kx1NEON, dequantQ5KNEON, 176)
	})
	_ = registerFormat(NEON, "q6_k", func(f *Format, t *formatTable) {
		installKQuant(t, gemvActQ6Kx2NEON, gemvActQ6Kx1NEON, dequantQ6KNEON, 210)
	})
)

func installKQuant(t *formatTable, k2, k1 rowsAct, dequant func(dst *float32, src *byte, nb int), bb int) {
	t.dequant = neonDequant(dequant, qkK, bb)
	t.gemvAct = neonKGemvAct(k2, k1, bb)
	t.dotAct = func(w, xq []byte, n int) float32 {
		var d [1]float32
		t.gemvAct(d[:], w, 0, xq, n)
		return d[0]
	}
	dq := t.dequant
	t.dot = func(w []byte, x []float32) float32 {
		var buf [qkK]float32
		var sum float32
		for i := 0; i < len(x)/qkK; i++ {
			dq(buf[:], w[i*bb:])
			sum += neonDot(buf[:], x[i*qkK:(i+1)*qkK])
		}
		return sum
	}
	t.gemv, t.decode, t.gemmAct = nil, nil, nil // derived from the bodies above
}

// neonKGemvAct makes the gemvAct hook of a k-quant from its two-row and
// one-row kernels, which write per row the eight lane sums and the min
// term (12 floats apart).
func neonKGemvAct(k2, k1 rowsAct, bb int) func(dst []float32, w []byte, stride int, xq []byte, n int) {
	return func(dst []float32, w []byte, stride int, xq []byte, n int) {
		rows := len(dst)
		if rows == 0 {
			return
		}
		nb := n / qkK
		if nb == 0 {
			clear(dst)
			return
		}
		_ = xq[nb*292-1]
		_ = w[(rows-1)*stride+nb*bb-1]
		var out [24]float32
		i := 0
		for ; i+2 <= rows; i += 2 {
			k2(&out[0], &w[i*stride], stride, &xq[0], nb)
			dst[i] = addLanes(out[8], (*[8]float32)(out[0:8]))
			dst[i+1] = addLanes(out[20], (*[8]float32)(out[12:20]))
		}
		if i < rows {
			k1(&out[0], &w[i*stride], 0, &xq[0], nb)
			dst[i] = addLanes(out[8], (*[8]float32)(out[0:8]))
		}
	}
}
