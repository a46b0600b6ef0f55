package cuda_test

// Tests that need an NVIDIA GPU, the CUDA libraries and a binary built
// with -tags cuda; elsewhere they skip, saying why. docs/gpu.md has the
// recipe: cross-compile this package's tests with
//
//	CGO_ENABLED=0 go test -tags cuda -c -o cuda.test ./kernels/cuda
//
// carry cuda.test to the GPU machine and run `./cuda.test -test.v
// -test.run GPU`.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/kernels/cuda"
	"github.com/divergo/divergo/quant"
)

// openGPU opens the backend or skips the test with Open's reason.
func openGPU(t testing.TB, o cuda.Options) *cuda.Backend {
	t.Helper()
	if o.OnError == nil {
		o.OnError = func(err error) { t.Errorf("GPU failure: %v", err) }
	}
	b, err := cuda.Open(o)
	if err != nil {
		t.Skipf("no GPU path: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	t.Logf("%s", b.Device())
	return b
}

// withBackend runs fn with b installed in kernels.
func withBackend(b kernels.Backend, fn func()) {
	prev := kernels.SetBackend(b)
	defer kernels.SetBackend(prev)
	fn()
}

func randVals(n int, seed uint64, std float64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 5))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(std * rng.NormFloat64())
	}
	return v
}

// TestGPUMatMul compares GPU products with the CPU's on TinyLlama's and
// Llama-2-7B's matrix shapes in every kind of format, on a sample of
// outputs, within the roundings the GPU path adds (see
// TestMatMulAgainstCPU) plus the CPU's own.
func TestGPUMatMul(t *testing.T) {
	b := openGPU(t, cuda.Options{MinWork: -1})
	pool := kernels.NewPool(0)
	defer pool.Close()
	shapes := [][2]int{{2048, 2048}, {5632, 2048}, {2048, 5632}, {32000, 2048}}
	if testing.Short() {
		shapes = shapes[:2]
	}
	for _, spec := range []string{"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k", "int4:g128", "int8:row"} {
		for _, sh := range shapes {
			rows, cols := sh[0], sh[1]
			t.Run(fmt.Sprintf("%s/%dx%d", spec, rows, cols), func(t *testing.T) {
				s, _ := quant.ParseSpec(spec)
				w, err := quant.Quantize(s, "test", rows, cols, randVals(rows*cols, 1, 0.02))
				if err != nil {
					t.Fatal(err)
				}
				const n = 77
				x := randVals(n*cols, 2, 1)
				cpu := make([]float32, n*rows)
				kernels.MatMul(pool, cpu, w, x, n)
				gpu := make([]float32, n*rows)
				before := b.Stats().Products
				withBackend(b, func() { kernels.MatMul(pool, gpu, w, x, n) })
				if b.Stats().Products != before+1 {
					t.Fatalf("the GPU did not take the product: %+v, %v", b.Stats(), b.Err())
				}
				rel := 1e-5 // float32 weights; f16/bf16 with two activation terms
				switch spec {
				case "bf16":
					rel = 1.0 / (1 << 15)
				case "f32", "f16":
				default:
					rel = 1.0 / (1 << 10) // decoded to float16
				}
				worst := 0.0
				rng := rand.New(rand.NewPCG(3, 4))
				row := make([]float32, cols)
				rb := w.RowBytes()
				for range 512 {
					i, r := rng.IntN(n), rng.IntN(rows)
					w.Format.Dequant(row, w.Data[r*rb:(r+1)*rb])
					var mag float64
					for c, v := range row {
						mag += math.Abs(float64(v) * float64(x[i*cols+c]))
					}
					e := math.Abs(float64(gpu[i*rows+r])-float64(cpu[i*rows+r])) / mag
					worst = max(worst, e)
					if !(e <= rel) {
						t.Fatalf("out[%d][%d]: GPU %g, CPU %g: error %.3g of Σ|w·x|, allowed %.3g", i, r, gpu[i*rows+r], cpu[i*rows+r], e, rel)
					}
				}
				t.Logf("worst error %.3g of Σ|w·x| (allowed %.3g)", worst, rel)
			})
		}
	}
}

// logitDiff compares two T×V logit tables: the largest difference over the
// largest |logit|, the share of positions with the same argmax, and the
// mean KL(cpu ‖ gpu) of their softmaxes.
type logitDiff struct {
	maxRel, top1, meanKL float64
}

func compareLogits(cpu, gpu []float32, V int) logitDiff {
	var d logitDiff
	var maxAbs, maxDiff float64
	T := len(cpu) / V
	for t := range T {
		c, g := cpu[t*V:(t+1)*V], gpu[t*V:(t+1)*V]
		if engine.Argmax(c) == engine.Argmax(g) {
			d.top1++
		}
		lc, lg := logSoftmax(c), logSoftmax(g)
		var kl float64
		for i := range c {
			maxAbs = max(maxAbs, math.Abs(float64(c[i])))
			maxDiff = max(maxDiff, math.Abs(float64(c[i])-float64(g[i])))
			kl += math.Exp(lc[i]) * (lc[i] - lg[i])
		}
		d.meanKL += kl
	}
	d.maxRel = maxDiff / maxAbs
	d.top1 /= float64(T)
	d.meanKL /= float64(T)
	return d
}

func logSoftmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - m - math.Log(s)
	}
	return out
}

// forwardLogits runs the tokens through st from an empty cache and returns
// the logits of every position.
func forwardLogits(t *testing.T, st *engine.State, tokens []int) []float32 {
	t.Helper()
	st.Reset()
	l, err := st.Forward(tokens, len(tokens))
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), l...)
}

// checkLogits compares m's logits with the backend installed and without,
// on a pool of threads workers (0: all cores).
func checkLogits(t *testing.T, b *cuda.Backend, m *engine.Model, tokens []int, threads int, maxRel, minTop1, maxKL float64) {
	t.Helper()
	pool := kernels.NewPool(threads)
	defer pool.Close()
	st, err := engine.NewState(m, len(tokens), pool)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cpu := forwardLogits(t, st, tokens)
	cpuTime := time.Since(start)
	before := b.Stats()
	var gpu []float32
	var gpuTime time.Duration
	withBackend(b, func() {
		// A first pass over other tokens uploads the weights, and leaves
		// other keys and values at the same addresses in the cache: only
		// weights may be kept on the device.
		other := slices.Clone(tokens)
		slices.Reverse(other)
		forwardLogits(t, st, other)
		start = time.Now()
		gpu = forwardLogits(t, st, tokens)
		gpuTime = time.Since(start)
	})
	after := b.Stats()
	if after.Products == before.Products {
		t.Fatalf("no product ran on the GPU: %+v, %v", after, b.Err())
	}
	// Offered: the seven matrices of every layer and the LM head, per
	// pass; never the products over the KV cache.
	offered := after.Products + after.Declined - before.Products - before.Declined
	if want := int64(2 * (7*m.Config.Layers + 1)); offered != want {
		t.Errorf("%d products offered to the backend in two passes, want %d", offered, want)
	}
	d := compareLogits(cpu, gpu, m.Config.Vocab)
	t.Logf("%d tokens: max |Δlogit| %.3g of max |logit|, top-1 agreement %.4f, mean KL %.3g; "+
		"%d products on the GPU, %d declined; forward %v on the CPU, %v with the GPU",
		len(tokens), d.maxRel, d.top1, d.meanKL, after.Products-before.Products, after.Declined-before.Declined,
		cpuTime.Round(time.Millisecond), gpuTime.Round(time.Millisecond))
	if !(d.maxRel <= maxRel) || !(d.top1 >= minTop1) || !(d.meanKL <= maxKL) {
		t.Errorf("GPU logits differ from the CPU's beyond max rel %.3g, top-1 %.3g, KL %.3g", maxRel, minTop1, maxKL)
	}
}

// variant returns m with its layer matrices under spec ("" = as stored).
func variant(t *testing.T, m *engine.Model, spec string) *engine.Model {
	t.Helper()
	if spec == "" {
		return m
	}
	p, err := quant.ParsePlan(spec)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := m.ApplyPlan(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// tolerances of the logit comparison by how the layer matrices reach the
// GPU: as stored (float32 or 16-bit, activations in two terms) or decoded
// to float16 (the weights rounded).
func tolerances(spec string) (maxRel, minTop1, maxKL float64) {
	switch spec {
	case "", "f16", "bf16":
		return 1e-3, 0.99, 1e-6
	}
	return 1e-2, 0.97, 1e-4
}

// storiesMixed puts stories260K's layers in ggml formats; mlp.down (172
// columns, not a whole number of 32-value blocks) stays float32.
const storiesMixed = "layers.*.attn.*=q8_0,layers.*.mlp.gate=q4_0,layers.*.mlp.up=q5_1"

// TestGPULogitsStories260K: the embedded model's logits with the GPU equal
// the CPU's, as stored and with its layers in other formats.
func TestGPULogitsStories260K(t *testing.T) {
	b := openGPU(t, cuda.Options{MinWork: -1}) // stories260K's products are tiny: take them all
	m, err := engine.LoadEmbedded(engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	text := strings.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside in the park. ", 4)
	tokens := m.Tokenizer.Encode(text, true, false)
	for _, spec := range []string{"", "f16", "bf16", "int8:row", "int4:g32", storiesMixed} {
		t.Run("layers="+spec, func(t *testing.T) {
			maxRel, top1, kl := tolerances(spec)
			checkLogits(t, b, variant(t, m, spec), tokens, 0, maxRel, top1, kl)
		})
	}
}

// TestFakeLogitsStories260K runs TestGPULogitsStories260K's comparison on
// the fake device: the engine's forward pass through the backend (weights
// cached across calls, attention over the KV cache kept on the CPU) gives
// the CPU's logits. It needs no GPU.
func TestFakeLogitsStories260K(t *testing.T) {
	b := cuda.NewFakeBackend(t, cuda.Options{MinWork: -1})
	m, err := engine.LoadEmbedded(engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tokens := m.Tokenizer.Encode("Once upon a time, there was a little girl named Lily. She loved to play outside.", true, false)
	for _, spec := range []string{"", "f16", "int4:g32", storiesMixed} {
		t.Run("layers="+spec, func(t *testing.T) {
			maxRel, top1, kl := tolerances(spec)
			// One thread: the fake device gains nothing from more.
			checkLogits(t, b, variant(t, m, spec), tokens, 1, maxRel, top1, kl)
		})
	}
}

// TestGPULogitsTinyLlama: the same on TinyLlama-1.1B's shape with random
// weights (Hugging Face's initialisation).
func TestGPULogitsTinyLlama(t *testing.T) {
	b := openGPU(t, cuda.Options{})
	c := engine.Config{Dim: 2048, HiddenDim: 5632, Layers: 22, Heads: 32, KVHeads: 4, HeadDim: 64, Vocab: 32000,
		MaxSeq: 2048, NormEps: 1e-5, RopeTheta: 10000, BOS: 1, EOS: 2}
	if testing.Short() {
		c.Layers = 4
	}
	m, err := engine.NewRandom(c, 42)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rng := rand.New(rand.NewPCG(42, 1))
	tokens := make([]int, 128)
	for i := range tokens {
		tokens[i] = rng.IntN(c.Vocab)
	}
	for _, spec := range []string{"", "f16", "bf16", "q4_0", "q8_0", "int4:g128"} {
		t.Run("layers="+spec, func(t *testing.T) {
			maxRel, top1, kl := tolerances(spec)
			checkLogits(t, b, variant(t, m, spec), tokens, 0, maxRel, top1, kl)
		})
	}
}

// gemmShapes are the products timed: TinyLlama's and Llama-2-7B's
// projections and LM heads, K = input features.
var gemmShapes = []struct {
	name       string
	rows, cols int
}{
	{"tinyllama attn.q", 2048, 2048},
	{"tinyllama mlp.up", 5632, 2048},
	{"tinyllama mlp.down", 2048, 5632},
	{"tinyllama lm_head", 32000, 2048},
	{"llama-7b attn.q", 4096, 4096},
	{"llama-7b mlp.up", 11008, 4096},
	{"llama-7b mlp.down", 4096, 11008},
}

// TestGPUGEMMTable prints cuBLAS's throughput on the shapes of gemmShapes
// (operands resident on the device, as testdata/torch_gemm.py times
// PyTorch) beside the throughput of the whole kernels.MatMul path
// (activation conversion, copies both ways). Set -test.short for one
// activation count.
func TestGPUGEMMTable(t *testing.T) {
	b := openGPU(t, cuda.Options{})
	pool := kernels.NewPool(0)
	defer pool.Close()
	ns := []int{512, 2048}
	if testing.Short() {
		ns = ns[:1]
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\n| matrix | rows×cols | weights | device | n | cuBLAS TFLOP/s | MatMul TFLOP/s |\n|---|---|---|---|---:|---:|---:|\n")
	for _, sh := range gemmShapes {
		vals := randVals(sh.rows*sh.cols, 7, 0.02)
		for _, spec := range []string{"f16", "bf16", "f32", "q4_0"} {
			s, _ := quant.ParseSpec(spec)
			w, err := quant.Quantize(s, sh.name, sh.rows, sh.cols, vals)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range ns {
				flop := 2 * float64(n) * float64(sh.rows) * float64(sh.cols)
				sec, stored, err := b.TimeGEMM(pool, w, n, 20)
				if err != nil {
					t.Fatal(err)
				}
				x := randVals(n*sh.cols, 8, 1)
				dst := make([]float32, n*sh.rows)
				var mm time.Duration
				withBackend(b, func() {
					kernels.MatMul(pool, dst, w, x, n) // warm
					const reps = 5
					start := time.Now()
					for i := range reps {
						x[0] = float32(i) // new activations each time, as in a forward pass
						kernels.MatMul(pool, dst, w, x, n)
					}
					mm = time.Since(start) / reps
				})
				fmt.Fprintf(&out, "| %s | %d×%d | %s | %s | %d | %.1f | %.1f |\n", sh.name, sh.rows, sh.cols, spec, stored, n,
					flop/sec/1e12, flop/mm.Seconds()/1e12)
			}
			w = nil // the device copy is freed once the matrix is collected
		}
	}
	t.Log(out.String())
}

// BenchmarkGPUGEMM times cuBLAS alone on each shape in float16 with 512
// activation rows, reporting TFLOP/s.
func BenchmarkGPUGEMM(bm *testing.B) {
	b := openGPU(bm, cuda.Options{})
	pool := kernels.NewPool(0)
	defer pool.Close()
	for _, sh := range gemmShapes {
		for _, spec := range []string{"f16", "bf16", "f32"} {
			bm.Run(fmt.Sprintf("%s/%s", strings.ReplaceAll(sh.name, " ", "_"), spec), func(bm *testing.B) {
				s, _ := quant.ParseSpec(spec)
				w, err := quant.Quantize(s, sh.name, sh.rows, sh.cols, randVals(sh.rows*sh.cols, 7, 0.02))
				if err != nil {
					bm.Fatal(err)
				}
				const n = 512
				bm.ResetTimer()
				sec, _, err := b.TimeGEMM(pool, w, n, bm.N)
				if err != nil {
					bm.Fatal(err)
				}
				bm.ReportMetric(2*n*float64(sh.rows)*float64(sh.cols)/sec/1e12, "TFLOP/s")
			})
		}
	}
}
