package eval

import (
	"fmt"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/metrics"
)

// A Sample is one divergent-token sample (METRICS.md §1.3): a prompt x and
// the base model's greedy continuation y_1 … y_G, checked to be what the
// base model itself predicts under teacher forcing.
type Sample struct {
	Prompt
	// Ref is y_1 … y_G. EOS is an ordinary token here: generation never
	// stops early, so every sample has G positions (§1.4).
	Ref []int `json:"ref"`
	// Repairs counts the self-check repairs (§1.4): positions where the
	// KV-cache decode picked a token that the teacher-forced pass of the
	// same model did not, after which the continuation was regenerated from
	// the teacher-forced choice. A sample with Repairs > 0 is "flagged".
	Repairs int `json:"repairs,omitempty"`
}

// Input returns the teacher-forced input x ⧺ y_1 … y_{G−1} (n+G−1
// tokens). Its logit rows at positions n−1 … n+G−2 predict y_1 … y_G:
// Forward(s.Input(), G) returns exactly the G rows a comparison needs.
func (s *Sample) Input() []int {
	in := make([]int, 0, len(s.Tokens)+len(s.Ref)-1)
	in = append(in, s.Tokens...)
	return append(in, s.Ref[:len(s.Ref)-1]...)
}

// A Teacher runs one model over samples: greedy reference generation and
// teacher-forced passes. It owns one engine.State sized for n+G positions
// and reuses it, so the rows it returns are valid only until its next
// call. A Teacher is not safe for concurrent use; make one per goroutine
// and model.
type Teacher struct {
	m     *engine.Model
	st    *engine.State
	vocab int

	// decode produces the initial greedy continuation; tests replace it
	// to inject decode errors the self-check must repair.
	decode func(t *Teacher, prompt []int, G int) ([]int, error)
}

// NewTeacher returns a Teacher for model m able to run prompts of n tokens
// with G-token continuations (n+G positions), using pool for the kernels
// (nil: single-threaded).
func NewTeacher(m *engine.Model, pool *kernels.Pool, n, G int) (*Teacher, error) {
	if n < 1 || G < 1 {
		return nil, fmt.Errorf("teacher: prompt length %d and generation length %d must be ≥ 1", n, G)
	}
	if n+G > m.Config.MaxSeq {
		return nil, fmt.Errorf("teacher: prompt length %d + generation length %d = %d exceeds the model's context of %d tokens", n, G, n+G, m.Config.MaxSeq)
	}
	st, err := engine.NewState(m, n+G, pool)
	if err != nil {
		return nil, err
	}
	return &Teacher{m: m, st: st, vocab: m.Config.Vocab, decode: (*Teacher).greedy}, nil
}

// Rows runs the teacher-forced pass of s.Input() (one batched Forward)
// and returns the G logit rows that predict y_1 … y_G, row-major G×vocab.
// The rows are valid until the Teacher's next call.
func (t *Teacher) Rows(s *Sample) ([]float32, error) {
	G := len(s.Ref)
	if G == 0 || len(s.Tokens) == 0 {
		return nil, fmt.Errorf("teacher: document %d: empty prompt or reference", s.Doc)
	}
	t.st.Reset()
	rows, err := t.st.Forward(s.Input(), G)
	if err != nil {
		return nil, fmt.Errorf("document %d: %w", s.Doc, err)
	}
	return rows, nil
}

// Reference generates the sample of prompt p: the model's greedy
// continuation of G tokens by KV-cache decoding, then the self-check of
// METRICS.md §1.4 — a teacher-forced pass must predict every y_j. Where it
// does not (the two code paths sum in different orders, so a near-tie can
// flip), y_j is replaced by the teacher-forced argmax and the rest is
// decoded again from there; this repeats until the check passes, which takes
// at most G rounds because the first disagreement moves right every time.
// It returns the sample and the teacher-forced rows of its final, verified
// pass (valid until the Teacher's next call), so FDT(base, base) = G holds
// by construction.
func (t *Teacher) Reference(p Prompt, G int) (Sample, []float32, error) {
	if G < 1 {
		return Sample{}, nil, fmt.Errorf("reference: generation length %d must be ≥ 1", G)
	}
	n := len(p.Tokens)
	if n < 1 {
		return Sample{}, nil, fmt.Errorf("reference: document %d: empty prompt", p.Doc)
	}
	y, err := t.decode(t, p.Tokens, G)
	if err != nil {
		return Sample{}, nil, fmt.Errorf("reference: document %d: %w", p.Doc, err)
	}
	s := Sample{Prompt: p, Ref: y}
	for round := 0; ; round++ {
		rows, err := t.Rows(&s)
		if err != nil {
			return Sample{}, nil, fmt.Errorf("reference: %w", err)
		}
		j, want := t.firstDisagreement(rows, y)
		if j < 0 {
			return s, rows, nil
		}
		if round >= G {
			// Unreachable when teacher-forced rows depend only on their
			// prefix; reaching it means the forward pass is not causal.
			return Sample{}, nil, fmt.Errorf("reference: document %d: self-check still fails at position %d after %d repairs", p.Doc, j, round)
		}
		s.Repairs++
		y[j] = want
		// The cache holds x ⧺ y_{<j} (positions 0 … n+j−1) from the pass
		// just run, which is unchanged: decode the rest from there.
		t.st.Truncate(n + j)
		if err := t.decodeFrom(y, j); err != nil {
			return Sample{}, nil, fmt.Errorf("reference: document %d: %w", p.Doc, err)
		}
	}
}

// firstDisagreement returns the first j whose row's argmax is not y[j], and
// that argmax; −1 when every row agrees.
func (t *Teacher) firstDisagreement(rows []float32, y []int) (int, int) {
	V := t.vocab
	for j, want := range y {
		if id, _ := metrics.Argmax(rows[j*V : (j+1)*V]); id != want {
			return j, id
		}
	}
	return -1, 0
}

// greedy decodes G tokens after prompt with the KV cache: one prefill of
// the prompt, then one position at a time (what engine.Generate does).
func (t *Teacher) greedy(prompt []int, G int) ([]int, error) {
	t.st.Reset()
	logits, err := t.st.Forward(prompt, 1)
	if err != nil {
		return nil, err
	}
	y := make([]int, G)
	y[0] = argmaxID(logits)
	return y, t.decodeFrom(y, 0)
}

// decodeFrom fills y[j+1:] by greedy decoding, feeding y[j] at the state's
// current position (which must be n+j).
func (t *Teacher) decodeFrom(y []int, j int) error {
	for ; j+1 < len(y); j++ {
		logits, err := t.st.Forward(y[j:j+1], 1)
		if err != nil {
			return err
		}
		y[j+1] = argmaxID(logits)
	}
	return nil
}

// argmaxID is the greedy choice: lowest id among equal maxima (METRICS.md §0.1).
// The engine rejects non-finite logits, so a row always has one.
func argmaxID(row []float32) int {
	id, _ := metrics.Argmax(row)
	return id
}

// References generates and self-checks the samples of every prompt with
// model m (Teacher.Reference), keeping only the token ids: what a sweep
// needs once per base model and corpus. progress, when set, is called after
// each sample.
func References(m *engine.Model, pool *kernels.Pool, prompts []Prompt, G int, progress func(done, total int)) ([]Sample, error) {
	if len(prompts) == 0 {
		return nil, fmt.Errorf("reference: no prompts")
	}
	t, err := NewTeacher(m, pool, len(prompts[0].Tokens), G)
	if err != nil {
		return nil, err
	}
	out := make([]Sample, len(prompts))
	for i, p := range prompts {
		if len(p.Tokens) != len(prompts[0].Tokens) {
			return nil, fmt.Errorf("reference: prompt %d has %d tokens, prompt 0 has %d", i, len(p.Tokens), len(prompts[0].Tokens))
		}
		if out[i], _, err = t.Reference(p, G); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(i+1, len(prompts))
		}
	}
	return out, nil
}
