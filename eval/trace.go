package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/metrics"
)

// Defaults of Trace.
const (
	// TraceBlock is the reference code's block length: the token stream is
	// cut into 512-token sequences, each run on its own (METRICS.md §5.2).
	TraceBlock = 512
	// TraceMem is the default budget for the per-layer match matrices.
	TraceMem = 4 << 30
)

// TraceOptions control Trace.
type TraceOptions struct {
	// Tokens is the number of tokens to run through both models, rounded
	// down to whole blocks (0: the whole corpus).
	Tokens int
	// Block is the sequence length (0: TraceBlock, or the shorter context
	// of the two models). The remainder of the stream is dropped, as in
	// the reference.
	Block int
	// Metric is the neuron-matching cost (default metrics.Euclidean, the
	// reference code's).
	Metric metrics.MatchMetric
	// Mem bounds the memory of the layers matched in one pass over the
	// data (0: TraceMem). A layer needs about 16·h² + 40·Block·h bytes for h
	// MLP neurons; when not all layers fit, the forward passes are repeated
	// for each group of layers.
	Mem int64
	// Leaderboard adds both models' perplexity on divergo's fixed passage.
	Leaderboard bool
	// Corpus names the documents in the result.
	Corpus string
	// Progress, when set, is called after each block of each pass with the
	// blocks done and the total.
	Progress func(done, total int)
}

// TraceLayer is one layer's φ_MATCH result.
type TraceLayer struct {
	Layer int `json:"layer"`
	// P is the two-sided p-value of Spearman's ρ between the gate and the
	// up matchings (METRICS.md §5.2 step 5): near 0 when the second model's
	// MLP derives from the first's, roughly uniform on (0, 1) when the
	// models are independent.
	P   float64 `json:"p"`
	Rho float64 `json:"rho"`
	// Agree is the share of neurons i with π_gate(i) = π_up(i); Identity
	// the share with π_gate(i) = i (neurons kept in place, as in any
	// compressed copy).
	Agree    float64 `json:"agree"`
	Identity float64 `json:"identity"`
}

// TraceResult is what `divergo trace` reports.
type TraceResult struct {
	Model  string `json:"model"`
	Other  string `json:"other"`
	Corpus string `json:"corpus,omitempty"`

	Tokens  int    `json:"tokens"` // tokens run through each model
	Blocks  int    `json:"blocks"`
	Block   int    `json:"block"`
	Neurons int    `json:"neurons"` // MLP width h
	Metric  string `json:"metric"`
	// Passes is the number of passes over the data (each runs both models
	// over every block) and LayersPerPass how many layers each matched.
	Passes        int `json:"passes"`
	LayersPerPass int `json:"layers_per_pass"`

	Layers []TraceLayer `json:"layers"`
	// PFisher is Fisher's combination of the per-layer p-values over K
	// layers; LogPFisher its natural log, which stays finite where PFisher
	// underflows to 0. LogPFisher is null when some layer's p is exactly 0
	// (ρ = ±1, or below the smallest float64): then PFisher is 0, read
	// "< 1e−300", and ZeroLayers counts such layers.
	PFisher    float64  `json:"p_fisher"`
	LogPFisher *float64 `json:"log_p_fisher"`
	K          int      `json:"k"`
	ZeroLayers int      `json:"p_zero_layers"`

	// TokenizersDiffer is set when the other model's tokenizer has other
	// pieces: both models still read model A's token ids (§5.2 step 1).
	TokenizersDiffer bool `json:"tokenizers_differ,omitempty"`

	Leaderboard *Leaderboard `json:"leaderboard,omitempty"`

	Timing struct {
		Seconds  float64 `json:"seconds"`
		Forward  float64 `json:"forward_seconds"` // both models' passes, match accumulation included
		Match    float64 `json:"match_seconds"`   // of which accumulating the matches
		Assign   float64 `json:"assign_seconds"`  // cost matrices and assignments
		MemBytes int64   `json:"match_bytes"`     // estimated memory of one pass's matches
	} `json:"timing"`
}

// Trace runs φ_MATCH (METRICS.md §5.2) between e.Model (θ1) and other (θ2):
// the documents are tokenized with θ1's tokenizer (BOS at the start of
// each), concatenated and cut into blocks; both models run every block, and
// per layer the gate_proj and up_proj outputs of θ1's neurons are matched
// to θ2's by a linear assignment on the accumulated activations; the
// layer's p-value is Spearman's between the two matchings, and the layers
// are combined by Fisher's method. The models must have the same number of
// layers, MLP width and vocabulary size.
func Trace(e *Env, other *engine.Model, docs []string, o TraceOptions) (TraceResult, error) {
	start := time.Now()
	a, b := e.Model, other
	ca, cb := a.Config, b.Config
	r := TraceResult{Model: a.Source.Path, Other: b.Source.Path, Corpus: o.Corpus, Neurons: ca.HiddenDim, Metric: metricName(o.Metric)}
	switch {
	case ca.Layers != cb.Layers:
		return r, fmt.Errorf("trace: %s has %d layers, %s has %d: φ_MATCH compares layer by layer", r.Model, ca.Layers, r.Other, cb.Layers)
	case ca.HiddenDim != cb.HiddenDim:
		return r, fmt.Errorf("trace: %s has %d MLP neurons per layer, %s has %d", r.Model, ca.HiddenDim, r.Other, cb.HiddenDim)
	case ca.Vocab != cb.Vocab:
		return r, fmt.Errorf("trace: %s has a vocabulary of %d, %s of %d: both must read the same token ids", r.Model, ca.Vocab, r.Other, cb.Vocab)
	case ca.HiddenDim < 3:
		return r, fmt.Errorf("trace: %d MLP neurons: Spearman's test needs at least 3", ca.HiddenDim)
	case r.Metric == "":
		return r, fmt.Errorf("trace: unknown match metric %d", int(o.Metric))
	}
	if b.Tokenizer != nil && a.Tokenizer != nil && !slices.Equal(a.Tokenizer.Pieces(), b.Tokenizer.Pieces()) {
		r.TokenizersDiffer = true
	}
	block := o.Block
	if block == 0 {
		block = TraceBlock
		for _, c := range []engine.Config{ca, cb} {
			if c.MaxSeq > 0 {
				block = min(block, c.MaxSeq)
			}
		}
	}
	if block < 1 {
		return r, fmt.Errorf("trace: block length %d < 1", block)
	}
	if o.Tokens < 0 {
		return r, fmt.Errorf("trace: %d tokens < 0", o.Tokens)
	}
	var stream []int
	for _, d := range docs {
		stream = append(stream, a.Tokenizer.Encode(d, true, false)...)
		if o.Tokens > 0 && len(stream) >= o.Tokens {
			break
		}
	}
	n := len(stream)
	if o.Tokens > 0 {
		n = min(n, o.Tokens)
	}
	r.Block, r.Blocks = block, n/block
	r.Tokens = r.Blocks * block
	if r.Blocks == 0 {
		return r, fmt.Errorf("trace: %d tokens make no block of %d (give more text or a shorter --block)", n, block)
	}

	h, L := ca.HiddenDim, ca.Layers
	perLayer := 16*int64(h)*int64(h) + 40*int64(block)*int64(h)
	mem := o.Mem
	if mem <= 0 {
		mem = TraceMem
	}
	r.LayersPerPass = int(max(1, min(int64(L), mem/perLayer)))
	r.Passes = (L + r.LayersPerPass - 1) / r.LayersPerPass
	r.Timing.MemBytes = int64(r.LayersPerPass) * perLayer

	sa, err := engine.NewState(a, block, e.Pool)
	if err != nil {
		return r, err
	}
	sb, err := engine.NewState(b, block, e.Pool)
	if err != nil {
		return r, err
	}
	done, total := 0, r.Passes*r.Blocks
	for first := 0; first < L; first += r.LayersPerPass {
		group := make([]int, 0, r.LayersPerPass)
		for l := first; l < min(L, first+r.LayersPerPass); l++ {
			group = append(group, l)
		}
		t0 := time.Now()
		var matchTime time.Duration
		gate, up, err := accumulate(e.Pool, sa, sb, stream[:r.Tokens], block, group, h, &matchTime, func() {
			done++
			if o.Progress != nil {
				o.Progress(done, total)
			}
		})
		if err != nil {
			return r, err
		}
		t1 := time.Now()
		r.Timing.Forward += t1.Sub(t0).Seconds()
		r.Timing.Match += matchTime.Seconds()
		for i, l := range group {
			tl, err := matchLayer(gate[i], up[i], o.Metric, h)
			gate[i], up[i] = nil, nil // let the 16·h² bytes go before the next layer's
			if err != nil {
				return r, fmt.Errorf("trace: layer %d: %w", l, err)
			}
			tl.Layer = l
			r.Layers = append(r.Layers, tl)
		}
		r.Timing.Assign += time.Since(t1).Seconds()
	}

	ps := make([]float64, len(r.Layers))
	for i, tl := range r.Layers {
		ps[i] = tl.P
		if tl.P == 0 {
			r.ZeroLayers++
		}
	}
	r.PFisher, r.K = metrics.Fisher(ps)
	if lp, _ := metrics.FisherLog(ps); !math.IsInf(lp, 0) && !math.IsNaN(lp) {
		r.LogPFisher = &lp
	}
	if o.Leaderboard {
		lb, err := LeaderboardPPL(e.Pool, a, b)
		if err != nil {
			return r, err
		}
		r.Leaderboard = &lb
	}
	r.Timing.Seconds = time.Since(start).Seconds()
	return r, nil
}

func metricName(m metrics.MatchMetric) string {
	switch m {
	case metrics.Euclidean:
		return "euclidean"
	case metrics.CrossProduct:
		return "cross"
	case metrics.Cosine:
		return "cosine"
	}
	return ""
}

// ParseMatchMetric reads the name of a match metric: "euclidean" (the
// reference code's squared distance), "cross" (negated cross-product, the
// same assignments) or "cosine" (the paper's Algorithm 2 name).
func ParseMatchMetric(s string) (metrics.MatchMetric, error) {
	for _, m := range []metrics.MatchMetric{metrics.Euclidean, metrics.CrossProduct, metrics.Cosine} {
		if metricName(m) == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("match metric %q: want euclidean, cross or cosine", s)
}

// accumulate runs both models over every block of tokens and streams the
// gate and up activations of the layers in group into one Match each,
// adding the time spent in Match.Add to matchTime. Model A's activations of a block are kept (group × 2 × block × h
// float32) until model B has run the same block.
func accumulate(pool *kernels.Pool, sa, sb *engine.State, tokens []int, block int, group []int, h int, matchTime *time.Duration, step func()) (gate, up []*metrics.Match, err error) {
	gate, up = make([]*metrics.Match, len(group)), make([]*metrics.Match, len(group))
	product := gemmProduct(pool)
	saved := make([][2][]float32, len(group))
	index := map[int]int{}
	for i, l := range group {
		index[l] = i
		if gate[i], err = metrics.NewMatch(h); err != nil {
			return nil, nil, err
		}
		if up[i], err = metrics.NewMatch(h); err != nil {
			return nil, nil, err
		}
		gate[i].SetProduct(product)
		up[i].SetProduct(product)
		saved[i] = [2][]float32{make([]float32, block*h), make([]float32, block*h)}
	}
	var hookErr error
	sa.Hooks = &engine.Hooks{MLP: func(l int, g, u []float32) {
		if i, ok := index[l]; ok {
			copy(saved[i][0], g)
			copy(saved[i][1], u)
		}
	}}
	sb.Hooks = &engine.Hooks{MLP: func(l int, g, u []float32) {
		i, ok := index[l]
		if !ok || hookErr != nil {
			return
		}
		t0 := time.Now()
		defer func() { *matchTime += time.Since(t0) }()
		if err := gate[i].Add(saved[i][0], g, block); err != nil {
			hookErr = fmt.Errorf("trace: layer %d gate: %w", l, err)
		} else if err := up[i].Add(saved[i][1], u, block); err != nil {
			hookErr = fmt.Errorf("trace: layer %d up: %w", l, err)
		}
	}}
	defer func() { sa.Hooks, sb.Hooks = nil, nil }()
	for k := 0; k+block <= len(tokens); k += block {
		ids := tokens[k : k+block]
		sa.Reset()
		if _, err := sa.Forward(ids, 0); err != nil {
			return nil, nil, fmt.Errorf("trace: block %d, model A: %w", k/block, err)
		}
		sb.Reset()
		if _, err := sb.Forward(ids, 0); err != nil {
			return nil, nil, fmt.Errorf("trace: block %d, model B: %w", k/block, err)
		}
		if hookErr != nil {
			return nil, nil, hookErr
		}
		step()
	}
	return gate, up, nil
}

// gemmProduct forms a block's cross-product AᵀB with the f32 GEMM kernels
// (an order of magnitude faster than a float64 Gemm; the Match still sums
// blocks in float64): with W = Bᵀ (h×t) and the rows of Aᵀ as inputs,
// MatMul gives p[i][j] = Σ_c W[j][c]·Aᵀ[i][c] = Σ_t a[t][i]·b[t][j].
func gemmProduct(pool *kernels.Pool) metrics.Product {
	f32, _ := kernels.FormatByName("f32")
	var at, bt []float32
	return func(p, a, b []float32, t, h int) {
		at, bt = transpose(at, a, t, h), transpose(bt, b, t, h)
		w := &kernels.Matrix{Format: f32, Rows: h, Cols: t, Data: unsafe.Slice((*byte)(unsafe.Pointer(&bt[0])), 4*len(bt))}
		kernels.MatMul(pool, p, w, at, h)
	}
}

// transpose writes the h×t transpose of the row-major t×h matrix x into dst.
func transpose(dst, x []float32, t, h int) []float32 {
	if cap(dst) < t*h {
		dst = make([]float32, t*h)
	}
	dst = dst[:t*h]
	for r := 0; r < t; r++ {
		for c, v := range x[r*h : (r+1)*h] {
			dst[c*t+r] = v
		}
	}
	return dst
}

// matchLayer solves the gate and the up assignment of one layer (on two
// goroutines: each is single-threaded) and compares the matchings.
func matchLayer(gate, up *metrics.Match, metric metrics.MatchMetric, h int) (TraceLayer, error) {
	var perm [2][]int
	var errs [2]error
	var wg sync.WaitGroup
	for i, m := range []*metrics.Match{gate, up} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cost, err := m.Cost(metric)
			if err == nil {
				perm[i], _, err = metrics.Assign(cost, h)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[0], errs[1]); err != nil {
		return TraceLayer{}, err
	}
	rho, p, err := metrics.SpearmanPerm(perm[0], perm[1])
	if err != nil {
		return TraceLayer{}, err
	}
	tl := TraceLayer{P: p, Rho: rho}
	for i := range h {
		if perm[0][i] == perm[1][i] {
			tl.Agree++
		}
		if perm[0][i] == i {
			tl.Identity++
		}
	}
	tl.Agree /= float64(h)
	tl.Identity /= float64(h)
	return tl, nil
}

// Leaderboard is the perplexity of both traced models on divergo's fixed
// passage (PassageName).
type Leaderboard struct {
	Passage string `json:"passage"`
	// Protocol: each model reads the passage with its own tokenizer, BOS
	// first, truncated to its context; one teacher-forced pass scores every
	// token after BOS; PPL = exp(mean NLL).
	Protocol    string  `json:"protocol"`
	PPL         float64 `json:"ppl"`
	Tokens      int     `json:"tokens"` // tokens scored
	PPLOther    float64 `json:"ppl_other"`
	TokensOther int     `json:"tokens_other"`
}

// LeaderboardPPL scores both models on divergo's fixed passage. This is
// not the model-tracing leaderboard's passage, which is unpublished
// (METRICS.md §5.4, Q5.1).
func LeaderboardPPL(pool *kernels.Pool, a, b *engine.Model) (Leaderboard, error) {
	lb := Leaderboard{Passage: PassageName,
		Protocol: "own tokenizer, BOS + passage truncated to the context, one pass, exp(mean NLL) of every token after BOS"}
	var err error
	if lb.PPL, lb.Tokens, err = PassagePPL(pool, a); err != nil {
		return lb, err
	}
	lb.PPLOther, lb.TokensOther, err = PassagePPL(pool, b)
	return lb, err
}

// PassagePPL returns a model's perplexity on Passage under the protocol of
// Leaderboard, and the number of tokens scored.
func PassagePPL(pool *kernels.Pool, m *engine.Model) (float64, int, error) {
	if m.Tokenizer == nil {
		return 0, 0, fmt.Errorf("passage perplexity: %s has no tokenizer", m.Source.Path)
	}
	ids := m.Tokenizer.Encode(Passage, true, false)
	if m.Config.MaxSeq > 0 && len(ids) > m.Config.MaxSeq {
		ids = ids[:m.Config.MaxSeq]
	}
	s, err := engine.NewState(m, len(ids), pool)
	if err != nil {
		return 0, 0, err
	}
	logits, err := s.Forward(ids, len(ids))
	if err != nil {
		return 0, 0, fmt.Errorf("passage perplexity: %w", err)
	}
	V := m.Config.Vocab
	var acc metrics.Perplexity
	for j := 0; j+1 < len(ids); j++ {
		if _, err := acc.AddLogits(logits[j*V:(j+1)*V], ids[j+1]); err != nil {
			return 0, 0, fmt.Errorf("passage perplexity, position %d: %w", j, err)
		}
	}
	ppl, _ := acc.PPL()
	return ppl, acc.N(), nil
}

// OpenOther loads a second model (the other side of `divergo trace`) with
// the path, tokenizer, context and --a8 of o; "" is the embedded model.
// It shares the first model's worker pool.
func OpenOther(o ModelOptions) (*engine.Model, error) {
	m, err := engine.Load(o.Path, engine.LoadOptions{Tokenizer: o.Tokenizer, Context: o.Context})
	if err != nil {
		return nil, err
	}
	if !o.A8 {
		return m, nil
	}
	v, _, err := m.WithA8()
	m.Close()
	return v, err
}
