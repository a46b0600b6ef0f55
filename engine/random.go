package engine

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/divergo/divergo/kernels"
)

// RandomFill writes n values drawn from N(0, std²) into dst, determined by
// seed and name alone (each tensor has its own stream, so tensors can be
// generated in any order or in parallel and still agree).
func RandomFill(dst []float32, seed uint64, name string, std float64) {
	h := fnv.New64a()
	h.Write([]byte(name))
	r := rand.New(rand.NewPCG(seed, h.Sum64()))
	for i := range dst {
		dst[i] = float32(r.NormFloat64() * std)
	}
}

// NewRandom builds a float32 model of the given shape initialised as Hugging
// Face initialises a Llama (LlamaPreTrainedModel._init_weights): every
// linear and embedding weight from N(0, InitializerRange²), norm weights 1.
// The same seed gives the same model. Its Tokenizer is nil: set one before
// encoding text. It is the "untrained model" of Diff-eRank (METRICS §3.3) and the
// source of synthetic models.
func NewRandom(c Config, seed uint64) (*Model, error) {
	if c.InitializerRange <= 0 {
		c.InitializerRange = 0.02
	}
	b, err := newBuilder(c, Source{Path: fmt.Sprintf("random(seed=%d)", seed), Format: "random"})
	if err != nil {
		return nil, err
	}
	matrix := func(name string, rows, cols int) *kernels.Matrix {
		w := make([]float32, rows*cols)
		RandomFill(w, seed, name, c.InitializerRange)
		return f32Matrix(rows, cols, w)
	}
	ones := func() []float32 {
		w := make([]float32, c.Dim)
		for i := range w {
			w[i] = 1
		}
		return w
	}
	// Each tensor has its own stream, so they are drawn in parallel (a
	// TinyLlama-sized model is a billion draws) and still agree.
	comps := componentNames(c.Layers)
	mats := make([]*kernels.Matrix, len(comps))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(comps)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(comps); i = int(next.Add(1) - 1) {
				_, kind, _ := ParseComponent(comps[i])
				rows, cols := c.MatrixShape(kind)
				mats[i] = matrix(comps[i], rows, cols)
			}
		}()
	}
	wg.Wait()
	for i, comp := range comps {
		l, kind, _ := ParseComponent(comp)
		if err := b.setMatrix(l, kind, mats[i]); err != nil {
			return nil, err
		}
	}
	for l := range b.m.Layers {
		b.m.Layers[l].AttnNorm, b.m.Layers[l].FFNNorm = ones(), ones()
	}
	b.m.Norm = ones()
	return b.finish(LoadOptions{})
}

// componentNames lists every component of a model with the given number of
// layers, embed and lm_head included.
func componentNames(layers int) []string {
	var out []string
	for l := 0; l < layers; l++ {
		for _, k := range layerKinds {
			out = append(out, ComponentName(l, k))
		}
	}
	return append(out, "embed", "lm_head")
}

// PermuteMLP returns a variant whose MLP neurons are shuffled in every layer
// by a seeded permutation applied consistently to the rows of gate and up
// and the columns of down, so the model computes exactly the same function
// (up to float rounding) with its neurons in another order — the
// transformation model tracing must see through (METRICS §5.6).
func (m *Model) PermuteMLP(seed uint64) (*Model, error) {
	c := m.Config
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	repl := map[string]*kernels.Matrix{}
	for l := 0; l < c.Layers; l++ {
		perm := r.Perm(c.HiddenDim)
		for _, kind := range []string{"mlp.gate", "mlp.up"} {
			name := ComponentName(l, kind)
			w, err := m.MatrixF32(name)
			if err != nil {
				return nil, err
			}
			out := make([]float32, len(w))
			for i, p := range perm {
				copy(out[i*c.Dim:(i+1)*c.Dim], w[p*c.Dim:(p+1)*c.Dim])
			}
			repl[name] = f32Matrix(c.HiddenDim, c.Dim, out)
		}
		name := ComponentName(l, "mlp.down")
		w, err := m.MatrixF32(name)
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(w))
		for row := 0; row < c.Dim; row++ {
			src, dst := w[row*c.HiddenDim:(row+1)*c.HiddenDim], out[row*c.HiddenDim:(row+1)*c.HiddenDim]
			for i, p := range perm {
				dst[i] = src[p]
			}
		}
		repl[name] = f32Matrix(c.Dim, c.HiddenDim, out)
	}
	return m.With(repl)
}

// AddNoise returns a variant whose every component matrix gets independent
// Gaussian noise of standard deviation sigma × (that matrix's own standard
// deviation), seeded — a stand-in for fine-tuning in tests.
func (m *Model) AddNoise(sigma float64, seed uint64) (*Model, error) {
	if sigma < 0 || math.IsNaN(sigma) || math.IsInf(sigma, 0) {
		return nil, fmt.Errorf("noise %v must be a finite number ≥ 0", sigma)
	}
	repl := map[string]*kernels.Matrix{}
	for _, comp := range m.Components() {
		if comp.Name == "lm_head" && m.Tied() {
			continue // the tied head is the embedding: noise it once, as embed
		}
		w, err := m.MatrixF32(comp.Name)
		if err != nil {
			return nil, err
		}
		var s2 float64
		for _, v := range w {
			s2 += float64(v) * float64(v)
		}
		std := math.Sqrt(s2 / float64(len(w)))
		noise := make([]float32, len(w))
		RandomFill(noise, seed, "noise:"+comp.Name, sigma*std)
		for i := range w {
			w[i] += noise[i]
		}
		repl[comp.Name] = f32Matrix(comp.Rows, comp.Cols, w)
	}
	v, err := m.With(repl)
	if err != nil {
		return nil, err
	}
	if m.Tied() {
		v.Output = v.Embed
	}
	return v, nil
}
