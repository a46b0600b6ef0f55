package eval

import (
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/metrics"
	"github.com/divergo/divergo/quant"
)

// tinyConfig is a small random shape (4 layers, 48 MLP neurons) reading
// the embedded model's 512-piece vocabulary.
func tinyConfig(e *Env) engine.Config {
	c := e.Model.Config
	c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.MaxSeq = 32, 48, 4, 4, 4, 8, 128
	return c
}

func newRandom(t *testing.T, e *Env, c engine.Config, seed uint64) *engine.Model {
	t.Helper()
	m, err := engine.NewRandom(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	m.Tokenizer = e.Model.Tokenizer
	t.Cleanup(func() { m.Close() })
	return m
}

// A model traced against itself matches every neuron to itself: π_gate =
// π_up = identity, ρ = 1, p = 0 in every layer, Fisher's p = 0.
func TestTraceSelf(t *testing.T) {
	e := embeddedEnv(t, 2)
	r, err := Trace(e, e.Model, DefaultCorpus(), TraceOptions{Tokens: 1200})
	if err != nil {
		t.Fatal(err)
	}
	if r.Tokens != 1024 || r.Blocks != 2 || r.Block != 512 || r.Neurons != 172 || r.Passes != 1 {
		t.Errorf("tokens %d blocks %d×%d neurons %d passes %d", r.Tokens, r.Blocks, r.Block, r.Neurons, r.Passes)
	}
	if len(r.Layers) != 5 {
		t.Fatalf("%d layers, want 5", len(r.Layers))
	}
	for i, l := range r.Layers {
		if l.Layer != i || l.Rho != 1 || l.P != 0 || l.Agree != 1 || l.Identity != 1 {
			t.Errorf("layer %d: %+v, want ρ 1, p 0, identity matchings", i, l)
		}
	}
	if r.PFisher != 0 || r.LogPFisher != nil || r.ZeroLayers != 5 || r.K != 5 {
		t.Errorf("Fisher p %v, log %v, zero layers %d, k %d", r.PFisher, r.LogPFisher, r.ZeroLayers, r.K)
	}
}

// A "fine-tuned relative" — the model with its MLP neurons permuted in every
// layer and 1% weight noise — is traced to its base in every layer, with
// every match metric (METRICS.md §5.6 check b), although its neurons are
// no longer in place.
func TestTracePermutedNoised(t *testing.T) {
	e := embeddedEnv(t, 2)
	p, err := e.Model.PermuteMLP(7)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b, err := p.AddNoise(0.01, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, metric := range []metrics.MatchMetric{metrics.Euclidean, metrics.CrossProduct, metrics.Cosine} {
		r, err := Trace(e, b, DefaultCorpus(), TraceOptions{Tokens: 512, Metric: metric})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range r.Layers {
			if l.P > 1e-30 || l.Rho < 0.99 || l.Identity > 0.05 {
				t.Errorf("%s layer %d: %+v, want p ≪ 0.01, ρ ≈ 1, neurons moved", r.Metric, l.Layer, l)
			}
		}
		if r.PFisher > 1e-100 {
			t.Errorf("%s: Fisher p %v, want ≈ 0", r.Metric, r.PFisher)
		}
	}
}

// A compressed copy keeps its neurons in place: every layer is traced (p ≈
// 0) and matched to the identity (METRICS.md §5.6).
func TestTraceCompressed(t *testing.T) {
	e := embeddedEnv(t, 2)
	plan, err := quant.ParsePlan("int4:g32")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := e.Model.ApplyPlan(plan)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := Trace(e, b, DefaultCorpus(), TraceOptions{Tokens: 512})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range r.Layers {
		if l.P > 1e-30 || l.Identity < 0.9 {
			t.Errorf("layer %d: %+v, want p ≈ 0 and neurons in place", l.Layer, l)
		}
	}
}

// Independent models give unrelated matchings: over 10 seed pairs × 4
// layers the p-values spread over (0, 1) like a uniform sample
// (Kolmogorov–Smirnov distance below the 1% critical value 1.63/√n).
func TestTraceIndependent(t *testing.T) {
	e := embeddedEnv(t, 2)
	c := tinyConfig(e)
	var ps []float64
	for s := uint64(1); s <= 10; s++ {
		a, b := newRandom(t, e, c, 2*s), newRandom(t, e, c, 2*s+1)
		r, err := Trace(&Env{Model: a, Pool: e.Pool}, b, DefaultCorpus(), TraceOptions{Tokens: 2048})
		if err != nil {
			t.Fatal(err)
		}
		if r.Block != 128 || r.Blocks != 16 {
			t.Fatalf("block %d × %d, want the models' context 128 × 16", r.Block, r.Blocks)
		}
		for _, l := range r.Layers {
			ps = append(ps, l.P)
		}
	}
	sort.Float64s(ps)
	n := float64(len(ps))
	var d float64
	for i, p := range ps {
		if !(p > 0 && p < 1) {
			t.Errorf("p %v outside (0, 1)", p)
		}
		d = max(d, float64(i+1)/n-p, p-float64(i)/n)
	}
	if crit := 1.63 / math.Sqrt(n); d > crit || ps[0] > 0.1 || ps[len(ps)-1] < 0.9 {
		t.Errorf("p-values %v: KS distance %.3f (critical %.3f), want spread over (0, 1)", ps, d, crit)
	}
}

// Matching a few layers per pass (a small --mem) re-runs the models but
// gives exactly the one-pass result.
func TestTraceLayerGroups(t *testing.T) {
	e := embeddedEnv(t, 2)
	c := tinyConfig(e)
	a, b := newRandom(t, e, c, 5), newRandom(t, e, c, 6)
	b2, err := b.PermuteMLP(1)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	env := &Env{Model: a, Pool: e.Pool}
	one, err := Trace(env, b2, DefaultCorpus(), TraceOptions{Tokens: 512})
	if err != nil {
		t.Fatal(err)
	}
	perLayer := int64(16*48*48 + 40*128*48)
	for _, k := range []int{1, 3} {
		r, err := Trace(env, b2, DefaultCorpus(), TraceOptions{Tokens: 512, Mem: int64(k) * perLayer})
		if err != nil {
			t.Fatal(err)
		}
		want := (4 + k - 1) / k
		if r.LayersPerPass != k || r.Passes != want {
			t.Errorf("mem for %d layers: %d per pass, %d passes; want %d, %d", k, r.LayersPerPass, r.Passes, k, want)
		}
		for i := range r.Layers {
			if r.Layers[i] != one.Layers[i] {
				t.Errorf("%d layers per pass, layer %d: %+v, one pass %+v", k, i, r.Layers[i], one.Layers[i])
			}
		}
	}
}

func TestTraceErrors(t *testing.T) {
	e := embeddedEnv(t, 2)
	c := tinyConfig(e)
	a := newRandom(t, e, c, 1)
	env := &Env{Model: a, Pool: e.Pool}
	shape := func(f func(*engine.Config)) *engine.Model {
		d := c
		f(&d)
		return newRandom(t, e, d, 2)
	}
	for _, tc := range []struct {
		name  string
		other *engine.Model
		docs  []string
		o     TraceOptions
		want  string
	}{
		{"layers", shape(func(d *engine.Config) { d.Layers = 3 }), DefaultCorpus(), TraceOptions{}, "layers"},
		{"width", shape(func(d *engine.Config) { d.HiddenDim = 40 }), DefaultCorpus(), TraceOptions{}, "MLP neurons"},
		{"vocab", shape(func(d *engine.Config) { d.Vocab = 256 }), DefaultCorpus(), TraceOptions{}, "vocabulary"},
		{"short corpus", a, []string{"Once upon a time."}, TraceOptions{}, "no block"},
		{"few tokens", a, DefaultCorpus(), TraceOptions{Tokens: 100}, "no block"},
		{"metric", a, DefaultCorpus(), TraceOptions{Metric: 9}, "metric"},
	} {
		_, err := Trace(env, tc.other, tc.docs, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one about %q", tc.name, err, tc.want)
		}
	}
}

func TestParseMatchMetric(t *testing.T) {
	for _, s := range []string{"euclidean", "cross", "cosine"} {
		m, err := ParseMatchMetric(s)
		if err != nil || metricName(m) != s {
			t.Errorf("%q: %v, %v", s, m, err)
		}
	}
	if _, err := ParseMatchMetric("hamming"); err == nil {
		t.Error("hamming: no error")
	}
}

// The passage perplexity of both models (here the same one) is the first
// window of the disjoint protocol over the same tokens.
func TestPassagePPL(t *testing.T) {
	e := embeddedEnv(t, 2)
	lb, err := LeaderboardPPL(e.Pool, e.Model, e.Model)
	if err != nil {
		t.Fatal(err)
	}
	ppl, n := lb.PPL, lb.Tokens
	if lb.PPLOther != ppl || lb.TokensOther != n || lb.Passage != PassageName {
		t.Errorf("leaderboard %+v", lb)
	}
	ids := e.Model.Tokenizer.Encode(Passage, true, false)
	if len(ids) <= 512 || n != 511 {
		t.Fatalf("passage: %d tokens, %d scored; want it truncated to the 512-token context", len(ids), n)
	}
	ref, err := Perplexity(e, Passage, PPLOptions{Protocol: "disjoint", Ctx: 512, Chunks: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Tokens != n || math.Abs(ref.PPL-ppl) > 1e-9*ppl {
		t.Errorf("passage PPL %v over %d tokens, disjoint protocol %v over %d", ppl, n, ref.PPL, ref.Tokens)
	}
	if ppl < 2 || ppl > 200 {
		t.Errorf("stories260K passage PPL %v: implausible", ppl)
	}
	words := len(strings.Fields(Passage))
	if words < 250 || words > 450 {
		t.Errorf("passage has %d words", words)
	}
}
