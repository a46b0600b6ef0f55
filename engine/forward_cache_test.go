package engine

import (
	"math"
	"testing"

	"github.com/divergo/divergo/kernels"
)

// Cached values past the filled positions are multiplied by zero weights
// (attention works in whole chunks): stale values a truncated sequence
// left there, even non-finite ones, must not reach the output.
func TestTruncateStaleValues(t *testing.T) {
	m, err := LoadEmbedded(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	seq := append([]int{1}, refGreedy[:39]...)
	V := m.Config.Vocab

	fresh, _ := NewState(m, 64, nil)
	if _, err := fresh.Forward(seq[:20], 0); err != nil {
		t.Fatal(err)
	}
	want, err := fresh.Forward(seq[20:30], 10)
	if err != nil {
		t.Fatal(err)
	}
	want = append([]float32(nil), want...)

	s, _ := NewState(m, 64, nil)
	if _, err := s.Forward(seq, 0); err != nil {
		t.Fatal(err)
	}
	s.Truncate(20)
	// Poison every cached value from position 20 on.
	c := &m.Config
	chunks := ceilDiv(s.cap, attnChunk)
	for l := range s.v {
		for g := 0; g < c.KVHeads; g++ {
			for p := 20; p < len(seq); p++ {
				for d := 0; d < c.HeadDim; d++ {
					s.v[l][((g*chunks+p/attnChunk)*c.HeadDim+d)*attnChunk+p%attnChunk] = float32(math.NaN())
				}
			}
		}
	}
	got, err := s.Forward(seq[20:30], 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5) {
			t.Fatalf("position %d logit %d: %v after truncation, %v fresh", 20+i/V, i%V, got[i], want[i])
		}
	}
}

// Results do not depend on the number of threads, bit for bit.
func TestThreadsBitIdentical(t *testing.T) {
	m, err := LoadEmbedded(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	seq := append([]int{1}, refGreedy[:99]...)
	var ref []float32
	for _, threads := range []int{1, 2, 3} {
		pool := kernels.NewPool(threads)
		s, _ := NewState(m, len(seq)+1, pool)
		out, err := s.Forward(seq, len(seq))
		if err != nil {
			t.Fatal(err)
		}
		step, err := s.Forward([]int{seq[5]}, 1)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append([]float32(nil), out...), step...)
		pool.Close()
		if ref == nil {
			ref = out
			continue
		}
		for i := range out {
			if math.Float32bits(out[i]) != math.Float32bits(ref[i]) {
				t.Fatalf("%d threads: value %d is %v, %v with 1 thread", threads, i, out[i], ref[i])
			}
		}
	}
}

func TestNonFinite(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, c := range []struct {
		x    []float32
		want int
	}{
		{nil, -1},
		{[]float32{1, 2, 3}, -1},
		{[]float32{3e38, 3e38, -3e38}, -1}, // Σx² overflows; every value is finite
		{[]float32{1, nan, 2}, 1},
		{[]float32{1, 2, -inf}, 2},
		{[]float32{inf, nan}, 0},
	} {
		if got := nonFinite(c.x); got != c.want {
			t.Errorf("nonFinite(%v) = %d, want %d", c.x, got, c.want)
		}
	}
}
