//go:build !noasm

#include "textflag.h"

// AVX2 + FMA + F16C row kernels of the float weight formats: the dot of one
// f16 or bf16 row with float32 activations, and the GEMV hook computing
// four rows (f32, f16 or bf16) per pass over x. They process the first
// n&^7 elements; the Go wrappers (format_float_amd64.go) add the rest.
//
// Register plan of the GEMV bodies: SI: row 0 (rows 1–3 at SI + R8, 2·R8,
// R9 = 3·R8, R8 = stride in bytes), DI: x, DX: dst, BX: elements left;
// Y0–Y3: the four rows' sums of even 8-blocks, Y4–Y7: of odd ones;
// Y8, Y9: x; Y10–Y13: the widened weights. While a pass reads four rows,
// it prefetches the next four into L2 (R11) in address order, as many
// lines per iteration as it reads (format_float_avx512_amd64.s says why).

// HSUM8TO stores at to the sum of the 8 floats of y (x: its xmm; xt: a
// temporary xmm).
#define HSUM8TO(y, x, xt, to) \
	VEXTRACTF128 $1, y, xt; VADDPS xt, x, x; \
	VPERMILPS $0x4E, x, xt; VADDPS xt, x, x; \
	VPERMILPS $0xB1, x, xt; VADDPS xt, x, x; \
	VMOVSS x, to

#define ZERO8 \
	VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; VXORPS Y5, Y5, Y5; VXORPS Y6, Y6, Y6; VXORPS Y7, Y7, Y7

#define REDUCE4 \
	VADDPS Y4, Y0, Y0; VADDPS Y5, Y1, Y1; VADDPS Y6, Y2, Y2; VADDPS Y7, Y3, Y3; \
	HSUM8TO(Y0, X0, X10, (DX)); HSUM8TO(Y1, X1, X11, 4(DX)); \
	HSUM8TO(Y2, X2, X12, 8(DX)); HSUM8TO(Y3, X3, X13, 12(DX))

#define F32ROWS4(off, xy, a0, a1, a2, a3) \
	VFMADD231PS off(SI), xy, a0; VFMADD231PS off(SI)(R8*1), xy, a1; \
	VFMADD231PS off(SI)(R8*2), xy, a2; VFMADD231PS off(SI)(R9*1), xy, a3

#define F16ROWS4(off, xy, a0, a1, a2, a3) \
	VCVTPH2PS off(SI), Y10; VCVTPH2PS off(SI)(R8*1), Y11; \
	VCVTPH2PS off(SI)(R8*2), Y12; VCVTPH2PS off(SI)(R9*1), Y13; \
	VFMADD231PS Y10, xy, a0; VFMADD231PS Y11, xy, a1; \
	VFMADD231PS Y12, xy, a2; VFMADD231PS Y13, xy, a3

#define BF16ROWS4(off, xy, a0, a1, a2, a3) \
	VPMOVZXWD off(SI), Y10; VPMOVZXWD off(SI)(R8*1), Y11; \
	VPMOVZXWD off(SI)(R8*2), Y12; VPMOVZXWD off(SI)(R9*1), Y13; \
	VPSLLD $16, Y10, Y10; VPSLLD $16, Y11, Y11; VPSLLD $16, Y12, Y12; VPSLLD $16, Y13, Y13; \
	VFMADD231PS Y10, xy, a0; VFMADD231PS Y11, xy, a1; \
	VFMADD231PS Y12, xy, a2; VFMADD231PS Y13, xy, a3

// func gemv4F32AVX2(dst *float32, w *byte, stride int, x *float32, n int)
TEXT ·gemv4F32AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DI
	MOVQ n+32(FP), BX
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R11 // the next four rows, prefetched linearly
	ZERO8

loop16:
	CMPQ    BX, $16
	JL      loop8
	VMOVUPS (DI), Y8
	VMOVUPS 32(DI), Y9
	F32ROWS4(0, Y8, Y0, Y1, Y2, Y3)
	F32ROWS4(32, Y9, Y4, Y5, Y6, Y7)
	PREFETCHT1 (R11)
	PREFETCHT1 64(R11)
	PREFETCHT1 128(R11)
	PREFETCHT1 192(R11)
	ADDQ    $256, R11
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, BX
	JMP     loop16

loop8:
	CMPQ    BX, $8
	JL      reduce
	VMOVUPS (DI), Y8
	F32ROWS4(0, Y8, Y0, Y1, Y2, Y3)

reduce:
	REDUCE4
	VZEROUPPER
	RET

// func gemv4F16AVX2(dst *float32, w *byte, stride int, x *float32, n int)
TEXT ·gemv4F16AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DI
	MOVQ n+32(FP), BX
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R11 // the next four rows, prefetched linearly
	ZERO8

loop16:
	CMPQ    BX, $16
	JL      loop8
	VMOVUPS (DI), Y8
	VMOVUPS 32(DI), Y9
	F16ROWS4(0, Y8, Y0, Y1, Y2, Y3)
	F16ROWS4(16, Y9, Y4, Y5, Y6, Y7)
	PREFETCHT1 (R11)
	PREFETCHT1 64(R11)
	ADDQ    $128, R11
	ADDQ    $32, SI
	ADDQ    $64, DI
	SUBQ    $16, BX
	JMP     loop16

loop8:
	CMPQ    BX, $8
	JL      reduce
	VMOVUPS (DI), Y8
	F16ROWS4(0, Y8, Y0, Y1, Y2, Y3)

reduce:
	REDUCE4
	VZEROUPPER
	RET

// func gemv4BF16AVX2(dst *float32, w *byte, stride int, x *float32, n int)
TEXT ·gemv4BF16AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DX
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ x+24(FP), DI
	MOVQ n+32(FP), BX
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R11 // the next four rows, prefetched linearly
	ZERO8

loop16:
	CMPQ    BX, $16
	JL      loop8
	VMOVUPS (DI), Y8
	VMOVUPS 32(DI), Y9
	BF16ROWS4(0, Y8, Y0, Y1, Y2, Y3)
	BF16ROWS4(16, Y9, Y4, Y5, Y6, Y7)
	PREFETCHT1 (R11)
	PREFETCHT1 64(R11)
	ADDQ    $128, R11
	ADDQ    $32, SI
	ADDQ    $64, DI
	SUBQ    $16, BX
	JMP     loop16

loop8:
	CMPQ    BX, $8
	JL      reduce
	VMOVUPS (DI), Y8
	BF16ROWS4(0, Y8, Y0, Y1, Y2, Y3)

reduce:
	REDUCE4
	VZEROUPPER
	RET

// func dotF16AVX2(w *byte, x *float32, n int) float32
//
// One f16 row over whole vectors: Y0–Y3 accumulate 32 values per
// iteration; Y4–Y7: weights.
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ        BX, $32
	JL          loop8
	VCVTPH2PS   (SI), Y4
	VCVTPH2PS   16(SI), Y5
	VCVTPH2PS   32(SI), Y6
	VCVTPH2PS   48(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	SUBQ        $32, BX
	JMP         loop32

loop8:
	CMPQ        BX, $8
	JL          reduce
	VCVTPH2PS   (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $16, SI
	ADDQ        $32, DI
	SUBQ        $8, BX
	JMP         loop8

reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8TO(Y0, X0, X1, ret+24(FP))
	VZEROUPPER
	RET

// func dotBF16AVX2(w *byte, x *float32, n int) float32
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ        BX, $32
	JL          loop8
	VPMOVZXWD   (SI), Y4
	VPMOVZXWD   16(SI), Y5
	VPMOVZXWD   32(SI), Y6
	VPMOVZXWD   48(SI), Y7
	VPSLLD      $16, Y4, Y4
	VPSLLD      $16, Y5, Y5
	VPSLLD      $16, Y6, Y6
	VPSLLD      $16, Y7, Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	SUBQ        $32, BX
	JMP         loop32

loop8:
	CMPQ        BX, $8
	JL          reduce
	VPMOVZXWD   (SI), Y4
	VPSLLD      $16, Y4, Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $16, SI
	ADDQ        $32, DI
	SUBQ        $8, BX
	JMP         loop8

reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8TO(Y0, X0, X1, ret+24(FP))
	VZEROUPPER
	RET
