package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMatMul measures the product of n activation rows with a Rows×Cols
// weight matrix: n = 1 is a decode GEMV, n = 512 a prefill GEMM. Reported:
// GFLOP/s (2·n·Rows·Cols per op) and GB/s of weight bytes.
func BenchmarkMatMul(b *testing.B) {
	shapes := [][2]int{{768, 768}, {2048, 5632}}
	for _, fname := range []string{"f32", "f16", "q8_0", "q4_0", "q4_k"} {
		f, _ := FormatByName(fname)
		for _, sh := range shapes {
			rows, cols := sh[0], sh[1]
			rng := rand.New(rand.NewPCG(1, 1))
			data := randRows(rng, f, rows, cols)
			for _, a8 := range []bool{false, true} {
				if a8 && f.Act == nil {
					continue
				}
				m := &Matrix{Format: f, Rows: rows, Cols: cols, Data: data, A8: a8}
				for _, n := range []int{1, 512} {
					x := randF32(rng, n*cols)
					dst := make([]float32, n*rows)
					for _, threads := range []int{1, 2} {
						label := fmt.Sprintf("%s/%dx%d/n=%d/t=%d", fname, rows, cols, n, threads)
						if a8 {
							label = fmt.Sprintf("%s+a8/%dx%d/n=%d/t=%d", fname, rows, cols, n, threads)
						}
						b.Run(label, func(b *testing.B) {
							p := NewPool(threads)
							defer p.Close()
							cpu0 := processCPU()
							for b.Loop() {
								MatMul(p, dst, m, x, n)
							}
							cpu := (processCPU() - cpu0).Seconds() / float64(b.N)
							sec := b.Elapsed().Seconds() / float64(b.N)
							b.ReportMetric(2*float64(n*rows*cols)/sec/1e9, "GFLOP/s")
							b.ReportMetric(float64(len(data))/sec/1e9, "GB/s")
							if cpu > 0 {
								// per CPU-second of all threads: robust to a
								// loaded machine, comparable across runs
								b.ReportMetric(2*float64(n*rows*cols)/cpu/1e9, "GFLOP/cpu-s")
							}
						})
					}
				}
			}
		}
	}
}

// BenchmarkOps measures the vector ops on 4096 floats (GB/s of input read).
func BenchmarkOps(b *testing.B) {
	const n = 4096
	rng := rand.New(rand.NewPCG(2, 2))
	x, y, w := randF32(rng, n), randF32(rng, n), randF32(rng, n)
	h := make([]uint16, n)
	F32ToF16(h, x)
	out := make([]float32, n)
	tab, _ := NewRoPETable(128, 16, 10000, AnglesGGML)
	q8 := make([]byte, actQ8_0.RowBytes(n))
	qK := make([]byte, actQ8K.RowBytes(n))
	var sink float32
	for _, c := range []struct {
		name  string
		bytes int
		fn    func()
	}{
		{"Dot", 8 * n, func() { sink += Dot(x, y) }},
		{"Axpy", 8 * n, func() { Axpy(1e-9, x, out) }},
		{"Scale", 4 * n, func() { Scale(1, out) }},
		{"Add", 8 * n, func() { Add(out, x) }},
		{"RMSNorm", 8 * n, func() { RMSNorm(out, x, w, 1e-5) }},
		{"Softmax", 4 * n, func() { copy(out, x); Softmax(out) }},
		{"SiLUMul", 8 * n, func() { copy(out, x); SiLUMul(out, y) }},
		{"RoPEInterleaved", 4 * n, func() { RoPEInterleaved(out, tab, 7) }},
		{"RoPENeoX", 4 * n, func() { RoPENeoX(out, tab, 7) }},
		{"F16ToF32", 2 * n, func() { F16ToF32(out, h) }},
		{"F32ToF16", 4 * n, func() { F32ToF16(h, x) }},
		{"QuantizeQ8_0", 4 * n, func() { actQ8_0.Quantize(q8, x) }},
		{"QuantizeQ8_K", 4 * n, func() { actQ8K.Quantize(qK, x) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(c.bytes))
			for b.Loop() {
				c.fn()
			}
		})
	}
	_ = sink
}
