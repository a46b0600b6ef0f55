package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/metrics"
	"github.com/divergo/divergo/quant"
)

// ERankMaxTokens is the reference code's truncation of every text
// (METRICS.md §3.2).
const ERankMaxTokens = 2048

// ERankOptions select what `divergo erank` measures.
type ERankOptions struct {
	// Limit uses only the first Limit documents (0: all).
	Limit int
	// MaxTokens truncates every tokenized text, BOS included (0: the
	// reference's 2048, or the model's context length if that is shorter).
	MaxTokens int
	// Layers lists the hidden states to measure in Hugging Face's
	// hidden_states numbering: l < n_layers is the residual stream entering
	// layer l (0: the token embeddings, l ≥ 1: the output of layer l−1), and
	// l = n_layers is the last hidden state after the final RMSNorm, the one
	// the paper uses. Empty means {n_layers}.
	Layers []int
	// Seeds is the number of seeded untrained initialisations (default 3);
	// Seed is the first, the others are Seed+1, Seed+2, …
	Seeds int
	Seed  uint64
	// Plan, when set, replaces the untrained model by the base model
	// compressed under the plan: the result is erank(base) − erank(compressed)
	// on the same texts (METRICS.md §3.6), a project extension.
	Plan *quant.Plan
	// A8 runs the compressed matrices with int8 activations (W·A8).
	A8 bool
	// Corpus names the documents in the result.
	Corpus string
	// Items adds each text's values to the result.
	Items bool
	// Progress, when set, is called after each text of each model with the
	// forward passes done and the total.
	Progress func(done, total int)
}

// ERankResult is what `divergo erank` reports. The top-level values are
// those of the highest hidden state measured (by default the final normed
// one); Layers lists every hidden state when more than one was asked for.
type ERankResult struct {
	Model     string `json:"model"`
	Corpus    string `json:"corpus,omitempty"`
	Texts     int    `json:"texts"`      // texts used (≥ 2 tokens)
	Skipped   int    `json:"skipped"`    // texts with fewer than 2 tokens
	Tokens    int    `json:"tokens"`     // tokens over the texts used
	MaxTokens int    `json:"max_tokens"` // truncation applied to every text

	ERankLayer

	// Untrained: the seeds of the untrained initialisations (absent with
	// Plan); Plan: the compression plan and the number of matrices changed.
	Seeds   []uint64 `json:"untrained_seeds,omitempty"`
	Plan    string   `json:"plan,omitempty"`
	Changed int      `json:"changed_matrices,omitempty"`

	Layers []ERankLayer `json:"layers,omitempty"`
	Items  []ERankItem  `json:"items,omitempty"`

	Timing struct {
		Seconds float64 `json:"seconds"`
	} `json:"timing"`
}

// ERankLayer holds the dataset-level values at one hidden state. Dataset
// level is the reference code's (METRICS.md §3.2): exp of the mean entropy
// over texts. The *_text_mean values are the mean of per-text eRanks, the
// alternative reading of Q3.1.
type ERankLayer struct {
	Layer int `json:"layer"` // hidden_states index; n_layers = final normed state

	ERank         float64 `json:"erank"`           // the model (the base model with Plan)
	ERankTextMean float64 `json:"erank_text_mean"` // mean of per-text eRanks

	// Against the untrained model: the mean over seeds of each seed's
	// dataset-level eRank, its sample standard deviation (null for one
	// seed), each seed's value, and Diff-eRank = untrained − trained (the
	// paper's sign) with the same standard deviation.
	ERankUntrained    *float64  `json:"erank_untrained,omitempty"`
	ERankUntrainedStd *float64  `json:"erank_untrained_std,omitempty"`
	ERankUntrainedAll []float64 `json:"erank_untrained_seeds,omitempty"`
	DiffERank         *float64  `json:"diff_erank,omitempty"`
	DiffERankStd      *float64  `json:"diff_erank_std,omitempty"`
	DiffERankTextMean *float64  `json:"diff_erank_text_mean,omitempty"` // mean over seeds of the per-text-mean reading

	// Against the compressed model (Plan): its eRank and base − compressed.
	ERankCompressed *float64 `json:"erank_compressed,omitempty"`
	DeltaERank      *float64 `json:"delta_erank,omitempty"`
}

// ERankItem is one text's eRanks at the top-level hidden state.
type ERankItem struct {
	Doc        int       `json:"doc"` // index of the document in the corpus
	Tokens     int       `json:"tokens"`
	ERank      float64   `json:"erank"`
	Untrained  []float64 `json:"erank_untrained,omitempty"` // one per seed
	Compressed *float64  `json:"erank_compressed,omitempty"`
}

// ERank measures the effective rank of the model's hidden states over the
// documents (one text per document, tokenized with BOS, truncated) and
// Diff-eRank against seeded untrained models of the same shape
// (engine.NewRandom, Hugging Face's Llama initialisation), or against the
// model compressed under o.Plan. Texts shorter than two tokens are skipped
// and counted; rows equal to their text's mean are dropped
// (metrics.EffectiveRank).
func ERank(e *Env, docs []string, o ERankOptions) (ERankResult, error) {
	start := time.Now()
	m := e.Model
	c := m.Config
	if o.Limit > 0 && o.Limit < len(docs) {
		docs = docs[:o.Limit]
	}
	if len(docs) == 0 {
		return ERankResult{}, errors.New("erank: no documents")
	}
	if o.MaxTokens < 0 {
		return ERankResult{}, fmt.Errorf("erank: max tokens %d < 0", o.MaxTokens)
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = ERankMaxTokens
		if c.MaxSeq > 0 {
			o.MaxTokens = min(o.MaxTokens, c.MaxSeq)
		}
	}
	layers := slices.Clone(o.Layers)
	if len(layers) == 0 {
		layers = []int{c.Layers}
	}
	slices.Sort(layers)
	layers = slices.Compact(layers)
	for _, l := range layers {
		if l < 0 || l > c.Layers {
			return ERankResult{}, fmt.Errorf("erank: hidden state %d outside 0…%d (%d = final normed state)", l, c.Layers, c.Layers)
		}
	}
	if o.Plan == nil && o.Seeds == 0 {
		o.Seeds = 3
	}
	if o.Plan == nil && o.Seeds < 1 {
		return ERankResult{}, fmt.Errorf("erank: %d seeds: need at least 1", o.Seeds)
	}

	r := ERankResult{Model: m.Source.Path, Corpus: o.Corpus, MaxTokens: o.MaxTokens}
	var texts [][]int
	var docIndex []int
	for i, d := range docs {
		ids := m.Tokenizer.Encode(d, true, false)
		if len(ids) > o.MaxTokens {
			ids = ids[:o.MaxTokens]
		}
		if len(ids) < 2 {
			r.Skipped++
			continue
		}
		texts = append(texts, ids)
		docIndex = append(docIndex, i)
		r.Tokens += len(ids)
	}
	r.Texts = len(texts)
	if r.Texts == 0 {
		return r, fmt.Errorf("erank: none of the %d documents has 2 tokens or more", len(docs))
	}

	others := o.Seeds
	if o.Plan != nil {
		others = 1
	}
	total, done := (1+others)*len(texts), 0
	progress := func() {
		done++
		if o.Progress != nil {
			o.Progress(done, total)
		}
	}
	base, err := entropies(e, m, texts, layers, progress)
	if err != nil {
		return r, err
	}
	// other[k][layer][text]: the untrained seeds, or the compressed model.
	var other [][][]metrics.ERank
	if o.Plan != nil {
		v, changes, err := m.ApplyPlan(o.Plan)
		if err != nil {
			return r, fmt.Errorf("erank: %w", err)
		}
		if len(changes) == 0 {
			v.Close()
			return r, fmt.Errorf("erank: plan %q changes no matrix of the model", o.Plan)
		}
		r.Plan, r.Changed = o.Plan.String(), len(changes)
		if o.A8 {
			w, _, err := v.WithA8()
			v.Close()
			if err != nil {
				return r, fmt.Errorf("erank: %w", err)
			}
			v = w
		}
		h, err := entropies(e, v, texts, layers, progress)
		v.Close()
		if err != nil {
			return r, err
		}
		other = append(other, h)
	} else {
		for k := range o.Seeds {
			seed := o.Seed + uint64(k)
			r.Seeds = append(r.Seeds, seed)
			u, err := engine.NewRandom(c, seed)
			if err != nil {
				return r, fmt.Errorf("erank: untrained model: %w", err)
			}
			u.Tokenizer = m.Tokenizer
			h, err := entropies(e, u, texts, layers, progress)
			u.Close()
			if err != nil {
				return r, fmt.Errorf("erank: untrained model (seed %d): %w", seed, err)
			}
			other = append(other, h)
		}
	}

	for li, l := range layers {
		r.Layers = append(r.Layers, summarize(l, base[li], other, li, o.Plan != nil))
	}
	r.ERankLayer = r.Layers[len(r.Layers)-1]
	if len(layers) == 1 {
		r.Layers = nil
	}
	if o.Items {
		top := len(layers) - 1
		for t := range texts {
			it := ERankItem{Doc: docIndex[t], Tokens: len(texts[t]), ERank: base[top][t].Rank}
			for k := range other {
				v := other[k][top][t].Rank
				if o.Plan != nil {
					it.Compressed = &v
				} else {
					it.Untrained = append(it.Untrained, v)
				}
			}
			r.Items = append(r.Items, it)
		}
	}
	r.Timing.Seconds = time.Since(start).Seconds()
	return r, nil
}

// summarize turns the per-text eRanks of one hidden state into its
// dataset-level values.
func summarize(layer int, base []metrics.ERank, other [][][]metrics.ERank, li int, compressed bool) ERankLayer {
	out := ERankLayer{Layer: layer}
	var vals, textMeans []float64
	for k := range other {
		var acc metrics.DiffERank
		for t := range base {
			acc.Add(other[k][li][t].Entropy, base[t].Entropy)
		}
		s := acc.Summary()
		out.ERank, out.ERankTextMean = s.ERank1, s.MeanERank1
		vals = append(vals, s.ERank0)
		textMeans = append(textMeans, s.MeanDiff)
	}
	ptr := func(v float64) *float64 { return &v }
	if compressed {
		out.ERankCompressed = ptr(vals[0])
		out.DeltaERank = ptr(out.ERank - vals[0])
		return out
	}
	mean, std := meanStd(vals)
	tm, _ := meanStd(textMeans)
	out.ERankUntrained, out.ERankUntrainedAll = ptr(mean), vals
	out.DiffERank, out.DiffERankTextMean = ptr(mean-out.ERank), ptr(tm)
	if len(vals) > 1 {
		out.ERankUntrainedStd, out.DiffERankStd = ptr(std), ptr(std)
	}
	return out
}

// meanStd returns the mean and the sample standard deviation (n−1).
func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, math.NaN()
	}
	var s2 float64
	for _, x := range v {
		s2 += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(s2 / float64(len(v)-1))
}

// entropies runs every text through m (batch of one, no padding, as the
// reference) and returns the eRank of each requested hidden state:
// out[layer index][text]. The hooks compute the eRank while the hidden
// state is alive, so nothing of size tokens × dim is kept.
func entropies(e *Env, m *engine.Model, texts [][]int, layers []int, progress func()) ([][]metrics.ERank, error) {
	longest := 0
	for _, t := range texts {
		longest = max(longest, len(t))
	}
	s, err := engine.NewState(m, longest, e.Pool)
	if err != nil {
		return nil, err
	}
	dim, L := m.Config.Dim, m.Config.Layers
	out := make([][]metrics.ERank, len(layers))
	index := map[int]int{}
	for i, l := range layers {
		index[l] = i
		out[i] = make([]metrics.ERank, len(texts))
	}
	var cur int
	var hookErr error
	measure := func(l int, h []float32) {
		i, ok := index[l]
		if !ok || hookErr != nil {
			return
		}
		r, err := metrics.EffectiveRank(h, len(h)/dim, dim)
		if err != nil {
			hookErr = fmt.Errorf("erank: text %d, hidden state %d: %w", cur, l, err)
			return
		}
		out[i][cur] = r
	}
	s.Hooks = &engine.Hooks{}
	if layers[0] < L {
		s.Hooks.LayerInput = measure
	}
	if layers[len(layers)-1] == L {
		s.Hooks.Final = func(h []float32) { measure(L, h) }
	}
	for t, ids := range texts {
		cur = t
		s.Reset()
		if _, err := s.Forward(ids, 0); err != nil {
			return nil, fmt.Errorf("erank: text %d: %w", t, err)
		}
		if hookErr != nil {
			return nil, hookErr
		}
		progress()
	}
	return out, nil
}
