package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat"
)

func TestCompareLogitsWorkedExample(t *testing.T) {
	// METRICS.md §6.6: V = 4, next token 0.
	base := []float32{2, 1, 0, -1}
	comp := []float32{1.5, 1.6, 0, -1}
	s, err := CompareLogits(base, comp, 0, KLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"KL", s.KL, 0.119425},
		{"nll_base", s.NLLBase, 0.440190},
		{"nll_Q", s.NLLComp, 0.879787},
		{"Δp", s.DeltaP, -0.229043},
	}
	for _, c := range checks {
		if !approx(c.got, c.want, 1e-6) {
			t.Errorf("%s = %.7f, want %v", c.name, c.got, c.want)
		}
	}
	if s.BaseTop != 0 || s.CompTop != 1 || s.SameTop() {
		t.Errorf("tops %d %d same %v", s.BaseTop, s.CompTop, s.SameTop())
	}
	if !approx(float64(s.BaseMargin), 1, 0) || !approx(float64(s.CompMargin), 0.1, 1e-6) {
		t.Errorf("margins %v %v", s.BaseMargin, s.CompMargin)
	}
	// p_Q of §6.6 through the reported nll.
	if !approx(math.Exp(-s.NLLComp), 0.414871, 1e-6) {
		t.Errorf("p_Q(0) = %v", math.Exp(-s.NLLComp))
	}
}

// directKL is KL(base‖comp) term by term from float64 log-softmax rows,
// optionally over the entries with base log-prob > −16 only.
func directKL(base, comp []float32, cut bool) float64 {
	lb, lq := make([]float64, len(base)), make([]float64, len(comp))
	LogSoftmax(lb, base)
	LogSoftmax(lq, comp)
	var kl float64
	for i := range lb {
		if cut && lb[i] <= -16 {
			continue
		}
		kl += math.Exp(lb[i]) * (lb[i] - lq[i])
	}
	return kl
}

func TestCompareLogitsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for trial := range 50 {
		v := 50 + r.IntN(3000)
		base, comp := make([]float32, v), make([]float32, v)
		scale := float32(1 + 10*r.Float64()) // wide rows put many entries below −16
		for i := range base {
			base[i] = scale * float32(r.NormFloat64())
			comp[i] = base[i] + float32(0.3*r.NormFloat64())
		}
		next := r.IntN(v)
		for _, cut := range []bool{false, true} {
			s, err := CompareLogits(base, comp, next, KLOptions{LlamaCppCut: cut})
			if err != nil {
				t.Fatal(err)
			}
			if want := directKL(base, comp, cut); math.Abs(s.KL-want) > 1e-12*math.Max(1, want) {
				t.Fatalf("trial %d cut %v: KL %v, direct %v", trial, cut, s.KL, want)
			}
		}
		// Log-probability rows (logits shifted by a constant) give the same KL.
		lb := make([]float64, v)
		LogSoftmax(lb, base)
		lp := make([]float32, v)
		for i := range lp {
			lp[i] = float32(lb[i])
		}
		s1, _ := CompareLogits(base, comp, next, KLOptions{})
		s2, _ := CompareLogits(lp, comp, next, KLOptions{})
		if math.Abs(s1.KL-s2.KL) > 1e-5 || math.Abs(s1.NLLBase-s2.NLLBase) > 1e-5 {
			t.Fatalf("trial %d: logits vs log-probs: KL %v / %v, nll %v / %v", trial, s1.KL, s2.KL, s1.NLLBase, s2.NLLBase)
		}
	}
}

func TestCompareLogitsIdentical(t *testing.T) {
	// KLD(F, F) = 0 exactly (METRICS.md §7 self-check).
	r := rand.New(rand.NewPCG(1, 1))
	row := make([]float32, 32000)
	for i := range row {
		row[i] = float32(4 * r.NormFloat64())
	}
	for _, cut := range []bool{false, true} {
		s, err := CompareLogits(row, row, 17, KLOptions{LlamaCppCut: cut})
		if err != nil || s.KL != 0 || s.DeltaP != 0 || !s.SameTop() || s.NLLBase != s.NLLComp {
			t.Errorf("cut %v: %+v %v", cut, s, err)
		}
	}
}

func TestCompareLogitsErrors(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name       string
		base, comp []float32
		next       int
	}{
		{"length", []float32{1, 2}, []float32{1, 2, 3}, 0},
		{"next", []float32{1, 2}, []float32{1, 2}, 2},
		{"negative next", []float32{1, 2}, []float32{1, 2}, -1},
		{"NaN base", []float32{1, nan}, []float32{1, 2}, 0},
		{"Inf comp", []float32{1, 2}, []float32{float32(math.Inf(-1)), 2}, 0},
	}
	for _, tt := range tests {
		if _, err := CompareLogits(tt.base, tt.comp, tt.next, KLOptions{}); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	var a KLAccumulator
	if _, err := a.Add([]float32{1, nan}, []float32{1, 2}, 0); err == nil || a.N() != 0 {
		t.Errorf("accumulator took a NaN row: %v, n %d", err, a.N())
	}
}

func TestKLAccumulatorWorkedValues(t *testing.T) {
	// The §6.6 percentile and mean_and_unc examples, fed as per-token KL.
	var a KLAccumulator
	for _, kl := range []float64{0.40, 0.01, 0.10, 0.02, 0.05} {
		a.AddStats(TokenStats{KL: kl})
	}
	s := a.Summary()
	p90, _ := s.KL.At(0.90)
	p999, _ := s.KL.At(0.999)
	if !approx(p90, 0.28, 0) || !approx(p999, 0.3988, 0) || s.KL.Median != 0.05 || s.KL.Max != 0.40 || s.KL.Min != 0.01 {
		t.Errorf("KL spread %+v", s.KL)
	}
	var b KLAccumulator
	for i := 1; i <= 20; i++ {
		b.AddStats(TokenStats{KL: 0.01 * float64(i)})
	}
	if s := b.Summary(); !approx(s.KL.Mean, 0.105, 0) || !approx(s.KL.Unc, 0.013229, 1e-6) {
		t.Errorf("KL mean %v ± %v", s.KL.Mean, s.KL.Unc)
	}
	if len(s.KL.Quantiles) != 8 || len(s.DeltaP.Quantiles) != 10 {
		t.Errorf("percentile lists %d, %d", len(s.KL.Quantiles), len(s.DeltaP.Quantiles))
	}
}

func TestKLAccumulatorSummary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, v = 400, 64
	var whole, part1, part2 KLAccumulator
	var nllQ, nllB, dps []float64
	same := 0
	for k := range n {
		base, comp := make([]float32, v), make([]float32, v)
		for i := range base {
			base[i] = float32(2 * r.NormFloat64())
			comp[i] = base[i] + float32(0.5*r.NormFloat64())
		}
		next := r.IntN(v)
		s, err := whole.Add(base, comp, next)
		if err != nil {
			t.Fatal(err)
		}
		half := &part1
		if k%2 == 1 {
			half = &part2
		}
		half.AddStats(s)
		nllQ = append(nllQ, s.NLLComp)
		nllB = append(nllB, s.NLLBase)
		dps = append(dps, s.DeltaP)
		if s.SameTop() {
			same++
		}
	}
	part1.Merge(&part2)
	s := whole.Summary()
	m := part1.Summary()
	if s.KL.Mean != m.KL.Mean && !near(s.KL.Mean, m.KL.Mean, 1e-14) || s.N != m.N || s.SameTop != m.SameTop {
		t.Errorf("merged summary differs: %v vs %v", s.KL.Mean, m.KL.Mean)
	}

	// Cor(ln PPL(Q), ln PPL(base)) as llama.cpp computes it is Pearson's r
	// of the per-token NLLs.
	if r := stat.Correlation(nllQ, nllB, nil); !near(s.Cor, r, 1e-10) {
		t.Errorf("Cor %v, Pearson %v", s.Cor, r)
	}
	mq, mb := stat.Mean(nllQ, nil), stat.Mean(nllB, nil)
	if !near(s.PPLComp, math.Exp(mq), 1e-12) || !near(s.PPLBase, math.Exp(mb), 1e-12) {
		t.Errorf("PPL %v %v", s.PPLComp, s.PPLBase)
	}
	if !near(s.LnRatio, mq-mb, 1e-12) || !near(s.Ratio, math.Exp(mq-mb), 1e-12) || !near(s.DeltaPPL, math.Exp(mq)-math.Exp(mb), 1e-12) {
		t.Errorf("ratio %v %v Δ %v", s.LnRatio, s.Ratio, s.DeltaPPL)
	}
	// unc of the mean difference = standard error of the paired differences.
	diff := make([]float64, n)
	for i := range diff {
		diff[i] = nllQ[i] - nllB[i]
	}
	_, sd := stat.PopMeanStdDev(diff, nil)
	if want := sd / math.Sqrt(n-1); !near(s.LnRatioUnc, want, 1e-8) {
		t.Errorf("ln ratio unc %v, want %v", s.LnRatioUnc, want)
	}
	var dp2 float64
	for _, d := range dps {
		dp2 += d * d
	}
	if !near(s.RMSDeltaP, math.Sqrt(dp2/n), 1e-12) || s.RMSDeltaPUnc <= 0 {
		t.Errorf("RMS Δp %v ± %v", s.RMSDeltaP, s.RMSDeltaPUnc)
	}
	p := float64(same) / n
	if !near(s.SameTop, p, 1e-15) || !near(s.SameTopUnc, math.Sqrt(p*(1-p)/(n-1)), 1e-12) {
		t.Errorf("same top %v ± %v", s.SameTop, s.SameTopUnc)
	}
	if !near(s.DeltaP.Mean, stat.Mean(dps, nil), 1e-12) {
		t.Errorf("Δp mean %v", s.DeltaP.Mean)
	}
	if vals := whole.KLValues(); len(vals) != n || vals[0] != whole.kl.v[0] {
		t.Errorf("KLValues %d", len(vals))
	}
}

func TestKLAccumulatorIdenticalModels(t *testing.T) {
	var a KLAccumulator
	r := rand.New(rand.NewPCG(5, 6))
	row := make([]float32, 100)
	for range 50 {
		for i := range row {
			row[i] = float32(r.NormFloat64())
		}
		if _, err := a.Add(row, row, r.IntN(100)); err != nil {
			t.Fatal(err)
		}
	}
	s := a.Summary()
	if s.KL.Max != 0 || s.LnRatio != 0 || s.Ratio != 1 || s.DeltaPPL != 0 || s.SameTop != 1 || s.RMSDeltaP != 0 || !near(s.Cor, 1, 1e-12) || s.LnRatioUnc > 1e-7 {
		t.Errorf("identical models: %+v", s)
	}
}

func BenchmarkCompareLogits(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	base, comp := make([]float32, 32000), make([]float32, 32000)
	for i := range base {
		base[i] = float32(3 * r.NormFloat64())
		comp[i] = base[i] + float32(0.1*r.NormFloat64())
	}
	for _, cut := range []bool{false, true} {
		b.Run(fmt.Sprintf("V=32000/cut=%v", cut), func(b *testing.B) {
			for b.Loop() {
				if _, err := CompareLogits(base, comp, 5, KLOptions{LlamaCppCut: cut}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
