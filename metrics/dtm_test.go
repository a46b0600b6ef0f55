package metrics

import (
	"math"
	"testing"
)

func TestDivergenceWorkedExample(t *testing.T) {
	// METRICS.md §1.10.
	y := []int{1701, 432, 975, 278, 17366, 11203}
	tests := []struct {
		name        string
		pred        []int
		fdt, sdt    int
		norm, share float64
	}{
		{"diverged", []int{1701, 432, 263, 278, 17366, 3290}, 2, 2, 1.0 / 3, 1.0 / 3},
		{"identical", y, 6, 0, 1, 0},
		{"first token", []int{1, 432, 975, 278, 17366, 11203}, 0, 1, 0, 1.0 / 6},
	}
	for _, tt := range tests {
		d, err := DivergenceOf(y, tt.pred)
		if err != nil {
			t.Fatal(err)
		}
		if d.G != 6 || d.FDT != tt.fdt || d.SDT != tt.sdt || !approx(d.FDTNorm(), tt.norm, 0) || !approx(d.SDTShare(), tt.share, 0) {
			t.Errorf("%s: %+v norm %v share %v", tt.name, d, d.FDTNorm(), d.SDTShare())
		}
		if !approx(d.FDTNorm(), tt.norm, 0.001) { // printed as 0.333
			t.Errorf("%s: FDT_norm %v", tt.name, d.FDTNorm())
		}
	}
}

func TestDTMAccumulatorWorkedExample(t *testing.T) {
	// §1.10: three samples with FDT = [2, 6, 0], G = 6: mean 2.667, median 2,
	// FDT_norm mean 0.444, share never diverged 1/3.
	var a DTMAccumulator
	for _, fdt := range []int{2, 6, 0} {
		sdt := 0
		if fdt < 6 {
			sdt = 1
		}
		a.Add(Divergence{G: 6, FDT: fdt, SDT: sdt})
	}
	s := a.Summary()
	if s.N != 3 || !approx(s.FDTMean, 2.667, 0.001) || s.FDTMedian != 2 || !approx(s.FDTNorm, 0.444, 0.001) || !approx(s.FullShare, 1.0/3, 0) {
		t.Errorf("summary %+v", s)
	}
	if !approx(s.FDTMean, 8.0/3, 0) || !approx(s.FDTNorm, 4.0/9, 0) || !approx(s.SDTShare, 1.0/9, 0) {
		t.Errorf("exact values %+v", s)
	}
	if !approx(s.FDTP10, 0.4, 0) { // sorted (0, 2, 6): x = 0.2 → 0.4
		t.Errorf("p10 %v", s.FDTP10)
	}
	if s.Positions != 18 {
		t.Errorf("positions %d", s.Positions)
	}
}

func TestDTMVariableG(t *testing.T) {
	// EOS policy (§1.4): per-sample G normalises per sample.
	var a, b, merged DTMAccumulator
	a.Add(Divergence{G: 4, FDT: 4, SDT: 0})
	b.Add(Divergence{G: 8, FDT: 2, SDT: 4})
	merged.Merge(&a)
	merged.Merge(&b)
	s := merged.Summary()
	if !approx(s.FDTMean, 3, 0) || !approx(s.FDTNorm, (1+0.25)/2, 0) || !approx(s.SDTShare, 0.25, 0) || s.FullShare != 0.5 || s.Positions != 12 {
		t.Errorf("%+v", s)
	}
	var empty DTMAccumulator
	if s := empty.Summary(); s.N != 0 || !math.IsNaN(s.FDTMean) || !math.IsNaN(s.FullShare) {
		t.Errorf("empty %+v", s)
	}
}

func TestDivergenceOfLogits(t *testing.T) {
	const vocab = 8
	nan := float32(math.NaN())
	rows := [][]float32{
		{0, 5, 1, 0, 0, 0, 0, 0},        // argmax 1
		{0, 0, 3, 3, 0, 0, 0, 0},        // tie 2/3 → 2 (lowest id)
		{0, 0, 0, 0, 9, 0, nan, 0},      // non-finite → divergent
		{1, 1, 1, 1, 1, 1, 1, 1 + 2e-5}, // near tie, argmax 7
		{0, 0, 0, 0, 0, 0, 0, 0},        // all tied → 0
	}
	ref := []int{1, 2, 4, 7, 3}
	flat := make([]float32, 0, len(rows)*vocab)
	for _, r := range rows {
		flat = append(flat, r...)
	}
	d, err := DivergenceOfLogits(ref, flat, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if d.G != 5 || d.FDT != 2 || d.SDT != 2 || d.NonFinite != 1 {
		t.Errorf("%+v", d)
	}
	if d.Margins[0] != 4 || d.Margins[1] != 0 || !math.IsNaN(float64(d.Margins[2])) || d.Margins[4] != 0 {
		t.Errorf("margins %v", d.Margins)
	}
	if got := d.NearTies(); got != 3 { // margins 0, ~2e-5, 0
		t.Errorf("near ties %d, want 3", got)
	}
	// The token-id route agrees where the rows are finite.
	d2, _ := DivergenceOf(ref, []int{1, 2, -1, 7, 0})
	if d2.FDT != d.FDT || d2.SDT != d.SDT {
		t.Errorf("ids %+v vs logits %+v", d2, d)
	}
	// A self-comparison (FDT(F, F) = G, §1.4) from logits.
	d3, _ := DivergenceOfLogits([]int{1, 2, 7}, append(append(rows[0][:vocab:vocab], rows[1]...), rows[3]...), vocab)
	if d3.FDT != 3 || d3.SDT != 0 {
		t.Errorf("self check %+v", d3)
	}
}

func TestDivergenceErrors(t *testing.T) {
	if _, err := DivergenceOf([]int{1, 2}, []int{1}); err == nil {
		t.Error("length mismatch: no error")
	}
	if _, err := DivergenceOf(nil, nil); err == nil {
		t.Error("G = 0: no error")
	}
	if _, err := DivergenceOfLogits([]int{1}, make([]float32, 7), 4); err == nil {
		t.Error("bad logit count: no error")
	}
	if _, err := DivergenceOfLogits([]int{4}, make([]float32, 4), 4); err == nil {
		t.Error("reference id outside vocabulary: no error")
	}
	if _, err := DivergenceOfLogits([]int{1}, nil, 0); err == nil {
		t.Error("vocab 0: no error")
	}
}
