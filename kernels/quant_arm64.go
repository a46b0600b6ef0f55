//go:build !noasm

package kernels

// NEON activation quantizers (quant_neon_arm64.s): q8_0, q8_1, q8_K and
// act8, byte for byte the generic ones (roundf by FCVTAS, ggml's
// nearest_int trick for q8_K reproduced in integer lanes, the f16 scales
// rounded by FCVT).

//go:noescape
func quantQ8_0NEON(dst *byte, x *float32, nb int)

//go:noescape
func quantQ8_1NEON(dst *byte, x *float32, nb int)

//go:noescape
func quantQ8KNEON(dst *byte, x *float32, nb int)

//go:noescape
func quantAct8NEON(dst *byte, x *float32, nb int)

var (
	_ = registerAct(NEON, "q8_0", func(_ *ActFormat, q *func([]byte, []float32)) {
		*q = neonBlockQuantizer(quantQ8_0NEON, qk, 34)
	})
	_ = registerAct(NEON, "q8_1", func(_ *ActFormat, q *func([]byte, []float32)) {
		*q = neonBlockQuantizer(quantQ8_1NEON, qk, 36)
	})
	_ = registerAct(NEON, "q8_k", func(_ *ActFormat, q *func([]byte, []float32)) {
		*q = neonBlockQuantizer(quantQ8KNEON, qkK, 292)
	})
	_ = registerAct(NEON, "act8", func(a *ActFormat, q *func([]byte, []float32)) {
		*q = neonAct8Quantizer(quantAct8NEON, a.group)
	})
)

// neonBlockQuantizer wraps a kernel quantizing nb blocks of blk values
// into blocks of bb bytes; like the generic quantizers it ignores a partial
// block at the end of x.
func neonBlockQuantizer(k func(dst *byte, x *float32, nb int), blk, bb int) func(dst []byte, x []float32) {
	return func(dst []byte, x []float32) {
		nb := len(x) / blk
		if nb == 0 {
			return
		}
		_ = dst[nb*bb-1]
		k(&dst[0], &x[0], nb)
	}
}

// neonAct8Quantizer wraps a kernel quantizing nb full 32-value act8 blocks
// (40 bytes each) as the act8 quantizer of weight groups of group values
// (0 = per row): the full blocks of each group in one call, a group's
// partial last block with the generic code. When 32 divides the group
// size the blocks run on across groups, and the row is one call.
func neonAct8Quantizer(k func(dst *byte, x *float32, nb int), group int) func(dst []byte, x []float32) {
	l := intLayout{bits: 8, group: group}
	tail := intLayout{bits: 8}
	return func(dst []byte, x []float32) {
		n := len(x)
		if n == 0 {
			return
		}
		g := l.gsize(n)
		if g%32 == 0 {
			g = n
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
