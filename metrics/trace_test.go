package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func TestSpearmanPermWorkedExample(t *testing.T) {
	// METRICS.md §5.5.
	gate := []int{0, 1, 2, 3, 4}
	tests := []struct {
		up     []int
		rho, p float64
	}{
		{[]int{0, 1, 2, 4, 3}, 0.9, 0.037386},
		{[]int{3, 0, 4, 1, 2}, -0.1, 0.872889},
		{[]int{0, 1, 2, 3, 4}, 1, 0},
		{[]int{4, 3, 2, 1, 0}, -1, 0},
	}
	for _, tt := range tests {
		rho, p, err := SpearmanPerm(gate, tt.up)
		if err != nil {
			t.Fatal(err)
		}
		if !approx(rho, tt.rho, 0) || (tt.p == 0 && p != 0) || (tt.p != 0 && !approx(p, tt.p, 1e-6)) {
			t.Errorf("up %v: ρ %v p %v, want %v %v", tt.up, rho, p, tt.rho, tt.p)
		}
	}
	for _, bad := range [][]int{{0, 1, 1, 3, 4}, {0, 1, 2, 3, 5}, {0, 1, 2, 3}, {-1, 1, 2, 3, 0}} {
		if _, _, err := SpearmanPerm(gate, bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if _, _, err := SpearmanPerm([]int{0, 1}, []int{1, 0}); err == nil {
		t.Error("h = 2: no error")
	}
}

func TestSpearmanPermScale(t *testing.T) {
	// §5.5 scale check at h = 11 008 (ρ 0.05 → p 1.53e−7; ρ 0.01 is in
	// TestCorrelationP), with identical and independent permutations of
	// that size.
	const h = 11008
	r := rand.New(rand.NewPCG(2, 2))
	x := r.Perm(h)
	y := append([]int(nil), x...)
	rho, p, err := SpearmanPerm(x, y)
	if err != nil || rho != 1 || p != 0 {
		t.Fatalf("identical: %v %v %v", rho, p, err)
	}
	if p := CorrelationP(0.05, h); !approx(p, 1.53e-7, 0.01e-7) {
		t.Errorf("ρ 0.05: p %v", p)
	}
	// Independent random permutations: ρ ≈ 0, p not small.
	rho, p, _ = SpearmanPerm(x, r.Perm(h))
	if math.Abs(rho) > 0.05 || p < 1e-4 {
		t.Errorf("independent: ρ %v p %v", rho, p)
	}
}

func TestFisherWorkedExample(t *testing.T) {
	// §5.5.
	tests := []struct {
		ps   []float64
		want float64
		k    int
	}{
		{[]float64{0.01, 0.2, 0.5}, 0.031766, 3},
		{[]float64{0.037386, 0.872889}, 0.144320, 2},
		{[]float64{0.037386, math.NaN(), 0.872889}, 0.144320, 2},
		{[]float64{0.3}, 0.3, 1},
		{[]float64{1, 1}, 1, 2},
		{[]float64{0.5, 0}, 0, 2},
	}
	for _, tt := range tests {
		p, k := Fisher(tt.ps)
		if k != tt.k || (tt.want == 0 && p != 0) || (tt.want != 0 && !approx(p, tt.want, 1e-6)) {
			t.Errorf("Fisher(%v) = %v, %d; want %v, %d", tt.ps, p, k, tt.want, tt.k)
		}
	}
	if p, k := Fisher([]float64{math.NaN()}); !math.IsNaN(p) || k != 0 {
		t.Errorf("all NaN: %v %d", p, k)
	}
	if p, _ := Fisher([]float64{0.5, 1.5}); !math.IsNaN(p) {
		t.Errorf("p > 1: %v", p)
	}
	if lp, _ := FisherLog([]float64{0.2, 0}); !math.IsInf(lp, -1) {
		t.Errorf("log with a zero: %v", lp)
	}
}

func TestFisherAgainstChiSquared(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for trial := range 200 {
		k := 1 + r.IntN(40)
		ps := make([]float64, k)
		var x float64
		for i := range ps {
			ps[i] = math.Pow(r.Float64(), 1+3*r.Float64())
			x -= 2 * math.Log(ps[i])
		}
		want := distuv.ChiSquared{K: float64(2 * k)}.Survival(x)
		got, _ := Fisher(ps)
		if math.Abs(got-want) > 1e-9*math.Max(want, 1e-300) && math.Abs(got-want) > 1e-14 {
			t.Fatalf("trial %d: Fisher %v, χ² survival %v", trial, got, want)
		}
	}
	// 32 layers of p = 1e-20: p underflows nowhere in log space.
	ps := make([]float64, 32)
	for i := range ps {
		ps[i] = 1e-20
	}
	lp, _ := FisherLog(ps)
	if math.IsInf(lp, 0) || math.IsNaN(lp) || lp > -1000 {
		t.Errorf("log Fisher of tiny p-values %v", lp)
	}
}

// neuronsByTokens transposes a neurons×tokens matrix into the tokens×neurons
// block Match.Add takes.
func neuronsByTokens(rows [][]float32) []float32 {
	h, tok := len(rows), len(rows[0])
	out := make([]float32, 0, h*tok)
	for t := range tok {
		for i := range h {
			out = append(out, rows[i][t])
		}
	}
	return out
}

func TestMatchWorkedExample(t *testing.T) {
	// §5.5: 3 neurons × 3 tokens.
	a := neuronsByTokens([][]float32{{1, 0, 2}, {0, 1, 1}, {3, 3, 0}})
	b := neuronsByTokens([][]float32{{0.1, 1.1, 1.0}, {2.9, 3.2, 0.1}, {1.0, 0.1, 2.1}})
	wantCost := []float64{3.02, 17.46, 0.02, 0.02, 14.06, 3.02, 13.02, 0.06, 16.82}
	for _, metric := range []MatchMetric{Euclidean, CrossProduct, Cosine} {
		m, err := NewMatch(3)
		if err != nil {
			t.Fatal(err)
		}
		// Stream the tokens in two blocks.
		if err := m.Add(a[:3], b[:3], 1); err != nil {
			t.Fatal(err)
		}
		if err := m.Add(a[3:], b[3:], 2); err != nil {
			t.Fatal(err)
		}
		cost, err := m.Cost(metric)
		if err != nil {
			t.Fatal(err)
		}
		if metric == Euclidean {
			for i, w := range wantCost {
				if math.Abs(cost[i]-w) > 1e-6 { // activations are float32
					t.Errorf("cost[%d] = %v, want %v", i, cost[i], w)
				}
			}
		}
		perm, total, err := Assign(cost, 3)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(perm) != "[2 0 1]" {
			t.Errorf("metric %d: π = %v, want [2 0 1]", metric, perm)
		}
		if metric == Euclidean && math.Abs(total-0.10) > 1e-6 {
			t.Errorf("total %v, want 0.10", total)
		}
		if m.Tokens() != 3 {
			t.Errorf("tokens %d", m.Tokens())
		}
		if err := m.Add(a, b, 3); err == nil {
			t.Error("Add after Cost: no error")
		}
		if _, err := m.Cost(metric); err == nil {
			t.Error("second Cost: no error")
		}
	}
}

// A derived model permutes its MLP neurons consistently: the gate and up
// matchings both recover the permutation, ρ = 1, p = 0 (§5.6 check b).
// Independent models give unrelated matchings.
func TestMatchTracingEndToEnd(t *testing.T) {
	const h, tokens = 60, 200
	r := rand.New(rand.NewPCG(6, 6))
	sigma := r.Perm(h)
	random := func() []float32 {
		x := make([]float32, tokens*h)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	// derived: neuron sigma[i] of model 2 is neuron i of model 1, plus noise.
	derive := func(a []float32) []float32 {
		b := make([]float32, len(a))
		for t := range tokens {
			for i := range h {
				b[t*h+sigma[i]] = a[t*h+i] + float32(0.05*r.NormFloat64())
			}
		}
		return b
	}
	match := func(a, b []float32) []int {
		m, err := NewMatch(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Add(a, b, tokens); err != nil {
			t.Fatal(err)
		}
		cost, _ := m.Cost(Euclidean)
		perm, _, err := Assign(cost, h)
		if err != nil {
			t.Fatal(err)
		}
		return perm
	}
	gate, up := random(), random()
	pg, pu := match(gate, derive(gate)), match(up, derive(up))
	if fmt.Sprint(pg) != fmt.Sprint(sigma) || fmt.Sprint(pu) != fmt.Sprint(sigma) {
		t.Fatalf("derived model: matchings do not recover the permutation")
	}
	if rho, p, _ := SpearmanPerm(pg, pu); rho != 1 || p != 0 {
		t.Errorf("derived: ρ %v p %v", rho, p)
	}
	pg, pu = match(gate, random()), match(up, random())
	if rho, p, _ := SpearmanPerm(pg, pu); math.Abs(rho) > 0.5 || p < 1e-4 {
		t.Errorf("independent: ρ %v p %v", rho, p)
	}
}

func TestMatchErrors(t *testing.T) {
	if _, err := NewMatch(0); err == nil {
		t.Error("h = 0: no error")
	}
	m, _ := NewMatch(2)
	if _, err := m.Cost(Euclidean); err == nil {
		t.Error("Cost with no tokens: no error")
	}
	if err := m.Add([]float32{1, 2, 3}, []float32{1, 2}, 1); err == nil {
		t.Error("size mismatch: no error")
	}
	if err := m.Add([]float32{1, float32(math.Inf(1))}, []float32{1, 2}, 1); err == nil {
		t.Error("Inf activation: no error")
	}
	m, _ = NewMatch(2)
	_ = m.Add([]float32{1, 0}, []float32{0, 0}, 1)
	cost, err := m.Cost(Cosine)
	if err != nil || cost[0] != 0 || cost[1] != 0 {
		t.Errorf("cosine with a zero norm: %v %v", cost, err)
	}
	m, _ = NewMatch(2)
	_ = m.Add([]float32{1, 0}, []float32{0, 1}, 1)
	if _, err := m.Cost(MatchMetric(7)); err == nil {
		t.Error("unknown metric: no error")
	}
}

// A float32 block product (as a SIMD GEMM gives) accumulates to the float64
// result within float32 rounding.
func TestMatchProduct(t *testing.T) {
	const h, T, blocks = 7, 5, 3
	r := rand.New(rand.NewPCG(5, 6))
	naive := func(p, a, b []float32, t, h int) {
		for i := 0; i < h; i++ {
			for j := 0; j < h; j++ {
				var s float32
				for k := 0; k < t; k++ {
					s += a[k*h+i] * b[k*h+j]
				}
				p[i*h+j] = s
			}
		}
	}
	m64, _ := NewMatch(h)
	m32, _ := NewMatch(h)
	m32.SetProduct(naive)
	for range blocks {
		a, b := make([]float32, T*h), make([]float32, T*h)
		for i := range a {
			a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		if err := m64.Add(a, b, T); err != nil {
			t.Fatal(err)
		}
		if err := m32.Add(a, b, T); err != nil {
			t.Fatal(err)
		}
	}
	if m32.Tokens() != blocks*T {
		t.Fatalf("tokens %d", m32.Tokens())
	}
	for _, metric := range []MatchMetric{Euclidean} {
		c64, _ := m64.Cost(metric)
		c32, _ := m32.Cost(metric)
		for k := range c64 {
			if math.Abs(c64[k]-c32[k]) > 1e-4*(1+math.Abs(c64[k])) {
				t.Fatalf("cost[%d] = %v with the float32 product, %v in float64", k, c32[k], c64[k])
			}
		}
	}
}
