//go:build !noasm

package kernels

import "unsafe"

// The amd64 row kernels of the float formats: f16 and bf16 row dots, and
// the GEMV hook of f32, f16 and bf16 computing four rows per pass over x,
// so that x is loaded once per four weight rows and decode runs at memory
// bandwidth. Dequant and decode go through the installed conversions
// (F16ToF32, BF16ToF32), and f32's Dot through the installed Dot.

var _ = registerFormat(AVX2, "f32", func(f *Format, t *formatTable) {
	t.gemv = gemvFloatAVX2(4, gemv4F32AVX2, dotF32RowAVX2, tailF32)
})

var _ = registerFormat(AVX2, "f16", func(f *Format, t *formatTable) {
	t.dot = dotF16RowAVX2
	t.gemv = gemvFloatAVX2(2, gemv4F16AVX2, dotF16RowAVX2, tailF16)
})

var _ = registerFormat(AVX2, "bf16", func(f *Format, t *formatTable) {
	t.dot = dotBF16RowAVX2
	t.gemv = gemvFloatAVX2(2, gemv4BF16AVX2, dotBF16RowAVX2, tailBF16)
})

var _ = registerFormat(AVX512, "f32", func(f *Format, t *formatTable) {
	t.gemv = gemvFloatAVX512(4, gemv4F32AVX512, dotF32RowAVX512)
})

var _ = registerFormat(AVX512, "f16", func(f *Format, t *formatTable) {
	t.dot = dotF16RowAVX512
	t.gemv = gemvFloatAVX512(2, gemv4F16AVX512, dotF16AVX512)
})

var _ = registerFormat(AVX512, "bf16", func(f *Format, t *formatTable) {
	t.dot = dotBF16RowAVX512
	t.gemv = gemvFloatAVX512(2, gemv4BF16AVX512, dotBF16AVX512)
})

// gemvFloatAVX512 returns the GEMV hook of a float format of es bytes per
// value: four rows at a time by gemv4, the last 0–3 by dot.
func gemvFloatAVX512(es int, gemv4 func(dst *float32, w *byte, stride int, x *float32, n int),
	dot func(w *byte, x *float32, n int) float32) func(dst []float32, w []byte, stride int, x []float32) {
	return func(dst []float32, w []byte, stride int, x []float32) {
		rows, n := len(dst), len(x)
		if rows == 0 {
			return
		}
		if n == 0 {
			clear(dst)
			return
		}
		if stride < es*n {
			panic("kernels: gemv: row stride shorter than a row")
		}
		_ = w[(rows-1)*stride+es*n-1]
		i := 0
		for ; i+4 <= rows; i += 4 {
			gemv4(&dst[i], &w[i*stride], stride, &x[0], n)
		}
		for ; i < rows; i++ {
			dst[i] = dot(&w[i*stride], &x[0], n)
		}
	}
}

func dotF32RowAVX512(w *byte, x *float32, n int) float32 {
	return dotAVX512((*float32)(unsafe.Pointer(w)), x, n)
}

func dotF16RowAVX512(w []byte, x []float32) float32 {
	n := len(x)
	if n == 0 {
		return 0
	}
	_ = w[2*n-1]
	return dotF16AVX512(&w[0], &x[0], n)
}

func dotBF16RowAVX512(w []byte, x []float32) float32 {
	n := len(x)
	if n == 0 {
		return 0
	}
	_ = w[2*n-1]
	return dotBF16AVX512(&w[0], &x[0], n)
}

// gemvFloatAVX2 is gemvFloatAVX512 for the AVX2 bodies, which stop at
// n&^7: the rest of each row is added here.
func gemvFloatAVX2(es int, gemv4 func(dst *float32, w *byte, stride int, x *float32, n int),
	dot func(w []byte, x []float32) float32, tail func(w []byte, x []float32, from int) float32) func(dst []float32, w []byte, stride int, x []float32) {
	return func(dst []float32, w []byte, stride int, x []float32) {
		rows, n := len(dst), len(x)
		if rows == 0 {
			return
		}
		if n == 0 {
			clear(dst)
			return
		}
		if stride < es*n {
			panic("kernels: gemv: row stride shorter than a row")
		}
		_ = w[(rows-1)*stride+es*n-1]
		v := n &^ 7
		i := 0
		if v > 0 {
			for ; i+4 <= rows; i += 4 {
				gemv4(&dst[i], &w[i*stride], stride, &x[0], v)
				for r := i; r < i+4; r++ {
					dst[r] += tail(w[r*stride:], x, v)
				}
			}
		}
		for ; i < rows; i++ {
			dst[i] = dot(w[i*stride:], x)
		}
	}
}

// tailF32, tailF16 and tailBF16 return Σ w[k]·x[k] for k in [from, len(x))
// of a row of float32, f16 or bf16 values.
func tailF32(w []byte, x []float32, from int) float32 {
	var s float32
	for k := from; k < len(x); k++ {
		s += f32le(w[4*k:]) * x[k]
	}
	return s
}

func tailF16(w []byte, x []float32, from int) float32 {
	var s float32
	for k := from; k < len(x); k++ {
		s += half(w[2*k:]) * x[k]
	}
	return s
}

func tailBF16(w []byte, x []float32, from int) float32 {
	var s float32
	for k := from; k < len(x); k++ {
		s += bf16ToF32(le16(w[2*k:])) * x[k]
	}
	return s
}

func dotF32RowAVX2(w []byte, x []float32) float32 { return dotBodyAVX2(rowF32(w, len(x)), x) }

func dotF16RowAVX2(w []byte, x []float32) float32 {
	n := len(x)
	_ = w[:2*n]
	var s float32
	if v := n &^ 7; v > 0 {
		s = dotF16AVX2(&w[0], &x[0], v)
	}
	return s + tailF16(w, x, n&^7)
}

func dotBF16RowAVX2(w []byte, x []float32) float32 {
	n := len(x)
	_ = w[:2*n]
	var s float32
	if v := n &^ 7; v > 0 {
		s = dotBF16AVX2(&w[0], &x[0], v)
	}
	return s + tailBF16(w, x, n&^7)
}

// Assembly, format_float_avx512_amd64.s.

//go:noescape
func gemv4F32AVX512(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func gemv4F16AVX512(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func gemv4BF16AVX512(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func dotF16AVX512(w *byte, x *float32, n int) float32

//go:noescape
func dotBF16AVX512(w *byte, x *float32, n int) float32

// Assembly, format_float_avx2_amd64.s.

//go:noescape
func gemv4F32AVX2(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func gemv4F16AVX2(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func gemv4BF16AVX2(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func dotF16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func dotBF16AVX2(w *byte, x *float32, n int) float32
