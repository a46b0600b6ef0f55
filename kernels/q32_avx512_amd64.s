//go:build !noasm

#include "textflag.h"

// AVX-512 weight-only GEMV bodies of the ggml 32-value block formats
// (float32 activations); Go side in q32_amd64.go. Four rows per pass over x,
// a block of 32 values per step in two zmm. The nibble codes become floats
// through a 16- or 32-entry table (VPERMPS / VPERMI2PS use the low bits of
// each index, so the nibble needs no conversion), q8_0 through VCVTDQ2PS.
// Per block and row, s = Σ w·x over the block (16 lanes), then
// acc += d·s (+ m·Σx for q4_1/q5_1): the order differs from the generic
// body within the documented tolerance.
//
// func gemvQxAVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
//
// SI, R8, R9, R10 rows; DI x; AX block offset; CX blocks left.
// Z0/Z1 x values 0–15/16–31, Z2/Z3 code table, Z4–Z7 row accumulators,
// Z8–Z11 scratch, Z12 Σx of the block, Z14 16s, Z15 0x0f.

// Code tables: q − 8 (q4_0), u (q4_1), q − 16 (q5_0), u (q5_1).
DATA w32tab4_0<>+0(SB)/4, $-8.0
DATA w32tab4_0<>+4(SB)/4, $-7.0
DATA w32tab4_0<>+8(SB)/4, $-6.0
DATA w32tab4_0<>+12(SB)/4, $-5.0
DATA w32tab4_0<>+16(SB)/4, $-4.0
DATA w32tab4_0<>+20(SB)/4, $-3.0
DATA w32tab4_0<>+24(SB)/4, $-2.0
DATA w32tab4_0<>+28(SB)/4, $-1.0
DATA w32tab4_0<>+32(SB)/4, $0.0
DATA w32tab4_0<>+36(SB)/4, $1.0
DATA w32tab4_0<>+40(SB)/4, $2.0
DATA w32tab4_0<>+44(SB)/4, $3.0
DATA w32tab4_0<>+48(SB)/4, $4.0
DATA w32tab4_0<>+52(SB)/4, $5.0
DATA w32tab4_0<>+56(SB)/4, $6.0
DATA w32tab4_0<>+60(SB)/4, $7.0
GLOBL w32tab4_0<>(SB), RODATA|NOPTR, $64

DATA w32tabu<>+0(SB)/4, $0.0
DATA w32tabu<>+4(SB)/4, $1.0
DATA w32tabu<>+8(SB)/4, $2.0
DATA w32tabu<>+12(SB)/4, $3.0
DATA w32tabu<>+16(SB)/4, $4.0
DATA w32tabu<>+20(SB)/4, $5.0
DATA w32tabu<>+24(SB)/4, $6.0
DATA w32tabu<>+28(SB)/4, $7.0
DATA w32tabu<>+32(SB)/4, $8.0
DATA w32tabu<>+36(SB)/4, $9.0
DATA w32tabu<>+40(SB)/4, $10.0
DATA w32tabu<>+44(SB)/4, $11.0
DATA w32tabu<>+48(SB)/4, $12.0
DATA w32tabu<>+52(SB)/4, $13.0
DATA w32tabu<>+56(SB)/4, $14.0
DATA w32tabu<>+60(SB)/4, $15.0
DATA w32tabu<>+64(SB)/4, $16.0
DATA w32tabu<>+68(SB)/4, $17.0
DATA w32tabu<>+72(SB)/4, $18.0
DATA w32tabu<>+76(SB)/4, $19.0
DATA w32tabu<>+80(SB)/4, $20.0
DATA w32tabu<>+84(SB)/4, $21.0
DATA w32tabu<>+88(SB)/4, $22.0
DATA w32tabu<>+92(SB)/4, $23.0
DATA w32tabu<>+96(SB)/4, $24.0
DATA w32tabu<>+100(SB)/4, $25.0
DATA w32tabu<>+104(SB)/4, $26.0
DATA w32tabu<>+108(SB)/4, $27.0
DATA w32tabu<>+112(SB)/4, $28.0
DATA w32tabu<>+116(SB)/4, $29.0
DATA w32tabu<>+120(SB)/4, $30.0
DATA w32tabu<>+124(SB)/4, $31.0
GLOBL w32tabu<>(SB), RODATA|NOPTR, $128

DATA w32tab5_0<>+0(SB)/4, $-16.0
DATA w32tab5_0<>+4(SB)/4, $-15.0
DATA w32tab5_0<>+8(SB)/4, $-14.0
DATA w32tab5_0<>+12(SB)/4, $-13.0
DATA w32tab5_0<>+16(SB)/4, $-12.0
DATA w32tab5_0<>+20(SB)/4, $-11.0
DATA w32tab5_0<>+24(SB)/4, $-10.0
DATA w32tab5_0<>+28(SB)/4, $-9.0
DATA w32tab5_0<>+32(SB)/4, $-8.0
DATA w32tab5_0<>+36(SB)/4, $-7.0
DATA w32tab5_0<>+40(SB)/4, $-6.0
DATA w32tab5_0<>+44(SB)/4, $-5.0
DATA w32tab5_0<>+48(SB)/4, $-4.0
DATA w32tab5_0<>+52(SB)/4, $-3.0
DATA w32tab5_0<>+56(SB)/4, $-2.0
DATA w32tab5_0<>+60(SB)/4, $-1.0
DATA w32tab5_0<>+64(SB)/4, $0.0
DATA w32tab5_0<>+68(SB)/4, $1.0
DATA w32tab5_0<>+72(SB)/4, $2.0
DATA w32tab5_0<>+76(SB)/4, $3.0
DATA w32tab5_0<>+80(SB)/4, $4.0
DATA w32tab5_0<>+84(SB)/4, $5.0
DATA w32tab5_0<>+88(SB)/4, $6.0
DATA w32tab5_0<>+92(SB)/4, $7.0
DATA w32tab5_0<>+96(SB)/4, $8.0
DATA w32tab5_0<>+100(SB)/4, $9.0
DATA w32tab5_0<>+104(SB)/4, $10.0
DATA w32tab5_0<>+108(SB)/4, $11.0
DATA w32tab5_0<>+112(SB)/4, $12.0
DATA w32tab5_0<>+116(SB)/4, $13.0
DATA w32tab5_0<>+120(SB)/4, $14.0
DATA w32tab5_0<>+124(SB)/4, $15.0
GLOBL w32tab5_0<>(SB), RODATA|NOPTR, $128

#define W4ARGS \
	MOVQ w0+8(FP), SI; \
	MOVQ w1+16(FP), R8; \
	MOVQ w2+24(FP), R9; \
	MOVQ w3+32(FP), R10; \
	MOVQ x+40(FP), DI; \
	MOVQ nb+48(FP), CX; \
	VXORPS Z4, Z4, Z4; \
	VXORPS Z5, Z5, Z5; \
	VXORPS Z6, Z6, Z6; \
	VXORPS Z7, Z7, Z7; \
	XORQ AX, AX

// W4STORE: dst[r] = Σ lanes of Z4+r.
#define W4STORE \
	VEXTRACTF64X4 $1, Z4, Y8; \
	VADDPS Y8, Y4, Y4; \
	VEXTRACTF64X4 $1, Z5, Y8; \
	VADDPS Y8, Y5, Y5; \
	VEXTRACTF64X4 $1, Z6, Y8; \
	VADDPS Y8, Y6, Y6; \
	VEXTRACTF64X4 $1, Z7, Y8; \
	VADDPS Y8, Y7, Y7; \
	VHADDPS Y5, Y4, Y4; \
	VHADDPS Y7, Y6, Y6; \
	VHADDPS Y6, Y4, Y4; \
	VEXTRACTF128 $1, Y4, X5; \
	VADDPS X5, X4, X4; \
	MOVQ dst+0(FP), DX; \
	VMOVUPS X4, (DX)

// HALF16(off, P, Z): Z = the f16 at off of row P's block, in all 16 lanes.
#define HALF16(off, P, Z, Y) \
	VPBROADCASTW off(P)(AX*1), Y; \
	VCVTPH2PS Y, Z

// Row bodies leave s = Σ w·x (16 lanes) in Z8.

#define S_Q8(P) \
	VPMOVSXBD 2(P)(AX*1), Z8; \
	VPMOVSXBD 18(P)(AX*1), Z9; \
	VCVTDQ2PS Z8, Z8; \
	VCVTDQ2PS Z9, Z9; \
	VMULPS Z0, Z8, Z8; \
	VFMADD231PS Z1, Z9, Z8

// S_NIB(qs, P): 16-entry table in Z2.
#define S_NIB(qs, P) \
	VPMOVZXBD qs(P)(AX*1), Z9; \
	VPERMPS Z2, Z9, Z8; \
	VPSRLD $4, Z9, Z9; \
	VPERMPS Z2, Z9, Z9; \
	VMULPS Z0, Z8, Z8; \
	VFMADD231PS Z1, Z9, Z8

// S_NIB5(qh, qs, P): 32-entry table in Z2 (0–15), Z3 (16–31).
#define S_NIB5(qh, qs, P) \
	VPMOVZXBD qs(P)(AX*1), Z9; \
	KMOVD qh(P)(AX*1), K1; \
	KSHIFTRD $16, K1, K2; \
	VPANDD Z15, Z9, Z8; \
	VPSRLD $4, Z9, Z9; \
	VPORD Z14, Z8, K1, Z8; \
	VPORD Z14, Z9, K2, Z9; \
	VPERMI2PS Z3, Z2, Z8; \
	VPERMI2PS Z3, Z2, Z9; \
	VMULPS Z0, Z8, Z8; \
	VFMADD231PS Z1, Z9, Z8

// ACC_D(P, A): A += d·s.
#define ACC_D(P, A) \
	HALF16(0, P, Z10, Y10); \
	VFMADD231PS Z8, Z10, A

// ACC_DM(P, A): A += d·s + m·Σx.
#define ACC_DM(P, A) \
	HALF16(0, P, Z10, Y10); \
	VFMADD231PS Z8, Z10, A; \
	HALF16(2, P, Z11, Y11); \
	VFMADD231PS Z12, Z11, A

#define LOADX16 \
	VMOVUPS (DI), Z0; \
	VMOVUPS 64(DI), Z1

#define SUMX16 \
	VADDPS Z1, Z0, Z12

#define NEXT(bb, label) \
	ADDQ $bb, AX; \
	ADDQ $128, DI; \
	DECQ CX; \
	JNZ  label

#define NIBCONSTS \
	MOVL $0x0f, R11; \
	VPBROADCASTD R11, Z15; \
	MOVL $0x10, R11; \
	VPBROADCASTD R11, Z14

// func gemvQ8_0AVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
TEXT ·gemvQ8_0AVX512(SB), NOSPLIT, $0-56
	W4ARGS
	TESTQ CX, CX
	JLE w80done

w80loop:
	LOADX16
	S_Q8(SI)
	ACC_D(SI, Z4)
	S_Q8(R8)
	ACC_D(R8, Z5)
	S_Q8(R9)
	ACC_D(R9, Z6)
	S_Q8(R10)
	ACC_D(R10, Z7)
	NEXT(34, w80loop)

w80done:
	W4STORE
	VZEROUPPER
	RET

// func gemvQ4_0AVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
TEXT ·gemvQ4_0AVX512(SB), NOSPLIT, $0-56
	W4ARGS
	VMOVUPS w32tab4_0<>(SB), Z2
	TESTQ CX, CX
	JLE w40done

w40loop:
	LOADX16
	S_NIB(2, SI)
	ACC_D(SI, Z4)
	S_NIB(2, R8)
	ACC_D(R8, Z5)
	S_NIB(2, R9)
	ACC_D(R9, Z6)
	S_NIB(2, R10)
	ACC_D(R10, Z7)
	NEXT(18, w40loop)

w40done:
	W4STORE
	VZEROUPPER
	RET

// func gemvQ4_1AVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
TEXT ·gemvQ4_1AVX512(SB), NOSPLIT, $0-56
	W4ARGS
	VMOVUPS w32tabu<>(SB), Z2
	TESTQ CX, CX
	JLE w41done

w41loop:
	LOADX16
	SUMX16
	S_NIB(4, SI)
	ACC_DM(SI, Z4)
	S_NIB(4, R8)
	ACC_DM(R8, Z5)
	S_NIB(4, R9)
	ACC_DM(R9, Z6)
	S_NIB(4, R10)
	ACC_DM(R10, Z7)
	NEXT(20, w41loop)

w41done:
	W4STORE
	VZEROUPPER
	RET

// func gemvQ5_0AVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
TEXT ·gemvQ5_0AVX512(SB), NOSPLIT, $0-56
	W4ARGS
	NIBCONSTS
	VMOVUPS w32tab5_0<>(SB), Z2
	VMOVUPS w32tab5_0<>+64(SB), Z3
	TESTQ CX, CX
	JLE w50done

w50loop:
	LOADX16
	S_NIB5(2, 6, SI)
	ACC_D(SI, Z4)
	S_NIB5(2, 6, R8)
	ACC_D(R8, Z5)
	S_NIB5(2, 6, R9)
	ACC_D(R9, Z6)
	S_NIB5(2, 6, R10)
	ACC_D(R10, Z7)
	NEXT(22, w50loop)

w50done:
	W4STORE
	VZEROUPPER
	RET

// func gemvQ5_1AVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)
TEXT ·gemvQ5_1AVX512(SB), NOSPLIT, $0-56
	W4ARGS
	NIBCONSTS
	VMOVUPS w32tabu<>(SB), Z2
	VMOVUPS w32tabu<>+64(SB), Z3
	TESTQ CX, CX
	JLE w51done

w51loop:
	LOADX16
	SUMX16
	S_NIB5(4, 8, SI)
	ACC_DM(SI, Z4)
	S_NIB5(4, 8, R8)
	ACC_DM(R8, Z5)
	S_NIB5(4, 8, R9)
	ACC_DM(R9, Z6)
	S_NIB5(4, 8, R10)
	ACC_DM(R10, Z7)
	NEXT(24, w51loop)

w51done:
	W4STORE
	VZEROUPPER
	RET
