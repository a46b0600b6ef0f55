package main

import "fmt"

// Row kernels of the float weight formats (kernels/float_arm64.go): R rows
// of f32, f16 or bf16 against one float32 activation row, the activations
// loaded once per pass for all R rows.

func genFloat() *Asm {
	a := &Asm{}
	a.Header(`NEON row kernels of the f32, f16 and bf16 weight formats (kernels/float_arm64.go).`)
	for _, f := range []string{"F32", "F16", "BF16"} {
		for _, rows := range []int{1, 4} {
			genFloatRows(a, f, rows)
		}
	}
	return a
}

// widen loads 16 weights of format f from row pointer r into V4–V7 as floats.
func widen(a *Asm, f string, r R, step int) {
	switch f {
	case "F32":
		if step == 16 {
			a.I("VLD1.P 64(%s), %s", r, V(4).L4S(4))
		} else {
			a.I("VLD1.P 16(%s), %s", r, V(4).L4S(1))
		}
	case "F16", "BF16":
		if step == 16 {
			a.I("VLD1.P 32(%s), %s", r, V(8).L8H(2))
		} else {
			a.I("VLD1.P 8(%s), [V8.H4]", r)
		}
		for i := 0; i < step/4; i++ {
			src := V(8 + i/2)
			if f == "F16" {
				if i%2 == 0 {
					a.FCVTL(V(4+i), src)
				} else {
					a.FCVTL2(V(4+i), src)
				}
			} else {
				if i%2 == 0 {
					a.SHLL16(V(4+i), src)
				} else {
					a.SHLL216(V(4+i), src)
				}
			}
		}
	}
}

func genFloatRows(a *Asm, f string, rows int) {
	name := fmt.Sprintf("gemv%sx%dNEON", f, rows)
	a.Func(name, "dst *float32, w *byte, stride int, x *float32, n int", fmt.Sprintf(`%s writes dst[r] = Σ_i w_r[i]·x[i] for the %d row(s) w_r = w + r·stride
and n (multiple of 4) values of x.
R5… row pointers, R3 x, R4 count; V0–V3 x, V4–V7 weights as floats
(V8–V9 raw halves), V16+2r/V17+2r two accumulators of row r.`, name, rows))
	a.Arg("dst", 0)
	a.Arg("w", 1)
	a.Arg("stride", 2)
	a.Arg("x", 3)
	a.Arg("n", 4)
	rp := make([]R, rows)
	for r := range rp {
		rp[r] = R(5 + r)
		if r == 0 {
			a.I("MOVD R1, %s", rp[r])
		} else {
			a.I("ADD R2, %s, %s", rp[r-1], rp[r])
		}
		a.Zero(V(16 + 2*r))
		a.Zero(V(17 + 2*r))
	}
	loops(a, 4, 16, func() {
		a.I("VLD1.P 64(R3), %s", V(0).L4S(4))
		for r := 0; r < rows; r++ {
			widen(a, f, rp[r], 16)
			for i := 0; i < 4; i++ {
				a.FMLA(V(16+2*r+i%2), V(4+i), V(i))
			}
		}
	}, func() {
		a.I("VLD1.P 16(R3), %s", V(0).L4S(1))
		for r := 0; r < rows; r++ {
			widen(a, f, rp[r], 4)
			a.FMLA(V(16+2*r), 4, 0)
		}
	})
	for r := 0; r < rows; r++ {
		a.FADD(V(16+2*r), V(16+2*r), V(17+2*r))
	}
	if rows == 1 {
		a.FADDP(16, 16, 16)
		a.FADDP(16, 16, 16)
		a.I("FMOVS F16, (R0)")
	} else {
		a.FADDP(16, 16, 18)
		a.FADDP(20, 20, 22)
		a.FADDP(16, 16, 20)
		a.I("VST1 [V16.S4], (R0)")
	}
	a.I("RET")
}
