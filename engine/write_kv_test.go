package engine

import (
	"testing"

	"github.com/divergo/divergo/kernels"
)

// WithKVF16 caches keys and values rounded to float16 and nothing else:
// the logits move by float16 rounding only, and the base model is untouched.
func TestWithKVF16(t *testing.T) {
	m, err := LoadEmbedded(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v, err := m.WithKVF16()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	s, err := NewState(v, len(probeIDs), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Forward(probeIDs, len(probeIDs))
	if err != nil {
		t.Fatal(err)
	}
	for l := range s.k {
		for _, cache := range [][]float32{s.k[l], s.v[l]} {
			for i, x := range cache[:len(probeIDs)*v.Config.KVDim()] {
				if kernels.HalfToFloat(kernels.FloatToHalf(x)) != x {
					t.Fatalf("layer %d cache value %d = %g is not a float16", l, i, x)
				}
			}
		}
	}
	base := logitsAll(t, m, probeIDs)
	if d := maxDiff(t, base, got); d == 0 || d > 0.05 {
		t.Errorf("float16 cache moved the logits by %g; want a small nonzero change", d)
	}
	if d := maxDiff(t, base, logitsAll(t, m, probeIDs)); d != 0 {
		t.Errorf("the base model changed")
	}
}
