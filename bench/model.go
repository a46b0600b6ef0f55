package bench

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/quant"
)

// tileRows is the number of weight rows quantized per matrix when a
// benchmark model is converted: the rest of the matrix repeats them. Speed
// does not depend on the values, and quantizing a TinyLlama-sized model in
// full takes minutes (q4_k's search runs ~0.2 µs per weight).
const tileRows = 512

// NewModel returns a random-weight model of the shape (engine.NewRandom,
// Hugging Face's Llama initialisation) stored in dtype d. The model holds
// its weights in memory: close it and drop it before building the next.
func NewModel(s Shape, d DType, seed uint64) (*engine.Model, error) {
	base, err := engine.NewRandom(s.Config, seed)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", s.Name, err)
	}
	m, err := convert(base, d)
	if err != nil || m != base {
		base.Close()
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// convert returns base (float32) stored in dtype d: base itself for f32,
// else a variant whose matrices are quantized tiles of base's first
// tileRows rows repeated down each matrix, built in parallel.
func convert(base *engine.Model, d DType) (*engine.Model, error) {
	plan, err := d.Plan(&base.Config)
	if err != nil || plan == nil {
		return base, err
	}
	comps := base.Components()
	out := make([]*kernels.Matrix, len(comps))
	errs := make([]error, len(comps))
	var wg sync.WaitGroup
	work := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				spec, ok := plan.SpecFor(comps[i].Name)
				if !ok {
					continue
				}
				w, err := base.Matrix(comps[i].Name)
				if err == nil {
					out[i], err = tiled(w, spec, comps[i].Name)
				}
				errs[i] = err
			}
		}()
	}
	for i := range comps {
		work <- i
	}
	close(work)
	wg.Wait()
	repl := map[string]*kernels.Matrix{}
	for i, c := range comps {
		if errs[i] != nil {
			return nil, fmt.Errorf("bench: %s: %w", d, errs[i])
		}
		if out[i] != nil {
			repl[c.Name] = out[i]
		}
	}
	return base.With(repl)
}

// tiled quantizes the first tileRows rows of w under spec and repeats them
// down a matrix of w's shape.
func tiled(w *kernels.Matrix, spec quant.Spec, name string) (*kernels.Matrix, error) {
	head := *w
	head.Rows = min(tileRows, w.Rows)
	head.Data = w.Data[:head.Rows*w.RowBytes()]
	return repeatRows(engine.Dequantize(&head), w.Rows, w.Cols, spec, name)
}

// repeatRows quantizes the rows of vals (len(vals)/cols of them) under
// spec and repeats them down a rows×cols matrix.
func repeatRows(vals []float32, rows, cols int, spec quant.Spec, name string) (*kernels.Matrix, error) {
	q, err := quant.Quantize(spec, name, len(vals)/cols, cols, vals)
	if err != nil {
		return nil, err
	}
	head := q.Data[:q.Rows*q.RowBytes()]
	data := make([]byte, rows*q.RowBytes())
	for off := 0; off < len(data); off += len(head) {
		copy(data[off:], head)
	}
	return &kernels.Matrix{Format: q.Format, Rows: rows, Cols: cols, Data: data,
		A8: spec.A8 && q.Format.Act != nil}, nil
}

// weightBytes returns the bytes a decode step reads: every matrix but the
// embedding, of which one row is read.
func weightBytes(m *engine.Model) (total, perToken int64) {
	for _, c := range m.Components() {
		w, _ := m.Matrix(c.Name)
		b := int64(w.Rows) * int64(w.RowBytes())
		total += b
		if c.Name == "embed" {
			perToken += int64(w.RowBytes())
			continue
		}
		perToken += b
	}
	c := &m.Config
	norms := int64(4 * c.Dim * (2*c.Layers + 1))
	return total + norms, perToken + norms
}
