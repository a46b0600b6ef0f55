package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestQ8KSignTies gives the q8_K quantizer blocks whose largest magnitude
// appears with both signs, in either order and in any lane position: the
// first one decides the sign of the scale, so every ISA must pick the same
// one as the generic loop.
func TestQ8KSignTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	var rows [][]float32
	for i := 0; i < 64; i++ {
		x := randF32(rng, qkK)
		for j := range x {
			x[j] = max(-3, min(3, x[j]))
		}
		p, q := rng.IntN(qkK), rng.IntN(qkK)
		for p == q {
			q = rng.IntN(qkK)
		}
		x[p], x[q] = 5, -5
		if i%3 == 0 {
			x[(p+q)/2+1&(qkK-1)] = 5
		}
		rows = append(rows, x)
	}
	orig := CurrentISA()
	defer SetISA(orig)
	for ri, x := range rows {
		SetISA(Generic)
		want := make([]byte, 292)
		actQ8K.Quantize(want, x)
		for _, isa := range Available()[1:] {
			SetISA(isa)
			got := make([]byte, 292)
			actQ8K.Quantize(got, x)
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s row %d: byte %d = %#02x, generic %#02x", isa, ri, i, got[i], want[i])
					break
				}
			}
		}
	}
}
