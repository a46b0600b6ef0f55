//go:build !noasm

#include "textflag.h"
#include "go_asm.h"

// AVX-512 VNNI W·A8 GEMM tile of the int formats (whole groups of G = 32k
// values); Go side in int_amd64.go. As for the 32-value block formats
// (q32_vnni_amd64.s), rows are packed into eight-lane panels, codes
// transposed to [group of 4][lane][4 bytes] per 32-value block, so that
// VPDPBUSD with a broadcast token dword adds four products to every row;
// sym formats carry the offset code (int8: 128, int4: 8) in lane 7 and
// subtract that lane. The float terms follow the generic body per lane:
// per block acc += float32(d_x·isum), per group sum += float32(d_w·acc)
// and, asym, sum += float32(lo·accS) with accS precomputed per token.
//
// Panel layout per group: d[8] float32, (asym) lo[8], then bpg blocks of
// 256 code bytes.

#define BCAST32(imm, Y, X) \
	MOVL imm, R11; \
	VMOVD R11, X; \
	VPBROADCASTD X, Y

// Tokens: R8 token 0, R10 token 4 (advanced 40 bytes per block), R12 the
// token stride, R13 3·stride.
#define TOK0(off) off(R8)
#define TOK1(off) off(R8)(R12*1)
#define TOK2(off) off(R8)(R12*2)
#define TOK3(off) off(R8)(R13*1)
#define TOK4(off) off(R10)
#define TOK5(off) off(R10)(R12*1)
#define TOK6(off) off(R10)(R12*2)
#define TOK7(off) off(R10)(R13*1)

#define GROUP4(woff, xoff) \
	VMOVDQU woff(DI), Y0; \
	VPDPBUSD.BCST TOK0(xoff), Y0, Y16; \
	VPDPBUSD.BCST TOK1(xoff), Y0, Y17; \
	VPDPBUSD.BCST TOK2(xoff), Y0, Y18; \
	VPDPBUSD.BCST TOK3(xoff), Y0, Y19; \
	VPDPBUSD.BCST TOK4(xoff), Y0, Y20; \
	VPDPBUSD.BCST TOK5(xoff), Y0, Y21; \
	VPDPBUSD.BCST TOK6(xoff), Y0, Y22; \
	VPDPBUSD.BCST TOK7(xoff), Y0, Y23

#define CORR(S) \
	VPERMD S, Y6, Y1; \
	VPSUBD Y1, S, S

// BLOCKF(T, S, F): F += float32(d_x·float32(S)), d_x the token's block scale.
#define BLOCKF(T, S, F) \
	VBROADCASTSS T(0), Y1; \
	VCVTDQ2PS S, Y2; \
	VMULPS Y1, Y2, Y2; \
	VADDPS Y2, F, F

// GROUPD(F, SUM): SUM += float32(d_w·F).
#define GROUPD(F, SUM) \
	VMULPS Y7, F, Y2; \
	VADDPS Y2, SUM, SUM

// GROUPLO(t, SUM): SUM += float32(lo·accS[t]).
#define GROUPLO(t, SUM) \
	VBROADCASTSS 4*t(R9), Y1; \
	VMULPS Y7, Y1, Y1; \
	VADDPS Y1, SUM, SUM

// func gemmActIntVNNI(a *intTile)
//
// DX args, SI panel group, DI codes of the block, CX groups left, BX
// blocks left, R9 accS of the group (asym), R14 sym flag, R15 asym flag.
// Y16–Y23 int sums of tokens 0–7, Y24–Y31 their group accumulators,
// Y8–Y15 their sums, Y0 codes, Y1–Y2 scratch, Y6 lane-7 index, Y7 d or lo.
TEXT ·gemmActIntVNNI(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), DX
	MOVQ intTile_pw(DX), SI
	MOVQ intTile_xq(DX), R8
	MOVQ intTile_xqStride(DX), R12
	LEAQ (R12)(R12*2), R13
	LEAQ (R8)(R12*4), R10
	MOVQ intTile_accS(DX), R9
	MOVQ intTile_ng(DX), CX
	MOVQ intTile_sym(DX), R14
	MOVQ intTile_asym(DX), R15
	BCAST32($7, Y6, X6)
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	TESTQ CX, CX
	JLE itdone

itgrp:
	VXORPS Y24, Y24, Y24
	VXORPS Y25, Y25, Y25
	VXORPS Y26, Y26, Y26
	VXORPS Y27, Y27, Y27
	VXORPS Y28, Y28, Y28
	VXORPS Y29, Y29, Y29
	VXORPS Y30, Y30, Y30
	VXORPS Y31, Y31, Y31
	LEAQ 32(SI), DI
	TESTQ R15, R15
	JEQ  itcodes
	ADDQ $32, DI

itcodes:
	MOVQ intTile_bpg(DX), BX

itblk:
	VPXORD Y16, Y16, Y16
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	VPXORD Y20, Y20, Y20
	VPXORD Y21, Y21, Y21
	VPXORD Y22, Y22, Y22
	VPXORD Y23, Y23, Y23
	GROUP4(0, 8)
	GROUP4(32, 12)
	GROUP4(64, 16)
	GROUP4(96, 20)
	GROUP4(128, 24)
	GROUP4(160, 28)
	GROUP4(192, 32)
	GROUP4(224, 36)
	TESTQ R14, R14
	JEQ  itfloat
	CORR(Y16)
	CORR(Y17)
	CORR(Y18)
	CORR(Y19)
	CORR(Y20)
	CORR(Y21)
	CORR(Y22)
	CORR(Y23)

itfloat:
	BLOCKF(TOK0, Y16, Y24)
	BLOCKF(TOK1, Y17, Y25)
	BLOCKF(TOK2, Y18, Y26)
	BLOCKF(TOK3, Y19, Y27)
	BLOCKF(TOK4, Y20, Y28)
	BLOCKF(TOK5, Y21, Y29)
	BLOCKF(TOK6, Y22, Y30)
	BLOCKF(TOK7, Y23, Y31)
	ADDQ $256, DI
	ADDQ $40, R8
	ADDQ $40, R10
	DECQ BX
	JNZ  itblk

	// group end: sum += d·acc, then (asym) sum += lo·accS
	VMOVUPS (SI), Y7
	GROUPD(Y24, Y8)
	GROUPD(Y25, Y9)
	GROUPD(Y26, Y10)
	GROUPD(Y27, Y11)
	GROUPD(Y28, Y12)
	GROUPD(Y29, Y13)
	GROUPD(Y30, Y14)
	GROUPD(Y31, Y15)
	TESTQ R15, R15
	JEQ  itnext
	VMOVUPS 32(SI), Y7
	GROUPLO(0, Y8)
	GROUPLO(1, Y9)
	GROUPLO(2, Y10)
	GROUPLO(3, Y11)
	GROUPLO(4, Y12)
	GROUPLO(5, Y13)
	GROUPLO(6, Y14)
	GROUPLO(7, Y15)
	ADDQ $32, R9

itnext:
	MOVQ DI, SI
	DECQ CX
	JNZ  itgrp

itdone:
	MOVQ intTile_dst(DX), DI
	MOVQ intTile_ldd(DX), BX
	SHLQ $2, BX
	MOVQ intTile_mask(DX), AX
	KMOVB AX, K1
	VMOVUPS Y8, K1, (DI)
	ADDQ BX, DI
	VMOVUPS Y9, K1, (DI)
	ADDQ BX, DI
	VMOVUPS Y10, K1, (DI)
	ADDQ BX, DI
	VMOVUPS Y11, K1, (DI)
	ADDQ BX, DI
	VMOVUPS Y12, K1, (DI)
	ADDQ BX, DI
	VMOVUPS Y13, K1, (DI)
	ADDQ BX, DI
	VMOVUPS Y14, K1, (DI)
	ADDQ BX, DI
	VMOVUPS Y15, K1, (DI)
	VZEROUPPER
	RET

// func packIntPanel(a *intPack)
//
// Packs nrows rows (rows past nrows repeat the last) of ng groups into one
// panel. R8–R15 rows 0–7, DI panel, AX group offset, SI the block's code
// offset (int8) or table entry (int4), BX/CX the two half offsets (int4)
// or scratch, DX args; the frame holds the group and block counters.
// Y0–Y7 the rows' codes, Y8–Y15 transpose scratch (Y9/Y10 code constants
// are reloaded per block).

// PTRANSPOSE_STORE: Y0–Y7 (rows, 8 dwords each) → 8 groups at (DI) + 32g.
#define PTRANSPOSE_STORE \
	VPUNPCKLDQ Y1, Y0, Y8; \
	VPUNPCKHDQ Y1, Y0, Y9; \
	VPUNPCKLDQ Y3, Y2, Y10; \
	VPUNPCKHDQ Y3, Y2, Y11; \
	VPUNPCKLDQ Y5, Y4, Y12; \
	VPUNPCKHDQ Y5, Y4, Y13; \
	VPUNPCKLDQ Y7, Y6, Y14; \
	VPUNPCKHDQ Y7, Y6, Y15; \
	VPUNPCKLQDQ Y10, Y8, Y0; \
	VPUNPCKHQDQ Y10, Y8, Y1; \
	VPUNPCKLQDQ Y11, Y9, Y2; \
	VPUNPCKHQDQ Y11, Y9, Y3; \
	VPUNPCKLQDQ Y14, Y12, Y4; \
	VPUNPCKHQDQ Y14, Y12, Y5; \
	VPUNPCKLQDQ Y15, Y13, Y6; \
	VPUNPCKHQDQ Y15, Y13, Y7; \
	VPERM2I128 $0x20, Y4, Y0, Y8; \
	VPERM2I128 $0x31, Y4, Y0, Y12; \
	VPERM2I128 $0x20, Y5, Y1, Y9; \
	VPERM2I128 $0x31, Y5, Y1, Y13; \
	VPERM2I128 $0x20, Y6, Y2, Y10; \
	VPERM2I128 $0x31, Y6, Y2, Y14; \
	VPERM2I128 $0x20, Y7, Y3, Y11; \
	VPERM2I128 $0x31, Y7, Y3, Y15; \
	VMOVDQU Y8, (DI); \
	VMOVDQU Y9, 32(DI); \
	VMOVDQU Y10, 64(DI); \
	VMOVDQU Y11, 96(DI); \
	VMOVDQU Y12, 128(DI); \
	VMOVDQU Y13, 160(DI); \
	VMOVDQU Y14, 192(DI); \
	VMOVDQU Y15, 224(DI)

// PHDR(off): the float32 at off of the eight rows' group → (DI) + 4·lane.
#define PHDR(off) \
	MOVL off(R8)(AX*1), BX; \
	MOVL BX, 0(DI); \
	MOVL off(R9)(AX*1), BX; \
	MOVL BX, 4(DI); \
	MOVL off(R10)(AX*1), BX; \
	MOVL BX, 8(DI); \
	MOVL off(R11)(AX*1), BX; \
	MOVL BX, 12(DI); \
	MOVL off(R12)(AX*1), BX; \
	MOVL BX, 16(DI); \
	MOVL off(R13)(AX*1), BX; \
	MOVL BX, 20(DI); \
	MOVL off(R14)(AX*1), BX; \
	MOVL BX, 24(DI); \
	MOVL off(R15)(AX*1), BX; \
	MOVL BX, 28(DI); \
	ADDQ $32, DI

// Code builders of row P into Y: int8 codes at (P)(SI), XOR Y9; int4 the
// halves at (P)(BX) and (P)(CX), shifted by Y10, masked by Y9.
#define PC8(P, Y) \
	VPXOR (P)(SI*1), Y9, Y

#define PC4(P, Y) \
	VMOVDQU (P)(BX*1), X8; \
	VINSERTI128 $1, (P)(CX*1), Y8, Y; \
	VPSRLVQ Y10, Y, Y; \
	VPAND Y9, Y, Y

// PROW(r, REG): REG = w + min(r, nrows−1)·stride (BX = nrows−1, CX = stride).
#define PROW(r, REG) \
	MOVQ $r, SI; \
	CMPQ SI, BX; \
	CMOVQGT BX, SI; \
	IMULQ CX, SI; \
	LEAQ (R8)(SI*1), REG

// PLANE7: Y7 = the offset code (sym formats).
#define PLANE7 \
	CMPQ intPack_sym(DX), $0; \
	JEQ  2(PC); \
	VPBROADCASTD intPack_lane7(DX), Y7

TEXT ·packIntPanel(SB), NOSPLIT, $16-8
	MOVQ a+0(FP), DX
	MOVQ intPack_dst(DX), DI
	MOVQ intPack_w(DX), R8
	MOVQ intPack_stride(DX), CX
	MOVQ intPack_nrows(DX), BX
	DECQ BX
	PROW(1, R9)
	PROW(2, R10)
	PROW(3, R11)
	PROW(4, R12)
	PROW(5, R13)
	PROW(6, R14)
	PROW(7, R15)
	XORQ AX, AX
	MOVQ intPack_ng(DX), CX
	MOVQ CX, 0(SP)
	TESTQ CX, CX
	JLE pidone

pigrp:
	PHDR(0)
	CMPQ intPack_asym(DX), $0
	JEQ  pihdr
	PHDR(4)

pihdr:
	MOVQ intPack_bpg(DX), BX
	MOVQ BX, 8(SP)
	CMPQ intPack_bits(DX), $8
	JNE  pi4
	MOVQ intPack_hdr(DX), SI
	ADDQ AX, SI

pi8blk:
	VPBROADCASTD intPack_xor(DX), Y9
	PC8(R8, Y0)
	PC8(R9, Y1)
	PC8(R10, Y2)
	PC8(R11, Y3)
	PC8(R12, Y4)
	PC8(R13, Y5)
	PC8(R14, Y6)
	PC8(R15, Y7)
	PLANE7
	PTRANSPOSE_STORE
	ADDQ $32, SI
	ADDQ $256, DI
	DECQ 8(SP)
	JNZ  pi8blk
	JMP  pinext

pi4:
	MOVQ intPack_tab(DX), SI

pi4blk:
	MOVL $0x0f0f0f0f, BX
	VMOVD BX, X9
	VPBROADCASTD X9, Y9
	VMOVDQU intHalf_sh(SI), Y10
	MOVQ intHalf_o0(SI), BX
	ADDQ AX, BX
	MOVQ intHalf_o1(SI), CX
	ADDQ AX, CX
	PC4(R8, Y0)
	PC4(R9, Y1)
	PC4(R10, Y2)
	PC4(R11, Y3)
	PC4(R12, Y4)
	PC4(R13, Y5)
	PC4(R14, Y6)
	PC4(R15, Y7)
	PLANE7
	PTRANSPOSE_STORE
	ADDQ $intHalf__size, SI
	ADDQ $256, DI
	DECQ 8(SP)
	JNZ  pi4blk

pinext:
	ADDQ intPack_gb(DX), AX
	DECQ 0(SP)
	JNZ  pigrp

pidone:
	VZEROUPPER
	RET
