package main

// The f32 GEMM microkernel (kernels/matmul_arm64.go): an 8×12 register tile,
// 8 activation rows × 12 weight rows, 24 accumulators.

func genGemm() *Asm {
	a := &Asm{}
	a.Header(`NEON GEMM microkernel (kernels/matmul_arm64.go).`)
	a.Func("micro8x12NEON", "k int, a *float32, b *float32, c *float32, ldc int, add int", `micro8x12NEON computes the 8×12 tile acc[i][j] = Σ_p a[8p+i]·b[12p+j] over k
columns of a packed A panel (8 rows, k-major) and B panel (12 rows), then
c[i·ldc+j] = acc[i][j], or += when add != 0.
Per column: one 32-byte A load, one 48-byte B load, 24 FMLA by element.
R0 k, R1 a, R2 b, R3 c, R4 ldc in bytes, R5 add; V0–V1 A column
(rows 0–3, 4–7), V2–V4 B column, V8–V31 accumulators: row i in
V(8+3i)…V(10+3i); V5–V7 C rows in the epilogue.`)
	a.Arg("k", 0)
	a.Arg("a", 1)
	a.Arg("b", 2)
	a.Arg("c", 3)
	a.Arg("ldc", 4)
	a.Arg("add", 5)
	a.I("LSL $2, R4")
	for v := V(8); v < 32; v++ {
		a.Zero(v)
	}
	step := func() {
		a.I("VLD1.P 32(R1), %s", V(0).L4S(2))
		a.I("VLD1.P 48(R2), %s", V(2).L4S(3))
		for i := 0; i < 8; i++ {
			for j := 0; j < 3; j++ {
				a.FMLAE(V(8+3*i+j), V(2+j), V(i/4), i%4)
			}
		}
	}
	a.I("CBZ R0, %s", a.Lbl("store"))
	a.I("TBZ $0, R0, %s", a.Lbl("pairs"))
	step()
	a.I("SUB $1, R0")
	a.Label("pairs")
	a.I("CBZ R0, %s", a.Lbl("store"))
	a.Label("loop")
	step()
	step()
	a.I("SUBS $2, R0")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("store")
	a.I("CBZ R5, %s", a.Lbl("set"))
	for i := 0; i < 8; i++ {
		acc := V(8 + 3*i)
		a.I("VLD1 (R3), %s", V(5).L4S(3))
		for j := V(0); j < 3; j++ {
			a.FADD(acc+j, acc+j, 5+j)
		}
		a.I("VST1 %s, (R3)", acc.L4S(3))
		a.I("ADD R4, R3")
	}
	a.I("RET")
	a.Label("set")
	for i := 0; i < 8; i++ {
		a.I("VST1 %s, (R3)", V(8+3*i).L4S(3))
		a.I("ADD R4, R3")
	}
	a.I("RET")
	return a
}
