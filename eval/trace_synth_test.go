package eval

import (
	"os"
	"testing"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/internal/assets"
	"github.com/divergo/divergo/tokenizer"
)

// TestSynthShapes runs erank and trace on random models of stories110M's
// shape (dim 768, MLP 2048, 12 layers, 12 heads, vocabulary 32 000 with
// the Llama-2 tokenizer) and logs the timings. It takes minutes, so it runs
// only with DIVERGO_SYNTH_SHAPES=1:
//
//	DIVERGO_SYNTH_SHAPES=1 go test ./eval -run TestSynthShapes -v -timeout 60m
func TestSynthShapes(t *testing.T) {
	if os.Getenv("DIVERGO_SYNTH_SHAPES") == "" {
		t.Skip("set DIVERGO_SYNTH_SHAPES=1 to run erank and trace on a stories110M-shaped random model")
	}
	tok, err := tokenizer.Load(assets.Path(t, "tokenizers/llama2/tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	e := embeddedEnv(t, 2)
	c := e.Model.Config
	c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.Vocab, c.MaxSeq = 768, 2048, 12, 12, 12, 64, 32000, 1024
	start := time.Now()
	a := newRandomTok(t, c, 1, tok)
	t.Logf("NewRandom (%d params): %.1f s", a.Params(), time.Since(start).Seconds())
	env := &Env{Model: a, Pool: e.Pool}
	docs := DefaultCorpus()

	r, err := ERank(env, docs, ERankOptions{Limit: 8, Seeds: 2, Seed: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("erank: %d texts, %d tokens, erank %.3f, untrained %.3f ± %.3f: %.1f s",
		r.Texts, r.Tokens, r.ERank, *r.ERankUntrained, *r.ERankUntrainedStd, r.Timing.Seconds)

	p, err := a.PermuteMLP(9)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b, err := p.AddNoise(0.01, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tr, err := Trace(env, b, docs, TraceOptions{Tokens: 1024})
	if err != nil {
		t.Fatal(err)
	}
	logTrace(t, "permuted + 1% noise", tr)
	for _, l := range tr.Layers {
		if l.P > 1e-30 {
			t.Errorf("layer %d: p %v, want ≈ 0", l.Layer, l.P)
		}
	}
	other := newRandomTok(t, c, 2, tok)
	tr, err = Trace(env, other, docs, TraceOptions{Tokens: 1024, Mem: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	logTrace(t, "independent", tr)
	if tr.PFisher < 1e-6 {
		t.Errorf("independent models: Fisher p %v", tr.PFisher)
	}
}

func newRandomTok(t *testing.T, c engine.Config, seed uint64, tok *tokenizer.Tokenizer) *engine.Model {
	t.Helper()
	m, err := engine.NewRandom(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	m.Tokenizer = tok
	t.Cleanup(func() { m.Close() })
	return m
}

func logTrace(t *testing.T, name string, r TraceResult) {
	t.Helper()
	ps := make([]float64, len(r.Layers))
	for i, l := range r.Layers {
		ps[i] = l.P
	}
	t.Logf("trace %s: %d tokens, %d layers per pass, %d passes, p %.3g, Fisher p %.3g: forward %.1f s (of which match accumulation %.1f s), assign %.1f s, total %.1f s",
		name, r.Tokens, r.LayersPerPass, r.Passes, ps, r.PFisher, r.Timing.Forward, r.Timing.Match, r.Timing.Assign, r.Timing.Seconds)
}
