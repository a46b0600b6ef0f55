//go:build !noasm

package kernels

// NEON bodies of the ggml 32-value block formats q8_0, q4_0, q4_1, q5_0 and
// q5_1 (q32_neon_arm64.s): W·A8 row kernels over four rows (or one) per
// pass over the quantized activations, with SDOT when the CPU has dotprod
// and SMULL/SADALP otherwise, both bit-exact with the generic DotAct (the
// rows sit in the lanes of the float accumulator, so each row's blocks are
// added in order); weight-only row kernels; decoders (exact).

//go:noescape
func gemvActQ8_0x4SDOT(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ8_0x4MULL(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvQ8_0x4NEON(dst *float32, w *byte, stride int, x *float32, nb int)

//go:noescape
func gemvActQ8_0x1SDOT(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ8_0x1MULL(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvQ8_0x1NEON(dst *float32, w *byte, stride int, x *float32, nb int)

//go:noescape
func dequantQ8_0NEON(dst *float32, src *byte, nb int)

//go:noescape
func gemvActQ4_0x4SDOT(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ4_0x4MULL(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvQ4_0x4NEON(dst *float32, w *byte, stride int, x *float32, nb int)

//go:noescape
func gemvActQ4_0x1SDOT(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ4_0x1MULL(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvQ4_0x1NEON(dst *float32, w *byte, stride int, x *float32, nb int)

//go:noescape
func dequantQ4_0NEON(dst *float32, src *byte, nb int)

//go:noescape
func gemvActQ4_1x4SDOT(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ4_1x4MULL(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvQ4_1x4NEON(dst *float32, w *byte, stride int, x *float32, nb int)

//go:noescape
func gemvActQ4_1x1SDOT(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ4_1x1MULL(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvQ4_1x1NEON(dst *float32, w *byte, stride int, x *float32, nb int)

//go:noescape
func dequantQ4_1NEON(dst *float32, src *byte, nb int)

//go:noescape
func gemvActQ5_0x4SDOT(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ5_0x4MULL(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvQ5_0x4NEON(dst *float32, w *byte, stride int, x *float32, nb int)

//go:noescape
func gemvActQ5_0x1SDOT(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ5_0x1MULL(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvQ5_0x1NEON(dst *float32, w *byte, stride int, x *float32, nb int)

//go:noescape
func dequantQ5_0NEON(dst *float32, src *byte, nb int)

//go:noescape
func gemvActQ5_1x4SDOT(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ5_1x4MULL(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvQ5_1x4NEON(dst *float32, w *byte, stride int, x *float32, nb int)

//go:noescape
func gemvActQ5_1x1SDOT(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvActQ5_1x1MULL(dst *float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvQ5_1x1NEON(dst *float32, w *byte, stride int, x *float32, nb int)

//go:noescape
func dequantQ5_1NEON(dst *float32, src *byte, nb int)

// neonQ32 lists one format's NEON kernels.
type neonQ32 struct {
	family     string
	bb, ab     int
	act4, act1 actKernels
	dot4, dot1 rowsF32
	dequant    func(dst *float32, src *byte, nb int)
}

var neonQ32Kernels = []neonQ32{
	{"q8_0", 34, 34, actKernels{gemvActQ8_0x4MULL, gemvActQ8_0x4SDOT}, actKernels{gemvActQ8_0x1MULL, gemvActQ8_0x1SDOT},
		gemvQ8_0x4NEON, gemvQ8_0x1NEON, dequantQ8_0NEON},
	{"q4_0", 18, 34, actKernels{gemvActQ4_0x4MULL, gemvActQ4_0x4SDOT}, actKernels{gemvActQ4_0x1MULL, gemvActQ4_0x1SDOT},
		gemvQ4_0x4NEON, gemvQ4_0x1NEON, dequantQ4_0NEON},
	{"q4_1", 20, 36, actKernels{gemvActQ4_1x4MULL, gemvActQ4_1x4SDOT}, actKernels{gemvActQ4_1x1MULL, gemvActQ4_1x1SDOT},
		gemvQ4_1x4NEON, gemvQ4_1x1NEON, dequantQ4_1NEON},
	{"q5_0", 22, 34, actKernels{gemvActQ5_0x4MULL, gemvActQ5_0x4SDOT}, actKernels{gemvActQ5_0x1MULL, gemvActQ5_0x1SDOT},
		gemvQ5_0x4NEON, gemvQ5_0x1NEON, dequantQ5_0NEON},
	{"q5_1", 24, 36, actKernels{gemvActQ5_1x4MULL, gemvActQ5_1x4SDOT}, actKernels{gemvActQ5_1x1MULL, gemvActQ5_1x1SDOT},
		gemvQ5_1x4NEON, gemvQ5_1x1NEON, dequantQ5_1NEON},
}

var _ = func() bool {
	for _, k := range neonQ32Kernels {
		registerFormat(NEON, k.family, func(f *Format, t *formatTable) {
			act4, act1 := k.act4.pick(), k.act1.pick()
			t.dequant = neonDequant(k.dequant, qk, k.bb)
			t.gemv = neonGemv(k.dot4, k.dot1, qk, k.bb)
			t.dot = neonDotRow(k.dot1, qk, k.bb)
			t.gemvAct = neonGemvAct(act4, act1, qk, k.bb, k.ab)
			t.dotAct = neonDotAct(act1, qk, k.bb, k.ab)
			t.decode, t.gemmAct = nil, nil // derived from the bodies above
		})
	}
	return true
}()
