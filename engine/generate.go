package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/divergo/divergo/kernels"
)

// Argmax returns the index of the largest logit; ties go to the lowest id
// (METRICS §0.1).
func Argmax(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}

// A Sampler picks the next token from a logit row: greedy when Temperature
// is 0, else softmax(logits/T) restricted to the smallest set of tokens
// whose probability reaches TopP (nucleus sampling; TopP ≥ 1 keeps all).
type Sampler struct {
	Temperature float64
	TopP        float64
	rng         *rand.Rand
	probs       []float64
	order       []int
}

// NewSampler returns a sampler seeded deterministically.
func NewSampler(temperature, topP float64, seed uint64) (*Sampler, error) {
	if temperature < 0 || math.IsNaN(temperature) || math.IsInf(temperature, 0) {
		return nil, fmt.Errorf("temperature %v must be ≥ 0", temperature)
	}
	if !(topP > 0) || topP > 1 {
		return nil, fmt.Errorf("top-p %v must be in (0, 1]", topP)
	}
	return &Sampler{Temperature: temperature, TopP: topP, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}, nil
}

// Sample returns the next token id.
func (s *Sampler) Sample(logits []float32) int {
	if s.Temperature == 0 {
		return Argmax(logits)
	}
	n := len(logits)
	if cap(s.probs) < n {
		s.probs, s.order = make([]float64, n), make([]int, n)
	}
	p, order := s.probs[:n], s.order[:n]
	mx := float64(logits[Argmax(logits)])
	var sum float64
	for i, v := range logits {
		p[i] = math.Exp((float64(v) - mx) / s.Temperature)
		sum += p[i]
	}
	for i := range order {
		order[i] = i
		p[i] /= sum
	}
	keep := n
	if s.TopP < 1 {
		sort.Slice(order, func(a, b int) bool {
			if p[order[a]] != p[order[b]] {
				return p[order[a]] > p[order[b]]
			}
			return order[a] < order[b]
		})
		var cum float64
		for i, id := range order {
			cum += p[id]
			if cum >= s.TopP {
				keep = i + 1
				break
			}
		}
	}
	var total float64
	for _, id := range order[:keep] {
		total += p[id]
	}
	r := s.rng.Float64() * total
	for _, id := range order[:keep] {
		r -= p[id]
		if r < 0 {
			return id
		}
	}
	return order[keep-1]
}

// GenerateOptions control Generate.
type GenerateOptions struct {
	// N is the number of tokens to generate.
	N int
	// Sampler picks tokens; nil means greedy.
	Sampler *Sampler
	// StopAtEOS ends generation after the end-of-sequence token.
	StopAtEOS bool
	// OnToken, when set, sees each generated token as it is produced.
	OnToken func(id int)
}

// Generate runs the prompt (prefill) and then decodes up to opt.N tokens
// one at a time with the KV cache, returning the generated ids.
func (m *Model) Generate(pool *kernels.Pool, prompt []int, opt GenerateOptions) ([]int, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt (it needs at least BOS)")
	}
	if opt.N < 0 {
		return nil, fmt.Errorf("generate: %d tokens requested", opt.N)
	}
	s, err := NewState(m, len(prompt)+opt.N, pool)
	if err != nil {
		return nil, err
	}
	pick := Argmax
	if opt.Sampler != nil {
		pick = opt.Sampler.Sample
	}
	logits, err := s.Forward(prompt, 1)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, opt.N)
	for len(out) < opt.N {
		id := pick(logits)
		out = append(out, id)
		if opt.OnToken != nil {
			opt.OnToken(id)
		}
		if (opt.StopAtEOS && id == m.Config.EOS) || len(out) == opt.N {
			break
		}
		if logits, err = s.Forward([]int{id}, 1); err != nil {
			return out, err
		}
	}
	return out, nil
}
