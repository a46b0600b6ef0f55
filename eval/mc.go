package eval

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/metrics"
	"github.com/divergo/divergo/quant"
	"github.com/divergo/divergo/tokenizer"
)

// MCOptions control a multiple-choice run (`divergo mc`).
type MCOptions struct {
	// Plan, when set, scores the base model and the base model compressed
	// under the plan on the same items and compares their answers.
	Plan *quant.Plan
	// A8 runs the compressed model's quantized matrices with int8
	// activations (W·A8); the base model follows the Env.
	A8 bool
	// Rule is the decision rule of flips and of BBQ's bias scores: "acc"
	// (argmax of the log-likelihood) or "acc_norm" (argmax of the
	// log-likelihood per character); "" takes the task's default.
	Rule string
	// BBQRule selects BBQ's bias rule (official, or the Beyond-Perplexity
	// repository's heuristic).
	BBQRule metrics.BBQRule
	// MaxLen is the longest token sequence the model is run on; longer
	// requests are cut from the left as lm-eval does (0: the model's
	// context length).
	MaxLen int
	// NoBOS encodes contexts without BOS, as lm-eval's HF backend did before
	// October 2025 (add_bos_token=False); by default BOS is prepended when
	// the tokenizer prepends it to prompts (current lm-eval: the tokenizer
	// decides).
	NoBOS bool
	// Items keeps every item's log-likelihoods and answers in the result.
	Items bool
	// KVCache records the Env's KV-cache precision ("" = f32), as in
	// CompareOptions; it goes into the checkpoint's run.
	KVCache string
	// Checkpoint, when set, is a file the raw scores are appended to chunk
	// by chunk as they are computed (mc_checkpoint.go); with Resume an
	// existing checkpoint of the same run is continued instead of refused.
	Checkpoint string
	Resume     bool
	// Workers is the number of items scored at once, each on one thread;
	// 0 chooses: one per thread for models up to 200 M parameters, else a
	// single worker whose forward passes use every thread.
	Workers int
	// Progress, when set, is called with the items done and the total.
	Progress func(done, total int)
}

// mcChunk is the number of consecutive items one worker scores in a row,
// reusing the KV cache across them (MMLU's few-shot prefix is shared by a
// subject's questions). Chunks start from an empty cache, so results do not
// depend on the number of workers.
const mcChunk = 16

// mcParallelParams is the model size up to which items are scored in
// parallel (one thread each) rather than one at a time on every thread.
const mcParallelParams = 200e6

// mcRequest is one (context, continuation) pair in tokens.
type mcRequest struct {
	ctx, cont []int
	truncated bool
}

// errMCTooLong marks an option whose continuation alone does not fit the
// token window: lm-eval cannot score it either (it asserts), so its
// question is left out and counted.
var errMCTooLong = errors.New("option longer than the token window")

// mcEncoder tokenizes requests as lm-evaluation-harness's HF backend does
// (TemplateLM._encode_pair): trailing whitespace of the context moves to
// the front of the continuation; context+continuation is encoded as one
// string and split after len(encode(context)) tokens, so tokens merging
// across the boundary are handled the way the harness handles them; an
// empty context becomes the prefix token alone (BOS, else EOS) with the
// continuation encoded on its own. Both encodings get BOS (or neither), so
// the split is consistent with SentencePiece's dummy-prefix space. Requests
// longer than MaxLen+1 tokens lose tokens from the left
// ((ctx+cont)[-(MaxLen+1):][:-1] is what the model sees).
type mcEncoder struct {
	tok    *tokenizer.Tokenizer
	bos    bool
	prefix int
	maxLen int
}

func newMCEncoder(tok *tokenizer.Tokenizer, noBOS bool, maxLen int) *mcEncoder {
	e := &mcEncoder{tok: tok, bos: !noBOS && tok.AddBOSDefault(), prefix: tok.BOS(), maxLen: maxLen}
	if e.prefix < 0 {
		e.prefix = tok.EOS()
	}
	return e
}

// mcPySpace reports whether Python's str.isspace holds for r (it also counts
// the separators U+001C–U+001F, which unicode.IsSpace does not).
func mcPySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

func (e *mcEncoder) encode(ctx, cont string) (mcRequest, error) {
	var r mcRequest
	trimmed := strings.TrimRightFunc(ctx, mcPySpace)
	cont = ctx[len(trimmed):] + cont
	if trimmed == "" {
		if e.prefix < 0 {
			return r, errors.New("empty context and the tokenizer has neither BOS nor EOS")
		}
		r = mcRequest{ctx: []int{e.prefix}, cont: e.tok.Encode(cont, false, false)}
	} else {
		r.ctx = e.tok.Encode(trimmed, e.bos, false)
		whole := e.tok.Encode(trimmed+cont, e.bos, false)
		r.cont = whole[min(len(r.ctx), len(whole)):]
		if len(r.ctx) == 0 {
			r.ctx = []int{e.prefix}
		}
	}
	if len(r.cont) == 0 {
		return r, fmt.Errorf("continuation %q has no tokens of its own", cont)
	}
	if len(r.cont) > e.maxLen {
		return r, fmt.Errorf("%w: continuation of %d tokens, window of %d", errMCTooLong, len(r.cont), e.maxLen)
	}
	if drop := len(r.ctx) + len(r.cont) - 1 - e.maxLen; drop > 0 {
		r.ctx, r.truncated = r.ctx[drop:], true
	}
	return r, nil
}

// mcScorer computes log-likelihoods of requests on one model, keeping the
// KV cache of what it ran last: a context is run only from the first token
// it does not mcShare with the cache, and the logits of its last position
// are kept, so the options of one question cost their own tokens only
// (none at all for one-token options such as MMLU's letters).
type mcScorer struct {
	s      *engine.State
	m      *engine.Model
	pool   *kernels.Pool
	maxLen int // the window: the most positions s may grow to
	vocab  int
	cache  []int // tokens whose keys and values s holds
	rowCtx []int // the context whose last-position logits are in row
	rowOK  bool
	row    []float32
	rowLSE float64 // log-sum-exp of row, shared by the options
	ran    int     // positions run
}

// mcInitialLen is the capacity of a scorer's first state: longer than
// most requests, far shorter than a model's context.
const mcInitialLen = 512

// newMCScorer makes a scorer whose state grows to the requests it runs, up
// to maxLen positions: the window defaults to the model's context length,
// which a file may set to millions of positions, while requests are a few
// hundred tokens.
func newMCScorer(m *engine.Model, maxLen int, pool *kernels.Pool) (*mcScorer, error) {
	s, err := engine.NewState(m, min(maxLen, mcInitialLen), pool)
	if err != nil {
		return nil, err
	}
	return &mcScorer{s: s, m: m, pool: pool, maxLen: maxLen, vocab: m.Config.Vocab, row: make([]float32, m.Config.Vocab)}, nil
}

// room makes the state hold n ≤ maxLen positions, replacing it (and
// forgetting the cache) when it is too small.
func (sc *mcScorer) room(n int) error {
	if n <= sc.s.Cap() {
		return nil
	}
	s, err := engine.NewState(sc.m, min(sc.maxLen, max(n, 2*sc.s.Cap())), sc.pool)
	if err != nil {
		return err
	}
	sc.s = s
	sc.cache = sc.cache[:0]
	sc.rowOK = false
	return nil
}

func (sc *mcScorer) reset() {
	sc.s.Reset()
	sc.cache = sc.cache[:0]
	sc.rowOK = false
}

// loglik returns Σ ln p(cont_k | ctx, cont_<k).
func (sc *mcScorer) loglik(r mcRequest) (float64, error) {
	if err := sc.room(len(r.ctx) + len(r.cont) - 1); err != nil {
		return 0, err
	}
	if !sc.rowOK || !slices.Equal(sc.rowCtx, r.ctx) {
		keep := 0
		for keep < len(sc.cache) && keep < len(r.ctx)-1 && sc.cache[keep] == r.ctx[keep] {
			keep++
		}
		sc.rowOK = false
		sc.s.Truncate(keep)
		sc.cache = append(sc.cache[:keep], r.ctx[keep:]...)
		logits, err := sc.s.Forward(r.ctx[keep:], 1)
		if err != nil {
			sc.reset()
			return 0, err
		}
		sc.ran += len(r.ctx) - keep
		copy(sc.row, logits)
		if i := metrics.NonFinite(sc.row); i >= 0 {
			return 0, fmt.Errorf("logit %d of the last context position is %v", i, sc.row[i])
		}
		sc.rowLSE = metrics.LogSumExp(sc.row)
		sc.rowCtx = append(sc.rowCtx[:0], r.ctx...)
		sc.rowOK = true
	}
	if id := r.cont[0]; id < 0 || id >= len(sc.row) {
		return 0, fmt.Errorf("token %d outside the vocabulary of %d", id, len(sc.row))
	}
	ll := float64(sc.row[r.cont[0]]) - sc.rowLSE
	if len(r.cont) > 1 {
		n := len(r.ctx)
		in := r.cont[:len(r.cont)-1]
		sc.s.Truncate(n)
		sc.cache = append(sc.cache[:n], in...)
		logits, err := sc.s.Forward(in, len(in))
		if err != nil {
			sc.reset()
			return 0, err
		}
		sc.ran += len(in)
		for k := 1; k < len(r.cont); k++ {
			nll, err := metrics.TokenNLL(logits[(k-1)*sc.vocab:k*sc.vocab], r.cont[k])
			if err != nil {
				return 0, err
			}
			ll -= nll
		}
	}
	return ll, nil
}

// scoreChunk scores items lo…hi−1 on every model, each model from an
// empty cache. On error it returns the index of the item that failed.
func (run *mcRun) scoreChunk(enc *mcEncoder, scorers []*mcScorer, items []Item, lo, hi int) (int, error) {
	reqs := make([][]mcRequest, hi-lo)
	for i := lo; i < hi; i++ {
		for k, ch := range items[i].Choices {
			r, err := enc.encode(ch.Context, ch.Continuation)
			if errors.Is(err, errMCTooLong) {
				run.skipped[i], reqs[i-lo] = true, nil
				break
			}
			if err != nil {
				return i, fmt.Errorf("%s option %d: %w", items[i].ID, k, err)
			}
			reqs[i-lo] = append(reqs[i-lo], r)
			run.truncated[i] = run.truncated[i] || r.truncated
		}
	}
	for m, sc := range scorers {
		sc.reset()
		for i := lo; i < hi; i++ {
			if run.skipped[i] {
				continue
			}
			lls := make([]float64, len(reqs[i-lo]))
			for _, k := range mcOrder(reqs[i-lo]) {
				ll, err := sc.loglik(reqs[i-lo][k])
				if err != nil {
					return i, fmt.Errorf("%s option %d: %w", items[i].ID, k, err)
				}
				lls[k] = ll
			}
			run.ll[m][i] = lls
		}
	}
	return 0, nil
}

// mcOrder returns the order in which to score an item's requests: options
// with the same context tokens next to each other (first appearance
// first), so each distinct context is run once. Left truncation can give
// the options of one question different contexts (continuations of
// different lengths shift the window).
func mcOrder(reqs []mcRequest) []int {
	order := make([]int, 0, len(reqs))
	done := make([]bool, len(reqs))
	for k := range reqs {
		if done[k] {
			continue
		}
		for j := k; j < len(reqs); j++ {
			if !done[j] && slices.Equal(reqs[j].ctx, reqs[k].ctx) {
				order = append(order, j)
				done[j] = true
			}
		}
	}
	return order
}

// mcRun holds the raw scores of a run: per model, item and option.
type mcRun struct {
	ll        [][][]float64 // [model][item][option]; nil for a skipped item
	truncated []bool
	skipped   []bool // an option did not fit the window
	ran       []int  // positions run per model
	resumed   int    // items read from a checkpoint
	requests  int
	workers   int
	seconds   float64
}

// scoreItems computes every option's log-likelihood under each model.
// With a checkpoint, the chunks it holds are taken from it and every chunk
// scored is appended to it.
func scoreItems(e *Env, models []*engine.Model, items []Item, o MCOptions, maxLen int, ck *mcCheckpoint) (*mcRun, error) {
	start := time.Now()
	enc := newMCEncoder(models[0].Tokenizer, o.NoBOS, maxLen)
	run := &mcRun{ll: make([][][]float64, len(models)), truncated: make([]bool, len(items)),
		skipped: make([]bool, len(items)), ran: make([]int, len(models))}
	for m := range models {
		run.ll[m] = make([][]float64, len(items))
	}
	chunks := (len(items) + mcChunk - 1) / mcChunk
	have := make([]bool, chunks)
	if ck != nil {
		for _, r := range ck.read {
			lo := r.Chunk * mcChunk
			for k := range r.Skipped {
				run.skipped[lo+k], run.truncated[lo+k] = r.Skipped[k], r.Truncated[k]
				for m := range models {
					run.ll[m][lo+k] = r.LL[m][k]
				}
			}
			for m, n := range r.Ran {
				run.ran[m] += n
			}
			have[r.Chunk] = true
			run.resumed += len(r.Skipped)
		}
	}
	workers := o.Workers
	if workers <= 0 {
		workers = 1
		if models[0].Params() <= mcParallelParams {
			workers = e.Pool.Threads()
		}
	}
	workers = max(1, min(workers, chunks))
	pool := e.Pool
	if workers > 1 {
		pool = nil
	}
	run.workers = workers

	var (
		next     atomic.Int64
		done     atomic.Int64
		ckMu     sync.Mutex
		mu       sync.Mutex
		firstErr error
		errItem  = len(items)
		wg       sync.WaitGroup
		ran      = make([][]int, workers)
	)
	fail := func(i int, err error) {
		mu.Lock()
		defer mu.Unlock()
		if i < errItem {
			errItem, firstErr = i, err
		}
	}
	done.Store(int64(run.resumed))
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scorers := make([]*mcScorer, len(models))
			for m, model := range models {
				sc, err := newMCScorer(model, maxLen, pool)
				if err != nil {
					fail(0, err)
					return
				}
				scorers[m] = sc
			}
			defer func() {
				ran[w] = make([]int, len(models))
				for m, sc := range scorers {
					if sc != nil {
						ran[w][m] = sc.ran
					}
				}
			}()
			for {
				c := int(next.Add(1)) - 1
				if c >= chunks || failed() {
					return
				}
				if have[c] {
					continue
				}
				lo, hi := c*mcChunk, min((c+1)*mcChunk, len(items))
				before := make([]int, len(scorers))
				for m, sc := range scorers {
					before[m] = sc.ran
				}
				if i, err := run.scoreChunk(enc, scorers, items, lo, hi); err != nil {
					fail(i, err)
					return
				}
				if ck != nil {
					r := mcRecord{Chunk: c, LL: make([][][]float64, len(models)), Skipped: run.skipped[lo:hi],
						Truncated: run.truncated[lo:hi], Ran: make([]int, len(models))}
					for m, sc := range scorers {
						r.LL[m], r.Ran[m] = run.ll[m][lo:hi], sc.ran-before[m]
					}
					ckMu.Lock()
					err := ck.append(r)
					ckMu.Unlock()
					if err != nil {
						fail(lo, checkpointError{err})
						return
					}
				}
				d := done.Add(int64(hi - lo))
				if o.Progress != nil {
					mu.Lock()
					o.Progress(int(d), len(items))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	for _, r := range ran {
		for m, n := range r {
			run.ran[m] += n
		}
	}
	for _, it := range items {
		run.requests += len(it.Choices)
	}
	run.seconds = time.Since(start).Seconds()
	return run, nil
}
