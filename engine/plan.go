package engine

import (
	"fmt"

	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/quant"
)

// A Change records one component compressed by a plan.
type Change struct {
	Component string `json:"component"`
	Spec      string `json:"spec"`
	Params    int64  `json:"params"`
	// Bits is the storage of the compressed matrix in bits (nominal, scales
	// included), for bits-per-weight accounting.
	Bits int64 `json:"bits"`
}

// Compress returns a component compressed under spec, quantized from its
// float32 values (stored weights of any format are decoded first).
func (m *Model) Compress(component string, spec quant.Spec) (*kernels.Matrix, error) {
	w, err := m.Matrix(component)
	if err != nil {
		return nil, err
	}
	q, err := quant.Quantize(spec, component, w.Rows, w.Cols, Dequantize(w))
	if err != nil {
		return nil, err
	}
	q.A8 = spec.A8 && q.Format.Act != nil
	return q, nil
}

// ApplyPlan returns a copy-on-write variant of m with every component the
// plan selects compressed (DESIGN §3: last matching rule wins; a bare spec
// covers the seven matrices of each layer). Untouched weights are shared
// with m. It also returns what changed, in component order. For tied
// embeddings, "lm_head" compresses the output product only and "embed" the
// lookup only.
func (m *Model) ApplyPlan(p *quant.Plan) (*Model, []Change, error) {
	repl := map[string]*kernels.Matrix{}
	var changes []Change
	for _, c := range m.Components() {
		spec, ok := p.SpecFor(c.Name)
		if !ok {
			continue
		}
		q, err := m.Compress(c.Name, spec)
		if err != nil {
			return nil, nil, fmt.Errorf("plan: %w", err)
		}
		bits, err := spec.MatrixBits(c.Rows, c.Cols)
		if err != nil {
			return nil, nil, fmt.Errorf("plan: %s: %w", c.Name, err)
		}
		repl[c.Name] = q
		changes = append(changes, Change{Component: c.Name, Spec: spec.String(), Params: c.Params(), Bits: bits})
	}
	v, err := m.With(repl)
	if err != nil {
		return nil, nil, err
	}
	return v, changes, nil
}
