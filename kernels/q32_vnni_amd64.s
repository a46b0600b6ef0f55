//go:build !noasm

#include "textflag.h"

// AVX-512 + VNNI W·A8 bodies of the ggml 32-value block formats; Go side in
// q32_amd64.go. Every one is bit-exact with the generic DotAct: integer
// block sums are exact, and the float terms run lane-per-row (GEMV) or
// lane-per-row with one accumulator per token (GEMM) in the generic order.
//
// VPDPBUSD multiplies unsigned by signed bytes, so the weights enter as
// unsigned codes: the nibble formats as u = q + offset (q4_0 offset 8,
// q5_0 16, none for q4_1/q5_1), q8_0 as u = q XOR 0x80 = q + 128, and the
// offset term offset·Σq_x is taken off the integer sum.
//
// gemvAct8*: eight weight rows at w + r·stride against one activation row,
// 32 bytes (one block) per row per step; the eight rows' lane sums are
// reduced with VPHADDD into one ymm (a lane per row).
//
// gemmAct*: one panel of packed weights (eight lanes: eight rows, or seven
// rows and a correction lane) against eight tokens. The panel holds, per
// block, the row scales and the codes as 8 groups × 8 lanes × 4 bytes, so
// that one VPDPBUSD with a broadcast dword of a token's activations adds
// four products to every row's sum: after eight groups each lane holds its
// row's exact block sum, with no horizontal reduction. For the offset
// formats lane 7 holds the constant offset code, so it computes offset·Σq_x
// for the token, which is then subtracted from every lane.

// Qword shift counts: low lane by 0, high lane by 4 (nibble split).
DATA v32shift<>+0(SB)/8, $0
DATA v32shift<>+8(SB)/8, $0
DATA v32shift<>+16(SB)/8, $4
DATA v32shift<>+24(SB)/8, $4
GLOBL v32shift<>(SB), RODATA|NOPTR, $32

// Deinterleaves 16 floats [d0 m0 … d7 m7] into [d0 … d7 m0 … m7].
DATA v32dmidx<>+0(SB)/4, $0
DATA v32dmidx<>+4(SB)/4, $2
DATA v32dmidx<>+8(SB)/4, $4
DATA v32dmidx<>+12(SB)/4, $6
DATA v32dmidx<>+16(SB)/4, $8
DATA v32dmidx<>+20(SB)/4, $10
DATA v32dmidx<>+24(SB)/4, $12
DATA v32dmidx<>+28(SB)/4, $14
DATA v32dmidx<>+32(SB)/4, $1
DATA v32dmidx<>+36(SB)/4, $3
DATA v32dmidx<>+40(SB)/4, $5
DATA v32dmidx<>+44(SB)/4, $7
DATA v32dmidx<>+48(SB)/4, $9
DATA v32dmidx<>+52(SB)/4, $11
DATA v32dmidx<>+56(SB)/4, $13
DATA v32dmidx<>+60(SB)/4, $15
GLOBL v32dmidx<>(SB), RODATA|NOPTR, $64

#define BCAST32(imm, Y, X) \
	MOVL imm, R11; \
	VMOVD R11, X; \
	VPBROADCASTD X, Y

// Rows: SI = row 0, R8 = row 4 of the current block, DX = stride,
// R9 = 3·stride.
#define ROWSETUP \
	MOVQ w+8(FP), SI; \
	MOVQ stride+16(FP), DX; \
	LEAQ (DX)(DX*2), R9; \
	LEAQ (SI)(DX*4), R8

#define ROW0(off) off(SI)
#define ROW1(off) off(SI)(DX*1)
#define ROW2(off) off(SI)(DX*2)
#define ROW3(off) off(SI)(R9*1)
#define ROW4(off) off(R8)
#define ROW5(off) off(R8)(DX*1)
#define ROW6(off) off(R8)(DX*2)
#define ROW7(off) off(R8)(R9*1)

// REDUCE8: Y1 = float32 of [Σ Y1, Σ Y2, …, Σ Y8] (exact: below 2^24).
#define REDUCE8 \
	VPHADDD Y2, Y1, Y1; \
	VPHADDD Y4, Y3, Y3; \
	VPHADDD Y6, Y5, Y5; \
	VPHADDD Y8, Y7, Y7; \
	VPHADDD Y3, Y1, Y1; \
	VPHADDD Y7, Y5, Y5; \
	VPERM2I128 $0x20, Y5, Y1, Y2; \
	VPERM2I128 $0x31, Y5, Y1, Y3; \
	VPADDD Y3, Y2, Y1; \
	VCVTDQ2PS Y1, Y1

// GATHER8H(off, X, Y): Y = float32 of the f16 at off of the eight rows' block.
#define GATHER8H(off, X, Y) \
	MOVWLZX ROW0(off), R11; \
	VMOVD R11, X; \
	VPINSRW $1, ROW1(off), X, X; \
	VPINSRW $2, ROW2(off), X, X; \
	VPINSRW $3, ROW3(off), X, X; \
	VPINSRW $4, ROW4(off), X, X; \
	VPINSRW $5, ROW5(off), X, X; \
	VPINSRW $6, ROW6(off), X, X; \
	VPINSRW $7, ROW7(off), X, X; \
	VCVTPH2PS X, Y

// GATHER8DM: Y2 = d, Y3 = m (float32) of the eight rows' block (d, m at 0, 2).
#define GATHER8DM \
	VMOVD ROW0(0), X2; \
	VPINSRD $1, ROW1(0), X2, X2; \
	VPINSRD $2, ROW2(0), X2, X2; \
	VPINSRD $3, ROW3(0), X2, X2; \
	VMOVD ROW4(0), X3; \
	VPINSRD $1, ROW5(0), X3, X3; \
	VPINSRD $2, ROW6(0), X3, X3; \
	VPINSRD $3, ROW7(0), X3, X3; \
	VINSERTI128 $1, X3, Y2, Y2; \
	VCVTPH2PS Y2, Z2; \
	VPERMPS Z2, Z17, Z2; \
	VEXTRACTF32X8 $1, Z2, Y3

// Row bodies: ROWU_* put the 32 unsigned codes of the current block of a row
// in Y13; DOT_* then add their products with Y0 (the activations) to D.

// Nibbles (q4): low nibbles in the low lane (values 0–15), high in the high.
#define ROWU_NIB(addr) \
	VBROADCASTI128 addr, Y13; \
	VPSRLVQ Y11, Y13, Y13; \
	VPAND Y10, Y13, Y13

// Five-bit codes (q5): nibbles plus 16 where bit e of qh is set.
#define ROWU_NIB5(qaddr, haddr) \
	ROWU_NIB(qaddr); \
	KMOVD haddr, K1; \
	VPADDB Y12, Y13, K1, Y13

// q8_0: u = q XOR 0x80.
#define ROWU_Q8(addr) \
	VPXORD addr, Y10, Y13

// D = Y9 (−offset·Σq_x lane partials) + u·q_x.
#define DOT_OFF(D) \
	VMOVDQA Y9, D; \
	VPDPBUSD Y0, Y13, D

// D = u·q_x.
#define DOT_NOOFF(D) \
	VPXOR D, D, D; \
	VPDPBUSD Y0, Y13, D

// NEGOFF: Y9 = −(offset bytes Y14)·q_x lane partials (Y14: offset code).
#define NEGOFF \
	VPXOR Y9, Y9, Y9; \
	VPXOR Y15, Y15, Y15; \
	VPDPBUSD Y0, Y14, Y9; \
	VPSUBD Y9, Y15, Y9

// Packed-panel GEMM tiles:
// func gemmActXxxVNNI(dst *float32, ldd int, pw *byte, xq *byte, xqStride int, nb int, mask int)
//
// Eight tokens at xq + t·xqStride against one panel (pw: per block the
// float32 row scales d[8] (and m[8] for q4_1/q5_1), then the codes
// [group g][lane][4 bytes] for g = 0…7); dst[t·ldd + lane] for the lanes
// set in mask.
//
// SI panel block, R8/R10 tokens 0/4 (advanced per block), R12 token
// stride, R13 3·stride, CX blocks left, DI dst, BX ldd·4.
// Y16–Y23 int sums of tokens 0–7, Y24–Y31 float sums, Y0 codes of a group,
// Y1–Y5 scratch, Y6 lane-7 index, Y7 d, Y8 m.

#define TOKSETUP \
	MOVQ pw+16(FP), SI; \
	MOVQ xq+24(FP), R8; \
	MOVQ xqStride+32(FP), R12; \
	MOVQ nb+40(FP), CX; \
	LEAQ (R12)(R12*2), R13; \
	LEAQ (R8)(R12*4), R10

#define TOK0(off) off(R8)
#define TOK1(off) off(R8)(R12*1)
#define TOK2(off) off(R8)(R12*2)
#define TOK3(off) off(R8)(R13*1)
#define TOK4(off) off(R10)
#define TOK5(off) off(R10)(R12*1)
#define TOK6(off) off(R10)(R12*2)
#define TOK7(off) off(R10)(R13*1)

#define ZERO8 \
	VPXORD Y16, Y16, Y16; \
	VPXORD Y17, Y17, Y17; \
	VPXORD Y18, Y18, Y18; \
	VPXORD Y19, Y19, Y19; \
	VPXORD Y20, Y20, Y20; \
	VPXORD Y21, Y21, Y21; \
	VPXORD Y22, Y22, Y22; \
	VPXORD Y23, Y23, Y23

#define ZEROF8 \
	VXORPS Y24, Y24, Y24; \
	VXORPS Y25, Y25, Y25; \
	VXORPS Y26, Y26, Y26; \
	VXORPS Y27, Y27, Y27; \
	VXORPS Y28, Y28, Y28; \
	VXORPS Y29, Y29, Y29; \
	VXORPS Y30, Y30, Y30; \
	VXORPS Y31, Y31, Y31

// GROUP(woff, xoff): the four products of group g for all eight tokens.
#define GROUP(woff, xoff) \
	VMOVDQU woff(SI), Y0; \
	VPDPBUSD.BCST TOK0(xoff), Y0, Y16; \
	VPDPBUSD.BCST TOK1(xoff), Y0, Y17; \
	VPDPBUSD.BCST TOK2(xoff), Y0, Y18; \
	VPDPBUSD.BCST TOK3(xoff), Y0, Y19; \
	VPDPBUSD.BCST TOK4(xoff), Y0, Y20; \
	VPDPBUSD.BCST TOK5(xoff), Y0, Y21; \
	VPDPBUSD.BCST TOK6(xoff), Y0, Y22; \
	VPDPBUSD.BCST TOK7(xoff), Y0, Y23

// BLOCKSUMS(w0, x0): the eight groups (codes from w0, activations from x0).
#define BLOCKSUMS(w0, x0) \
	GROUP(w0, x0); \
	GROUP(w0+32, x0+4); \
	GROUP(w0+64, x0+8); \
	GROUP(w0+96, x0+12); \
	GROUP(w0+128, x0+16); \
	GROUP(w0+160, x0+20); \
	GROUP(w0+192, x0+24); \
	GROUP(w0+224, x0+28)

// CORR(S): S −= lane 7 of S (the offset term of the token).
#define CORR(S) \
	VPERMD S, Y6, Y1; \
	VPSUBD Y1, S, S

#define CORR8 \
	CORR(Y16); \
	CORR(Y17); \
	CORR(Y18); \
	CORR(Y19); \
	CORR(Y20); \
	CORR(Y21); \
	CORR(Y22); \
	CORR(Y23)

// DX_(T): Y2 = the token's block scale d_x (f16 at the block start).
#define DX_(T) \
	VPBROADCASTW T(0), X2; \
	VCVTPH2PS X2, Y2

// FDD(T, S, F): F += sumi·(d_w·d_x)  (q8_0: sumi·(dx·dy); q5_0: (dx·dy)·sumi).
#define FDD(T, S, F) \
	DX_(T); \
	VMULPS Y7, Y2, Y2; \
	VCVTDQ2PS S, Y3; \
	VMULPS Y2, Y3, Y3; \
	VADDPS Y3, F, F

// FSEQ(T, S, F): F += (sumi·d_w)·d_x  (q4_0).
#define FSEQ(T, S, F) \
	DX_(T); \
	VCVTDQ2PS S, Y3; \
	VMULPS Y7, Y3, Y3; \
	VMULPS Y2, Y3, Y3; \
	VADDPS Y3, F, F

// FMIN(T, S, F): F += (d_w·d_x)·sumi + m_w·s_x  (q4_1, q5_1; q8_1 tokens).
#define FMIN(T, S, F) \
	DX_(T); \
	VMULPS Y7, Y2, Y2; \
	VCVTDQ2PS S, Y3; \
	VMULPS Y3, Y2, Y3; \
	VPBROADCASTW T(2), X4; \
	VCVTPH2PS X4, Y4; \
	VMULPS Y8, Y4, Y4; \
	VADDPS Y4, Y3, Y3; \
	VADDPS Y3, F, F

#define FLOAT8(OP) \
	OP(TOK0, Y16, Y24); \
	OP(TOK1, Y17, Y25); \
	OP(TOK2, Y18, Y26); \
	OP(TOK3, Y19, Y27); \
	OP(TOK4, Y20, Y28); \
	OP(TOK5, Y21, Y29); \
	OP(TOK6, Y22, Y30); \
	OP(TOK7, Y23, Y31)

// STORE8: dst[t·ldd + lane] = Y24+t for the lanes in K1.
#define STORE8 \
	MOVQ dst+0(FP), DI; \
	MOVQ ldd+8(FP), BX; \
	SHLQ $2, BX; \
	MOVQ mask+48(FP), AX; \
	KMOVB AX, K1; \
	VMOVUPS Y24, K1, (DI); \
	ADDQ BX, DI; \
	VMOVUPS Y25, K1, (DI); \
	ADDQ BX, DI; \
	VMOVUPS Y26, K1, (DI); \
	ADDQ BX, DI; \
	VMOVUPS Y27, K1, (DI); \
	ADDQ BX, DI; \
	VMOVUPS Y28, K1, (DI); \
	ADDQ BX, DI; \
	VMOVUPS Y29, K1, (DI); \
	ADDQ BX, DI; \
	VMOVUPS Y30, K1, (DI); \
	ADDQ BX, DI; \
	VMOVUPS Y31, K1, (DI)

// Panel packing: func packPanelXxx(dst *byte, w *byte, stride, nrows, nb int)
//
// Packs nrows rows (w + r·stride; rows past nrows repeat the last one,
// their lanes are never stored) of nb blocks into one eight-lane panel:
// per block d[8] as float32, for q4_1/q5_1 m[8], then the codes
// transposed to [group g][lane][4 bytes]. For the offset formats lane 7
// holds the offset code.
//
// DI dst, R8–R15 rows 0–7, AX block offset, CX blocks left. Y0–Y7 the rows'
// codes, Y8–Y15 transpose scratch; Y9–Y12 hold format constants only while
// the codes are built (reloaded every block).

#define PACKROWS(maxrow) \
	MOVQ dst+0(FP), DI; \
	MOVQ w+8(FP), R8; \
	MOVQ stride+16(FP), DX; \
	MOVQ nrows+24(FP), BX; \
	MOVQ nb+32(FP), CX; \
	DECQ BX; \
	MOVQ $1, SI; \
	CMPQ SI, BX; \
	CMOVQGT BX, SI; \
	IMULQ DX, SI; \
	LEAQ (R8)(SI*1), R9; \
	MOVQ $2, SI; \
	CMPQ SI, BX; \
	CMOVQGT BX, SI; \
	IMULQ DX, SI; \
	LEAQ (R8)(SI*1), R10; \
	MOVQ $3, SI; \
	CMPQ SI, BX; \
	CMOVQGT BX, SI; \
	IMULQ DX, SI; \
	LEAQ (R8)(SI*1), R11; \
	MOVQ $4, SI; \
	CMPQ SI, BX; \
	CMOVQGT BX, SI; \
	IMULQ DX, SI; \
	LEAQ (R8)(SI*1), R12; \
	MOVQ $5, SI; \
	CMPQ SI, BX; \
	CMOVQGT BX, SI; \
	IMULQ DX, SI; \
	LEAQ (R8)(SI*1), R13; \
	MOVQ $6, SI; \
	CMPQ SI, BX; \
	CMOVQGT BX, SI; \
	IMULQ DX, SI; \
	LEAQ (R8)(SI*1), R14; \
	MOVQ $maxrow, SI; \
	CMPQ SI, BX; \
	CMOVQGT BX, SI; \
	IMULQ DX, SI; \
	LEAQ (R8)(SI*1), R15; \
	XORQ AX, AX

// PGATHERH(off, dstoff): the f16 at off of the eight rows' block as float32 at dstoff(DI).
#define PGATHERH(off, dstoff) \
	MOVWLZX off(R8)(AX*1), SI; \
	VMOVD SI, X8; \
	VPINSRW $1, off(R9)(AX*1), X8, X8; \
	VPINSRW $2, off(R10)(AX*1), X8, X8; \
	VPINSRW $3, off(R11)(AX*1), X8, X8; \
	VPINSRW $4, off(R12)(AX*1), X8, X8; \
	VPINSRW $5, off(R13)(AX*1), X8, X8; \
	VPINSRW $6, off(R14)(AX*1), X8, X8; \
	VPINSRW $7, off(R15)(AX*1), X8, X8; \
	VCVTPH2PS X8, Y8; \
	VMOVUPS Y8, dstoff(DI)

// TRANSPOSE_STORE(off): Y0–Y7 (rows, 8 dwords each) → groups at off(DI) + 32g.
#define TRANSPOSE_STORE(off) \
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
	VMOVDQU Y8, off(DI); \
	VMOVDQU Y9, off+32(DI); \
	VMOVDQU Y10, off+64(DI); \
	VMOVDQU Y11, off+96(DI); \
	VMOVDQU Y12, off+128(DI); \
	VMOVDQU Y13, off+160(DI); \
	VMOVDQU Y14, off+192(DI); \
	VMOVDQU Y15, off+224(DI)

// Code builders for row register P into Y: constants Y9 (0x80 / 0x0f
// bytes), Y10 nibble shifts, Y11 bytes of 16.
#define PC_Q8(P, Y) \
	VPXOR 2(P)(AX*1), Y9, Y

#define PC_NIB(qs, P, Y) \
	VBROADCASTI128 qs(P)(AX*1), Y; \
	VPSRLVQ Y10, Y, Y; \
	VPAND Y9, Y, Y

#define PC_NIB5(qh, qs, P, Y) \
	PC_NIB(qs, P, Y); \
	KMOVD qh(P)(AX*1), K1; \
	VPADDB Y11, Y, K1, Y

// PCONST_Q8 / PCONST_NIB load the code builders' constants (every block,
// since the transpose reuses their registers).
#define PCONST_Q8 \
	MOVL $0x80808080, SI; \
	VMOVD SI, X9; \
	VPBROADCASTD X9, Y9

#define PCONST_NIB \
	MOVL $0x0f0f0f0f, SI; \
	VMOVD SI, X9; \
	VPBROADCASTD X9, Y9; \
	VMOVDQU v32shift<>(SB), Y10; \
	MOVL $0x10101010, SI; \
	VMOVD SI, X11; \
	VPBROADCASTD X11, Y11

// PLANE7(code): Y7 = the offset code in every byte.
#define PLANE7(code) \
	MOVL code, SI; \
	VMOVD SI, X7; \
	VPBROADCASTD X7, Y7

// The eight-row kernels:
// func gemvAct8Xxx(dst *[8]float32, w *byte, stride int, xq *byte, nb int)
//
// While they read eight rows, they prefetch the next eight into L2 (R10) in
// address order, a little more per block than the block reads: short rows
// are eight interleaved streams that the hardware prefetchers follow poorly
// (stories110M's 768-column q8_0 rows streamed at 5.5 GB/s before this).
//
// SI/R8 rows 0/4 (advanced per block), DX stride, R9 3·stride, DI xq,
// CX blocks left. Y0 activation codes, Y1–Y8 row sums, Y9 offset term,
// Y10–Y12 format constants, Y13 codes, Y14 offset code, Y15 scratch,
// Y16 float sums of the eight rows, Z17 d/m index.

// func gemvAct8Q8_0VNNI(dst *[8]float32, w *byte, stride int, xq *byte, nb int)
TEXT ·gemvAct8Q8_0VNNI(SB), NOSPLIT, $0-40
	ROWSETUP
	LEAQ (R8)(DX*4), R10 // the next eight rows, prefetched linearly
	MOVQ xq+24(FP), DI
	MOVQ nb+32(FP), CX
	VPXORD Y16, Y16, Y16
	BCAST32($0x80808080, Y10, X10)
	VMOVDQA Y10, Y14
	TESTQ CX, CX
	JLE g80done

g80loop:
	VMOVDQU 2(DI), Y0
	NEGOFF
	ROWU_Q8(ROW0(2))
	DOT_OFF(Y1)
	ROWU_Q8(ROW1(2))
	DOT_OFF(Y2)
	ROWU_Q8(ROW2(2))
	DOT_OFF(Y3)
	ROWU_Q8(ROW3(2))
	DOT_OFF(Y4)
	ROWU_Q8(ROW4(2))
	DOT_OFF(Y5)
	ROWU_Q8(ROW5(2))
	DOT_OFF(Y6)
	ROWU_Q8(ROW6(2))
	DOT_OFF(Y7)
	ROWU_Q8(ROW7(2))
	DOT_OFF(Y8)
	REDUCE8
	GATHER8H(0, X2, Y2)
	VPBROADCASTW (DI), X3
	VCVTPH2PS X3, Y3
	VMULPS Y3, Y2, Y2  // d_w·d_x
	VMULPS Y2, Y1, Y1  // sumi·(d_w·d_x)
	VADDPS Y1, Y16, Y16
	PREFETCHT1 (R10)
	PREFETCHT1 64(R10)
	PREFETCHT1 128(R10)
	PREFETCHT1 192(R10)
	PREFETCHT1 256(R10)
	PREFETCHT1 320(R10)
	ADDQ $272, R10
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $34, DI
	DECQ CX
	JNZ  g80loop

g80done:
	MOVQ dst+0(FP), DI
	VMOVUPS Y16, (DI)
	VZEROUPPER
	RET

// func gemvAct8Q4_0VNNI(dst *[8]float32, w *byte, stride int, xq *byte, nb int)
TEXT ·gemvAct8Q4_0VNNI(SB), NOSPLIT, $0-40
	ROWSETUP
	LEAQ (R8)(DX*4), R10 // the next eight rows, prefetched linearly
	MOVQ xq+24(FP), DI
	MOVQ nb+32(FP), CX
	VPXORD Y16, Y16, Y16
	BCAST32($0x0f0f0f0f, Y10, X10)
	BCAST32($0x08080808, Y14, X14)
	VMOVDQU v32shift<>(SB), Y11
	TESTQ CX, CX
	JLE g40done

g40loop:
	VMOVDQU 2(DI), Y0
	NEGOFF
	ROWU_NIB(ROW0(2))
	DOT_OFF(Y1)
	ROWU_NIB(ROW1(2))
	DOT_OFF(Y2)
	ROWU_NIB(ROW2(2))
	DOT_OFF(Y3)
	ROWU_NIB(ROW3(2))
	DOT_OFF(Y4)
	ROWU_NIB(ROW4(2))
	DOT_OFF(Y5)
	ROWU_NIB(ROW5(2))
	DOT_OFF(Y6)
	ROWU_NIB(ROW6(2))
	DOT_OFF(Y7)
	ROWU_NIB(ROW7(2))
	DOT_OFF(Y8)
	REDUCE8
	GATHER8H(0, X2, Y2)
	VPBROADCASTW (DI), X3
	VCVTPH2PS X3, Y3
	VMULPS Y2, Y1, Y1  // sumi·d_w
	VMULPS Y3, Y1, Y1  // ·d_x
	VADDPS Y1, Y16, Y16
	PREFETCHT1 (R10)
	PREFETCHT1 64(R10)
	PREFETCHT1 128(R10)
	PREFETCHT1 192(R10)
	ADDQ $144, R10
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $34, DI
	DECQ CX
	JNZ  g40loop

g40done:
	MOVQ dst+0(FP), DI
	VMOVUPS Y16, (DI)
	VZEROUPPER
	RET

// func gemvAct8Q5_0VNNI(dst *[8]float32, w *byte, stride int, xq *byte, nb int)
TEXT ·gemvAct8Q5_0VNNI(SB), NOSPLIT, $0-40
	ROWSETUP
	LEAQ (R8)(DX*4), R10 // the next eight rows, prefetched linearly
	MOVQ xq+24(FP), DI
	MOVQ nb+32(FP), CX
	VPXORD Y16, Y16, Y16
	BCAST32($0x0f0f0f0f, Y10, X10)
	BCAST32($0x10101010, Y12, X12)
	VMOVDQA Y12, Y14
	VMOVDQU v32shift<>(SB), Y11
	TESTQ CX, CX
	JLE g50done

g50loop:
	VMOVDQU 2(DI), Y0
	NEGOFF
	ROWU_NIB5(ROW0(6), ROW0(2))
	DOT_OFF(Y1)
	ROWU_NIB5(ROW1(6), ROW1(2))
	DOT_OFF(Y2)
	ROWU_NIB5(ROW2(6), ROW2(2))
	DOT_OFF(Y3)
	ROWU_NIB5(ROW3(6), ROW3(2))
	DOT_OFF(Y4)
	ROWU_NIB5(ROW4(6), ROW4(2))
	DOT_OFF(Y5)
	ROWU_NIB5(ROW5(6), ROW5(2))
	DOT_OFF(Y6)
	ROWU_NIB5(ROW6(6), ROW6(2))
	DOT_OFF(Y7)
	ROWU_NIB5(ROW7(6), ROW7(2))
	DOT_OFF(Y8)
	REDUCE8
	GATHER8H(0, X2, Y2)
	VPBROADCASTW (DI), X3
	VCVTPH2PS X3, Y3
	VMULPS Y3, Y2, Y2  // d_w·d_x
	VMULPS Y2, Y1, Y1  // ·sumi
	VADDPS Y1, Y16, Y16
	PREFETCHT1 (R10)
	PREFETCHT1 64(R10)
	PREFETCHT1 128(R10)
	PREFETCHT1 192(R10)
	ADDQ $176, R10
	ADDQ $22, SI
	ADDQ $22, R8
	ADDQ $34, DI
	DECQ CX
	JNZ  g50loop

g50done:
	MOVQ dst+0(FP), DI
	VMOVUPS Y16, (DI)
	VZEROUPPER
	RET

// ACT81_TERMS: Y16 += (d_w·d_x)·sumi + m_w·s_x for the eight rows (Y1 = sumi).
#define ACT81_TERMS \
	GATHER8DM; \
	VPBROADCASTW (DI), X4; \
	VCVTPH2PS X4, Y4; \
	VMULPS Y4, Y2, Y2; \
	VMULPS Y2, Y1, Y1; \
	VPBROADCASTW 2(DI), X4; \
	VCVTPH2PS X4, Y4; \
	VMULPS Y4, Y3, Y3; \
	VADDPS Y3, Y1, Y1; \
	VADDPS Y1, Y16, Y16

// func gemvAct8Q4_1VNNI(dst *[8]float32, w *byte, stride int, xq *byte, nb int)
TEXT ·gemvAct8Q4_1VNNI(SB), NOSPLIT, $0-40
	ROWSETUP
	LEAQ (R8)(DX*4), R10 // the next eight rows, prefetched linearly
	MOVQ xq+24(FP), DI
	MOVQ nb+32(FP), CX
	VPXORD Y16, Y16, Y16
	BCAST32($0x0f0f0f0f, Y10, X10)
	VMOVDQU v32shift<>(SB), Y11
	VMOVDQU32 v32dmidx<>(SB), Z17
	TESTQ CX, CX
	JLE g41done

g41loop:
	VMOVDQU 4(DI), Y0
	ROWU_NIB(ROW0(4))
	DOT_NOOFF(Y1)
	ROWU_NIB(ROW1(4))
	DOT_NOOFF(Y2)
	ROWU_NIB(ROW2(4))
	DOT_NOOFF(Y3)
	ROWU_NIB(ROW3(4))
	DOT_NOOFF(Y4)
	ROWU_NIB(ROW4(4))
	DOT_NOOFF(Y5)
	ROWU_NIB(ROW5(4))
	DOT_NOOFF(Y6)
	ROWU_NIB(ROW6(4))
	DOT_NOOFF(Y7)
	ROWU_NIB(ROW7(4))
	DOT_NOOFF(Y8)
	REDUCE8
	ACT81_TERMS
	PREFETCHT1 (R10)
	PREFETCHT1 64(R10)
	PREFETCHT1 128(R10)
	PREFETCHT1 192(R10)
	ADDQ $160, R10
	ADDQ $20, SI
	ADDQ $20, R8
	ADDQ $36, DI
	DECQ CX
	JNZ  g41loop

g41done:
	MOVQ dst+0(FP), DI
	VMOVUPS Y16, (DI)
	VZEROUPPER
	RET

// func gemvAct8Q5_1VNNI(dst *[8]float32, w *byte, stride int, xq *byte, nb int)
TEXT ·gemvAct8Q5_1VNNI(SB), NOSPLIT, $0-40
	ROWSETUP
	LEAQ (R8)(DX*4), R10 // the next eight rows, prefetched linearly
	MOVQ xq+24(FP), DI
	MOVQ nb+32(FP), CX
	VPXORD Y16, Y16, Y16
	BCAST32($0x0f0f0f0f, Y10, X10)
	BCAST32($0x10101010, Y12, X12)
	VMOVDQU v32shift<>(SB), Y11
	VMOVDQU32 v32dmidx<>(SB), Z17
	TESTQ CX, CX
	JLE g51done

g51loop:
	VMOVDQU 4(DI), Y0
	ROWU_NIB5(ROW0(8), ROW0(4))
	DOT_NOOFF(Y1)
	ROWU_NIB5(ROW1(8), ROW1(4))
	DOT_NOOFF(Y2)
	ROWU_NIB5(ROW2(8), ROW2(4))
	DOT_NOOFF(Y3)
	ROWU_NIB5(ROW3(8), ROW3(4))
	DOT_NOOFF(Y4)
	ROWU_NIB5(ROW4(8), ROW4(4))
	DOT_NOOFF(Y5)
	ROWU_NIB5(ROW5(8), ROW5(4))
	DOT_NOOFF(Y6)
	ROWU_NIB5(ROW6(8), ROW6(4))
	DOT_NOOFF(Y7)
	ROWU_NIB5(ROW7(8), ROW7(4))
	DOT_NOOFF(Y8)
	REDUCE8
	ACT81_TERMS
	PREFETCHT1 (R10)
	PREFETCHT1 64(R10)
	PREFETCHT1 128(R10)
	ADDQ $192, R10
	ADDQ $24, SI
	ADDQ $24, R8
	ADDQ $36, DI
	DECQ CX
	JNZ  g51loop

g51done:
	MOVQ dst+0(FP), DI
	VMOVUPS Y16, (DI)
	VZEROUPPER
	RET

// func gemmActDDVNNI(dst *float32, ldd int, pw *byte, xq *byte, xqStride int, nb int, mask int)
//
// q8_0 and q5_0 (offset lane 7, sumi·(d_w·d_x)); 34-byte q8_0 tokens,
// 288-byte panel blocks.
TEXT ·gemmActDDVNNI(SB), NOSPLIT, $0-56
	TOKSETUP
	BCAST32($7, Y6, X6)
	ZEROF8
	TESTQ CX, CX
	JLE ggdddone

ggddloop:
	ZERO8
	BLOCKSUMS(32, 2)
	CORR8
	VMOVUPS (SI), Y7
	FLOAT8(FDD)
	ADDQ $288, SI
	ADDQ $34, R8
	ADDQ $34, R10
	DECQ CX
	JNZ  ggddloop

ggdddone:
	STORE8
	VZEROUPPER
	RET

// func gemmActSeqVNNI(dst *float32, ldd int, pw *byte, xq *byte, xqStride int, nb int, mask int)
//
// q4_0 (offset lane 7, (sumi·d_w)·d_x).
TEXT ·gemmActSeqVNNI(SB), NOSPLIT, $0-56
	TOKSETUP
	BCAST32($7, Y6, X6)
	ZEROF8
	TESTQ CX, CX
	JLE ggsqdone

ggsqloop:
	ZERO8
	BLOCKSUMS(32, 2)
	CORR8
	VMOVUPS (SI), Y7
	FLOAT8(FSEQ)
	ADDQ $288, SI
	ADDQ $34, R8
	ADDQ $34, R10
	DECQ CX
	JNZ  ggsqloop

ggsqdone:
	STORE8
	VZEROUPPER
	RET

// func gemmActMinVNNI(dst *float32, ldd int, pw *byte, xq *byte, xqStride int, nb int, mask int)
//
// q4_1 and q5_1 (no offset lane; 36-byte q8_1 tokens; panel blocks of
// d[8], m[8], codes: 320 bytes).
TEXT ·gemmActMinVNNI(SB), NOSPLIT, $0-56
	TOKSETUP
	ZEROF8
	TESTQ CX, CX
	JLE ggmndone

ggmnloop:
	ZERO8
	BLOCKSUMS(64, 4)
	VMOVUPS (SI), Y7
	VMOVUPS 32(SI), Y8
	FLOAT8(FMIN)
	ADDQ $320, SI
	ADDQ $36, R8
	ADDQ $36, R10
	DECQ CX
	JNZ  ggmnloop

ggmndone:
	STORE8
	VZEROUPPER
	RET

// func packPanelQ8_0(dst *byte, w *byte, stride, nrows, nb int)
TEXT ·packPanelQ8_0(SB), NOSPLIT, $0-40
	PACKROWS(6)
	TESTQ CX, CX
	JLE pk80done

pk80loop:
	PGATHERH(0, 0)
	PCONST_Q8
	PC_Q8(R8, Y0)
	PC_Q8(R9, Y1)
	PC_Q8(R10, Y2)
	PC_Q8(R11, Y3)
	PC_Q8(R12, Y4)
	PC_Q8(R13, Y5)
	PC_Q8(R14, Y6)
	PLANE7($0x80808080)
	TRANSPOSE_STORE(32)
	ADDQ $34, AX
	ADDQ $288, DI
	DECQ CX
	JNZ  pk80loop

pk80done:
	VZEROUPPER
	RET

// func packPanelQ4_0(dst *byte, w *byte, stride, nrows, nb int)
TEXT ·packPanelQ4_0(SB), NOSPLIT, $0-40
	PACKROWS(6)
	TESTQ CX, CX
	JLE pk40done

pk40loop:
	PGATHERH(0, 0)
	PCONST_NIB
	PC_NIB(2, R8, Y0)
	PC_NIB(2, R9, Y1)
	PC_NIB(2, R10, Y2)
	PC_NIB(2, R11, Y3)
	PC_NIB(2, R12, Y4)
	PC_NIB(2, R13, Y5)
	PC_NIB(2, R14, Y6)
	PLANE7($0x08080808)
	TRANSPOSE_STORE(32)
	ADDQ $18, AX
	ADDQ $288, DI
	DECQ CX
	JNZ  pk40loop

pk40done:
	VZEROUPPER
	RET

// func packPanelQ5_0(dst *byte, w *byte, stride, nrows, nb int)
TEXT ·packPanelQ5_0(SB), NOSPLIT, $0-40
	PACKROWS(6)
	TESTQ CX, CX
	JLE pk50done

pk50loop:
	PGATHERH(0, 0)
	PCONST_NIB
	PC_NIB5(2, 6, R8, Y0)
	PC_NIB5(2, 6, R9, Y1)
	PC_NIB5(2, 6, R10, Y2)
	PC_NIB5(2, 6, R11, Y3)
	PC_NIB5(2, 6, R12, Y4)
	PC_NIB5(2, 6, R13, Y5)
	PC_NIB5(2, 6, R14, Y6)
	PLANE7($0x10101010)
	TRANSPOSE_STORE(32)
	ADDQ $22, AX
	ADDQ $288, DI
	DECQ CX
	JNZ  pk50loop

pk50done:
	VZEROUPPER
	RET

// func packPanelQ4_1(dst *byte, w *byte, stride, nrows, nb int)
TEXT ·packPanelQ4_1(SB), NOSPLIT, $0-40
	PACKROWS(7)
	TESTQ CX, CX
	JLE pk41done

pk41loop:
	PGATHERH(0, 0)
	PGATHERH(2, 32)
	PCONST_NIB
	PC_NIB(4, R8, Y0)
	PC_NIB(4, R9, Y1)
	PC_NIB(4, R10, Y2)
	PC_NIB(4, R11, Y3)
	PC_NIB(4, R12, Y4)
	PC_NIB(4, R13, Y5)
	PC_NIB(4, R14, Y6)
	PC_NIB(4, R15, Y7)
	TRANSPOSE_STORE(64)
	ADDQ $20, AX
	ADDQ $320, DI
	DECQ CX
	JNZ  pk41loop

pk41done:
	VZEROUPPER
	RET

// func packPanelQ5_1(dst *byte, w *byte, stride, nrows, nb int)
TEXT ·packPanelQ5_1(SB), NOSPLIT, $0-40
	PACKROWS(7)
	TESTQ CX, CX
	JLE pk51done

pk51loop:
	PGATHERH(0, 0)
	PGATHERH(2, 32)
	PCONST_NIB
	PC_NIB5(4, 8, R8, Y0)
	PC_NIB5(4, 8, R9, Y1)
	PC_NIB5(4, 8, R10, Y2)
	PC_NIB5(4, 8, R11, Y3)
	PC_NIB5(4, 8, R12, Y4)
	PC_NIB5(4, 8, R13, Y5)
	PC_NIB5(4, 8, R14, Y6)
	PC_NIB5(4, 8, R15, Y7)
	TRANSPOSE_STORE(64)
	ADDQ $24, AX
	ADDQ $320, DI
	DECQ CX
	JNZ  pk51loop

pk51done:
	VZEROUPPER
	RET
