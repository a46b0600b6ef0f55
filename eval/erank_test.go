package eval

import (
	"math"
	"strings"
	"testing"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/metrics"
	"github.com/divergo/divergo/quant"
)

// hiddenStates runs one text through m and returns a copy of hidden state
// l in Hugging Face's numbering (l = n_layers: after the final norm),
// captured by hooks independently of ERank.
func hiddenStates(t *testing.T, e *Env, m *engine.Model, ids []int, l int) []float32 {
	t.Helper()
	s, err := engine.NewState(m, len(ids), e.Pool)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	s.Hooks = &engine.Hooks{
		LayerInput: func(layer int, x []float32) {
			if layer == l {
				out = append([]float32(nil), x...)
			}
		},
		Final: func(h []float32) {
			if l == m.Config.Layers {
				out = append([]float32(nil), h...)
			}
		},
	}
	if _, err := s.Forward(ids, 0); err != nil {
		t.Fatal(err)
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*max(1, math.Abs(b)) }

// ERank's per-text values are metrics.EffectiveRank of the hidden states
// (re-captured here by hooks, the untrained model rebuilt from its seed),
// and the dataset values are exp(mean entropy) (METRICS.md §3.2), the mean
// ± sample std over seeds, and untrained − trained.
func TestERankAgainstDirect(t *testing.T) {
	e := embeddedEnv(t, 2)
	docs := DefaultCorpus()[:4]
	for _, layer := range []int{5, 0, 3} {
		r, err := ERank(e, docs, ERankOptions{Layers: []int{layer}, Seeds: 2, Seed: 11, Items: true})
		if err != nil {
			t.Fatal(err)
		}
		if r.Layer != layer || r.Texts != 4 || len(r.Items) != 4 || len(r.Seeds) != 2 || r.Seeds[1] != 12 || r.Layers != nil {
			t.Fatalf("layer %d: %+v", layer, r)
		}
		var h, hu [2]float64
		for i, it := range r.Items {
			ids := e.Model.Tokenizer.Encode(docs[i], true, false)
			if it.Doc != i || it.Tokens != len(ids) {
				t.Fatalf("item %d: doc %d, %d tokens; want %d", i, it.Doc, it.Tokens, len(ids))
			}
			want, err := metrics.EffectiveRank(hiddenStates(t, e, e.Model, ids, layer), len(ids), 64)
			if err != nil {
				t.Fatal(err)
			}
			if !near(it.ERank, want.Rank, 1e-12) {
				t.Errorf("layer %d text %d: eRank %v, direct %v", layer, i, it.ERank, want.Rank)
			}
			h[0] += want.Entropy
			for k, seed := range r.Seeds {
				u := newRandom(t, e, e.Model.Config, seed)
				wu, err := metrics.EffectiveRank(hiddenStates(t, e, u, ids, layer), len(ids), 64)
				if err != nil {
					t.Fatal(err)
				}
				if !near(it.Untrained[k], wu.Rank, 1e-12) {
					t.Errorf("layer %d text %d seed %d: untrained eRank %v, direct %v", layer, i, seed, it.Untrained[k], wu.Rank)
				}
				hu[k] += wu.Entropy
			}
		}
		u0, u1 := math.Exp(hu[0]/4), math.Exp(hu[1]/4)
		mean, std := (u0+u1)/2, math.Abs(u0-u1)/math.Sqrt2
		switch {
		case !near(r.ERank, math.Exp(h[0]/4), 1e-12):
			t.Errorf("layer %d: erank %v, want exp(mean H) %v", layer, r.ERank, math.Exp(h[0]/4))
		case !near(*r.ERankUntrained, mean, 1e-12) || !near(*r.ERankUntrainedStd, std, 1e-9):
			t.Errorf("layer %d: untrained %v ± %v, want %v ± %v", layer, *r.ERankUntrained, *r.ERankUntrainedStd, mean, std)
		case !near(*r.DiffERank, mean-r.ERank, 1e-12) || *r.DiffERankStd != *r.ERankUntrainedStd:
			t.Errorf("layer %d: diff %v ± %v", layer, *r.DiffERank, *r.DiffERankStd)
		case r.ERankCompressed != nil || r.DeltaERank != nil:
			t.Errorf("layer %d: compressed values without a plan", layer)
		}
	}
}

// The paper's claim on a trained model: its final representations have a
// lower effective rank than an untrained model's, so Diff-eRank > 0; the
// same seeds give the same numbers.
func TestERankTrainedVsUntrained(t *testing.T) {
	e := embeddedEnv(t, 2)
	docs := DefaultCorpus()[:12]
	r, err := ERank(e, docs, ERankOptions{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Seeds) != 3 || len(r.ERankUntrainedAll) != 3 || r.Layer != 5 {
		t.Fatalf("default: %d seeds, layer %d; want 3 seeds, the final state", len(r.Seeds), r.Layer)
	}
	if *r.DiffERank < 3*(*r.DiffERankStd) || *r.DiffERank < 1 {
		t.Errorf("diff-erank %v ± %v, want clearly > 0 (trained %v, untrained %v)", *r.DiffERank, *r.DiffERankStd, r.ERank, *r.ERankUntrained)
	}
	if r.ERank < 1 || r.ERank > 64 || r.ERankTextMean < r.ERank {
		// exp of a mean ≤ mean of exp (Jensen)
		t.Errorf("erank %v, per-text mean %v", r.ERank, r.ERankTextMean)
	}
	again, err := ERank(e, docs, ERankOptions{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if again.ERankLayer.ERank != r.ERank || *again.ERankUntrained != *r.ERankUntrained {
		t.Errorf("not reproducible: %v / %v vs %v / %v", again.ERank, *again.ERankUntrained, r.ERank, *r.ERankUntrained)
	}
	one, err := ERank(e, docs, ERankOptions{Seed: 43, Seeds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if one.ERankUntrainedStd != nil || one.DiffERankStd != nil || *one.ERankUntrained != r.ERankUntrainedAll[1] {
		t.Errorf("one seed: %+v; want no std and seed 43's value %v", one.ERankLayer, r.ERankUntrainedAll[1])
	}
}

// Several hidden states in one run agree with single-state runs; the
// top-level values are the highest state's.
func TestERankLayers(t *testing.T) {
	e := embeddedEnv(t, 2)
	docs := DefaultCorpus()[:4]
	all, err := ERank(e, docs, ERankOptions{Layers: []int{5, 2, 0, 2}, Seeds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Layers) != 3 || all.Layers[0].Layer != 0 || all.Layers[2].Layer != 5 || all.Layer != 5 {
		t.Fatalf("layers %+v", all.Layers)
	}
	for _, l := range all.Layers {
		one, err := ERank(e, docs, ERankOptions{Layers: []int{l.Layer}, Seeds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if one.ERank != l.ERank || *one.ERankUntrained != *l.ERankUntrained {
			t.Errorf("layer %d: %v / %v alone, %v / %v together", l.Layer, one.ERank, *one.ERankUntrained, l.ERank, *l.ERankUntrained)
		}
	}
	for _, bad := range [][]int{{-1}, {6}} {
		if _, err := ERank(e, docs, ERankOptions{Layers: bad}); err == nil || !strings.Contains(err.Error(), "outside") {
			t.Errorf("layers %v: %v", bad, err)
		}
	}
}

// With a plan the comparison is base vs compressed on the same texts: the
// base value is the plain eRank, and a gentle plan barely moves it.
func TestERankPlan(t *testing.T) {
	e := embeddedEnv(t, 2)
	docs := DefaultCorpus()[:8]
	base, err := ERank(e, docs, ERankOptions{Seeds: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		plan string
		tol  float64
	}{{"int8", 0.05}, {"int4:g32", 1}} {
		plan, err := quant.ParsePlan(tc.plan)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ERank(e, docs, ERankOptions{Plan: plan, Items: true})
		if err != nil {
			t.Fatal(err)
		}
		if r.ERank != base.ERank || r.Seeds != nil || r.ERankUntrained != nil || r.Changed != 35 || r.Plan != tc.plan {
			t.Fatalf("%s: %+v", tc.plan, r)
		}
		if d := *r.DeltaERank; d != r.ERank-*r.ERankCompressed || d == 0 || math.Abs(d) > tc.tol {
			t.Errorf("%s: Δ eRank %v (base %v, compressed %v)", tc.plan, d, r.ERank, *r.ERankCompressed)
		}
		if r.Items[0].Compressed == nil || r.Items[0].Untrained != nil {
			t.Errorf("%s: item %+v", tc.plan, r.Items[0])
		}
	}
	none, _ := quant.ParsePlan("layers.9.mlp.up=int8")
	if _, err := ERank(e, docs, ERankOptions{Plan: none}); err == nil || !strings.Contains(err.Error(), "no matrix") {
		t.Errorf("plan selecting nothing: %v", err)
	}
}

// Texts under 2 tokens are skipped and counted (the reference would give
// NaN); truncation applies to every text.
func TestERankSkipAndTruncate(t *testing.T) {
	e := embeddedEnv(t, 2)
	docs := append([]string{""}, DefaultCorpus()[:3]...)
	r, err := ERank(e, docs, ERankOptions{Seeds: 1, MaxTokens: 16})
	if err != nil {
		t.Fatal(err)
	}
	if r.Texts != 3 || r.Skipped != 1 || r.Tokens != 48 || r.MaxTokens != 16 {
		t.Errorf("texts %d skipped %d tokens %d max %d; want 3, 1, 48, 16", r.Texts, r.Skipped, r.Tokens, r.MaxTokens)
	}
	r, err = ERank(e, DefaultCorpus()[:3], ERankOptions{Seeds: 1, Limit: 2})
	if err != nil || r.Texts != 2 || r.MaxTokens != 512 {
		t.Errorf("limit 2: %d texts, max tokens %d (want the 512 context), %v", r.Texts, r.MaxTokens, err)
	}
	for _, tc := range []struct {
		docs []string
		o    ERankOptions
		want string
	}{
		{[]string{"", ""}, ERankOptions{}, "2 tokens"},
		{nil, ERankOptions{}, "no documents"},
		{docs, ERankOptions{Seeds: -1}, "seeds"},
		{docs, ERankOptions{MaxTokens: -1}, "max tokens"},
	} {
		if _, err := ERank(e, tc.docs, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %+v: error %v, want %q", tc.docs, tc.o, err, tc.want)
		}
	}
}
