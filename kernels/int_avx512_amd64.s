//go:build !noasm

#include "textflag.h"

// AVX-512 decoders of the int formats' payload runs; Go side in
// int_amd64.go (intDecode walks a row's groups and cuts them into runs of
// contiguous codes). Exact: x̂ = d·w (sym) or float32(d·u) + lo (asym),
// the products the generic decoder rounds.
//
// func decI8SAVX512(dst *float32, src *byte, count, shift int, d, lo float32)
// and decI8A, decI4S, decI4A: count values (a multiple of 16) from count
// int8 codes (decI8*) or count nibbles — the low ones (shift 0) or the high
// ones (shift 4) of count bytes (decI4*).
//
// DI dst, SI src, CX 16-value steps left, Z14 d, Z15 lo, Z13 code table
// (int4: q − 8 or u as float32), X12 shift count.

DATA itab4s<>+0(SB)/4, $-8.0
DATA itab4s<>+4(SB)/4, $-7.0
DATA itab4s<>+8(SB)/4, $-6.0
DATA itab4s<>+12(SB)/4, $-5.0
DATA itab4s<>+16(SB)/4, $-4.0
DATA itab4s<>+20(SB)/4, $-3.0
DATA itab4s<>+24(SB)/4, $-2.0
DATA itab4s<>+28(SB)/4, $-1.0
DATA itab4s<>+32(SB)/4, $0.0
DATA itab4s<>+36(SB)/4, $1.0
DATA itab4s<>+40(SB)/4, $2.0
DATA itab4s<>+44(SB)/4, $3.0
DATA itab4s<>+48(SB)/4, $4.0
DATA itab4s<>+52(SB)/4, $5.0
DATA itab4s<>+56(SB)/4, $6.0
DATA itab4s<>+60(SB)/4, $7.0
GLOBL itab4s<>(SB), RODATA|NOPTR, $64

DATA itab4a<>+0(SB)/4, $0.0
DATA itab4a<>+4(SB)/4, $1.0
DATA itab4a<>+8(SB)/4, $2.0
DATA itab4a<>+12(SB)/4, $3.0
DATA itab4a<>+16(SB)/4, $4.0
DATA itab4a<>+20(SB)/4, $5.0
DATA itab4a<>+24(SB)/4, $6.0
DATA itab4a<>+28(SB)/4, $7.0
DATA itab4a<>+32(SB)/4, $8.0
DATA itab4a<>+36(SB)/4, $9.0
DATA itab4a<>+40(SB)/4, $10.0
DATA itab4a<>+44(SB)/4, $11.0
DATA itab4a<>+48(SB)/4, $12.0
DATA itab4a<>+52(SB)/4, $13.0
DATA itab4a<>+56(SB)/4, $14.0
DATA itab4a<>+60(SB)/4, $15.0
GLOBL itab4a<>(SB), RODATA|NOPTR, $64

#define DECARGS \
	MOVQ dst+0(FP), DI; \
	MOVQ src+8(FP), SI; \
	MOVQ count+16(FP), CX; \
	SHRQ $4, CX; \
	VBROADCASTSS d+32(FP), Z14; \
	VBROADCASTSS lo+36(FP), Z15; \
	VMOVQ shift+24(FP), X12

// Whole-group kernels for G a multiple of 32 (ng groups of g values, each
// gb = hdr + payload bytes): decGroupsXxx decodes them (exact, as decIxx),
// dotGroupsXxx returns Σ x̂·x over them: per group S = Σ w·x (and Σx for
// asym) in 16 lanes, acc += d·S (+ lo·Σx) — FMA, within the tolerance.
//
// func decGroupsXxxAVX512(dst *float32, src *byte, ng, gs int)
// func dotGroupsXxxAVX512(w *byte, x *float32, ng, gs int) float32
//
// SI group, DI dst or x, CX groups left, DX g/16 (int8) or g/32 (int4:
// steps per half), BX steps left, R12 codes, R13 x of the high half.
// Z13 code table, Z14 d, Z15 lo, Z20 acc, Z21 S, Z22 Σx.

#define GARGS(dptr) \
	MOVQ dptr+0(FP), SI; \
	MOVQ x+8(FP), DI; \
	MOVQ ng+16(FP), CX; \
	MOVQ gs+24(FP), DX

#define GDARGS \
	MOVQ src+8(FP), SI; \
	MOVQ dst+0(FP), DI; \
	MOVQ ng+16(FP), CX; \
	MOVQ gs+24(FP), DX

// GSUM: X20 = Σ lanes of Z20.
#define GSUM \
	VEXTRACTF64X4 $1, Z20, Y21; \
	VADDPS Y21, Y20, Y20; \
	VEXTRACTF32X4 $1, Y20, X21; \
	VADDPS X21, X20, X20; \
	VPERMILPS $0x4e, X20, X21; \
	VADDPS X21, X20, X20; \
	VPERMILPS $0xb1, X20, X21; \
	VADDPS X21, X20, X20

// GD4HALF(label, SHIFT, ADDLO): one half of an int4 group: the g/2 nibbles
// of the payload at R12 (low, or high after SHIFT).
#define GD4HALF(label, SHIFT, ADDLO) \
	MOVQ DX, BX; \
	MOVQ R12, R13; \
label: \
	VPMOVZXBD (R13), Z0; \
	SHIFT; \
	VPERMPS Z13, Z0, Z0; \
	VMULPS Z14, Z0, Z0; \
	ADDLO; \
	VMOVUPS Z0, (DI); \
	ADDQ $16, R13; \
	ADDQ $64, DI; \
	DECQ BX; \
	JNZ  label

#define NOSHIFT
#define SHIFT4 VPSRLD $4, Z0, Z0
#define NOLO
#define ADDLO VADDPS Z15, Z0, Z0

// GF4HALF(label, SHIFT, SUMX): Z21 += codes·x over one half (codes at R12,
// x at DI, advanced); SUMX adds x to Z22 (asym).
#define GF4HALF(label, SHIFT, SUMX) \
	MOVQ DX, BX; \
	MOVQ R12, R13; \
label: \
	VPMOVZXBD (R13), Z0; \
	SHIFT; \
	VPERMPS Z13, Z0, Z0; \
	VMOVUPS (DI), Z1; \
	VFMADD231PS Z1, Z0, Z21; \
	SUMX; \
	ADDQ $16, R13; \
	ADDQ $64, DI; \
	DECQ BX; \
	JNZ  label

#define NOSUMX
#define SUMX VADDPS Z1, Z22, Z22

// func decI8SAVX512(dst *float32, src *byte, count, shift int, d, lo float32)
TEXT ·decI8SAVX512(SB), NOSPLIT, $0-40
	DECARGS
	TESTQ CX, CX
	JLE d8sdone

d8sloop:
	VPMOVSXBD (SI), Z0
	VCVTDQ2PS Z0, Z0
	VMULPS Z14, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $16, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  d8sloop

d8sdone:
	VZEROUPPER
	RET

// func decI8AAVX512(dst *float32, src *byte, count, shift int, d, lo float32)
TEXT ·decI8AAVX512(SB), NOSPLIT, $0-40
	DECARGS
	TESTQ CX, CX
	JLE d8adone

d8aloop:
	VPMOVZXBD (SI), Z0
	VCVTDQ2PS Z0, Z0
	VMULPS Z14, Z0, Z0
	VADDPS Z15, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $16, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  d8aloop

d8adone:
	VZEROUPPER
	RET

// func decI4SAVX512(dst *float32, src *byte, count, shift int, d, lo float32)
TEXT ·decI4SAVX512(SB), NOSPLIT, $0-40
	DECARGS
	VMOVUPS itab4s<>(SB), Z13
	TESTQ CX, CX
	JLE d4sdone

d4sloop:
	VPMOVZXBD (SI), Z0
	VPSRLD X12, Z0, Z0
	VPERMPS Z13, Z0, Z0
	VMULPS Z14, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $16, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  d4sloop

d4sdone:
	VZEROUPPER
	RET

// func decI4AAVX512(dst *float32, src *byte, count, shift int, d, lo float32)
TEXT ·decI4AAVX512(SB), NOSPLIT, $0-40
	DECARGS
	VMOVUPS itab4a<>(SB), Z13
	TESTQ CX, CX
	JLE d4adone

d4aloop:
	VPMOVZXBD (SI), Z0
	VPSRLD X12, Z0, Z0
	VPERMPS Z13, Z0, Z0
	VMULPS Z14, Z0, Z0
	VADDPS Z15, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $16, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  d4aloop

d4adone:
	VZEROUPPER
	RET

// func decGroupsI8SAVX512(dst *float32, src *byte, ng, gs int)
TEXT ·decGroupsI8SAVX512(SB), NOSPLIT, $0-32
	GDARGS
	SHRQ $4, DX
	TESTQ CX, CX
	JLE gd8sdone

gd8sgrp:
	VBROADCASTSS (SI), Z14
	LEAQ 4(SI), R12
	MOVQ DX, BX

gd8sloop:
	VPMOVSXBD (R12), Z0
	VCVTDQ2PS Z0, Z0
	VMULPS Z14, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $16, R12
	ADDQ $64, DI
	DECQ BX
	JNZ  gd8sloop
	MOVQ R12, SI
	DECQ CX
	JNZ  gd8sgrp

gd8sdone:
	VZEROUPPER
	RET

// func decGroupsI8AAVX512(dst *float32, src *byte, ng, gs int)
TEXT ·decGroupsI8AAVX512(SB), NOSPLIT, $0-32
	GDARGS
	SHRQ $4, DX
	TESTQ CX, CX
	JLE gd8adone

gd8agrp:
	VBROADCASTSS (SI), Z14
	VBROADCASTSS 4(SI), Z15
	LEAQ 8(SI), R12
	MOVQ DX, BX

gd8aloop:
	VPMOVZXBD (R12), Z0
	VCVTDQ2PS Z0, Z0
	VMULPS Z14, Z0, Z0
	VADDPS Z15, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $16, R12
	ADDQ $64, DI
	DECQ BX
	JNZ  gd8aloop
	MOVQ R12, SI
	DECQ CX
	JNZ  gd8agrp

gd8adone:
	VZEROUPPER
	RET

// func decGroupsI4SAVX512(dst *float32, src *byte, ng, gs int)
TEXT ·decGroupsI4SAVX512(SB), NOSPLIT, $0-32
	GDARGS
	SHRQ $5, DX
	VMOVUPS itab4s<>(SB), Z13
	TESTQ CX, CX
	JLE gd4sdone

gd4sgrp:
	VBROADCASTSS (SI), Z14
	LEAQ 4(SI), R12
	GD4HALF(gd4slo, NOSHIFT, NOLO)
	GD4HALF(gd4shi, SHIFT4, NOLO)
	MOVQ R13, SI
	DECQ CX
	JNZ  gd4sgrp

gd4sdone:
	VZEROUPPER
	RET

// func decGroupsI4AAVX512(dst *float32, src *byte, ng, gs int)
TEXT ·decGroupsI4AAVX512(SB), NOSPLIT, $0-32
	GDARGS
	SHRQ $5, DX
	VMOVUPS itab4a<>(SB), Z13
	TESTQ CX, CX
	JLE gd4adone

gd4agrp:
	VBROADCASTSS (SI), Z14
	VBROADCASTSS 4(SI), Z15
	LEAQ 8(SI), R12
	GD4HALF(gd4alo, NOSHIFT, ADDLO)
	GD4HALF(gd4ahi, SHIFT4, ADDLO)
	MOVQ R13, SI
	DECQ CX
	JNZ  gd4agrp

gd4adone:
	VZEROUPPER
	RET

// func dotGroupsI8SAVX512(w *byte, x *float32, ng, gs int) float32
TEXT ·dotGroupsI8SAVX512(SB), NOSPLIT, $0-36
	GARGS(w)
	SHRQ $4, DX
	VXORPS Z20, Z20, Z20
	TESTQ CX, CX
	JLE gf8sdone

gf8sgrp:
	VXORPS Z21, Z21, Z21
	LEAQ 4(SI), R12
	MOVQ DX, BX

gf8sloop:
	VPMOVSXBD (R12), Z0
	VCVTDQ2PS Z0, Z0
	VFMADD231PS (DI), Z0, Z21
	ADDQ $16, R12
	ADDQ $64, DI
	DECQ BX
	JNZ  gf8sloop
	VBROADCASTSS (SI), Z14
	VFMADD231PS Z21, Z14, Z20
	MOVQ R12, SI
	DECQ CX
	JNZ  gf8sgrp

gf8sdone:
	GSUM
	VMOVSS X20, ret+32(FP)
	VZEROUPPER
	RET

// func dotGroupsI8AAVX512(w *byte, x *float32, ng, gs int) float32
TEXT ·dotGroupsI8AAVX512(SB), NOSPLIT, $0-36
	GARGS(w)
	SHRQ $4, DX
	VXORPS Z20, Z20, Z20
	TESTQ CX, CX
	JLE gf8adone

gf8agrp:
	VXORPS Z21, Z21, Z21
	VXORPS Z22, Z22, Z22
	LEAQ 8(SI), R12
	MOVQ DX, BX

gf8aloop:
	VPMOVZXBD (R12), Z0
	VCVTDQ2PS Z0, Z0
	VMOVUPS (DI), Z1
	VFMADD231PS Z1, Z0, Z21
	VADDPS Z1, Z22, Z22
	ADDQ $16, R12
	ADDQ $64, DI
	DECQ BX
	JNZ  gf8aloop
	VBROADCASTSS (SI), Z14
	VFMADD231PS Z21, Z14, Z20
	VBROADCASTSS 4(SI), Z15
	VFMADD231PS Z22, Z15, Z20
	MOVQ R12, SI
	DECQ CX
	JNZ  gf8agrp

gf8adone:
	GSUM
	VMOVSS X20, ret+32(FP)
	VZEROUPPER
	RET

// func dotGroupsI4SAVX512(w *byte, x *float32, ng, gs int) float32
TEXT ·dotGroupsI4SAVX512(SB), NOSPLIT, $0-36
	GARGS(w)
	SHRQ $5, DX
	VMOVUPS itab4s<>(SB), Z13
	VXORPS Z20, Z20, Z20
	TESTQ CX, CX
	JLE gf4sdone

gf4sgrp:
	VXORPS Z21, Z21, Z21
	LEAQ 4(SI), R12
	GF4HALF(gf4slo, NOSHIFT, NOSUMX)
	GF4HALF(gf4shi, SHIFT4, NOSUMX)
	VBROADCASTSS (SI), Z14
	VFMADD231PS Z21, Z14, Z20
	MOVQ R13, SI
	DECQ CX
	JNZ  gf4sgrp

gf4sdone:
	GSUM
	VMOVSS X20, ret+32(FP)
	VZEROUPPER
	RET

// func dotGroupsI4AAVX512(w *byte, x *float32, ng, gs int) float32
TEXT ·dotGroupsI4AAVX512(SB), NOSPLIT, $0-36
	GARGS(w)
	SHRQ $5, DX
	VMOVUPS itab4a<>(SB), Z13
	VXORPS Z20, Z20, Z20
	TESTQ CX, CX
	JLE gf4adone

gf4agrp:
	VXORPS Z21, Z21, Z21
	VXORPS Z22, Z22, Z22
	LEAQ 8(SI), R12
	GF4HALF(gf4alo, NOSHIFT, SUMX)
	GF4HALF(gf4ahi, SHIFT4, SUMX)
	VBROADCASTSS (SI), Z14
	VFMADD231PS Z21, Z14, Z20
	VBROADCASTSS 4(SI), Z15
	VFMADD231PS Z22, Z15, Z20
	MOVQ R13, SI
	DECQ CX
	JNZ  gf4agrp

gf4adone:
	GSUM
	VMOVSS X20, ret+32(FP)
	VZEROUPPER
	RET
