package main

import "fmt"

// divergo's int formats (kernels/int_arm64.go): W·A8 and weight-only row
// kernels for the group layouts whose 32-value activation blocks map onto
// whole bytes of the payload, and run decoders for every layout.
//
// Layouts (docs/FORMATS.md): a group of G values is d f32, [lo f32],
// payload. int8: G bytes, value j in byte j. int4 (also int3, int2):
// ⌈G/2⌉ bytes, value j < h = ⌈G/2⌉ in the low nibble of byte j, value
// j ≥ h in the high nibble of byte j−h. The kernels take:
//   - "i8": int8 with G a multiple of 32 (blocks of 32 bytes);
//   - "pair": int4 with G = 32 (16 bytes: low nibbles values 0–15, high
//     nibbles 16–31, as q4_0);
//   - "halves": int4 with G a multiple of 64 (the first G/64 blocks are
//     the low nibbles of 32-byte runs, the next G/64 the high nibbles of
//     the same runs).

type intKind struct {
	id     string // Go name part
	layout string // i8, pair, halves
	asym   bool
}

var intKinds = []intKind{
	{"I8S", "i8", false}, {"I8A", "i8", true},
	{"I4SPair", "pair", false}, {"I4APair", "pair", true},
	{"I4SHalves", "halves", false}, {"I4AHalves", "halves", true},
}

func genInt() *Asm {
	a := &Asm{}
	a.Header(`NEON bodies of divergo's int formats (kernels/int_arm64.go): W·A8 row
kernels with SDOT and with SMULL/SADALP, weight-only row kernels, and
run decoders.`)
	for _, k := range intKinds {
		for _, rows := range []int{4, 1} {
			genIntAct(a, k, rows, true)
			genIntAct(a, k, rows, false)
			genIntDot(a, k, rows)
		}
	}
	genIntDecode(a)
	return a
}

// intBlocks emits the block loop of one group: body(load) runs once per
// 32-value block with load(r, w0, w1) putting row r's 32 weights as bytes
// into w0, w1. R10 counts, R11 holds G/2 (the halves rewind).
func intBlocks(a *Asm, k intKind, rp []R, body func(load func(r int, w0, w1 V))) {
	nib := func(r int, w0, w1 V, hi bool) {
		a.I("VLD1.P 32(%s), [V%d.B16, V%d.B16]", rp[r], w0, w1)
		if hi {
			a.USHR16B(w0, w0, 4)
			a.USHR16B(w1, w1, 4)
		} else {
			a.AND(w0, w0, 25)
			a.AND(w1, w1, 25)
		}
		if !k.asym {
			a.SUB16B(w0, w0, 26)
			a.SUB16B(w1, w1, 26)
		}
	}
	switch k.layout {
	case "i8":
		a.I("MOVD R6, R10")
		a.Label("blk")
		body(func(r int, w0, w1 V) {
			a.I("VLD1.P 32(%s), [V%d.B16, V%d.B16]", rp[r], w0, w1)
			if k.asym {
				a.EOR(w0, w0, 27)
				a.EOR(w1, w1, 27)
			}
		})
		a.I("SUBS $1, R10")
		a.I("BNE %s", a.Lbl("blk"))
	case "pair":
		body(func(r int, w0, w1 V) {
			a.I("VLD1.P 16(%s), [V%d.B16]", rp[r], w0)
			a.USHR16B(w1, w0, 4)
			a.AND(w0, w0, 25)
			if !k.asym {
				a.SUB16B(w0, w0, 26)
				a.SUB16B(w1, w1, 26)
			}
		})
	case "halves":
		for pass, hi := range []bool{false, true} {
			a.I("LSR $1, R6, R10")
			lbl := fmt.Sprintf("half%d", pass)
			a.Label(lbl)
			body(func(r int, w0, w1 V) { nib(r, w0, w1, hi) })
			a.I("SUBS $1, R10")
			a.I("BNE %s", a.Lbl(lbl))
			if !hi {
				for _, p := range rp {
					a.I("SUB R11, %s", p)
				}
			}
		}
	}
}

// intRowPointers sets the row pointers; R6 holds the block count per
// group, so the rows use R5, R7, R8, R12.
func intRowPointers(a *Asm, rows int) []R {
	regs := []R{5, 7, 8, 12}
	rp := regs[:rows]
	for r := range rp {
		if r == 0 {
			a.I("MOVD R1, %s", rp[r])
		} else {
			a.I("ADD R2, %s, %s", rp[r-1], rp[r])
		}
	}
	return rp
}

func intConsts(a *Asm, k intKind) {
	if k.layout != "i8" {
		a.Const16B(25, 0x0f)
		if !k.asym {
			a.Const16B(26, 8)
		}
	}
	if k.layout == "i8" && k.asym {
		a.Const16B(27, 0x80)
	}
	if k.layout == "halves" {
		a.I("LSL $4, R6, R11") // G/2 = 16·(G/32) bytes
	}
}

func genIntAct(a *Asm, k intKind, rows int, sdot bool) {
	variant := "MULL"
	if sdot {
		variant = "SDOT"
	}
	name := fmt.Sprintf("gemvAct%sx%d%s", k.id, rows, variant)
	kind, note := "symmetric", ""
	if k.asym {
		kind = "asymmetric"
		if k.layout == "i8" {
			note = "\nint8 asym codes u enter the integer dot as u−128 (EOR 0x80), 128·s added back."
		}
	}
	a.Func(name, "dst *float32, w *byte, stride int, xq *byte, ng int, nbg int", fmt.Sprintf(`%s writes for %d row(s) the W·A8 dot of ng whole groups of 32·nbg
values (%s layout, %s) with act8 blocks, bit for bit the generic dotAct:
per block the integer sum, acc += db·isum (accS += db·s), per group
sum += d·acc (+ lo·accS), the rows in the lanes.%s
R1 w, R2 stride, R3 xq, R4 groups, R6 blocks per group, R10 block
counter, R11 G/2 bytes, R5/R7/R8/R12 rows; V0–V7 weights, V8–V9
activations, V10–V13 integer sums, V14–V15 scratch, V16 db, V17 s,
V18 128·s, V19 d, V20 lo, V21 acc, V22 accS, V23 sum, V24 s as float,
V25 0x0f, V26 8, V27 0x80.`, name, rows, k.layout, kind, note))
	a.Arg("dst", 0)
	a.Arg("w", 1)
	a.Arg("stride", 2)
	a.Arg("xq", 3)
	a.Arg("ng", 4)
	a.Arg("nbg", 6)
	intConsts(a, k)
	rp := intRowPointers(a, rows)
	a.Zero(23)
	a.I("CBZ R4, %s", a.Lbl("done"))
	a.Label("group")
	for r, p := range rp {
		a.I("VLD1.P 4(%s), %s", p, V(19).S(r))
	}
	if k.asym {
		for r, p := range rp {
			a.I("VLD1.P 4(%s), %s", p, V(20).S(r))
		}
	}
	a.Zero(21)
	a.Zero(22)
	intBlocks(a, k, rp, func(load func(r int, w0, w1 V)) {
		a.I("VLD1.P 4(R3), %s", V(16).S(0))
		a.I("VLD1.P 4(R3), %s", V(17).S(0))
		a.I("VLD1.P 32(R3), [V8.B16, V9.B16]")
		sums := make([]V, rows)
		for r := range rp {
			w0, w1 := V(2*r), V(2*r+1)
			load(r, w0, w1)
			sums[r] = V(10 + r)
			if k.layout == "i8" {
				idot16(a, sdot, sums[r], w0, 8, 14, 15, true)
				idot16(a, sdot, sums[r], w1, 9, 14, 15, false)
			} else {
				idot32small(a, sdot, sums[r], w0, w1, 8, 9, 14)
			}
		}
		combineRows(a, sums, true)
		if k.layout == "i8" && k.asym {
			a.DupS(18, 17, 0)
			a.SHL4S(18, 18, 7)
			a.ADD4S(10, 10, 18)
		}
		a.SCVTF(10, 10)
		a.FMULE(10, 10, 16, 0)
		a.FADD(21, 21, 10)
		if k.asym {
			a.SCVTF(24, 17)
			a.FMULE(24, 24, 16, 0)
			a.FADD(22, 22, 24)
		}
	})
	a.FMUL(24, 19, 21)
	a.FADD(23, 23, 24)
	if k.asym {
		a.FMULE(24, 20, 22, 0)
		a.FADD(23, 23, 24)
	}
	a.I("SUBS $1, R4")
	a.I("BNE %s", a.Lbl("group"))
	a.Label("done")
	storeRows(a, rows, 23)
	a.I("RET")
}

// widenFMAU is widenFMA for unsigned bytes.
func widenFMAU(a *Asm, w V, x []V, acc, t0, t1, t2, t3 V) {
	a.I("VUXTL %s, %s", w.B8(), t0.H8())
	a.I("VUXTL2 %s, %s", w.B16(), t1.H8())
	for h, src := range []V{t0, t1} {
		a.I("VUXTL %s, %s", src.H4(), t2.S4())
		a.I("VUXTL2 %s, %s", src.H8(), t3.S4())
		a.UCVTF(t2, t2)
		a.UCVTF(t3, t3)
		a.FMLA(acc, t2, x[2*h])
		a.FMLA(acc, t3, x[2*h+1])
	}
}

func genIntDot(a *Asm, k intKind, rows int) {
	name := fmt.Sprintf("gemv%sx%dNEON", k.id, rows)
	a.Func(name, "dst *float32, w *byte, stride int, x *float32, ng int, nbg int", fmt.Sprintf(`%s writes for %d row(s) Σ over ng whole groups of 32·nbg values (%s
layout) of d·Σ w·x (+ lo·Σ x): the weight-only dot.
R1 w, R2 stride, R3 x, R4 groups, R6 blocks per group, R10 block counter,
R11 G/2 bytes, R5/R7/R8/R12 rows; V0–V7 x, V8–V9 weights, V10–V11
scratch, V12–V15 widened weights, V16–V19 group sums, V20–V23 totals,
V24 Σx of the group, V25 0x0f, V26 8, V27 0x80 (unused), V28 d, V29 lo.`, name, rows, k.layout))
	a.Arg("dst", 0)
	a.Arg("w", 1)
	a.Arg("stride", 2)
	a.Arg("x", 3)
	a.Arg("ng", 4)
	a.Arg("nbg", 6)
	kk := k
	if k.layout == "i8" {
		kk.asym = false // unsigned bytes are widened as such, no EOR
	}
	intConsts(a, kk)
	rp := intRowPointers(a, rows)
	for r := range rp {
		a.Zero(V(20 + r))
	}
	a.I("CBZ R4, %s", a.Lbl("done"))
	a.Label("group")
	for r, p := range rp {
		a.I("VLD1.P 4(%s), %s", p, V(28).S(r))
	}
	if k.asym {
		for r, p := range rp {
			a.I("VLD1.P 4(%s), %s", p, V(29).S(r))
		}
		a.Zero(24)
	}
	for r := range rp {
		a.Zero(V(16 + r))
	}
	intBlocks(a, kk, rp, func(load func(r int, w0, w1 V)) {
		a.I("VLD1.P 64(R3), %s", V(0).L4S(4))
		a.I("VLD1.P 64(R3), %s", V(4).L4S(4))
		if k.asym {
			a.FADD(12, 0, 1)
			a.FADD(13, 2, 3)
			a.FADD(14, 4, 5)
			a.FADD(15, 6, 7)
			a.FADD(12, 12, 13)
			a.FADD(14, 14, 15)
			a.FADD(24, 24, 12)
			a.FADD(24, 24, 14)
		}
		for r := range rp {
			load(r, 8, 9)
			if k.layout == "i8" && k.asym {
				widenFMAU(a, 8, []V{0, 1, 2, 3}, V(16+r), 12, 13, 14, 15)
				widenFMAU(a, 9, []V{4, 5, 6, 7}, V(16+r), 12, 13, 14, 15)
			} else {
				widenFMA(a, 8, []V{0, 1, 2, 3}, V(16+r), 12, 13, 14, 15)
				widenFMA(a, 9, []V{4, 5, 6, 7}, V(16+r), 12, 13, 14, 15)
			}
		}
	})
	for r := range rp {
		a.FMLAE(V(20+r), V(16+r), 28, r)
		if k.asym {
			a.FMLAE(V(20+r), 24, 29, r)
		}
	}
	a.I("SUBS $1, R4")
	a.I("BNE %s", a.Lbl("group"))
	a.Label("done")
	tot := make([]V, rows)
	for r := range tot {
		tot[r] = V(20 + r)
	}
	combineRows(a, tot, false)
	storeRows(a, rows, 20)
	a.I("RET")
}

// genIntDecode emits the run decoders: n (multiple of 16) values from
// consecutive payload bytes, x = d·w or (d·u) + lo, each product rounded.
func genIntDecode(a *Asm) {
	for _, d := range []struct {
		id, src string
		asym    bool
		nib     int // 0: int8 bytes, 1: low nibbles, 2: high nibbles
	}{
		{"I8S", "int8 codes q: d·q", false, 0},
		{"I8A", "uint8 codes u: (d·u) + lo", true, 0},
		{"I4SLo", "low nibbles u: d·(u−8)", false, 1},
		{"I4SHi", "high nibbles u: d·(u−8)", false, 2},
		{"I4ALo", "low nibbles u: (d·u) + lo", true, 1},
		{"I4AHi", "high nibbles u: (d·u) + lo", true, 2},
	} {
		name := "decode" + d.id + "NEON"
		a.Func(name, "dst *float32, p *byte, n int, d float32, lo float32", fmt.Sprintf(`%s decodes n (multiple of 16) values from the bytes at p, %s.
R0 dst, R1 p, R2 count; V0–V3 values, V4 bytes, V5–V6 halfwords, V16 d,
V17 lo, V25 0x0f, V26 8.`, name, d.src))
		a.Arg("dst", 0)
		a.Arg("p", 1)
		a.Arg("n", 2)
		a.ArgF("d", 16)
		a.ArgF("lo", 17)
		a.DupS(17, 17, 0)
		a.Const16B(25, 0x0f)
		a.Const16B(26, 8)
		a.I("CBZ R2, %s", a.Lbl("done"))
		a.Label("loop")
		a.I("VLD1.P 16(R1), [V4.B16]")
		switch d.nib {
		case 1:
			a.AND(4, 4, 25)
		case 2:
			a.USHR16B(4, 4, 4)
		}
		signed := !d.asym
		if d.nib != 0 && !d.asym {
			a.SUB16B(4, 4, 26)
		}
		widenBytes(a, 4, 0, 5, 6, signed)
		for o := V(0); o < 4; o++ {
			a.FMULE(o, o, 16, 0)
			if d.asym {
				a.FADD(o, o, 17)
			}
		}
		a.I("VST1.P %s, 64(R0)", V(0).L4S(4))
		a.I("SUBS $16, R2")
		a.I("BNE %s", a.Lbl("loop"))
		a.Label("done")
		a.I("RET")
	}
}
