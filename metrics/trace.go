package metrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// MatchMetric chooses the cost Match.Cost builds from the accumulated
// activations (METRICS.md §5.2–§5.3).
type MatchMetric int

const (
	// Euclidean is C_ij = ‖a_i − b_j‖², the squared distance between the
	// activation vectors of neuron i of model 1 and neuron j of model 2 over
	// all tokens: φ_MATCH as the reference code computes it (the default).
	Euclidean MatchMetric = iota
	// CrossProduct is C_ij = −a_i·b_j. Since every row and column is used
	// once in an assignment, it has exactly the same optimal assignments as
	// Euclidean (§5.2 "Equivalence") and avoids the cancellation in
	// ‖a‖² + ‖b‖² − 2a·b; the total is no longer a distance.
	CrossProduct
	// Cosine is C_ij = −a_i·b_j / (‖a_i‖‖b_j‖), maximising cosine
	// similarity (the paper's Algorithm 2 name); 0 where a norm is 0.
	Cosine
)

// Match accumulates, over a stream of tokens, what the neuron matching of
// φ_MATCH needs (METRICS.md §5.2): the h×h cross-product M = Σ_t a_t b_tᵀ of
// the two models' activations (a_t, b_t ∈ R^h at token t, e.g. gate_proj
// outputs of one layer) and each neuron's Σ_t a_ti², Σ_t b_tj², all in
// float64. It never stores activations, so tokens can be streamed in
// blocks. M takes 8·h² bytes (970 MB at h = 11 008). Not safe for
// concurrent use.
type Match struct {
	h      int
	m      []float64 // row-major h×h: m[i·h+j] = Σ_t a_ti b_tj
	na, nb []float64
	tokens int
	spent  bool
	// float64 copies of one block
	a64, b64 []float64
	// product, when set, forms a block's AᵀB in float32 (see SetProduct).
	product Product
	p32     []float32
}

// A Product computes the float32 cross-product of one block of t tokens:
// p[i·h+j] = Σ_r a[r·h+i]·b[r·h+j] (AᵀB for row-major t×h blocks a, b).
// A SIMD GEMM does this an order of magnitude faster than a float64 Gemm.
type Product func(p, a, b []float32, t, h int)

// SetProduct makes Add form each block's cross-product with f in float32
// and add it to the float64 accumulator. Sums within a block then round in
// float32 (still finer than the reference code's bfloat16); across blocks
// they accumulate in float64. Without it Add uses gonum's float64 Gemm.
func (m *Match) SetProduct(f Product) { m.product = f }

// NewMatch returns an empty Match for h neurons per model.
func NewMatch(h int) (*Match, error) {
	if h < 1 || h > 1<<16 {
		return nil, fmt.Errorf("metrics: match: width %d outside 1…65536", h)
	}
	return &Match{h: h, m: make([]float64, h*h), na: make([]float64, h), nb: make([]float64, h)}, nil
}

// Tokens returns the number of tokens accumulated.
func (m *Match) Tokens() int { return m.tokens }

// Add accumulates a block of t tokens: a and b are row-major t×h
// activations of model 1 and model 2 for the same tokens (row r is token r;
// column i is neuron i). It fails on a size mismatch, a non-finite value,
// or after Cost.
func (m *Match) Add(a, b []float32, t int) error {
	if m.spent {
		return errors.New("metrics: match: Add after Cost")
	}
	h := m.h
	if t < 1 || len(a) != t*h || len(b) != t*h {
		return fmt.Errorf("metrics: match: blocks of %d and %d values are not %d tokens × %d neurons", len(a), len(b), t, h)
	}
	m.a64 = widen(m.a64[:0], a)
	m.b64 = widen(m.b64[:0], b)
	for k := range m.a64 {
		x, y := m.a64[k], m.b64[k]
		if x-x != 0 || y-y != 0 {
			return fmt.Errorf("metrics: match: token %d, neuron %d: activation %v / %v not finite", k/h, k%h, x, y)
		}
		m.na[k%h] += x * x
		m.nb[k%h] += y * y
	}
	m.tokens += t
	if m.product != nil {
		if cap(m.p32) < h*h {
			m.p32 = make([]float32, h*h)
		}
		p := m.p32[:h*h]
		m.product(p, a, b, t, h)
		for k, v := range p {
			m.m[k] += float64(v)
		}
		return nil
	}
	A := blas64.General{Rows: t, Cols: h, Stride: h, Data: m.a64}
	B := blas64.General{Rows: t, Cols: h, Stride: h, Data: m.b64}
	M := blas64.General{Rows: h, Cols: h, Stride: h, Data: m.m}
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, A, B, 1, M) // M += AᵀB
	return nil
}

func widen(dst []float64, src []float32) []float64 {
	for _, v := range src {
		dst = append(dst, float64(v))
	}
	return dst
}

// Cost turns the accumulated cross-products into the h×h row-major cost
// matrix of metric, for Assign(cost, h). It works in place on M's 970 MB
// so that no second matrix is needed; the Match cannot be used afterwards.
func (m *Match) Cost(metric MatchMetric) ([]float64, error) {
	if m.spent {
		return nil, errors.New("metrics: match: Cost called twice")
	}
	if m.tokens == 0 {
		return nil, errors.New("metrics: match: no tokens accumulated")
	}
	h := m.h
	switch metric {
	case Euclidean:
		for i := range h {
			row := m.m[i*h : (i+1)*h]
			for j := range row {
				row[j] = m.na[i] + m.nb[j] - 2*row[j]
			}
		}
	case CrossProduct:
		for k := range m.m {
			m.m[k] = -m.m[k]
		}
	case Cosine:
		for i := range h {
			row := m.m[i*h : (i+1)*h]
			for j := range row {
				if den := math.Sqrt(m.na[i] * m.nb[j]); den > 0 {
					row[j] = -row[j] / den
				} else {
					row[j] = 0
				}
			}
		}
	default:
		return nil, fmt.Errorf("metrics: match: unknown metric %d", int(metric))
	}
	m.spent = true
	m.p32 = nil
	return m.m, nil
}

// SpearmanPerm returns Spearman's ρ between two permutations x and y of
// 0…h−1 (the gate and up matchings π_gate, π_up of one layer) and its
// two-sided p-value (METRICS.md §5.2): with no ties ρ = 1 − 6Σ(x_i − y_i)²
// / (h(h²−1)) exactly, and p by CorrelationP (Student's t with h−2 degrees
// of freedom; ρ = ±1 gives 0). It fails unless both are permutations of
// the same length h ≥ 3.
func SpearmanPerm(x, y []int) (rho, p float64, err error) {
	h := len(x)
	if len(y) != h {
		return math.NaN(), math.NaN(), fmt.Errorf("metrics: spearman: permutations of %d and %d", h, len(y))
	}
	if h < 3 {
		return math.NaN(), math.NaN(), fmt.Errorf("metrics: spearman: %d values, need at least 3", h)
	}
	if err := checkPerm(x); err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("metrics: spearman: x: %w", err)
	}
	if err := checkPerm(y); err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("metrics: spearman: y: %w", err)
	}
	var sum int64 // Σd² ≤ h³/3: exact in int64 and in float64 for any h here
	for i := range x {
		d := int64(x[i] - y[i])
		sum += d * d
	}
	hf := float64(h)
	rho = 1 - 6*float64(sum)/(hf*(hf*hf-1))
	return rho, CorrelationP(rho, h), nil
}

func checkPerm(x []int) error {
	seen := make([]bool, len(x))
	for i, v := range x {
		if v < 0 || v >= len(x) || seen[v] {
			return fmt.Errorf("entry %d (%d) breaks a permutation of 0…%d", i, v, len(x)-1)
		}
		seen[v] = true
	}
	return nil
}

// Fisher combines independent p-values (per-layer φ_MATCH p-values) by
// Fisher's method, as the tracing code's FISHER does (METRICS.md §5.2):
// with k non-NaN values and S = −Σ ln p_l, p = P(χ²_{2k} ≥ 2S) =
// e^{−S} Σ_{i<k} S^i/i!, evaluated in log space. NaN values are skipped;
// k is the number used. Any p_l = 0 gives exactly 0 (read "< 1e−300");
// k = 0 or a value outside [0, 1] gives NaN.
func Fisher(ps []float64) (p float64, k int) {
	lp, k := FisherLog(ps)
	return math.Exp(lp), k
}

// FisherLog is Fisher returning ln p, which stays finite where p itself
// underflows (−Inf when some p_l = 0).
func FisherLog(ps []float64) (logP float64, k int) {
	var s float64
	for _, p := range ps {
		switch {
		case math.IsNaN(p):
			continue
		case p < 0 || p > 1:
			return math.NaN(), k
		}
		k++
		s -= math.Log(p)
	}
	switch {
	case k == 0:
		return math.NaN(), 0
	case math.IsInf(s, 1):
		return math.Inf(-1), k
	case s == 0:
		return 0, k // every p_l = 1
	}
	// ln Σ_{i<k} exp(i·ln S − ln i!) by log-sum-exp; the largest term is at
	// i = min(k−1, ⌊S⌋).
	ls := math.Log(s)
	terms := make([]float64, k)
	m := math.Inf(-1)
	for i := range k {
		lg, _ := math.Lgamma(float64(i + 1))
		terms[i] = float64(i)*ls - lg
		m = max(m, terms[i])
	}
	var sum float64
	for _, t := range terms {
		sum += math.Exp(t - m)
	}
	return min(0, -s+m+math.Log(sum)), k
}
