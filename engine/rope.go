package engine

import (
	"fmt"
	"sync"

	"github.com/divergo/divergo/kernels"
)

// ropeInitial is the number of positions a model's RoPE table covers when
// it is loaded: a Llama-2 context. Longer states grow the table.
const ropeInitial = 4096

// ropeTables is a model's RoPE table, shared by its variants. It covers
// the positions the states made so far need and grows on demand up to
// limit, so that a context length read from a file (up to 2^22 positions,
// a table of 2^22·head_dim float32 values) sizes nothing until sequences
// that long are run.
type ropeTables struct {
	limit  int // the most positions a state may hold
	dim    int
	base   float32
	angles kernels.RoPEAngles

	mu sync.Mutex
	t  *kernels.RoPETable
}

// newRoPETables builds the first table, which also checks the parameters.
func newRoPETables(headDim, limit int, base float32, angles kernels.RoPEAngles) (*ropeTables, error) {
	t, err := kernels.NewRoPETable(headDim, min(limit, ropeInitial), base, angles)
	if err != nil {
		return nil, err
	}
	return &ropeTables{limit: limit, dim: headDim, base: base, angles: angles, t: t}, nil
}

// table returns a table covering at least n ≤ limit positions. Tables are
// immutable: a state keeps the one it was given while the model's grows.
func (r *ropeTables) table(n int) (*kernels.RoPETable, error) {
	if n > r.limit {
		return nil, fmt.Errorf("engine: %d tokens exceed the %d positions this model is set up for (raise the context length)", n, r.limit)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n <= r.t.MaxPos {
		return r.t, nil
	}
	t, err := kernels.NewRoPETable(r.dim, min(r.limit, max(n, 2*r.t.MaxPos)), r.base, r.angles)
	if err != nil {
		return nil, err
	}
	r.t = t
	return t, nil
}
