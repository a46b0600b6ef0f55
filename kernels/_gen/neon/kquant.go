package main

import "fmt"

// The k-quants q4_K, q5_K, q6_K (kernels/kquant_arm64.go): W·A8 row kernels
// and decoders.
//
// ggml's generic k-quant dots, which the reference reproduces, keep eight
// integer accumulators aux[l] over the values whose index is l mod 8 and
// scale each into its own float lane. SDOT sums four adjacent bytes, which
// belong to four different lanes, so it cannot produce aux[] without a
// byte permutation per operand; SMULL/SMLAL produce it directly: the eight
// 16-bit lanes of SMULL over 8 bytes are exactly the eight index classes.
// Per 32 values a row takes four SMULL/SMLAL (class sums of four products,
// < 2¹⁵ in 16 bits) and two SMLAL by element with the sub-block scale
// (widening to the 32-bit aux). The kernels therefore have one variant,
// the same with and without dotprod.

func genKQuant() *Asm {
	a := &Asm{}
	a.Header(`NEON bodies of the k-quants q4_K, q5_K, q6_K (kernels/kquant_arm64.go):
bit-exact W·A8 row kernels (SMULL/SMLAL into the eight index-class lanes
of the generic code) and decoders.`)
	for _, rows := range []int{2, 1} {
		genK45Act(a, false, rows)
		genK45Act(a, true, rows)
		genQ6KAct(a, rows)
	}
	genK45Dequant(a, false)
	genK45Dequant(a, true)
	genQ6KDequant(a)
	return a
}

// unpackScales reads the 12 scale bytes at row pointer r (advancing it)
// and leaves the eight 6-bit scales as halfwords in sc and the eight mins
// in mn (get_scale_min_k4), using R10–R17.
func unpackScales(a *Asm, r R, sc, mn V) {
	a.I("MOVWU (%s), R10", r)
	a.I("MOVWU 4(%s), R11", r)
	a.I("MOVWU 8(%s), R12", r)
	a.I("ADD $12, %s", r)
	a.I("ANDW $0x3f3f3f3f, R10, R13") // sc 0–3
	a.I("ANDW $0x0f0f0f0f, R12, R14")
	a.I("LSRW $6, R10, R15")
	a.I("ANDW $0x03030303, R15, R15")
	a.I("ORRW R15<<4, R14, R14")      // sc 4–7
	a.I("ANDW $0x3f3f3f3f, R11, R16") // m 0–3
	a.I("LSRW $4, R12, R17")
	a.I("ANDW $0x0f0f0f0f, R17, R17")
	a.I("LSRW $6, R11, R15")
	a.I("ANDW $0x03030303, R15, R15")
	a.I("ORRW R15<<4, R17, R17") // m 4–7
	a.I("ORR R14<<32, R13, R13")
	a.I("ORR R17<<32, R16, R16")
	a.I("VMOV R13, %s", sc.D(0))
	a.I("VMOV R16, %s", mn.D(0))
	a.I("VUXTL %s, %s", sc.B8(), sc.H8())
	a.I("VUXTL %s, %s", mn.B8(), mn.H8())
}

// fifthBit ORs into w the bit b of each byte of qh, moved to bit 4, via t
// (b10 holds 0x10 bytes).
func fifthBit(a *Asm, w, qh, t, b10 V, b int) {
	switch {
	case b < 4:
		a.SHL16B(t, qh, 4-b)
	case b > 4:
		a.USHR16B(t, qh, b-4)
	default:
		a.Mov(t, qh)
	}
	a.AND(t, t, b10)
	a.ORR(w, w, t)
}

// classMul adds to acc16 (8 halfword lanes, value index mod 8) the products
// of the 32 code bytes w0:w1 with the activation bytes x0:x1.
func classMul(a *Asm, acc, w0, w1, x0, x1 V) {
	a.SMULL8(acc, w0, x0)
	a.SMLAL28(acc, w0, x0)
	a.SMLAL8(acc, w1, x1)
	a.SMLAL28(acc, w1, x1)
}

func genK45Act(a *Asm, q5 bool, rows int) {
	id, bb := "Q4K", 144
	if q5 {
		id, bb = "Q5K", 176
	}
	name := fmt.Sprintf("gemvAct%sx%dNEON", id, rows)
	a.Func(name, "dst *float32, w *byte, stride int, xq *byte, nb int", fmt.Sprintf(`%s computes the W·A8 dot of %d %s row(s) (%d-byte blocks) with q8_K
activations as ggml_vec_dot_%s_q8_K_generic, and writes per row r the
eight lane sums sums[0…7] to dst[12r…12r+7] and sumf to dst[12r+8]; the
caller adds them in lane order (addLanes).
Per 64 values and row: 32 code bytes split into nibbles (plus fifth bits),
two class-lane products (classMul) and four SMLAL by the sub-block scales.
R1 w, R2 stride, R3 xq, R4 blocks, R5–R6 rows, R10–R17 scale unpacking;
V0–V3 activation bytes of 64 values, V4–V5 scales of rows 0–1 (halfwords),
V6–V9 codes, V10–V11 qh, V12 class sums, V13 scratch, V14 0x0f, V15 0x10,
V16–V19 aux (row r: V16+2r lanes 0–3, V17+2r lanes 4–7), V20–V23 sums,
V24 sumf (lane r), V25 d, V26 dmin, V27 dy, V28–V29 mins, V30–V31 bsums.`, name, rows, id, bb, map[bool]string{false: "q4_K", true: "q5_K"}[q5]))
	a.Arg("dst", 0)
	a.Arg("w", 1)
	a.Arg("stride", 2)
	a.Arg("xq", 3)
	a.Arg("nb", 4)
	a.Const16B(14, 0x0f)
	a.Const16B(15, 0x10)
	rp := rowPointers(a, rows)
	for v := V(20); v < 25; v++ {
		a.Zero(v)
	}
	a.I("CBZ R4, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1.P 4(R3), %s", V(27).S(0))
	a.I("ADD $256, R3, R8")
	a.I("VLD1 (R8), [V30.H8, V31.H8]")
	for r, p := range rp {
		a.I("VLD1.P 2(%s), %s", p, V(25).H(r))
		a.I("VLD1.P 2(%s), %s", p, V(26).H(r))
		unpackScales(a, p, V(4+r), V(28+r))
	}
	for v := V(16); v < 20; v++ {
		a.Zero(v)
	}
	for j := 0; j < 4; j++ {
		a.I("VLD1.P 64(R3), %s", V(0).L16B(4))
		for r, p := range rp {
			if q5 {
				a.I("VLD1 (%s), [V10.B16, V11.B16]", p)
			}
			qs := p
			if q5 {
				// codes follow the 32 qh bytes
				a.I("ADD $%d, %s, R9", 32+32*j, p)
				qs = 9
				a.I("VLD1 (R9), [V6.B16, V7.B16]")
			} else {
				a.I("VLD1.P 32(%s), [V6.B16, V7.B16]", qs)
			}
			a.USHR16B(8, 6, 4)
			a.USHR16B(9, 7, 4)
			a.AND(6, 6, 14)
			a.AND(7, 7, 14)
			if q5 {
				fifthBit(a, 6, 10, 13, 15, 2*j)
				fifthBit(a, 7, 11, 13, 15, 2*j)
				fifthBit(a, 8, 10, 13, 15, 2*j+1)
				fifthBit(a, 9, 11, 13, 15, 2*j+1)
			}
			sc := V(4 + r)
			lo, hi := V(16+2*r), V(17+2*r)
			classMul(a, 12, 6, 7, 0, 1)
			a.SMLALE(lo, 12, sc, 2*j)
			a.SMLAL2E(hi, 12, sc, 2*j)
			classMul(a, 12, 8, 9, 2, 3)
			a.SMLALE(lo, 12, sc, 2*j+1)
			a.SMLAL2E(hi, 12, sc, 2*j+1)
		}
	}
	if q5 {
		for _, p := range rp {
			a.I("ADD $160, %s", p) // qh and qs
		}
	}
	a.I("ADD $32, R3") // bsums
	// Σ bsums[j]·m[j/2] per row, into lane r of V6.
	for r := range rp {
		mn := V(28 + r)
		a.I("VZIP1 %s, %s, V12.H8", mn.H8(), mn.H8())
		a.I("VZIP2 %s, %s, V13.H8", mn.H8(), mn.H8())
		t := V(6 + r)
		a.SMULL16(t, 30, 12)
		a.SMLAL216(t, 30, 12)
		a.SMLAL16(t, 31, 13)
		a.SMLAL216(t, 31, 13)
	}
	if rows == 2 {
		a.ADDP4S(6, 6, 7)
		a.ADDP4S(6, 6, 6)
	} else {
		a.ADDP4S(6, 6, 6)
		a.ADDP4S(6, 6, 6)
	}
	a.SCVTF(6, 6)
	a.FCVTL(25, 25)
	a.FCVTL(26, 26)
	a.FMULE(25, 25, 27, 0) // d = d_w·dy
	a.FMULE(26, 26, 27, 0) // dmin·dy
	a.FMUL(6, 26, 6)
	a.FSUB(24, 24, 6)
	for r := range rp {
		for h := V(0); h < 2; h++ {
			aux, sum := V(16+2*r)+h, V(20+2*r)+h
			a.SCVTF(aux, aux)
			a.FMULE(aux, aux, 25, r)
			a.FADD(sum, sum, aux)
		}
	}
	a.I("SUBS $1, R4")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	storeLanes(a, rows)
	a.I("RET")
}

// storeLanes writes per row r the sums V20+2r, V21+2r to dst[12r…] and
// lane r of V24 to dst[12r+8].
func storeLanes(a *Asm, rows int) {
	a.I("MOVD dst+0(FP), R0")
	for r := 0; r < rows; r++ {
		a.I("VST1 [V%d.S4, V%d.S4], (R0)", 20+2*r, 21+2*r)
		a.I("ADD $32, R0, R9")
		a.I("VST1 %s, (R9)", V(24).S(r))
		a.I("ADD $48, R0")
	}
}

func genQ6KAct(a *Asm, rows int) {
	name := fmt.Sprintf("gemvActQ6Kx%dNEON", rows)
	a.Func(name, "dst *float32, w *byte, stride int, xq *byte, nb int", fmt.Sprintf(`%s computes the W·A8 dot of %d q6_K row(s) (210-byte blocks) with q8_K
activations as ggml_vec_dot_q6_K_q8_K_generic, writing the eight lane sums
and sumf (0 here) per row as the q4_K kernel.
Per 16 values and row: the 6-bit codes from ql/qh (AND, shifts, ORR,
−32), one SMULL + SMLAL2 into the class lanes, two SMLAL by the int8
sub-block scale.
R1 w, R2 stride, R3 xq, R4 blocks, R5–R6 rows, R7 scales; V0–V3 ql,
V4–V5 qh of the current row, V6 activation bytes, V7 codes, V8–V9 scales
of rows 0–1 (halfwords), V10 class sums, V11 scratch, V12 0x0f, V13 0x30,
V14 32, V16–V19 aux, V20–V23 sums, V24 zero (sumf), V25 d, V27 dy.`, name, rows))
	a.Arg("dst", 0)
	a.Arg("w", 1)
	a.Arg("stride", 2)
	a.Arg("xq", 3)
	a.Arg("nb", 4)
	a.Const16B(12, 0x0f)
	a.Const16B(13, 0x30)
	a.Const16B(14, 32)
	rp := rowPointers(a, rows)
	for v := V(20); v < 25; v++ {
		a.Zero(v)
	}
	a.I("CBZ R4, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1.P 4(R3), %s", V(27).S(0))
	for r, p := range rp {
		a.I("ADD $208, %s, R9", p)
		a.I("VLD1 (R9), %s", V(25).H(r))
	}
	for v := V(16); v < 20; v++ {
		a.Zero(v)
	}
	for h := 0; h < 2; h++ {
		for r, p := range rp {
			sc := V(8 + r)
			// The eight int8 scales of this half, sign-extended.
			a.I("ADD $%d, %s, R7", 192+8*h-64*h, p) // p has advanced 64h bytes of ql
			a.I("VLD1 (R7), [%s]", sc.B8())
			a.SXTL8(sc, sc)
			a.I("VLD1.P 64(%s), %s", p, V(0).L16B(4)) // ql[0…63] of this half
			a.I("ADD $%d, %s, R7", 128+32*h-64*(h+1), p)
			a.I("VLD1 (R7), [V4.B16, V5.B16]") // qh[0…31] of this half
			lo, hi := V(16+2*r), V(17+2*r)
			// Kind k of value l+32k (l < 32): nibble of ql[l] (k even) or
			// ql[l+32] (k odd), low (k < 2) or high; qh bits 2k, 2k+1.
			for k := 0; k < 4; k++ {
				for s := 0; s < 2; s++ { // l < 16, l ≥ 16
					ql := V(2*(k%2) + s)
					qh := V(4 + s)
					if k < 2 {
						a.AND(7, ql, 12)
					} else {
						a.USHR16B(7, ql, 4)
					}
					switch k {
					case 0:
						a.SHL16B(11, qh, 4)
					case 1:
						a.SHL16B(11, qh, 2)
					case 2:
						a.Mov(11, qh)
					case 3:
						a.USHR16B(11, qh, 2)
					}
					a.AND(11, 11, 13)
					a.ORR(7, 7, 11)
					a.SUB16B(7, 7, 14)
					// activations q8[128h + 32k + 16s …]
					a.I("ADD $%d, R3, R7", 128*h+32*k+16*s)
					a.I("VLD1 (R7), [V6.B16]")
					a.SMULL8(10, 7, 6)
					a.SMLAL28(10, 7, 6)
					a.SMLALE(lo, 10, sc, s+2*k)
					a.SMLAL2E(hi, 10, sc, s+2*k)
				}
			}
		}
	}
	for _, p := range rp {
		a.I("ADD $82, %s", p) // qh, scales, d
	}
	a.I("ADD $288, R3") // qs and bsums
	a.FCVTL(25, 25)
	a.FMULE(25, 25, 27, 0)
	for r := range rp {
		for h := V(0); h < 2; h++ {
			aux, sum := V(16+2*r)+h, V(20+2*r)+h
			a.SCVTF(aux, aux)
			a.FMULE(aux, aux, 25, r)
			a.FADD(sum, sum, aux)
		}
	}
	a.I("SUBS $1, R4")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	storeLanes(a, rows)
	a.I("RET")
}

// widenBytes converts the 16 bytes of w (signed or unsigned) to floats in
// o…o+3 via t0, t1.
func widenBytes(a *Asm, w, o, t0, t1 V, signed bool) {
	if signed {
		a.SXTL8(t0, w)
		a.SXTL28(t1, w)
		a.SXTL16(o, t0)
		a.SXTL216(o+1, t0)
		a.SXTL16(o+2, t1)
		a.SXTL216(o+3, t1)
	} else {
		a.I("VUXTL %s, %s", w.B8(), t0.H8())
		a.I("VUXTL2 %s, %s", w.B16(), t1.H8())
		a.I("VUXTL %s, %s", t0.H4(), V(o).S4())
		a.I("VUXTL2 %s, %s", t0.H8(), V(o+1).S4())
		a.I("VUXTL %s, %s", t1.H4(), V(o+2).S4())
		a.I("VUXTL2 %s, %s", t1.H8(), V(o+3).S4())
	}
	for i := V(0); i < 4; i++ {
		a.SCVTF(o+i, o+i)
	}
}

func genK45Dequant(a *Asm, q5 bool) {
	id, fam := "Q4K", "q4_K"
	if q5 {
		id, fam = "Q5K", "q5_K"
	}
	name := fmt.Sprintf("dequant%sNEON", id)
	a.Func(name, "dst *float32, src *byte, nb int", fmt.Sprintf(`%s decodes nb %s blocks: y = (d·sc)·q − dmin·m per 32-value sub-block, each
product rounded (dequantize_row_%s).
R0 dst, R1 src, R2 blocks, R10–R17 scale unpacking; V0–V7 values,
V8–V9 codes of 64 values, V10–V11 qh, V12–V13 nibbles, V14 0x0f, V15 0x10,
V16–V17 d·sc, V18–V19 dmin·m, V20 d and dmin, V21–V22 scales and mins,
V25 scratch, V26–V27 the sub-block's d·sc and dmin·m, V28–V29 halfwords.`, name, fam, fam))
	a.Arg("dst", 0)
	a.Arg("src", 1)
	a.Arg("nb", 2)
	a.Const16B(14, 0x0f)
	a.Const16B(15, 0x10)
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("VLD1.P 2(R1), %s", V(20).H(0))
	a.I("VLD1.P 2(R1), %s", V(20).H(1))
	unpackScales(a, 1, 21, 22)
	a.FCVTL(20, 20)
	for i, src := range []V{21, 22} {
		o := V(16 + 2*i)
		a.I("VUXTL %s, %s", src.H4(), o.S4())
		a.I("VUXTL2 %s, %s", src.H8(), (o + 1).S4())
		a.UCVTF(o, o)
		a.UCVTF(o+1, o+1)
		a.FMULE(o, o, 20, i)
		a.FMULE(o+1, o+1, 20, i)
	}
	if q5 {
		a.I("VLD1.P 32(R1), [V10.B16, V11.B16]")
	}
	for j := 0; j < 4; j++ {
		a.I("VLD1.P 32(R1), [V8.B16, V9.B16]")
		// low nibbles: values 64j…64j+31; high nibbles: 64j+32…64j+63
		for half := 0; half < 2; half++ {
			if half == 0 {
				a.AND(12, 8, 14)
				a.AND(13, 9, 14)
			} else {
				a.USHR16B(12, 8, 4)
				a.USHR16B(13, 9, 4)
			}
			if q5 {
				fifthBit(a, 12, 10, 25, 15, 2*j+half)
				fifthBit(a, 13, 11, 25, 15, 2*j+half)
			}
			s := 2*j + half
			a.DupS(26, V(16+s/4), s%4)
			a.DupS(27, V(18+s/4), s%4)
			widenBytes(a, 12, 0, 28, 29, false)
			widenBytes(a, 13, 4, 28, 29, false)
			for o := V(0); o < 8; o++ {
				a.FMUL(o, o, 26)
				a.FSUB(o, o, 27)
			}
			a.I("VST1.P %s, 64(R0)", V(0).L4S(4))
			a.I("VST1.P %s, 64(R0)", V(4).L4S(4))
		}
	}
	a.I("SUBS $1, R2")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	a.I("RET")
}

func genQ6KDequant(a *Asm) {
	a.Func("dequantQ6KNEON", "dst *float32, src *byte, nb int", `dequantQ6KNEON decodes nb q6_K blocks: y = (d·sc)·q per 16-value
sub-block, each product rounded (dequantize_row_q6_K).
R0 dst, R1 src, R2 blocks, R3 block start; V0–V3 values, V8–V11 ql,
V12–V13 qh, V14–V15 d·sc of the half, V16 d, V20 0x0f, V21 0x30, V22 32,
V23 codes, V24 scratch, V25–V26 halfwords, V27 the sub-block's d·sc.`)
	a.Arg("dst", 0)
	a.Arg("src", 1)
	a.Arg("nb", 2)
	a.Const16B(20, 0x0f)
	a.Const16B(21, 0x30)
	a.Const16B(22, 32)
	a.I("CBZ R2, %s", a.Lbl("done"))
	a.Label("loop")
	a.I("ADD $208, R1, R9")
	a.I("VLD1 (R9), %s", V(16).H(0))
	a.FCVTL(16, 16)
	for h := 0; h < 2; h++ {
		a.I("ADD $%d, R1, R9", 192+8*h)
		a.I("VLD1 (R9), [V14.B8]")
		a.SXTL8(14, 14)
		a.SXTL216(15, 14)
		a.SXTL16(14, 14)
		a.SCVTF(14, 14)
		a.SCVTF(15, 15)
		a.FMULE(14, 14, 16, 0)
		a.FMULE(15, 15, 16, 0)
		a.I("ADD $%d, R1, R9", 64*h)
		a.I("VLD1 (R9), %s", V(8).L16B(4))
		a.I("ADD $%d, R1, R9", 128+32*h)
		a.I("VLD1 (R9), [V12.B16, V13.B16]")
		for k := 0; k < 4; k++ {
			for s := 0; s < 2; s++ {
				ql, qh := V(8+2*(k%2)+s), V(12+s)
				if k < 2 {
					a.AND(23, ql, 20)
				} else {
					a.USHR16B(23, ql, 4)
				}
				switch k {
				case 0:
					a.SHL16B(24, qh, 4)
				case 1:
					a.SHL16B(24, qh, 2)
				case 2:
					a.Mov(24, qh)
				case 3:
					a.USHR16B(24, qh, 2)
				}
				a.AND(24, 24, 21)
				a.ORR(23, 23, 24)
				a.SUB16B(23, 23, 22)
				sub := s + 2*k
				a.DupS(27, V(14+sub/4), sub%4)
				widenBytes(a, 23, 0, 25, 26, true)
				for o := V(0); o < 4; o++ {
					a.FMUL(o, o, 27)
				}
				a.I("VST1.P %s, 64(R0)", V(0).L4S(4))
			}
		}
	}
	a.I("ADD $210, R1")
	a.I("SUBS $1, R2")
	a.I("BNE %s", a.Lbl("loop"))
	a.Label("done")
	a.I("RET")
}
