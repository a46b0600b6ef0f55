package metrics

import (
	"fmt"
	"math"
	"testing"
)

func TestPlans(t *testing.T) {
	w := func(start, length int, bos bool, first, last int) Window {
		return Window{Start: start, Len: length, BOS: bos, First: first, Last: last}
	}
	tests := []struct {
		name       string
		proto      string
		n, ctx, mx int
		want       []Window
	}{
		// Disjoint: ⌊10/4⌋ = 2 windows, remainder dropped; positions 0…2
		// predict tokens 1…3 of each window.
		{"disjoint", "disjoint", 10, 4, 0, []Window{w(0, 4, false, 0, 2), w(4, 4, false, 0, 2)}},
		{"disjoint exact", "disjoint", 8, 4, 0, []Window{w(0, 4, false, 0, 2), w(4, 4, false, 0, 2)}},
		{"disjoint limit", "disjoint", 12, 4, 1, []Window{w(0, 4, false, 0, 2)}},
		// HF stride 2, ctx 4, n 10: the first window predicts tokens 1…3,
		// each later one the 2 tokens past the previous window's end.
		{"stride", "stride:2", 10, 4, 0, []Window{
			w(0, 4, false, 0, 2), w(2, 4, false, 1, 2), w(4, 4, false, 1, 2), w(6, 4, false, 1, 2)}},
		// Stride = ctx: disjoint windows keeping the short last one.
		{"stride=ctx", "stride:4", 10, 4, 0, []Window{
			w(0, 4, false, 0, 2), w(4, 4, false, 0, 2), w(8, 2, false, 0, 0)}},
		// A last window of one token scores nothing and is left out.
		{"stride=ctx, lone last token", "stride:4", 9, 4, 0, []Window{
			w(0, 4, false, 0, 2), w(4, 4, false, 0, 2)}},
		{"stride, short stream", "stride:3", 3, 8, 0, []Window{w(0, 3, false, 0, 1)}},
		// llama.cpp: ⌊10/4⌋ = 2 chunks, BOS first, positions 2…2 scored.
		{"llamacpp", "llamacpp", 10, 4, 0, []Window{w(0, 4, true, 2, 2), w(4, 4, true, 2, 2)}},
		{"llamacpp odd ctx", "llamacpp", 10, 5, 0, []Window{w(0, 5, true, 2, 3), w(5, 5, true, 2, 3)}},
		{"llamacpp chunks", "llamacpp", 4096, 512, 3, []Window{
			w(0, 512, true, 256, 510), w(512, 512, true, 256, 510), w(1024, 512, true, 256, 510)}},
	}
	for _, tt := range tests {
		p, err := ParseProtocol(tt.proto)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Plan(tt.n, tt.ctx, tt.mx)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: plan\n%v\nwant\n%v", tt.name, got, tt.want)
		}
	}
}

func TestPlanLlamaCppScoresHalfChunks(t *testing.T) {
	// ctx 512: 255 scored tokens per chunk (§6.1); wiki.test.raw ≈ 655 chunks.
	plan, err := Protocol{Kind: LlamaCpp}.Plan(655*512+100, 512, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 655 || plan[0].Scored() != 255 || ScoredTokens(plan) != 655*255 {
		t.Errorf("%d chunks, %d scored per chunk, %d in all", len(plan), plan[0].Scored(), ScoredTokens(plan))
	}
}

// With 1 ≤ stride < ctx the strided protocol predicts every token after the
// first exactly once (with stride = ctx, all but each window's first token);
// disjoint predicts ctx−1 tokens per full window.
func TestPlanCoverage(t *testing.T) {
	for n := 2; n <= 40; n++ {
		for ctx := 2; ctx <= 9; ctx++ {
			for stride := 1; stride <= ctx; stride++ {
				plan, err := Protocol{Kind: Strided, Stride: stride}.Plan(n, ctx, 0)
				if err != nil {
					t.Fatalf("n %d ctx %d stride %d: %v", n, ctx, stride, err)
				}
				hits := make([]int, n)
				for _, w := range plan {
					if w.Len > ctx || w.Start+w.Len > n || w.First < 0 || w.Last > w.Len-2 || w.Scored() < 1 {
						t.Fatalf("n %d ctx %d stride %d: bad window %+v", n, ctx, stride, w)
					}
					for j := w.First; j <= w.Last; j++ {
						hits[w.Start+j+1]++
					}
				}
				for tok := 1; tok < n; tok++ {
					want := 1
					if stride == ctx && tok%ctx == 0 {
						want = 0 // a window's first token has no logits before it
					}
					if hits[tok] != want {
						t.Fatalf("n %d ctx %d stride %d: token %d predicted %d times (%v)", n, ctx, stride, tok, hits[tok], plan)
					}
				}
			}
			if n >= ctx {
				plan, _ := Protocol{Kind: Disjoint}.Plan(n, ctx, 0)
				if ScoredTokens(plan) != (n/ctx)*(ctx-1) {
					t.Fatalf("disjoint n %d ctx %d: %d scored", n, ctx, ScoredTokens(plan))
				}
			}
		}
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		p      Protocol
		n, ctx int
	}{
		{Protocol{Kind: Disjoint}, 3, 4},
		{Protocol{Kind: LlamaCpp}, 7, 4}, // llama.cpp needs 2·ctx tokens
		{Protocol{Kind: LlamaCpp}, 100, 2},
		{Protocol{Kind: Strided, Stride: 5}, 100, 4},
		{Protocol{Kind: Strided, Stride: 0}, 100, 4},
		{Protocol{Kind: Strided, Stride: 1}, 1, 4},
		{Protocol{Kind: Disjoint}, 100, 1},
		{Protocol{Kind: 9}, 100, 4},
	}
	for _, tt := range tests {
		if _, err := tt.p.Plan(tt.n, tt.ctx, 0); err == nil {
			t.Errorf("%v n %d ctx %d: no error", tt.p, tt.n, tt.ctx)
		}
	}
	for _, s := range []string{"", "stride", "stride:", "stride:0", "stride:-2", "stride:x", "llama.cpp", "Disjoint"} {
		if _, err := ParseProtocol(s); err == nil {
			t.Errorf("ParseProtocol(%q): no error", s)
		}
	}
	for _, s := range []string{"disjoint", "stride:512", "llamacpp"} {
		if p, err := ParseProtocol(s); err != nil || p.String() != s {
			t.Errorf("round trip %q: %v %v", s, p, err)
		}
	}
}

func TestPerplexity(t *testing.T) {
	var p, q Perplexity
	nlls := []float64{0.5, 1.0, 1.5, 2.0, 0.25, 0.75, 1.25, 1.75, 0.1, 0.2, 0.3, 3.0}
	var sum, sum2 float64
	for i, x := range nlls {
		sum += x
		sum2 += x * x
		if i%2 == 0 {
			p.Add(x)
		} else {
			q.Add(x)
		}
	}
	p.Merge(&q)
	n := float64(len(nlls))
	mean := sum / n
	unc := math.Sqrt((sum2/n - mean*mean) / (n - 1))
	ppl, pu := p.PPL()
	if p.N() != len(nlls) || !near(ppl, math.Exp(mean), 1e-12) || !near(pu, math.Exp(mean)*unc, 1e-12) {
		t.Errorf("ppl %v ± %v, want %v ± %v", ppl, pu, math.Exp(mean), math.Exp(mean)*unc)
	}
	// AddLogits: the §6.6 base row scores token 0 with nll 0.440190.
	var r Perplexity
	nll, err := r.AddLogits([]float32{2, 1, 0, -1}, 0)
	if err != nil || !approx(nll, 0.440190, 1e-6) {
		t.Errorf("AddLogits %v %v", nll, err)
	}
	if ppl, _ := r.PPL(); !near(ppl, math.Exp(nll), 1e-15) {
		t.Errorf("one-token ppl %v", ppl)
	}
	if _, err := r.AddLogits([]float32{1}, 3); err == nil || r.N() != 1 {
		t.Errorf("bad token: err %v, n %d", err, r.N())
	}
}

func FuzzParseProtocol(f *testing.F) {
	for _, s := range []string{"disjoint", "llamacpp", "stride:512", "stride:1", "stride:", "stride:-1", "stride:99999999999999999999", "stride:0x10", "stride: 5", ""} {
		f.Add(s, 1000, 64)
	}
	f.Fuzz(func(t *testing.T, s string, n, ctx int) {
		p, err := ParseProtocol(s)
		if err != nil {
			return
		}
		if q, err := ParseProtocol(p.String()); err != nil || q != p {
			t.Fatalf("%q → %v does not round-trip: %v, %v", s, p, q, err)
		}
		n, ctx = n%5000, ctx%600 // plans are O(n/stride) windows
		plan, err := p.Plan(n, ctx, 0)
		if err != nil {
			return
		}
		for _, w := range plan {
			if w.Start < 0 || w.Start+w.Len > n || w.First < 0 || w.Last+1 >= w.Len || w.Scored() < 1 {
				t.Fatalf("%v n %d ctx %d: bad window %+v", p, n, ctx, w)
			}
		}
	})
}
