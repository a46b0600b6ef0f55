package metrics

import (
	"math"
	"testing"
)

func TestFlipsWorkedExample(t *testing.T) {
	// METRICS.md §2.6: 10 questions, gold A (0). Baseline right on q1–q6;
	// compressed wrong on q2, q5, right on q7, q9, q8 goes B → C.
	gold := make([]int, 10)
	base := []int{0, 0, 0, 0, 0, 0, 1, 1, 2, 3}
	comp := []int{0, 1, 0, 0, 2, 0, 0, 2, 0, 3}
	b, err := Grade(gold, base)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Grade(gold, comp)
	f, err := CountFlips(b, c)
	if err != nil {
		t.Fatal(err)
	}
	want := FlipCounts{N: 10, BaseCorrect: 6, CompCorrect: 6, CorrectToIncorrect: 2, IncorrectToCorrect: 2, WrongToWrong: 1}
	if f != want {
		t.Errorf("counts %+v, want %+v", f, want)
	}
	if f.Flips() != 0.4 || f.AllChanges() != 0.5 || f.DeltaAcc() != 0 || f.BaseAcc() != 0.6 || f.CompAcc() != 0.6 {
		t.Errorf("flips %v all %v Δacc %v acc %v→%v", f.Flips(), f.AllChanges(), f.DeltaAcc(), f.BaseAcc(), f.CompAcc())
	}
}

func TestFlipsUnparsed(t *testing.T) {
	// An unparsed answer (−1) is wrong, and a change to or from it is W→W′.
	b := []Answer{{Pred: -1}, {Pred: 2}, {Pred: -1}, {Pred: 0, Correct: true}}
	c := []Answer{{Pred: 1}, {Pred: -1}, {Pred: -1}, {Pred: -1}}
	f, err := CountFlips(b, c)
	if err != nil {
		t.Fatal(err)
	}
	if f.WrongToWrong != 2 || f.CorrectToIncorrect != 1 || f.IncorrectToCorrect != 0 {
		t.Errorf("%+v", f)
	}
	if g, _ := Grade([]int{0}, []int{-1}); g[0].Correct {
		t.Error("unparsed graded correct")
	}
	if _, err := CountFlips(nil, nil); err == nil {
		t.Error("N = 0: no error")
	}
	if _, err := CountFlips(b, c[:2]); err == nil {
		t.Error("length mismatch: no error")
	}
	if _, err := Grade([]int{1}, nil); err == nil {
		t.Error("Grade length mismatch: no error")
	}
}

func TestOptionKLWorkedExample(t *testing.T) {
	// §2.6: P_b = (0.7, 0.2, 0.1), P_c = (0.6, 0.3, 0.1).
	pb, pc := []float64{0.7, 0.2, 0.1}, []float64{0.6, 0.3, 0.1}
	if kl := OptionKL(pb, pc); !approx(kl, 0.026812, 1e-6) {
		t.Errorf("KL %v, want 0.026812", kl)
	}
	if kl := OptionKL(pc, pb); !approx(kl, 0.029149, 1e-6) {
		t.Errorf("reverse KL %v, want 0.029149", kl)
	}
	// From log-likelihoods.
	llb, llc := []float64{-1.2, -2.5, -3.1}, []float64{-1.4, -2.2, -3.0}
	for i, want := range []float64{0.70319, 0.19164, 0.10517} {
		if got := OptionProbs(llb)[i]; !approx(got, want, 1e-5) {
			t.Errorf("P_b[%d] = %v, want %v", i, got, want)
		}
	}
	for i, want := range []float64{0.60561, 0.27212, 0.12227} {
		if got := OptionProbs(llc)[i]; !approx(got, want, 1e-5) {
			t.Errorf("P_c[%d] = %v, want %v", i, got, want)
		}
	}
	s, err := CompareOptions(llb, llc)
	if err != nil {
		t.Fatal(err)
	}
	// The doc's margin 0.51155 is the difference of the rounded
	// probabilities; the exact value is 0.5115449, so allow ±1e-5.
	if !approx(s.KL, 0.022010, 1e-6) || !approx(s.BaseMargin, 0.51155, 2e-5) || s.BasePred != 0 || s.CompPred != 0 {
		t.Errorf("%+v", s)
	}
	pB, pC := OptionProbs(llb), OptionProbs(llc)
	if !approx(s.ReverseKL, OptionKL(pC, pB), 0) || !approx(s.Shift, 2*(pB[0]-pC[0]), 0) {
		t.Errorf("reverse %v shift %v", s.ReverseKL, s.Shift)
	}
}

func TestOptionEdgeCases(t *testing.T) {
	if kl := OptionKL([]float64{0, 1}, []float64{0.5, 0.5}); !approx(kl, math.Ln2, 0) {
		t.Errorf("zero-probability term: %v", kl)
	}
	if kl := OptionKL([]float64{0.5, 0.5}, []float64{1, 0}); !math.IsInf(kl, 1) {
		t.Errorf("q = 0 under p > 0: %v", kl)
	}
	if !math.IsNaN(OptionKL([]float64{1}, []float64{0.5, 0.5})) || !math.IsNaN(ProbShift([]float64{1}, nil)) {
		t.Error("length mismatch: want NaN")
	}
	if m := TopMargin([]float64{0.4, 0.4, 0.2}); m != 0 {
		t.Errorf("tied margin %v", m)
	}
	if p := OptionProbs([]float64{-1000, -1000}); p[0] != 0.5 {
		t.Errorf("stable softmax %v", p)
	}
	if _, err := CompareOptions([]float64{1, math.Inf(-1)}, []float64{1, 2}); err == nil {
		t.Error("non-finite score: no error")
	}
	if _, err := CompareOptions(nil, nil); err == nil {
		t.Error("no options: no error")
	}
}

func TestChoose(t *testing.T) {
	tests := []struct {
		scores []float64
		want   int
	}{
		{[]float64{-3, -1, -2}, 1},
		{[]float64{-1, -2, -1}, 0}, // tie → lowest index
		{[]float64{math.NaN(), -5, -5}, 1},
		{nil, -1},
	}
	for _, tt := range tests {
		if got := Choose(tt.scores); got != tt.want {
			t.Errorf("Choose(%v) = %d, want %d", tt.scores, got, tt.want)
		}
	}
	// acc vs acc_norm: a long option with higher total LL loses per character.
	ll := []float64{-6, -4}
	norm, err := LengthNormalized(ll, []int{12, 4})
	if err != nil {
		t.Fatal(err)
	}
	if Choose(ll) != 1 || Choose(norm) != 0 {
		t.Errorf("acc %d acc_norm %d (scores %v)", Choose(ll), Choose(norm), norm)
	}
	if _, err := LengthNormalized(ll, []int{3, 0}); err == nil {
		t.Error("zero length: no error")
	}
	if _, err := LengthNormalized(ll, []int{3}); err == nil {
		t.Error("length mismatch: no error")
	}
}

// Option scores far apart give a finite KL (the probabilities underflow,
// their logarithms do not).
func TestCompareOptionsFarApart(t *testing.T) {
	st, err := CompareOptions([]float64{-1, -2}, []float64{-1, -900})
	if err != nil {
		t.Fatal(err)
	}
	// KL = p1·(ln p1 − ln q1) + p2·(ln p2 − ln q2) with q2 ≈ e^−899.
	p2 := 1 / (1 + math.E)
	want := (1-p2)*(math.Log(1-p2)-0) + p2*(math.Log(p2)-(-899))
	if math.IsInf(st.KL, 0) || math.Abs(st.KL-want) > 1e-9*want {
		t.Fatalf("KL = %v, want %v", st.KL, want)
	}
}
