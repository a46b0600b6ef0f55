package metrics

import (
	"fmt"
	"math"
)

// NearTieMargin is the top-2 logit margin below which an argmax counts as a
// near-tie (METRICS.md §0.1): such positions may flip under a different
// kernel path and are reported separately.
const NearTieMargin = 1e-4

// LogSumExp returns ln Σ_i exp(z_i) for a float32 logit row, computed in
// float64 with the maximum factored out (METRICS.md §0.1). It returns −Inf
// for an empty row; NaN or +Inf anywhere in the row propagate.
func LogSumExp(z []float32) float64 {
	if len(z) == 0 {
		return math.Inf(-1)
	}
	m := math.Inf(-1)
	for _, v := range z {
		if v != v {
			return math.NaN()
		}
		m = max(m, float64(v))
	}
	if math.IsInf(m, 0) {
		return m
	}
	return m + math.Log(sumExp(z, m))
}

// sumExp returns Σ exp(z_i − m) in float64.
func sumExp(z []float32, m float64) float64 {
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	return s
}

// LogSoftmax writes the log-probabilities log p_i = z_i − lse of the logit
// row z into dst and returns lse (METRICS.md §0.1: stable, float64, never
// softmax then log). It panics if len(dst) != len(z).
func LogSoftmax(dst []float64, z []float32) (lse float64) {
	if len(dst) != len(z) {
		panic(fmt.Sprintf("metrics: LogSoftmax: dst has %d entries, row has %d", len(dst), len(z)))
	}
	lse = LogSumExp(z)
	for i, v := range z {
		dst[i] = float64(v) - lse
	}
	return lse
}

// Argmax returns the index of the largest logit, the lowest index among
// exactly equal maxima (the tie rule of METRICS.md §0.1: a strict ">" scan
// in the row's own float32 precision), and the top-2 margin z(1) − z(2),
// which is 0 for a tie and +Inf for a row with one usable value. NaN
// entries are ignored; id is −1 when no entry exceeds −Inf (an empty row,
// all NaN or all −Inf). Check rows with NonFinite first where non-finite
// logits must be treated specially.
func Argmax(z []float32) (id int, margin float32) {
	top, second := float32(math.Inf(-1)), float32(math.Inf(-1))
	id = -1
	for i, v := range z {
		if v > top {
			second, top, id = top, v, i
		} else if v > second {
			second = v
		}
	}
	if id < 0 {
		return -1, float32(math.NaN())
	}
	return id, top - second
}

// NonFinite returns the index of the first NaN or ±Inf in z, or −1 if all
// entries are finite.
func NonFinite(z []float32) int {
	for i, v := range z {
		if v-v != 0 { // NaN for NaN and ±Inf
			return i
		}
	}
	return -1
}

// TokenNLL returns the negative log-likelihood −ln p(next) = lse(z) − z_next
// of token next under the logit row z, in nats (METRICS.md §1.7, §6.3).
// It fails on a token id outside the row or a non-finite logit.
func TokenNLL(z []float32, next int) (float64, error) {
	if next < 0 || next >= len(z) {
		return 0, fmt.Errorf("metrics: token %d outside a row of %d logits", next, len(z))
	}
	if i := NonFinite(z); i >= 0 {
		return 0, fmt.Errorf("metrics: logit %d is %v", i, z[i])
	}
	return LogSumExp(z) - float64(z[next]), nil
}
