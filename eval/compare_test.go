package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/internal/assets"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/metrics"
	"github.com/divergo/divergo/quant"
)

// Small protocol for tests on the embedded stories260K model.
const (
	cmpN   = 16
	cmpG   = 32
	cmpS   = 12
	cmpCtx = 128
)

func cmpOptions() CompareOptions {
	return CompareOptions{Docs: DefaultCorpus(), Corpus: "test", PromptLen: cmpN, Gen: cmpG, Samples: cmpS,
		PPLProtocol: "llamacpp", PPLCtx: cmpCtx, PerSample: true}
}

func cmpPlan(t testing.TB, s string) *quant.Plan {
	t.Helper()
	p, err := quant.ParsePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIdenticalModels: a model compared with itself has KL exactly 0,
// FDT = G for every sample, same top 1 and nothing flagged (METRICS.md §7
// self-check), on the continuation and on the corpus text.
func TestIdenticalModels(t *testing.T) {
	e := embeddedEnv(t, 2)
	same, err := e.Model.With(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer same.Close()
	r, err := CompareModels(e, same, cmpOptions())
	if err != nil {
		t.Fatal(err)
	}
	if r.Samples != cmpS || r.Gen != cmpG || r.PromptLen != cmpN || r.Positions != cmpS*cmpG {
		t.Fatalf("samples %d, G %d, n %d, positions %d", r.Samples, r.Gen, r.PromptLen, r.Positions)
	}
	f := r.FDTM
	if f.Mean != cmpG || f.Median != cmpG || f.P10 != cmpG || f.Min != cmpG || f.FullShare != 1 || f.NormMean != 1 || r.SDTM.Mean != 0 {
		t.Errorf("FDTM %+v, SDTM %+v; want FDT = G = %d everywhere", f, r.SDTM, cmpG)
	}
	if r.KL.Max != 0 || r.KL.Min != 0 || r.KL.Mean != 0 || r.SameTop != 1 || r.DeltaP.RMS != 0 || r.Flagged != 0 {
		t.Errorf("KL %+v, same top %v, RMS Δp %v, flagged %d; want 0, 1, 0, 0", r.KL, r.SameTop, r.DeltaP.RMS, r.Flagged)
	}
	if c := r.Continuation; c.LnRatio != 0 || c.Ratio != 1 || c.NLL != c.NLLBase {
		t.Errorf("continuation %+v; want identical NLLs", c)
	}
	if r.Text == nil {
		t.Fatalf("no corpus perplexity: %s", r.TextSkipped)
	}
	if tx := r.Text; tx.KL.Max != 0 || tx.KL.Min != 0 || tx.SameTop != 1 || tx.PPL != tx.PPLBase || tx.Ratio != 1 || *r.PPL != *r.PPLBase {
		t.Errorf("text %+v; want identical models", tx)
	}
	for _, s := range r.PerSample {
		if s.FDT != cmpG || s.SDT != 0 || s.KL != 0 || s.Repairs != 0 {
			t.Errorf("sample %+v", s)
		}
	}
}

// TestCompressedProperties checks what must hold for any compressed model
// (METRICS.md §1.3–§1.4, §6.3): 0 ≤ FDT ≤ G, SDT ≥ 1 whenever FDT < G,
// KL ≥ 0 up to rounding, and same top = 1 − SDTM on these positions
// because the base argmax is y_j at every position (self-check).
func TestCompressedProperties(t *testing.T) {
	e := embeddedEnv(t, 2)
	specs := []string{"int8", "int4:g32", "prune:0.5", "int2:g32,lm_head=q8_0"}
	if testing.Short() {
		specs = specs[1:3]
	}
	for _, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			o := cmpOptions()
			o.Plan = cmpPlan(t, spec)
			r, err := Compare(e, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.PerSample) != cmpS {
				t.Fatalf("%d per-sample results", len(r.PerSample))
			}
			diverged := 0
			for _, s := range r.PerSample {
				if s.FDT < 0 || s.FDT > cmpG || s.SDT < 0 || s.SDT > cmpG-s.FDT {
					t.Errorf("sample %+v: FDT or SDT out of range", s)
				}
				if s.FDT < cmpG {
					diverged++
					if s.SDT < 1 {
						t.Errorf("sample %+v: FDT < G but SDT = 0", s)
					}
				}
				if s.KL < -1e-9 {
					t.Errorf("sample %+v: negative KL", s)
				}
			}
			if r.KL.Min < -1e-9 || (r.Text != nil && r.Text.KL.Min < -1e-9) {
				t.Errorf("KL min %g, text KL min %g", r.KL.Min, r.Text.KL.Min)
			}
			if got := 1 - r.SDTM.Mean; math.Abs(r.SameTop-got) > 1e-12 {
				t.Errorf("same top %.15f, 1 − SDTM %.15f", r.SameTop, got)
			}
			if want := float64(cmpS-diverged) / cmpS; r.FDTM.FullShare != want {
				t.Errorf("full share %v, want %v", r.FDTM.FullShare, want)
			}
			if r.KL.Mean <= 0 || r.Changes == nil || r.CompressedParams == 0 {
				t.Errorf("KL mean %g, %d changes: the plan changed nothing", r.KL.Mean, len(r.Changes))
			}
			if r.Mode != "weight-only" || r.A8Matrices != 0 || r.BaseMode != "weight-only" {
				t.Errorf("mode %q (%d), base %q", r.Mode, r.A8Matrices, r.BaseMode)
			}
			t.Logf("%s: FDTM %.2f, SDTM %.4f, KL %.5f, same top %.4f, PPL %.4f → %.4f",
				spec, r.FDTM.Mean, r.SDTM.Mean, r.KL.Mean, r.SameTop, *r.PPLBase, *r.PPL)
		})
	}
}

// cmpLMHeadVariant builds a model that provably first diverges from the base
// reference of s at position k: only LM-head row c changes, so the hidden
// states of a teacher-forced pass are bit-identical to the base's, and the
// change to logit c at position j is β·(v·h_j) with v the part of h_k
// orthogonal to h_0 … h_{k−1} — zero up to rounding before k, β|v|² at k,
// chosen to lift token c above the base maximum there. It returns the
// variant and the predicted number of divergent positions.
func cmpLMHeadVariant(t *testing.T, e *Env, s *Sample, k int) (*engine.Model, int) {
	t.Helper()
	m := e.Model
	dim, V, n, G := m.Config.Dim, m.Config.Vocab, len(s.Tokens), len(s.Ref)
	st, err := engine.NewState(m, n+G, e.Pool)
	if err != nil {
		t.Fatal(err)
	}
	var hidden []float32
	st.Hooks = &engine.Hooks{Final: func(h []float32) { hidden = append([]float32(nil), h...) }}
	logits, err := st.Forward(s.Input(), G)
	if err != nil {
		t.Fatal(err)
	}
	h := func(j int) []float64 { // final hidden state of the position predicting y_j
		out := make([]float64, dim)
		for i := range out {
			out[i] = float64(hidden[(n-1+j)*dim+i])
		}
		return out
	}
	z := func(j, id int) float64 { return float64(logits[j*V+id]) }

	// v = h_k minus its projection on span(h_0 … h_{k−1}): modified
	// Gram–Schmidt, twice for float64 orthogonality.
	var basis [][]float64
	for j := 0; j < k; j++ {
		u := h(j)
		for range 2 {
			for _, b := range basis {
				cmpProject(u, b)
			}
		}
		if nu := cmpNorm(u); nu > 1e-9 {
			cmpScale(u, 1/nu)
			basis = append(basis, u)
		}
	}
	v := h(k)
	for range 2 {
		for _, b := range basis {
			cmpProject(v, b)
		}
	}
	vv := cmpDot(v, v)
	if vv < 1e-6 {
		t.Fatalf("h_%d lies in the span of the earlier hidden states", k)
	}

	// Token c: not among y_0 … y_k, and as far below the top as possible at
	// every position before k.
	c, worst := -1, math.Inf(1)
	for id := 0; id < V; id++ {
		if slices.Contains(s.Ref[:k+1], id) {
			continue
		}
		gap := math.Inf(-1) // largest z_c − z_top before k
		for j := 0; j < k; j++ {
			gap = max(gap, z(j, id)-z(j, s.Ref[j]))
		}
		if gap < worst {
			c, worst = id, gap
		}
	}
	if k > 0 && worst > -0.5 {
		t.Fatalf("no token stays 0.5 below the top before position %d (best gap %g)", k, worst)
	}
	beta := (z(k, s.Ref[k]) - z(k, c) + 1) / vv

	w, err := m.MatrixF32("lm_head")
	if err != nil {
		t.Fatal(err)
	}
	row := w[c*dim : (c+1)*dim]
	for i := range row {
		row[i] += float32(beta * v[i])
	}
	head, err := quant.Quantize(cmpSpec(t, "f32"), "lm_head", V, dim, w)
	if err != nil {
		t.Fatal(err)
	}
	comp, err := m.With(map[string]*kernels.Matrix{"lm_head": head})
	if err != nil {
		t.Fatal(err)
	}
	// Predicted divergences: only logit c moves, so ŷ_j ∈ {y_j, c}.
	sdt := 0
	for j := k; j < G; j++ {
		zc := 0.0
		hj := h(j)
		for i := range row {
			zc += float64(row[i]) * hj[i]
		}
		top := z(j, s.Ref[j])
		if math.Abs(zc-top) < 1e-3 {
			t.Fatalf("position %d: the moved logit %g nearly ties the top %g", j, zc, top)
		}
		if zc > top || (zc == top && c < s.Ref[j]) {
			sdt++
		}
	}
	return comp, sdt
}

func cmpSpec(t testing.TB, s string) quant.Spec {
	spec, err := quant.ParseSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func cmpDot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
func cmpNorm(a []float64) float64 { return math.Sqrt(cmpDot(a, a)) }
func cmpScale(a []float64, f float64) {
	for i := range a {
		a[i] *= f
	}
}
func cmpProject(u, b []float64) { // u −= (u·b) b, b unit
	d := cmpDot(u, b)
	for i := range u {
		u[i] -= d * b[i]
	}
}

// TestKnownDivergencePoint runs hand-built variants whose first divergence
// is known in advance (cmpLMHeadVariant) through Teacher and Comparison, and one
// through CompareModels end to end.
func TestKnownDivergencePoint(t *testing.T) {
	e := embeddedEnv(t, 2)
	set, err := Prompts(e.Model.Tokenizer, DefaultCorpus(), cmpN, 1)
	if err != nil {
		t.Fatal(err)
	}
	bt, err := NewTeacher(e.Model, e.Pool, cmpN, cmpG)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := bt.Reference(set.Prompts[0], cmpG)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 1, 5, 13, cmpG - 1} {
		t.Run(fmt.Sprint("k=", k), func(t *testing.T) {
			comp, wantSDT := cmpLMHeadVariant(t, e, &s, k)
			defer comp.Close()
			ct, err := NewTeacher(comp, e.Pool, cmpN, cmpG)
			if err != nil {
				t.Fatal(err)
			}
			base, err := bt.Rows(&s)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := ct.Rows(&s)
			if err != nil {
				t.Fatal(err)
			}
			var c Comparison
			r, err := c.Add(&s, base, rows)
			if err != nil {
				t.Fatal(err)
			}
			if r.FDT != k || r.SDT != wantSDT || r.SDT < 1 {
				t.Errorf("FDT %d, SDT %d; want %d, %d", r.FDT, r.SDT, k, wantSDT)
			}
			d, err := c.Divergence()
			if err != nil {
				t.Fatal(err)
			}
			if d.FDTM.Mean != float64(k) || d.FDTM.FullShare != 0 || d.SDTM.Mean != float64(wantSDT)/cmpG {
				t.Errorf("FDTM %+v, SDTM %+v", d.FDTM, d.SDTM)
			}

			if k != 5 {
				return
			}
			o := cmpOptions()
			o.Docs, o.Samples, o.PPLProtocol = []string{o.Docs[s.Doc]}, 1, "none"
			res, err := CompareModels(e, comp, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.FDTM.Mean != float64(k) || res.PerSample[0].SDT != wantSDT || res.Text != nil || res.PPL != nil {
				t.Errorf("CompareModels: FDTM %+v, per sample %+v, text %v", res.FDTM, res.PerSample, res.Text)
			}
		})
	}
}

// TestSelfCheckRepairs injects wrong tokens into the decoded continuation:
// the self-check must find them, repair from the teacher-forced path and
// end with the same reference as a clean run, counting the repairs.
func TestSelfCheckRepairs(t *testing.T) {
	e := embeddedEnv(t, 1)
	set, err := Prompts(e.Model.Tokenizer, DefaultCorpus(), cmpN, 3)
	if err != nil {
		t.Fatal(err)
	}
	clean, err := References(e.Model, e.Pool, set.Prompts, cmpG, nil)
	if err != nil {
		t.Fatal(err)
	}
	V := e.Model.Config.Vocab
	for _, tc := range []struct {
		name    string
		corrupt []int // positions overwritten after decoding
		repairs int
	}{
		{"first", []int{0}, 1},
		{"middle", []int{9}, 1},
		{"last", []int{cmpG - 1}, 1},
		// Everything after a repaired position is decoded again, so the
		// second wrong token never reaches the check.
		{"two", []int{3, 20}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bt, err := NewTeacher(e.Model, e.Pool, cmpN, cmpG)
			if err != nil {
				t.Fatal(err)
			}
			bt.decode = func(t *Teacher, prompt []int, G int) ([]int, error) {
				y, err := t.greedy(prompt, G)
				for _, j := range tc.corrupt {
					y[j] = (y[j] + 1) % V
				}
				return y, err
			}
			for i, p := range set.Prompts {
				if clean[i].Repairs != 0 {
					t.Fatalf("sample %d needed repairs in a clean run", i)
				}
				s, rows, err := bt.Reference(p, cmpG)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(s.Ref, clean[i].Ref) || s.Repairs != tc.repairs {
					t.Errorf("sample %d: %d repairs, ref %v; want %d, %v", i, s.Repairs, s.Ref, tc.repairs, clean[i].Ref)
				}
				d, err := metrics.DivergenceOfLogits(s.Ref, rows, V)
				if err != nil || d.FDT != cmpG {
					t.Errorf("sample %d: returned rows give FDT %d (%v)", i, d.FDT, err)
				}
			}
		})
	}
}

// TestDeterminism: the same inputs give byte-identical JSON apart from
// timing, with 1 or 2 threads.
func TestDeterminism(t *testing.T) {
	var first []byte
	for _, threads := range []int{1, 2, 2} {
		e := embeddedEnv(t, threads)
		o := cmpOptions()
		o.Plan = cmpPlan(t, "int4:g32")
		r, err := Compare(e, o)
		if err != nil {
			t.Fatal(err)
		}
		r.Timing = CompareTiming{}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatalf("%d threads: JSON differs\n%s\n%s", threads, b, first)
		}
	}
}

// TestTextPerplexity: the corpus perplexities of CompareText are those of
// eval.Perplexity on the same text and protocol, for both models.
func TestTextPerplexity(t *testing.T) {
	e := embeddedEnv(t, 2)
	comp, _, err := e.Model.ApplyPlan(cmpPlan(t, "int4:g32"))
	if err != nil {
		t.Fatal(err)
	}
	defer comp.Close()
	text := strings.Join(DefaultCorpus()[:40], "\n\n")
	for _, name := range []string{"llamacpp", "disjoint", "stride:48"} {
		proto, err := metrics.ParseProtocol(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := CompareText(e, comp, text, TextOptions{Protocol: proto, Ctx: cmpCtx})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []struct {
			name string
			env  *Env
			got  float64
		}{{"base", e, r.PPLBase}, {"compressed", &Env{Model: comp, Pool: e.Pool}, r.PPL}} {
			want, err := Perplexity(m.env, text, PPLOptions{Protocol: name, Ctx: cmpCtx})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(m.got-want.PPL) > 1e-12*want.PPL || r.Tokens != want.Tokens || r.Windows != want.Windows || r.InputTokens != want.Input {
				t.Errorf("%s %s: PPL %.15g over %d tokens, eval.Perplexity %.15g over %d", name, m.name, m.got, r.Tokens, want.PPL, want.Tokens)
			}
		}
		if r.KL.Min < -1e-9 || r.KL.Mean <= 0 || r.SameTop >= 1 {
			t.Errorf("%s: KL %+v, same top %v", name, r.KL, r.SameTop)
		}
	}
	proto, _ := metrics.ParseProtocol("llamacpp")
	if _, err := CompareText(e, comp, "Too short.", TextOptions{Protocol: proto, Ctx: cmpCtx}); !errors.Is(err, ErrTextTooShort) {
		t.Errorf("short text: %v, want ErrTextTooShort", err)
	}
}

func TestCompareOptionsAndErrors(t *testing.T) {
	e := embeddedEnv(t, 1)
	o := cmpOptions()
	o.Plan = cmpPlan(t, "int8,layers.99.attn.q=int4")
	o.Samples, o.PPLCtx = 2, 4096 // text far too short for two 4096-token chunks
	r, err := Compare(e, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != nil || r.PPL != nil || !strings.Contains(r.TextSkipped, "too short") {
		t.Errorf("text %v, skipped %q", r.Text, r.TextSkipped)
	}
	if !slices.Equal(r.UnusedRules, []string{"layers.99.attn.q=int4:g128"}) {
		t.Errorf("unused rules %q", r.UnusedRules)
	}
	b, _ := json.Marshal(r)
	for _, key := range []string{`"ppl":null`, `"ppl_base":null`, `"text":null`, `"fdtm":{`, `"sdtm":{`, `"same_top":`, `"flagged":0`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}

	// Fewer usable documents than asked for: use what there is.
	o = cmpOptions()
	o.Plan, o.Docs, o.Samples, o.PPLProtocol = cmpPlan(t, "int8"), DefaultCorpus()[:5], 100, "none"
	if r, err = Compare(e, o); err != nil || r.Samples != r.Corpus.Used || r.Corpus.Used > 5 || r.Corpus.Requested != 100 {
		t.Errorf("short corpus: %d samples, corpus %+v, %v", r.Samples, r.Corpus, err)
	}

	// W·A8 on the compressed model.
	o = cmpOptions()
	o.A8, o.Samples, o.PPLProtocol = true, 2, "none"
	o.Plan = cmpPlan(t, "int8:a8")
	if r, err = Compare(e, o); err != nil || r.Mode != "a8" || r.A8Matrices != 35 {
		t.Errorf("int8:a8: mode %q (%d matrices), %v", r.Mode, r.A8Matrices, err)
	}

	for _, tc := range []struct {
		name string
		edit func(o *CompareOptions)
		want string
	}{
		{"no plan", func(o *CompareOptions) { o.Plan = nil }, "no compression plan"},
		{"too long", func(o *CompareOptions) { o.PromptLen, o.Gen = 8, 600 }, "exceeds the model's context of 512"},
		{"no documents", func(o *CompareOptions) { o.Docs = []string{"Hi."} }, "none of the 1 documents"},
		{"bad protocol", func(o *CompareOptions) { o.PPLProtocol = "sideways" }, "sideways"},
		{"bad plan", func(o *CompareOptions) { o.Plan = cmpPlan(t, "q4_k") }, "layers.0.attn.q: q4_k needs rows of a multiple of 256"},
	} {
		o := cmpOptions()
		o.Plan, o.Samples = cmpPlan(t, "int8"), 1
		tc.edit(&o)
		if _, err := Compare(e, o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// oneHotRows returns G rows of width V with logit 1 at ids[j] and 0
// elsewhere, so row j's argmax is ids[j].
func oneHotRows(ids []int, V int) []float32 {
	rows := make([]float32, len(ids)*V)
	for j, id := range ids {
		rows[j*V+id] = 1
	}
	return rows
}

// TestComparisonWorkedExamples feeds the worked examples of METRICS.md
// §1.10 and §6.6 through Comparison as logit rows.
func TestComparisonWorkedExamples(t *testing.T) {
	near := func(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

	// §1.10: y = [1701 432 975 278 17366 11203], ŷ = [1701 432 263 278
	// 17366 3290] → FDT 2, SDT 2; then samples with FDT 6 and 0.
	const V = 17367
	x := []int{1, 450, 4996, 17354}
	y := []int{1701, 432, 975, 278, 17366, 11203}
	var c Comparison
	s := Sample{Prompt: Prompt{Tokens: x}, Ref: y}
	r, err := c.Add(&s, oneHotRows(y, V), oneHotRows([]int{1701, 432, 263, 278, 17366, 3290}, V))
	if err != nil {
		t.Fatal(err)
	}
	if r.FDT != 2 || r.SDT != 2 {
		t.Errorf("§1.10: FDT %d, SDT %d; want 2, 2", r.FDT, r.SDT)
	}
	if r, _ = c.Add(&s, oneHotRows(y, V), oneHotRows(y, V)); r.FDT != 6 || r.SDT != 0 || r.KL != 0 {
		t.Errorf("§1.10 ŷ = y: %+v", r)
	}
	wrong := []int{0, 0, 0, 0, 0, 0}
	if r, _ = c.Add(&s, oneHotRows(y, V), oneHotRows(wrong, V)); r.FDT != 0 || r.SDT != 6 {
		t.Errorf("§1.10 all wrong: %+v", r)
	}
	d, err := c.Divergence()
	if err != nil {
		t.Fatal(err)
	}
	if !near(d.FDTM.Mean, 8.0/3, 1e-12) || d.FDTM.Median != 2 || !near(d.FDTM.NormMean, 4.0/9, 1e-12) ||
		!near(d.FDTM.FullShare, 1.0/3, 1e-15) || d.FDTM.Min != 0 || !near(d.SDTM.Mean, (2.0/6+0+1)/3, 1e-12) ||
		d.Samples != 3 || d.Positions != 18 || d.PromptLen != 4 || d.Gen != 6 {
		t.Errorf("§1.10 aggregates: %+v %+v", d.FDTM, d.SDTM)
	}
	if !near(d.SameTop, 1-d.SDTM.Mean, 1e-15) {
		t.Errorf("same top %v, SDTM %v", d.SameTop, d.SDTM.Mean)
	}

	// §6.6: one position, next token 0.
	var k Comparison
	s = Sample{Prompt: Prompt{Tokens: []int{1}}, Ref: []int{0}}
	r, err = k.Add(&s, []float32{2, 1, 0, -1}, []float32{1.5, 1.6, 0, -1})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ = k.Divergence(); r.FDT != 0 || r.SDT != 1 || !near(r.KL, 0.119425, 1e-6) ||
		!near(r.NLLBase, 0.440190, 1e-6) || !near(r.NLL, 0.879787, 1e-6) ||
		!near(d.DeltaP.Mean, -0.229043, 1e-6) || d.SameTop != 0 || d.KL.Max != r.KL {
		t.Errorf("§6.6: %+v, Δp %v, same top %v", r, d.DeltaP.Mean, d.SameTop)
	}
}

// TestPlanMatchesQuantizedFile: compressing the F32 stories260K GGUF with
// the plan llama-quantize used for the Q4_0 and Q8_0 fixtures (--pure,
// ffn_down kept F16) gives exactly the metrics of comparing with the file
// llama-quantize wrote, weight-only and W·A8: the plan builds the real
// llama.cpp model and the comparison depends on nothing else.
func TestPlanMatchesQuantizedFile(t *testing.T) {
	basePath := assets.Path(t, "models/stories260K/stories260K.gguf")
	e, err := Open(ModelOptions{Path: basePath, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, format := range []string{"q8_0", "q4_0"} {
		file := assets.Path(t, "models/ggml-fixtures/stories260K-"+strings.ToUpper(format)+".gguf")
		quantized, err := engine.Load(file, engine.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a8 := range []bool{false, true} {
			o := cmpOptions()
			o.Plan, o.A8, o.Samples = cmpPlan(t, "*="+format+",layers.*.mlp.down=f16"), a8, 8
			viaPlan, err := Compare(e, o)
			if err != nil {
				t.Fatal(err)
			}
			comp := quantized
			if a8 {
				if comp, _, err = quantized.WithA8(); err != nil {
					t.Fatal(err)
				}
			}
			viaFile, err := CompareModels(e, comp, o)
			if a8 {
				comp.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			if viaPlan.KL.Mean <= 0 || viaPlan.Mode != map[bool]string{false: "weight-only", true: "a8"}[a8] {
				t.Errorf("%s a8=%v: KL %g, mode %q", format, a8, viaPlan.KL.Mean, viaPlan.Mode)
			}
			viaPlan.Timing, viaFile.Timing = CompareTiming{}, CompareTiming{}
			viaPlan.Plan, viaPlan.Changes, viaPlan.CompressedParams, viaPlan.BitsPerWeight = "", viaFile.Changes, 0, 0
			a, _ := json.Marshal(viaPlan)
			b, _ := json.Marshal(viaFile)
			if !bytes.Equal(a, b) {
				t.Errorf("%s a8=%v: plan and file differ\nplan %s\nfile %s", format, a8, a, b)
			}
			t.Logf("%s a8=%v: FDTM %.3f, KL %.6f, same top %.4f, PPL %.4f → %.4f", format, a8,
				viaFile.FDTM.Mean, viaFile.KL.Mean, viaFile.SameTop, *viaFile.PPLBase, *viaFile.PPL)
		}
		quantized.Close()
	}
}
