package main

import "math"

// The vector ops (kernels/ops_arm64.go). Every kernel takes a count n that
// is a multiple of 4 (the Go wrappers run the last n mod 4 elements with
// the generic code); loops run 16 or 32 elements per iteration, then 4.

func f32bits(f float32) uint32 { return math.Float32bits(f) }

func genOps() *Asm {
	a := &Asm{}
	a.Header(`NEON bodies of the vector ops and the float conversions (kernels/ops_arm64.go).
Counts are multiples of 4 (8 for the conversions); the wrappers do the tails.`)
	genDot(a)
	genAxpy(a)
	genElementwise(a)
	genSumSquares(a)
	genScaleMul(a)
	genMax(a)
	genExpSum(a)
	genSiLUMul(a)
	genRoPE(a)
	genConvert(a)
	return a
}

// loops emits the common shape: a main loop of step elements (body), then
// a loop of 4 (body4), counting the elements down in cnt.
func loops(a *Asm, cnt R, step int, body func(), body4 func()) {
	a.I("CMP $%d, %s", step, cnt)
	a.I("BLT %s", a.Lbl("tail"))
	a.Label("loop")
	body()
	a.I("SUB $%d, %s", step, cnt)
	a.I("CMP $%d, %s", step, cnt)
	a.I("BGE %s", a.Lbl("loop"))
	a.Label("tail")
	a.I("CBZ %s, %s", cnt, a.Lbl("done"))
	a.Label("loop4")
	body4()
	a.I("SUBS $4, %s", cnt)
	a.I("BNE %s", a.Lbl("loop4"))
	a.Label("done")
}

func genDot(a *Asm) {
	a.Func("dotNEON", "a *float32, b *float32, n int -> float32", `dotNEON returns Σ a[i]·b[i] for n (multiple of 4) values.
R0 a, R1 b, R2 count; V0–V7 a, V8–V15 b, V16–V23 eight accumulators
(32 values per iteration keep two FMLA pipes busy through their latency).`)
	a.Arg("a", 0)
	a.Arg("b", 1)
	a.Arg("n", 2)
	for v := V(16); v < 24; v++ {
		a.Zero(v)
	}
	loops(a, 2, 32, func() {
		a.I("VLD1.P 64(R0), %s", V(0).L4S(4))
		a.I("VLD1.P 64(R0), %s", V(4).L4S(4))
		a.I("VLD1.P 64(R1), %s", V(8).L4S(4))
		a.I("VLD1.P 64(R1), %s", V(12).L4S(4))
		for i := V(0); i < 8; i++ {
			a.FMLA(16+i, i, 8+i)
		}
	}, func() {
		a.I("VLD1.P 16(R0), %s", V(0).L4S(1))
		a.I("VLD1.P 16(R1), %s", V(8).L4S(1))
		a.FMLA(16, 0, 8)
	})
	a.FADD(16, 16, 17)
	a.FADD(18, 18, 19)
	a.FADD(20, 20, 21)
	a.FADD(22, 22, 23)
	a.FADD(16, 16, 18)
	a.FADD(20, 20, 22)
	a.FADD(16, 16, 20)
	a.FADDP(16, 16, 16)
	a.FADDP(16, 16, 16)
	a.RetF(16)
	a.I("RET")
}

func genAxpy(a *Asm) {
	a.Func("axpyNEON", "alpha float32, x *float32, y *float32, n int", `axpyNEON computes y[i] += alpha·x[i] (fused) for n (multiple of 4) values.
R0 x, R1 y, R2 count; V31 alpha, V0–V3 x, V4–V7 y.`)
	a.ArgF("alpha", 31)
	a.Arg("x", 0)
	a.Arg("y", 1)
	a.Arg("n", 2)
	loops(a, 2, 16, func() {
		a.I("VLD1.P 64(R0), %s", V(0).L4S(4))
		a.I("VLD1 (R1), %s", V(4).L4S(4))
		for i := V(0); i < 4; i++ {
			a.FMLAE(4+i, i, 31, 0)
		}
		a.I("VST1.P %s, 64(R1)", V(4).L4S(4))
	}, func() {
		a.I("VLD1.P 16(R0), %s", V(0).L4S(1))
		a.I("VLD1 (R1), %s", V(4).L4S(1))
		a.FMLAE(4, 0, 31, 0)
		a.I("VST1.P %s, 16(R1)", V(4).L4S(1))
	})
	a.I("RET")
}

// genElementwise emits scale (x *= alpha), add (dst += x) and mul (dst *= x):
// one rounding per element, as the generic loops.
func genElementwise(a *Asm) {
	a.Func("scaleNEON", "alpha float32, x *float32, n int", `scaleNEON computes x[i] *= alpha for n (multiple of 4) values.
R0 x, R2 count; V31 alpha, V0–V3 x.`)
	a.ArgF("alpha", 31)
	a.Arg("x", 0)
	a.Arg("n", 2)
	loops(a, 2, 16, func() {
		a.I("VLD1 (R0), %s", V(0).L4S(4))
		for i := V(0); i < 4; i++ {
			a.FMULE(i, i, 31, 0)
		}
		a.I("VST1.P %s, 64(R0)", V(0).L4S(4))
	}, func() {
		a.I("VLD1 (R0), %s", V(0).L4S(1))
		a.FMULE(0, 0, 31, 0)
		a.I("VST1.P %s, 16(R0)", V(0).L4S(1))
	})
	a.I("RET")

	for _, op := range []struct {
		name, doc string
		f         func(d, n, m V)
	}{
		{"addNEON", "addNEON computes dst[i] += x[i]", a.FADD},
		{"mulNEON", "mulNEON computes dst[i] *= x[i]", a.FMUL},
	} {
		a.Func(op.name, "dst *float32, x *float32, n int", op.doc+` for n (multiple of 4) values.
R0 dst, R1 x, R2 count; V0–V3 dst, V4–V7 x.`)
		a.Arg("dst", 0)
		a.Arg("x", 1)
		a.Arg("n", 2)
		loops(a, 2, 16, func() {
			a.I("VLD1 (R0), %s", V(0).L4S(4))
			a.I("VLD1.P 64(R1), %s", V(4).L4S(4))
			for i := V(0); i < 4; i++ {
				op.f(i, i, 4+i)
			}
			a.I("VST1.P %s, 64(R0)", V(0).L4S(4))
		}, func() {
			a.I("VLD1 (R0), %s", V(0).L4S(1))
			a.I("VLD1.P 16(R1), %s", V(4).L4S(1))
			op.f(0, 0, 4)
			a.I("VST1.P %s, 16(R0)", V(0).L4S(1))
		})
		a.I("RET")
	}
}

func genSumSquares(a *Asm) {
	a.Func("sumSquaresNEON", "x *float32, n int -> float64", `sumSquaresNEON returns Σ x[i]² for n (multiple of 4) values: each square
rounded to float32 and summed in float64, as ggml's rms_norm.
R0 x, R2 count; V0–V3 x, V4–V7 squares, V8–V15 widened, V16–V19 float64 sums.`)
	a.Arg("x", 0)
	a.Arg("n", 2)
	for v := V(16); v < 20; v++ {
		a.Zero(v)
	}
	loops(a, 2, 16, func() {
		a.I("VLD1.P 64(R0), %s", V(0).L4S(4))
		for i := V(0); i < 4; i++ {
			a.FMUL(4+i, i, i)
		}
		for i := V(0); i < 4; i++ {
			a.FCVTLD(8+2*i, 4+i)
			a.FCVTL2D(9+2*i, 4+i)
		}
		for i := V(0); i < 8; i++ {
			a.FADD2D(16+i%4, 16+i%4, 8+i)
		}
	}, func() {
		a.I("VLD1.P 16(R0), %s", V(0).L4S(1))
		a.FMUL(4, 0, 0)
		a.FCVTLD(8, 4)
		a.FCVTL2D(9, 4)
		a.FADD2D(16, 16, 8)
		a.FADD2D(17, 17, 9)
	})
	a.FADD2D(16, 16, 17)
	a.FADD2D(18, 18, 19)
	a.FADD2D(16, 16, 18)
	a.FADDP2D(16, 16, 16)
	a.RetF(16)
	a.I("RET")
}

func genScaleMul(a *Asm) {
	a.Func("scaleMulNEON", "dst *float32, x *float32, w *float32, s float32, n int", `scaleMulNEON writes dst[i] = (x[i]·s)·w[i], each product rounded (RMSNorm's
second pass), for n (multiple of 4) values; dst may be x.
R0 dst, R1 x, R3 w, R2 count; V31 s, V0–V3 x, V4–V7 w.`)
	a.Arg("dst", 0)
	a.Arg("x", 1)
	a.Arg("w", 3)
	a.ArgF("s", 31)
	a.Arg("n", 2)
	loops(a, 2, 16, func() {
		a.I("VLD1.P 64(R1), %s", V(0).L4S(4))
		a.I("VLD1.P 64(R3), %s", V(4).L4S(4))
		for i := V(0); i < 4; i++ {
			a.FMULE(i, i, 31, 0)
			a.FMUL(i, i, 4+i)
		}
		a.I("VST1.P %s, 64(R0)", V(0).L4S(4))
	}, func() {
		a.I("VLD1.P 16(R1), %s", V(0).L4S(1))
		a.I("VLD1.P 16(R3), %s", V(4).L4S(1))
		a.FMULE(0, 0, 31, 0)
		a.FMUL(0, 0, 4)
		a.I("VST1.P %s, 16(R0)", V(0).L4S(1))
	})
	a.I("RET")
}

func genMax(a *Asm) {
	a.Func("maxNEON", "x *float32, n int -> float32", `maxNEON returns the largest of n (multiple of 4, > 0) values; a NaN
anywhere gives NaN, as Go's max.
R0 x, R2 count; V0–V3 x, V16–V19 running maxima.`)
	a.Arg("x", 0)
	a.Arg("n", 2)
	a.I("VLD1 (R0), %s", V(16).L4S(1))
	for v := V(17); v < 20; v++ {
		a.Mov(v, 16)
	}
	loops(a, 2, 16, func() {
		a.I("VLD1.P 64(R0), %s", V(0).L4S(4))
		for i := V(0); i < 4; i++ {
			a.FMAX(16+i, 16+i, i)
		}
	}, func() {
		a.I("VLD1.P 16(R0), %s", V(0).L4S(1))
		a.FMAX(16, 16, 0)
	})
	a.FMAX(16, 16, 17)
	a.FMAX(18, 18, 19)
	a.FMAX(16, 16, 18)
	a.FMAXV(16, 16)
	a.RetF(16)
	a.I("RET")
}

// expConsts loads the constants of vexp into V20–V31.
func expConsts(a *Asm) {
	c := []float32{
		-104, 89, // beyond these, exp rounds to 0 or overflows to +Inf anyway
		float32(math.Log2E),
		0.693145751953125, 1.4286068203094172321e-6, // ln 2 split (Cody–Waite)
		1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
	}
	for i, f := range c {
		a.Const4S(20+V(i), f32bits(f), 9)
	}
}

// vexp writes exp(x) of the four lanes of x into d (x is clobbered), with
// temporaries t0, t1. Range reduction x = n·ln2 + r, |r| ≤ ln2/2, a
// degree-7 Taylor polynomial p(r) (relative error below 2e-7, ≈ 2 ulp),
// and the scaling p·2ⁿ done as (p·2^⌊n/2⌋)·2^(n−⌊n/2⌋), so that results
// in the subnormal range are rounded once and those past the float range
// become +Inf, as the correctly rounded expf gives: the generic body's
// zeros and infinities are reproduced exactly. NaN stays NaN.
func vexp(a *Asm, d, x, t0, t1 V) {
	a.FMAX(x, x, 20)
	a.FMIN(x, x, 21)
	a.FMUL(t0, x, 22)
	a.FRINTN(t0, t0) // n
	a.FMLS(x, t0, 23)
	a.FMLS(x, t0, 24) // r
	// Horner from 1/7! down to the two unit coefficients (both V25),
	// alternating d and t1; six steps leave the polynomial in d.
	cur, other := d, t1
	a.Mov(cur, 31)
	for c := V(30); c >= 25; c-- {
		a.Mov(other, c)
		a.FMLA(other, cur, x)
		cur, other = other, cur
	}
	a.Mov(t1, 25)
	a.FMLA(t1, d, x) // p = 1 + r·(…)
	a.FCVTZS(t0, t0)
	a.SSHR4S(d, t0, 1) // n1 = ⌊n/2⌋
	a.SUB4S(t0, t0, d) // n2 = n − n1
	a.SHL4S(d, d, 23)
	a.ADD4S(t1, t1, d) // p·2^n1 (a normal float)
	a.SHL4S(t0, t0, 23)
	a.ADD4S(t0, t0, 25) // 2^n2: bits of 1.0 plus n2 in the exponent
	a.FMUL(d, t1, t0)
}

func genExpSum(a *Asm) {
	a.Func("expSumNEON", "x *float32, n int, mx float32 -> float64", `expSumNEON replaces x[i] by exp(x[i] − mx) and returns their sum, summed in
float64 (Softmax's middle pass), for n (multiple of 4) values.
R0 x, R2 count; V19 mx, V0–V1 x, V2–V5 temporaries, V16–V17 float64 sums,
V20–V31 the exp constants.`)
	a.Arg("x", 0)
	a.Arg("n", 2)
	a.ArgF("mx", 19)
	a.DupS(19, 19, 0)
	expConsts(a)
	a.Zero(16)
	a.Zero(17)
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1 (R0), %s", V(0).L4S(1))
	a.FSUB(0, 0, 19)
	vexp(a, 1, 0, 2, 3)
	a.I("VST1.P %s, 16(R0)", V(1).L4S(1))
	a.FCVTLD(4, 1)
	a.FCVTL2D(5, 1)
	a.FADD2D(16, 16, 4)
	a.FADD2D(17, 17, 5)
	a.I("SUBS $4, R2")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	a.FADD2D(16, 16, 17)
	a.FADDP2D(16, 16, 16)
	a.RetF(16)
	a.I("RET")
}

func genSiLUMul(a *Asm) {
	a.Func("siluMulNEON", "gate *float32, up *float32, n int", `siluMulNEON computes gate[i] = gate[i]/(1+exp(−gate[i]))·up[i] for n
(multiple of 4) values.
R0 gate, R1 up, R2 count; V0 gate, V1 up, V2–V5 temporaries, V20–V31 the
exp constants (V25 = 1).`)
	a.Arg("gate", 0)
	a.Arg("up", 1)
	a.Arg("n", 2)
	expConsts(a)
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1 (R0), %s", V(0).L4S(1))
	a.I("VLD1.P 16(R1), %s", V(1).L4S(1))
	a.FNEG(2, 0)
	vexp(a, 3, 2, 4, 5)
	a.FADD(3, 3, 25)
	a.FDIV(3, 0, 3)
	a.FMUL(3, 3, 1)
	a.I("VST1.P %s, 16(R0)", V(3).L4S(1))
	a.I("SUBS $4, R2")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	a.I("RET")
}

// genRoPE emits the two rotations; each product is rounded before the
// subtraction or addition, as ggml computes (exact with the generic bodies).
func genRoPE(a *Asm) {
	rot := func(x0, x1, c, s, o0, o1, t V) {
		a.FMUL(o0, x0, c)
		a.FMUL(t, x1, s)
		a.FSUB(o0, o0, t)
		a.FMUL(o1, x0, s)
		a.FMUL(t, x1, c)
		a.FADD(o1, o1, t)
	}
	a.Func("ropePairsNEON", "x *float32, cos *float32, sin *float32, h int", `ropePairsNEON rotates the pairs (x[2i], x[2i+1]) by the angles of cos[i],
sin[i] for i < h (multiple of 4).
R0 x, R1 cos, R3 sin, R2 count; V0/V1 even/odd values, V2 cos, V3 sin,
V4/V5 results, V6 temporary.`)
	a.Arg("x", 0)
	a.Arg("cos", 1)
	a.Arg("sin", 3)
	a.Arg("h", 2)
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD2 (R0), [V0.S4, V1.S4]")
	a.I("VLD1.P 16(R1), [V2.S4]")
	a.I("VLD1.P 16(R3), [V3.S4]")
	rot(0, 1, 2, 3, 4, 5, 6)
	a.I("VST2.P [V4.S4, V5.S4], 32(R0)")
	a.I("SUBS $4, R2")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	a.I("RET")

	a.Func("ropeHalvesNEON", "lo *float32, hi *float32, cos *float32, sin *float32, n int", `ropeHalvesNEON rotates the pairs (lo[i], hi[i]) by the angles of cos[i],
sin[i] for i < n (multiple of 4).
R0 lo, R4 hi, R1 cos, R3 sin, R2 count; V0/V1 low/high values, V2 cos,
V3 sin, V4/V5 results, V6 temporary.`)
	a.Arg("lo", 0)
	a.Arg("hi", 4)
	a.Arg("cos", 1)
	a.Arg("sin", 3)
	a.Arg("n", 2)
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1 (R0), [V0.S4]")
	a.I("VLD1 (R4), [V1.S4]")
	a.I("VLD1.P 16(R1), [V2.S4]")
	a.I("VLD1.P 16(R3), [V3.S4]")
	rot(0, 1, 2, 3, 4, 5, 6)
	a.I("VST1.P [V4.S4], 16(R0)")
	a.I("VST1.P [V5.S4], 16(R4)")
	a.I("SUBS $4, R2")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	a.I("RET")
}

func genConvert(a *Asm) {
	a.Func("f16ToF32NEON", "dst *float32, src *uint16, n int", `f16ToF32NEON widens n (multiple of 8) halves with FCVTL (exact; NaNs come
out quiet with their payload, as the generic conversion).
R0 dst, R1 src, R2 count; V0–V1 halves, V2–V5 floats.`)
	a.Arg("dst", 0)
	a.Arg("src", 1)
	a.Arg("n", 2)
	conv8(a, 16, func() {
		a.I("VLD1.P 32(R1), %s", V(0).L8H(2))
		a.FCVTL(2, 0)
		a.FCVTL2(3, 0)
		a.FCVTL(4, 1)
		a.FCVTL2(5, 1)
		a.I("VST1.P %s, 64(R0)", V(2).L4S(4))
	}, func() {
		a.I("VLD1.P 16(R1), %s", V(0).L8H(1))
		a.FCVTL(2, 0)
		a.FCVTL2(3, 0)
		a.I("VST1.P %s, 32(R0)", V(2).L4S(2))
	})
	a.I("RET")

	a.Func("bf16ToF32NEON", "dst *float32, src *uint16, n int", `bf16ToF32NEON widens n (multiple of 8) bfloat16 values (a shift by 16).
R0 dst, R1 src, R2 count; V0–V1 halves, V2–V5 floats.`)
	a.Arg("dst", 0)
	a.Arg("src", 1)
	a.Arg("n", 2)
	conv8(a, 16, func() {
		a.I("VLD1.P 32(R1), %s", V(0).L8H(2))
		a.SHLL16(2, 0)
		a.SHLL216(3, 0)
		a.SHLL16(4, 1)
		a.SHLL216(5, 1)
		a.I("VST1.P %s, 64(R0)", V(2).L4S(4))
	}, func() {
		a.I("VLD1.P 16(R1), %s", V(0).L8H(1))
		a.SHLL16(2, 0)
		a.SHLL216(3, 0)
		a.I("VST1.P %s, 32(R0)", V(2).L4S(2))
	})
	a.I("RET")

	a.Func("f32ToF16NEON", "dst *uint16, src *float32, n int", `f32ToF16NEON narrows n (multiple of 8) floats with FCVTN (round to nearest
even, overflow to ±Inf, as ggml's conversion); NaNs become 0x7e00 with
their sign, as ggml writes them, where FCVTN would keep payload bits.
R0 dst, R1 src, R2 count; V0–V1 floats, V2 halves, V3 not-NaN mask,
V4 NaN replacement, V5 temporary, V30 0x8000, V31 0x7e00 (per half).`)
	a.Arg("dst", 0)
	a.Arg("src", 1)
	a.Arg("n", 2)
	a.Const4S(30, 0x80008000, 9)
	a.Const4S(31, 0x7e007e00, 9)
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1.P 32(R1), %s", V(0).L4S(2))
	a.FCVTN(2, 0)
	a.FCVTN2(2, 1)
	a.FCMEQ(3, 0, 0)
	a.FCMEQ(5, 1, 1)
	a.I("VUZP1 V5.H8, V3.H8, V3.H8")
	a.I("VUZP2 V1.H8, V0.H8, V4.H8")
	a.AND(4, 4, 30)
	a.ORR(4, 4, 31)
	a.BSL(3, 2, 4)
	a.I("VST1.P [V3.H8], 16(R0)")
	a.I("SUBS $8, R2")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	a.I("RET")

	a.Func("f32ToBF16NEON", "dst *uint16, src *float32, n int", `f32ToBF16NEON narrows n (multiple of 8) floats to bfloat16 as ggml:
(u + 0x7fff + (u>>16 & 1)) >> 16, and (u>>16) | 0x40 for NaN.
R0 dst, R1 src, R2 count; V0–V1 floats, V2–V3 rounded, V4 not-NaN mask,
V5–V6 temporaries, V29 1, V30 0x7fff, V31 0x0040 (per half).`)
	a.Arg("dst", 0)
	a.Arg("src", 1)
	a.Arg("n", 2)
	a.Const4S(29, 1, 9)
	a.Const4S(30, 0x7fff, 9)
	a.Const4S(31, 0x00400040, 9)
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1.P 32(R1), %s", V(0).L4S(2))
	for i := V(0); i < 2; i++ {
		a.USHR4S(5, i, 16)
		a.AND(5, 5, 29)
		a.ADD4S(2+i, i, 30)
		a.ADD4S(2+i, 2+i, 5)
	}
	a.I("VUZP2 V3.H8, V2.H8, V2.H8")
	a.FCMEQ(4, 0, 0)
	a.FCMEQ(5, 1, 1)
	a.I("VUZP1 V5.H8, V4.H8, V4.H8")
	a.I("VUZP2 V1.H8, V0.H8, V6.H8")
	a.ORR(6, 6, 31)
	a.BSL(4, 2, 6)
	a.I("VST1.P [V4.H8], 16(R0)")
	a.I("SUBS $8, R2")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	a.I("RET")
}

// conv8 is loops() for conversions: a main loop of step values, then 8.
func conv8(a *Asm, step int, body, body8 func()) {
	a.I("CMP $%d, R2", step)
	a.I("BLT %s", a.Lbl("tail"))
	a.Label("loop")
	body()
	a.I("SUB $%d, R2", step)
	a.I("CMP $%d, R2", step)
	a.I("BGE %s", a.Lbl("loop"))
	a.Label("tail")
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop8")
	body8()
	a.I("SUBS $8, R2")
	a.I("BNE %s", a.Lbl("loop8"))
	a.Label("done")
}
