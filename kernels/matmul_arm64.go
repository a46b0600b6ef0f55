//go:build !noasm

package kernels

import "unsafe"

// NEON GEMM kernel set (matmul_neon_arm64.s): an 8×12 register tile (8
// activation rows × 12 weight rows in 24 accumulators, FMLA by element),
// the generic packing (which is parameterized by mr and nr) and the cache
// blocking derived from the tile.

//go:noescape
func micro8x12NEON(k int, a, b, c *float32, ldc int, add int)

var _ = registerOps(NEON, func(t *opTable) {
	g := gemmKernel{mr: 8, nr: 12, micro: neonMicro8x12, packA: packAGeneric, packB: packBGeneric}
	g.blocking()
	t.gemm = g
})

func neonMicro8x12(k int, a, b, c []float32, ldc int, add bool) {
	a, b = a[:8*k], b[:12*k]
	_ = c[7*ldc+11]
	flag := 0
	if add {
		flag = 1
	}
	micro8x12NEON(k, unsafe.SliceData(a), unsafe.SliceData(b), &c[0], ldc, flag)
}
