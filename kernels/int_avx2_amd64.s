//go:build !noasm

#include "textflag.h"
#include "go_asm.h"

// AVX2 W·A8 bodies of the int formats: four rows against one act8 row, the
// whole groups of size G = 32·bpg; Go side in int_amd64.go. Per block the
// four rows' integer sums are exact and reduced into one xmm (a lane per
// row); the float terms follow the generic body: acc += float32(d_x·isum)
// per block, then per group sum += float32(d_w·acc) and, for asym,
// sum += float32(lo·accS) with accS += float32(d_x·s_x) per block.
// Decoders of payload runs (decIxxAVX2) follow the GEMV kernels.
//
// gemvActIntXxxAVX2(a *intArgs):
// DX args, SI/R8/R9/R10 rows, DI act8 block, AX group offset, CX groups
// left, BX blocks left in the group, R12/R13 code offsets of the block,
// R14 int4 table entry. Y0 activations, Y1–Y4 row sums, X11 acc, X9 accS,
// X15 sums, Y14 int16 ones, Y10 0x0f, Y12 offset pairs, Y13 shifts.

#define BCAST32(imm, Y, X) \
	MOVL imm, R11; \
	VMOVD R11, X; \
	VPBROADCASTD X, Y

#define IARGS \
	MOVQ a+0(FP), DX; \
	MOVQ intArgs_rows+0(DX), SI; \
	MOVQ intArgs_rows+8(DX), R8; \
	MOVQ intArgs_rows+16(DX), R9; \
	MOVQ intArgs_rows+24(DX), R10; \
	MOVQ intArgs_xq(DX), DI; \
	MOVQ intArgs_ng(DX), CX; \
	VPXOR X15, X15, X15; \
	VPCMPEQW Y14, Y14, Y14; \
	VPSRLW $15, Y14, Y14; \
	XORQ AX, AX

#define ISTORE \
	VMOVUPS X15, intArgs_sum(DX)

// IREDUCE4: X1 = float32 [Σ Y1, Σ Y2, Σ Y3, Σ Y4].
#define IREDUCE4 \
	VPHADDD Y2, Y1, Y1; \
	VPHADDD Y4, Y3, Y3; \
	VPHADDD Y3, Y1, Y1; \
	VEXTRACTI128 $1, Y1, X2; \
	VPADDD X2, X1, X1; \
	VCVTDQ2PS X1, X1

// IBLOCKF: acc += float32(d_x·isum) (X1 = isum as float).
#define IBLOCKF \
	VBROADCASTSS (DI), X2; \
	VMULPS X2, X1, X1; \
	VADDPS X1, X11, X11

// IBLOCKS: accS += float32(d_x·float32(s_x)).
#define IBLOCKS \
	VMOVD 4(DI), X3; \
	VCVTDQ2PS X3, X3; \
	VMULSS (DI), X3, X3; \
	VADDSS X3, X9, X9

// IGATHER(off, X): X = the float32 at off of the current group of rows 0–3.
#define IGATHER(off, X) \
	VMOVD off(SI)(AX*1), X; \
	VPINSRD $1, off(R8)(AX*1), X, X; \
	VPINSRD $2, off(R9)(AX*1), X, X; \
	VPINSRD $3, off(R10)(AX*1), X, X

// IGROUP: sum += float32(d_w·acc).
#define IGROUP \
	IGATHER(0, X2); \
	VMULPS X2, X11, X11; \
	VADDPS X11, X15, X15

// IGROUPASYM: then sum += float32(lo·accS).
#define IGROUPASYM \
	IGROUP; \
	IGATHER(4, X2); \
	VBROADCASTSS X9, X3; \
	VMULPS X3, X2, X2; \
	VADDPS X2, X15, X15

// Row bodies: D = the lane sums of row P's block with Y0.

// int8 sym: sign trick, codes at (P)(R12).
#define I8S_ROW(P, D) \
	VMOVDQU (P)(R12*1), D; \
	VPSIGNB D, Y0, Y12; \
	VPSIGNB D, D, D; \
	VPMADDUBSW Y12, D, D; \
	VPMADDWD Y14, D, D

// int8 asym: unsigned codes widened to int16 against the widened
// activations Y5 (values 0–15) and Y6 (16–31).
#define I8A_ROW(P, D) \
	VPMOVZXBW (P)(R12*1), D; \
	VPMADDWD Y5, D, D; \
	VPMOVZXBW 16(P)(R12*1), Y7; \
	VPMADDWD Y6, Y7, Y7; \
	VPADDD Y7, D, D

// int4: the block's 32 nibble codes from the two halves at R12/R13.
#define I4_CODES(P, D) \
	VMOVDQU (P)(R12*1), X7; \
	VINSERTI128 $1, (P)(R13*1), Y7, D; \
	VPSRLVQ Y13, D, D; \
	VPAND Y10, D, D

#define I4S_ROW(P, D) \
	I4_CODES(P, D); \
	VPMADDUBSW Y0, D, D; \
	VPSUBW Y12, D, D; \
	VPMADDWD Y14, D, D

#define I4A_ROW(P, D) \
	I4_CODES(P, D); \
	VPMADDUBSW Y0, D, D; \
	VPMADDWD Y14, D, D

// I4_BLOCKSETUP: R12/R13 = the block's half offsets from its table entry
// (R14), Y13 = its shifts; advances R14.
#define I4_BLOCKSETUP \
	MOVQ intHalf_o0(R14), R12; \
	ADDQ AX, R12; \
	MOVQ intHalf_o1(R14), R13; \
	ADDQ AX, R13; \
	VMOVDQU intHalf_sh(R14), Y13; \
	ADDQ $intHalf__size, R14

// Decoders of payload runs (see int_avx512_amd64.s), eight values a step:
// decIxxAVX2(dst *float32, src *byte, count, shift int, d, lo float32)
// with count a multiple of 16. Y14 d, Y15 lo, Y13 dword 0x0f, Y12 dword 8,
// X11 shift count.

#define DEC2ARGS \
	MOVQ dst+0(FP), DI; \
	MOVQ src+8(FP), SI; \
	MOVQ count+16(FP), CX; \
	SHRQ $3, CX; \
	VBROADCASTSS d+32(FP), Y14; \
	VBROADCASTSS lo+36(FP), Y15; \
	VMOVQ shift+24(FP), X11; \
	BCAST32($0x0f, Y13, X13); \
	BCAST32($8, Y12, X12)


// Whole-group kernels (see int_avx512_amd64.s), eight values a step:
// decGroupsXxxAVX2(dst *float32, src *byte, ng, gs int) and
// dotGroupsXxxAVX2(w *byte, x *float32, ng, gs int) float32.
// SI group, DI dst or x, CX groups left, DX steps per run (gs/8 for int8,
// gs/16 per half for int4), BX steps left, R12/R13 codes, Y14 d, Y15 lo,
// Y13 dword 0x0f, Y12 dword 8, Y8 acc, Y9 S, Y10 Σx.

#define G2DARGS \
	MOVQ dst+0(FP), DI; \
	MOVQ src+8(FP), SI; \
	MOVQ ng+16(FP), CX; \
	MOVQ gs+24(FP), DX; \
	BCAST32($0x0f, Y13, X13); \
	BCAST32($8, Y12, X12)

#define G2FARGS \
	MOVQ w+0(FP), SI; \
	MOVQ x+8(FP), DI; \
	MOVQ ng+16(FP), CX; \
	MOVQ gs+24(FP), DX; \
	BCAST32($0x0f, Y13, X13); \
	BCAST32($8, Y12, X12); \
	VXORPS Y8, Y8, Y8

// G2SUM: X8 = Σ lanes of Y8.
#define G2SUM \
	VEXTRACTF128 $1, Y8, X9; \
	VADDPS X9, X8, X8; \
	VPERMILPS $0x4e, X8, X9; \
	VADDPS X9, X8, X8; \
	VPERMILPS $0xb1, X8, X9; \
	VADDPS X9, X8, X8

// Code conversions of Y0 (eight zero-extended bytes) into float codes.
#define C8S VPMOVSXBD (R13), Y0
#define C8A VPMOVZXBD (R13), Y0
#define C4LO \
	VPMOVZXBD (R13), Y0; \
	VPAND Y13, Y0, Y0
#define C4HI \
	VPMOVZXBD (R13), Y0; \
	VPSRLD $4, Y0, Y0
#define OFF8 VPSUBD Y12, Y0, Y0
#define NOOFF

// G2DRUN(label, CODE, OFF, LO): decode DX steps of codes at R12 → DI.
#define G2DRUN(label, CODE, OFF, LO) \
	MOVQ DX, BX; \
	MOVQ R12, R13; \
label: \
	CODE; \
	OFF; \
	VCVTDQ2PS Y0, Y0; \
	VMULPS Y14, Y0, Y0; \
	LO; \
	VMOVUPS Y0, (DI); \
	ADDQ $8, R13; \
	ADDQ $32, DI; \
	DECQ BX; \
	JNZ  label

// G2FRUN(label, CODE, OFF, SX): S += codes·x over DX steps (x at DI).
#define G2FRUN(label, CODE, OFF, SX) \
	MOVQ DX, BX; \
	MOVQ R12, R13; \
label: \
	CODE; \
	OFF; \
	VCVTDQ2PS Y0, Y0; \
	VMOVUPS (DI), Y1; \
	VFMADD231PS Y1, Y0, Y9; \
	SX; \
	ADDQ $8, R13; \
	ADDQ $32, DI; \
	DECQ BX; \
	JNZ  label

#define ADDLO2 VADDPS Y15, Y0, Y0
#define NOLO2
#define SX2 VADDPS Y1, Y10, Y10
#define NOSX2

// func gemvActInt8SymAVX2(a *intArgs)
TEXT ·gemvActInt8SymAVX2(SB), NOSPLIT, $0-8
	IARGS
	TESTQ CX, CX
	JLE i8sdone

i8sgrp:
	VPXOR X11, X11, X11
	LEAQ 4(AX), R12
	MOVQ intArgs_bpg(DX), BX

i8sblk:
	VMOVDQU 8(DI), Y0
	I8S_ROW(SI, Y1)
	I8S_ROW(R8, Y2)
	I8S_ROW(R9, Y3)
	I8S_ROW(R10, Y4)
	IREDUCE4
	IBLOCKF
	ADDQ $32, R12
	ADDQ $40, DI
	DECQ BX
	JNZ  i8sblk
	IGROUP
	ADDQ intArgs_gb(DX), AX
	DECQ CX
	JNZ  i8sgrp

i8sdone:
	ISTORE
	VZEROUPPER
	RET

// func gemvActInt8AsymAVX2(a *intArgs)
TEXT ·gemvActInt8AsymAVX2(SB), NOSPLIT, $0-8
	IARGS
	TESTQ CX, CX
	JLE i8adone

i8agrp:
	VPXOR X11, X11, X11
	VPXOR X9, X9, X9
	LEAQ 8(AX), R12
	MOVQ intArgs_bpg(DX), BX

i8ablk:
	VPMOVSXBW 8(DI), Y5
	VPMOVSXBW 24(DI), Y6
	I8A_ROW(SI, Y1)
	I8A_ROW(R8, Y2)
	I8A_ROW(R9, Y3)
	I8A_ROW(R10, Y4)
	IREDUCE4
	IBLOCKF
	IBLOCKS
	ADDQ $32, R12
	ADDQ $40, DI
	DECQ BX
	JNZ  i8ablk
	IGROUPASYM
	ADDQ intArgs_gb(DX), AX
	DECQ CX
	JNZ  i8agrp

i8adone:
	ISTORE
	VZEROUPPER
	RET

// func gemvActInt4SymAVX2(a *intArgs)
TEXT ·gemvActInt4SymAVX2(SB), NOSPLIT, $0-8
	IARGS
	BCAST32($0x0f0f0f0f, Y10, X10)
	BCAST32($0x08080808, Y6, X6)
	TESTQ CX, CX
	JLE i4sdone

i4sgrp:
	VPXOR X11, X11, X11
	MOVQ intArgs_tab(DX), R14
	MOVQ intArgs_bpg(DX), BX

i4sblk:
	I4_BLOCKSETUP
	VMOVDQU 8(DI), Y0
	VPMADDUBSW Y0, Y6, Y12
	I4S_ROW(SI, Y1)
	I4S_ROW(R8, Y2)
	I4S_ROW(R9, Y3)
	I4S_ROW(R10, Y4)
	IREDUCE4
	IBLOCKF
	ADDQ $40, DI
	DECQ BX
	JNZ  i4sblk
	IGROUP
	ADDQ intArgs_gb(DX), AX
	DECQ CX
	JNZ  i4sgrp

i4sdone:
	ISTORE
	VZEROUPPER
	RET

// func gemvActInt4AsymAVX2(a *intArgs)
TEXT ·gemvActInt4AsymAVX2(SB), NOSPLIT, $0-8
	IARGS
	BCAST32($0x0f0f0f0f, Y10, X10)
	TESTQ CX, CX
	JLE i4adone

i4agrp:
	VPXOR X11, X11, X11
	VPXOR X9, X9, X9
	MOVQ intArgs_tab(DX), R14
	MOVQ intArgs_bpg(DX), BX

i4ablk:
	I4_BLOCKSETUP
	VMOVDQU 8(DI), Y0
	I4A_ROW(SI, Y1)
	I4A_ROW(R8, Y2)
	I4A_ROW(R9, Y3)
	I4A_ROW(R10, Y4)
	IREDUCE4
	IBLOCKF
	IBLOCKS
	ADDQ $40, DI
	DECQ BX
	JNZ  i4ablk
	IGROUPASYM
	ADDQ intArgs_gb(DX), AX
	DECQ CX
	JNZ  i4agrp

i4adone:
	ISTORE
	VZEROUPPER
	RET

// func decI8SAVX2(dst *float32, src *byte, count, shift int, d, lo float32)
TEXT ·decI8SAVX2(SB), NOSPLIT, $0-40
	DEC2ARGS
	TESTQ CX, CX
	JLE e8sdone

e8sloop:
	VPMOVSXBD (SI), Y0
	VCVTDQ2PS Y0, Y0
	VMULPS Y14, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $8, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  e8sloop

e8sdone:
	VZEROUPPER
	RET

// func decI8AAVX2(dst *float32, src *byte, count, shift int, d, lo float32)
TEXT ·decI8AAVX2(SB), NOSPLIT, $0-40
	DEC2ARGS
	TESTQ CX, CX
	JLE e8adone

e8aloop:
	VPMOVZXBD (SI), Y0
	VCVTDQ2PS Y0, Y0
	VMULPS Y14, Y0, Y0
	VADDPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $8, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  e8aloop

e8adone:
	VZEROUPPER
	RET

// func decI4SAVX2(dst *float32, src *byte, count, shift int, d, lo float32)
TEXT ·decI4SAVX2(SB), NOSPLIT, $0-40
	DEC2ARGS
	TESTQ CX, CX
	JLE e4sdone

e4sloop:
	VPMOVZXBD (SI), Y0
	VPSRLD X11, Y0, Y0
	VPAND Y13, Y0, Y0
	VPSUBD Y12, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS Y14, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $8, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  e4sloop

e4sdone:
	VZEROUPPER
	RET

// func decI4AAVX2(dst *float32, src *byte, count, shift int, d, lo float32)
TEXT ·decI4AAVX2(SB), NOSPLIT, $0-40
	DEC2ARGS
	TESTQ CX, CX
	JLE e4adone

e4aloop:
	VPMOVZXBD (SI), Y0
	VPSRLD X11, Y0, Y0
	VPAND Y13, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS Y14, Y0, Y0
	VADDPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $8, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  e4aloop

e4adone:
	VZEROUPPER
	RET

// func decGroupsI8SAVX2(dst *float32, src *byte, ng, gs int)
TEXT ·decGroupsI8SAVX2(SB), NOSPLIT, $0-32
	G2DARGS
	SHRQ $3, DX
	TESTQ CX, CX
	JLE h8sdone

h8sgrp:
	VBROADCASTSS (SI), Y14
	LEAQ 4(SI), R12
	G2DRUN(h8sloop, C8S, NOOFF, NOLO2)
	MOVQ R13, SI
	DECQ CX
	JNZ  h8sgrp

h8sdone:
	VZEROUPPER
	RET

// func decGroupsI8AAVX2(dst *float32, src *byte, ng, gs int)
TEXT ·decGroupsI8AAVX2(SB), NOSPLIT, $0-32
	G2DARGS
	SHRQ $3, DX
	TESTQ CX, CX
	JLE h8adone

h8agrp:
	VBROADCASTSS (SI), Y14
	VBROADCASTSS 4(SI), Y15
	LEAQ 8(SI), R12
	G2DRUN(h8aloop, C8A, NOOFF, ADDLO2)
	MOVQ R13, SI
	DECQ CX
	JNZ  h8agrp

h8adone:
	VZEROUPPER
	RET

// func decGroupsI4SAVX2(dst *float32, src *byte, ng, gs int)
TEXT ·decGroupsI4SAVX2(SB), NOSPLIT, $0-32
	G2DARGS
	SHRQ $4, DX
	TESTQ CX, CX
	JLE h4sdone

h4sgrp:
	VBROADCASTSS (SI), Y14
	LEAQ 4(SI), R12
	G2DRUN(h4slo, C4LO, OFF8, NOLO2)
	G2DRUN(h4shi, C4HI, OFF8, NOLO2)
	MOVQ R13, SI
	DECQ CX
	JNZ  h4sgrp

h4sdone:
	VZEROUPPER
	RET

// func decGroupsI4AAVX2(dst *float32, src *byte, ng, gs int)
TEXT ·decGroupsI4AAVX2(SB), NOSPLIT, $0-32
	G2DARGS
	SHRQ $4, DX
	TESTQ CX, CX
	JLE h4adone

h4agrp:
	VBROADCASTSS (SI), Y14
	VBROADCASTSS 4(SI), Y15
	LEAQ 8(SI), R12
	G2DRUN(h4alo, C4LO, NOOFF, ADDLO2)
	G2DRUN(h4ahi, C4HI, NOOFF, ADDLO2)
	MOVQ R13, SI
	DECQ CX
	JNZ  h4agrp

h4adone:
	VZEROUPPER
	RET

// func dotGroupsI8SAVX2(w *byte, x *float32, ng, gs int) float32
TEXT ·dotGroupsI8SAVX2(SB), NOSPLIT, $0-36
	G2FARGS
	SHRQ $3, DX
	TESTQ CX, CX
	JLE f8sdone

f8sgrp:
	VXORPS Y9, Y9, Y9
	LEAQ 4(SI), R12
	G2FRUN(f8sloop, C8S, NOOFF, NOSX2)
	VBROADCASTSS (SI), Y14
	VFMADD231PS Y9, Y14, Y8
	MOVQ R13, SI
	DECQ CX
	JNZ  f8sgrp

f8sdone:
	G2SUM
	VMOVSS X8, ret+32(FP)
	VZEROUPPER
	RET

// func dotGroupsI8AAVX2(w *byte, x *float32, ng, gs int) float32
TEXT ·dotGroupsI8AAVX2(SB), NOSPLIT, $0-36
	G2FARGS
	SHRQ $3, DX
	TESTQ CX, CX
	JLE f8adone

f8agrp:
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	LEAQ 8(SI), R12
	G2FRUN(f8aloop, C8A, NOOFF, SX2)
	VBROADCASTSS (SI), Y14
	VFMADD231PS Y9, Y14, Y8
	VBROADCASTSS 4(SI), Y15
	VFMADD231PS Y10, Y15, Y8
	MOVQ R13, SI
	DECQ CX
	JNZ  f8agrp

f8adone:
	G2SUM
	VMOVSS X8, ret+32(FP)
	VZEROUPPER
	RET

// func dotGroupsI4SAVX2(w *byte, x *float32, ng, gs int) float32
TEXT ·dotGroupsI4SAVX2(SB), NOSPLIT, $0-36
	G2FARGS
	SHRQ $4, DX
	TESTQ CX, CX
	JLE f4sdone

f4sgrp:
	VXORPS Y9, Y9, Y9
	LEAQ 4(SI), R12
	G2FRUN(f4slo, C4LO, OFF8, NOSX2)
	G2FRUN(f4shi, C4HI, OFF8, NOSX2)
	VBROADCASTSS (SI), Y14
	VFMADD231PS Y9, Y14, Y8
	MOVQ R13, SI
	DECQ CX
	JNZ  f4sgrp

f4sdone:
	G2SUM
	VMOVSS X8, ret+32(FP)
	VZEROUPPER
	RET

// func dotGroupsI4AAVX2(w *byte, x *float32, ng, gs int) float32
TEXT ·dotGroupsI4AAVX2(SB), NOSPLIT, $0-36
	G2FARGS
	SHRQ $4, DX
	TESTQ CX, CX
	JLE f4adone

f4agrp:
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	LEAQ 8(SI), R12
	G2FRUN(f4alo, C4LO, NOOFF, SX2)
	G2FRUN(f4ahi, C4HI, NOOFF, SX2)
	VBROADCASTSS (SI), Y14
	VFMADD231PS Y9, Y14, Y8
	VBROADCASTSS 4(SI), Y15
	VFMADD231PS Y10, Y15, Y8
	MOVQ R13, SI
	DECQ CX
	JNZ  f4agrp

f4adone:
	G2SUM
	VMOVSS X8, ret+32(FP)
	VZEROUPPER
	RET
