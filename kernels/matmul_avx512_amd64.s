//go:build !noasm

#include "textflag.h"

// AVX-512 GEMM microkernel: a 14×32 tile (14 activation rows × 32 weight
// rows) held in 28 zmm accumulators. Each k-step loads two B vectors and
// multiplies them by 14 A values broadcast straight from memory by the
// FMAs ({1to16} embedded broadcast), so only 2 of the 32 registers are
// loads: 28 FMAs per 2 loads + 28 broadcast operands.

// FMA2 adds a[d/4]·b to one row of the tile (two accumulators).
#define FMA2(d, c0, c1) \
	VFMADD231PS.BCST d(AX), Z28, c0; VFMADD231PS.BCST d(AX), Z29, c1

// STEP14 is one k-step: A at byte offset ao (14 floats), B at bo (32).
#define STEP14(ao, bo) \
	VMOVUPS bo(BX), Z28; VMOVUPS bo+64(BX), Z29; \
	FMA2(ao, Z0, Z1); FMA2(ao+4, Z2, Z3); FMA2(ao+8, Z4, Z5); FMA2(ao+12, Z6, Z7); \
	FMA2(ao+16, Z8, Z9); FMA2(ao+20, Z10, Z11); FMA2(ao+24, Z12, Z13); FMA2(ao+28, Z14, Z15); \
	FMA2(ao+32, Z16, Z17); FMA2(ao+36, Z18, Z19); FMA2(ao+40, Z20, Z21); FMA2(ao+44, Z22, Z23); \
	FMA2(ao+48, Z24, Z25); FMA2(ao+52, Z26, Z27)

#define PUT2(c0, c1) VMOVUPS c0, (DX); VMOVUPS c1, 64(DX); ADDQ R8, DX

#define ADD2(c0, c1) \
	VADDPS (DX), c0, c0; VADDPS 64(DX), c1, c1; \
	VMOVUPS c0, (DX); VMOVUPS c1, 64(DX); ADDQ R8, DX

#define PREFETCH2 PREFETCHT0 (DX); PREFETCHT0 64(DX); ADDQ R8, DX

// func gemmMicro14x32AVX512(k int, a, b, c *float32, ldc int, add bool)
//
// c[i*ldc+j] (+)= Σ_p a[p*14+i]·b[p*32+j] for i < 14, j < 32.
// AX: a (14 floats per k-step), BX: b (32 per k-step), CX: k countdown,
// Z0–Z27: the accumulators, row i in Z(2i) (j < 16) and Z(2i+1) (j ≥ 16),
// Z28–Z29: the B vectors of the step; DX: the C row, R8: ldc in bytes.
// The C tile is prefetched first: its lines are needed only at the end,
// and with ldc a large power of two they would otherwise miss one by one.
TEXT ·gemmMicro14x32AVX512(SB), NOSPLIT, $0-41
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), AX
	MOVQ   b+16(FP), BX
	MOVQ   c+24(FP), DX
	MOVQ   ldc+32(FP), R8
	SHLQ   $2, R8
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	SUBQ   $4, CX
	JL     tail

loop:
	STEP14(0, 0)
	STEP14(56, 128)
	STEP14(112, 256)
	STEP14(168, 384)
	ADDQ $224, AX
	ADDQ $512, BX
	SUBQ $4, CX
	JGE  loop

tail:
	ADDQ $4, CX
	JLE  store

tail1:
	STEP14(0, 0)
	ADDQ $56, AX
	ADDQ $128, BX
	DECQ CX
	JNZ  tail1

store:
	MOVQ c+24(FP), DX
	CMPB add+40(FP), $0
	JEQ  put
	ADD2(Z0, Z1)
	ADD2(Z2, Z3)
	ADD2(Z4, Z5)
	ADD2(Z6, Z7)
	ADD2(Z8, Z9)
	ADD2(Z10, Z11)
	ADD2(Z12, Z13)
	ADD2(Z14, Z15)
	ADD2(Z16, Z17)
	ADD2(Z18, Z19)
	ADD2(Z20, Z21)
	ADD2(Z22, Z23)
	ADD2(Z24, Z25)
	ADD2(Z26, Z27)
	VZEROUPPER
	RET

put:
	PUT2(Z0, Z1)
	PUT2(Z2, Z3)
	PUT2(Z4, Z5)
	PUT2(Z6, Z7)
	PUT2(Z8, Z9)
	PUT2(Z10, Z11)
	PUT2(Z12, Z13)
	PUT2(Z14, Z15)
	PUT2(Z16, Z17)
	PUT2(Z18, Z19)
	PUT2(Z20, Z21)
	PUT2(Z22, Z23)
	PUT2(Z24, Z25)
	PUT2(Z26, Z27)
	VZEROUPPER
	RET

// func fmaPeakAVX512(n int)
//
// n iterations of 12 independent zmm FMAs (Z0–Z11 += Z30·Z31): the FMA
// throughput of one core, for BenchmarkPeak.
TEXT ·fmaPeakAVX512(SB), NOSPLIT, $0-8
	MOVQ   n+0(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	TESTQ  CX, CX
	JLE    done

loop:
	VFMADD231PS Z30, Z31, Z0
	VFMADD231PS Z30, Z31, Z1
	VFMADD231PS Z30, Z31, Z2
	VFMADD231PS Z30, Z31, Z3
	VFMADD231PS Z30, Z31, Z4
	VFMADD231PS Z30, Z31, Z5
	VFMADD231PS Z30, Z31, Z6
	VFMADD231PS Z30, Z31, Z7
	VFMADD231PS Z30, Z31, Z8
	VFMADD231PS Z30, Z31, Z9
	VFMADD231PS Z30, Z31, Z10
	VFMADD231PS Z30, Z31, Z11
	DECQ        CX
	JNZ         loop

done:
	VZEROUPPER
	RET

// STEP4 and STEP8 are k-steps of the first 4 or 8 rows of a 14-row A panel.
#define STEP4(ao, bo) \
	VMOVUPS bo(BX), Z28; VMOVUPS bo+64(BX), Z29; \
	FMA2(ao, Z0, Z1); FMA2(ao+4, Z2, Z3); FMA2(ao+8, Z4, Z5); FMA2(ao+12, Z6, Z7)

#define STEP8(ao, bo) \
	STEP4(ao, bo); \
	FMA2(ao+16, Z8, Z9); FMA2(ao+20, Z10, Z11); FMA2(ao+24, Z12, Z13); FMA2(ao+28, Z14, Z15)

// func gemmMicroRowsAVX512(k int, a, b, c *float32, ldc int, add bool, rows int)
//
// The first rows (1 ≤ rows ≤ 8) rows of a 14×32 tile: the partial tiles of
// the last token block, which the full kernel would compute 14 rows of.
// Rows ≤ 4 run a 4×32 tile (Z0–Z7), rows ≤ 8 an 8×32 tile (Z0–Z15); A
// still advances 14 floats per k-step. Only rows rows of C are written.
// Registers as in gemmMicro14x32AVX512; R9: rows left to store.
TEXT ·gemmMicroRowsAVX512(SB), NOSPLIT, $0-56
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), AX
	MOVQ   b+16(FP), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	CMPQ   rows+48(FP), $4
	JG     eight
	SUBQ   $2, CX
	JL     tail4

loop4:
	STEP4(0, 0)
	STEP4(56, 128)
	ADDQ $112, AX
	ADDQ $256, BX
	SUBQ $2, CX
	JGE  loop4

tail4:
	ADDQ $2, CX
	JLE  store
	STEP4(0, 0)
	JMP  store

eight:
	SUBQ $2, CX
	JL   tail8

loop8:
	STEP8(0, 0)
	STEP8(56, 128)
	ADDQ $112, AX
	ADDQ $256, BX
	SUBQ $2, CX
	JGE  loop8

tail8:
	ADDQ $2, CX
	JLE  store
	STEP8(0, 0)

store:
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVQ rows+48(FP), R9
	CMPB add+40(FP), $0
	JEQ  put
	ADD2(Z0, Z1)
	DECQ R9
	JZ   done
	ADD2(Z2, Z3)
	DECQ R9
	JZ   done
	ADD2(Z4, Z5)
	DECQ R9
	JZ   done
	ADD2(Z6, Z7)
	DECQ R9
	JZ   done
	ADD2(Z8, Z9)
	DECQ R9
	JZ   done
	ADD2(Z10, Z11)
	DECQ R9
	JZ   done
	ADD2(Z12, Z13)
	DECQ R9
	JZ   done
	ADD2(Z14, Z15)
	JMP  done

put:
	PUT2(Z0, Z1)
	DECQ R9
	JZ   done
	PUT2(Z2, Z3)
	DECQ R9
	JZ   done
	PUT2(Z4, Z5)
	DECQ R9
	JZ   done
	PUT2(Z6, Z7)
	DECQ R9
	JZ   done
	PUT2(Z8, Z9)
	DECQ R9
	JZ   done
	PUT2(Z10, Z11)
	DECQ R9
	JZ   done
	PUT2(Z12, Z13)
	DECQ R9
	JZ   done
	PUT2(Z14, Z15)

done:
	VZEROUPPER
	RET
