package eval

import (
	"fmt"
	"math"

	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/metrics"
)

// EOSPolicy is how divergent-token samples treat the end-of-sequence token:
// as an ordinary token, generating exactly G tokens (METRICS.md §1.4).
const EOSPolicy = "ordinary token (always G tokens)"

// Divergence is the base-versus-compressed report over a set of samples:
// the divergent-token metrics against the base model's greedy continuation
// (METRICS.md §1.3) and, on the same G positions per sample, the
// token-distribution metrics of §6.3–§6.4 (KL(base‖compressed), same top,
// Δp of y_j) and the NLL of the continuation under both models. It is the
// part of a `compare` result a sweep row embeds; its JSON keys are those of
// DESIGN §4 (fdtm, sdtm, kl, same_top, flagged …). Every value is finite.
type Divergence struct {
	PromptLen int    `json:"prompt_len"` // n, BOS included
	Gen       int    `json:"gen"`        // G
	Samples   int    `json:"samples"`    // S actually used
	Positions int    `json:"positions"`  // compared positions, S·G
	EOS       string `json:"eos"`        // EOSPolicy
	// Flagged counts samples whose decoded continuation failed the
	// self-check and was repaired (Sample.Repairs > 0); they are kept.
	Flagged int `json:"flagged"`

	FDTM FDTMStats `json:"fdtm"`
	SDTM SDTMStats `json:"sdtm"`

	// KL is the per-position KL(base‖compressed) in nats over the full
	// vocabulary (or llama.cpp's −16 support when KLSupport says so).
	KL        Dist   `json:"kl"`
	KLSupport string `json:"kl_support"` // "full vocabulary" or "llama.cpp cut (base log p > -16)"
	// SameTop is the share of positions whose base and compressed argmaxes
	// agree; on these positions it equals 1 − SDTM (positions-weighted).
	SameTop    float64 `json:"same_top"`
	SameTopUnc float64 `json:"same_top_unc"`
	// DeltaP is p_comp(y_j) − p_base(y_j) per position, a fraction.
	DeltaP DeltaPStats `json:"delta_p"`
	// Continuation compares the NLL of y (the base continuation) under
	// both models: a "soft" SDTM (§1.3).
	Continuation NLLComparison `json:"continuation"`

	// NearTiesBase and NearTies count positions whose top-2 logit margin
	// is below metrics.NearTieMargin in the base and compressed rows: their
	// argmax may flip under another kernel path (§0.1).
	NearTiesBase int `json:"near_ties_base"`
	NearTies     int `json:"near_ties"`
}

// FDTMStats summarises the first divergent token over samples, in tokens
// (METRICS.md §1.3 item 6).
type FDTMStats struct {
	Mean      float64 `json:"mean"`       // FDTM
	Unc       float64 `json:"unc"`        // uncertainty of the mean (llama.cpp rule; 0 for S ≤ 10)
	Median    float64 `json:"median"`     // mean of the two middle values for even S
	P10       float64 `json:"p10"`        // 10th percentile, linear interpolation
	Min       float64 `json:"min"`        // smallest FDT
	FullShare float64 `json:"full_share"` // share of samples with FDT = G (never diverged)
	NormMean  float64 `json:"norm_mean"`  // mean FDT/G
}

// SDTMStats summarises the divergent-token share SDT/G over samples.
type SDTMStats struct {
	Mean   float64 `json:"mean"`   // SDTM: mean SDT/G
	Unc    float64 `json:"unc"`    // uncertainty of the mean
	Tokens float64 `json:"tokens"` // mean SDT in tokens
}

// Dist is the distribution summary of a per-position quantity: mean with
// llama.cpp's uncertainty (0 for n ≤ 10), extremes, median and percentiles
// by linear interpolation (METRICS.md §6.4). Keys p0_1 and p99_9 are the
// 0.1st and 99.9th percentiles.
type Dist struct {
	Mean   float64 `json:"mean"`
	Unc    float64 `json:"unc"`
	Min    float64 `json:"min"`
	P0_1   float64 `json:"p0_1"`
	P1     float64 `json:"p1"`
	P5     float64 `json:"p5"`
	P10    float64 `json:"p10"`
	P25    float64 `json:"p25"`
	Median float64 `json:"median"`
	P75    float64 `json:"p75"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
	P99_9  float64 `json:"p99_9"`
	Max    float64 `json:"max"`
}

// DeltaPStats is the distribution of Δp with its root mean square, the
// "RMS Δp" of llama.cpp (fractions; llama.cpp prints ×100).
type DeltaPStats struct {
	Dist
	RMS    float64 `json:"rms"`
	RMSUnc float64 `json:"rms_unc"`
}

// NLLComparison compares the mean NLL (nats) of the same tokens under both
// models, with the paired uncertainties of llama-perplexity
// --kl-divergence (METRICS.md §6.4).
type NLLComparison struct {
	Tokens     int     `json:"tokens"`
	NLLBase    float64 `json:"nll_base"`
	NLLBaseUnc float64 `json:"nll_base_unc"`
	NLL        float64 `json:"nll"` // compressed
	NLLUnc     float64 `json:"nll_unc"`
	PPLBase    float64 `json:"ppl_base"` // exp(NLLBase)
	PPLBaseUnc float64 `json:"ppl_base_unc"`
	PPL        float64 `json:"ppl"` // exp(NLL)
	PPLUnc     float64 `json:"ppl_unc"`
	// LnRatio is "Mean ln(PPL(Q)/PPL(base))" = NLL − NLLBase.
	LnRatio    float64 `json:"ln_ratio"`
	LnRatioUnc float64 `json:"ln_ratio_unc"`
	// Ratio is "Mean PPL(Q)/PPL(base)" = exp(LnRatio).
	Ratio    float64 `json:"ratio"`
	RatioUnc float64 `json:"ratio_unc"`
	// Delta is "Mean PPL(Q)−PPL(base)".
	Delta    float64 `json:"delta"`
	DeltaUnc float64 `json:"delta_unc"`
	// Cor is "Cor(ln(PPL(Q)), ln(PPL(base)))"; null when undefined (an
	// uncertainty is 0, e.g. ≤ 10 tokens).
	Cor *float64 `json:"cor"`
}

// A Comparison accumulates samples compared between a base and a
// compressed model and summarises them as a Divergence. It keeps sums and
// a few numbers per position and per sample, never logit rows, so rows can
// be dropped after each Add. The zero value is ready to use; set KL and
// Pool before the first Add. Not safe for concurrent use; Merge
// per-goroutine Comparisons in sample order for a deterministic result.
type Comparison struct {
	// KL chooses the token-level KL (full vocabulary by default).
	KL metrics.KLOptions
	// Pool, when set, compares the positions of a sample in parallel; the
	// result does not depend on it.
	Pool *kernels.Pool

	dtm      metrics.DTMAccumulator
	fdt, sdt metrics.Sample // FDT and SDT/G per sample, for uncertainties
	tok      metrics.KLAccumulator
	flagged  int
	n, g     int
	stats    []metrics.TokenStats
	errs     []error
}

// SampleResult is one sample's outcome in a Comparison.
type SampleResult struct {
	Doc     int     `json:"doc"`
	FDT     int     `json:"fdt"`
	SDT     int     `json:"sdt"`
	KL      float64 `json:"kl"`       // mean over the sample's positions
	NLLBase float64 `json:"nll_base"` // mean NLL of y under the base
	NLL     float64 `json:"nll"`      // and under the compressed model
	Repairs int     `json:"repairs,omitempty"`
}

// Add compares one sample: base and comp are the two models' teacher-forced
// rows predicting y_1 … y_G (G×vocab each, as Teacher.Rows returns them).
// FDT and SDT come from comp's argmaxes against s.Ref; KL, same top, Δp and
// NLL compare each comp row with the base row for y_j. All samples of a
// Comparison must have the same n and G.
func (c *Comparison) Add(s *Sample, base, comp []float32) (SampleResult, error) {
	G := len(s.Ref)
	if G == 0 || len(base) != len(comp) || len(base)%G != 0 {
		return SampleResult{}, fmt.Errorf("compare: document %d: %d base and %d compressed logits for %d positions", s.Doc, len(base), len(comp), G)
	}
	if c.dtm.N() == 0 {
		c.n, c.g = len(s.Tokens), G
	} else if len(s.Tokens) != c.n || G != c.g {
		return SampleResult{}, fmt.Errorf("compare: document %d: prompt %d and continuation %d tokens, earlier samples %d and %d", s.Doc, len(s.Tokens), G, c.n, c.g)
	}
	V := len(base) / G
	d, err := metrics.DivergenceOfLogits(s.Ref, comp, V)
	if err != nil {
		return SampleResult{}, fmt.Errorf("compare: document %d: %w", s.Doc, err)
	}
	if cap(c.stats) < G {
		c.stats, c.errs = make([]metrics.TokenStats, G), make([]error, G)
	}
	stats, errs := c.stats[:G], c.errs[:G]
	c.Pool.Run(G, func(_, j int) {
		stats[j], errs[j] = metrics.CompareLogits(base[j*V:(j+1)*V], comp[j*V:(j+1)*V], s.Ref[j], c.KL)
	})
	r := SampleResult{Doc: s.Doc, FDT: d.FDT, SDT: d.SDT, Repairs: s.Repairs}
	for j, e := range errs {
		if e != nil {
			return SampleResult{}, fmt.Errorf("compare: document %d, position %d: %w", s.Doc, j, e)
		}
	}
	for _, t := range stats {
		c.tok.AddStats(t)
		r.KL += t.KL
		r.NLLBase += t.NLLBase
		r.NLL += t.NLLComp
	}
	r.KL /= float64(G)
	r.NLLBase /= float64(G)
	r.NLL /= float64(G)
	c.dtm.Add(d)
	c.fdt.Add(float64(d.FDT))
	c.sdt.Add(d.SDTShare())
	if s.Repairs > 0 {
		c.flagged++
	}
	return r, nil
}

// Merge adds the samples of d after those of c.
func (c *Comparison) Merge(d *Comparison) {
	if c.dtm.N() == 0 {
		c.n, c.g = d.n, d.g
	}
	c.dtm.Merge(&d.dtm)
	c.fdt.Merge(&d.fdt)
	c.sdt.Merge(&d.sdt)
	c.tok.Merge(&d.tok)
	c.flagged += d.flagged
}

// N returns the number of samples added.
func (c *Comparison) N() int { return c.dtm.N() }

// Divergence summarises the samples added so far. It fails when there are
// none.
func (c *Comparison) Divergence() (Divergence, error) {
	if c.N() == 0 {
		return Divergence{}, fmt.Errorf("compare: no samples")
	}
	ds := c.dtm.Summary()
	ks := c.tok.Summary()
	out := Divergence{
		PromptLen: c.n, Gen: c.g, Samples: ds.N, Positions: ds.Positions, EOS: EOSPolicy,
		Flagged:      c.flagged,
		KL:           compareDist(c.tok.KLValues()),
		KLSupport:    compareKLSupport(c.KL),
		SameTop:      ks.SameTop,
		SameTopUnc:   ks.SameTopUnc,
		DeltaP:       DeltaPStats{Dist: compareDist(c.tok.DeltaPValues()), RMS: ks.RMSDeltaP, RMSUnc: ks.RMSDeltaPUnc},
		Continuation: compareNLL(ks),
		NearTiesBase: ks.NearTiesBase,
		NearTies:     ks.NearTiesComp,
	}
	out.FDTM = FDTMStats{Median: ds.FDTMedian, P10: ds.FDTP10, Min: c.fdt.Min(), FullShare: ds.FullShare, NormMean: ds.FDTNorm}
	out.FDTM.Mean, out.FDTM.Unc = c.fdt.Mean()
	out.SDTM.Mean, out.SDTM.Unc = c.sdt.Mean()
	out.SDTM.Tokens = out.SDTM.Mean * float64(c.g)
	return out, nil
}

func compareKLSupport(o metrics.KLOptions) string {
	if o.LlamaCppCut {
		return "llama.cpp cut (base log p > -16)"
	}
	return "full vocabulary"
}

// compareDist summarises values (at least one) as a Dist.
func compareDist(values []float64) Dist {
	var s metrics.Sample
	for _, v := range values {
		s.Add(v)
	}
	sp := s.Spread(0.001, 0.01, 0.05, 0.10, 0.25, 0.75, 0.90, 0.95, 0.99, 0.999)
	at := func(f float64) float64 { v, _ := sp.At(f); return v }
	return Dist{
		Mean: sp.Mean, Unc: sp.Unc, Min: sp.Min, Max: sp.Max, Median: sp.Median,
		P0_1: at(0.001), P1: at(0.01), P5: at(0.05), P10: at(0.10), P25: at(0.25),
		P75: at(0.75), P90: at(0.90), P95: at(0.95), P99: at(0.99), P99_9: at(0.999),
	}
}

// compareNLL takes the paired NLL statistics of a KL summary.
func compareNLL(ks metrics.KLSummary) NLLComparison {
	c := NLLComparison{
		Tokens:  ks.N,
		NLLBase: ks.NLLBase, NLLBaseUnc: ks.NLLBaseUnc, NLL: ks.NLLComp, NLLUnc: ks.NLLCompUnc,
		PPLBase: ks.PPLBase, PPLBaseUnc: ks.PPLBaseUnc, PPL: ks.PPLComp, PPLUnc: ks.PPLCompUnc,
		LnRatio: ks.LnRatio, LnRatioUnc: ks.LnRatioUnc, Ratio: ks.Ratio, RatioUnc: ks.RatioUnc,
		Delta: ks.DeltaPPL, DeltaUnc: ks.DeltaPPLUnc,
	}
	if !math.IsNaN(ks.Cor) && !math.IsInf(ks.Cor, 0) {
		cor := ks.Cor
		c.Cor = &cor
	}
	return c
}
