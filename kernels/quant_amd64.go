//go:build !noasm

package kernels

// Assembly activation quantizers for amd64 (quant_avx2_amd64.s): q8_0,
// q8_1, q8_K and act8, byte for byte the generic ones. The AVX512 path
// inherits them: quantization is a small share of a product, and the AVX2
// bodies already run near the load bandwidth.

//go:noescape
func quantQ8_0AVX2(dst *byte, x *float32, nb int)

//go:noescape
func quantQ8_1AVX2(dst *byte, x *float32, nb int)

//go:noescape
func quantQ8KAVX2(dst *byte, x *float32, nb int)

//go:noescape
func quantAct8AVX2(dst *byte, x *float32, nb int)

var (
	_ = registerAct(AVX2, "q8_0", func(_ *ActFormat, q *func([]byte, []float32)) {
		*q = blockQuantizer(quantQ8_0AVX2, qk, 34)
	})
	_ = registerAct(AVX2, "q8_1", func(_ *ActFormat, q *func([]byte, []float32)) {
		*q = blockQuantizer(quantQ8_1AVX2, qk, 36)
	})
	_ = registerAct(AVX2, "q8_k", func(_ *ActFormat, q *func([]byte, []float32)) {
		*q = blockQuantizer(quantQ8KAVX2, qkK, 292)
	})
	_ = registerAct(AVX2, "act8", func(a *ActFormat, q *func([]byte, []float32)) {
		*q = act8Quantizer(quantAct8AVX2, a.group)
	})
)

// blockQuantizer wraps a kernel quantizing nb blocks of blk values into
// blocks of bb bytes; like the generic quantizers it ignores a partial
// block at the end of x.
func blockQuantizer(k func(dst *byte, x *float32, nb int), blk, bb int) func(dst []byte, x []float32) {
	return func(dst []byte, x []float32) {
		nb := len(x) / blk
		if nb == 0 {
			return
		}
		_ = dst[nb*bb-1]
		k(&dst[0], &x[0], nb)
	}
}

// act8Quantizer wraps a kernel quantizing nb full 32-value act8 blocks (40
// bytes each) as the act8 quantizer of weight groups of group values (0 =
// per row). Full blocks of a group are contiguous, so each group takes one
// kernel call; a group's partial last block is quantized by the generic
// code. When 32 divides the group size, every block of the row except the
// last is full, and the whole row is one call.
func act8Quantizer(k func(dst *byte, x *float32, nb int), group int) func(dst []byte, x []float32) {
	l := intLayout{bits: 8, group: group}
	tail := intLayout{bits: 8}
	return func(dst []byte, x []float32) {
		n := len(x)
		if n == 0 {
			return
		}
		g := l.gsize(n)
		if g%32 == 0 {
			g = n // blocks run on across group boundaries unchanged
		}
		o := 0
		for k0 := 0; k0 < n; k0 += g {
			m := min(g, n-k0)
			if nb := m / 32; nb > 0 {
				_ = dst[o+nb*40-1]
				k(&dst[o], &x[k0], nb)
				o += nb * 40
			}
			if r := m % 32; r > 0 {
				tail.actQuantize(dst[o:o+8+r], x[k0+m-r:k0+m])
				o += 8 + r
			}
		}
	}
}
