//go:build !noasm

#include "textflag.h"

// AVX2 + FMA GEMM bodies: the 6×16 microkernel and the transposing panel
// packers (also used by the AVX-512 kernel set: they are VEX-encoded).

// One k-step of the 6×16 tile: two B vectors, six broadcasts of A.
#define FMA2(d, c0, c1) \
	VBROADCASTSS d(AX), Y15; VFMADD231PS Y15, Y12, c0; VFMADD231PS Y15, Y13, c1

#define STEP6(ao, bo) \
	VMOVUPS bo(BX), Y12; VMOVUPS bo+32(BX), Y13; \
	FMA2(ao, Y0, Y1); FMA2(ao+4, Y2, Y3); FMA2(ao+8, Y4, Y5); \
	FMA2(ao+12, Y6, Y7); FMA2(ao+16, Y8, Y9); FMA2(ao+20, Y10, Y11)

#define PUT2(c0, c1) VMOVUPS c0, (DX); VMOVUPS c1, 32(DX); ADDQ R8, DX

#define PREFETCH2 PREFETCHT0 (DX); PREFETCHT0 32(DX); ADDQ R8, DX

#define ADD2(c0, c1) \
	VADDPS (DX), c0, c0; VADDPS 32(DX), c1, c1; \
	VMOVUPS c0, (DX); VMOVUPS c1, 32(DX); ADDQ R8, DX

// func gemmMicro6x16AVX2(k int, a, b, c *float32, ldc int, add bool)
//
// c[i*ldc+j] (+)= Σ_p a[p*6+i]·b[p*16+j] for i < 6, j < 16.
// AX: a (6 floats per k-step), BX: b (16 per k-step), CX: k countdown,
// Y0–Y11: the accumulators, row i in Y(2i) (j < 8) and Y(2i+1) (j ≥ 8),
// Y12–Y13: the B vectors of the step, Y15: the broadcast of a[p*6+i],
// DX: the C row, R8: ldc in bytes. The C tile is prefetched first.
TEXT ·gemmMicro6x16AVX2(SB), NOSPLIT, $0-41
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	PREFETCH2
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	SUBQ $4, CX
	JL   tail

loop:
	STEP6(0, 0)
	STEP6(24, 64)
	STEP6(48, 128)
	STEP6(72, 192)
	ADDQ $96, AX
	ADDQ $256, BX
	SUBQ $4, CX
	JGE  loop

tail:
	ADDQ $4, CX
	JLE  store

tail1:
	STEP6(0, 0)
	ADDQ $24, AX
	ADDQ $64, BX
	DECQ CX
	JNZ  tail1

store:
	MOVQ c+24(FP), DX
	CMPB add+40(FP), $0
	JEQ  put
	ADD2(Y0, Y1)
	ADD2(Y2, Y3)
	ADD2(Y4, Y5)
	ADD2(Y6, Y7)
	ADD2(Y8, Y9)
	ADD2(Y10, Y11)
	VZEROUPPER
	RET

put:
	PUT2(Y0, Y1)
	PUT2(Y2, Y3)
	PUT2(Y4, Y5)
	PUT2(Y6, Y7)
	PUT2(Y8, Y9)
	PUT2(Y10, Y11)
	VZEROUPPER
	RET

// STEP2R and STEP4R are k-steps of the first 2 or 4 rows of a 6-row A panel.
#define STEP2R(ao, bo) \
	VMOVUPS bo(BX), Y12; VMOVUPS bo+32(BX), Y13; \
	FMA2(ao, Y0, Y1); FMA2(ao+4, Y2, Y3)

#define STEP4R(ao, bo) \
	STEP2R(ao, bo); FMA2(ao+8, Y4, Y5); FMA2(ao+12, Y6, Y7)

// func gemmMicroRowsAVX2(k int, a, b, c *float32, ldc int, add bool, rows int)
//
// The first rows (1 ≤ rows ≤ 4) rows of a 6×16 tile: the partial tiles of
// the last token block. Rows ≤ 2 run a 2×16 tile (Y0–Y3), rows ≤ 4 a 4×16
// tile (Y0–Y7); A still advances 6 floats per k-step. Only rows rows of C
// are written. Registers as in gemmMicro6x16AVX2; R9: rows left to store.
TEXT ·gemmMicroRowsAVX2(SB), NOSPLIT, $0-56
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), AX
	MOVQ   b+16(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	CMPQ   rows+48(FP), $2
	JG     four
	SUBQ   $2, CX
	JL     tail2

loop2:
	STEP2R(0, 0)
	STEP2R(24, 64)
	ADDQ $48, AX
	ADDQ $128, BX
	SUBQ $2, CX
	JGE  loop2

tail2:
	ADDQ $2, CX
	JLE  store
	STEP2R(0, 0)
	JMP  store

four:
	SUBQ $2, CX
	JL   tail4

loop4:
	STEP4R(0, 0)
	STEP4R(24, 64)
	ADDQ $48, AX
	ADDQ $128, BX
	SUBQ $2, CX
	JGE  loop4

tail4:
	ADDQ $2, CX
	JLE  store
	STEP4R(0, 0)

store:
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVQ rows+48(FP), R9
	CMPB add+40(FP), $0
	JEQ  put
	ADD2(Y0, Y1)
	DECQ R9
	JZ   done
	ADD2(Y2, Y3)
	DECQ R9
	JZ   done
	ADD2(Y4, Y5)
	DECQ R9
	JZ   done
	ADD2(Y6, Y7)
	JMP  done

put:
	PUT2(Y0, Y1)
	DECQ R9
	JZ   done
	PUT2(Y2, Y3)
	DECQ R9
	JZ   done
	PUT2(Y4, Y5)
	DECQ R9
	JZ   done
	PUT2(Y6, Y7)

done:
	VZEROUPPER
	RET

// Transposing packers: rows of a matrix (f32, f16 or bf16, consecutive
// rows lds bytes apart) become k-major panel columns: dst[p*ldd + j] =
// row_j[p] for p < n (a multiple of 8), j < 8 (packRows8*) or j < 6
// (packRows6F32). Eight columns at a time: load eight rows of eight values
// (widened to float32), transpose the 8×8 block in registers, store.
//
// Register plan: SI: row 0, R10: row 4, R8: lds, R9: 3·lds (rows 1–3 and
// 5–7 are SI/R10 + R8, 2·R8, R9); DI: destination block, R11: ldd in
// bytes, R12: 3·ldd bytes, R13: DI + 4·ldd bytes; CX: columns left;
// Y0–Y7: the rows, Y8–Y15: transposition temporaries.

// TRANSPOSE8 transposes Y0–Y7 (rows) into columns: column p ends in
// Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15 for p = 0, 1, 2, 3, 4, 5, 6, 7.
#define TRANSPOSE8 \
	VUNPCKLPS Y1, Y0, Y8; VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; VUNPCKHPS Y5, Y4, Y13; \
	VUNPCKLPS Y7, Y6, Y14; VUNPCKHPS Y7, Y6, Y15; \
	VSHUFPS $0x44, Y10, Y8, Y0; VSHUFPS $0xEE, Y10, Y8, Y1; \
	VSHUFPS $0x44, Y11, Y9, Y2; VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y14, Y12, Y4; VSHUFPS $0xEE, Y14, Y12, Y5; \
	VSHUFPS $0x44, Y15, Y13, Y6; VSHUFPS $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; VPERM2F128 $0x31, Y4, Y0, Y12; \
	VPERM2F128 $0x20, Y5, Y1, Y9; VPERM2F128 $0x31, Y5, Y1, Y13; \
	VPERM2F128 $0x20, Y6, Y2, Y10; VPERM2F128 $0x31, Y6, Y2, Y14; \
	VPERM2F128 $0x20, Y7, Y3, Y11; VPERM2F128 $0x31, Y7, Y3, Y15

#define STORE8 \
	VMOVUPS Y8, (DI); VMOVUPS Y9, (DI)(R11*1); VMOVUPS Y10, (DI)(R11*2); VMOVUPS Y11, (DI)(R12*1); \
	VMOVUPS Y12, (R13); VMOVUPS Y13, (R13)(R11*1); VMOVUPS Y14, (R13)(R11*2); VMOVUPS Y15, (R13)(R12*1)

// STORE6 stores the six first values of each column: four, then two.
#define STORE6(y, x, lo, hi) VMOVUPS x, lo; VEXTRACTF128 $1, y, x; VMOVQ x, hi

#define SETUP \
	SHLQ $2, R11; LEAQ (R8)(R8*2), R9; LEAQ (SI)(R8*4), R10; LEAQ (R11)(R11*2), R12

#define NEXT(step) \
	ADDQ $step, SI; ADDQ $step, R10; LEAQ (DI)(R11*8), DI; SUBQ $8, CX

// func packRows8F32AVX2(dst *float32, ldd int, src *byte, lds, n int)
TEXT ·packRows8F32AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R11
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R8
	MOVQ n+32(FP), CX
	SETUP
	CMPQ CX, $8
	JL   done

loop:
	LEAQ    (DI)(R11*4), R13
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R10)(R8*1), Y5
	VMOVUPS (R10)(R8*2), Y6
	VMOVUPS (R10)(R9*1), Y7
	TRANSPOSE8
	STORE8
	NEXT(32)
	CMPQ    CX, $8
	JGE     loop

done:
	VZEROUPPER
	RET

// func packRows8F16AVX2(dst *float32, ldd int, src *byte, lds, n int)
TEXT ·packRows8F16AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R11
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R8
	MOVQ n+32(FP), CX
	SETUP
	CMPQ CX, $8
	JL   done

loop:
	LEAQ      (DI)(R11*4), R13
	VCVTPH2PS (SI), Y0
	VCVTPH2PS (SI)(R8*1), Y1
	VCVTPH2PS (SI)(R8*2), Y2
	VCVTPH2PS (SI)(R9*1), Y3
	VCVTPH2PS (R10), Y4
	VCVTPH2PS (R10)(R8*1), Y5
	VCVTPH2PS (R10)(R8*2), Y6
	VCVTPH2PS (R10)(R9*1), Y7
	TRANSPOSE8
	STORE8
	NEXT(16)
	CMPQ      CX, $8
	JGE       loop

done:
	VZEROUPPER
	RET

// BF16 widens by a zero-extension to 32 bits and a shift into the high half.
#define LOADBF16(addr, y) VPMOVZXWD addr, y; VPSLLD $16, y, y

// func packRows8BF16AVX2(dst *float32, ldd int, src *byte, lds, n int)
TEXT ·packRows8BF16AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R11
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R8
	MOVQ n+32(FP), CX
	SETUP
	CMPQ CX, $8
	JL   done

loop:
	LEAQ (DI)(R11*4), R13
	LOADBF16((SI), Y0)
	LOADBF16((SI)(R8*1), Y1)
	LOADBF16((SI)(R8*2), Y2)
	LOADBF16((SI)(R9*1), Y3)
	LOADBF16((R10), Y4)
	LOADBF16((R10)(R8*1), Y5)
	LOADBF16((R10)(R8*2), Y6)
	LOADBF16((R10)(R9*1), Y7)
	TRANSPOSE8
	STORE8
	NEXT(16)
	CMPQ CX, $8
	JGE  loop

done:
	VZEROUPPER
	RET

// func packRows6F32AVX2(dst *float32, ldd int, src *byte, lds, n int)
//
// Rows 6 and 7 of the transposed block are zero and not stored.
TEXT ·packRows6F32AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R11
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R8
	MOVQ n+32(FP), CX
	SETUP
	CMPQ CX, $8
	JL   done

loop:
	LEAQ    (DI)(R11*4), R13
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R10)(R8*1), Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	TRANSPOSE8
	STORE6(Y8, X8, (DI), 16(DI))
	STORE6(Y9, X9, (DI)(R11*1), 16(DI)(R11*1))
	STORE6(Y10, X10, (DI)(R11*2), 16(DI)(R11*2))
	STORE6(Y11, X11, (DI)(R12*1), 16(DI)(R12*1))
	STORE6(Y12, X12, (R13), 16(R13))
	STORE6(Y13, X13, (R13)(R11*1), 16(R13)(R11*1))
	STORE6(Y14, X14, (R13)(R11*2), 16(R13)(R11*2))
	STORE6(Y15, X15, (R13)(R12*1), 16(R13)(R12*1))
	NEXT(32)
	CMPQ    CX, $8
	JGE     loop

done:
	VZEROUPPER
	RET

// func fmaPeakAVX2(n int)
//
// n iterations of 12 independent ymm FMAs (Y0–Y11 += Y14·Y15): the FMA
// throughput of one core, for BenchmarkPeak.
TEXT ·fmaPeakAVX2(SB), NOSPLIT, $0-8
	MOVQ   n+0(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	TESTQ  CX, CX
	JLE    done

loop:
	VFMADD231PS Y14, Y15, Y0
	VFMADD231PS Y14, Y15, Y1
	VFMADD231PS Y14, Y15, Y2
	VFMADD231PS Y14, Y15, Y3
	VFMADD231PS Y14, Y15, Y4
	VFMADD231PS Y14, Y15, Y5
	VFMADD231PS Y14, Y15, Y6
	VFMADD231PS Y14, Y15, Y7
	VFMADD231PS Y14, Y15, Y8
	VFMADD231PS Y14, Y15, Y9
	VFMADD231PS Y14, Y15, Y10
	VFMADD231PS Y14, Y15, Y11
	DECQ        CX
	JNZ         loop

done:
	VZEROUPPER
	RET
