package main

import "fmt"

// Encoders of the Advanced SIMD instructions the Go assembler does not know
// (ENGINE-NOTES §3.3). Each takes registers in GNU operand order
// (destination first) and emits WORD $enc with the GNU spelling, which
// `go run . -verify` checks against llvm-mc. Base encodings are those of the
// instruction with every register 0 (Arm ARM, C7 "A64 SIMD&FP instructions").

func g(v V, t string) string { return fmt.Sprintf("v%d.%s", int(v), t) }

// rdnm puts Rd, Rn and Rm into a three-register encoding.
func rdnm(base uint32, d, n, m V) uint32 {
	return base | uint32(m&31)<<16 | uint32(n&31)<<5 | uint32(d&31)
}

func rdn(base uint32, d, n V) uint32 { return base | uint32(n&31)<<5 | uint32(d&31) }

// elemS encodes a by-element form with 32-bit elements: Rm in bits 16–20,
// index in H (bit 11) : L (bit 21).
func elemS(base uint32, d, n, m V, idx int) uint32 {
	if idx < 0 || idx > 3 {
		panic("element index")
	}
	return rdnm(base, d, n, m) | uint32(idx&1)<<21 | uint32(idx>>1)<<11
}

// elemH encodes a by-element form with 16-bit elements: Rm in bits 16–19
// (V0–V15 only), index in H (11) : L (21) : M (20).
func elemH(base uint32, d, n, m V, idx int) uint32 {
	if m > 15 {
		panic("16-bit by-element operand must be V0–V15")
	}
	if idx < 0 || idx > 7 {
		panic("element index")
	}
	return rdnm(base, d, n, m) | uint32(idx>>2)<<11 | uint32(idx>>1&1)<<21 | uint32(idx&1)<<20
}

// Floating point, four single lanes.

func (a *Asm) FADD(d, n, m V) {
	a.W(rdnm(0x4e20d400, d, n, m), fmt.Sprintf("fadd %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) FSUB(d, n, m V) {
	a.W(rdnm(0x4ea0d400, d, n, m), fmt.Sprintf("fsub %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) FMUL(d, n, m V) {
	a.W(rdnm(0x6e20dc00, d, n, m), fmt.Sprintf("fmul %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) FDIV(d, n, m V) {
	a.W(rdnm(0x6e20fc00, d, n, m), fmt.Sprintf("fdiv %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) FMAX(d, n, m V) {
	a.W(rdnm(0x4e20f400, d, n, m), fmt.Sprintf("fmax %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) FMIN(d, n, m V) {
	a.W(rdnm(0x4ea0f400, d, n, m), fmt.Sprintf("fmin %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) FADDP(d, n, m V) {
	a.W(rdnm(0x6e20d400, d, n, m), fmt.Sprintf("faddp %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) FCMGT(d, n, m V) {
	a.W(rdnm(0x6ea0e400, d, n, m), fmt.Sprintf("fcmgt %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) FCMEQ(d, n, m V) {
	a.W(rdnm(0x4e20e400, d, n, m), fmt.Sprintf("fcmeq %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}

// FMLA is d += n·m (fused); the Go assembler has it as VFMLA.
func (a *Asm) FMLA(d, n, m V) { a.I("VFMLA %s, %s, %s", m.S4(), n.S4(), d.S4()) }

// FMLS is d −= n·m (fused).
func (a *Asm) FMLS(d, n, m V) { a.I("VFMLS %s, %s, %s", m.S4(), n.S4(), d.S4()) }

func (a *Asm) FADD2D(d, n, m V) {
	a.W(rdnm(0x4e60d400, d, n, m), fmt.Sprintf("fadd %s, %s, %s", g(d, "2d"), g(n, "2d"), g(m, "2d")))
}
func (a *Asm) FADDP2D(d, n, m V) {
	a.W(rdnm(0x6e60d400, d, n, m), fmt.Sprintf("faddp %s, %s, %s", g(d, "2d"), g(n, "2d"), g(m, "2d")))
}

// By element.

func (a *Asm) FMULE(d, n, m V, i int) {
	a.W(elemS(0x4f809000, d, n, m, i), fmt.Sprintf("fmul %s, %s, v%d.s[%d]", g(d, "4s"), g(n, "4s"), int(m), i))
}
func (a *Asm) FMLAE(d, n, m V, i int) {
	a.W(elemS(0x4f801000, d, n, m, i), fmt.Sprintf("fmla %s, %s, v%d.s[%d]", g(d, "4s"), g(n, "4s"), int(m), i))
}

// Unary.

func (a *Asm) FABS(d, n V) {
	a.W(rdn(0x4ea0f800, d, n), fmt.Sprintf("fabs %s, %s", g(d, "4s"), g(n, "4s")))
}
func (a *Asm) FNEG(d, n V) {
	a.W(rdn(0x6ea0f800, d, n), fmt.Sprintf("fneg %s, %s", g(d, "4s"), g(n, "4s")))
}
func (a *Asm) FRINTN(d, n V) {
	a.W(rdn(0x4e218800, d, n), fmt.Sprintf("frintn %s, %s", g(d, "4s"), g(n, "4s")))
}
func (a *Asm) FCVTZS(d, n V) {
	a.W(rdn(0x4ea1b800, d, n), fmt.Sprintf("fcvtzs %s, %s", g(d, "4s"), g(n, "4s")))
}

// FCVTAS converts to int32 rounding to nearest, ties away from zero (C's
// roundf followed by a saturating conversion, as Go's int32(float32)).
func (a *Asm) FCVTAS(d, n V) {
	a.W(rdn(0x4e21c800, d, n), fmt.Sprintf("fcvtas %s, %s", g(d, "4s"), g(n, "4s")))
}
func (a *Asm) SCVTF(d, n V) {
	a.W(rdn(0x4e21d800, d, n), fmt.Sprintf("scvtf %s, %s", g(d, "4s"), g(n, "4s")))
}
func (a *Asm) UCVTF(d, n V) {
	a.W(rdn(0x6e21d800, d, n), fmt.Sprintf("ucvtf %s, %s", g(d, "4s"), g(n, "4s")))
}

// Conversions between widths.

func (a *Asm) FCVTL(d, n V) {
	a.W(rdn(0x0e217800, d, n), fmt.Sprintf("fcvtl %s, %s", g(d, "4s"), g(n, "4h")))
}
func (a *Asm) FCVTL2(d, n V) {
	a.W(rdn(0x4e217800, d, n), fmt.Sprintf("fcvtl2 %s, %s", g(d, "4s"), g(n, "8h")))
}
func (a *Asm) FCVTLD(d, n V) {
	a.W(rdn(0x0e617800, d, n), fmt.Sprintf("fcvtl %s, %s", g(d, "2d"), g(n, "2s")))
}
func (a *Asm) FCVTL2D(d, n V) {
	a.W(rdn(0x4e617800, d, n), fmt.Sprintf("fcvtl2 %s, %s", g(d, "2d"), g(n, "4s")))
}
func (a *Asm) FCVTN(d, n V) {
	a.W(rdn(0x0e216800, d, n), fmt.Sprintf("fcvtn %s, %s", g(d, "4h"), g(n, "4s")))
}
func (a *Asm) FCVTN2(d, n V) {
	a.W(rdn(0x4e216800, d, n), fmt.Sprintf("fcvtn2 %s, %s", g(d, "8h"), g(n, "4s")))
}

// Integer.

// SDOT adds to each int32 lane of d the four products of the signed bytes
// of n and m in that lane (ARMv8.2 dotprod).
func (a *Asm) SDOT(d, n, m V) {
	a.W(rdnm(0x4e809400, d, n, m), fmt.Sprintf("sdot %s, %s, %s", g(d, "4s"), g(n, "16b"), g(m, "16b")))
}
func (a *Asm) SMULL8(d, n, m V) {
	a.W(rdnm(0x0e20c000, d, n, m), fmt.Sprintf("smull %s, %s, %s", g(d, "8h"), g(n, "8b"), g(m, "8b")))
}
func (a *Asm) SMULL28(d, n, m V) {
	a.W(rdnm(0x4e20c000, d, n, m), fmt.Sprintf("smull2 %s, %s, %s", g(d, "8h"), g(n, "16b"), g(m, "16b")))
}
func (a *Asm) SMLAL8(d, n, m V) {
	a.W(rdnm(0x0e208000, d, n, m), fmt.Sprintf("smlal %s, %s, %s", g(d, "8h"), g(n, "8b"), g(m, "8b")))
}
func (a *Asm) SMLAL28(d, n, m V) {
	a.W(rdnm(0x4e208000, d, n, m), fmt.Sprintf("smlal2 %s, %s, %s", g(d, "8h"), g(n, "16b"), g(m, "16b")))
}

// SMLALE / SMLAL2E: d.4s += n.4h (low / high half of n.8h) × m.h[i].
func (a *Asm) SMLALE(d, n, m V, i int) {
	a.W(elemH(0x0f402000, d, n, m, i), fmt.Sprintf("smlal %s, %s, v%d.h[%d]", g(d, "4s"), g(n, "4h"), int(m), i))
}
func (a *Asm) SMLAL2E(d, n, m V, i int) {
	a.W(elemH(0x4f402000, d, n, m, i), fmt.Sprintf("smlal2 %s, %s, v%d.h[%d]", g(d, "4s"), g(n, "8h"), int(m), i))
}

// SMULL16 / SMLAL16 / SMLAL216: 16×16 → 32-bit lanes.
func (a *Asm) SMULL16(d, n, m V) {
	a.W(rdnm(0x0e60c000, d, n, m), fmt.Sprintf("smull %s, %s, %s", g(d, "4s"), g(n, "4h"), g(m, "4h")))
}
func (a *Asm) SMLAL16(d, n, m V) {
	a.W(rdnm(0x0e608000, d, n, m), fmt.Sprintf("smlal %s, %s, %s", g(d, "4s"), g(n, "4h"), g(m, "4h")))
}
func (a *Asm) SMLAL216(d, n, m V) {
	a.W(rdnm(0x4e608000, d, n, m), fmt.Sprintf("smlal2 %s, %s, %s", g(d, "4s"), g(n, "8h"), g(m, "8h")))
}

func (a *Asm) SADALP8(d, n V) {
	a.W(rdn(0x4e206800, d, n), fmt.Sprintf("sadalp %s, %s", g(d, "8h"), g(n, "16b")))
}
func (a *Asm) SADALP16(d, n V) {
	a.W(rdn(0x4e606800, d, n), fmt.Sprintf("sadalp %s, %s", g(d, "4s"), g(n, "8h")))
}
func (a *Asm) SADDLP8(d, n V) {
	a.W(rdn(0x4e202800, d, n), fmt.Sprintf("saddlp %s, %s", g(d, "8h"), g(n, "16b")))
}
func (a *Asm) SADDLP16(d, n V) {
	a.W(rdn(0x4e602800, d, n), fmt.Sprintf("saddlp %s, %s", g(d, "4s"), g(n, "8h")))
}

// SADDLV8 writes to h-register d the sum of the 16 signed bytes of n.
func (a *Asm) SADDLV8(d, n V) {
	a.W(rdn(0x4e303800, d, n), fmt.Sprintf("saddlv h%d, %s", int(d), g(n, "16b")))
}

// SADDLV16 writes to s-register d the sum of the 8 signed halfwords of n.
func (a *Asm) SADDLV16(d, n V) {
	a.W(rdn(0x4e703800, d, n), fmt.Sprintf("saddlv s%d, %s", int(d), g(n, "8h")))
}

// SXTL8 / SXTL28: sign-extend the low / high 8 bytes to halfwords.
func (a *Asm) SXTL8(d, n V) {
	a.W(rdn(0x0f08a400, d, n), fmt.Sprintf("sshll %s, %s, #0", g(d, "8h"), g(n, "8b")))
}
func (a *Asm) SXTL28(d, n V) {
	a.W(rdn(0x4f08a400, d, n), fmt.Sprintf("sshll2 %s, %s, #0", g(d, "8h"), g(n, "16b")))
}
func (a *Asm) SXTL16(d, n V) {
	a.W(rdn(0x0f10a400, d, n), fmt.Sprintf("sshll %s, %s, #0", g(d, "4s"), g(n, "4h")))
}
func (a *Asm) SXTL216(d, n V) {
	a.W(rdn(0x4f10a400, d, n), fmt.Sprintf("sshll2 %s, %s, #0", g(d, "4s"), g(n, "8h")))
}

// XTN / XTN2: truncate each lane to half its width (low / high half of d).
func (a *Asm) XTN16(d, n V) {
	a.W(rdn(0x0e212800, d, n), fmt.Sprintf("xtn %s, %s", g(d, "8b"), g(n, "8h")))
}
func (a *Asm) XTN216(d, n V) {
	a.W(rdn(0x4e212800, d, n), fmt.Sprintf("xtn2 %s, %s", g(d, "16b"), g(n, "8h")))
}
func (a *Asm) XTN32(d, n V) {
	a.W(rdn(0x0e612800, d, n), fmt.Sprintf("xtn %s, %s", g(d, "4h"), g(n, "4s")))
}
func (a *Asm) XTN232(d, n V) {
	a.W(rdn(0x4e612800, d, n), fmt.Sprintf("xtn2 %s, %s", g(d, "8h"), g(n, "4s")))
}

func (a *Asm) SMIN(d, n, m V) {
	a.W(rdnm(0x4ea06c00, d, n, m), fmt.Sprintf("smin %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) MUL(d, n, m V) {
	a.W(rdnm(0x4ea09c00, d, n, m), fmt.Sprintf("mul %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) MLA(d, n, m V) {
	a.W(rdnm(0x4ea09400, d, n, m), fmt.Sprintf("mla %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}
func (a *Asm) MULE(d, n, m V, i int) {
	a.W(elemS(0x4f808000, d, n, m, i), fmt.Sprintf("mul %s, %s, v%d.s[%d]", g(d, "4s"), g(n, "4s"), int(m), i))
}
func (a *Asm) MLAE(d, n, m V, i int) {
	a.W(elemS(0x6f800000, d, n, m, i), fmt.Sprintf("mla %s, %s, v%d.s[%d]", g(d, "4s"), g(n, "4s"), int(m), i))
}
func (a *Asm) CMHI(d, n, m V) {
	a.W(rdnm(0x6ea03400, d, n, m), fmt.Sprintf("cmhi %s, %s, %s", g(d, "4s"), g(n, "4s"), g(m, "4s")))
}

// FMAXV writes to s-register d the largest of the four lanes of n.
func (a *Asm) FMAXV(d, n V) {
	a.W(rdn(0x6e30f800, d, n), fmt.Sprintf("fmaxv s%d, %s", int(d), g(n, "4s")))
}

// FMINS / FMAXS (scalar) exist in Go as FMINS/FMAXS; FCSEL likewise.

// Native vector instructions, Go syntax, GNU operand order in the API.

func (a *Asm) ADD4S(d, n, m V)  { a.I("VADD %s, %s, %s", m.S4(), n.S4(), d.S4()) }
func (a *Asm) SUB4S(d, n, m V)  { a.I("VSUB %s, %s, %s", m.S4(), n.S4(), d.S4()) }
func (a *Asm) ADD16B(d, n, m V) { a.I("VADD %s, %s, %s", m.B16(), n.B16(), d.B16()) }
func (a *Asm) SUB16B(d, n, m V) { a.I("VSUB %s, %s, %s", m.B16(), n.B16(), d.B16()) }
func (a *Asm) ADD8H(d, n, m V)  { a.I("VADD %s, %s, %s", m.H8(), n.H8(), d.H8()) }
func (a *Asm) AND(d, n, m V)    { a.I("VAND %s, %s, %s", m.B16(), n.B16(), d.B16()) }
func (a *Asm) ORR(d, n, m V)    { a.I("VORR %s, %s, %s", m.B16(), n.B16(), d.B16()) }
func (a *Asm) EOR(d, n, m V)    { a.I("VEOR %s, %s, %s", m.B16(), n.B16(), d.B16()) }

// BSL: d = (d & n) | (^d & m); BIT: d = (n & m) | (d & ^m) (insert n where m is set).
func (a *Asm) BSL(d, n, m V) { a.I("VBSL %s, %s, %s", m.B16(), n.B16(), d.B16()) }
func (a *Asm) BIT(d, n, m V) { a.I("VBIT %s, %s, %s", m.B16(), n.B16(), d.B16()) }

// ADDP4S: pairwise add of the concatenation n:m.
func (a *Asm) ADDP4S(d, n, m V) { a.I("VADDP %s, %s, %s", m.S4(), n.S4(), d.S4()) }
func (a *Asm) ADDP8H(d, n, m V) { a.I("VADDP %s, %s, %s", m.H8(), n.H8(), d.H8()) }

func (a *Asm) USHR16B(d, n V, s int) { a.I("VUSHR $%d, %s, %s", s, n.B16(), d.B16()) }
func (a *Asm) USHR4S(d, n V, s int)  { a.I("VUSHR $%d, %s, %s", s, n.S4(), d.S4()) }
func (a *Asm) SHL16B(d, n V, s int)  { a.I("VSHL $%d, %s, %s", s, n.B16(), d.B16()) }
func (a *Asm) SHL4S(d, n V, s int)   { a.I("VSHL $%d, %s, %s", s, n.S4(), d.S4()) }

// CMTST16B: d = 0xff where n & m != 0.
func (a *Asm) CMTST16B(d, n, m V) { a.I("VCMTST %s, %s, %s", m.B16(), n.B16(), d.B16()) }

// Zero sets v to 0.
func (a *Asm) Zero(v V) { a.I("VEOR %s, %s, %s", v.B16(), v.B16(), v.B16()) }

// Mov copies n to d.
func (a *Asm) Mov(d, n V) { a.I("VMOV %s, %s", n.B16(), d.B16()) }

// DupS broadcasts lane i of n to the four lanes of d.
func (a *Asm) DupS(d, n V, i int) { a.I("VDUP %s, %s", n.S(i), d.S4()) }

// DupR broadcasts the low 32 bits of r to the four lanes of d.
func (a *Asm) DupR(d V, r R) { a.I("VDUP %s, %s", r, d.S4()) }

// Const16B broadcasts an 8-bit constant.
func (a *Asm) Const16B(d V, c byte) { a.I("VMOVI $%d, %s", c, d.B16()) }

// Const4S broadcasts a 32-bit constant through the general register tmp.
func (a *Asm) Const4S(d V, c uint32, tmp R) {
	a.I("MOVW $0x%08x, %s", c, tmp)
	a.DupR(d, tmp)
}

// SHLL / SHLL2: widen the low / high four halfwords, shifted left by 16.
func (a *Asm) SHLL16(d, n V) {
	a.W(rdn(0x2e613800, d, n), fmt.Sprintf("shll %s, %s, #16", g(d, "4s"), g(n, "4h")))
}
func (a *Asm) SHLL216(d, n V) {
	a.W(rdn(0x6e613800, d, n), fmt.Sprintf("shll2 %s, %s, #16", g(d, "4s"), g(n, "8h")))
}

// SSHR4S: arithmetic shift right of each int32 lane by s (1…32).
func (a *Asm) SSHR4S(d, n V, s int) {
	a.W(rdn(0x4f000400|uint32(64-s)<<16, d, n), fmt.Sprintf("sshr %s, %s, #%d", g(d, "4s"), g(n, "4s"), s))
}

// FMINV writes to s-register d the smallest of the four lanes of n.
func (a *Asm) FMINV(d, n V) {
	a.W(rdn(0x6eb0f800, d, n), fmt.Sprintf("fminv s%d, %s", int(d), g(n, "4s")))
}
