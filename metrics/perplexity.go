package metrics

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Perplexity accumulates per-token negative log-likelihoods (nats) of
// scored positions and reports perplexity with llama.cpp's uncertainty
// (METRICS.md §1.7, §6.4). The zero value is ready to use. It weights every
// scored token equally, which is what all three protocols of Protocol
// define (for the disjoint protocol every window scores the same number of
// tokens, so this also equals the mean of per-window losses).
type Perplexity struct {
	n         int
	sum, sum2 float64
}

// Add records the NLL of one scored token.
func (p *Perplexity) Add(nll float64) {
	p.n++
	p.sum += nll
	p.sum2 += nll * nll
}

// AddLogits records the NLL of token next under the logit row z (TokenNLL)
// and returns it.
func (p *Perplexity) AddLogits(z []float32, next int) (float64, error) {
	nll, err := TokenNLL(z, next)
	if err != nil {
		return 0, err
	}
	p.Add(nll)
	return nll, nil
}

// Merge adds the tokens recorded by q to p.
func (p *Perplexity) Merge(q *Perplexity) {
	p.n += q.n
	p.sum += q.sum
	p.sum2 += q.sum2
}

// N returns the number of scored tokens.
func (p *Perplexity) N() int { return p.n }

// NLL returns the mean NLL and its uncertainty by MeanUnc (§6.4).
func (p *Perplexity) NLL() (mean, unc float64) { return MeanUnc(p.sum, p.sum2, p.n) }

// PPL returns exp(mean NLL) and its uncertainty PPL·unc(NLL), as
// llama.cpp reports "PPL = x ± σ" (§6.4). (llama.cpp's plain perplexity mode
// omits the n > 10 condition of MeanUnc; with ≥ 255 tokens per chunk the two
// agree.)
func (p *Perplexity) PPL() (ppl, unc float64) {
	m, u := p.NLL()
	ppl = math.Exp(m)
	return ppl, ppl * u
}

// ProtocolKind names a perplexity protocol (METRICS.md §1.7, §4.4, §6.1,
// ENGINE-NOTES §1.3, §4.2, §4.3).
type ProtocolKind int

const (
	// Disjoint is the GPTQ/AWQ convention: the token stream (tokenised once,
	// one BOS at its very start) is cut into ⌊n/ctx⌋ non-overlapping windows
	// of ctx tokens, the remainder dropped. Each window is fed as is (no BOS
	// is inserted in later windows) and positions 0 … ctx−2 are scored, each
	// predicting the next token of the window, so tokens 1 … ctx−1 of every
	// window are predicted and its first token never is. Llama-2-7B
	// WikiText-2 at ctx 2048: 5.47.
	Disjoint ProtocolKind = iota
	// Strided is Hugging Face's sliding window ("Perplexity of fixed-length
	// models"): windows of up to ctx tokens begin at 0, S, 2S, … and end at
	// min(begin+ctx, n); each scores only the tokens after the previous
	// window's end (the last trg_len = end − prevEnd tokens; in the first
	// window every token from position 1 on), and the loop stops at the
	// window reaching the end of the stream. Stride S = ctx gives disjoint
	// windows that keep the short last window. (HF's own loop weights each
	// window by trg_len−1 instead of the trg_len tokens it scores; Perplexity
	// weights tokens exactly.)
	Strided
	// LlamaCpp is llama-perplexity's default: ⌊n/ctx⌋ chunks of ctx tokens
	// (remainder dropped), the first token of each chunk replaced by BOS for
	// the forward pass, positions ctx/2 … ctx−2 scored predicting the next
	// token (ctx−1−ctx/2 tokens per chunk, 255 at ctx 512). Needs n ≥ 2·ctx.
	LlamaCpp
)

// Protocol is a perplexity protocol with its parameter.
type Protocol struct {
	Kind   ProtocolKind
	Stride int // for Strided: tokens between window starts, 1 ≤ Stride ≤ ctx
}

// ParseProtocol parses the CLI spelling "disjoint", "stride:S" or "llamacpp".
func ParseProtocol(s string) (Protocol, error) {
	switch {
	case s == "disjoint":
		return Protocol{Kind: Disjoint}, nil
	case s == "llamacpp":
		return Protocol{Kind: LlamaCpp}, nil
	case strings.HasPrefix(s, "stride:"):
		v, err := strconv.Atoi(s[len("stride:"):])
		if err != nil || v < 1 {
			return Protocol{}, fmt.Errorf("metrics: protocol %q: stride must be a positive integer", s)
		}
		return Protocol{Kind: Strided, Stride: v}, nil
	}
	return Protocol{}, fmt.Errorf("metrics: unknown perplexity protocol %q (want disjoint, stride:S or llamacpp)", s)
}

// String returns the spelling ParseProtocol accepts.
func (p Protocol) String() string {
	switch p.Kind {
	case Disjoint:
		return "disjoint"
	case Strided:
		return "stride:" + strconv.Itoa(p.Stride)
	case LlamaCpp:
		return "llamacpp"
	}
	return fmt.Sprintf("ProtocolKind(%d)", int(p.Kind))
}

// Window is one forward pass of a perplexity plan. The engine feeds
// tokens[Start : Start+Len] (with the first one replaced by BOS when BOS is
// set), and for every window position j in First … Last (inclusive,
// relative to Start) scores the logits at j against the token at
// Start+j+1, e.g. with Perplexity.AddLogits(logits[j], tokens[Start+j+1]).
type Window struct {
	Start, Len  int
	BOS         bool
	First, Last int
}

// Scored returns the number of positions the window scores.
func (w Window) Scored() int { return w.Last - w.First + 1 }

// ScoredTokens returns the number of positions a plan scores.
func ScoredTokens(plan []Window) int {
	n := 0
	for _, w := range plan {
		n += w.Scored()
	}
	return n
}

// Plan returns the windows protocol p runs over a stream of n tokens with
// context ctx. maxWindows > 0 keeps only the first maxWindows windows
// (llama.cpp's --chunks). Every returned window scores at least one
// position. It fails when the stream is too short for the protocol, or on a
// bad ctx or stride.
func (p Protocol) Plan(n, ctx, maxWindows int) ([]Window, error) {
	if ctx < 2 {
		return nil, fmt.Errorf("metrics: %v: context %d, need at least 2", p, ctx)
	}
	if n < 0 {
		return nil, fmt.Errorf("metrics: %v: negative token count %d", p, n)
	}
	limit := func(k int) int {
		if maxWindows > 0 {
			return min(k, maxWindows)
		}
		return k
	}
	var plan []Window
	switch p.Kind {
	case Disjoint:
		k := n / ctx
		if k == 0 {
			return nil, fmt.Errorf("metrics: disjoint: %d tokens, fewer than one window of %d", n, ctx)
		}
		for i := range limit(k) {
			plan = append(plan, Window{Start: i * ctx, Len: ctx, First: 0, Last: ctx - 2})
		}
	case Strided:
		if p.Stride < 1 || p.Stride > ctx {
			return nil, fmt.Errorf("metrics: %v: stride must be in 1…%d (the context)", p, ctx)
		}
		if n < 2 {
			return nil, fmt.Errorf("metrics: %v: %d tokens, need at least 2", p, n)
		}
		prevEnd := 0
		for begin := 0; begin < n; begin += p.Stride {
			end := min(begin+ctx, n)
			length := end - begin
			// Tokens from window position max(1, length−trg) on are predicted,
			// by the logits one position earlier.
			firstPredicted := max(1, length-(end-prevEnd))
			if firstPredicted <= length-1 {
				plan = append(plan, Window{Start: begin, Len: length, First: firstPredicted - 1, Last: length - 2})
			}
			prevEnd = end
			if end == n {
				break
			}
		}
		if maxWindows > 0 && len(plan) > maxWindows {
			plan = plan[:maxWindows]
		}
	case LlamaCpp:
		if ctx < 3 {
			return nil, fmt.Errorf("metrics: llamacpp: context %d scores no position (need at least 3)", ctx)
		}
		if n < 2*ctx {
			return nil, fmt.Errorf("metrics: llamacpp: %d tokens, llama.cpp needs at least 2·ctx = %d", n, 2*ctx)
		}
		for i := range limit(n / ctx) {
			plan = append(plan, Window{Start: i * ctx, Len: ctx, BOS: true, First: ctx / 2, Last: ctx - 2})
		}
	default:
		return nil, fmt.Errorf("metrics: unknown protocol kind %d", int(p.Kind))
	}
	return plan, nil
}
