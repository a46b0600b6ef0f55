//go:build !noasm

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchISAs runs fn once per available path, installed with SetISA.
func benchISAs(b *testing.B, fn func(b *testing.B)) {
	orig := CurrentISA()
	defer SetISA(orig)
	for _, isa := range Available() {
		if isa == Generic {
			continue
		}
		if err := SetISA(isa); err != nil {
			b.Fatal(err)
		}
		b.Run(string(isa), fn)
	}
}

// BenchmarkGEMM measures prefill products (n = 512 activation rows) per
// SIMD path, weight format and thread count. GFLOP/cpu-s counts the CPU
// time of all threads, so it stays meaningful on a loaded machine: compare
// it with one core's peak (BenchmarkPeak).
func BenchmarkGEMM(b *testing.B) {
	benchISAs(b, func(b *testing.B) {
		for _, fname := range []string{"f32", "f16", "bf16"} {
			f, _ := FormatByName(fname)
			for _, sh := range [][2]int{{2048, 2048}, {5632, 2048}, {2048, 5632}} {
				rows, cols, n := sh[0], sh[1], 512
				rng := rand.New(rand.NewPCG(1, 1))
				m := &Matrix{Format: f, Rows: rows, Cols: cols, Data: randRows(rng, f, rows, cols)}
				x := randF32(rng, n*cols)
				dst := make([]float32, n*rows)
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/%dx%d/n=%d/t=%d", fname, rows, cols, n, threads), func(b *testing.B) {
						p := NewPool(threads)
						defer p.Close()
						benchProduct(b, func() { MatMul(p, dst, m, x, n) }, 2*float64(n*rows*cols), 0)
					})
				}
			}
		}
	})
}

// BenchmarkGEMV measures decode products (n = 1) on large matrices: GB/s of
// weight bytes, the quantity bounded by memory bandwidth.
func BenchmarkGEMV(b *testing.B) {
	benchISAs(b, func(b *testing.B) {
		for _, fname := range []string{"f32", "f16", "bf16"} {
			f, _ := FormatByName(fname)
			for _, sh := range [][2]int{{5632, 2048}, {2048, 5632}, {32000, 2048}} {
				rows, cols := sh[0], sh[1]
				rng := rand.New(rand.NewPCG(1, 1))
				m := &Matrix{Format: f, Rows: rows, Cols: cols, Data: randRows(rng, f, rows, cols)}
				x := randF32(rng, cols)
				dst := make([]float32, rows)
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/%dx%d/t=%d", fname, rows, cols, threads), func(b *testing.B) {
						p := NewPool(threads)
						defer p.Close()
						benchProduct(b, func() { MatMul(p, dst, m, x, 1) }, 2*float64(rows*cols), float64(len(m.Data)))
					})
				}
			}
		}
	})
}

// benchProduct runs fn b.N times and reports GFLOP/s (wall), GFLOP/cpu-s
// and, when bytes > 0, GB/s of weights (wall) and GB/cpu-s.
func benchProduct(b *testing.B, fn func(), flops, bytes float64) {
	cpu0 := processCPU()
	for b.Loop() {
		fn()
	}
	cpu := (processCPU() - cpu0).Seconds() / float64(b.N)
	sec := b.Elapsed().Seconds() / float64(b.N)
	if flops > 0 {
		b.ReportMetric(flops/sec/1e9, "GFLOP/s")
		if cpu > 0 {
			b.ReportMetric(flops/cpu/1e9, "GFLOP/cpu-s")
		}
	}
	if bytes > 0 {
		b.ReportMetric(bytes/sec/1e9, "GB/s")
		if cpu > 0 {
			b.ReportMetric(bytes/cpu/1e9, "GB/cpu-s")
		}
	}
}

// BenchmarkPeak measures this machine's limits that the GEMM and GEMV
// benchmarks are reported against: the FMA throughput of one core
// (GFLOP/cpu-s of 12 independent FMA chains, AVX2 and AVX-512) and the
// read bandwidth from memory of 1 and 2 threads (a Dot of a 256 MiB
// vector with itself: one stream, every line read once).
func BenchmarkPeak(b *testing.B) {
	const iters = 1 << 20
	for _, c := range []struct {
		name  string
		isa   ISA
		fn    func(int)
		lanes int
	}{{"fma/avx2", AVX2, fmaPeakAVX2, 8}, {"fma/avx512", AVX512, fmaPeakAVX512, 16}} {
		b.Run(c.name, func(b *testing.B) {
			if checkISA(c.isa) != nil {
				b.Skip("not available")
			}
			benchProduct(b, func() { c.fn(iters) }, float64(iters*12*2*c.lanes), 0)
		})
	}
	if checkISA(AVX512) != nil {
		return
	}
	a := make([]float32, 64<<20)
	for i := range a {
		a[i] = 1
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("read/t=%d", threads), func(b *testing.B) {
			p := NewPool(threads)
			defer p.Close()
			const chunk = 1 << 20
			benchProduct(b, func() {
				p.Run(len(a)/chunk, func(_, t int) {
					s := a[t*chunk : (t+1)*chunk]
					dotAVX512(&s[0], &s[0], chunk)
				})
			}, 0, float64(4*len(a)))
		})
	}
}

// BenchmarkOpsISA runs the vector ops of BenchmarkOps on 4096 floats under
// every available path, generic included, for the speedups of the SIMD
// bodies; cpu-ns/op is the CPU time per call (robust to a loaded machine).
func BenchmarkOpsISA(b *testing.B) {
	const n = 4096
	rng := rand.New(rand.NewPCG(2, 2))
	x, y, w := randF32(rng, n), randF32(rng, n), randF32(rng, n)
	h := make([]uint16, n)
	F32ToF16(h, x)
	out := make([]float32, n)
	tab, _ := NewRoPETable(128, 16, 10000, AnglesGGML)
	var sink float32
	orig := CurrentISA()
	defer SetISA(orig)
	for _, c := range []struct {
		name string
		fn   func()
	}{
		{"Dot", func() { sink += Dot(x, y) }},
		{"Axpy", func() { Axpy(1e-9, x, out) }},
		{"Scale", func() { Scale(1, out) }},
		{"Add", func() { Add(out, x) }},
		{"Mul", func() { Mul(out, w) }},
		{"RMSNorm", func() { RMSNorm(out, x, w, 1e-5) }},
		{"Softmax", func() { copy(out, x); Softmax(out) }},
		{"SiLUMul", func() { copy(out, x); SiLUMul(out, y) }},
		{"RoPEInterleaved", func() { RoPEInterleaved(out, tab, 7) }},
		{"RoPENeoX", func() { RoPENeoX(out, tab, 7) }},
		{"F16ToF32", func() { F16ToF32(out, h) }},
		{"BF16ToF32", func() { BF16ToF32(out, h) }},
		{"F32ToF16", func() { F32ToF16(h, x) }},
		{"F32ToBF16", func() { F32ToBF16(h, x) }},
	} {
		for _, isa := range Available() {
			b.Run(c.name+"/"+string(isa), func(b *testing.B) {
				if err := SetISA(isa); err != nil {
					b.Fatal(err)
				}
				cpu0 := processCPU()
				for b.Loop() {
					c.fn()
				}
				b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
	_ = sink
}
