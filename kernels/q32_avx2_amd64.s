//go:build !noasm

#include "textflag.h"

// AVX2 + FMA + F16C bodies of the ggml 32-value block formats (q8_0, q4_0,
// q4_1, q5_0, q5_1); Go side in q32_amd64.go.
//
// W·A8 (gemvAct*): four weight rows against one quantized activation row.
// Per block and row the integer sum Σ q_w·q_x is exact (VPMADDUBSW pairs,
// VPMADDWD with ones; nibble formats use the unsigned code u and subtract
// the offset as maddubs(offset, q_x)); the four row sums are reduced with
// VPHADDD into one xmm so that the float terms run lane-per-row in exactly
// the order of the generic body (separate VMULPS and VADDPS, no FMA).
//
// Weight-only (gemv*): four rows against float32 x; each block is decoded in
// registers and multiplied into an 8-lane block sum, scaled by the block's d
// into an 8-lane accumulator per row (FMA; the order differs from the
// generic body within the documented tolerance).
//
// Dequant (dequant*): exact, the same products as the generic decoders.

// Qword shift counts: low lane by 0, high lane by 4 (nibble split).
DATA q32shift<>+0(SB)/8, $0
DATA q32shift<>+8(SB)/8, $0
DATA q32shift<>+16(SB)/8, $4
DATA q32shift<>+24(SB)/8, $4
GLOBL q32shift<>(SB), RODATA|NOPTR, $32

// q5 high bits: byte e of the result takes byte e/8 of the broadcast qh.
DATA q32bitshuf<>+0(SB)/8, $0x0000000000000000
DATA q32bitshuf<>+8(SB)/8, $0x0101010101010101
DATA q32bitshuf<>+16(SB)/8, $0x0202020202020202
DATA q32bitshuf<>+24(SB)/8, $0x0303030303030303
GLOBL q32bitshuf<>(SB), RODATA|NOPTR, $32

// Byte e holds 1 << (e mod 8).
DATA q32bitmask<>+0(SB)/8, $0x8040201008040201
DATA q32bitmask<>+8(SB)/8, $0x8040201008040201
DATA q32bitmask<>+16(SB)/8, $0x8040201008040201
DATA q32bitmask<>+24(SB)/8, $0x8040201008040201
GLOBL q32bitmask<>(SB), RODATA|NOPTR, $32

// Deinterleaves [d0 m0 d1 m1 d2 m2 d3 m3] into [d0 d1 d2 d3 m0 m1 m2 m3].
DATA q32dmidx<>+0(SB)/4, $0
DATA q32dmidx<>+4(SB)/4, $2
DATA q32dmidx<>+8(SB)/4, $4
DATA q32dmidx<>+12(SB)/4, $6
DATA q32dmidx<>+16(SB)/4, $1
DATA q32dmidx<>+20(SB)/4, $3
DATA q32dmidx<>+24(SB)/4, $5
DATA q32dmidx<>+28(SB)/4, $7
GLOBL q32dmidx<>(SB), RODATA|NOPTR, $32

// BCAST32(imm32, Y, X) broadcasts a 32-bit pattern into Y (via R11).
#define BCAST32(imm, Y, X) \
	MOVL imm, R11; \
	VMOVD R11, X; \
	VPBROADCASTD X, Y

#define LOADROWS \
	MOVQ w0+8(FP), SI; \
	MOVQ w1+16(FP), R8; \
	MOVQ w2+24(FP), R9; \
	MOVQ w3+32(FP), R10

// PFSETUP points R12 at the rows after the four (w3 + (w3 − w2): the rows
// are equally spaced, or w2 = w3 at the end of the matrix). The W·A8 loops
// prefetch them into L2 in address order, per block the whole lines of what
// the block reads (rounded down: prefetching more slowed 768-column q4_0
// rows): short rows are four interleaved streams the hardware prefetchers
// follow poorly (q32_vnni_amd64.s does the same for eight rows).
#define PFSETUP \
	MOVQ R10, R12; \
	SUBQ R9, R12; \
	ADDQ R10, R12

// GATHER4H(off, X) loads the f16 at off of the current block of rows 0–3
// (SI, R8, R9, R10 + AX) into the low four words of X.
#define GATHER4H(off, X) \
	MOVWLZX off(SI)(AX*1), R11; \
	VMOVD R11, X; \
	VPINSRW $1, off(R8)(AX*1), X, X; \
	VPINSRW $2, off(R9)(AX*1), X, X; \
	VPINSRW $3, off(R10)(AX*1), X, X

// GATHER4D(X) loads the first dword (d, m as f16) of the current block of rows 0–3.
#define GATHER4D(X) \
	VMOVD (SI)(AX*1), X; \
	VPINSRD $1, (R8)(AX*1), X, X; \
	VPINSRD $2, (R9)(AX*1), X, X; \
	VPINSRD $3, (R10)(AX*1), X, X

// REDUCE4 sums the eight int32 lanes of Y1–Y4 into X1 = [Σ Y1, Σ Y2, Σ Y3, Σ Y4]
// as float32 (the sums are below 2^24: exact).
#define REDUCE4 \
	VPHADDD Y2, Y1, Y1; \
	VPHADDD Y4, Y3, Y3; \
	VPHADDD Y3, Y1, Y1; \
	VEXTRACTI128 $1, Y1, X2; \
	VPADDD X2, X1, X1; \
	VCVTDQ2PS X1, X1

// Q8_0_ROW(P, D): D = Σ per lane of q_w·q_x for the block of row P (sign
// trick: |w| unsigned times x with the sign of w).
#define Q8_0_ROW(P, D) \
	VMOVDQU 2(P)(AX*1), D; \
	VPSIGNB D, Y0, Y12; \
	VPSIGNB D, D, D; \
	VPMADDUBSW Y12, D, D; \
	VPMADDWD Y14, D, D

// NIB_ROW(off, P, D): D = the 32 nibbles of the 16 bytes at off, low nibbles
// (values 0–15) in the low lane, high nibbles (16–31) in the high lane.
#define NIB_ROW(off, P, D) \
	VBROADCASTI128 off(P)(AX*1), D; \
	VPSRLVQ Y11, D, D; \
	VPAND Y10, D, D

// HIBIT_ROW(off, P, D): D |= 0x10 in byte e where bit e of the 32-bit qh at off is set.
#define HIBIT_ROW(off, P, D) \
	VPBROADCASTD off(P)(AX*1), Y7; \
	VPSHUFB Y9, Y7, Y7; \
	VPAND Y8, Y7, Y7; \
	VPCMPEQB Y8, Y7, Y7; \
	VPAND Y5, Y7, Y7; \
	VPOR Y7, D, D

// UDOT(D) turns unsigned codes in D into int32 lane sums of u·q_x.
#define UDOT(D) \
	VPMADDUBSW Y0, D, D; \
	VPMADDWD Y14, D, D

// ODOT(D): the same minus the offset term in Y12 (maddubs(offset, q_x)).
#define ODOT(D) \
	VPMADDUBSW Y0, D, D; \
	VPSUBW Y12, D, D; \
	VPMADDWD Y14, D, D

// func gemvActQ8_0AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)
//
// SI, R8, R9, R10 weight rows; DI xq; AX block offset (34-byte blocks on
// both sides); CX blocks left; DX dst. Y0 activation qs, Y1–Y4 row sums,
// Y12 scratch, Y14 int16 ones, X5/X6 scales, X15 the four float sums.
TEXT ·gemvActQ8_0AVX2(SB), NOSPLIT, $0-56
	LOADROWS
	PFSETUP
	MOVQ xq+40(FP), DI
	MOVQ nb+48(FP), CX
	VPXOR X15, X15, X15
	VPCMPEQW Y14, Y14, Y14
	VPSRLW $15, Y14, Y14
	XORQ AX, AX
	TESTQ CX, CX
	JLE q80done

q80loop:
	VMOVDQU 2(DI)(AX*1), Y0
	Q8_0_ROW(SI, Y1)
	Q8_0_ROW(R8, Y2)
	Q8_0_ROW(R9, Y3)
	Q8_0_ROW(R10, Y4)
	REDUCE4
	GATHER4H(0, X5)
	VCVTPH2PS X5, X5
	VPBROADCASTW (DI)(AX*1), X6
	VCVTPH2PS X6, X6
	VMULPS X6, X5, X5  // d_w·d_x
	VMULPS X5, X1, X1  // sumi·(d_w·d_x)
	VADDPS X1, X15, X15
	ADDQ $34, AX
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ $128, R12
	DECQ CX
	JNZ  q80loop

q80done:
	MOVQ dst+0(FP), DX
	VMOVUPS X15, (DX)
	VZEROUPPER
	RET

// func gemvActQ4_0AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)
//
// AX weight block offset (18), BX activation offset (34); Y0 activation qs,
// Y1–Y4 row sums, Y10 0x0f bytes, Y11 nibble shifts, Y12 maddubs(8, q_x),
// Y13 bytes of 8, Y14 int16 ones, X5/X6 scales, X15 float sums.
TEXT ·gemvActQ4_0AVX2(SB), NOSPLIT, $0-56
	LOADROWS
	PFSETUP
	MOVQ xq+40(FP), DI
	MOVQ nb+48(FP), CX
	VPXOR X15, X15, X15
	VPCMPEQW Y14, Y14, Y14
	VPSRLW $15, Y14, Y14
	BCAST32($0x0f0f0f0f, Y10, X10)
	BCAST32($0x08080808, Y13, X13)
	VMOVDQU q32shift<>(SB), Y11
	XORQ AX, AX
	XORQ BX, BX
	TESTQ CX, CX
	JLE q40done

q40loop:
	VMOVDQU 2(DI)(BX*1), Y0
	VPMADDUBSW Y0, Y13, Y12
	NIB_ROW(2, SI, Y1)
	ODOT(Y1)
	NIB_ROW(2, R8, Y2)
	ODOT(Y2)
	NIB_ROW(2, R9, Y3)
	ODOT(Y3)
	NIB_ROW(2, R10, Y4)
	ODOT(Y4)
	REDUCE4
	GATHER4H(0, X5)
	VCVTPH2PS X5, X5
	VPBROADCASTW (DI)(BX*1), X6
	VCVTPH2PS X6, X6
	VMULPS X5, X1, X1  // sumi·d_w
	VMULPS X6, X1, X1  // ·d_x
	VADDPS X1, X15, X15
	ADDQ $18, AX
	ADDQ $34, BX
	PREFETCHT1 (R12)
	ADDQ $64, R12
	DECQ CX
	JNZ  q40loop

q40done:
	MOVQ dst+0(FP), DX
	VMOVUPS X15, (DX)
	VZEROUPPER
	RET

// func gemvActQ5_0AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)
//
// As q4_0 with 22-byte blocks; Y5 bytes of 0x10, Y7 scratch, Y8 bit masks,
// Y9 bit shuffle, Y13 bytes of 16.
TEXT ·gemvActQ5_0AVX2(SB), NOSPLIT, $0-56
	LOADROWS
	PFSETUP
	MOVQ xq+40(FP), DI
	MOVQ nb+48(FP), CX
	VPXOR X15, X15, X15
	VPCMPEQW Y14, Y14, Y14
	VPSRLW $15, Y14, Y14
	BCAST32($0x0f0f0f0f, Y10, X10)
	BCAST32($0x10101010, Y13, X13)
	VMOVDQA Y13, Y5
	VMOVDQU q32shift<>(SB), Y11
	VMOVDQU q32bitshuf<>(SB), Y9
	VMOVDQU q32bitmask<>(SB), Y8
	XORQ AX, AX
	XORQ BX, BX
	TESTQ CX, CX
	JLE q50done

q50loop:
	VMOVDQU 2(DI)(BX*1), Y0
	VPMADDUBSW Y0, Y13, Y12
	NIB_ROW(6, SI, Y1)
	HIBIT_ROW(2, SI, Y1)
	ODOT(Y1)
	NIB_ROW(6, R8, Y2)
	HIBIT_ROW(2, R8, Y2)
	ODOT(Y2)
	NIB_ROW(6, R9, Y3)
	HIBIT_ROW(2, R9, Y3)
	ODOT(Y3)
	NIB_ROW(6, R10, Y4)
	HIBIT_ROW(2, R10, Y4)
	ODOT(Y4)
	REDUCE4
	GATHER4H(0, X3)
	VCVTPH2PS X3, X3
	VPBROADCASTW (DI)(BX*1), X6
	VCVTPH2PS X6, X6
	VMULPS X6, X3, X3  // d_w·d_x
	VMULPS X3, X1, X1  // ·sumi
	VADDPS X1, X15, X15
	ADDQ $22, AX
	ADDQ $34, BX
	PREFETCHT1 (R12)
	ADDQ $64, R12
	DECQ CX
	JNZ  q50loop

q50done:
	MOVQ dst+0(FP), DX
	VMOVUPS X15, (DX)
	VZEROUPPER
	RET

// ACT_Q8_1_TERMS: with X1 = float sumi of rows 0–3, adds
// ((d_w·d_x)·sumi + m_w·s_x) to X15. Uses X3, X4, X6, Y12 (dm index), BX.
#define ACT_Q8_1_TERMS \
	GATHER4D(X3); \
	VCVTPH2PS X3, Y3; \
	VPERMPS Y3, Y12, Y3; \
	VEXTRACTF128 $1, Y3, X4; \
	VPBROADCASTW (DI)(BX*1), X6; \
	VCVTPH2PS X6, X6; \
	VMULPS X6, X3, X3; \
	VMULPS X3, X1, X1; \
	VPBROADCASTW 2(DI)(BX*1), X6; \
	VCVTPH2PS X6, X6; \
	VMULPS X6, X4, X4; \
	VADDPS X4, X1, X1; \
	VADDPS X1, X15, X15

// func gemvActQ4_1AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)
//
// AX weight offset (20-byte blocks), BX activation offset (36, q8_1).
TEXT ·gemvActQ4_1AVX2(SB), NOSPLIT, $0-56
	LOADROWS
	PFSETUP
	MOVQ xq+40(FP), DI
	MOVQ nb+48(FP), CX
	VPXOR X15, X15, X15
	VPCMPEQW Y14, Y14, Y14
	VPSRLW $15, Y14, Y14
	BCAST32($0x0f0f0f0f, Y10, X10)
	VMOVDQU q32shift<>(SB), Y11
	VMOVDQU q32dmidx<>(SB), Y12
	XORQ AX, AX
	XORQ BX, BX
	TESTQ CX, CX
	JLE q41done

q41loop:
	VMOVDQU 4(DI)(BX*1), Y0
	NIB_ROW(4, SI, Y1)
	UDOT(Y1)
	NIB_ROW(4, R8, Y2)
	UDOT(Y2)
	NIB_ROW(4, R9, Y3)
	UDOT(Y3)
	NIB_ROW(4, R10, Y4)
	UDOT(Y4)
	REDUCE4
	ACT_Q8_1_TERMS
	ADDQ $20, AX
	ADDQ $36, BX
	PREFETCHT1 (R12)
	ADDQ $64, R12
	DECQ CX
	JNZ  q41loop

q41done:
	MOVQ dst+0(FP), DX
	VMOVUPS X15, (DX)
	VZEROUPPER
	RET

// func gemvActQ5_1AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)
//
// 24-byte weight blocks (d, m, qh, qs); Y5 0x10 bytes, Y8/Y9 bit masks.
TEXT ·gemvActQ5_1AVX2(SB), NOSPLIT, $0-56
	LOADROWS
	PFSETUP
	MOVQ xq+40(FP), DI
	MOVQ nb+48(FP), CX
	VPXOR X15, X15, X15
	VPCMPEQW Y14, Y14, Y14
	VPSRLW $15, Y14, Y14
	BCAST32($0x0f0f0f0f, Y10, X10)
	BCAST32($0x10101010, Y5, X5)
	VMOVDQU q32shift<>(SB), Y11
	VMOVDQU q32dmidx<>(SB), Y12
	VMOVDQU q32bitshuf<>(SB), Y9
	VMOVDQU q32bitmask<>(SB), Y8
	XORQ AX, AX
	XORQ BX, BX
	TESTQ CX, CX
	JLE q51done

q51loop:
	VMOVDQU 4(DI)(BX*1), Y0
	NIB_ROW(8, SI, Y1)
	HIBIT_ROW(4, SI, Y1)
	UDOT(Y1)
	NIB_ROW(8, R8, Y2)
	HIBIT_ROW(4, R8, Y2)
	UDOT(Y2)
	NIB_ROW(8, R9, Y3)
	HIBIT_ROW(4, R9, Y3)
	UDOT(Y3)
	NIB_ROW(8, R10, Y4)
	HIBIT_ROW(4, R10, Y4)
	UDOT(Y4)
	REDUCE4
	ACT_Q8_1_TERMS
	ADDQ $24, AX
	ADDQ $36, BX
	PREFETCHT1 (R12)
	ADDQ $64, R12
	DECQ CX
	JNZ  q51loop

q51done:
	MOVQ dst+0(FP), DX
	VMOVUPS X15, (DX)
	VZEROUPPER
	RET

// Weight-only bodies. x block in Y0–Y3 (values 0–7, 8–15, 16–23, 24–31);
// accumulators Y6, Y7, Y8, Y9 for rows 0–3; Y4, Y5, Y13 scratch.

// HSUM4F stores the horizontal sums of Y6–Y9 to dst.
#define HSUM4F \
	VHADDPS Y7, Y6, Y6; \
	VHADDPS Y9, Y8, Y8; \
	VHADDPS Y8, Y6, Y6; \
	VEXTRACTF128 $1, Y6, X7; \
	VADDPS X7, X6, X6; \
	MOVQ dst+0(FP), DX; \
	VMOVUPS X6, (DX)

#define LOADX \
	VMOVUPS (DI), Y0; \
	VMOVUPS 32(DI), Y1; \
	VMOVUPS 64(DI), Y2; \
	VMOVUPS 96(DI), Y3

#define ZEROACC \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9

// Q8F_ROW(P, ACC): ACC += d·(q·x) for the q8_0 block of row P.
#define Q8F_ROW(P, ACC) \
	VPMOVSXBD 2(P)(AX*1), Y4; \
	VCVTDQ2PS Y4, Y4; \
	VMULPS Y0, Y4, Y5; \
	VPMOVSXBD 10(P)(AX*1), Y4; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y1, Y4, Y5; \
	VPMOVSXBD 18(P)(AX*1), Y4; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y2, Y4, Y5; \
	VPMOVSXBD 26(P)(AX*1), Y4; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y3, Y4, Y5; \
	VPBROADCASTW (P)(AX*1), X4; \
	VCVTPH2PS X4, Y4; \
	VFMADD231PS Y5, Y4, ACC

// func gemvQ8_0AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
TEXT ·gemvQ8_0AVX2(SB), NOSPLIT, $0-56
	LOADROWS
	MOVQ x+40(FP), DI
	MOVQ nb+48(FP), CX
	ZEROACC
	XORQ AX, AX
	TESTQ CX, CX
	JLE q80fdone

q80floop:
	LOADX
	Q8F_ROW(SI, Y6)
	Q8F_ROW(R8, Y7)
	Q8F_ROW(R9, Y8)
	Q8F_ROW(R10, Y9)
	ADDQ $34, AX
	ADDQ $128, DI
	DECQ CX
	JNZ  q80floop

q80fdone:
	HSUM4F
	VZEROUPPER
	RET

// UNIB8F(off, P): Y5 = Σ u·x over the 32 nibbles of the 16 bytes at off
// (bytes 0–7 give values 0–7 and 16–23, bytes 8–15 values 8–15 and 24–31).
// Y10 holds dword 0x0f.
#define UNIB8F(off, P) \
	VPMOVZXBD off(P)(AX*1), Y4; \
	VPAND Y10, Y4, Y13; \
	VPSRLD $4, Y4, Y4; \
	VCVTDQ2PS Y13, Y13; \
	VCVTDQ2PS Y4, Y4; \
	VMULPS Y0, Y13, Y5; \
	VFMADD231PS Y2, Y4, Y5; \
	VPMOVZXBD off+8(P)(AX*1), Y4; \
	VPAND Y10, Y4, Y13; \
	VPSRLD $4, Y4, Y4; \
	VCVTDQ2PS Y13, Y13; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y1, Y13, Y5; \
	VFMADD231PS Y3, Y4, Y5

// SUMX: Y12 = x0 + x1 + x2 + x3 (lane sums of the block's x).
#define SUMX \
	VADDPS Y1, Y0, Y12; \
	VADDPS Y3, Y2, Y4; \
	VADDPS Y4, Y12, Y12

// OFFSET_D_ROW(P, ACC): ACC += d·(Y5 − off·Σx) with off in Y11.
#define OFFSET_D_ROW(P, ACC) \
	VFNMADD231PS Y12, Y11, Y5; \
	VPBROADCASTW (P)(AX*1), X4; \
	VCVTPH2PS X4, Y4; \
	VFMADD231PS Y5, Y4, ACC

// MIN_D_ROW(P, ACC): ACC += d·Y5 + m·Σx.
#define MIN_D_ROW(P, ACC) \
	VPBROADCASTW (P)(AX*1), X4; \
	VCVTPH2PS X4, Y4; \
	VFMADD231PS Y5, Y4, ACC; \
	VPBROADCASTW 2(P)(AX*1), X4; \
	VCVTPH2PS X4, Y4; \
	VFMADD231PS Y12, Y4, ACC

// func gemvQ4_0AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
TEXT ·gemvQ4_0AVX2(SB), NOSPLIT, $0-56
	LOADROWS
	MOVQ x+40(FP), DI
	MOVQ nb+48(FP), CX
	ZEROACC
	BCAST32($0x0f, Y10, X10)
	BCAST32($0x41000000, Y11, X11) // 8.0
	XORQ AX, AX
	TESTQ CX, CX
	JLE q40fdone

q40floop:
	LOADX
	SUMX
	UNIB8F(2, SI)
	OFFSET_D_ROW(SI, Y6)
	UNIB8F(2, R8)
	OFFSET_D_ROW(R8, Y7)
	UNIB8F(2, R9)
	OFFSET_D_ROW(R9, Y8)
	UNIB8F(2, R10)
	OFFSET_D_ROW(R10, Y9)
	ADDQ $18, AX
	ADDQ $128, DI
	DECQ CX
	JNZ  q40floop

q40fdone:
	HSUM4F
	VZEROUPPER
	RET

// func gemvQ4_1AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
TEXT ·gemvQ4_1AVX2(SB), NOSPLIT, $0-56
	LOADROWS
	MOVQ x+40(FP), DI
	MOVQ nb+48(FP), CX
	ZEROACC
	BCAST32($0x0f, Y10, X10)
	XORQ AX, AX
	TESTQ CX, CX
	JLE q41fdone

q41floop:
	LOADX
	SUMX
	UNIB8F(4, SI)
	MIN_D_ROW(SI, Y6)
	UNIB8F(4, R8)
	MIN_D_ROW(R8, Y7)
	UNIB8F(4, R9)
	MIN_D_ROW(R9, Y8)
	UNIB8F(4, R10)
	MIN_D_ROW(R10, Y9)
	ADDQ $20, AX
	ADDQ $128, DI
	DECQ CX
	JNZ  q41floop

q41fdone:
	HSUM4F
	VZEROUPPER
	RET

// U5F(qh, qs, P, slot): Y5 = Σ u·x for the 32 five-bit codes of a q5 block
// (nibbles at qs, fifth bits at qh). The 32 codes are built as bytes (Y4),
// stored to the frame slot and widened from there. Uses Y4 and Y13; Y10
// holds 0x0f bytes, Y11 the nibble shifts.
#define U5F(qh, qs, P, slot) \
	VBROADCASTI128 qs(P)(AX*1), Y4; \
	VPSRLVQ Y11, Y4, Y4; \
	VPAND Y10, Y4, Y4; \
	VPBROADCASTD qh(P)(AX*1), Y13; \
	VPSHUFB q32bitshuf<>(SB), Y13, Y13; \
	VPAND q32bitmask<>(SB), Y13, Y13; \
	VPCMPEQB q32bitmask<>(SB), Y13, Y13; \
	VPAND q32x10<>(SB), Y13, Y13; \
	VPOR Y13, Y4, Y4; \
	VMOVDQU Y4, slot(SP); \
	VPMOVZXBD slot(SP), Y4; \
	VCVTDQ2PS Y4, Y4; \
	VMULPS Y0, Y4, Y5; \
	VPMOVZXBD slot+8(SP), Y4; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y1, Y4, Y5; \
	VPMOVZXBD slot+16(SP), Y4; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y2, Y4, Y5; \
	VPMOVZXBD slot+24(SP), Y4; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y3, Y4, Y5

DATA q32x10<>+0(SB)/8, $0x1010101010101010
DATA q32x10<>+8(SB)/8, $0x1010101010101010
DATA q32x10<>+16(SB)/8, $0x1010101010101010
DATA q32x10<>+24(SB)/8, $0x1010101010101010
GLOBL q32x10<>(SB), RODATA|NOPTR, $32

#define Q5F_CONSTS \
	BCAST32($0x0f0f0f0f, Y10, X10); \
	VMOVDQU q32shift<>(SB), Y11

// MIN0_D(P, ACC): ACC += d·Y5.
#define MIN0_D(P, ACC) \
	VPBROADCASTW (P)(AX*1), X4; \
	VCVTPH2PS X4, Y4; \
	VFMADD231PS Y5, Y4, ACC

// func gemvQ5_0AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
//
// Y14 holds 16.0 for the offset; the frame holds one 32-byte code slot per row.
TEXT ·gemvQ5_0AVX2(SB), NOSPLIT, $128-56
	LOADROWS
	MOVQ x+40(FP), DI
	MOVQ nb+48(FP), CX
	ZEROACC
	Q5F_CONSTS
	BCAST32($0x41800000, Y14, X14) // 16.0
	XORQ AX, AX
	TESTQ CX, CX
	JLE q50fdone

q50floop:
	LOADX
	SUMX
	U5F(2, 6, SI, 0)
	VFNMADD231PS Y12, Y14, Y5
	MIN0_D(SI, Y6)
	U5F(2, 6, R8, 32)
	VFNMADD231PS Y12, Y14, Y5
	MIN0_D(R8, Y7)
	U5F(2, 6, R9, 64)
	VFNMADD231PS Y12, Y14, Y5
	MIN0_D(R9, Y8)
	U5F(2, 6, R10, 96)
	VFNMADD231PS Y12, Y14, Y5
	MIN0_D(R10, Y9)
	ADDQ $22, AX
	ADDQ $128, DI
	DECQ CX
	JNZ  q50floop

q50fdone:
	HSUM4F
	VZEROUPPER
	RET

// func gemvQ5_1AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
TEXT ·gemvQ5_1AVX2(SB), NOSPLIT, $128-56
	LOADROWS
	MOVQ x+40(FP), DI
	MOVQ nb+48(FP), CX
	ZEROACC
	Q5F_CONSTS
	XORQ AX, AX
	TESTQ CX, CX
	JLE q51fdone

q51floop:
	LOADX
	SUMX
	U5F(4, 8, SI, 0)
	MIN_D_ROW(SI, Y6)
	U5F(4, 8, R8, 32)
	MIN_D_ROW(R8, Y7)
	U5F(4, 8, R9, 64)
	MIN_D_ROW(R9, Y8)
	U5F(4, 8, R10, 96)
	MIN_D_ROW(R10, Y9)
	ADDQ $24, AX
	ADDQ $128, DI
	DECQ CX
	JNZ  q51floop

q51fdone:
	HSUM4F
	VZEROUPPER
	RET

// Decoders: func dequantQxAVX2(dst *float32, src *byte, nb int), nb blocks.
// DI dst, SI src, CX blocks left; Y15 the block's d broadcast, Y14 m.

// STORE8(Y, off): converts the int32 lanes of Y and stores d·v at dst+off.
#define STORE8(Y, off) \
	VCVTDQ2PS Y, Y; \
	VMULPS Y15, Y, Y; \
	VMOVUPS Y, off(DI)

// STORE8M(Y, off): stores d·v + m (two roundings, as the generic decoder).
#define STORE8M(Y, off) \
	VCVTDQ2PS Y, Y; \
	VMULPS Y15, Y, Y; \
	VADDPS Y14, Y, Y; \
	VMOVUPS Y, off(DI)

#define HALF_BCAST(off, Y, X) \
	VPBROADCASTW off(SI), X; \
	VCVTPH2PS X, Y

// func dequantQ8_0AVX2(dst *float32, src *byte, nb int)
TEXT ·dequantQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	TESTQ CX, CX
	JLE dq80done

dq80loop:
	HALF_BCAST(0, Y15, X15)
	VPMOVSXBD 2(SI), Y0
	VPMOVSXBD 10(SI), Y1
	VPMOVSXBD 18(SI), Y2
	VPMOVSXBD 26(SI), Y3
	STORE8(Y0, 0)
	STORE8(Y1, 32)
	STORE8(Y2, 64)
	STORE8(Y3, 96)
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  dq80loop

dq80done:
	VZEROUPPER
	RET

// NIB4(off): Y0, Y1, Y2, Y3 = int32 codes of values 0–7, 16–23, 8–15,
// 24–31 of the 16 nibble bytes at off (Y10 holds dword 0x0f).
#define NIB4(off) \
	VPMOVZXBD off(SI), Y0; \
	VPMOVZXBD off+8(SI), Y2; \
	VPSRLD $4, Y0, Y1; \
	VPSRLD $4, Y2, Y3; \
	VPAND Y10, Y0, Y0; \
	VPAND Y10, Y2, Y2

// func dequantQ4_0AVX2(dst *float32, src *byte, nb int)
TEXT ·dequantQ4_0AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BCAST32($0x0f, Y10, X10)
	BCAST32($8, Y13, X13)
	TESTQ CX, CX
	JLE dq40done

dq40loop:
	HALF_BCAST(0, Y15, X15)
	NIB4(2)
	VPSUBD Y13, Y0, Y0
	VPSUBD Y13, Y1, Y1
	VPSUBD Y13, Y2, Y2
	VPSUBD Y13, Y3, Y3
	STORE8(Y0, 0)
	STORE8(Y2, 32)
	STORE8(Y1, 64)
	STORE8(Y3, 96)
	ADDQ $18, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  dq40loop

dq40done:
	VZEROUPPER
	RET

// func dequantQ4_1AVX2(dst *float32, src *byte, nb int)
TEXT ·dequantQ4_1AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BCAST32($0x0f, Y10, X10)
	TESTQ CX, CX
	JLE dq41done

dq41loop:
	HALF_BCAST(0, Y15, X15)
	HALF_BCAST(2, Y14, X14)
	NIB4(4)
	STORE8M(Y0, 0)
	STORE8M(Y2, 32)
	STORE8M(Y1, 64)
	STORE8M(Y3, 96)
	ADDQ $20, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  dq41loop

dq41done:
	VZEROUPPER
	RET

// HIBITS4(qh): ORs 0x10 into the codes Y0 (values 0–7), Y2 (8–15), Y1
// (16–23), Y3 (24–31) where bit e of the 32-bit qh is set. Y12 holds the
// shift counts 0–7 (dwords), Y11 dword 1; uses Y4, Y5.
#define HIBITS4(qh) \
	VPBROADCASTD qh(SI), Y5; \
	VPSRLVD Y12, Y5, Y4; \
	VPAND Y11, Y4, Y4; \
	VPSLLD $4, Y4, Y4; \
	VPOR Y4, Y0, Y0; \
	VPSRLD $8, Y5, Y5; \
	VPSRLVD Y12, Y5, Y4; \
	VPAND Y11, Y4, Y4; \
	VPSLLD $4, Y4, Y4; \
	VPOR Y4, Y2, Y2; \
	VPSRLD $8, Y5, Y5; \
	VPSRLVD Y12, Y5, Y4; \
	VPAND Y11, Y4, Y4; \
	VPSLLD $4, Y4, Y4; \
	VPOR Y4, Y1, Y1; \
	VPSRLD $8, Y5, Y5; \
	VPSRLVD Y12, Y5, Y4; \
	VPAND Y11, Y4, Y4; \
	VPSLLD $4, Y4, Y4; \
	VPOR Y4, Y3, Y3

DATA q32count8<>+0(SB)/4, $0
DATA q32count8<>+4(SB)/4, $1
DATA q32count8<>+8(SB)/4, $2
DATA q32count8<>+12(SB)/4, $3
DATA q32count8<>+16(SB)/4, $4
DATA q32count8<>+20(SB)/4, $5
DATA q32count8<>+24(SB)/4, $6
DATA q32count8<>+28(SB)/4, $7
GLOBL q32count8<>(SB), RODATA|NOPTR, $32

// func dequantQ5_0AVX2(dst *float32, src *byte, nb int)
TEXT ·dequantQ5_0AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BCAST32($0x0f, Y10, X10)
	BCAST32($1, Y11, X11)
	BCAST32($16, Y13, X13)
	VMOVDQU q32count8<>(SB), Y12
	TESTQ CX, CX
	JLE dq50done

dq50loop:
	HALF_BCAST(0, Y15, X15)
	NIB4(6)
	HIBITS4(2)
	VPSUBD Y13, Y0, Y0
	VPSUBD Y13, Y1, Y1
	VPSUBD Y13, Y2, Y2
	VPSUBD Y13, Y3, Y3
	STORE8(Y0, 0)
	STORE8(Y2, 32)
	STORE8(Y1, 64)
	STORE8(Y3, 96)
	ADDQ $22, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  dq50loop

dq50done:
	VZEROUPPER
	RET

// func dequantQ5_1AVX2(dst *float32, src *byte, nb int)
TEXT ·dequantQ5_1AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BCAST32($0x0f, Y10, X10)
	BCAST32($1, Y11, X11)
	VMOVDQU q32count8<>(SB), Y12
	TESTQ CX, CX
	JLE dq51done

dq51loop:
	HALF_BCAST(0, Y15, X15)
	HALF_BCAST(2, Y14, X14)
	NIB4(8)
	HIBITS4(4)
	STORE8M(Y0, 0)
	STORE8M(Y2, 32)
	STORE8M(Y1, 64)
	STORE8M(Y3, 96)
	ADDQ $24, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  dq51loop

dq51done:
	VZEROUPPER
	RET
