package main

// Activation quantizers (kernels/quant_arm64.go): q8_0, q8_1, act8 (32-value
// blocks, roundf) and q8_K (256-value blocks, nearest_int), byte for byte
// the generic ones. Each takes full blocks only: nb blocks of x into dst.

func genQuant() *Asm {
	a := &Asm{}
	a.Header(`NEON activation quantizers (kernels/quant_arm64.go): q8_0, q8_1, act8 and
q8_K, byte for byte the generic quantizers.`)
	for _, k := range []struct {
		name, doc string
		bb        int
	}{
		{"quantQ8_0NEON", "q8_0 blocks: d f16, q[32]", 34},
		{"quantQ8_1NEON", "q8_1 blocks: d f16, s = f16(Σq·d), q[32]", 36},
		{"quantAct8NEON", "act8 blocks: d float32, s = Σq int32, q[32]", 40},
	} {
		genQuant32(a, k.name, k.doc, k.bb)
	}
	genQuantQ8K(a)
	return a
}

// amax32 leaves in F16 the largest |x| of the eight vectors V0–V7 (NaNs
// skipped, 0 if none: the generic "if a > amax" loop), using V8–V15 and
// V16–V18.
func amax32(a *Asm) {
	for i := V(0); i < 8; i++ {
		a.FABS(8+i, i)
	}
	a.Zero(16)
	a.Zero(17)
	for i := V(0); i < 8; i++ {
		c := 16 + i%2
		a.FCMGT(18, 8+i, c)
		a.BIT(c, 8+i, 18)
	}
	a.FCMGT(18, 17, 16)
	a.BIT(16, 17, 18)
	a.FMAXV(16, 16)
}

func genQuant32(a *Asm, name, doc string, bb int) {
	a.Func(name, "dst *byte, x *float32, nb int", name+` writes nb `+doc+` (d = amax/127, q = roundf(x·(1/d))).
1/d is replaced by 0 when d is 0 (amax zero, or below 127 times the
smallest subnormal).
R0 dst, R1 x, R2 blocks; V0–V7 x, V8–V15 |x| then int32 q, V16–V18 amax,
F17 d, F18 1/d, V12–V13 the 32 q bytes, V14–V15 the sum, F20 127, F21 1,
F22 0.`)
	a.Arg("dst", 0)
	a.Arg("x", 1)
	a.Arg("nb", 2)
	a.I("FMOVS $127.0, F20")
	a.I("FMOVS $1.0, F21")
	a.I("FMOVS ZR, F22")
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1.P 64(R1), %s", V(0).L4S(4))
	a.I("VLD1.P 64(R1), %s", V(4).L4S(4))
	amax32(a)
	a.I("FDIVS F20, F16, F17") // d = amax/127
	a.I("FDIVS F17, F21, F18") // 1/d
	a.I("FCMPS $(0.0), F17")
	a.I("FCSELS EQ, F22, F18, F18")
	for i := V(0); i < 8; i++ {
		a.FMULE(i, i, 18, 0)
		a.FCVTAS(i, i)
	}
	for i := V(0); i < 4; i++ {
		a.XTN32(8+i, 2*i)
		a.XTN232(8+i, 2*i+1)
	}
	a.XTN16(12, 8)
	a.XTN216(12, 9)
	a.XTN16(13, 10)
	a.XTN216(13, 11)
	if bb != 34 {
		a.SADDLP8(14, 12)
		a.SADALP8(14, 13)
		a.SADDLV16(15, 14)
		a.I("VMOV V15.S[0], R4")
	}
	switch bb {
	case 34:
		a.I("FCVTSH F17, F19")
		a.I("FMOVS F19, R3")
		a.I("MOVH R3, (R0)")
		a.I("ADD $2, R0")
	case 36:
		a.I("FCVTSH F17, F19")
		a.I("FMOVS F19, R3")
		a.I("MOVH R3, (R0)")
		a.I("SCVTFWS R4, F15")
		a.I("FMULS F17, F15, F15") // Σq·d
		a.I("FCVTSH F15, F15")
		a.I("FMOVS F15, R4")
		a.I("MOVH R4, 2(R0)")
		a.I("ADD $4, R0")
	case 40:
		a.I("FMOVS F17, (R0)")
		a.I("MOVW R4, 4(R0)")
		a.I("ADD $8, R0")
	}
	a.I("VST1.P [V12.B16, V13.B16], 32(R0)")
	a.I("SUBS $1, R2")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	a.I("RET")
}

func genQuantQ8K(a *Asm) {
	a.Func("quantQ8KNEON", "dst *byte, x *float32, nb int", `quantQ8KNEON writes nb q8_K blocks (d float32, q[256], bsums[16] int16) as
quantize_row_q8_K_ref: max = the value of largest |x| (the first one on
ties), iscale = −127/max, q = min(127, nearest_int(iscale·x)) with ggml's
1.5·2²³ rounding trick reproduced bit for bit, d = 1/iscale; an all-zero
(or all-NaN) block is written as zeros.
Pass 1 tracks per lane the largest |x| and its signed value in two chains
(even and odd vectors, V16/V17 and V18/V19); the signed max is read off
the lanes holding the overall largest |x| when they agree on its sign,
and found by a scalar scan from the block start when they do not.
R0 dst, R1 x, R5 block start, R6 bsums, R2 blocks, R3 counter;
V0–V3 x, V4–V7 |x| / q, V8–V9 halves, V10 bytes, V11 bsum,
V24 1.5·2²³, V25 0x7fffff, V26 0x400000, V27 127, V28 iscale.`)
	a.Arg("dst", 0)
	a.Arg("x", 1)
	a.Arg("nb", 2)
	a.Const4S(24, f32bits(12582912), 9)
	a.Const4S(25, 0x007fffff, 9)
	a.Const4S(26, 0x00400000, 9)
	a.Const4S(27, 127, 9)
	a.I("FMOVS $-127.0, F29")
	a.I("FMOVS $1.0, F30")
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("block")
	a.I("MOVD R1, R5")
	for v := V(16); v < 20; v++ {
		a.Zero(v)
	}
	a.I("MOVD $8, R3")
	a.Label("scan")
	a.I("VLD1.P 64(R1), %s", V(0).L4S(4))
	for i := V(0); i < 4; i++ {
		am, mx := 16+2*(i%2), 17+2*(i%2)
		a.FABS(4+i, i)
		a.FCMGT(8, 4+i, am)
		a.BIT(am, 4+i, 8)
		a.BIT(mx, i, 8)
	}
	a.I("VLD1.P 64(R1), %s", V(0).L4S(4))
	for i := V(0); i < 4; i++ {
		am, mx := 16+2*(i%2), 17+2*(i%2)
		a.FABS(4+i, i)
		a.FCMGT(8, 4+i, am)
		a.BIT(am, 4+i, 8)
		a.BIT(mx, i, 8)
	}
	a.I("SUBS $1, R3")
	a.I("BNE %s", a.Lbl("scan"))
	a.FMAX(20, 16, 18)
	a.FMAXV(20, 20) // F20 = amax
	a.I("FCMPS $(0.0), F20")
	a.I("BEQ %s", a.Lbl("zero"))
	// Candidates: the signed values of the lanes whose |x| is amax, +0 elsewhere.
	a.DupS(21, 20, 0)
	a.FCMEQ(22, 16, 21)
	a.AND(22, 22, 17)
	a.FCMEQ(23, 18, 21)
	a.AND(23, 23, 19)
	a.FMAX(8, 22, 23)
	a.FMAXV(8, 8) // F8 = largest candidate (> 0 if a positive one exists)
	a.FMIN(9, 22, 23)
	a.FMINV(9, 9) // F9 = smallest (< 0 if a negative one exists)
	a.I("FCMPS $(0.0), F8")
	a.I("BLE %s", a.Lbl("neg"))
	a.I("FCMPS $(0.0), F9")
	a.I("BLT %s", a.Lbl("first"))
	a.I("FMOVS F8, F10")
	a.I("B %s", a.Lbl("scale"))
	a.Label("neg")
	a.I("FMOVS F9, F10")
	a.I("B %s", a.Lbl("scale"))
	a.Label("first") // both signs reach amax: the first such value wins
	a.I("MOVD R5, R7")
	a.Label("find")
	a.I("FMOVS.P 4(R7), F10")
	a.I("FABSS F10, F11")
	a.I("FCMPS F20, F11")
	a.I("BNE %s", a.Lbl("find"))
	a.Label("scale")           // F10 = max
	a.I("FDIVS F10, F29, F28") // iscale = −127/max
	a.I("FDIVS F28, F30, F11") // d = 1/iscale
	a.I("FMOVS F11, (R0)")
	a.I("ADD $4, R0")
	a.I("ADD $256, R0, R6")
	a.I("MOVD R5, R1")
	a.I("MOVD $16, R3")
	a.Label("quant")
	a.I("VLD1.P 64(R1), %s", V(0).L4S(4))
	for i := V(0); i < 4; i++ {
		a.FMULE(4+i, i, 28, 0)
		a.FADD(4+i, 4+i, 24)
		a.AND(4+i, 4+i, 25)
		a.SUB4S(4+i, 4+i, 26)
		a.SMIN(4+i, 4+i, 27)
	}
	a.XTN32(8, 4)
	a.XTN232(8, 5)
	a.XTN32(9, 6)
	a.XTN232(9, 7)
	a.XTN16(10, 8)
	a.XTN216(10, 9)
	a.I("VST1.P [V10.B16], 16(R0)")
	a.SADDLV8(11, 10)
	a.I("VST1.P V11.H[0], 2(R6)")
	a.I("SUBS $1, R3")
	a.I("BNE %s", a.Lbl("quant"))
	a.I("MOVD R6, R0")
	a.I("B %s", a.Lbl("next"))
	a.Label("zero") // all zero: 292 zero bytes
	a.Zero(0)
	a.Zero(1)
	a.Zero(2)
	a.Zero(3)
	for i := 0; i < 4; i++ {
		a.I("VST1.P %s, 64(R0)", V(0).L4S(4))
	}
	a.I("VST1.P %s, 32(R0)", V(0).L4S(2))
	a.I("MOVW ZR, (R0)")
	a.I("ADD $4, R0")
	a.Label("next")
	a.I("SUBS $1, R2")
	a.I("BNE %s", a.Lbl("block"))
	a.Label("done")
	a.I("RET")
}
