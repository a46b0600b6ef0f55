//go:build !noasm

#include "textflag.h"

// AVX2 bodies of the k-quants q4_K, q5_K, q6_K; Go side in qk_amd64.go.
//
// W·A8 (dotActQxK): ggml's generic dot keeps eight int32 lanes aux[l], the
// sum of sc·q_w·q_x over the values whose index is l mod 8, and eight float
// lanes sums[l] += d·aux[l]. The kernels compute aux exactly as that lane
// vector: the activation codes are shuffled once per call (prepQ8K*) and
// the weight codes per block by the same in-lane pattern
// [0 8 1 9 … 7 15], so that VPMADDUBSW adds the two values l and l+8 of one
// class; two sub-blocks (or two quarter-rows for q6_K) are interleaved
// word by word and VPMADDWD applies both scales, giving [c0 c1 c2 c3] and
// [c4 c5 c6 c7] per 128-bit lane; the two lanes are added at the end of
// the block. The float terms then run in the generic order, lane by lane,
// and the final "sumf += sums[l]" is done in lane order: bit-exact.
//
// Dequant (dequantQxK): exact, the products of the generic decoders.

// In-lane byte pattern pairing values l and l+8.
DATA qkshuf<>+0(SB)/8, $0x0b030a0209010800
DATA qkshuf<>+8(SB)/8, $0x0f070e060d050c04
DATA qkshuf<>+16(SB)/8, $0x0b030a0209010800
DATA qkshuf<>+24(SB)/8, $0x0f070e060d050c04
GLOBL qkshuf<>(SB), RODATA|NOPTR, $32

// q4_K/q5_K scale words for chunk j: [sc(2j), sc(2j+1)] repeated, from
// the register holding sc[0..7] in bytes 0–7 (and mn[0..7] in 8–15).
DATA qksc<>+0(SB)/8, $0x8001800080018000
DATA qksc<>+8(SB)/8, $0x8001800080018000
DATA qksc<>+16(SB)/8, $0x8001800080018000
DATA qksc<>+24(SB)/8, $0x8001800080018000
DATA qksc<>+32(SB)/8, $0x8003800280038002
DATA qksc<>+40(SB)/8, $0x8003800280038002
DATA qksc<>+48(SB)/8, $0x8003800280038002
DATA qksc<>+56(SB)/8, $0x8003800280038002
DATA qksc<>+64(SB)/8, $0x8005800480058004
DATA qksc<>+72(SB)/8, $0x8005800480058004
DATA qksc<>+80(SB)/8, $0x8005800480058004
DATA qksc<>+88(SB)/8, $0x8005800480058004
DATA qksc<>+96(SB)/8, $0x8007800680078006
DATA qksc<>+104(SB)/8, $0x8007800680078006
DATA qksc<>+112(SB)/8, $0x8007800680078006
DATA qksc<>+120(SB)/8, $0x8007800680078006
GLOBL qksc<>(SB), RODATA|NOPTR, $128

// Min words for the 16 bsums: word j = mn[j/2] (bytes 8–15 of the register).
DATA qkmn<>+0(SB)/8, $0x8009800980088008
DATA qkmn<>+8(SB)/8, $0x800b800b800a800a
DATA qkmn<>+16(SB)/8, $0x800d800d800c800c
DATA qkmn<>+24(SB)/8, $0x800f800f800e800e
GLOBL qkmn<>(SB), RODATA|NOPTR, $32

// q6_K scale words (high byte, arithmetic shift right by 8 follows) for
// half n and pair p: low lane [sc(8n+4p), sc(8n+4p+2)], high lane
// [sc(8n+4p+1), sc(8n+4p+3)], repeated.
DATA qk6sc<>+0(SB)/8, $0x0280008002800080
DATA qk6sc<>+8(SB)/8, $0x0280008002800080
DATA qk6sc<>+16(SB)/8, $0x0380018003800180
DATA qk6sc<>+24(SB)/8, $0x0380018003800180
DATA qk6sc<>+32(SB)/8, $0x0680048006800480
DATA qk6sc<>+40(SB)/8, $0x0680048006800480
DATA qk6sc<>+48(SB)/8, $0x0780058007800580
DATA qk6sc<>+56(SB)/8, $0x0780058007800580
DATA qk6sc<>+64(SB)/8, $0x0a8008800a800880
DATA qk6sc<>+72(SB)/8, $0x0a8008800a800880
DATA qk6sc<>+80(SB)/8, $0x0b8009800b800980
DATA qk6sc<>+88(SB)/8, $0x0b8009800b800980
DATA qk6sc<>+96(SB)/8, $0x0e800c800e800c80
DATA qk6sc<>+104(SB)/8, $0x0e800c800e800c80
DATA qk6sc<>+112(SB)/8, $0x0f800d800f800d80
DATA qk6sc<>+120(SB)/8, $0x0f800d800f800d80
GLOBL qk6sc<>(SB), RODATA|NOPTR, $128

#define BCAST32(imm, Y, X) \
	MOVL imm, R11; \
	VMOVD R11, X; \
	VPBROADCASTD X, Y

// PREP6(off, doff): shuffled group at doff, maddubs(32, group) at doff+256.
#define PREP6(off, doff) \
	VMOVDQU off(SI), Y0; \
	VPSHUFB Y15, Y0, Y0; \
	VMOVDQU Y0, doff(DI); \
	VPMADDUBSW Y0, Y14, Y0; \
	VMOVDQU Y0, doff+256(DI)

// KSCALES: X10/Y10 = [sc0…sc7 mn0…mn7] (6-bit) of the q4_K/q5_K block at SI,
// both lanes (ggml's kmask unpacking of the 12 scale bytes). Uses AX, BX,
// R8–R11.
#define KSCALES \
	MOVL 4(SI), AX; \
	MOVL 8(SI), BX; \
	MOVL 12(SI), R8; \
	MOVL R8, R9; \
	SHRL $4, R9; \
	ANDL $0x0f0f0f0f, R9; \
	MOVL BX, R11; \
	SHRL $6, R11; \
	ANDL $0x03030303, R11; \
	SHLL $4, R11; \
	ORL  R11, R9; \
	MOVL BX, R10; \
	ANDL $0x3f3f3f3f, R10; \
	ANDL $0x0f0f0f0f, R8; \
	MOVL AX, R11; \
	SHRL $6, R11; \
	ANDL $0x03030303, R11; \
	SHLL $4, R11; \
	ORL  R11, R8; \
	ANDL $0x3f3f3f3f, AX; \
	VMOVD AX, X10; \
	VPINSRD $1, R8, X10, X10; \
	VPINSRD $2, R10, X10, X10; \
	VPINSRD $3, R9, X10, X10; \
	VINSERTI128 $1, X10, Y10, Y10

// KMIN: X4 = float32(Σ bsums[j]·mn[j/2]) of the activation block at DI.
#define KMIN \
	VPSHUFB qkmn<>(SB), Y10, Y4; \
	VPMADDWD 260(DI), Y4, Y4; \
	VEXTRACTI128 $1, Y4, X5; \
	VPADDD X5, X4, X4; \
	VPSHUFD $0x4e, X4, X5; \
	VPADDD X5, X4, X4; \
	VPSHUFD $0xb1, X4, X5; \
	VPADDD X5, X4, X4; \
	VCVTDQ2PS X4, X4

// KCHUNK(j, ADDHI): chunk j (32 code bytes at 16+32j, or 48+32j for q5_K):
// Y0 = shuffled high nibbles, Y1 = low nibbles; ADDHI adds q5_K's fifth
// bits; then the two sub-blocks' products with the shuffled activations
// (DX) are interleaved and scaled into Y8 (classes 0–3) and Y9 (4–7).
#define KCHUNK(qoff, j, ADDHI) \
	VMOVDQU qoff+32*j(SI), Y0; \
	VPSHUFB Y13, Y0, Y0; \
	VPAND Y12, Y0, Y1; \
	VPSRLW $4, Y0, Y0; \
	VPAND Y12, Y0, Y0; \
	ADDHI; \
	VPMADDUBSW 64*j(DX), Y1, Y1; \
	VPMADDUBSW 64*j+32(DX), Y0, Y0; \
	VPUNPCKLWD Y0, Y1, Y2; \
	VPUNPCKHWD Y0, Y1, Y1; \
	VPSHUFB qksc<>+32*j(SB), Y10, Y3; \
	VPMADDWD Y3, Y2, Y2; \
	VPADDD Y2, Y8, Y8; \
	VPMADDWD Y3, Y1, Y1; \
	VPADDD Y1, Y9, Y9

#define NOHI

// HI5(sl, sh): q5_K fifth bits from the shuffled qh in Y7: bit 2j to bit 4 of
// the low codes (Y1), bit 2j+1 of the high codes (Y0). sl/sh are the shift
// instructions that move those bits to bit 4.
#define HI5(sl, sh) \
	sl; \
	VPAND Y6, Y5, Y5; \
	VPOR Y5, Y1, Y1; \
	sh; \
	VPAND Y6, Y5, Y5; \
	VPOR Y5, Y0, Y0

#define SL4 VPSLLW $4, Y7, Y5
#define SL3 VPSLLW $3, Y7, Y5
#define SL2 VPSLLW $2, Y7, Y5
#define SL1 VPSLLW $1, Y7, Y5
#define SL0 VMOVDQA Y7, Y5
#define SR1 VPSRLW $1, Y7, Y5
#define SR2 VPSRLW $2, Y7, Y5
#define SR3 VPSRLW $3, Y7, Y5
#define HI5_0 HI5(SL4, SL3)
#define HI5_1 HI5(SL2, SL1)
#define HI5_2 HI5(SL0, SR1)
#define HI5_3 HI5(SR2, SR3)

// KFLOAT: Y15 += d·float32(aux) with aux from Y8/Y9; X14 −= dmin·X4.
// The activation scale dy is the float32 at DI.
#define KFLOAT \
	VPERM2I128 $0x20, Y9, Y8, Y2; \
	VPERM2I128 $0x31, Y9, Y8, Y3; \
	VPADDD Y3, Y2, Y2; \
	VCVTDQ2PS Y2, Y2; \
	MOVWLZX (SI), AX; \
	VMOVD AX, X3; \
	VCVTPH2PS X3, X3; \
	VMULSS (DI), X3, X3; \
	VBROADCASTSS X3, Y3; \
	VMULPS Y3, Y2, Y2; \
	VADDPS Y2, Y15, Y15; \
	MOVWLZX 2(SI), AX; \
	VMOVD AX, X3; \
	VCVTPH2PS X3, X3; \
	VMULSS (DI), X3, X3; \
	VMULSS X4, X3, X3; \
	VSUBSS X3, X14, X14

// ADDLANES: X14 = ((X14 + lane 0 of Y15) + lane 1) + … + lane 7, via the frame.
#define ADDLANES \
	VMOVUPS Y15, 0(SP); \
	VADDSS 0(SP), X14, X14; \
	VADDSS 4(SP), X14, X14; \
	VADDSS 8(SP), X14, X14; \
	VADDSS 12(SP), X14, X14; \
	VADDSS 16(SP), X14, X14; \
	VADDSS 20(SP), X14, X14; \
	VADDSS 24(SP), X14, X14; \
	VADDSS 28(SP), X14, X14

// Q6PAIR(a, b, qa, qb, ctl): w_a, w_b = maddubs(codes, shuffled x) minus the
// offset words, interleaved and scaled by the scale words ctl into Y8/Y9.
// qa/qb are the code registers, a/b the activation group offsets in DX.
#define Q6PAIR(qa, qb, a, b, ctl) \
	VPMADDUBSW a(DX), qa, qa; \
	VPSUBW a+256(DX), qa, qa; \
	VPMADDUBSW b(DX), qb, qb; \
	VPSUBW b+256(DX), qb, qb; \
	VPUNPCKLWD qb, qa, Y2; \
	VPUNPCKHWD qb, qa, qa; \
	VPSHUFB ctl, Y10, Y3; \
	VPSRAW $8, Y3, Y3; \
	VPMADDWD Y3, Y2, Y2; \
	VPADDD Y2, Y8, Y8; \
	VPMADDWD Y3, qa, qa; \
	VPADDD qa, Y9, Y9

// Q6HALF(n): the 128 values of half n. Y4 = shuffled ql[0..31], Y5 =
// ql[32..63], Y6 = qh of the half; codes Y0 (values 0–31), Y1 (32–63),
// Y4 (64–95), Y5 (96–127). Y11 0x30, Y12 0x0f.
#define Q6HALF(n) \
	VMOVDQU 64*n(SI), Y4; \
	VPSHUFB Y13, Y4, Y4; \
	VMOVDQU 64*n+32(SI), Y5; \
	VPSHUFB Y13, Y5, Y5; \
	VMOVDQU 128+32*n(SI), Y6; \
	VPSHUFB Y13, Y6, Y6; \
	VPAND Y12, Y4, Y0; \
	VPSLLW $4, Y6, Y2; \
	VPAND Y11, Y2, Y2; \
	VPOR Y2, Y0, Y0; \
	VPAND Y12, Y5, Y1; \
	VPSLLW $2, Y6, Y2; \
	VPAND Y11, Y2, Y2; \
	VPOR Y2, Y1, Y1; \
	VPSRLW $4, Y4, Y4; \
	VPAND Y12, Y4, Y4; \
	VPAND Y11, Y6, Y2; \
	VPOR Y2, Y4, Y4; \
	VPSRLW $4, Y5, Y5; \
	VPAND Y12, Y5, Y5; \
	VPSRLW $2, Y6, Y2; \
	VPAND Y11, Y2, Y2; \
	VPOR Y2, Y5, Y5; \
	Q6PAIR(Y0, Y1, 128*n, 128*n+32, qk6sc<>+64*n(SB)); \
	Q6PAIR(Y4, Y5, 128*n+64, 128*n+96, qk6sc<>+64*n+32(SB))

// Decoders: func dequantQxKAVX2(dst *float32, src *byte, nb int).
//
// q4_K/q5_K: the frame holds d·sc[0..7] (0–31) and dmin·m[0..7] (32–63);
// value = float32(d·sc·q) − dmin·m, both products rounded as the generic
// decoder rounds them.

// KSCALEF: frame = d·float32(sc[i]), dmin·float32(m[i]) for the block at SI.
#define KSCALEF \
	KSCALES; \
	VPMOVZXBD X10, Y0; \
	VPSRLDQ $8, X10, X1; \
	VPMOVZXBD X1, Y1; \
	VCVTDQ2PS Y0, Y0; \
	VCVTDQ2PS Y1, Y1; \
	VPBROADCASTW (SI), X2; \
	VCVTPH2PS X2, Y2; \
	VMULPS Y0, Y2, Y0; \
	VPBROADCASTW 2(SI), X2; \
	VCVTPH2PS X2, Y2; \
	VMULPS Y1, Y2, Y1; \
	VMOVUPS Y0, 0(SP); \
	VMOVUPS Y1, 32(SP)

// KDQ8(Y, soff, moff, doff): codes Y (int32) → float, ·scale, −min, store.
#define KDQ8(Y, sc, mn, doff) \
	VCVTDQ2PS Y, Y; \
	VMULPS sc, Y, Y; \
	VSUBPS mn, Y, Y; \
	VMOVUPS Y, doff(DI)

// KDQCHUNK(j, qoff, HI): 64 values of chunk j; Y12 dword 0x0f. HI adds the
// q5_K bits (nothing for q4_K).
#define KDQCHUNK(j, qoff, HI) \
	VBROADCASTSS 8*j(SP), Y8; \
	VBROADCASTSS 32+8*j(SP), Y9; \
	VBROADCASTSS 8*j+4(SP), Y10; \
	VBROADCASTSS 32+8*j+4(SP), Y11; \
	VPMOVZXBD qoff+32*j(SI), Y0; \
	VPMOVZXBD qoff+32*j+8(SI), Y1; \
	VPMOVZXBD qoff+32*j+16(SI), Y2; \
	VPMOVZXBD qoff+32*j+24(SI), Y3; \
	VPSRLD $4, Y0, Y4; \
	VPSRLD $4, Y1, Y5; \
	VPSRLD $4, Y2, Y6; \
	VPSRLD $4, Y3, Y7; \
	VPAND Y12, Y0, Y0; \
	VPAND Y12, Y1, Y1; \
	VPAND Y12, Y2, Y2; \
	VPAND Y12, Y3, Y3; \
	HI; \
	KDQ8(Y0, Y8, Y9, 256*j); \
	KDQ8(Y1, Y8, Y9, 256*j+32); \
	KDQ8(Y2, Y8, Y9, 256*j+64); \
	KDQ8(Y3, Y8, Y9, 256*j+96); \
	KDQ8(Y4, Y10, Y11, 256*j+128); \
	KDQ8(Y5, Y10, Y11, 256*j+160); \
	KDQ8(Y6, Y10, Y11, 256*j+192); \
	KDQ8(Y7, Y10, Y11, 256*j+224)

// KDQHI(j): q5_K: adds 16 to low codes where bit 2j of qh[l] is set and to
// high codes for bit 2j+1 (qh at 16(SI); Y13 dword 16, Y14/Y15 scratch).
#define KDQHI1(Y, qoff, bit) \
	VPMOVZXBD 16+qoff(SI), Y14; \
	VPSRLD $bit, Y14, Y14; \
	VPSLLD $4, Y14, Y14; \
	VPAND Y13, Y14, Y14; \
	VPOR Y14, Y, Y

#define KDQHI(j) \
	KDQHI1(Y0, 0, 2*j); \
	KDQHI1(Y1, 8, 2*j); \
	KDQHI1(Y2, 16, 2*j); \
	KDQHI1(Y3, 24, 2*j); \
	KDQHI1(Y4, 0, 2*j+1); \
	KDQHI1(Y5, 8, 2*j+1); \
	KDQHI1(Y6, 16, 2*j+1); \
	KDQHI1(Y7, 24, 2*j+1)

#define KDQHI0 KDQHI(0)
#define KDQHI1_ KDQHI(1)
#define KDQHI2 KDQHI(2)
#define KDQHI3 KDQHI(3)

// q6_K decoder: the frame holds float32(d·sc[i]) for the 16 scales (0–63)
// and one quarter-row of 32 codes − 32 as bytes (64–95).
//
// Q6DQ(qlo, lsh, qhoff, hsh, is, doff): the 32 values of one quarter-row:
// code = (ql >> lsh) & 15 | ((qh >> hsh) & 3) << 4, minus 32, times the
// scales is (values 0–15) and is+1 (16–31).
#define Q6DQ(qloff, LSH, qhoff, HSH, is, doff) \
	VMOVDQU qloff(SI), Y0; \
	LSH; \
	VPAND Y12, Y0, Y0; \
	VMOVDQU qhoff(SI), Y1; \
	HSH; \
	VPAND Y11, Y1, Y1; \
	VPOR Y1, Y0, Y0; \
	VPSUBB Y10, Y0, Y0; \
	VMOVDQU Y0, 64(SP); \
	VBROADCASTSS 4*is(SP), Y8; \
	VBROADCASTSS 4*is+4(SP), Y9; \
	VPMOVSXBD 64(SP), Y0; \
	VPMOVSXBD 72(SP), Y1; \
	VPMOVSXBD 80(SP), Y2; \
	VPMOVSXBD 88(SP), Y3; \
	VCVTDQ2PS Y0, Y0; \
	VCVTDQ2PS Y1, Y1; \
	VCVTDQ2PS Y2, Y2; \
	VCVTDQ2PS Y3, Y3; \
	VMULPS Y8, Y0, Y0; \
	VMULPS Y8, Y1, Y1; \
	VMULPS Y9, Y2, Y2; \
	VMULPS Y9, Y3, Y3; \
	VMOVUPS Y0, doff(DI); \
	VMOVUPS Y1, doff+32(DI); \
	VMOVUPS Y2, doff+64(DI); \
	VMOVUPS Y3, doff+96(DI)

#define NOP6
#define L_R4 VPSRLW $4, Y0, Y0
#define H_L4 VPSLLW $4, Y1, Y1
#define H_L2 VPSLLW $2, Y1, Y1
#define H_R2 VPSRLW $2, Y1, Y1

// func prepQ8K(dst, xq *byte, nb int)
//
// dst gets, per 256-value block, the eight 32-byte groups of q8_K codes
// shuffled in-lane by qkshuf (256 bytes).
TEXT ·prepQ8K(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ xq+8(FP), SI
	MOVQ nb+16(FP), CX
	VMOVDQU qkshuf<>(SB), Y15
	TESTQ CX, CX
	JLE pqdone

pqloop:
	VMOVDQU 4(SI), Y0
	VPSHUFB Y15, Y0, Y0
	VMOVDQU 36(SI), Y1
	VPSHUFB Y15, Y1, Y1
	VMOVDQU 68(SI), Y2
	VPSHUFB Y15, Y2, Y2
	VMOVDQU 100(SI), Y3
	VPSHUFB Y15, Y3, Y3
	VMOVDQU 132(SI), Y4
	VPSHUFB Y15, Y4, Y4
	VMOVDQU 164(SI), Y5
	VPSHUFB Y15, Y5, Y5
	VMOVDQU 196(SI), Y6
	VPSHUFB Y15, Y6, Y6
	VMOVDQU 228(SI), Y7
	VPSHUFB Y15, Y7, Y7
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y5, 160(DI)
	VMOVDQU Y6, 192(DI)
	VMOVDQU Y7, 224(DI)
	ADDQ $292, SI
	ADDQ $256, DI
	DECQ CX
	JNZ  pqloop

pqdone:
	VZEROUPPER
	RET

// func prepQ8K6(dst, xq *byte, nb int)
//
// As prepQ8K, followed per block by the eight groups' maddubs(32, codes)
// words (the q6_K offset term): 512 bytes per block.
TEXT ·prepQ8K6(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ xq+8(FP), SI
	MOVQ nb+16(FP), CX
	VMOVDQU qkshuf<>(SB), Y15
	BCAST32($0x20202020, Y14, X14)
	TESTQ CX, CX
	JLE pq6done

pq6loop:
	PREP6(4, 0)
	PREP6(36, 32)
	PREP6(68, 64)
	PREP6(100, 96)
	PREP6(132, 128)
	PREP6(164, 160)
	PREP6(196, 192)
	PREP6(228, 224)
	ADDQ $292, SI
	ADDQ $512, DI
	DECQ CX
	JNZ  pq6loop

pq6done:
	VZEROUPPER
	RET

// func dotActQ4KAVX2(w, xq, xs *byte, nb int) float32
//
// SI weight block, DI activation block, DX shuffled activations, CX blocks
// left. Y8/Y9 class sums, Y10 scales, Y12 0x0f, Y13 shuffle, X14 sumf,
// Y15 the eight float lanes.
TEXT ·dotActQ4KAVX2(SB), NOSPLIT, $32-36
	MOVQ w+0(FP), SI
	MOVQ xq+8(FP), DI
	MOVQ xs+16(FP), DX
	MOVQ nb+24(FP), CX
	VXORPS Y15, Y15, Y15
	VXORPS X14, X14, X14
	VMOVDQU qkshuf<>(SB), Y13
	BCAST32($0x0f0f0f0f, Y12, X12)
	TESTQ CX, CX
	JLE q4kdone

q4kloop:
	KSCALES
	KMIN
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	KCHUNK(16, 0, NOHI)
	KCHUNK(16, 1, NOHI)
	KCHUNK(16, 2, NOHI)
	KCHUNK(16, 3, NOHI)
	KFLOAT
	ADDQ $144, SI
	ADDQ $292, DI
	ADDQ $256, DX
	DECQ CX
	JNZ  q4kloop

q4kdone:
	ADDLANES
	VMOVSS X14, ret+32(FP)
	VZEROUPPER
	RET

// func dotActQ5KAVX2(w, xq, xs *byte, nb int) float32
//
// As q4_K; Y7 the shuffled qh of the block, Y6 bytes of 0x10, Y5 scratch.
TEXT ·dotActQ5KAVX2(SB), NOSPLIT, $32-36
	MOVQ w+0(FP), SI
	MOVQ xq+8(FP), DI
	MOVQ xs+16(FP), DX
	MOVQ nb+24(FP), CX
	VXORPS Y15, Y15, Y15
	VXORPS X14, X14, X14
	VMOVDQU qkshuf<>(SB), Y13
	BCAST32($0x0f0f0f0f, Y12, X12)
	BCAST32($0x10101010, Y6, X6)
	TESTQ CX, CX
	JLE q5kdone

q5kloop:
	KSCALES
	KMIN
	VMOVDQU 16(SI), Y7
	VPSHUFB Y13, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	KCHUNK(48, 0, HI5_0)
	KCHUNK(48, 1, HI5_1)
	KCHUNK(48, 2, HI5_2)
	KCHUNK(48, 3, HI5_3)
	KFLOAT
	ADDQ $176, SI
	ADDQ $292, DI
	ADDQ $256, DX
	DECQ CX
	JNZ  q5kloop

q5kdone:
	ADDLANES
	VMOVSS X14, ret+32(FP)
	VZEROUPPER
	RET

// func dotActQ6KAVX2(w, xq, xs *byte, nb int) float32
//
// DX: prepQ8K6 output (shuffled codes, then offset words). Y10 the 16
// int8 scales in both lanes.
TEXT ·dotActQ6KAVX2(SB), NOSPLIT, $32-36
	MOVQ w+0(FP), SI
	MOVQ xq+8(FP), DI
	MOVQ xs+16(FP), DX
	MOVQ nb+24(FP), CX
	VXORPS Y15, Y15, Y15
	VXORPS X14, X14, X14
	VMOVDQU qkshuf<>(SB), Y13
	BCAST32($0x0f0f0f0f, Y12, X12)
	BCAST32($0x30303030, Y11, X11)
	TESTQ CX, CX
	JLE q6kdone

q6kloop:
	VBROADCASTI128 192(SI), Y10
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	Q6HALF(0)
	Q6HALF(1)
	VPERM2I128 $0x20, Y9, Y8, Y2
	VPERM2I128 $0x31, Y9, Y8, Y3
	VPADDD Y3, Y2, Y2
	VCVTDQ2PS Y2, Y2
	MOVWLZX 208(SI), AX
	VMOVD AX, X3
	VCVTPH2PS X3, X3
	VMULSS (DI), X3, X3
	VBROADCASTSS X3, Y3
	VMULPS Y3, Y2, Y2
	VADDPS Y2, Y15, Y15
	ADDQ $210, SI
	ADDQ $292, DI
	ADDQ $512, DX
	DECQ CX
	JNZ  q6kloop

q6kdone:
	ADDLANES
	VMOVSS X14, ret+32(FP)
	VZEROUPPER
	RET

// func dequantQ4KAVX2(dst *float32, src *byte, nb int)
TEXT ·dequantQ4KAVX2(SB), NOSPLIT, $64-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	TESTQ CX, CX
	JLE dq4kdone

dq4kloop:
	KSCALEF
	BCAST32($0x0f, Y12, X12)
	KDQCHUNK(0, 16, NOHI)
	KDQCHUNK(1, 16, NOHI)
	KDQCHUNK(2, 16, NOHI)
	KDQCHUNK(3, 16, NOHI)
	ADDQ $144, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  dq4kloop

dq4kdone:
	VZEROUPPER
	RET

// func dequantQ5KAVX2(dst *float32, src *byte, nb int)
TEXT ·dequantQ5KAVX2(SB), NOSPLIT, $64-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	TESTQ CX, CX
	JLE dq5kdone

dq5kloop:
	KSCALEF
	BCAST32($0x0f, Y12, X12)
	BCAST32($0x10, Y13, X13)
	KDQCHUNK(0, 48, KDQHI0)
	KDQCHUNK(1, 48, KDQHI1_)
	KDQCHUNK(2, 48, KDQHI2)
	KDQCHUNK(3, 48, KDQHI3)
	ADDQ $176, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  dq5kloop

dq5kdone:
	VZEROUPPER
	RET

// func dequantQ6KAVX2(dst *float32, src *byte, nb int)
//
// Y10 bytes of 32, Y11 0x30, Y12 0x0f.
TEXT ·dequantQ6KAVX2(SB), NOSPLIT, $96-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BCAST32($0x20202020, Y10, X10)
	BCAST32($0x30303030, Y11, X11)
	BCAST32($0x0f0f0f0f, Y12, X12)
	TESTQ CX, CX
	JLE dq6kdone

dq6kloop:
	VPMOVSXBD 192(SI), Y0
	VPMOVSXBD 200(SI), Y1
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VPBROADCASTW 208(SI), X2
	VCVTPH2PS X2, Y2
	VMULPS Y0, Y2, Y0
	VMULPS Y1, Y2, Y1
	VMOVUPS Y0, 0(SP)
	VMOVUPS Y1, 32(SP)
	Q6DQ(0, NOP6, 128, H_L4, 0, 0)
	Q6DQ(32, NOP6, 128, H_L2, 2, 128)
	Q6DQ(0, L_R4, 128, NOP6, 4, 256)
	Q6DQ(32, L_R4, 128, H_R2, 6, 384)
	Q6DQ(64, NOP6, 160, H_L4, 8, 512)
	Q6DQ(96, NOP6, 160, H_L2, 10, 640)
	Q6DQ(64, L_R4, 160, NOP6, 12, 768)
	Q6DQ(96, L_R4, 160, H_R2, 14, 896)
	ADDQ $210, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  dq6kloop

dq6kdone:
	VZEROUPPER
	RET

// func dotF32AVX2(a, b *float32, n int) float32
//
// Σ a[i]·b[i] for n a multiple of 32 (four FMA accumulators): the second
// half of the AVX2 weight-only k-quant dot, after dequantQxKAVX2.
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $5, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ CX, CX
	JLE dfdone

dfloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  dfloop

dfdone:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VADDPS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
