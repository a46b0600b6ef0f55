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
