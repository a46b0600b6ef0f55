//go:build !noasm

#include "textflag.h"

// AVX-512 (F/BW/VL/DQ) bodies of the vector ops. Each takes pointers and a
// length checked by its Go wrapper (ops_amd64.go) and handles every length:
// 16 floats per zmm, the last 1–15 through a K-mask, so nothing outside the
// slices is read or written (masked loads do not fault on masked lanes).
//
// Common registers: SI, DI, DX: the slices; BX: elements left; K1: the tail
// mask; Z31 (and up): broadcast constants.

// TAILMASK sets K1 to the low BX bits (0 < BX < 16); uses CX and AX.
#define TAILMASK \
	MOVQ BX, CX; MOVL $1, AX; SHLL CX, AX; DECL AX; KMOVW AX, K1

// HSUM leaves in X0 the sum of the 16 floats of Z0 (Z1 is clobbered).
#define HSUM \
	VEXTRACTF64X4 $1, Z0, Y1; VADDPS Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; VADDPS X1, X0, X0; \
	VPERMILPS $0x4E, X0, X1; VADDPS X1, X0, X0; \
	VPERMILPS $0xB1, X0, X1; VADDPS X1, X0, X0

// HSUMPD leaves in X4 the sum of the 8 doubles of Z4 (Z5 is clobbered).
#define HSUMPD \
	VEXTRACTF64X4 $1, Z4, Y5; VADDPD Y5, Y4, Y4; \
	VEXTRACTF128 $1, Y4, X5; VADDPD X5, X4, X4; \
	VPERMILPD $1, X4, X5; VADDSD X5, X4, X4

// func dotAVX512(a, b *float32, n int) float32
//
// Z0–Z3: four accumulators over 64 floats per iteration, Z4–Z7: loads of a.
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	CMPQ   BX, $64
	JL     loop16

loop64:
	VMOVUPS     (SI), Z4
	VMOVUPS     64(SI), Z5
	VMOVUPS     128(SI), Z6
	VMOVUPS     192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $64, BX
	CMPQ        BX, $64
	JGE         loop64

loop16:
	CMPQ        BX, $16
	JL          tail
	VMOVUPS     (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, BX
	JMP         loop16

tail:
	TESTQ       BX, BX
	JZ          reduce
	TAILMASK
	VMOVUPS.Z   (SI), K1, Z4
	VMOVUPS.Z   (DI), K1, Z5
	VFMADD231PS Z5, Z4, Z1

reduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUM
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET

// func axpyAVX512(alpha float32, x, y *float32, n int)
//
// y += alpha·x with one FMA per element; Z31: alpha.
TEXT ·axpyAVX512(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), BX
	CMPQ         BX, $32
	JL           loop16

loop32:
	VMOVUPS     (DI), Z0
	VMOVUPS     64(DI), Z1
	VFMADD231PS (SI), Z31, Z0
	VFMADD231PS 64(SI), Z31, Z1
	VMOVUPS     Z0, (DI)
	VMOVUPS     Z1, 64(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, BX
	CMPQ        BX, $32
	JGE         loop32

loop16:
	CMPQ        BX, $16
	JL          tail
	VMOVUPS     (DI), Z0
	VFMADD231PS (SI), Z31, Z0
	VMOVUPS     Z0, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, BX

tail:
	TESTQ       BX, BX
	JZ          done
	TAILMASK
	VMOVUPS.Z   (DI), K1, Z0
	VMOVUPS.Z   (SI), K1, Z1
	VFMADD231PS Z1, Z31, Z0
	VMOVUPS     Z0, K1, (DI)

done:
	VZEROUPPER
	RET

// func scaleAVX512(alpha float32, x *float32, n int)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ         x+8(FP), DI
	MOVQ         n+16(FP), BX

loop16:
	CMPQ    BX, $16
	JL      tail
	VMULPS  (DI), Z31, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	SUBQ    $16, BX
	JMP     loop16

tail:
	TESTQ     BX, BX
	JZ        done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMULPS    Z0, Z31, Z0
	VMOVUPS   Z0, K1, (DI)

done:
	VZEROUPPER
	RET

// func addAVX512(dst, x *float32, n int)
TEXT ·addAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), BX

loop16:
	CMPQ    BX, $16
	JL      tail
	VMOVUPS (DI), Z0
	VADDPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	SUBQ    $16, BX
	JMP     loop16

tail:
	TESTQ     BX, BX
	JZ        done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VADDPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (DI)

done:
	VZEROUPPER
	RET

// func mulAVX512(dst, x *float32, n int)
TEXT ·mulAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), BX

loop16:
	CMPQ    BX, $16
	JL      tail
	VMOVUPS (DI), Z0
	VMULPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	SUBQ    $16, BX
	JMP     loop16

tail:
	TESTQ     BX, BX
	JZ        done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VMULPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (DI)

done:
	VZEROUPPER
	RET

// func sumSquaresAVX512(x *float32, n int) float64
//
// Σ float64(x[i]·x[i]): the squares are rounded to float32, widened and
// summed in eight double lanes of Z4 and Z5. Z0: squares, Z1, Z2: halves.
TEXT ·sumSquaresAVX512(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), BX
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5

loop16:
	CMPQ          BX, $16
	JL            tail
	VMOVUPS       (SI), Z0
	VMULPS        Z0, Z0, Z0
	VCVTPS2PD     Y0, Z1
	VEXTRACTF64X4 $1, Z0, Y2
	VCVTPS2PD     Y2, Z2
	VADDPD        Z1, Z4, Z4
	VADDPD        Z2, Z5, Z5
	ADDQ          $64, SI
	SUBQ          $16, BX
	JMP           loop16

tail:
	TESTQ         BX, BX
	JZ            reduce
	TAILMASK
	VMOVUPS.Z     (SI), K1, Z0
	VMULPS        Z0, Z0, Z0
	VCVTPS2PD     Y0, Z1
	VEXTRACTF64X4 $1, Z0, Y2
	VCVTPS2PD     Y2, Z2
	VADDPD        Z1, Z4, Z4
	VADDPD        Z2, Z5, Z5

reduce:
	VADDPD Z5, Z4, Z4
	HSUMPD
	VZEROUPPER
	MOVSD  X4, ret+16(FP)
	RET

// func scaleMulAVX512(dst, x, w *float32, s float32, n int)
//
// dst[i] = float32(x[i]·s)·w[i], two rounded products (RMSNorm's last
// step); dst may be x. Z31: s.
TEXT ·scaleMulAVX512(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         w+16(FP), DX
	VBROADCASTSS s+24(FP), Z31
	MOVQ         n+32(FP), BX

loop16:
	CMPQ    BX, $16
	JL      tail
	VMULPS  (SI), Z31, Z0
	VMULPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, BX
	JMP     loop16

tail:
	TESTQ     BX, BX
	JZ        done
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VMULPS    Z0, Z31, Z0
	VMULPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (DI)

done:
	VZEROUPPER
	RET

// func maxAVX512(x *float32, n int) float32
//
// The largest of n ≥ 1 values; Z0: running maxima, Z30: −Inf for the
// masked-off lanes of the tail.
TEXT ·maxAVX512(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), BX
	MOVL         $0xff800000, AX
	VPBROADCASTD AX, Z30
	VMOVAPS      Z30, Z0

loop16:
	CMPQ   BX, $16
	JL     tail
	VMAXPS (SI), Z0, Z0
	ADDQ   $64, SI
	SUBQ   $16, BX
	JMP    loop16

tail:
	TESTQ   BX, BX
	JZ      reduce
	TAILMASK
	VMOVAPS Z30, Z1
	VMOVUPS (SI), K1, Z1
	VMAXPS  Z1, Z0, Z0

reduce:
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0x4E, X0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0xB1, X0, X1
	VMAXPS        X1, X0, X0
	VZEROUPPER
	MOVSS         X0, ret+16(FP)
	RET

// The exponential in double precision, rounded once to float32 by the
// caller: C's expf as the generic bodies compute it (float64 exp, then
// float32), so results agree bit for bit except, rarely, when the exact
// value lies within ~1e-16 of a float32 rounding boundary.
//
// exp(x) = 2^k · e^r with k = round(x·log2 e), r = x − k·ln2 (Cody–Waite,
// ln2 split in a high part with trailing zeros and a low part), e^r by its
// Taylor polynomial of degree 12 (|r| ≤ 0.347: truncation < 2e-16), 2^k by
// VSCALEFPD. x is clamped to [−110, 89] first, which keeps NaN, sends
// −Inf to a value whose float32 is 0 and +Inf to one whose float32 is +Inf.
DATA expC<>+0(SB)/8, $1.0
DATA expC<>+8(SB)/8, $1.0
DATA expC<>+16(SB)/8, $0.5
DATA expC<>+24(SB)/8, $0.16666666666666666
DATA expC<>+32(SB)/8, $0.041666666666666664
DATA expC<>+40(SB)/8, $0.008333333333333333
DATA expC<>+48(SB)/8, $0.001388888888888889
DATA expC<>+56(SB)/8, $0.0001984126984126984
DATA expC<>+64(SB)/8, $2.48015873015873e-05
DATA expC<>+72(SB)/8, $2.7557319223985893e-06
DATA expC<>+80(SB)/8, $2.755731922398589e-07
DATA expC<>+88(SB)/8, $2.505210838544172e-08
DATA expC<>+96(SB)/8, $2.08767569878681e-09
DATA expC<>+104(SB)/8, $-110.0
DATA expC<>+112(SB)/8, $89.0
DATA expC<>+120(SB)/8, $1.4426950408889634
DATA expC<>+128(SB)/8, $-6.93147180369123816490e-01
DATA expC<>+136(SB)/8, $-1.90821492927058770002e-10
GLOBL expC<>(SB), RODATA|NOPTR, $144

// EXPCONST loads the clamp bounds, log2 e and −ln2 (high, low) into Z20–Z24.
#define EXPCONST \
	VBROADCASTSD expC<>+104(SB), Z20; VBROADCASTSD expC<>+112(SB), Z21; \
	VBROADCASTSD expC<>+120(SB), Z22; VBROADCASTSD expC<>+128(SB), Z23; \
	VBROADCASTSD expC<>+136(SB), Z24

// EXPPDX2 replaces the 8 doubles of x1 and of x2 by their exponentials,
// the two chains interleaved; k1, k2, p1, p2: temporaries. The bounds are
// the first sources of VMAXPD/VMINPD so that a NaN in x is returned as is.
#define EXPPDX2(x1, k1, p1, x2, k2, p2) \
	VMAXPD x1, Z20, x1; VMAXPD x2, Z20, x2; VMINPD x1, Z21, x1; VMINPD x2, Z21, x2; \
	VMULPD Z22, x1, k1; VMULPD Z22, x2, k2; VRNDSCALEPD $0, k1, k1; VRNDSCALEPD $0, k2, k2; \
	VFMADD231PD Z23, k1, x1; VFMADD231PD Z23, k2, x2; \
	VFMADD231PD Z24, k1, x1; VFMADD231PD Z24, k2, x2; \
	VBROADCASTSD expC<>+96(SB), p1; VMOVAPD p1, p2; \
	VFMADD213PD.BCST expC<>+88(SB), x1, p1; VFMADD213PD.BCST expC<>+88(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+80(SB), x1, p1; VFMADD213PD.BCST expC<>+80(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+72(SB), x1, p1; VFMADD213PD.BCST expC<>+72(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+64(SB), x1, p1; VFMADD213PD.BCST expC<>+64(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+56(SB), x1, p1; VFMADD213PD.BCST expC<>+56(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+48(SB), x1, p1; VFMADD213PD.BCST expC<>+48(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+40(SB), x1, p1; VFMADD213PD.BCST expC<>+40(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+32(SB), x1, p1; VFMADD213PD.BCST expC<>+32(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+24(SB), x1, p1; VFMADD213PD.BCST expC<>+24(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+16(SB), x1, p1; VFMADD213PD.BCST expC<>+16(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+8(SB), x1, p1; VFMADD213PD.BCST expC<>+8(SB), x2, p2; \
	VFMADD213PD.BCST expC<>+0(SB), x1, p1; VFMADD213PD.BCST expC<>+0(SB), x2, p2; \
	VSCALEFPD k1, p1, x1; VSCALEFPD k2, p2, x2

// EXPPS replaces the 16 floats of Z0 by expf of them (Z1–Z6 clobbered).
#define EXPPS \
	VCVTPS2PD Y0, Z1; VEXTRACTF64X4 $1, Z0, Y2; VCVTPS2PD Y2, Z2; \
	EXPPDX2(Z1, Z3, Z4, Z2, Z5, Z6); \
	VCVTPD2PS Z1, Y1; VCVTPD2PS Z2, Y2; VINSERTF64X4 $1, Y2, Z1, Z0

// func expSumAVX512(x *float32, mx float32, n int) float64
//
// x[i] = expf(x[i] − mx) and the float64 sum of the results (Softmax's
// first pass). Z31: mx, Z8, Z9: the double sums.
TEXT ·expSumAVX512(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	VBROADCASTSS mx+8(FP), Z31
	MOVQ         n+16(FP), BX
	EXPCONST
	VPXORD       Z8, Z8, Z8
	VPXORD       Z9, Z9, Z9

loop16:
	CMPQ          BX, $16
	JL            tail
	VMOVUPS       (SI), Z0
	VSUBPS        Z31, Z0, Z0
	EXPPS
	VMOVUPS       Z0, (SI)
	VCVTPS2PD     Y0, Z1
	VEXTRACTF64X4 $1, Z0, Y2
	VCVTPS2PD     Y2, Z2
	VADDPD        Z1, Z8, Z8
	VADDPD        Z2, Z9, Z9
	ADDQ          $64, SI
	SUBQ          $16, BX
	JMP           loop16

tail:
	TESTQ         BX, BX
	JZ            reduce
	TAILMASK
	VMOVUPS.Z     (SI), K1, Z0
	VSUBPS        Z31, Z0, Z0
	EXPPS
	VMOVUPS.Z     Z0, K1, Z0
	VMOVUPS       Z0, K1, (SI)
	VCVTPS2PD     Y0, Z1
	VEXTRACTF64X4 $1, Z0, Y2
	VCVTPS2PD     Y2, Z2
	VADDPD        Z1, Z8, Z8
	VADDPD        Z2, Z9, Z9

reduce:
	VADDPD  Z9, Z8, Z4
	HSUMPD
	VZEROUPPER
	MOVSD   X4, ret+24(FP)
	RET

// func siluMulAVX512(gate, up *float32, n int)
//
// gate[i] = float32(v/(1+expf(−v)))·up[i] with v = gate[i], each step
// rounded to float32 as the generic body. Z30: the sign bit, Z29: 1.
TEXT ·siluMulAVX512(SB), NOSPLIT, $0-24
	MOVQ         gate+0(FP), DI
	MOVQ         up+8(FP), SI
	MOVQ         n+16(FP), BX
	EXPCONST
	MOVL         $0x80000000, AX
	VPBROADCASTD AX, Z30
	MOVL         $0x3f800000, AX
	VPBROADCASTD AX, Z29

loop16:
	CMPQ    BX, $16
	JL      tail
	VMOVUPS (DI), Z7
	VXORPS  Z30, Z7, Z0
	EXPPS
	VADDPS  Z29, Z0, Z0
	VDIVPS  Z0, Z7, Z0
	VMULPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	SUBQ    $16, BX
	JMP     loop16

tail:
	TESTQ     BX, BX
	JZ        done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z7
	VMOVUPS.Z (SI), K1, Z8
	VXORPS    Z30, Z7, Z0
	EXPPS
	VADDPS    Z29, Z0, Z0
	VDIVPS    Z0, Z7, Z0
	VMULPS    Z8, Z0, Z0
	VMOVUPS   Z0, K1, (DI)

done:
	VZEROUPPER
	RET

// Index vector duplicating each of the first eight floats: 0 0 1 1 … 7 7.
DATA dupIdx<>+0(SB)/4, $0
DATA dupIdx<>+4(SB)/4, $0
DATA dupIdx<>+8(SB)/4, $1
DATA dupIdx<>+12(SB)/4, $1
DATA dupIdx<>+16(SB)/4, $2
DATA dupIdx<>+20(SB)/4, $2
DATA dupIdx<>+24(SB)/4, $3
DATA dupIdx<>+28(SB)/4, $3
DATA dupIdx<>+32(SB)/4, $4
DATA dupIdx<>+36(SB)/4, $4
DATA dupIdx<>+40(SB)/4, $5
DATA dupIdx<>+44(SB)/4, $5
DATA dupIdx<>+48(SB)/4, $6
DATA dupIdx<>+52(SB)/4, $6
DATA dupIdx<>+56(SB)/4, $7
DATA dupIdx<>+60(SB)/4, $7
GLOBL dupIdx<>(SB), RODATA|NOPTR, $64

// ROPEPAIRS rotates the 8 pairs of Z0 by the cosines in Y1 and sines in
// Y2: P = x·(c c), Q = swap(x)·(s s), result P − Q in even lanes and
// P + Q in odd ones (Q's even lanes negated by Z30, then one addition).
#define ROPEPAIRS \
	VPERMPS Z1, Z31, Z1; VPERMPS Z2, Z31, Z2; \
	VPERMILPS $0xB1, Z0, Z3; VMULPS Z1, Z0, Z0; VMULPS Z2, Z3, Z3; \
	VXORPS Z30, Z3, Z3; VADDPS Z3, Z0, Z0

// func ropePairsAVX512(x, cos, sin *float32, n int)
//
// Rotates the n pairs (x[2i], x[2i+1]) by cos[i], sin[i]; DI: x, SI: cos,
// DX: sin; Z31: dupIdx, Z30: the sign bit of even lanes, K2: 2·tail lanes.
TEXT ·ropePairsAVX512(SB), NOSPLIT, $0-32
	MOVQ      x+0(FP), DI
	MOVQ      cos+8(FP), SI
	MOVQ      sin+16(FP), DX
	MOVQ      n+24(FP), BX
	VMOVDQU32 dupIdx<>(SB), Z31
	MOVQ      $0x80000000, AX
	VPBROADCASTQ AX, Z30

loop8:
	CMPQ    BX, $8
	JL      tail
	VMOVUPS (DI), Z0
	VMOVUPS (SI), Y1
	VMOVUPS (DX), Y2
	ROPEPAIRS
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	SUBQ    $8, BX
	JMP     loop8

tail:
	TESTQ     BX, BX
	JZ        done
	TAILMASK
	LEAQ      (BX)(BX*1), CX
	MOVL      $1, AX
	SHLL      CX, AX
	DECL      AX
	KMOVW     AX, K2
	VMOVUPS.Z (DI), K2, Z0
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z (DX), K1, Z2
	ROPEPAIRS
	VMOVUPS   Z0, K2, (DI)

done:
	VZEROUPPER
	RET

// func ropeHalvesAVX512(lo, hi, cos, sin *float32, n int)
//
// lo' = lo·c − hi·s, hi' = lo·s + hi·c, products rounded separately.
// DI: lo, R8: hi, SI: cos, DX: sin; Z0: lo, Z1: hi, Z2: c, Z3: s.
TEXT ·ropeHalvesAVX512(SB), NOSPLIT, $0-40
	MOVQ lo+0(FP), DI
	MOVQ hi+8(FP), R8
	MOVQ cos+16(FP), SI
	MOVQ sin+24(FP), DX
	MOVQ n+32(FP), BX

loop16:
	CMPQ    BX, $16
	JL      tail
	VMOVUPS (DI), Z0
	VMOVUPS (R8), Z1
	VMOVUPS (SI), Z2
	VMOVUPS (DX), Z3
	VMULPS  Z2, Z0, Z4
	VMULPS  Z3, Z1, Z5
	VSUBPS  Z5, Z4, Z4
	VMULPS  Z3, Z0, Z6
	VMULPS  Z2, Z1, Z7
	VADDPS  Z7, Z6, Z6
	VMOVUPS Z4, (DI)
	VMOVUPS Z6, (R8)
	ADDQ    $64, DI
	ADDQ    $64, R8
	ADDQ    $64, SI
	ADDQ    $64, DX
	SUBQ    $16, BX
	JMP     loop16

tail:
	TESTQ     BX, BX
	JZ        done
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (R8), K1, Z1
	VMOVUPS.Z (SI), K1, Z2
	VMOVUPS.Z (DX), K1, Z3
	VMULPS    Z2, Z0, Z4
	VMULPS    Z3, Z1, Z5
	VSUBPS    Z5, Z4, Z4
	VMULPS    Z3, Z0, Z6
	VMULPS    Z2, Z1, Z7
	VADDPS    Z7, Z6, Z6
	VMOVUPS   Z4, K1, (DI)
	VMOVUPS   Z6, K1, (R8)

done:
	VZEROUPPER
	RET

// func f16ToF32AVX512(dst *float32, src *uint16, n int)
TEXT ·f16ToF32AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX

loop16:
	CMPQ      BX, $16
	JL        tail
	VCVTPH2PS (SI), Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	SUBQ      $16, BX
	JMP       loop16

tail:
	TESTQ       BX, BX
	JZ          done
	TAILMASK
	VCVTPH2PS.Z (SI), K1, Z0
	VMOVUPS     Z0, K1, (DI)

done:
	VZEROUPPER
	RET

// func bf16ToF32AVX512(dst *float32, src *uint16, n int)
TEXT ·bf16ToF32AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX

loop16:
	CMPQ      BX, $16
	JL        tail
	VPMOVZXWD (SI), Z0
	VPSLLD    $16, Z0, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	SUBQ      $16, BX
	JMP       loop16

tail:
	TESTQ       BX, BX
	JZ          done
	TAILMASK
	VPMOVZXWD.Z (SI), K1, Z0
	VPSLLD      $16, Z0, Z0
	VMOVUPS     Z0, K1, (DI)

done:
	VZEROUPPER
	RET

// F32TOF16 converts Z0 to 16 halves in Y0, rounding to nearest even. NaNs
// are first replaced by the quiet NaN with their sign and no payload,
// which converts to sign|0x7E00 as ggml's conversion gives for every NaN.
// Z30: the sign bit, Z29: 0x7FC00000; K2: NaN lanes.
#define F32TOF16 \
	VCMPPS $3, Z0, Z0, K2; VPANDD Z30, Z0, Z1; VPORD Z29, Z1, Z1; \
	VMOVAPS Z1, K2, Z0; VCVTPS2PH $0, Z0, Y0

// func f32ToF16AVX512(dst *uint16, src *float32, n int)
TEXT ·f32ToF16AVX512(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), BX
	MOVL         $0x80000000, AX
	VPBROADCASTD AX, Z30
	MOVL         $0x7fc00000, AX
	VPBROADCASTD AX, Z29

loop16:
	CMPQ    BX, $16
	JL      tail
	VMOVUPS (SI), Z0
	F32TOF16
	VMOVDQU Y0, (DI)
	ADDQ    $64, SI
	ADDQ    $32, DI
	SUBQ    $16, BX
	JMP     loop16

tail:
	TESTQ     BX, BX
	JZ        done
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	F32TOF16
	VMOVDQU16 Y0, K1, (DI)

done:
	VZEROUPPER
	RET

// F32TOBF16 converts Z0 to 16 bfloat16 in Y0 as ggml_compute_fp32_to_bf16:
// NaN → (u>>16)|64, otherwise (u + 0x7FFF + ((u>>16)&1)) >> 16.
// Z31: 0x7FFFFFFF, Z30: 0x7F800000, Z29: 1, Z28: 0x7FFF, Z27: 64.
#define F32TOBF16 \
	VPANDD Z31, Z0, Z1; VPCMPGTD Z30, Z1, K2; \
	VPSRLD $16, Z0, Z2; VPANDD Z29, Z2, Z3; \
	VPADDD Z28, Z0, Z1; VPADDD Z3, Z1, Z1; VPSRLD $16, Z1, Z1; \
	VPORD Z27, Z2, K2, Z1; VPMOVDW Z1, Y0

// func f32ToBF16AVX512(dst *uint16, src *float32, n int)
TEXT ·f32ToBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), BX
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	MOVL         $0x7f800000, AX
	VPBROADCASTD AX, Z30
	MOVL         $1, AX
	VPBROADCASTD AX, Z29
	MOVL         $0x7fff, AX
	VPBROADCASTD AX, Z28
	MOVL         $64, AX
	VPBROADCASTD AX, Z27

loop16:
	CMPQ    BX, $16
	JL      tail
	VMOVUPS (SI), Z0
	F32TOBF16
	VMOVDQU Y0, (DI)
	ADDQ    $64, SI
	ADDQ    $32, DI
	SUBQ    $16, BX
	JMP     loop16

tail:
	TESTQ     BX, BX
	JZ        done
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	F32TOBF16
	VMOVDQU16 Y0, K1, (DI)

done:
	VZEROUPPER
	RET
