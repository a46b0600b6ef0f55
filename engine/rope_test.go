package engine

import (
	"runtime"
	"strings"
	"testing"

	"github.com/divergo/divergo/kernels"
)

// TestRoPEGrows: a context length of 2^22 positions read from a file
// sizes no RoPE table at load (it would be 2^22·head_dim float32 values);
// the table grows to the longest state made, keeps the values it had, and
// refuses states beyond the context.
func TestRoPEGrows(t *testing.T) {
	c := Config{Dim: 64, HiddenDim: 96, Layers: 1, Heads: 1, KVHeads: 1, HeadDim: 64, Vocab: 32,
		MaxSeq: 1 << 22, NormEps: 1e-5, RopeTheta: 10000}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := NewRandom(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("loading a model with a 2^22-position context allocated %d MiB", alloc>>20)
	}
	first := m.rope.t
	if first.MaxPos != ropeInitial {
		t.Errorf("initial table of %d positions, want %d", first.MaxPos, ropeInitial)
	}
	s, err := NewState(m, 5000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.angles.MaxPos < 5000 || m.rope.t != s.angles {
		t.Errorf("state of 5000 positions got a table of %d", s.angles.MaxPos)
	}
	for _, p := range []int{0, 1, 4095} {
		a, b := make([]float32, 64), make([]float32, 64)
		for i := range a {
			a[i], b[i] = float32(i+1), float32(i+1)
		}
		kernels.RoPEInterleaved(a, first, p)
		kernels.RoPEInterleaved(b, s.angles, p)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("position %d: the grown table rotates value %d to %v, the first to %v", p, i, b[i], a[i])
			}
		}
	}
	if _, err := NewState(m, 1<<22+1, nil); err == nil || !strings.Contains(err.Error(), "exceed the 4194304 positions") {
		t.Errorf("state beyond the context: %v", err)
	}
}
