package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestERankWorkedExample(t *testing.T) {
	// METRICS.md §3.5 (d = 2, N = 3).
	r0 := []float64{1, 0, 0, 1, 1, 1}
	r1 := []float32{1, 0, 2, 0.1, 3, -0.1}
	e0, err := EffectiveRank(r0, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	e1, err := EffectiveRank(r1, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !approx(e0.Entropy, 0.673012, 1e-6) || !approx(e0.Rank, 1.960132, 1e-6) || e0.Rows != 3 || e0.Dropped != 0 {
		t.Errorf("untrained %+v", e0)
	}
	if !approx(e1.Entropy, 0.636514, 1e-6) || !approx(e1.Rank, 1.889882, 1e-6) {
		t.Errorf("trained %+v", e1)
	}
	if d := e0.Rank - e1.Rank; !approx(d, 0.070250, 1e-6) {
		t.Errorf("single-text Diff-eRank %v, want 0.070250", d)
	}
	// Exact spectra: (0.6, 0.4) and (2/3, 1/3).
	h := func(p ...float64) (s float64) {
		for _, x := range p {
			s -= x * math.Log(x)
		}
		return s
	}
	if !near(e0.Entropy, h(0.6, 0.4), 1e-12) || !near(e1.Entropy, h(2.0/3, 1.0/3), 1e-9) {
		t.Errorf("entropies %v %v", e0.Entropy, e1.Entropy)
	}
}

func TestDiffERankDataset(t *testing.T) {
	// §3.5: untrained entropies (0.673012, 1.2), trained (0.636514, 0.9).
	var a DiffERank
	a.Add(0.673012, 0.636514)
	a.Add(1.2, 0.9)
	a.Skip()
	s := a.Summary()
	if s.N != 2 || s.Skipped != 1 || !approx(s.Diff, 0.395047, 1e-6) || !approx(s.MeanDiff, 0.465382, 1e-6) {
		t.Errorf("%+v", s)
	}
	if !near(s.ERank0, math.Exp((0.673012+1.2)/2), 1e-15) || !near(s.MeanERank1, (math.Exp(0.636514)+math.Exp(0.9))/2, 1e-15) {
		t.Errorf("%+v", s)
	}
	var empty DiffERank
	if s := empty.Summary(); !math.IsNaN(s.Diff) {
		t.Errorf("empty %+v", s)
	}
}

func TestERankSanity(t *testing.T) {
	// Σ = I_d/d → eRank = d: rows ±e_k are centred and unit already.
	const d = 4
	var iso []float64
	for k := range d {
		for _, s := range []float64{1, -1} {
			row := make([]float64, d)
			row[k] = s
			iso = append(iso, row...)
		}
	}
	e, err := EffectiveRank(iso, 2*d, d)
	if err != nil || !near(e.Rank, d, 1e-12) {
		t.Errorf("isotropic: %+v %v", e, err)
	}
	// Rank-1 covariance → eRank = 1; the middle row equals the mean and is
	// dropped.
	e, err = EffectiveRank([]float32{1, 0, 2, 0, 3, 0}, 3, 2)
	if err != nil || !near(e.Rank, 1, 1e-12) || e.Dropped != 1 || e.Rows != 2 {
		t.Errorf("rank one: %+v %v", e, err)
	}
	// N = 2 gives eRank 1 exactly (two antipodal unit vectors), any d.
	e, err = EffectiveRank([]float64{0.3, -1, 2, 5, 4, 0.5}, 2, 3)
	if err != nil || !near(e.Rank, 1, 1e-12) {
		t.Errorf("N = 2: %+v %v", e, err)
	}
}

func TestERankRoutesAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, sz := range []struct{ n, d int }{{30, 50}, {50, 30}, {64, 64}, {5, 200}, {200, 5}} {
		h := make([]float64, sz.n*sz.d)
		for i := range h {
			h[i] = r.NormFloat64() + 0.5*float64(i%sz.d) // anisotropic
		}
		z, rows, err := unitCentredRows(h, sz.n, sz.d)
		if err != nil {
			t.Fatal(err)
		}
		gram, err := spectralEntropy(z, rows, sz.d, true)
		if err != nil {
			t.Fatal(err)
		}
		cov, err := spectralEntropy(z, rows, sz.d, false)
		if err != nil {
			t.Fatal(err)
		}
		if !near(gram, cov, 1e-10) {
			t.Errorf("N %d d %d: Gram H %v, covariance H %v", sz.n, sz.d, gram, cov)
		}
		e, _ := EffectiveRank(h, sz.n, sz.d)
		if !near(e.Entropy, gram, 1e-10) || e.Rank < 1 || e.Rank > float64(min(sz.n-1, sz.d))+1e-9 {
			t.Errorf("N %d d %d: %+v", sz.n, sz.d, e)
		}
		// float32 input: same up to float32 rounding of the values.
		h32 := make([]float32, len(h))
		for i, v := range h {
			h32[i] = float32(v)
		}
		e32, _ := EffectiveRank(h32, sz.n, sz.d)
		if math.Abs(e32.Entropy-e.Entropy) > 1e-5 {
			t.Errorf("N %d d %d: float32 H %v vs %v", sz.n, sz.d, e32.Entropy, e.Entropy)
		}
	}
}

func TestERankErrors(t *testing.T) {
	if _, err := EffectiveRank([]float64{1, 2}, 1, 2); !errors.Is(err, ErrTooFewRows) {
		t.Errorf("N = 1: %v", err)
	}
	if _, err := EffectiveRank([]float64{}, 0, 2); !errors.Is(err, ErrTooFewRows) {
		t.Errorf("N = 0: %v", err)
	}
	if _, err := EffectiveRank([]float64{1, 2, 3}, 2, 2); err == nil {
		t.Error("size mismatch: no error")
	}
	if _, err := EffectiveRank([]float64{1, 2, 3, 4}, 2, 0); err == nil {
		t.Error("d = 0: no error")
	}
	if _, err := EffectiveRank([]float64{1, 2, math.NaN(), 4}, 2, 2); err == nil {
		t.Error("NaN: no error")
	}
	if _, err := EffectiveRank([]float64{1, 2, 1, 2}, 2, 2); err == nil {
		t.Error("all rows equal: no error")
	}
}

func BenchmarkEffectiveRank(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, sz := range []struct{ n, d int }{{128, 4096}, {512, 4096}, {512, 64}} {
		h := make([]float32, sz.n*sz.d)
		for i := range h {
			h[i] = float32(r.NormFloat64())
		}
		b.Run(fmt.Sprintf("N=%d/d=%d", sz.n, sz.d), func(b *testing.B) {
			for b.Loop() {
				if _, err := EffectiveRank(h, sz.n, sz.d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
