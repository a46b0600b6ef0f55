package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// MeanUnc returns the mean of n observations given their sum and sum of
// squares, and the uncertainty of that mean, exactly as llama.cpp's
// mean_and_uncertainty (METRICS.md §6.4):
//
//	f = sum/n, v = sum2/n − f², unc = sqrt(v/(n−1)) if v > 0 and n > 10, else 0.
//
// With n = 0 the mean is NaN (llama.cpp prints 0; a table must not).
func MeanUnc(sum, sum2 float64, n int) (mean, unc float64) {
	if n < 1 {
		return math.NaN(), 0
	}
	f := sum / float64(n)
	v := sum2/float64(n) - f*f
	if v > 0 && n > 10 {
		return f, math.Sqrt(v / float64(n-1))
	}
	return f, 0
}

// Percentile returns the f-quantile of the ascending slice sorted with the
// linear interpolation of METRICS.md §6.4 (llama.cpp's percentile): f ≤ 0
// gives the first value, f ≥ 1 the last, otherwise with x = f·(n−1),
// i = ⌊x⌋, w = x − i the value is (1−w)·v[i] + w·v[min(i+1, n−1)].
// It returns NaN for an empty slice.
func Percentile(sorted []float64, f float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return math.NaN()
	case f <= 0:
		return sorted[0]
	case f >= 1:
		return sorted[n-1]
	}
	x := f * float64(n-1)
	i := int(x)
	w := x - float64(i)
	return (1-w)*sorted[i] + w*sorted[min(i+1, n-1)]
}

// Median returns the middle value of the ascending slice sorted, or the
// mean of the two middle values when its length is even (METRICS.md §6.4).
// It returns NaN for an empty slice.
func Median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return 0.5 * (sorted[n/2-1] + sorted[n/2])
}

// Sample is a set of observations kept in full so that exact percentiles
// can be taken, with the running sums llama.cpp keeps for its means. The
// zero value is an empty sample ready to use. A Sample is not safe for
// concurrent use; build one per goroutine and Merge them.
type Sample struct {
	v         []float64 // insertion order
	sorted    []float64 // cache; nil when stale
	sum, sum2 float64
}

// Add records one observation.
func (s *Sample) Add(x float64) {
	s.v = append(s.v, x)
	s.sum += x
	s.sum2 += x * x
	s.sorted = nil
}

// Merge adds every observation of t to s.
func (s *Sample) Merge(t *Sample) {
	s.v = append(s.v, t.v...)
	s.sum += t.sum
	s.sum2 += t.sum2
	s.sorted = nil
}

// Len returns the number of observations.
func (s *Sample) Len() int { return len(s.v) }

// Values returns a copy of the observations in the order they were added.
func (s *Sample) Values() []float64 { return slices.Clone(s.v) }

// Mean returns the mean and its uncertainty by MeanUnc (METRICS.md §6.4).
func (s *Sample) Mean() (mean, unc float64) { return MeanUnc(s.sum, s.sum2, len(s.v)) }

// SumSquares returns the sum of the squared observations.
func (s *Sample) SumSquares() float64 { return s.sum2 }

func (s *Sample) ascending() []float64 {
	if s.sorted == nil {
		s.sorted = slices.Clone(s.v)
		slices.Sort(s.sorted)
	}
	return s.sorted
}

// Percentile returns the f-quantile by the rule of Percentile (§6.4).
func (s *Sample) Percentile(f float64) float64 { return Percentile(s.ascending(), f) }

// Median returns the median by the rule of Median (§6.4).
func (s *Sample) Median() float64 { return Median(s.ascending()) }

// Min returns the smallest observation, NaN when empty.
func (s *Sample) Min() float64 { return Percentile(s.ascending(), 0) }

// Max returns the largest observation, NaN when empty.
func (s *Sample) Max() float64 { return Percentile(s.ascending(), 1) }

// Spread summarises the sample: count, mean ± uncertainty, extremes,
// median and the percentiles at the given fractions, in the order given.
func (s *Sample) Spread(fractions ...float64) Spread {
	v := s.ascending()
	mean, unc := s.Mean()
	sp := Spread{
		N:      len(v),
		Mean:   mean,
		Unc:    unc,
		Min:    Percentile(v, 0),
		Max:    Percentile(v, 1),
		Median: Median(v),
	}
	for _, f := range fractions {
		sp.Quantiles = append(sp.Quantiles, Quantile{Fraction: f, Value: Percentile(v, f)})
	}
	return sp
}

// Spread is the distribution summary of one per-item quantity, the block
// llama.cpp prints for KLD and Δp (METRICS.md §6.4).
type Spread struct {
	N         int
	Mean, Unc float64 // MeanUnc
	Min, Max  float64
	Median    float64
	Quantiles []Quantile
}

// Quantile is one percentile of a Spread: Fraction 0.99 is the 99th.
type Quantile struct {
	Fraction float64
	Value    float64
}

// At returns the value of the listed percentile f and whether it was listed.
func (sp Spread) At(f float64) (float64, bool) {
	for _, q := range sp.Quantiles {
		if q.Fraction == f {
			return q.Value, true
		}
	}
	return math.NaN(), false
}

// CorrelationP returns the two-sided p-value of a Pearson or Spearman
// correlation coefficient r over n pairs under the null hypothesis of no
// correlation, as scipy computes it (METRICS.md §5.2): t = r·sqrt((n−2)/((1+r)(1−r))),
// ν = n−2, p = 2·P(T_ν ≥ |t|). |r| = 1 gives 0. It returns NaN for n < 3 or
// r outside [−1, 1].
func CorrelationP(r float64, n int) float64 {
	if n < 3 || !(r >= -1 && r <= 1) {
		return math.NaN()
	}
	if r == 1 || r == -1 {
		return 0
	}
	nu := float64(n - 2)
	t := r * math.Sqrt(nu/((1+r)*(1-r)))
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}.Survival(math.Abs(t))
}

// Pearson returns Pearson's r between x and y and its two-sided p-value by
// CorrelationP. Used to relate flips to KL across configurations (§2.4).
func Pearson(x, y []float64) (r, p float64, err error) {
	r, p, err = pearson(x, y)
	if err != nil {
		err = fmt.Errorf("metrics: pearson: %w", err)
	}
	return r, p, err
}

// Spearman returns Spearman's ρ between x and y (Pearson's r of the ranks,
// tied values sharing their mean rank, as scipy.stats.spearmanr) and its
// two-sided p-value by CorrelationP (§2.4, §5.2). For two permutations
// SpearmanPerm is exact and faster.
func Spearman(x, y []float64) (rho, p float64, err error) {
	if len(x) == len(y) {
		x, y = ranks(x), ranks(y)
	}
	rho, p, err = pearson(x, y)
	if err != nil {
		err = fmt.Errorf("metrics: spearman: %w", err)
	}
	return rho, p, err
}

func pearson(x, y []float64) (r, p float64, err error) {
	switch {
	case len(x) != len(y):
		return math.NaN(), math.NaN(), fmt.Errorf("%d x values, %d y values", len(x), len(y))
	case len(x) < 3:
		return math.NaN(), math.NaN(), fmt.Errorf("%d pairs, need at least 3", len(x))
	}
	r = stat.Correlation(x, y, nil)
	if math.IsNaN(r) {
		return r, math.NaN(), errors.New("a variable is constant or not finite")
	}
	r = max(-1, min(1, r))
	return r, CorrelationP(r, len(x)), nil
}

// ranks returns the 1-based ranks of x, ties receiving their mean rank.
func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		mean := float64(i+j+1) / 2 // ranks i+1 … j
		for k := i; k < j; k++ {
			r[idx[k]] = mean
		}
		i = j
	}
	return r
}
