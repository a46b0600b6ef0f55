package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// recordingBackend takes products when take is set, writing 7 everywhere,
// and records the calls it was offered.
type recordingBackend struct {
	take  bool
	calls []int // n of every offered call
}

func (b *recordingBackend) MatMul(p *Pool, dst []float32, w *Matrix, x []float32, n int) bool {
	b.calls = append(b.calls, n)
	if !b.take {
		return false
	}
	for i := range dst {
		dst[i] = 7
	}
	return true
}

func TestBackendOffers(t *testing.T) {
	f, _ := FormatByName("f32")
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 5, 64
	w := &Matrix{Format: f, Rows: rows, Cols: cols, Data: randRows(rng, f, rows, cols)}
	pool := NewPool(2)
	defer pool.Close()

	for _, c := range []struct {
		name    string
		pool    *Pool
		n       int
		take    bool
		offered bool
	}{
		{"prefill taken", pool, 3, true, true},
		{"prefill declined", pool, 3, false, true},
		{"decode", pool, 1, true, false},
		{"nil pool (not a weight)", nil, 3, true, false},
		{"no rows", pool, 0, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &recordingBackend{take: c.take}
			prev := SetBackend(b)
			defer SetBackend(prev)
			if CurrentBackend() != b {
				t.Fatal("CurrentBackend is not the backend just installed")
			}
			x := randF32(rng, c.n*cols)
			got := make([]float32, c.n*rows)
			MatMul(c.pool, got, w, x, c.n)
			SetBackend(prev)
			want := make([]float32, c.n*rows)
			MatMul(c.pool, want, w, x, c.n)

			if offered := len(b.calls) > 0; offered != c.offered {
				t.Fatalf("offered = %v (calls %v), want %v", offered, b.calls, c.offered)
			}
			if c.offered && !slices.Equal(b.calls, []int{c.n}) {
				t.Fatalf("calls %v, want one with n=%d", b.calls, c.n)
			}
			if c.offered && c.take {
				for i, v := range got {
					if v != 7 {
						t.Fatalf("dst[%d] = %g: the backend's result was not kept", i, v)
					}
				}
				return
			}
			if i, ok := bitsEqual(got, want); !ok {
				t.Fatalf("dst[%d] = %g, want the CPU's %g", i, got[i], want[i])
			}
		})
	}
}
