package main

import "fmt"

// The ggml 32-value block formats (kernels/q32_arm64.go): W·A8 row kernels
// (SDOT and SMULL/SADALP variants), weight-only row kernels and decoders.

type q32Format struct {
	name   string // q8_0 …
	id     string // Q8_0 … (Go name part)
	bb, ab int    // weight and activation block bytes
	nib    bool   // 4-bit codes (q4_x, q5_x) rather than int8 (q8_0)
	qh     bool   // a 32-bit mask of fifth bits (q5_x)
	min    bool   // an f16 offset m after d (q4_1, q5_1; activations q8_1)
	offset byte   // code bias subtracted (8 for q4_0, 16 for q5_0)
}

var q32Formats = []q32Format{
	{"q8_0", "Q8_0", 34, 34, false, false, false, 0},
	{"q4_0", "Q4_0", 18, 34, true, false, false, 8},
	{"q4_1", "Q4_1", 20, 36, true, false, true, 0},
	{"q5_0", "Q5_0", 22, 34, true, true, false, 16},
	{"q5_1", "Q5_1", 24, 36, true, true, true, 0},
}

// q32Consts are the byte tables of the fifth-bit expansion: TBL indices
// spreading qh bytes 0,1 (and 2,3) over 8 lanes each, and the bit of each lane.
func q32Consts(a *Asm) {
	var tbl []byte
	for _, v := range []byte{0, 1, 2, 3} {
		for i := 0; i < 8; i++ {
			tbl = append(tbl, v)
		}
	}
	for i := 0; i < 16; i++ {
		tbl = append(tbl, 1<<(i%8))
	}
	a.Data("q5bits", tbl)
}

// loadQ5Consts loads the TBL indices into lo, hi and the bit table into bits.
func loadQ5Consts(a *Asm, lo, hi, bits V) {
	a.I("MOVD $q5bits<>(SB), R9")
	a.I("VLD1.P 32(R9), [V%d.B16, V%d.B16]", lo, hi)
	if hi != lo+1 {
		panic("q5 tables need consecutive registers")
	}
	a.I("VLD1 (R9), [V%d.B16]", bits)
}

// q32Regs names the registers a weight decode uses.
type q32Regs struct {
	nib0F, off     V // 0x0f bytes, the bias bytes
	tlo, thi, bits V // fifth-bit tables
	b10            V // 0x10 bytes
	qh, tmp        V // scratch
}

// decodeQ32 loads the codes of one block of row pointer r (after its
// scales) into w0 (values 0–15) and w1 (16–31) as bytes: signed values
// for q8_0/q4_0/q5_0, unsigned for q4_1/q5_1.
func decodeQ32(a *Asm, f q32Format, r R, w0, w1 V, g q32Regs) {
	if f.qh {
		a.I("VLD1.P 4(%s), %s", r, g.qh.S(0))
	}
	if !f.nib {
		a.I("VLD1.P 32(%s), [V%d.B16, V%d.B16]", r, w0, w1)
		if w1 != w0+1 {
			panic("q8_0 codes need consecutive registers")
		}
		return
	}
	a.I("VLD1.P 16(%s), [V%d.B16]", r, w0)
	a.USHR16B(w1, w0, 4)
	a.AND(w0, w0, g.nib0F)
	if f.qh {
		for i, w := range []V{w0, w1} {
			t := g.tlo
			if i == 1 {
				t = g.thi
			}
			a.I("VTBL %s, [%s], %s", t.B16(), g.qh.B16(), g.tmp.B16())
			a.CMTST16B(g.tmp, g.tmp, g.bits)
			a.AND(g.tmp, g.tmp, g.b10)
			a.ORR(w, w, g.tmp)
		}
	}
	if f.offset != 0 {
		a.SUB16B(w0, w0, g.off)
		a.SUB16B(w1, w1, g.off)
	}
}

func q32LoadConsts(a *Asm, f q32Format, g q32Regs) {
	if f.nib {
		a.Const16B(g.nib0F, 0x0f)
	}
	if f.offset != 0 {
		a.Const16B(g.off, f.offset)
	}
	if f.qh {
		loadQ5Consts(a, g.tlo, g.thi, g.bits)
		a.Const16B(g.b10, 0x10)
	}
}

func genQ32() *Asm {
	a := &Asm{}
	a.Header(`NEON bodies of the ggml 32-value block formats q8_0, q4_0, q4_1, q5_0,
q5_1 (kernels/q32_arm64.go): W·A8 row kernels with SDOT and with
SMULL/SADALP, weight-only row kernels, decoders.`)
	q32Consts(a)
	for _, f := range q32Formats {
		for _, rows := range []int{1, 4} {
			genQ32Act(a, f, rows, true)
			genQ32Act(a, f, rows, false)
			genQ32Dot(a, f, rows)
		}
		genQ32Dequant(a, f)
	}
	return a
}

// rowPointers sets R5… to w + r·stride (w in R1, stride in R2).
func rowPointers(a *Asm, rows int) []R {
	rp := make([]R, rows)
	for r := range rp {
		rp[r] = R(5 + r)
		if r == 0 {
			a.I("MOVD R1, %s", rp[r])
		} else {
			a.I("ADD R2, %s, %s", rp[r-1], rp[r])
		}
	}
	return rp
}

// idot16 adds to the int32 lanes of acc the products of the signed bytes
// of w and x (16 each): one SDOT, or SMULL/SMULL2 and two pairwise
// accumulations (t0, t1 scratch). first means acc holds nothing yet.
func idot16(a *Asm, sdot bool, acc, w, x, t0, t1 V, first bool) {
	if sdot {
		if first {
			a.Zero(acc)
		}
		a.SDOT(acc, w, x)
		return
	}
	a.SMULL8(t0, w, x)
	a.SMULL28(t1, w, x)
	if first {
		a.SADDLP16(acc, t0)
	} else {
		a.SADALP16(acc, t0)
	}
	a.SADALP16(acc, t1)
}

// idot32small is idot16 over two register pairs for codes of at most 5
// bits: the four 16-bit partial products of a lane stay below 2¹⁵, so
// they are summed in 16 bits (SMLAL) before one widening pairwise add.
func idot32small(a *Asm, sdot bool, acc, w0, w1, x0, x1, t V) {
	if sdot {
		a.Zero(acc)
		a.SDOT(acc, w0, x0)
		a.SDOT(acc, w1, x1)
		return
	}
	a.SMULL8(t, w0, x0)
	a.SMLAL28(t, w0, x0)
	a.SMLAL8(t, w1, x1)
	a.SMLAL28(t, w1, x1)
	a.SADDLP16(acc, t)
}

// combineRows leaves in lane r of v[0] the sum of the lanes of v[r].
func combineRows(a *Asm, v []V, ints bool) {
	add := a.FADDP
	if ints {
		add = a.ADDP4S
	}
	if len(v) == 1 {
		add(v[0], v[0], v[0])
		add(v[0], v[0], v[0])
		return
	}
	add(v[0], v[0], v[1])
	add(v[2], v[2], v[3])
	add(v[0], v[0], v[2])
}

func genQ32Act(a *Asm, f q32Format, rows int, sdot bool) {
	variant, how := "MULL", "SMULL/SMLAL and SADALP (no dotprod)"
	if sdot {
		variant, how = "SDOT", "SDOT"
	}
	name := fmt.Sprintf("gemvAct%sx%d%s", f.id, rows, variant)
	var order string
	switch f.name {
	case "q8_0", "q5_0":
		order = "sumf += float32(sumi)·(dx·dy)"
	case "q4_0":
		order = "sumf += (float32(sumi)·dx)·dy"
	default:
		order = "sumf += (dx·dy)·float32(sumi) + m·s"
	}
	a.Func(name, "dst *float32, w *byte, stride int, xq *byte, nb int", fmt.Sprintf(`%s writes dst[r] = DotAct(w + r·stride, xq, 32·nb) for %d %s row(s),
bit for bit the generic body: per block the integer sum (%s), then
%s with the rows in the lanes, one block at a time.
R1 w, R2 stride, R3 xq, R4 blocks, R5… rows; V0–V7 codes (2 per row),
V8–V9 activations, V10–V13 integer sums, V14–V15 scratch, V16 dx, V17 m,
V18 dy and s, V19–V20 float terms, V21 qh, V25… constants, V31 sums.`, name, rows, f.name, how, order))
	a.Arg("dst", 0)
	a.Arg("w", 1)
	a.Arg("stride", 2)
	a.Arg("xq", 3)
	a.Arg("nb", 4)
	g := q32Regs{nib0F: 25, off: 26, tlo: 27, thi: 28, bits: 29, b10: 30, qh: 21, tmp: 19}
	q32LoadConsts(a, f, g)
	rp := rowPointers(a, rows)
	a.Zero(31)
	a.I("CBZ R4, %s", a.Lbl("done"))
	a.Label("loop")
	for r := range rp {
		a.I("VLD1.P 2(%s), %s", rp[r], V(16).H(r))
		if f.min {
			a.I("VLD1.P 2(%s), %s", rp[r], V(17).H(r))
		}
	}
	a.I("VLD1.P 2(R3), %s", V(18).H(0))
	if f.min {
		a.I("VLD1.P 2(R3), %s", V(18).H(1))
	}
	a.I("VLD1.P 32(R3), [V8.B16, V9.B16]")
	sums := make([]V, rows)
	for r := range rp {
		w0, w1 := V(2*r), V(2*r+1)
		decodeQ32(a, f, rp[r], w0, w1, g)
		sums[r] = V(10 + r)
		if f.nib {
			idot32small(a, sdot, sums[r], w0, w1, 8, 9, 14)
		} else {
			idot16(a, sdot, sums[r], w0, 8, 14, 15, true)
			idot16(a, sdot, sums[r], w1, 9, 14, 15, false)
		}
	}
	combineRows(a, sums, true)
	a.SCVTF(10, 10)
	a.FCVTL(16, 16)
	a.FCVTL(18, 18)
	switch f.name {
	case "q8_0", "q5_0":
		a.FMULE(19, 16, 18, 0)
		a.FMUL(19, 10, 19)
	case "q4_0":
		a.FMUL(19, 10, 16)
		a.FMULE(19, 19, 18, 0)
	default:
		a.FMULE(19, 16, 18, 0)
		a.FMUL(19, 19, 10)
		a.FCVTL(17, 17)
		a.FMULE(20, 17, 18, 1)
		a.FADD(19, 19, 20)
	}
	a.FADD(31, 31, 19)
	a.I("SUBS $1, R4")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	storeRows(a, rows, 31)
	a.I("RET")
}

// storeRows writes the first rows lanes of v to dst (R0).
func storeRows(a *Asm, rows int, v V) {
	a.I("MOVD dst+0(FP), R0")
	if rows == 1 {
		a.I("FMOVS F%d, (R0)", v)
	} else {
		a.I("VST1 [V%d.S4], (R0)", v)
	}
}

// widenFMA converts the 16 signed bytes of w to floats and multiplies-adds
// them with x[0…3] (four vectors) into acc, through t0–t3.
func widenFMA(a *Asm, w V, x []V, acc, t0, t1, t2, t3 V) {
	a.SXTL8(t0, w)
	a.SXTL28(t1, w)
	for h, src := range []V{t0, t1} {
		a.SXTL16(t2, src)
		a.SXTL216(t3, src)
		a.SCVTF(t2, t2)
		a.SCVTF(t3, t3)
		a.FMLA(acc, t2, x[2*h])
		a.FMLA(acc, t3, x[2*h+1])
	}
}

func genQ32Dot(a *Asm, f q32Format, rows int) {
	name := fmt.Sprintf("gemv%sx%dNEON", f.id, rows)
	a.Func(name, "dst *float32, w *byte, stride int, x *float32, nb int", fmt.Sprintf(`%s writes dst[r] = Dot(w + r·stride, x) for %d %s row(s) and 32·nb
float activations: per block the codes widened to floats and multiplied-
added with x, then scaled by d (and m·Σx added) into the row's total.
R1 w, R2 stride, R3 x, R4 blocks, R5… rows; V0–V7 x, V8–V9 codes,
V10 qh, V11 scratch, V12–V15 widened codes, V16–V19 block sums,
V20–V23 totals, V24 d, V25 m, V26 Σx of the block (or the code bias),
V27… constants.`, name, rows, f.name))
	a.Arg("dst", 0)
	a.Arg("w", 1)
	a.Arg("stride", 2)
	a.Arg("x", 3)
	a.Arg("nb", 4)
	g := q32Regs{nib0F: 27, off: 26, tlo: 28, thi: 29, bits: 30, b10: 31, qh: 10, tmp: 11}
	q32LoadConsts(a, f, g)
	rp := rowPointers(a, rows)
	for r := range rp {
		a.Zero(V(20 + r))
	}
	a.I("CBZ R4, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1.P 64(R3), %s", V(0).L4S(4))
	a.I("VLD1.P 64(R3), %s", V(4).L4S(4))
	if f.min {
		a.FADD(12, 0, 1)
		a.FADD(13, 2, 3)
		a.FADD(14, 4, 5)
		a.FADD(15, 6, 7)
		a.FADD(12, 12, 13)
		a.FADD(14, 14, 15)
		a.FADD(26, 12, 14)
	}
	for r := range rp {
		a.I("VLD1.P 2(%s), %s", rp[r], V(24).H(r))
		if f.min {
			a.I("VLD1.P 2(%s), %s", rp[r], V(25).H(r))
		}
		decodeQ32(a, f, rp[r], 8, 9, g)
		acc := V(16 + r)
		a.Zero(acc)
		widenFMA(a, 8, []V{0, 1, 2, 3}, acc, 12, 13, 14, 15)
		widenFMA(a, 9, []V{4, 5, 6, 7}, acc, 12, 13, 14, 15)
	}
	a.FCVTL(24, 24)
	for r := range rp {
		a.FMLAE(V(20+r), V(16+r), 24, r)
	}
	if f.min {
		a.FCVTL(25, 25)
		for r := range rp {
			a.FMLAE(V(20+r), 26, 25, r)
		}
	}
	a.I("SUBS $1, R4")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	tot := make([]V, rows)
	for r := range tot {
		tot[r] = V(20 + r)
	}
	combineRows(a, tot, false)
	storeRows(a, rows, 20)
	a.I("RET")
}

func genQ32Dequant(a *Asm, f q32Format) {
	name := fmt.Sprintf("dequant%sNEON", f.id)
	expr := "d·q"
	if f.min {
		expr = "(d·q) + m, rounded twice as the generic code"
	}
	a.Func(name, "dst *float32, src *byte, nb int", fmt.Sprintf(`%s decodes nb %s blocks: y = %s.
R0 dst, R1 src, R2 blocks; V0–V7 values, V8–V9 codes, V10 qh, V11
scratch, V12–V13 halfwords, V16 d, V17 m, V25… constants.`, name, f.name, expr))
	a.Arg("dst", 0)
	a.Arg("src", 1)
	a.Arg("nb", 2)
	g := q32Regs{nib0F: 25, off: 26, tlo: 27, thi: 28, bits: 29, b10: 30, qh: 10, tmp: 11}
	q32LoadConsts(a, f, g)
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1.P 2(R1), %s", V(16).H(0))
	if f.min {
		a.I("VLD1.P 2(R1), %s", V(17).H(0))
	}
	decodeQ32(a, f, 1, 8, 9, g)
	a.FCVTL(16, 16)
	if f.min {
		a.FCVTL(17, 17)
		a.DupS(17, 17, 0)
	}
	for i, w := range []V{8, 9} {
		a.SXTL8(12, w)
		a.SXTL28(13, w)
		for h, src := range []V{12, 13} {
			o := V(4*i + 2*h)
			a.SXTL16(o, src)
			a.SXTL216(o+1, src)
		}
	}
	for o := V(0); o < 8; o++ {
		a.SCVTF(o, o)
		a.FMULE(o, o, 16, 0)
		if f.min {
			a.FADD(o, o, 17)
		}
	}
	a.I("VST1.P %s, 64(R0)", V(0).L4S(4))
	a.I("VST1.P %s, 64(R0)", V(4).L4S(4))
	a.I("SUBS $1, R2")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	a.I("RET")
}
