package metrics

import (
	"errors"
	"fmt"
	"math"
)

// Answer is one model's answer to one benchmark item.
type Answer struct {
	Pred    int  // chosen option; −1 when no answer could be parsed
	Correct bool // whether Pred is a gold answer
}

// Grade turns gold option indices and predictions into Answers (one gold
// answer per item; build Answers directly for items with several).
func Grade(gold, pred []int) ([]Answer, error) {
	if len(gold) != len(pred) {
		return nil, fmt.Errorf("metrics: grade: %d gold answers, %d predictions", len(gold), len(pred))
	}
	a := make([]Answer, len(gold))
	for i := range gold {
		a[i] = Answer{Pred: pred[i], Correct: pred[i] >= 0 && pred[i] == gold[i]}
	}
	return a, nil
}

// FlipCounts compares a baseline's and a compressed model's answers to the
// same N items, produced by the same decision rule (METRICS.md §2.2).
type FlipCounts struct {
	N                  int
	BaseCorrect        int
	CompCorrect        int
	CorrectToIncorrect int // C→I: baseline correct, compressed wrong
	IncorrectToCorrect int // I→C: baseline wrong, compressed correct
	WrongToWrong       int // W→W′: both wrong with different answers
}

// CountFlips counts answer changes between base and comp (same items in
// the same order). An unparsed answer (Pred −1) is incorrect and differs
// from any parsed one.
func CountFlips(base, comp []Answer) (FlipCounts, error) {
	if len(base) != len(comp) {
		return FlipCounts{}, fmt.Errorf("metrics: flips: %d baseline answers, %d compressed", len(base), len(comp))
	}
	if len(base) == 0 {
		return FlipCounts{}, errors.New("metrics: flips: no items (N = 0)")
	}
	f := FlipCounts{N: len(base)}
	for i, b := range base {
		c := comp[i]
		if b.Correct {
			f.BaseCorrect++
		}
		if c.Correct {
			f.CompCorrect++
		}
		switch {
		case b.Correct && !c.Correct:
			f.CorrectToIncorrect++
		case !b.Correct && c.Correct:
			f.IncorrectToCorrect++
		case !b.Correct && !c.Correct && b.Pred != c.Pred:
			f.WrongToWrong++
		}
	}
	return f, nil
}

// Flips returns (C→I + I→C)/N, the share of items whose correctness
// changed — "flips" (§2.2; ×100 for the paper's %).
func (f FlipCounts) Flips() float64 {
	return float64(f.CorrectToIncorrect+f.IncorrectToCorrect) / float64(f.N)
}

// AllChanges returns (C→I + I→C + W→W′)/N, the share of items whose answer
// changed at all ("AllFlips", §2.2).
func (f FlipCounts) AllChanges() float64 {
	return float64(f.CorrectToIncorrect+f.IncorrectToCorrect+f.WrongToWrong) / float64(f.N)
}

// BaseAcc returns the baseline accuracy.
func (f FlipCounts) BaseAcc() float64 { return float64(f.BaseCorrect) / float64(f.N) }

// CompAcc returns the compressed model's accuracy.
func (f FlipCounts) CompAcc() float64 { return float64(f.CompCorrect) / float64(f.N) }

// DeltaAcc returns (I→C − C→I)/N = CompAcc − BaseAcc (§2.2).
func (f FlipCounts) DeltaAcc() float64 {
	return float64(f.IncorrectToCorrect-f.CorrectToIncorrect) / float64(f.N)
}

// Choose returns the index of the highest score, the lowest index on exact
// ties (§2.2 edge cases; numpy's argmax). With per-option log-likelihoods
// this is lm-evaluation-harness's acc decision; with LengthNormalized
// scores it is acc_norm (§2.3). It returns −1 for no options and ignores
// NaN scores.
func Choose(scores []float64) int {
	best := -1
	for i, s := range scores {
		if math.IsNaN(s) {
			continue
		}
		if best < 0 || s > scores[best] {
			best = i
		}
	}
	return best
}

// LengthNormalized returns LL_i / len_i, the acc_norm scores of §2.3:
// lengths are the options' continuation lengths in characters as
// lm-evaluation-harness v0.4 counts them — Unicode code points of the
// choice text (utf8.RuneCountInString), without the " " delimiter.
func LengthNormalized(ll []float64, lengths []int) ([]float64, error) {
	if len(ll) != len(lengths) {
		return nil, fmt.Errorf("metrics: %d log-likelihoods, %d lengths", len(ll), len(lengths))
	}
	s := make([]float64, len(ll))
	for i, n := range lengths {
		if n < 1 {
			return nil, fmt.Errorf("metrics: option %d has length %d, need at least 1", i, n)
		}
		s[i] = ll[i] / float64(n)
	}
	return s, nil
}

// OptionProbs returns the softmax P(i) of option scores (log-likelihoods,
// or length-normalised scores when acc_norm is the decision rule), the
// option distribution of METRICS.md §2.3. Computed stably; nil for none.
func OptionProbs(scores []float64) []float64 {
	if len(scores) == 0 {
		return nil
	}
	m := math.Inf(-1)
	for _, s := range scores {
		m = max(m, s)
	}
	p := make([]float64, len(scores))
	var sum float64
	for i, s := range scores {
		p[i] = math.Exp(s - m)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// OptionKL returns KL(p‖q) = Σ_i p_i ln(p_i/q_i) between two option
// distributions (METRICS.md §2.4 variant A; the paper's direction is
// KL(baseline‖compressed), so pass the baseline first; swap for the
// reverse). Terms with p_i = 0 contribute 0; p_i > 0 with q_i = 0 gives
// +Inf. NaN for length mismatch.
func OptionKL(p, q []float64) float64 {
	if len(p) != len(q) {
		return math.NaN()
	}
	var kl float64
	for i, pi := range p {
		if pi > 0 {
			kl += pi * (math.Log(pi) - math.Log(q[i]))
		}
	}
	return kl
}

// optionLogProbs returns ln softmax(scores), computed without forming the
// probabilities, so an option far below the others keeps a finite log.
func optionLogProbs(scores []float64) []float64 {
	m := math.Inf(-1)
	for _, s := range scores {
		m = max(m, s)
	}
	var sum float64
	for _, s := range scores {
		sum += math.Exp(s - m)
	}
	lse := m + math.Log(sum)
	out := make([]float64, len(scores))
	for i, s := range scores {
		out[i] = s - lse
	}
	return out
}

// optionKLLog is OptionKL with the logarithms given: Σ p_i (ln p_i − ln q_i)
// stays finite when q_i underflows to 0 in linear space (scores more than
// ~745 nats apart).
func optionKLLog(p, lp, lq []float64) float64 {
	var kl float64
	for i, pi := range p {
		if pi > 0 {
			kl += pi * (lp[i] - lq[i])
		}
	}
	return kl
}

// TopMargin returns P_(1) − P_(2), the difference between the largest and
// second-largest probabilities (§2.1, §2.3), 1 for a single option and NaN
// for none.
func TopMargin(p []float64) float64 {
	switch len(p) {
	case 0:
		return math.NaN()
	case 1:
		return 1
	}
	top, second := math.Inf(-1), math.Inf(-1)
	for _, v := range p {
		if v > top {
			second, top = top, v
		} else if v > second {
			second = v
		}
	}
	return top - second
}

// ProbShift returns Σ_i |q_i − p_i|, the change in prediction probability
// of §2.3. NaN for length mismatch.
func ProbShift(p, q []float64) float64 {
	if len(p) != len(q) {
		return math.NaN()
	}
	var s float64
	for i := range p {
		s += math.Abs(q[i] - p[i])
	}
	return s
}

// OptionStats compares one question's option scores under the baseline and
// the compressed model (METRICS.md §2.3–§2.4 variant A).
type OptionStats struct {
	BasePred, CompPred int     // Choose of each model's scores
	KL                 float64 // KL(P_base ‖ P_comp), nats
	ReverseKL          float64 // KL(P_comp ‖ P_base)
	BaseMargin         float64 // TopMargin of P_base
	Shift              float64 // ProbShift(P_base, P_comp)
}

// CompareOptions computes OptionStats from the two models' per-option
// scores: log-likelihoods for acc, LengthNormalized scores for acc_norm.
// Both must list the same options; scores must be finite.
func CompareOptions(base, comp []float64) (OptionStats, error) {
	if len(base) != len(comp) {
		return OptionStats{}, fmt.Errorf("metrics: options: %d baseline scores, %d compressed", len(base), len(comp))
	}
	if len(base) == 0 {
		return OptionStats{}, errors.New("metrics: options: no options")
	}
	for i := range base {
		if math.IsNaN(base[i]) || math.IsInf(base[i], 0) || math.IsNaN(comp[i]) || math.IsInf(comp[i], 0) {
			return OptionStats{}, fmt.Errorf("metrics: options: option %d score not finite (base %v, compressed %v)", i, base[i], comp[i])
		}
	}
	pb, pc := OptionProbs(base), OptionProbs(comp)
	lb, lc := optionLogProbs(base), optionLogProbs(comp)
	return OptionStats{
		BasePred:   Choose(base),
		CompPred:   Choose(comp),
		KL:         optionKLLog(pb, lb, lc),
		ReverseKL:  optionKLLog(pc, lc, lb),
		BaseMargin: TopMargin(pb),
		Shift:      ProbShift(pb, pc),
	}, nil
}
