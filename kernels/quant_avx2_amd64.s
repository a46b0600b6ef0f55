//go:build !noasm

#include "textflag.h"

// AVX2 activation quantizers (Go side in quant_amd64.go): q8_0, q8_1 and
// act8 (32-value blocks: d = amax/127, q = roundf(x·(1/d))) and q8_K
// (256-value blocks: q = min(127, nearest_int(x·(−127/max)))). Each
// reproduces the generic quantizer byte for byte:
//   - amax ignores NaNs as the scalar "if a > amax" loop does (VMAXPS with
//     the running maximum as second operand);
//   - roundf is built from truncation: t = trunc(|v|), t += 1 when
//     |v| − t ≥ 0.5 (the difference is exact), then the sign of v;
//   - float-to-int conversion truncates to the low byte, as Go's int8(v)
//     does on amd64 (CVTTSS2SL, then the low byte), NaN included;
//   - scales round to f16 with VCVTPS2PH (round to nearest even, overflow to
//     infinity), which is ggml's GGML_FP32_TO_FP16 for every non-NaN value.

DATA qnt_permd<>+0(SB)/4, $0
DATA qnt_permd<>+4(SB)/4, $4
DATA qnt_permd<>+8(SB)/4, $1
DATA qnt_permd<>+12(SB)/4, $5
DATA qnt_permd<>+16(SB)/4, $2
DATA qnt_permd<>+20(SB)/4, $6
DATA qnt_permd<>+24(SB)/4, $3
DATA qnt_permd<>+28(SB)/4, $7
GLOBL qnt_permd<>(SB), RODATA|NOPTR, $32

DATA qnt_ones16<>+0(SB)/8, $0x0001000100010001
DATA qnt_ones16<>+8(SB)/8, $0x0001000100010001
DATA qnt_ones16<>+16(SB)/8, $0x0001000100010001
DATA qnt_ones16<>+24(SB)/8, $0x0001000100010001
GLOBL qnt_ones16<>(SB), RODATA|NOPTR, $32

DATA qnt_ones8<>+0(SB)/8, $0x0101010101010101
DATA qnt_ones8<>+8(SB)/8, $0x0101010101010101
DATA qnt_ones8<>+16(SB)/8, $0x0101010101010101
DATA qnt_ones8<>+24(SB)/8, $0x0101010101010101
GLOBL qnt_ones8<>(SB), RODATA|NOPTR, $32

#define BCAST32(imm, Y, X) \
	MOVL imm, R11; \
	VMOVD R11, X; \
	VPBROADCASTD X, Y

// QCONSTS loads the constants of QBLOCK32:
// Y15 abs mask, Y14 0.5, Y13 1.0, Y12 sign mask, Y11 dword 0xff,
// Y10 VPERMD index, X7 127.0, Y6 zero.
#define QCONSTS \
	BCAST32($0x7fffffff, Y15, X15); \
	BCAST32($0x3f000000, Y14, X14); \
	BCAST32($0x3f800000, Y13, X13); \
	BCAST32($0x80000000, Y12, X12); \
	BCAST32($0xff, Y11, X11); \
	VMOVDQU qnt_permd<>(SB), Y10; \
	MOVL $0x42fe0000, R11; \
	VMOVD R11, X7; \
	VXORPS Y6, Y6, Y6

// ROUNDAWAY(Y): Y = int32(roundf(Y)) (truncating conversion; integral
// values by then). Uses Y4, Y5.
#define ROUNDAWAY(Y) \
	VANDPS Y15, Y, Y4; \
	VROUNDPS $3, Y4, Y5; \
	VSUBPS Y5, Y4, Y4; \
	VCMPPS $13, Y14, Y4, Y4; \
	VANDPS Y13, Y4, Y4; \
	VADDPS Y4, Y5, Y5; \
	VANDPS Y12, Y, Y4; \
	VORPS Y4, Y5, Y; \
	VCVTTPS2DQ Y, Y

// PACKBYTES: Y0 = the low bytes of the 32 dwords Y0–Y3, in order.
#define PACKBYTES \
	VPAND Y11, Y0, Y0; \
	VPAND Y11, Y1, Y1; \
	VPAND Y11, Y2, Y2; \
	VPAND Y11, Y3, Y3; \
	VPACKUSDW Y1, Y0, Y0; \
	VPACKUSDW Y3, Y2, Y2; \
	VPACKUSWB Y2, Y0, Y0; \
	VPERMD Y0, Y10, Y0

// QBLOCK32: quantizes the 32 floats at SI: X8 = d = amax/127 (float32),
// Y0 = the 32 q bytes. Uses Y1–Y5, Y8, Y9.
#define QBLOCK32 \
	VMOVUPS (SI), Y0; \
	VMOVUPS 32(SI), Y1; \
	VMOVUPS 64(SI), Y2; \
	VMOVUPS 96(SI), Y3; \
	VXORPS Y8, Y8, Y8; \
	VANDPS Y15, Y0, Y4; \
	VMAXPS Y8, Y4, Y8; \
	VANDPS Y15, Y1, Y4; \
	VMAXPS Y8, Y4, Y8; \
	VANDPS Y15, Y2, Y4; \
	VMAXPS Y8, Y4, Y8; \
	VANDPS Y15, Y3, Y4; \
	VMAXPS Y8, Y4, Y8; \
	VEXTRACTF128 $1, Y8, X9; \
	VMAXPS X9, X8, X8; \
	VPERMILPS $0x4e, X8, X9; \
	VMAXPS X9, X8, X8; \
	VPERMILPS $0xb1, X8, X9; \
	VMAXPS X9, X8, X8; \
	VDIVSS X7, X8, X8; \
	VDIVSS X8, X13, X9; \
	VCMPSS $4, X6, X8, X5; \
	VANDPS X5, X9, X9; \
	VBROADCASTSS X9, Y9; \
	VMULPS Y9, Y0, Y0; \
	VMULPS Y9, Y1, Y1; \
	VMULPS Y9, Y2, Y2; \
	VMULPS Y9, Y3, Y3; \
	ROUNDAWAY(Y0); \
	ROUNDAWAY(Y1); \
	ROUNDAWAY(Y2); \
	ROUNDAWAY(Y3); \
	PACKBYTES

// QSUM: X4 lane 0 = Σ of the 32 signed bytes of Y0. Uses Y1, Y4.
#define QSUM \
	VMOVDQU qnt_ones8<>(SB), Y1; \
	VPMADDUBSW Y0, Y1, Y4; \
	VPMADDWD qnt_ones16<>(SB), Y4, Y4; \
	VEXTRACTI128 $1, Y4, X1; \
	VPADDD X1, X4, X4; \
	VPSHUFD $0x4e, X4, X1; \
	VPADDD X1, X4, X4; \
	VPSHUFD $0xb1, X4, X1; \
	VPADDD X1, X4, X4

// func quantQ8_0AVX2(dst *byte, x *float32, nb int)
//
// DI dst (34-byte blocks: f16 d, 32 q), SI x, CX blocks left.
TEXT ·quantQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nb+16(FP), CX
	QCONSTS
	TESTQ CX, CX
	JLE q80done

q80loop:
	QBLOCK32
	VCVTPS2PH $0, X8, X5
	VMOVD X5, R11
	MOVW R11, (DI)
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q80loop

q80done:
	VZEROUPPER
	RET

// func quantQ8_1AVX2(dst *byte, x *float32, nb int)
//
// 36-byte blocks: f16 d, f16 s = f16(Σq·d), 32 q.
TEXT ·quantQ8_1AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nb+16(FP), CX
	QCONSTS
	TESTQ CX, CX
	JLE q81done

q81loop:
	QBLOCK32
	VMOVDQU Y0, 4(DI)
	QSUM
	VCVTDQ2PS X4, X4
	VMULSS X8, X4, X4
	VCVTPS2PH $0, X4, X4
	VMOVD X4, R11
	MOVW R11, 2(DI)
	VCVTPS2PH $0, X8, X5
	VMOVD X5, R11
	MOVW R11, (DI)
	ADDQ $128, SI
	ADDQ $36, DI
	DECQ CX
	JNZ  q81loop

q81done:
	VZEROUPPER
	RET

// func quantAct8AVX2(dst *byte, x *float32, nb int)
//
// act8 full blocks, 40 bytes each: float32 d, int32 s = Σq, 32 q.
TEXT ·quantAct8AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nb+16(FP), CX
	QCONSTS
	TESTQ CX, CX
	JLE a8done

a8loop:
	QBLOCK32
	VMOVDQU Y0, 8(DI)
	QSUM
	VMOVSS X8, (DI)
	VMOVD X4, 4(DI)
	ADDQ $128, SI
	ADDQ $40, DI
	DECQ CX
	JNZ  a8loop

a8done:
	VZEROUPPER
	RET

// func quantQ8KAVX2(dst *byte, x *float32, nb int)
//
// 292-byte blocks: float32 d, 256 q, 16 int16 bsums. DI dst, SI x, CX
// blocks left, DX scratch pointer, BX/R12 counters.
// Pass 1: amax (NaNs ignored) in X8; pass 2: the first element with
// |x| == amax is max (sign kept); iscale = −127/max; pass 3: q bytes;
// pass 4: bsums from the stored q bytes.
TEXT ·quantQ8KAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nb+16(FP), CX
	BCAST32($0x7fffffff, Y15, X15)
	BCAST32($0x4b400000, Y14, X14) // 12582912.0
	BCAST32($0x007fffff, Y13, X13)
	BCAST32($0x00400000, Y12, X12)
	BCAST32($0xff, Y11, X11)
	VMOVDQU qnt_permd<>(SB), Y10
	BCAST32($127, Y7, X7)
	TESTQ CX, CX
	JLE qkdone

qkloop:
	// pass 1: amax
	VXORPS Y8, Y8, Y8
	MOVQ SI, DX
	MOVQ $8, BX

qkmax:
	VANDPS (DX), Y15, Y4
	VMAXPS Y8, Y4, Y8
	VANDPS 32(DX), Y15, Y4
	VMAXPS Y8, Y4, Y8
	VANDPS 64(DX), Y15, Y4
	VMAXPS Y8, Y4, Y8
	VANDPS 96(DX), Y15, Y4
	VMAXPS Y8, Y4, Y8
	ADDQ $128, DX
	DECQ BX
	JNZ  qkmax
	VEXTRACTF128 $1, Y8, X9
	VMAXPS X9, X8, X8
	VPERMILPS $0x4e, X8, X9
	VMAXPS X9, X8, X8
	VPERMILPS $0xb1, X8, X9
	VMAXPS X9, X8, X8
	VXORPS X9, X9, X9
	VUCOMISS X9, X8
	JNE  qknonzero

	// all zero (or NaN): the whole block is zero
	VPXOR Y0, Y0, Y0
	MOVQ DI, DX
	MOVQ $9, BX

qkzero:
	VMOVDQU Y0, (DX)
	ADDQ $32, DX
	DECQ BX
	JNZ  qkzero
	MOVL $0, (DX) // bytes 288–291
	JMP  qknext

qknonzero:
	// pass 2: first index with |x| == amax
	VBROADCASTSS X8, Y8
	XORQ DX, DX

qkfind:
	VANDPS (SI)(DX*4), Y15, Y4
	VCMPPS $0, Y8, Y4, Y4
	VMOVMSKPS Y4, BX
	TESTL BX, BX
	JNZ  qkfound
	ADDQ $8, DX
	JMP  qkfind

qkfound:
	BSFL BX, BX
	ADDQ BX, DX
	VMOVSS (SI)(DX*4), X9 // max, sign kept
	MOVL $0xc2fe0000, R11 // −127.0
	VMOVD R11, X5
	VDIVSS X9, X5, X9     // iscale = −127/max
	MOVL $0x3f800000, R11
	VMOVD R11, X5
	VDIVSS X9, X5, X5     // d = 1/iscale
	VMOVSS X5, (DI)
	VBROADCASTSS X9, Y9

	// pass 3: q = min(127, nearest_int(iscale·x)), low byte
	MOVQ SI, DX
	LEAQ 4(DI), R12
	MOVQ $8, BX

qkq:
	VMULPS (DX), Y9, Y0
	VMULPS 32(DX), Y9, Y1
	VMULPS 64(DX), Y9, Y2
	VMULPS 96(DX), Y9, Y3
	VADDPS Y14, Y0, Y0
	VADDPS Y14, Y1, Y1
	VADDPS Y14, Y2, Y2
	VADDPS Y14, Y3, Y3
	VPAND Y13, Y0, Y0
	VPAND Y13, Y1, Y1
	VPAND Y13, Y2, Y2
	VPAND Y13, Y3, Y3
	VPSUBD Y12, Y0, Y0
	VPSUBD Y12, Y1, Y1
	VPSUBD Y12, Y2, Y2
	VPSUBD Y12, Y3, Y3
	VPMINSD Y7, Y0, Y0
	VPMINSD Y7, Y1, Y1
	VPMINSD Y7, Y2, Y2
	VPMINSD Y7, Y3, Y3
	PACKBYTES
	VMOVDQU Y0, (R12)
	ADDQ $128, DX
	ADDQ $32, R12
	DECQ BX
	JNZ  qkq

	// pass 4: bsums. Chunk c of 32 bytes gives group sums 2c (low lane)
	// and 2c+1 (high lane) as four dword partials each.
	VMOVDQU qnt_ones8<>(SB), Y6
	VMOVDQU qnt_ones16<>(SB), Y5
	VPMADDUBSW 4(DI), Y6, Y0
	VPMADDWD Y5, Y0, Y0
	VPMADDUBSW 36(DI), Y6, Y1
	VPMADDWD Y5, Y1, Y1
	VPMADDUBSW 68(DI), Y6, Y2
	VPMADDWD Y5, Y2, Y2
	VPMADDUBSW 100(DI), Y6, Y3
	VPMADDWD Y5, Y3, Y3
	VPHADDD Y1, Y0, Y0
	VPHADDD Y3, Y2, Y2
	VPHADDD Y2, Y0, Y0 // [g0 g2 g4 g6 | g1 g3 g5 g7]
	VPMADDUBSW 132(DI), Y6, Y1
	VPMADDWD Y5, Y1, Y1
	VPMADDUBSW 164(DI), Y6, Y2
	VPMADDWD Y5, Y2, Y2
	VPMADDUBSW 196(DI), Y6, Y3
	VPMADDWD Y5, Y3, Y3
	VPMADDUBSW 228(DI), Y6, Y4
	VPMADDWD Y5, Y4, Y4
	VPHADDD Y2, Y1, Y1
	VPHADDD Y4, Y3, Y3
	VPHADDD Y3, Y1, Y1 // [g8 g10 g12 g14 | g9 g11 g13 g15]
	VPACKSSDW Y1, Y0, Y0 // [g0 g2 … g14 | g1 g3 … g15] as words
	VEXTRACTI128 $1, Y0, X1
	VPUNPCKLWD X1, X0, X2
	VPUNPCKHWD X1, X0, X3
	VMOVDQU X2, 260(DI)
	VMOVDQU X3, 276(DI)

qknext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  qkloop

qkdone:
	VZEROUPPER
	RET
