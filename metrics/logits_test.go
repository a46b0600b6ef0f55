package metrics

import (
	"math"
	"testing"
)

func TestLogSoftmax(t *testing.T) {
	// METRICS.md §6.6: base logits (2, 1, 0, −1).
	z := []float32{2, 1, 0, -1}
	want := []float64{0.643914, 0.236883, 0.087144, 0.032059}
	lp := make([]float64, len(z))
	lse := LogSoftmax(lp, z)
	for i, p := range want {
		if !approx(math.Exp(lp[i]), p, 1e-6) {
			t.Errorf("p[%d] = %.7f, want %v", i, math.Exp(lp[i]), p)
		}
	}
	if !near(lse, LogSumExp(z), 0) {
		t.Errorf("lse %v vs LogSumExp %v", lse, LogSumExp(z))
	}
	// Stability: huge logits would overflow a naive softmax.
	big := []float32{1e30, 1e30}
	if got, want := LogSumExp(big), float64(big[0])+math.Ln2; !near(got, want, 1e-12) {
		t.Errorf("LogSumExp(1e30, 1e30) = %v", got)
	}
	small := []float32{-1e30, -1e30 + 1e24}
	if got := LogSumExp(small); math.IsInf(got, 0) || math.IsNaN(got) {
		t.Errorf("LogSumExp of very negative logits = %v", got)
	}
	if got := LogSumExp(nil); !math.IsInf(got, -1) {
		t.Errorf("empty LogSumExp %v", got)
	}
	if got := LogSumExp([]float32{1, float32(math.NaN())}); !math.IsNaN(got) {
		t.Errorf("NaN row: %v", got)
	}
}

func TestArgmax(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name   string
		z      []float32
		id     int
		margin float32
	}{
		{"plain", []float32{1.5, 1.6, 0, -1}, 1, 0.1},
		{"tie lowest id", []float32{0, 3, 1, 3, 3}, 1, 0},
		{"tie at start", []float32{7, 7}, 0, 0},
		{"single", []float32{-2}, 0, inf},
		{"second below top", []float32{5, 1, 4}, 0, 1},
		{"NaN ignored", []float32{nan, 1, 2}, 2, 1},
		{"near tie", []float32{1, 1 + 1e-6}, 1, 1e-6},
		{"empty", nil, -1, nan},
	}
	for _, tt := range tests {
		id, m := Argmax(tt.z)
		if id != tt.id || !(m == tt.margin || math.Abs(float64(m-tt.margin)) < 1e-6 || (m != m && tt.margin != tt.margin)) {
			t.Errorf("%s: Argmax = %d, %v; want %d, %v", tt.name, id, m, tt.id, tt.margin)
		}
	}
}

func TestNonFiniteAndTokenNLL(t *testing.T) {
	if i := NonFinite([]float32{1, 2, float32(math.Inf(-1)), float32(math.NaN())}); i != 2 {
		t.Errorf("NonFinite = %d, want 2", i)
	}
	if i := NonFinite([]float32{1, -3e38}); i != -1 {
		t.Errorf("finite row: %d", i)
	}
	// §6.6: nll_base = 0.440190 for token 0 of (2, 1, 0, −1).
	nll, err := TokenNLL([]float32{2, 1, 0, -1}, 0)
	if err != nil || !approx(nll, 0.440190, 1e-6) {
		t.Errorf("TokenNLL = %v, %v", nll, err)
	}
	if _, err := TokenNLL([]float32{1, 2}, 2); err == nil {
		t.Error("token outside row: no error")
	}
	if _, err := TokenNLL([]float32{1, float32(math.NaN())}, 0); err == nil {
		t.Error("NaN logit: no error")
	}
}
