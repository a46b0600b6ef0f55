package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// The quantized-format benchmarks on TinyLlama-1.1B shapes (dim 2048, ffn
// 5632, 22 layers, GQA 32/4, vocab 32000), the model ENGINE-NOTES §1.5
// measures llama.cpp on.
//
// BenchmarkQuantDecode runs the matrix products of one decoded token (every
// layer's q, k, v, o, gate, up, down and the output matrix, each a GEMV) and
// reports tok/s (matrix time only) and the weight bytes streamed per second.
// The weights are distinct per layer, as in a real model (about 1.2 GB for
// q8_0), so they stream from DRAM. BenchmarkQuantPrefill runs one layer's
// products for 128 tokens and reports tok/s (×22 layers) and GOPS.
//
// DIVERGO_BENCH_FORMATS (comma-separated) restricts the formats.

type tinyMatrix struct {
	name       string
	rows, cols int
}

var tinyLayer = []tinyMatrix{
	{"q", 2048, 2048}, {"k", 256, 2048}, {"v", 256, 2048}, {"o", 2048, 2048},
	{"gate", 5632, 2048}, {"up", 5632, 2048}, {"down", 2048, 5632},
}

const tinyLayers = 22

func benchFormats() []string {
	if s := os.Getenv("DIVERGO_BENCH_FORMATS"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k", "int8", "int4:g128", "int4:g32:asym"}
}

// tinyWeights returns the matrices of layers layers of format f: one random
// matrix per shape, copied to every layer (distinct memory, valid scales).
func tinyWeights(f *Format, layers int) [][]*Matrix {
	rng := rand.New(rand.NewPCG(3, 3))
	out := make([][]*Matrix, layers)
	for _, sh := range tinyLayer {
		data := randRows(rng, f, sh.rows, sh.cols)
		for l := range out {
			d := data
			if l > 0 {
				d = append([]byte(nil), data...)
			}
			out[l] = append(out[l], &Matrix{Format: f, Rows: sh.rows, Cols: sh.cols, Data: d})
		}
	}
	return out
}

func BenchmarkQuantDecode(b *testing.B) {
	for _, name := range benchFormats() {
		f, err := FormatByName(name)
		if err != nil {
			b.Fatal(err)
		}
		layers := tinyWeights(f, tinyLayers)
		out := &Matrix{Format: f, Rows: 32000, Cols: 2048, Data: randRows(rand.New(rand.NewPCG(4, 4)), f, 32000, 2048)}
		var bytes int
		for _, l := range layers {
			for _, m := range l {
				bytes += len(m.Data)
			}
		}
		bytes += len(out.Data)
		x := randF32(rand.New(rand.NewPCG(5, 5)), 5632)
		dst := make([]float32, 32000)
		for _, a8 := range []bool{false, true} {
			for _, threads := range []int{1, 2} {
				label := fmt.Sprintf("%s/a8=%v/t=%d", name, a8, threads)
				b.Run(label, func(b *testing.B) {
					p := NewPool(threads)
					defer p.Close()
					setA8 := func(m *Matrix) { m.A8 = a8 }
					for _, l := range layers {
						for _, m := range l {
							setA8(m)
						}
					}
					setA8(out)
					cpu0 := processCPU()
					for b.Loop() {
						for _, l := range layers {
							for _, m := range l {
								MatMul(p, dst[:m.Rows], m, x[:m.Cols], 1)
							}
						}
						MatMul(p, dst, out, x[:2048], 1)
					}
					sec := b.Elapsed().Seconds() / float64(b.N)
					cpu := (processCPU() - cpu0).Seconds() / float64(b.N)
					b.ReportMetric(1/sec, "tok/s")
					b.ReportMetric(float64(bytes)/sec/1e9, "GB/s")
					if cpu > 0 {
						// per CPU-second of all threads: what one core
						// streams when it is not shared (robust to load)
						b.ReportMetric(float64(bytes)/cpu/1e9, "GB/cpu-s")
					}
				})
			}
		}
	}
}

func BenchmarkQuantPrefill(b *testing.B) {
	const n = 128
	for _, name := range benchFormats() {
		f, err := FormatByName(name)
		if err != nil {
			b.Fatal(err)
		}
		layer := tinyWeights(f, 1)[0]
		var ops float64
		for _, m := range layer {
			ops += 2 * float64(n*m.Rows*m.Cols)
		}
		x := randF32(rand.New(rand.NewPCG(6, 6)), n*5632)
		dst := make([]float32, n*5632)
		for _, a8 := range []bool{false, true} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/a8=%v/t=%d", name, a8, threads), func(b *testing.B) {
					p := NewPool(threads)
					defer p.Close()
					for _, m := range layer {
						m.A8 = a8
					}
					cpu0 := processCPU()
					for b.Loop() {
						for _, m := range layer {
							MatMul(p, dst[:n*m.Rows], m, x[:n*m.Cols], n)
						}
					}
					sec := b.Elapsed().Seconds() / float64(b.N)
					cpu := (processCPU() - cpu0).Seconds() / float64(b.N)
					b.ReportMetric(n/(sec*tinyLayers), "tok/s")
					b.ReportMetric(ops/sec/1e9, "GOPS")
					if cpu > 0 {
						b.ReportMetric(ops/cpu/1e9, "GOP/cpu-s")
					}
				})
			}
		}
	}
}

// BenchmarkQuantRows measures the row kernels on a 256×2048 matrix that
// stays in L2, so memory bandwidth is out of the picture: GB/s of weight
// bytes (activation floats for the quantizers) per CPU-second, the rate one
// core computes at. gemv/gemvAct are the GEMV hooks, dequant the decoder
// behind the GEMM packing, quantize the activation quantizer.
func BenchmarkQuantRows(b *testing.B) {
	for _, name := range benchFormats() {
		f, err := FormatByName(name)
		if err != nil {
			b.Fatal(err)
		}
		const rows, cols = 256, 2048
		data := randRows(rand.New(rand.NewPCG(7, 7)), f, rows, cols)
		x := randF32(rand.New(rand.NewPCG(8, 8)), cols)
		xq := make([]byte, f.Act.RowBytes(cols))
		f.Act.Quantize(xq, x)
		dst := make([]float32, rows*cols)
		rb := f.RowBytes(cols)
		for _, c := range []struct {
			op    string
			bytes int
			fn    func()
		}{
			{"gemvAct", len(data), func() { f.body.gemvAct(dst[:rows], data, rb, xq, cols) }},
			{"gemv", len(data), func() { f.body.gemv(dst[:rows], data, rb, x) }},
			{"dequant", len(data), func() {
				for r := 0; r < rows; r++ {
					f.Dequant(dst[r*cols:(r+1)*cols], data[r*rb:])
				}
			}},
			{"quantize", 4 * cols, func() { f.Act.Quantize(xq, x) }},
		} {
			b.Run(name+"/"+c.op, func(b *testing.B) {
				cpu0 := processCPU()
				for b.Loop() {
					c.fn()
				}
				if cpu := (processCPU() - cpu0).Seconds(); cpu > 0 {
					b.ReportMetric(float64(c.bytes)*float64(b.N)/cpu/1e9, "GB/cpu-s")
				}
			})
		}
	}
}
