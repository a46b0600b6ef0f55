package eval

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/metrics"
	"github.com/divergo/divergo/quant"
)

// Perplexity defaults of compare: llama.cpp's protocol and context.
const (
	DefaultPPLProtocol = "llamacpp"
	DefaultPPLCtx      = 512
)

// CompareOptions are the inputs of `divergo compare`.
type CompareOptions struct {
	// Plan compresses the base model (Compare; CompareModels ignores it).
	Plan *quant.Plan
	// A8 runs every quantized matrix of the compressed model with int8
	// activations (W·A8). The base model's own quantized matrices follow
	// the Env (ModelOptions.A8), so --a8 makes both models run as
	// llama.cpp runs them.
	A8 bool

	// Docs are the corpus documents (ReadCorpus, or DefaultCorpus) and
	// Corpus names them in the report.
	Docs   []string
	Corpus string

	// PromptLen (n), Gen (G) and Samples (S); zero means the METRICS.md
	// §1.2 defaults 64, 128, 512.
	PromptLen, Gen, Samples int

	// PPLProtocol ("disjoint", "stride:S", "llamacpp"; "" = llamacpp;
	// "none" skips) and PPLCtx (0 = 512) choose the perplexity on the corpus
	// text: the documents the prompts came from, whole, joined by blank
	// lines and tokenized once with BOS. PPLChunks > 0 keeps only the first
	// windows.
	PPLProtocol string
	PPLCtx      int
	PPLChunks   int

	// KL chooses the token-level KL (full vocabulary by default).
	KL metrics.KLOptions

	// KVCache records the KV-cache precision the Env's model was opened
	// with ("f32" or "f16", ModelOptions.KVF16; "" means f32). Variants
	// inherit it, so it applies to both models; it is only reported.
	KVCache string

	// PerSample adds every sample's FDT, SDT, mean KL and NLLs to the result.
	PerSample bool

	// Progress, when set, is called as work advances: stage "samples" or
	// "ppl", with done and total counts.
	Progress func(stage string, done, total int)
}

// CompareResult is what `divergo compare` reports. Apart from Timing it
// depends only on the inputs (model, plan, corpus, flags, kernel path):
// the same inputs give byte-identical JSON, whatever the thread count.
type CompareResult struct {
	Model engine.Source `json:"model"`
	// Plan is the compression plan in its text form ("" when the compressed
	// model was built by other means) and Changes the components it
	// compressed, in component order.
	Plan    string          `json:"plan"`
	Changes []engine.Change `json:"changes"`
	// CompressedParams and BitsPerWeight cover the compressed components
	// only (nominal storage, scales included).
	CompressedParams int64   `json:"compressed_params"`
	BitsPerWeight    float64 `json:"bits_per_weight"`
	// UnusedRules lists plan rules that selected no component.
	UnusedRules []string `json:"unused_rules,omitempty"`
	// Mode says how the compressed model's quantized matrices run:
	// "weight-only" (float activations), "a8" (every one with int8
	// activations) or "mixed"; A8Matrices counts those with int8
	// activations. BaseMode and BaseA8Matrices say the same of the base.
	Mode           string `json:"mode"`
	A8Matrices     int    `json:"a8_matrices"`
	BaseMode       string `json:"base_mode"`
	BaseA8Matrices int    `json:"base_a8_matrices"`
	ISA            string `json:"isa"`
	// KVCache is the KV-cache precision of both models: "f32" or "f16".
	KVCache string `json:"kv_cache"`

	Corpus CorpusUse `json:"corpus"`

	// The divergent-token and token-distribution metrics on the samples.
	Divergence

	// PPLBase and PPL are the perplexities of the corpus text under the two
	// models (Text.PPLBase, Text.PPL), null when Text is.
	PPLBase *float64 `json:"ppl_base"`
	PPL     *float64 `json:"ppl"`
	// Text compares the models on the corpus text under PPLProtocol; null
	// when skipped, with the reason in TextSkipped.
	Text        *TextComparison `json:"text"`
	TextSkipped string          `json:"text_skipped,omitempty"`

	// PerSample lists each sample's outcome when asked for.
	PerSample []SampleResult `json:"per_sample,omitempty"`

	Timing CompareTiming `json:"timing"`
}

// CorpusUse says where the prompts came from.
type CorpusUse struct {
	Name      string `json:"name"`
	Documents int    `json:"documents"` // in the corpus
	Examined  int    `json:"examined"`  // looked at, up to the last one used
	Short     int    `json:"short"`     // examined but shorter than n tokens: skipped
	Requested int    `json:"requested"` // S asked for
	Used      int    `json:"used"`      // prompts taken (< Requested when the corpus ran out)
	FirstDoc  int    `json:"first_doc"` // index of the first document used
	LastDoc   int    `json:"last_doc"`  // and of the last
}

// TextComparison compares the two models on the corpus text as
// llama-perplexity --kl-divergence does (METRICS.md §6): both run the same
// windows of the protocol and every scored position gives both NLLs, the KL
// of the two next-token distributions, same top and Δp of the text's token.
type TextComparison struct {
	Protocol    string `json:"protocol"`
	Ctx         int    `json:"ctx"`
	Windows     int    `json:"windows"`
	InputTokens int    `json:"input_tokens"` // tokens of the joined documents, BOS included
	NLLComparison
	KL         Dist        `json:"kl"`
	SameTop    float64     `json:"same_top"`
	SameTopUnc float64     `json:"same_top_unc"`
	DeltaP     DeltaPStats `json:"delta_p"`
}

// CompareTiming is the wall time of each stage in seconds; it is the only
// part of a CompareResult that changes from run to run.
type CompareTiming struct {
	Threads   int     `json:"threads"`
	Setup     float64 `json:"setup_s"`     // applying the plan
	Reference float64 `json:"reference_s"` // base greedy continuations, self-check, base rows
	Compare   float64 `json:"compare_s"`   // compressed teacher-forced passes and metrics
	PPL       float64 `json:"ppl_s"`       // both models on the corpus text
	Total     float64 `json:"total_s"`
}

// Compare compresses e.Model with o.Plan (engine ApplyPlan, then WithA8
// when o.A8) and compares the result with e.Model by CompareModels.
func Compare(e *Env, o CompareOptions) (CompareResult, error) {
	start := time.Now()
	if o.Plan == nil {
		return CompareResult{}, fmt.Errorf("compare: no compression plan")
	}
	comp, changes, err := e.Model.ApplyPlan(o.Plan)
	if err != nil {
		return CompareResult{}, fmt.Errorf("compare: %w", err)
	}
	if o.A8 {
		v, _, err := comp.WithA8()
		comp.Close()
		if err != nil {
			return CompareResult{}, fmt.Errorf("compare: %w", err)
		}
		comp = v
	}
	defer comp.Close()
	var names []string
	for _, c := range e.Model.Components() {
		names = append(names, c.Name)
	}
	var unused []string
	for _, r := range o.Plan.Unused(names) {
		unused = append(unused, r.String())
	}
	setup := time.Since(start).Seconds()
	r, err := compareModels(e, comp, o, start)
	if err != nil {
		return r, err
	}
	r.Plan, r.UnusedRules = o.Plan.String(), unused
	if changes != nil {
		r.Changes = changes
	}
	var bits int64
	for _, c := range changes {
		r.CompressedParams += c.Params
		bits += c.Bits
	}
	if r.CompressedParams > 0 {
		r.BitsPerWeight = float64(bits) / float64(r.CompressedParams)
	}
	r.Timing.Setup = setup
	return r, nil
}

// CompareModels compares comp, any variant of e.Model with the same
// vocabulary, with e.Model on the prompts of o.Docs: per sample, the base
// greedy continuation with its self-check (Teacher.Reference), one
// teacher-forced pass of comp, and the metrics of both rows (Comparison),
// so only one sample's rows are held at a time; then both models on the
// corpus text. o.Plan and o.A8 are not used.
func CompareModels(e *Env, comp *engine.Model, o CompareOptions) (CompareResult, error) {
	return compareModels(e, comp, o, time.Now())
}

func compareModels(e *Env, comp *engine.Model, o CompareOptions, start time.Time) (CompareResult, error) {
	base := e.Model
	if comp.Config.Vocab != base.Config.Vocab {
		return CompareResult{}, fmt.Errorf("compare: the compressed model has %d tokens, the base %d", comp.Config.Vocab, base.Config.Vocab)
	}
	n, G, S := compareDefault(o.PromptLen, DefaultPromptLen), compareDefault(o.Gen, DefaultGen), compareDefault(o.Samples, DefaultSamples)
	var proto metrics.Protocol
	if o.PPLProtocol != "none" {
		// Checked before the long part of the work.
		var err error
		if proto, err = metrics.ParseProtocol(compareDefaultString(o.PPLProtocol, DefaultPPLProtocol)); err != nil {
			return CompareResult{}, fmt.Errorf("compare: --ppl-protocol: %w", err)
		}
	}
	set, err := Prompts(base.Tokenizer, o.Docs, n, S)
	if err != nil {
		return CompareResult{}, fmt.Errorf("compare: %s: %w", o.Corpus, err)
	}
	r := CompareResult{
		Model: base.Source, Changes: []engine.Change{}, ISA: string(kernels.CurrentISA()),
		KVCache: compareDefaultString(o.KVCache, "f32"),
		Corpus: CorpusUse{Name: o.Corpus, Documents: set.Documents, Examined: set.Examined, Short: set.Short,
			Requested: S, Used: len(set.Prompts), FirstDoc: set.Prompts[0].Doc, LastDoc: set.Prompts[len(set.Prompts)-1].Doc},
	}
	r.Mode, r.A8Matrices = compareA8Mode(comp)
	r.BaseMode, r.BaseA8Matrices = compareA8Mode(base)
	r.Timing.Threads = e.Pool.Threads()

	bt, err := NewTeacher(base, e.Pool, n, G)
	if err != nil {
		return CompareResult{}, fmt.Errorf("compare: %w", err)
	}
	ct, err := NewTeacher(comp, e.Pool, n, G)
	if err != nil {
		return CompareResult{}, fmt.Errorf("compare: %w", err)
	}
	acc := Comparison{KL: o.KL, Pool: e.Pool}
	var tRef, tCmp time.Duration
	for i, p := range set.Prompts {
		t0 := time.Now()
		s, baseRows, err := bt.Reference(p, G)
		if err != nil {
			return CompareResult{}, fmt.Errorf("compare: base model: %w", err)
		}
		t1 := time.Now()
		compRows, err := ct.Rows(&s)
		if err != nil {
			return CompareResult{}, fmt.Errorf("compare: compressed model: %w", err)
		}
		sr, err := acc.Add(&s, baseRows, compRows)
		if err != nil {
			return CompareResult{}, err
		}
		tRef += t1.Sub(t0)
		tCmp += time.Since(t1)
		if o.PerSample {
			r.PerSample = append(r.PerSample, sr)
		}
		if o.Progress != nil {
			o.Progress("samples", i+1, len(set.Prompts))
		}
	}
	if r.Divergence, err = acc.Divergence(); err != nil {
		return CompareResult{}, err
	}
	r.Timing.Reference, r.Timing.Compare = tRef.Seconds(), tCmp.Seconds()

	t0 := time.Now()
	docs := make([]string, len(set.Prompts))
	for i, p := range set.Prompts {
		docs[i] = o.Docs[p.Doc]
	}
	if o.PPLProtocol == "none" {
		r.TextSkipped = "perplexity turned off (--ppl-protocol none)"
	} else {
		to := TextOptions{Protocol: proto, Ctx: compareDefault(o.PPLCtx, DefaultPPLCtx), Chunks: o.PPLChunks, KL: o.KL}
		if o.Progress != nil {
			to.Progress = func(done, total int) { o.Progress("ppl", done, total) }
		}
		t, err := CompareText(e, comp, strings.Join(docs, "\n\n"), to)
		switch {
		case errors.Is(err, ErrTextTooShort):
			r.TextSkipped = fmt.Sprintf("perplexity not computed: the %d documents used are too short: %v", r.Samples, err)
		case err != nil:
			return CompareResult{}, fmt.Errorf("compare: %w", err)
		default:
			r.Text, r.PPLBase, r.PPL = t, &t.PPLBase, &t.PPL
		}
	}
	r.Timing.PPL = time.Since(t0).Seconds()
	r.Timing.Total = time.Since(start).Seconds()
	return r, nil
}

// ErrTextTooShort is returned (wrapped) by CompareText when the text has
// too few tokens for the protocol and context.
var ErrTextTooShort = errors.New("text too short for the perplexity protocol")

// TextOptions choose how CompareText runs the two models over a text.
type TextOptions struct {
	Protocol metrics.Protocol
	Ctx      int // window length
	Chunks   int // > 0: only the first Chunks windows
	KL       metrics.KLOptions
	// Progress, when set, is called after each window.
	Progress func(done, total int)
}

// CompareText runs e.Model and comp over text (tokenized once with BOS)
// under a perplexity protocol, as llama-perplexity --kl-divergence does:
// both models run the same windows and every scored position gives both
// NLLs, the KL of the two next-token distributions, same top and Δp of
// the text's next token. The perplexities equal those of Perplexity on the
// same text, protocol and context. A text too short for the protocol gives
// an error wrapping ErrTextTooShort.
func CompareText(e *Env, comp *engine.Model, text string, o TextOptions) (*TextComparison, error) {
	base := e.Model
	tokens := base.Tokenizer.Encode(text, true, false)
	plan, err := o.Protocol.Plan(len(tokens), o.Ctx, o.Chunks)
	if err != nil {
		return nil, fmt.Errorf("%w (%s, ctx %d, %d tokens): %v", ErrTextTooShort, o.Protocol, o.Ctx, len(tokens), err)
	}
	longest := 0
	for _, w := range plan {
		longest = max(longest, w.Len)
	}
	bs, err := engine.NewState(base, longest, e.Pool)
	if err != nil {
		return nil, fmt.Errorf("perplexity: %w", err)
	}
	cs, err := engine.NewState(comp, longest, e.Pool)
	if err != nil {
		return nil, fmt.Errorf("perplexity: %w", err)
	}
	V := base.Config.Vocab
	acc := metrics.KLAccumulator{Options: o.KL}
	var stats []metrics.TokenStats
	var errs []error
	in := make([]int, longest)
	for i, w := range plan {
		win := in[:w.Len]
		copy(win, tokens[w.Start:w.Start+w.Len])
		if w.BOS {
			win[0] = base.Config.BOS
		}
		nLogits := w.Len - w.First
		bs.Reset()
		bl, err := bs.Forward(win, nLogits)
		if err != nil {
			return nil, fmt.Errorf("perplexity window %d: base model: %w", i, err)
		}
		cs.Reset()
		cl, err := cs.Forward(win, nLogits)
		if err != nil {
			return nil, fmt.Errorf("perplexity window %d: compressed model: %w", i, err)
		}
		k := w.Scored()
		if cap(stats) < k {
			stats, errs = make([]metrics.TokenStats, k), make([]error, k)
		}
		stats, errs := stats[:k], errs[:k]
		e.Pool.Run(k, func(_, q int) {
			j := w.First + q
			row := (j - w.First) * V
			stats[q], errs[q] = metrics.CompareLogits(bl[row:row+V], cl[row:row+V], tokens[w.Start+j+1], o.KL)
		})
		for q, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("perplexity window %d position %d: %w", i, w.First+q, err)
			}
			acc.AddStats(stats[q])
		}
		if o.Progress != nil {
			o.Progress(i+1, len(plan))
		}
	}
	ks := acc.Summary()
	return &TextComparison{
		Protocol: o.Protocol.String(), Ctx: o.Ctx, Windows: len(plan), InputTokens: len(tokens),
		NLLComparison: compareNLL(ks),
		KL:            compareDist(acc.KLValues()),
		SameTop:       ks.SameTop, SameTopUnc: ks.SameTopUnc,
		DeltaP: DeltaPStats{Dist: compareDist(acc.DeltaPValues()), RMS: ks.RMSDeltaP, RMSUnc: ks.RMSDeltaPUnc},
	}, nil
}

// compareA8Mode says how a model's quantized matrices run (CompareResult.Mode).
func compareA8Mode(m *engine.Model) (string, int) {
	quantized, a8 := 0, 0
	for _, c := range m.Components() {
		if c.Name == "embed" {
			continue // looked up, never multiplied
		}
		w, err := m.Matrix(c.Name)
		if err != nil || w.Format.Act == nil {
			continue
		}
		quantized++
		if w.A8 {
			a8++
		}
	}
	switch {
	case a8 == 0:
		return "weight-only", 0
	case a8 == quantized:
		return "a8", a8
	}
	return "mixed", a8
}

func compareDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func compareDefaultString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
