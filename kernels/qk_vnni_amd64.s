//go:build !noasm

#include "textflag.h"
#include "go_asm.h"

// AVX-512 VNNI + VBMI W·A8 GEMM of q4_K and q5_K; Go side in qk_amd64.go.
//
// ggml's generic dot keeps aux[l] = Σ sc·q_w·q_x over the values whose
// index is l mod 8. VPERMB rearranges each 32-value sub-block (codes and,
// once per call, the activations) so that dword l holds the four values
// l, l+8, l+16, l+24 — all of class l — and one VPDPBUSD gives the eight
// class sums of a sub-block exactly. The two sub-blocks of a 64-value chunk
// are joined word by word (VPBLENDMW) and VPMADDWD applies both scales:
// aux accumulates in the eight lanes in class order. Every weight
// super-block is unpacked once and applied to all tokens; the per-token
// float state (sums[8], sumf) lives in memory between super-blocks and is
// updated in the generic order: bit-exact.
//
// func gemmActQ4KVNNI(a *kTile) and gemmActQ5KVNNI(a *kTile)
//
// DX args; SI weight super-block of the row; DI the token's arranged
// activations; R12 the token's q8_K block; R13 the (row, token) state;
// R14 token stride; CX tokens left; frame: super-blocks left, weight
// super-block of row 0, arranged activations and q8_K blocks of the
// super-block, rows left, row pointer, row state.
// Y16–Y19 codes of the low sub-blocks (chunks 0–3), Y20–Y23 of the high
// ones, Y24–Y27 their scale words, Y28 min words, Y29 the VPERMB index,
// Y30 0x0f, Y31 bytes of 16 (q5_K); X8 d_w, X9 dmin_w; K1 0xaaaa (odd
// words), K2/K3 q5_K bit masks; Y0–Y7 scratch, X10/Y10 the scale bytes.

// Byte 4l+k takes byte l+8k (l < 8, k < 4).
DATA kperm<>+0(SB)/8, $0x1911090118100800
DATA kperm<>+8(SB)/8, $0x1b130b031a120a02
DATA kperm<>+16(SB)/8, $0x1d150d051c140c04
DATA kperm<>+24(SB)/8, $0x1f170f071e160e06
GLOBL kperm<>(SB), RODATA|NOPTR, $32

// Scale words of chunk j ([sc(2j), sc(2j+1)] repeated) and min words
// (word i = mn[i/2]) from the 16 scale bytes [sc0…7 mn0…7]; as in
// qk_avx2_amd64.s.
DATA kvsc<>+0(SB)/8, $0x8001800080018000
DATA kvsc<>+8(SB)/8, $0x8001800080018000
DATA kvsc<>+16(SB)/8, $0x8001800080018000
DATA kvsc<>+24(SB)/8, $0x8001800080018000
DATA kvsc<>+32(SB)/8, $0x8003800280038002
DATA kvsc<>+40(SB)/8, $0x8003800280038002
DATA kvsc<>+48(SB)/8, $0x8003800280038002
DATA kvsc<>+56(SB)/8, $0x8003800280038002
DATA kvsc<>+64(SB)/8, $0x8005800480058004
DATA kvsc<>+72(SB)/8, $0x8005800480058004
DATA kvsc<>+80(SB)/8, $0x8005800480058004
DATA kvsc<>+88(SB)/8, $0x8005800480058004
DATA kvsc<>+96(SB)/8, $0x8007800680078006
DATA kvsc<>+104(SB)/8, $0x8007800680078006
DATA kvsc<>+112(SB)/8, $0x8007800680078006
DATA kvsc<>+120(SB)/8, $0x8007800680078006
GLOBL kvsc<>(SB), RODATA|NOPTR, $128

DATA kvmn<>+0(SB)/8, $0x8009800980088008
DATA kvmn<>+8(SB)/8, $0x800b800b800a800a
DATA kvmn<>+16(SB)/8, $0x800d800d800c800c
DATA kvmn<>+24(SB)/8, $0x800f800f800e800e
GLOBL kvmn<>(SB), RODATA|NOPTR, $32

// VSCALES: X10/Y10 = [sc0…sc7 mn0…mn7] of the block at SI (both lanes).
// Uses AX, BX, R8–R11.
#define VSCALES \
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

// VWEIGHTS(qs): the block's scale words, min words, d, dmin and the
// arranged codes of the four chunks at qs(SI).
#define VWEIGHTS(qs) \
	VSCALES; \
	VPSHUFB kvsc<>+0(SB), Y10, Y24; \
	VPSHUFB kvsc<>+32(SB), Y10, Y25; \
	VPSHUFB kvsc<>+64(SB), Y10, Y26; \
	VPSHUFB kvsc<>+96(SB), Y10, Y27; \
	VPSHUFB kvmn<>(SB), Y10, Y28; \
	VCHUNK(qs, Y16, Y20); \
	VCHUNK(qs+32, Y17, Y21); \
	VCHUNK(qs+64, Y18, Y22); \
	VCHUNK(qs+96, Y19, Y23); \
	MOVWLZX (SI), AX; \
	VMOVD AX, X8; \
	VCVTPH2PS X8, X8; \
	MOVWLZX 2(SI), AX; \
	VMOVD AX, X9; \
	VCVTPH2PS X9, X9

// VCHUNK(off, LO, HI): arranged low and high nibbles of the 32 bytes at off(SI).
#define VCHUNK(off, LO, HI) \
	VPERMB off(SI), Y29, Y0; \
	VPANDD Y30, Y0, LO; \
	VPSRLW $4, Y0, Y0; \
	VPANDD Y30, Y0, HI

// V5BITS(j, LO, HI): q5_K: +16 where bit 2j (low codes) or 2j+1 (high) of
// the arranged qh (Y11) is set.
#define V5BITS(bits, LO, HI) \
	MOVL $bits, AX; \
	VPBROADCASTD AX, Y0; \
	VPTESTMB Y0, Y11, K2; \
	VPADDD Y0, Y0, Y0; \
	VPTESTMB Y0, Y11, K3; \
	VPADDB Y31, LO, K2, LO; \
	VPADDB Y31, HI, K3, HI

// VTOKCHUNK(j, LO, HI, SC, AUX): aux (+)= sc words · [class sums of LO | HI].
#define VSUBS(aoff, LO, HI) \
	VPXORD Y0, Y0, Y0; \
	VPDPBUSD aoff(DI), LO, Y0; \
	VPXORD Y1, Y1, Y1; \
	VPDPBUSD aoff+32(DI), HI, Y1; \
	VPSLLD $16, Y1, Y1; \
	VPBLENDMW Y1, Y0, K1, Y2

// VTOKEN: one token against the unpacked super-block.
#define VTOKEN \
	VSUBS(0, Y16, Y20); \
	VPMADDWD Y24, Y2, Y3; \
	VSUBS(64, Y17, Y21); \
	VPMADDWD Y25, Y2, Y2; \
	VPADDD Y2, Y3, Y3; \
	VSUBS(128, Y18, Y22); \
	VPMADDWD Y26, Y2, Y2; \
	VPADDD Y2, Y3, Y3; \
	VSUBS(192, Y19, Y23); \
	VPMADDWD Y27, Y2, Y2; \
	VPADDD Y2, Y3, Y3; \
	VMOVSS (R12), X4; \
	VMULSS X4, X8, X5; \
	VBROADCASTSS X5, Y5; \
	VCVTDQ2PS Y3, Y3; \
	VMULPS Y5, Y3, Y3; \
	VADDPS (R13), Y3, Y3; \
	VMOVUPS Y3, (R13); \
	VPMADDWD 260(R12), Y28, Y6; \
	VEXTRACTI128 $1, Y6, X7; \
	VPADDD X7, X6, X6; \
	VPSHUFD $0x4e, X6, X7; \
	VPADDD X7, X6, X6; \
	VPSHUFD $0xb1, X6, X7; \
	VPADDD X7, X6, X6; \
	VCVTDQ2PS X6, X6; \
	VMULSS X4, X9, X7; \
	VMULSS X6, X7, X7; \
	VMOVSS 32(R13), X6; \
	VSUBSS X7, X6, X6; \
	VMOVSS X6, 32(R13)

#define VSETUP \
	MOVQ a+0(FP), DX; \
	VMOVDQU32 kperm<>(SB), Y29; \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Y30; \
	MOVL $0x10101010, AX; \
	VPBROADCASTD AX, Y31; \
	MOVL $0xaaaa, AX; \
	KMOVW AX, K1; \
	MOVQ kTile_w(DX), AX; \
	MOVQ AX, 8(SP); \
	MOVQ kTile_xs(DX), AX; \
	MOVQ AX, 16(SP); \
	MOVQ kTile_xq(DX), AX; \
	MOVQ AX, 24(SP); \
	MOVQ kTile_nb(DX), AX; \
	MOVQ AX, 0(SP)

// VROWSTART: first row of a super-block.
#define VROWSTART \
	MOVQ kTile_rows(DX), AX; \
	MOVQ AX, 32(SP); \
	MOVQ 8(SP), AX; \
	MOVQ AX, 40(SP); \
	MOVQ kTile_state(DX), AX; \
	MOVQ AX, 48(SP)

#define VTOKSTART \
	MOVQ 16(SP), DI; \
	MOVQ 24(SP), R12; \
	MOVQ kTile_xqStride(DX), R14; \
	MOVQ 48(SP), R13; \
	MOVQ kTile_nt(DX), CX

#define VTOKNEXT \
	ADDQ $256, DI; \
	ADDQ R14, R12; \
	ADDQ $48, R13; \
	DECQ CX

#define VROWNEXT \
	MOVQ kTile_stride(DX), AX; \
	ADDQ AX, 40(SP); \
	MOVQ kTile_nt(DX), AX; \
	IMULQ $48, AX; \
	ADDQ AX, 48(SP); \
	DECQ 32(SP)

#define VSBNEXT(bb) \
	ADDQ $bb, 8(SP); \
	MOVQ kTile_nt(DX), AX; \
	SHLQ $8, AX; \
	ADDQ AX, 16(SP); \
	ADDQ $292, 24(SP); \
	DECQ 0(SP)

// func gemmActQ4KVNNI(a *kTile)
TEXT ·gemmActQ4KVNNI(SB), NOSPLIT, $56-8
	VSETUP
	CMPQ 0(SP), $0
	JLE  v4done

v4sb:
	VROWSTART

v4row:
	MOVQ 40(SP), SI
	VWEIGHTS(16)
	VTOKSTART

v4tok:
	VTOKEN
	VTOKNEXT
	JNZ  v4tok
	VROWNEXT
	JNZ  v4row
	VSBNEXT(144)
	JNZ  v4sb

v4done:
	VZEROUPPER
	RET

// func gemmActQ5KVNNI(a *kTile)
TEXT ·gemmActQ5KVNNI(SB), NOSPLIT, $56-8
	VSETUP
	CMPQ 0(SP), $0
	JLE  v5done

v5sb:
	VROWSTART

v5row:
	MOVQ 40(SP), SI
	VWEIGHTS(48)
	VPERMB 16(SI), Y29, Y11
	V5BITS(0x01010101, Y16, Y20)
	V5BITS(0x04040404, Y17, Y21)
	V5BITS(0x10101010, Y18, Y22)
	V5BITS(0x40404040, Y19, Y23)
	VTOKSTART

v5tok:
	VTOKEN
	VTOKNEXT
	JNZ  v5tok
	VROWNEXT
	JNZ  v5row
	VSBNEXT(176)
	JNZ  v5sb

v5done:
	VZEROUPPER
	RET

// func prepQ8KPerm(dst, xq *byte, nb, dstStride int)
//
// Arranges the q8_K codes of one token (nb super-blocks at xq) with kperm
// per 32-value sub-block: super-block b goes to dst + b·dstStride.
TEXT ·prepQ8KPerm(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ xq+8(FP), SI
	MOVQ nb+16(FP), CX
	MOVQ dstStride+24(FP), DX
	VMOVDQU kperm<>(SB), Y15
	TESTQ CX, CX
	JLE  kpdone

kploop:
	VPERMB 4(SI), Y15, Y0
	VPERMB 36(SI), Y15, Y1
	VPERMB 68(SI), Y15, Y2
	VPERMB 100(SI), Y15, Y3
	VPERMB 132(SI), Y15, Y4
	VPERMB 164(SI), Y15, Y5
	VPERMB 196(SI), Y15, Y6
	VPERMB 228(SI), Y15, Y7
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y5, 160(DI)
	VMOVDQU Y6, 192(DI)
	VMOVDQU Y7, 224(DI)
	ADDQ $292, SI
	ADDQ DX, DI
	DECQ CX
	JNZ  kploop

kpdone:
	VZEROUPPER
	RET
