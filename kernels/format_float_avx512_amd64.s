//go:build !noasm

#include "textflag.h"

// AVX-512 row kernels of the float weight formats: the dot of one f16 or
// bf16 row with float32 activations, and the GEMV hook computing four rows
// (f32, f16 or bf16) per pass over x. f16 widens with VCVTPH2PS, bf16 with
// a zero-extension and a 16-bit shift. Any n: the last 1–15 elements go
// through the K1 mask (masked loads do not fault on masked lanes).
//
// Register plan of the GEMV bodies: SI: row 0 (rows 1–3 at SI + R8, 2·R8,
// R9 = 3·R8, R8 = stride in bytes), DI: x, DX: dst, BX: elements left;
// Z0–Z3: the four rows' sums of even 16-blocks, Z4–Z7: of odd ones;
// Z8, Z9: x; Z10–Z13: the widened weights.
//
// While a pass reads four rows, it prefetches the next four into L2 (R11),
// in address order, as many lines per iteration as the iteration reads:
// rows of a few KB are four short interleaved streams that the hardware
// prefetchers follow poorly (a 2048×768 f16 GEMV streamed at 8.6 GB/s
// instead of 15 on one Zen 4 core before this).

#define TAILMASK \
	MOVQ BX, CX; MOVL $1, AX; SHLL CX, AX; DECL AX; KMOVW AX, K1

// HSUMTO stores at to the sum of the 16 floats of z (y, x: its ymm and
// xmm; zt, yt, xt: a temporary).
#define HSUMTO(z, y, x, zt, yt, xt, to) \
	VEXTRACTF64X4 $1, z, yt; VADDPS yt, y, y; \
	VEXTRACTF128 $1, y, xt; VADDPS xt, x, x; \
	VPERMILPS $0x4E, x, xt; VADDPS xt, x, x; \
	VPERMILPS $0xB1, x, xt; VADDPS xt, x, x; \
	VMOVSS x, to

#define ZERO8 \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7

// REDUCE4 adds the odd-block sums into the even ones and stores the four
// row sums at dst[0…3].
#define REDUCE4 \
	VADDPS Z4, Z0, Z0; VADDPS Z5, Z1, Z1; VADDPS Z6, Z2, Z2; VADDPS Z7, Z3, Z3; \
	HSUMTO(Z0, Y0, X0, Z10, Y10, X10, (DX)); \
	HSUMTO(Z1, Y1, X1, Z11, Y11, X11, 4(DX)); \
	HSUMTO(Z2, Y2, X2, Z12, Y12, X12, 8(DX)); \
	HSUMTO(Z3, Y3, X3, Z13, Y13, X13, 12(DX))

// F32ROWS4 multiplies 16 values of each row at byte offset off by xz.
#define F32ROWS4(off, xz, a0, a1, a2, a3) \
	VFMADD231PS off(SI), xz, a0; VFMADD231PS off(SI)(R8*1), xz, a1; \
	VFMADD231PS off(SI)(R8*2), xz, a2; VFMADD231PS off(SI)(R9*1), xz, a3

#define F16ROWS4(off, xz, a0, a1, a2, a3) \
	VCVTPH2PS off(SI), Z10; VCVTPH2PS off(SI)(R8*1), Z11; \
	VCVTPH2PS off(SI)(R8*2), Z12; VCVTPH2PS off(SI)(R9*1), Z13; \
	VFMADD231PS Z10, xz, a0; VFMADD231PS Z11, xz, a1; \
	VFMADD231PS Z12, xz, a2; VFMADD231PS Z13, xz, a3

#define BF16ROWS4(off, xz, a0, a1, a2, a3) \
	VPMOVZXWD off(SI), Z10; VPMOVZXWD off(SI)(R8*1), Z11; \
	VPMOVZXWD off(SI)(R8*2), Z12; VPMOVZXWD off(SI)(R9*1), Z13; \
	VPSLLD $16, Z10, Z10; VPSLLD $16, Z11, Z11; VPSLLD $16, Z12, Z12; VPSLLD $16, Z13, Z13; \
	VFMADD231PS Z10, xz, a0; VFMADD231PS Z11, xz, a1; \
	VFMADD231PS Z12, xz, a2; VFMADD231PS Z13, xz, a3

// func gemv4F32AVX512(dst *float32, w *byte, stride int, x *float32, n int)
TEXT ·gemv4F32AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DI
	MOVQ n+32(FP), BX
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R11 // the next four rows, prefetched linearly
	ZERO8

loop32:
	CMPQ    BX, $32
	JL      loop16
	VMOVUPS (DI), Z8
	VMOVUPS 64(DI), Z9
	F32ROWS4(0, Z8, Z0, Z1, Z2, Z3)
	F32ROWS4(64, Z9, Z4, Z5, Z6, Z7)
	PREFETCHT1 (R11)
	PREFETCHT1 64(R11)
	PREFETCHT1 128(R11)
	PREFETCHT1 192(R11)
	PREFETCHT1 256(R11)
	PREFETCHT1 320(R11)
	PREFETCHT1 384(R11)
	PREFETCHT1 448(R11)
	ADDQ    $512, R11
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, BX
	JMP     loop32

loop16:
	CMPQ    BX, $16
	JL      tail
	VMOVUPS (DI), Z8
	F32ROWS4(0, Z8, Z0, Z1, Z2, Z3)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, BX

tail:
	TESTQ       BX, BX
	JZ          reduce
	TAILMASK
	VMOVUPS.Z   (DI), K1, Z8
	VMOVUPS.Z   (SI), K1, Z10
	VMOVUPS.Z   (SI)(R8*1), K1, Z11
	VMOVUPS.Z   (SI)(R8*2), K1, Z12
	VMOVUPS.Z   (SI)(R9*1), K1, Z13
	VFMADD231PS Z10, Z8, Z4
	VFMADD231PS Z11, Z8, Z5
	VFMADD231PS Z12, Z8, Z6
	VFMADD231PS Z13, Z8, Z7

reduce:
	REDUCE4
	VZEROUPPER
	RET

// func gemv4F16AVX512(dst *float32, w *byte, stride int, x *float32, n int)
TEXT ·gemv4F16AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DI
	MOVQ n+32(FP), BX
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R11 // the next four rows, prefetched linearly
	ZERO8

loop32:
	CMPQ    BX, $32
	JL      loop16
	VMOVUPS (DI), Z8
	VMOVUPS 64(DI), Z9
	F16ROWS4(0, Z8, Z0, Z1, Z2, Z3)
	F16ROWS4(32, Z9, Z4, Z5, Z6, Z7)
	PREFETCHT1 (R11)
	PREFETCHT1 64(R11)
	PREFETCHT1 128(R11)
	PREFETCHT1 192(R11)
	ADDQ    $256, R11
	ADDQ    $64, SI
	ADDQ    $128, DI
	SUBQ    $32, BX
	JMP     loop32

loop16:
	CMPQ    BX, $16
	JL      tail
	VMOVUPS (DI), Z8
	F16ROWS4(0, Z8, Z0, Z1, Z2, Z3)
	ADDQ    $32, SI
	ADDQ    $64, DI
	SUBQ    $16, BX

tail:
	TESTQ       BX, BX
	JZ          reduce
	TAILMASK
	VMOVUPS.Z   (DI), K1, Z8
	VCVTPH2PS.Z (SI), K1, Z10
	VCVTPH2PS.Z (SI)(R8*1), K1, Z11
	VCVTPH2PS.Z (SI)(R8*2), K1, Z12
	VCVTPH2PS.Z (SI)(R9*1), K1, Z13
	VFMADD231PS Z10, Z8, Z4
	VFMADD231PS Z11, Z8, Z5
	VFMADD231PS Z12, Z8, Z6
	VFMADD231PS Z13, Z8, Z7

reduce:
	REDUCE4
	VZEROUPPER
	RET

// func gemv4BF16AVX512(dst *float32, w *byte, stride int, x *float32, n int)
TEXT ·gemv4BF16AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DI
	MOVQ n+32(FP), BX
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R11 // the next four rows, prefetched linearly
	ZERO8

loop32:
	CMPQ    BX, $32
	JL      loop16
	VMOVUPS (DI), Z8
	VMOVUPS 64(DI), Z9
	BF16ROWS4(0, Z8, Z0, Z1, Z2, Z3)
	BF16ROWS4(32, Z9, Z4, Z5, Z6, Z7)
	PREFETCHT1 (R11)
	PREFETCHT1 64(R11)
	PREFETCHT1 128(R11)
	PREFETCHT1 192(R11)
	ADDQ    $256, R11
	ADDQ    $64, SI
	ADDQ    $128, DI
	SUBQ    $32, BX
	JMP     loop32

loop16:
	CMPQ    BX, $16
	JL      tail
	VMOVUPS (DI), Z8
	BF16ROWS4(0, Z8, Z0, Z1, Z2, Z3)
	ADDQ    $32, SI
	ADDQ    $64, DI
	SUBQ    $16, BX

tail:
	TESTQ       BX, BX
	JZ          reduce
	TAILMASK
	VMOVUPS.Z   (DI), K1, Z8
	VPMOVZXWD.Z (SI), K1, Z10
	VPMOVZXWD.Z (SI)(R8*1), K1, Z11
	VPMOVZXWD.Z (SI)(R8*2), K1, Z12
	VPMOVZXWD.Z (SI)(R9*1), K1, Z13
	VPSLLD      $16, Z10, Z10
	VPSLLD      $16, Z11, Z11
	VPSLLD      $16, Z12, Z12
	VPSLLD      $16, Z13, Z13
	VFMADD231PS Z10, Z8, Z4
	VFMADD231PS Z11, Z8, Z5
	VFMADD231PS Z12, Z8, Z6
	VFMADD231PS Z13, Z8, Z7

reduce:
	REDUCE4
	VZEROUPPER
	RET

// func dotF16AVX512(w *byte, x *float32, n int) float32
//
// One f16 row: Z0–Z3 accumulate 64 values per iteration; Z4–Z7: weights.
TEXT ·dotF16AVX512(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

loop64:
	CMPQ        BX, $64
	JL          loop16
	VCVTPH2PS   (SI), Z4
	VCVTPH2PS   32(SI), Z5
	VCVTPH2PS   64(SI), Z6
	VCVTPH2PS   96(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $128, SI
	ADDQ        $256, DI
	SUBQ        $64, BX
	JMP         loop64

loop16:
	CMPQ        BX, $16
	JL          tail
	VCVTPH2PS   (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $32, SI
	ADDQ        $64, DI
	SUBQ        $16, BX
	JMP         loop16

tail:
	TESTQ       BX, BX
	JZ          reduce
	TAILMASK
	VCVTPH2PS.Z (SI), K1, Z4
	VMOVUPS.Z   (DI), K1, Z5
	VFMADD231PS Z5, Z4, Z1

reduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUMTO(Z0, Y0, X0, Z1, Y1, X1, ret+24(FP))
	VZEROUPPER
	RET

// func dotBF16AVX512(w *byte, x *float32, n int) float32
TEXT ·dotBF16AVX512(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

loop64:
	CMPQ        BX, $64
	JL          loop16
	VPMOVZXWD   (SI), Z4
	VPMOVZXWD   32(SI), Z5
	VPMOVZXWD   64(SI), Z6
	VPMOVZXWD   96(SI), Z7
	VPSLLD      $16, Z4, Z4
	VPSLLD      $16, Z5, Z5
	VPSLLD      $16, Z6, Z6
	VPSLLD      $16, Z7, Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $128, SI
	ADDQ        $256, DI
	SUBQ        $64, BX
	JMP         loop64

loop16:
	CMPQ        BX, $16
	JL          tail
	VPMOVZXWD   (SI), Z4
	VPSLLD      $16, Z4, Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $32, SI
	ADDQ        $64, DI
	SUBQ        $16, BX
	JMP         loop16

tail:
	TESTQ       BX, BX
	JZ          reduce
	TAILMASK
	VPMOVZXWD.Z (SI), K1, Z4
	VPSLLD      $16, Z4, Z4
	VMOVUPS.Z   (DI), K1, Z5
	VFMADD231PS Z5, Z4, Z1

reduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUMTO(Z0, Y0, X0, Z1, Y1, X1, ret+24(FP))
	VZEROUPPER
	RET
