package metrics

import (
	"fmt"
	"math"
)

// KLOptions choose how CompareLogits computes the token-level KL.
type KLOptions struct {
	// LlamaCppCut sums KL only over vocabulary entries whose base
	// log-probability exceeds −16, without renormalising the base
	// distribution, as llama.cpp does (METRICS.md §6.3; its stored base rows
	// cannot represent anything lower, §6.2). Off by default: divergo's KL is
	// over the full vocabulary. Turn it on only to compare with llama.cpp;
	// the cut makes per-token KL slightly smaller and can make it negative.
	LlamaCppCut bool
}

// llamaCppLogProbCut is llama.cpp's support bound for KLD (§6.3).
const llamaCppLogProbCut = -16

// TokenStats are the per-position quantities of METRICS.md §6.3 for one
// scored position: base and compressed next-token distributions compared,
// and both scored against the actual next token of the text.
type TokenStats struct {
	KL         float64 // KL(base ‖ compressed), nats
	NLLBase    float64 // −ln p_base(next)
	NLLComp    float64 // −ln p_comp(next)
	DeltaP     float64 // p_comp(next) − p_base(next)
	BaseTop    int     // argmax of the base row, lowest id on ties
	CompTop    int     // argmax of the compressed row, lowest id on ties
	BaseMargin float32 // top-2 margin of the base row
	CompMargin float32 // top-2 margin of the compressed row
}

// SameTop reports whether both rows have the same argmax (§6.3 same_top).
func (s TokenStats) SameTop() bool { return s.BaseTop == s.CompTop }

// CompareLogits computes the TokenStats of one position from the base and
// compressed rows over the same vocabulary and the id of the actual next
// token (METRICS.md §6.3, §2.4 variant B). Either row may hold logits or
// log-probabilities (anything equal to logits up to a constant): both are
// normalised here, in float64. KL is over the full vocabulary unless
// opt.LlamaCppCut is set; it is exactly 0 for identical rows. Any
// non-finite entry is an error (DESIGN §5), as is a length mismatch or a
// next id outside the rows.
func CompareLogits(base, comp []float32, next int, opt KLOptions) (TokenStats, error) {
	if len(base) != len(comp) {
		return TokenStats{}, fmt.Errorf("metrics: base row has %d entries, compressed row %d", len(base), len(comp))
	}
	if next < 0 || next >= len(base) {
		return TokenStats{}, fmt.Errorf("metrics: next token %d outside a vocabulary of %d", next, len(base))
	}
	if i := NonFinite(base); i >= 0 {
		return TokenStats{}, fmt.Errorf("metrics: base logit %d is %v", i, base[i])
	}
	if i := NonFinite(comp); i >= 0 {
		return TokenStats{}, fmt.Errorf("metrics: compressed logit %d is %v", i, comp[i])
	}
	var s TokenStats
	s.BaseTop, s.BaseMargin = Argmax(base)
	s.CompTop, s.CompMargin = Argmax(comp)
	mb, mq := float64(base[s.BaseTop]), float64(comp[s.CompTop])

	// With e_i = exp(b_i − mb) and S_b = Σ e_i:
	// KL = Σ p_i (b_i − lse_b − q_i + lse_q) = (1/S_b)·Σ e_i (b_i − q_i) + lse_q − lse_b,
	// one pass over both rows, two exponentials per entry.
	var sb, sq, t float64
	for i, b := range base {
		q := comp[i]
		e := math.Exp(float64(b) - mb)
		sb += e
		t += e * (float64(b) - float64(q))
		sq += math.Exp(float64(q) - mq)
	}
	lseB := mb + math.Log(sb)
	lseQ := mq + math.Log(sq)
	if opt.LlamaCppCut {
		// Few entries pass the cut; the exponential is taken only for those.
		var kl float64
		for i, b := range base {
			lp := float64(b) - lseB
			if lp > llamaCppLogProbCut {
				kl += math.Exp(lp) * (lp - (float64(comp[i]) - lseQ))
			}
		}
		s.KL = kl
	} else {
		s.KL = t/sb + lseQ - lseB
	}
	s.NLLBase = lseB - float64(base[next])
	s.NLLComp = lseQ - float64(comp[next])
	s.DeltaP = math.Exp(-s.NLLComp) - math.Exp(-s.NLLBase)
	return s, nil
}

// KLAccumulator gathers TokenStats over many positions, one row pair at a
// time, and summarises them as llama-perplexity --kl-divergence does
// (METRICS.md §6.4). It keeps only sums and two float64 values per position
// (KL and Δp, for the percentiles), never the rows. The zero value is ready
// to use; set Options before the first Add. It is not safe for concurrent
// use: compute TokenStats with CompareLogits in parallel and feed them to
// AddStats in order, or Merge per-goroutine accumulators.
type KLAccumulator struct {
	Options KLOptions

	n, sameTop            int
	sumQ, sumQ2           float64 // nll_Q
	sumB, sumB2           float64 // nll_base
	sumQB                 float64 // nll_Q·nll_base
	sumDP2, sumDP4        float64 // Δp², Δp⁴
	kl, deltaP            Sample
	nearTieBase, nearTieQ int
}

// Add compares one position (CompareLogits with a.Options), records it and
// returns its statistics.
func (a *KLAccumulator) Add(base, comp []float32, next int) (TokenStats, error) {
	s, err := CompareLogits(base, comp, next, a.Options)
	if err != nil {
		return s, err
	}
	a.AddStats(s)
	return s, nil
}

// AddStats records the statistics of one position.
func (a *KLAccumulator) AddStats(s TokenStats) {
	a.n++
	if s.SameTop() {
		a.sameTop++
	}
	if s.BaseMargin < NearTieMargin {
		a.nearTieBase++
	}
	if s.CompMargin < NearTieMargin {
		a.nearTieQ++
	}
	a.sumQ += s.NLLComp
	a.sumQ2 += s.NLLComp * s.NLLComp
	a.sumB += s.NLLBase
	a.sumB2 += s.NLLBase * s.NLLBase
	a.sumQB += s.NLLComp * s.NLLBase
	dp2 := s.DeltaP * s.DeltaP
	a.sumDP2 += dp2
	a.sumDP4 += dp2 * dp2
	a.kl.Add(s.KL)
	a.deltaP.Add(s.DeltaP)
}

// Merge adds every position recorded by b to a.
func (a *KLAccumulator) Merge(b *KLAccumulator) {
	a.n += b.n
	a.sameTop += b.sameTop
	a.nearTieBase += b.nearTieBase
	a.nearTieQ += b.nearTieQ
	a.sumQ += b.sumQ
	a.sumQ2 += b.sumQ2
	a.sumB += b.sumB
	a.sumB2 += b.sumB2
	a.sumQB += b.sumQB
	a.sumDP2 += b.sumDP2
	a.sumDP4 += b.sumDP4
	a.kl.Merge(&b.kl)
	a.deltaP.Merge(&b.deltaP)
}

// N returns the number of positions recorded.
func (a *KLAccumulator) N() int { return a.n }

// KLValues returns the per-position KL values in the order recorded.
func (a *KLAccumulator) KLValues() []float64 { return a.kl.Values() }

// DeltaPValues returns the per-position Δp values in the order recorded.
func (a *KLAccumulator) DeltaPValues() []float64 { return a.deltaP.Values() }

// KLSummary is the llama-perplexity --kl-divergence report (METRICS.md
// §6.4). Probabilities and Δp are fractions (llama.cpp prints them ×100
// as %). Every "Unc" is llama.cpp's uncertainty: 0 when n ≤ 10.
type KLSummary struct {
	N int

	// Perplexity statistics.
	NLLComp, NLLCompUnc float64 // mean −ln p_comp(next)
	NLLBase, NLLBaseUnc float64 // mean −ln p_base(next)
	PPLComp, PPLCompUnc float64 // "Mean PPL(Q)" = exp(NLLComp), unc PPL·unc
	PPLBase, PPLBaseUnc float64 // "Mean PPL(base)"
	// Cov is llama.cpp's covariance of the two mean NLLs (0 when n < 10).
	Cov float64
	// Cor is "Cor(ln(PPL(Q)), ln(PPL(base)))" = Cov/(NLLCompUnc·NLLBaseUnc);
	// NaN when either uncertainty is 0.
	Cor                 float64
	LnRatio, LnRatioUnc float64 // "Mean ln(PPL(Q)/PPL(base))" ± sqrt(u_Q²+u_b²−2Cov)
	Ratio, RatioUnc     float64 // "Mean PPL(Q)/PPL(base)" = exp(LnRatio) ± Ratio·LnRatioUnc
	// DeltaPPL is "Mean PPL(Q)−PPL(base)" ± sqrt(u²_PPLQ + u²_PPLb − 2·PPL_Q·PPL_b·Cov).
	DeltaPPL, DeltaPPLUnc float64

	// KL is the per-token KL(base‖comp): mean ± unc, min, max, median and
	// the percentiles 99.9, 99, 95, 90, 10, 5, 1, 0.1 %.
	KL Spread
	// DeltaP is the per-token Δp: mean ± unc, min, max, median and the
	// percentiles 99.9, 99, 95, 90, 75, 25, 10, 5, 1, 0.1 %.
	DeltaP Spread
	// RMSDeltaP = sqrt(mean Δp²), unc = 0.5/RMS · unc(mean Δp²).
	RMSDeltaP, RMSDeltaPUnc float64
	// SameTop is the share of positions whose argmaxes agree, unc sqrt(p(1−p)/(n−1)).
	SameTop, SameTopUnc float64

	// NearTiesBase and NearTiesComp count positions whose top-2 margin was
	// below NearTieMargin in the base and compressed rows (§0.1).
	NearTiesBase, NearTiesComp int
}

// Summary computes the report over every position recorded so far.
// llama.cpp prints it only for n ≥ 100; Summary computes it for any n ≥ 1
// (with n = 0 the means are NaN).
func (a *KLAccumulator) Summary() KLSummary {
	s := KLSummary{N: a.n, NearTiesBase: a.nearTieBase, NearTiesComp: a.nearTieQ}
	s.NLLComp, s.NLLCompUnc = MeanUnc(a.sumQ, a.sumQ2, a.n)
	s.NLLBase, s.NLLBaseUnc = MeanUnc(a.sumB, a.sumB2, a.n)
	s.PPLComp = math.Exp(s.NLLComp)
	s.PPLCompUnc = s.PPLComp * s.NLLCompUnc
	s.PPLBase = math.Exp(s.NLLBase)
	s.PPLBaseUnc = s.PPLBase * s.NLLBaseUnc
	if a.n >= 10 {
		nf := float64(a.n)
		s.Cov = (a.sumQB/nf - (a.sumQ/nf)*(a.sumB/nf)) / (nf - 1)
	}
	s.Cor = math.NaN()
	if s.NLLCompUnc > 0 && s.NLLBaseUnc > 0 {
		s.Cor = s.Cov / (s.NLLCompUnc * s.NLLBaseUnc)
	}
	s.LnRatio = s.NLLComp - s.NLLBase
	s.LnRatioUnc = sqrtClamped(s.NLLCompUnc*s.NLLCompUnc + s.NLLBaseUnc*s.NLLBaseUnc - 2*s.Cov)
	s.Ratio = math.Exp(s.LnRatio)
	s.RatioUnc = s.Ratio * s.LnRatioUnc
	s.DeltaPPL = s.PPLComp - s.PPLBase
	s.DeltaPPLUnc = sqrtClamped(s.PPLCompUnc*s.PPLCompUnc + s.PPLBaseUnc*s.PPLBaseUnc - 2*s.PPLComp*s.PPLBase*s.Cov)

	s.KL = a.kl.Spread(0.999, 0.99, 0.95, 0.90, 0.10, 0.05, 0.01, 0.001)
	s.DeltaP = a.deltaP.Spread(0.999, 0.99, 0.95, 0.90, 0.75, 0.25, 0.10, 0.05, 0.01, 0.001)

	mse, mseUnc := MeanUnc(a.sumDP2, a.sumDP4, a.n)
	s.RMSDeltaP = math.Sqrt(mse)
	if s.RMSDeltaP > 0 {
		s.RMSDeltaPUnc = 0.5 / s.RMSDeltaP * mseUnc
	}
	s.SameTop, s.SameTopUnc = math.NaN(), 0
	if a.n > 0 {
		s.SameTop = float64(a.sameTop) / float64(a.n)
	}
	if a.n > 1 {
		s.SameTopUnc = math.Sqrt(s.SameTop * (1 - s.SameTop) / float64(a.n-1))
	}
	return s
}

// sqrtClamped returns sqrt(max(x, 0)): the variances combined above are
// non-negative in exact arithmetic and only rounding can push them below 0.
func sqrtClamped(x float64) float64 { return math.Sqrt(max(x, 0)) }
