package metrics

import (
	"errors"
	"fmt"
	"math"
)

// Divergence is the divergent-token record of one sample (METRICS.md §1.3):
// the compressed model's teacher-forced argmaxes compared with the base
// model's greedy reference continuation y_1 … y_G.
type Divergence struct {
	// G is the number of compared positions, the sample's generation length
	// (it may differ between samples when generation stops at EOS, §1.4).
	G int
	// FDT is the first divergent token: the number of leading reference
	// tokens reproduced exactly, min{j−1 : ŷ_j ≠ y_j}, and G when none
	// diverged (§1.3 item 4; 0-based, Q1.2).
	FDT int
	// SDT is the number of divergent positions (§1.3 item 5).
	SDT int
	// NonFinite counts positions whose compressed logits held NaN or ±Inf;
	// each counts as divergent (§1.4).
	NonFinite int
	// Margins holds the compressed top-2 logit margin at each position when
	// the record was built from logits (NaN at non-finite positions), nil
	// when it was built from token ids.
	Margins []float32
}

// FDTNorm returns FDT/G ∈ [0, 1], 1 meaning no divergence (§1.3 item 4).
func (d Divergence) FDTNorm() float64 { return float64(d.FDT) / float64(d.G) }

// SDTShare returns SDT/G ∈ [0, 1], 0 meaning no divergence (§1.3 item 5).
func (d Divergence) SDTShare() float64 { return float64(d.SDT) / float64(d.G) }

// NearTies returns the number of positions whose compressed top-2 margin
// is below NearTieMargin (0 when Margins is nil).
func (d Divergence) NearTies() int {
	n := 0
	for _, m := range d.Margins {
		if m < NearTieMargin {
			n++
		}
	}
	return n
}

var errNoPositions = errors.New("metrics: divergence: no positions to compare (G = 0)")

// DivergenceOf compares the reference continuation ref (y_1 … y_G, the base
// model's greedy tokens) with the compressed model's teacher-forced
// argmaxes pred (ŷ_j predicting y_j) (METRICS.md §1.3). Both must have the
// same length G ≥ 1.
func DivergenceOf(ref, pred []int) (Divergence, error) {
	if len(ref) != len(pred) {
		return Divergence{}, fmt.Errorf("metrics: divergence: %d reference tokens, %d predictions", len(ref), len(pred))
	}
	if len(ref) == 0 {
		return Divergence{}, errNoPositions
	}
	d := Divergence{G: len(ref), FDT: -1}
	for j, y := range ref {
		if pred[j] != y {
			d.diverge(j)
		}
	}
	if d.FDT < 0 {
		d.FDT = d.G
	}
	return d, nil
}

func (d *Divergence) diverge(j int) {
	d.SDT++
	if d.FDT < 0 {
		d.FDT = j
	}
}

// DivergenceOfLogits compares the reference continuation ref with the
// compressed model's teacher-forced logits, row-major G×vocab: row j is
// the logit row that predicts ref[j]. The prediction of each row is
// Argmax (lowest id on exact ties, compared in float32); a row with a
// non-finite logit counts as divergent (§1.4), and each row's top-2
// margin is recorded. It fails when len(logits) ≠ len(ref)·vocab or a
// reference id lies outside the vocabulary.
func DivergenceOfLogits(ref []int, logits []float32, vocab int) (Divergence, error) {
	if len(ref) == 0 {
		return Divergence{}, errNoPositions
	}
	if vocab < 1 || len(logits)/vocab != len(ref) || len(logits)%vocab != 0 {
		return Divergence{}, fmt.Errorf("metrics: divergence: %d logits are not %d rows of vocabulary %d", len(logits), len(ref), vocab)
	}
	d := Divergence{G: len(ref), FDT: -1, Margins: make([]float32, len(ref))}
	for j, y := range ref {
		if y < 0 || y >= vocab {
			return Divergence{}, fmt.Errorf("metrics: divergence: reference token %d at position %d outside vocabulary %d", y, j, vocab)
		}
		row := logits[j*vocab : (j+1)*vocab]
		if NonFinite(row) >= 0 {
			d.NonFinite++
			d.Margins[j] = float32(math.NaN())
			d.diverge(j)
			continue
		}
		id, margin := Argmax(row)
		d.Margins[j] = margin
		if id != y {
			d.diverge(j)
		}
	}
	if d.FDT < 0 {
		d.FDT = d.G
	}
	return d, nil
}

// DTMAccumulator aggregates Divergence records over samples into FDTM and
// SDTM (METRICS.md §1.3 item 6). The zero value is ready to use.
type DTMAccumulator struct {
	fdt, fdtNorm, sdtShare Sample
	full                   int
	nearTies, nonFinite    int
	positions              int
}

// Add records one sample.
func (a *DTMAccumulator) Add(d Divergence) {
	a.fdt.Add(float64(d.FDT))
	a.fdtNorm.Add(d.FDTNorm())
	a.sdtShare.Add(d.SDTShare())
	if d.FDT == d.G {
		a.full++
	}
	a.nearTies += d.NearTies()
	a.nonFinite += d.NonFinite
	a.positions += d.G
}

// Merge adds every sample recorded by b to a.
func (a *DTMAccumulator) Merge(b *DTMAccumulator) {
	a.fdt.Merge(&b.fdt)
	a.fdtNorm.Merge(&b.fdtNorm)
	a.sdtShare.Merge(&b.sdtShare)
	a.full += b.full
	a.nearTies += b.nearTies
	a.nonFinite += b.nonFinite
	a.positions += b.positions
}

// N returns the number of samples recorded.
func (a *DTMAccumulator) N() int { return a.fdt.Len() }

// FDTValues returns the per-sample FDT values in the order recorded.
func (a *DTMAccumulator) FDTValues() []float64 { return a.fdt.Values() }

// DTMSummary is the per-configuration DTM report of METRICS.md §1.3 item 6.
// FDT statistics are in tokens; shares are fractions. With N = 0 every
// statistic is NaN.
type DTMSummary struct {
	N int // samples

	FDTMean   float64 // FDTM: mean FDT
	FDTMedian float64 // median FDT (mean of the two middle values for even N)
	FDTP10    float64 // 10th percentile of FDT, linear interpolation (§6.4 rule)
	FullShare float64 // share of samples that never diverged (FDT = G)
	FDTNorm   float64 // mean of FDT/G over samples

	SDTShare float64 // SDTM: mean of SDT/G over samples

	Positions int // compared positions over all samples
	NearTies  int // positions with compressed top-2 margin < NearTieMargin
	NonFinite int // positions with non-finite compressed logits
}

// Summary computes the report over the samples recorded so far.
func (a *DTMAccumulator) Summary() DTMSummary {
	n := a.N()
	s := DTMSummary{
		N:         n,
		FDTMedian: a.fdt.Median(),
		FDTP10:    a.fdt.Percentile(0.10),
		FullShare: math.NaN(),
		Positions: a.positions,
		NearTies:  a.nearTies,
		NonFinite: a.nonFinite,
	}
	s.FDTMean, _ = a.fdt.Mean()
	s.FDTNorm, _ = a.fdtNorm.Mean()
	s.SDTShare, _ = a.sdtShare.Mean()
	if n > 0 {
		s.FullShare = float64(a.full) / float64(n)
	}
	return s
}
