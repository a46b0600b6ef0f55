//go:build !noasm

package kernels

// NEON row kernels of the float weight formats (float_neon_arm64.s): four
// rows (or one) of f32, f16 or bf16 per pass over the activation row, the
// weights widened in registers (FCVTL for f16, a 16-bit shift for bf16)
// and multiplied-added into two accumulators per row. The assembly takes a
// multiple of 4 values; the last n mod 4 are added here.

//go:noescape
func gemvF32x1NEON(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func gemvF32x4NEON(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func gemvF16x1NEON(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func gemvF16x4NEON(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func gemvBF16x1NEON(dst *float32, w *byte, stride int, x *float32, n int)

//go:noescape
func gemvBF16x4NEON(dst *float32, w *byte, stride int, x *float32, n int)

// A floatRows kernel writes dst[r] = Σ_i w_r[i]·x[i] for its rows w_r =
// w + r·stride and n (multiple of 4) values.
type floatRows func(dst *float32, w *byte, stride int, x *float32, n int)

var (
	_ = registerFormat(NEON, "f32", func(f *Format, t *formatTable) {
		installFloatRows(t, gemvF32x4NEON, gemvF32x1NEON, 4, f32le)
	})
	_ = registerFormat(NEON, "f16", func(f *Format, t *formatTable) {
		installFloatRows(t, gemvF16x4NEON, gemvF16x1NEON, 2, half)
	})
	_ = registerFormat(NEON, "bf16", func(f *Format, t *formatTable) {
		installFloatRows(t, gemvBF16x4NEON, gemvBF16x1NEON, 2, func(b []byte) float32 { return bf16ToF32(le16(b)) })
	})
)

// installFloatRows sets the gemv hook and the row dot of a float format
// with size bytes per value, val decoding one value.
func installFloatRows(t *formatTable, k4, k1 floatRows, size int, val func([]byte) float32) {
	gemv := func(dst []float32, w []byte, stride int, x []float32) {
		rows, n := len(dst), len(x)
		if rows == 0 {
			return
		}
		if n == 0 {
			clear(dst)
			return
		}
		_ = w[(rows-1)*stride+n*size-1]
		m := n &^ 3
		if m > 0 {
			i := 0
			for ; i+4 <= rows; i += 4 {
				k4(&dst[i], &w[i*stride], stride, &x[0], m)
			}
			for ; i < rows; i++ {
				k1(&dst[i], &w[i*stride], stride, &x[0], m)
			}
		} else {
			clear(dst)
		}
		for i := range dst {
			row := w[i*stride:]
			for j := m; j < n; j++ {
				dst[i] += val(row[j*size:]) * x[j]
			}
		}
	}
	t.gemv = gemv
	t.dot = func(w []byte, x []float32) float32 {
		var d [1]float32
		gemv(d[:], w, 0, x)
		return d[0]
	}
}
