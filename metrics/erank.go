package metrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ErrTooFewRows is returned by EffectiveRank for a text with fewer than two
// hidden-state rows; such texts are skipped and counted (METRICS.md §3.4).
var ErrTooFewRows = errors.New("metrics: erank: fewer than 2 rows")

// zeroRowNorm is the centred-row norm below which a row is dropped (§3.4).
const zeroRowNorm = 1e-12

// ERank is the spectral entropy and effective rank of one text's hidden
// states (METRICS.md §3.2).
type ERank struct {
	Entropy float64 // H = −Σ λ ln λ over the normalised spectrum, nats
	Rank    float64 // eRank = exp(H), in [1, min(Rows−1, d)]
	Rows    int     // rows used
	Dropped int     // rows dropped because their centred norm was < 1e-12
}

// EffectiveRank computes the eRank of a hidden-state matrix h with n rows
// (tokens) and d columns (hidden size), row-major, as the Diff-eRank
// reference code does (METRICS.md §3.2): centre the rows on their mean,
// scale each centred row to unit length, form A = ZᵀZ/N, divide by its
// trace, take the eigenvalues, clamp negatives to 0 and renormalise them to
// sum 1, H = −Σ_{λ>0} λ ln λ, eRank = exp(H).
//
// Rows whose centred norm is below 1e-12 (a token equal to the mean) are
// dropped and N counts only the rest; the reference code would produce NaN
// (§3.4). The eigenvalues come from gonum's mat.EigenSym on the d×d matrix,
// or on the N×N Gram matrix ZZᵀ/N when N < d — the same non-zero spectrum,
// chosen automatically for speed. Everything is computed in float64. It
// returns ErrTooFewRows (wrapped) when n < 2, and an error for a size
// mismatch or non-finite values.
func EffectiveRank[F float32 | float64](h []F, n, d int) (ERank, error) {
	if n < 0 || d < 1 || len(h)/d != n || len(h)%d != 0 {
		return ERank{}, fmt.Errorf("metrics: erank: %d values are not %d rows of %d", len(h), n, d)
	}
	if n < 2 {
		return ERank{}, fmt.Errorf("%w (got %d)", ErrTooFewRows, n)
	}
	z, rows, err := unitCentredRows(h, n, d)
	if err != nil {
		return ERank{}, err
	}
	r := ERank{Rows: rows, Dropped: n - rows}
	if rows == 0 {
		return r, errors.New("metrics: erank: every row equals the mean")
	}
	r.Entropy, err = spectralEntropy(z, rows, d, rows < d)
	if err != nil {
		return r, err
	}
	r.Rank = math.Exp(r.Entropy)
	return r, nil
}

// unitCentredRows returns the centred, unit-length rows of h (§3.2 steps
// 2–3) packed row-major, dropping rows of norm below zeroRowNorm.
func unitCentredRows[F float32 | float64](h []F, n, d int) ([]float64, int, error) {
	mu := make([]float64, d)
	for i := range n {
		row := h[i*d : (i+1)*d]
		for j, v := range row {
			x := float64(v)
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, 0, fmt.Errorf("metrics: erank: value at row %d, column %d is %v", i, j, x)
			}
			mu[j] += x
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	z := make([]float64, 0, n*d)
	rows := 0
	for i := range n {
		start := len(z)
		var norm2 float64
		for j, v := range h[i*d : (i+1)*d] {
			c := float64(v) - mu[j]
			z = append(z, c)
			norm2 += c * c
		}
		norm := math.Sqrt(norm2)
		if norm < zeroRowNorm {
			z = z[:start]
			continue
		}
		for j := start; j < len(z); j++ {
			z[j] /= norm
		}
		rows++
	}
	return z, rows, nil
}

// spectralEntropy returns the entropy of the normalised spectrum of
// ZᵀZ/N (§3.2 steps 4–7), from the Gram matrix ZZᵀ/N when gram is set.
func spectralEntropy(z []float64, rows, d int, gram bool) (float64, error) {
	zm := mat.NewDense(rows, d, z)
	var a mat.SymDense
	if gram {
		a.SymOuterK(1/float64(rows), zm) // N×N
	} else {
		a.SymOuterK(1/float64(rows), zm.T()) // d×d
	}
	var tr float64
	for i := range a.SymmetricDim() {
		tr += a.At(i, i)
	}
	var es mat.EigenSym
	if !es.Factorize(&a, false) {
		return 0, errors.New("metrics: erank: eigendecomposition did not converge")
	}
	lambda := es.Values(nil)
	var sum float64
	for i, l := range lambda {
		l /= tr // trace-normalise (§3.2 step 5; tr = 1 for unit rows)
		lambda[i] = max(l, 0)
		sum += lambda[i]
	}
	var h float64
	for _, l := range lambda {
		if l /= sum; l > 0 {
			h -= l * math.Log(l)
		}
	}
	return h, nil
}

// DiffERank aggregates per-text entropies of two models over a dataset
// (METRICS.md §3.2 dataset level). Model 0 is the reference of the
// difference: the untrained model in the paper, the base model in a
// compression study (§3.6); Diff-eRank = eRank(model 0) − eRank(model 1).
// The zero value is ready to use.
type DiffERank struct {
	h0, h1  []float64
	skipped int
}

// Add records the entropies (ERank.Entropy) of one text under both models.
func (a *DiffERank) Add(h0, h1 float64) {
	a.h0 = append(a.h0, h0)
	a.h1 = append(a.h1, h1)
}

// Skip counts a text that was skipped (ErrTooFewRows).
func (a *DiffERank) Skip() { a.skipped++ }

// DiffERankSummary is the dataset-level Diff-eRank and its alternatives
// (METRICS.md §3.2, §3.5). With N = 0 every value is NaN.
type DiffERankSummary struct {
	N, Skipped int

	// ERank0 and ERank1 are exp(mean H) of each model, and Diff is
	// ERank0 − ERank1: the reference code's dataset Diff-eRank (default).
	ERank0, ERank1, Diff float64

	// MeanERank0 and MeanERank1 are the means of the per-text eRanks, and
	// MeanDiff = MeanERank0 − MeanERank1 is the mean of the per-text
	// differences — an alternative reading (Q3.1); it differs from Diff.
	MeanERank0, MeanERank1, MeanDiff float64
}

// Summary computes the dataset-level values over the texts recorded.
func (a *DiffERank) Summary() DiffERankSummary {
	s := DiffERankSummary{N: len(a.h0), Skipped: a.skipped}
	nan := math.NaN()
	if s.N == 0 {
		s.ERank0, s.ERank1, s.Diff, s.MeanERank0, s.MeanERank1, s.MeanDiff = nan, nan, nan, nan, nan, nan
		return s
	}
	var m0, m1, e0, e1 float64
	for i := range a.h0 {
		m0 += a.h0[i]
		m1 += a.h1[i]
		e0 += math.Exp(a.h0[i])
		e1 += math.Exp(a.h1[i])
	}
	n := float64(s.N)
	s.ERank0, s.ERank1 = math.Exp(m0/n), math.Exp(m1/n)
	s.Diff = s.ERank0 - s.ERank1
	s.MeanERank0, s.MeanERank1 = e0/n, e1/n
	s.MeanDiff = s.MeanERank0 - s.MeanERank1
	return s
}
