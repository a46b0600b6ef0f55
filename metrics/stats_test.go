package metrics

import (
	"math"
	"testing"
)

// approx reports whether got matches want to the decimals want was printed
// with: |got − want| ≤ half a unit in the last printed place (ulp), or,
// when ulp is 0, to 1e-6 relative.
func approx(got, want, ulp float64) bool {
	if ulp == 0 {
		return math.Abs(got-want) <= 1e-6*math.Max(math.Abs(want), 1e-300)
	}
	return math.Abs(got-want) <= ulp/2
}

func TestMeanUnc(t *testing.T) {
	// METRICS.md §6.6: 20 values 0.01…0.20 → mean 0.105, unc 0.013229;
	// 3 values → unc 0 (n ≤ 10).
	sum := func(n int) (s, s2 float64) {
		for i := 1; i <= n; i++ {
			x := 0.01 * float64(i)
			s += x
			s2 += x * x
		}
		return
	}
	tests := []struct {
		n              int
		mean, unc, ulp float64
	}{
		{20, 0.105, 0.013229, 1e-6},
		{3, 0.02, 0, 0},
		{10, 0.055, 0, 0}, // n = 10: still no uncertainty
	}
	for _, tt := range tests {
		s, s2 := sum(tt.n)
		m, u := MeanUnc(s, s2, tt.n)
		if !approx(m, tt.mean, 0) || !approx(u, tt.unc, tt.ulp) || (tt.unc == 0 && u != 0) {
			t.Errorf("n=%d: mean %v unc %v, want %v %v", tt.n, m, u, tt.mean, tt.unc)
		}
	}
	s, s2 := sum(11)
	if _, u := MeanUnc(s, s2, 11); u <= 0 {
		t.Errorf("n=11: unc %v, want > 0", u)
	}
	if m, u := MeanUnc(0, 0, 0); !math.IsNaN(m) || u != 0 {
		t.Errorf("n=0: %v %v", m, u)
	}
}

func TestPercentile(t *testing.T) {
	// METRICS.md §6.6: percentiles of KLD values {0.01, 0.02, 0.05, 0.10, 0.40}.
	v := []float64{0.01, 0.02, 0.05, 0.10, 0.40}
	tests := []struct{ f, want float64 }{
		{0.90, 0.28},
		{0.999, 0.3988},
		{0.5, 0.05},
		{0, 0.01},
		{-1, 0.01},
		{1, 0.40},
		{2, 0.40},
		{0.25, 0.02},
		{0.1, 0.014}, // x = 0.4: 0.6·0.01 + 0.4·0.02
	}
	for _, tt := range tests {
		if got := Percentile(v, tt.f); !approx(got, tt.want, 0) {
			t.Errorf("Percentile(%v) = %v, want %v", tt.f, got, tt.want)
		}
	}
	if got := Median(v); got != 0.05 {
		t.Errorf("median %v, want 0.05", got)
	}
	if got := Median([]float64{1, 2, 4, 10}); got != 3 {
		t.Errorf("even median %v, want 3", got)
	}
	if !math.IsNaN(Percentile(nil, 0.5)) || !math.IsNaN(Median(nil)) {
		t.Error("empty: want NaN")
	}
}

func TestSample(t *testing.T) {
	var a, b Sample
	for _, x := range []float64{0.40, 0.01} {
		a.Add(x)
	}
	for _, x := range []float64{0.10, 0.05, 0.02} {
		b.Add(x)
	}
	a.Merge(&b)
	if a.Len() != 5 {
		t.Fatalf("len %d", a.Len())
	}
	sp := a.Spread(0.90, 0.999)
	if sp.Min != 0.01 || sp.Max != 0.40 || sp.Median != 0.05 || !approx(sp.Mean, 0.116, 0) || sp.Unc != 0 {
		t.Errorf("spread %+v", sp)
	}
	if v, ok := sp.At(0.90); !ok || !approx(v, 0.28, 0) {
		t.Errorf("90%%: %v %v", v, ok)
	}
	if v, ok := sp.At(0.999); !ok || !approx(v, 0.3988, 0) {
		t.Errorf("99.9%%: %v %v", v, ok)
	}
	if _, ok := sp.At(0.5); ok {
		t.Error("unlisted percentile reported")
	}
	if got := a.Values(); got[0] != 0.40 || got[4] != 0.02 {
		t.Errorf("insertion order lost: %v", got)
	}
	a.Add(1) // invalidates the sorted cache
	if a.Max() != 1 {
		t.Errorf("max after Add %v", a.Max())
	}
}

func TestCorrelationP(t *testing.T) {
	// METRICS.md §5.5.
	tests := []struct {
		r        float64
		n        int
		want     float64
		ulp      float64
		tolerant bool
	}{
		{0.9, 5, 0.037386, 1e-6, false},
		{-0.1, 5, 0.872889, 1e-6, false},
		{0.05, 11008, 1.53e-7, 0.01e-7, false},
		{0.01, 11008, 0.2941, 1e-4, false},
		{1, 10, 0, 0, false},
		{-1, 10, 0, 0, false},
	}
	for _, tt := range tests {
		got := CorrelationP(tt.r, tt.n)
		if tt.want == 0 && got != 0 || tt.want != 0 && !approx(got, tt.want, tt.ulp) {
			t.Errorf("p(ρ=%v, n=%d) = %v, want %v", tt.r, tt.n, got, tt.want)
		}
	}
	if !math.IsNaN(CorrelationP(0.5, 2)) || !math.IsNaN(CorrelationP(1.5, 10)) {
		t.Error("invalid input: want NaN")
	}
}

func TestSpearmanPearson(t *testing.T) {
	// Permutations: Spearman equals SpearmanPerm (§5.5 ρ = 0.9 example).
	x := []float64{0, 1, 2, 3, 4}
	y := []float64{0, 1, 2, 4, 3}
	rho, p, err := Spearman(x, y)
	if err != nil || !approx(rho, 0.9, 0) || !approx(p, 0.037386, 1e-6) {
		t.Errorf("spearman %v %v %v", rho, p, err)
	}
	// On permutations Pearson r = Spearman ρ (§5.2).
	r, p2, err := Pearson(x, y)
	if err != nil || !approx(r, rho, 0) || !approx(p2, p, 0) {
		t.Errorf("pearson %v %v %v", r, p2, err)
	}
	// Ties take their mean rank: x ranks (1, 2.5, 2.5, 4), y ranks
	// (1, 3, 2, 4); Pearson of those: Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5.
	rho, _, err = Spearman([]float64{10, 20, 20, 30}, []float64{1, 3, 2, 4})
	if want := 4.5 / math.Sqrt(4.5*5); err != nil || !approx(rho, want, 0) {
		t.Errorf("tied spearman %v, want %v (%v)", rho, want, err)
	}
	// Perfect monotone relation: ρ = 1, p = 0.
	rho, p, err = Spearman([]float64{1, 2, 3, 4, 5}, []float64{1, 4, 9, 16, 25})
	if err != nil || rho != 1 || p != 0 {
		t.Errorf("monotone: %v %v %v", rho, p, err)
	}
	if _, _, err := Pearson([]float64{1, 1, 1}, []float64{1, 2, 3}); err == nil {
		t.Error("constant variable: no error")
	}
	if _, _, err := Spearman([]float64{1, 2}, []float64{1, 2}); err == nil {
		t.Error("2 pairs: no error")
	}
	if _, _, err := Spearman([]float64{1, 2, 3}, []float64{1, 2}); err == nil {
		t.Error("length mismatch: no error")
	}
}
