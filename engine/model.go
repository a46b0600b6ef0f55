package engine

import (
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/tokenizer"
)

// A Layer holds one transformer block's weights.
type Layer struct {
	AttnNorm, FFNNorm []float32
	Q, K, V, O        *kernels.Matrix
	Gate, Up, Down    *kernels.Matrix
}

// A Model is a loaded Llama-2-family model: configuration, weights (usually
// views into memory-mapped files) and tokenizer. A Model is read-only once
// built and may be shared by many goroutines; each concurrent forward pass
// needs its own State.
type Model struct {
	Config Config
	// Embed is the token embedding table (vocab × dim); rows are looked up,
	// not multiplied.
	Embed  *kernels.Matrix
	Layers []Layer
	Norm   []float32
	// Output is the LM head (vocab × dim). For tied embeddings it is the
	// same *Matrix as Embed.
	Output    *kernels.Matrix
	Tokenizer *tokenizer.Tokenizer
	// Source describes where the model came from, for reports.
	Source Source

	rope *ropeTables
	res  *resources
	// kvHalf rounds cached keys and values to float16 (WithKVF16).
	kvHalf bool
}

// Source describes a model's origin.
type Source struct {
	Path   string `json:"path"`
	Format string `json:"format"` // "safetensors", "gguf", "llama2c", "embedded", "random"
	// Variant lists the components replaced relative to the loaded model.
	Variant []string `json:"variant,omitempty"`
}

// resources are the files and mappings behind a model's weights, shared by
// every variant derived from it and released by the last Close.
type resources struct {
	mu      sync.Mutex
	refs    int
	closers []io.Closer
}

func (r *resources) acquire() *resources {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	r.refs++
	r.mu.Unlock()
	return r
}

// Close releases the files behind the model's weights once the model and
// every variant derived from it are closed. The model must not be used
// afterwards.
func (m *Model) Close() error {
	r := m.res
	m.res = nil
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refs--
	if r.refs > 0 {
		return nil
	}
	var first error
	for _, c := range r.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	r.closers = nil
	return first
}

// Component describes one weight matrix of the model.
type Component struct {
	Name   string `json:"name"`
	Layer  int    `json:"layer"` // −1 for embed and lm_head
	Kind   string `json:"kind"`  // "attn.q" … "mlp.down", "embed", "lm_head"
	Rows   int    `json:"rows"`
	Cols   int    `json:"cols"`
	Format string `json:"format"`
}

// Params is the number of weights in the component.
func (c Component) Params() int64 { return int64(c.Rows) * int64(c.Cols) }

// Components lists the model's weight matrices: the seven of every layer in
// forward order, then embed and lm_head (listed even when tied).
func (m *Model) Components() []Component {
	var out []Component
	for l := range m.Layers {
		for _, k := range layerKinds {
			w := m.layerMatrix(l, k)
			out = append(out, Component{ComponentName(l, k), l, k, w.Rows, w.Cols, w.Format.Name})
		}
	}
	out = append(out,
		Component{"embed", -1, "embed", m.Embed.Rows, m.Embed.Cols, m.Embed.Format.Name},
		Component{"lm_head", -1, "lm_head", m.Output.Rows, m.Output.Cols, m.Output.Format.Name})
	return out
}

// Tied reports whether the LM head shares the embedding matrix.
func (m *Model) Tied() bool { return m.Output == m.Embed }

// Params counts the model's weights (the shared matrix once when tied, norms
// included).
func (m *Model) Params() int64 {
	var n int64
	for _, c := range m.Components() {
		if c.Name == "lm_head" && m.Tied() {
			continue
		}
		n += c.Params()
	}
	n += int64(len(m.Norm)) + int64(len(m.Layers))*2*int64(m.Config.Dim)
	return n
}

func (m *Model) layerMatrix(l int, kind string) *kernels.Matrix {
	L := &m.Layers[l]
	return *layerSlot(L, kind)
}

func layerSlot(L *Layer, kind string) **kernels.Matrix {
	switch kind {
	case "attn.q":
		return &L.Q
	case "attn.k":
		return &L.K
	case "attn.v":
		return &L.V
	case "attn.o":
		return &L.O
	case "mlp.gate":
		return &L.Gate
	case "mlp.up":
		return &L.Up
	case "mlp.down":
		return &L.Down
	}
	panic("engine: unknown layer kind " + kind)
}

// Matrix returns the weight matrix of a component.
func (m *Model) Matrix(component string) (*kernels.Matrix, error) {
	l, kind, err := ParseComponent(component)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "embed":
		return m.Embed, nil
	case "lm_head":
		return m.Output, nil
	}
	if l >= len(m.Layers) {
		return nil, fmt.Errorf("component %q: the model has %d layers", component, len(m.Layers))
	}
	return m.layerMatrix(l, kind), nil
}

// MatrixF32 returns a component's weights decoded to float32 (rows × cols),
// a fresh copy the caller owns.
func (m *Model) MatrixF32(component string) ([]float32, error) {
	w, err := m.Matrix(component)
	if err != nil {
		return nil, err
	}
	return Dequantize(w), nil
}

// Dequantize decodes a matrix to float32, row by row.
func Dequantize(w *kernels.Matrix) []float32 {
	out := make([]float32, w.Rows*w.Cols)
	rb := w.RowBytes()
	for r := 0; r < w.Rows; r++ {
		w.Format.Dequant(out[r*w.Cols:(r+1)*w.Cols], w.Data[r*rb:(r+1)*rb])
	}
	return out
}

// With returns a copy-on-write variant of m in which the named components
// are replaced; every other weight is shared with m (no bytes copied), so a
// variant costs only its replacement matrices. Replacing "lm_head" of a tied
// model replaces only the output projection (the embedding lookup keeps the
// original), and "embed" only the lookup. The variant must be closed like a
// model; the files behind m stay open until both are closed.
func (m *Model) With(replace map[string]*kernels.Matrix) (*Model, error) {
	v := *m
	v.Layers = append([]Layer(nil), m.Layers...)
	names := make([]string, 0, len(replace))
	for name := range replace {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w := replace[name]
		old, err := m.Matrix(name)
		if err != nil {
			return nil, err
		}
		if w == nil || w.Rows != old.Rows || w.Cols != old.Cols {
			return nil, fmt.Errorf("replacing %s: want a %d×%d matrix", name, old.Rows, old.Cols)
		}
		if err := w.Check(); err != nil {
			return nil, fmt.Errorf("replacing %s: %w", name, err)
		}
		l, kind, _ := ParseComponent(name)
		switch kind {
		case "embed":
			v.Embed = w
		case "lm_head":
			v.Output = w
		default:
			*layerSlot(&v.Layers[l], kind) = w
		}
	}
	v.Source.Variant = append(append([]string(nil), m.Source.Variant...), names...)
	v.res = m.res.acquire()
	return &v, nil
}

// WithA8 returns a variant in which every quantized matrix runs with int8
// activations (W·A8, as llama.cpp runs quantized GGUF files). Float matrices
// are unaffected. It reports how many matrices switched.
func (m *Model) WithA8() (*Model, int, error) {
	repl := map[string]*kernels.Matrix{}
	for _, c := range m.Components() {
		if c.Name == "embed" {
			continue
		}
		w, _ := m.Matrix(c.Name)
		if w.Format.Act == nil || w.A8 {
			continue
		}
		a := *w
		a.A8 = true
		repl[c.Name] = &a
	}
	v, err := m.With(repl)
	if err != nil {
		return nil, 0, err
	}
	v.Source.Variant = m.Source.Variant
	return v, len(repl), nil
}

// WithKVF16 returns a variant whose KV cache holds keys and values rounded
// to float16, as llama.cpp's default cache type (-ctk f16 -ctv f16) does;
// queries, scores and the weighted sum of values stay float32, as in ggml's
// CPU flash attention. Weights are shared with m.
func (m *Model) WithKVF16() (*Model, error) {
	v, err := m.With(nil)
	if err != nil {
		return nil, err
	}
	v.kvHalf = true
	return v, nil
}
