//go:build !noasm

#include "textflag.h"

// AVX2 + FMA + F16C bodies of the vector ops. Each processes the first
// n&^7 elements (whole ymm vectors); the Go wrappers (ops_amd64.go) finish
// the last 0–7 with the generic body, so nothing outside the slices is read
// or written.
//
// Common registers: SI, DI, DX: the slices; BX: elements left; Y15 (and
// down): constants.

// HSUM8 leaves in X0 the sum of the 8 floats of Y0 (Y1 is clobbered).
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1; VADDPS X1, X0, X0; \
	VPERMILPS $0x4E, X0, X1; VADDPS X1, X0, X0; \
	VPERMILPS $0xB1, X0, X1; VADDPS X1, X0, X0

// HSUMPD4 leaves in X4 the sum of the 4 doubles of Y4 (Y5 is clobbered).
#define HSUMPD4 \
	VEXTRACTF128 $1, Y4, X5; VADDPD X5, X4, X4; \
	VPERMILPD $1, X4, X5; VADDSD X5, X4, X4

// func dotAVX2(a, b *float32, n int) float32
//
// Y0–Y3: four accumulators over 32 floats per iteration, Y4–Y7: loads of a.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ   BX, $32
	JL     loop8

loop32:
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, BX
	CMPQ        BX, $32
	JGE         loop32

loop8:
	CMPQ        BX, $8
	JL          reduce
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, BX
	JMP         loop8

reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), BX

loop8:
	CMPQ        BX, $8
	JL          done
	VMOVUPS     (DI), Y0
	VFMADD231PS (SI), Y15, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, BX
	JMP         loop8

done:
	VZEROUPPER
	RET

// func scaleAVX2(alpha float32, x *float32, n int)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ         x+8(FP), DI
	MOVQ         n+16(FP), BX

loop8:
	CMPQ    BX, $8
	JL      done
	VMULPS  (DI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	SUBQ    $8, BX
	JMP     loop8

done:
	VZEROUPPER
	RET

// func addAVX2(dst, x *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), BX

loop8:
	CMPQ    BX, $8
	JL      done
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, BX
	JMP     loop8

done:
	VZEROUPPER
	RET

// func mulAVX2(dst, x *float32, n int)
TEXT ·mulAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), BX

loop8:
	CMPQ    BX, $8
	JL      done
	VMOVUPS (DI), Y0
	VMULPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, BX
	JMP     loop8

done:
	VZEROUPPER
	RET

// func sumSquaresAVX2(x *float32, n int) float64
//
// Σ float64(x[i]·x[i]) over whole vectors: squares rounded to float32,
// widened, summed in the four double lanes of Y4 and Y5.
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), BX
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5

loop8:
	CMPQ         BX, $8
	JL           reduce
	VMOVUPS      (SI), Y0
	VMULPS       Y0, Y0, Y0
	VCVTPS2PD    X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD    X2, Y2
	VADDPD       Y1, Y4, Y4
	VADDPD       Y2, Y5, Y5
	ADDQ         $32, SI
	SUBQ         $8, BX
	JMP          loop8

reduce:
	VADDPD Y5, Y4, Y4
	HSUMPD4
	VZEROUPPER
	MOVSD  X4, ret+16(FP)
	RET

// func scaleMulAVX2(dst, x, w *float32, s float32, n int)
TEXT ·scaleMulAVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         w+16(FP), DX
	VBROADCASTSS s+24(FP), Y15
	MOVQ         n+32(FP), BX

loop8:
	CMPQ    BX, $8
	JL      done
	VMULPS  (SI), Y15, Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, BX
	JMP     loop8

done:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
//
// The largest of the first n&^7 values, −Inf when there are none.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), BX
	MOVL         $0xff800000, AX
	MOVQ         AX, X0
	VPBROADCASTD X0, Y0

loop8:
	CMPQ   BX, $8
	JL     reduce
	VMAXPS (SI), Y0, Y0
	ADDQ   $32, SI
	SUBQ   $8, BX
	JMP    loop8

reduce:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4E, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xB1, X0, X1
	VMAXPS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+16(FP)
	RET

// The double-precision exponential of ops_avx512_amd64.s, four lanes at a
// time: clamp to [−110, 89], k = round(x·log2 e), r = x − k·ln2 in two
// parts, Taylor polynomial of degree 12, times 2^k built in the exponent
// field (k + 1023) << 52.
DATA exp4C<>+0(SB)/8, $1.0
DATA exp4C<>+8(SB)/8, $1.0
DATA exp4C<>+16(SB)/8, $0.5
DATA exp4C<>+24(SB)/8, $0.16666666666666666
DATA exp4C<>+32(SB)/8, $0.041666666666666664
DATA exp4C<>+40(SB)/8, $0.008333333333333333
DATA exp4C<>+48(SB)/8, $0.001388888888888889
DATA exp4C<>+56(SB)/8, $0.0001984126984126984
DATA exp4C<>+64(SB)/8, $2.48015873015873e-05
DATA exp4C<>+72(SB)/8, $2.7557319223985893e-06
DATA exp4C<>+80(SB)/8, $2.755731922398589e-07
DATA exp4C<>+88(SB)/8, $2.505210838544172e-08
DATA exp4C<>+96(SB)/8, $2.08767569878681e-09
DATA exp4C<>+104(SB)/8, $-110.0
DATA exp4C<>+112(SB)/8, $89.0
DATA exp4C<>+120(SB)/8, $1.4426950408889634
DATA exp4C<>+128(SB)/8, $-6.93147180369123816490e-01
DATA exp4C<>+136(SB)/8, $-1.90821492927058770002e-10
DATA exp4C<>+144(SB)/8, $1023
GLOBL exp4C<>(SB), RODATA|NOPTR, $152

// EXP4X2 replaces the 4 doubles of x1 and of x2 by their exponentials,
// the two chains interleaved so that both fit the out-of-order window;
// k1, k2, p1, p2, t: temporaries (ymm), kx1, kx2: the xmm of k1, k2. The
// bounds are the first sources of VMAXPD/VMINPD so that a NaN in x is
// returned as is.
#define EXP4X2(x1, k1, kx1, p1, x2, k2, kx2, p2, t) \
	VBROADCASTSD exp4C<>+104(SB), t; VMAXPD x1, t, x1; VMAXPD x2, t, x2; \
	VBROADCASTSD exp4C<>+112(SB), t; VMINPD x1, t, x1; VMINPD x2, t, x2; \
	VBROADCASTSD exp4C<>+120(SB), t; VMULPD t, x1, k1; VMULPD t, x2, k2; \
	VROUNDPD $0, k1, k1; VROUNDPD $0, k2, k2; \
	VBROADCASTSD exp4C<>+128(SB), t; VFMADD231PD t, k1, x1; VFMADD231PD t, k2, x2; \
	VBROADCASTSD exp4C<>+136(SB), t; VFMADD231PD t, k1, x1; VFMADD231PD t, k2, x2; \
	VBROADCASTSD exp4C<>+96(SB), p1; VMOVAPD p1, p2; \
	VBROADCASTSD exp4C<>+88(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+80(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+72(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+64(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+56(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+48(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+40(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+32(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+24(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+16(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+8(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VBROADCASTSD exp4C<>+0(SB), t; VFMADD213PD t, x1, p1; VFMADD213PD t, x2, p2; \
	VCVTPD2DQY k1, kx1; VPMOVSXDQ kx1, k1; VCVTPD2DQY k2, kx2; VPMOVSXDQ kx2, k2; \
	VPBROADCASTQ exp4C<>+144(SB), t; VPADDQ t, k1, k1; VPADDQ t, k2, k2; \
	VPSLLQ $52, k1, k1; VPSLLQ $52, k2, k2; \
	VMULPD k1, p1, x1; VMULPD k2, p2, x2

// EXPPS8 replaces the 8 floats of Y0 by expf of them (Y1–Y3, Y6–Y10
// clobbered).
#define EXPPS8 \
	VCVTPS2PD X0, Y1; VEXTRACTF128 $1, Y0, X2; VCVTPS2PD X2, Y2; \
	EXP4X2(Y1, Y3, X3, Y6, Y2, Y8, X8, Y9, Y10); \
	VCVTPD2PSY Y1, X1; VCVTPD2PSY Y2, X2; VINSERTF128 $1, X2, Y1, Y0

// func expSumAVX2(x *float32, mx float32, n int) float64
//
// x[i] = expf(x[i] − mx) over whole vectors, and the float64 sum of the
// results. Y15: mx, Y4, Y5: the double sums.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	VBROADCASTSS mx+8(FP), Y15
	MOVQ         n+16(FP), BX
	VXORPD       Y4, Y4, Y4
	VXORPD       Y5, Y5, Y5

loop8:
	CMPQ         BX, $8
	JL           reduce
	VMOVUPS      (SI), Y0
	VSUBPS       Y15, Y0, Y0
	EXPPS8
	VMOVUPS      Y0, (SI)
	VCVTPS2PD    X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD    X2, Y2
	VADDPD       Y1, Y4, Y4
	VADDPD       Y2, Y5, Y5
	ADDQ         $32, SI
	SUBQ         $8, BX
	JMP          loop8

reduce:
	VADDPD  Y5, Y4, Y4
	HSUMPD4
	VZEROUPPER
	MOVSD   X4, ret+24(FP)
	RET

// func siluMulAVX2(gate, up *float32, n int)
//
// gate[i] = float32(v/(1+expf(−v)))·up[i] over whole vectors. Y15: the
// sign bit, Y14: 1, Y13: v.
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-24
	MOVQ         gate+0(FP), DI
	MOVQ         up+8(FP), SI
	MOVQ         n+16(FP), BX
	MOVL         $0x80000000, AX
	MOVQ         AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x3f800000, AX
	MOVQ         AX, X14
	VPBROADCASTD X14, Y14

loop8:
	CMPQ    BX, $8
	JL      done
	VMOVUPS (DI), Y13
	VXORPS  Y15, Y13, Y0
	EXPPS8
	VADDPS  Y14, Y0, Y0
	VDIVPS  Y0, Y13, Y0
	VMULPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, BX
	JMP     loop8

done:
	VZEROUPPER
	RET

// Index vector duplicating each of the first four floats: 0 0 1 1 2 2 3 3.
DATA dup4Idx<>+0(SB)/4, $0
DATA dup4Idx<>+4(SB)/4, $0
DATA dup4Idx<>+8(SB)/4, $1
DATA dup4Idx<>+12(SB)/4, $1
DATA dup4Idx<>+16(SB)/4, $2
DATA dup4Idx<>+20(SB)/4, $2
DATA dup4Idx<>+24(SB)/4, $3
DATA dup4Idx<>+28(SB)/4, $3
GLOBL dup4Idx<>(SB), RODATA|NOPTR, $32

// func ropePairsAVX2(x, cos, sin *float32, n int)
//
// Rotates the first n&^3 pairs, four (one ymm of x) at a time:
// P = x·(c c), Q = swap(x)·(s s), VADDSUBPS gives P − Q in even lanes and
// P + Q in odd ones. Y15: dup4Idx.
TEXT ·ropePairsAVX2(SB), NOSPLIT, $0-32
	MOVQ    x+0(FP), DI
	MOVQ    cos+8(FP), SI
	MOVQ    sin+16(FP), DX
	MOVQ    n+24(FP), BX
	VMOVDQU dup4Idx<>(SB), Y15

loop4:
	CMPQ      BX, $4
	JL        done
	VMOVUPS   (DI), Y0
	VMOVUPS   (SI), X1
	VMOVUPS   (DX), X2
	VPERMPS   Y1, Y15, Y1
	VPERMPS   Y2, Y15, Y2
	VPERMILPS $0xB1, Y0, Y3
	VMULPS    Y1, Y0, Y0
	VMULPS    Y2, Y3, Y3
	VADDSUBPS Y3, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $32, DI
	ADDQ      $16, SI
	ADDQ      $16, DX
	SUBQ      $4, BX
	JMP       loop4

done:
	VZEROUPPER
	RET

// func ropeHalvesAVX2(lo, hi, cos, sin *float32, n int)
TEXT ·ropeHalvesAVX2(SB), NOSPLIT, $0-40
	MOVQ lo+0(FP), DI
	MOVQ hi+8(FP), R8
	MOVQ cos+16(FP), SI
	MOVQ sin+24(FP), DX
	MOVQ n+32(FP), BX

loop8:
	CMPQ    BX, $8
	JL      done
	VMOVUPS (DI), Y0
	VMOVUPS (R8), Y1
	VMOVUPS (SI), Y2
	VMOVUPS (DX), Y3
	VMULPS  Y2, Y0, Y4
	VMULPS  Y3, Y1, Y5
	VSUBPS  Y5, Y4, Y4
	VMULPS  Y3, Y0, Y6
	VMULPS  Y2, Y1, Y7
	VADDPS  Y7, Y6, Y6
	VMOVUPS Y4, (DI)
	VMOVUPS Y6, (R8)
	ADDQ    $32, DI
	ADDQ    $32, R8
	ADDQ    $32, SI
	ADDQ    $32, DX
	SUBQ    $8, BX
	JMP     loop8

done:
	VZEROUPPER
	RET

// func f16ToF32AVX2(dst *float32, src *uint16, n int)
TEXT ·f16ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX

loop8:
	CMPQ      BX, $8
	JL        done
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $8, BX
	JMP       loop8

done:
	VZEROUPPER
	RET

// func bf16ToF32AVX2(dst *float32, src *uint16, n int)
TEXT ·bf16ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX

loop8:
	CMPQ      BX, $8
	JL        done
	VPMOVZXWD (SI), Y0
	VPSLLD    $16, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $8, BX
	JMP       loop8

done:
	VZEROUPPER
	RET

// func f32ToF16AVX2(dst *uint16, src *float32, n int)
//
// NaNs are replaced by the quiet NaN of their sign without payload, which
// VCVTPS2PH turns into sign|0x7E00 (ggml's result for every NaN).
// Y15: the sign bit, Y14: 0x7FC00000.
TEXT ·f32ToF16AVX2(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), BX
	MOVL         $0x80000000, AX
	MOVQ         AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x7fc00000, AX
	MOVQ         AX, X14
	VPBROADCASTD X14, Y14

loop8:
	CMPQ      BX, $8
	JL        done
	VMOVUPS   (SI), Y0
	VCMPPS    $3, Y0, Y0, Y2
	VANDPS    Y15, Y0, Y1
	VORPS     Y14, Y1, Y1
	VBLENDVPS Y2, Y1, Y0, Y0
	VCVTPS2PH $0, Y0, X0
	VMOVDQU   X0, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	SUBQ      $8, BX
	JMP       loop8

done:
	VZEROUPPER
	RET

// func f32ToBF16AVX2(dst *uint16, src *float32, n int)
//
// ggml_compute_fp32_to_bf16: NaN → (u>>16)|64, otherwise
// (u + 0x7FFF + ((u>>16)&1)) >> 16. Y15: 0x7FFFFFFF, Y14: 0x7F800000,
// Y13: 1, Y12: 0x7FFF, Y11: 64.
TEXT ·f32ToBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), BX
	MOVL         $0x7fffffff, AX
	MOVQ         AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x7f800000, AX
	MOVQ         AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $1, AX
	MOVQ         AX, X13
	VPBROADCASTD X13, Y13
	MOVL         $0x7fff, AX
	MOVQ         AX, X12
	VPBROADCASTD X12, Y12
	MOVL         $64, AX
	MOVQ         AX, X11
	VPBROADCASTD X11, Y11

loop8:
	CMPQ         BX, $8
	JL           done
	VMOVDQU      (SI), Y0
	VPAND        Y15, Y0, Y1
	VPCMPGTD     Y14, Y1, Y1
	VPSRLD       $16, Y0, Y2
	VPAND        Y13, Y2, Y3
	VPADDD       Y12, Y0, Y4
	VPADDD       Y3, Y4, Y4
	VPSRLD       $16, Y4, Y4
	VPOR         Y11, Y2, Y2
	VPBLENDVB    Y1, Y2, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPACKUSDW    X5, X4, X4
	VMOVDQU      X4, (DI)
	ADDQ         $32, SI
	ADDQ         $16, DI
	SUBQ         $8, BX
	JMP          loop8

done:
	VZEROUPPER
	RET
