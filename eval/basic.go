package eval

import (
	"fmt"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
)

// ModelInfo is what `divergo info` reports.
type ModelInfo struct {
	Source     engine.Source      `json:"source"`
	Config     engine.Config      `json:"config"`
	RoPE       string             `json:"rope"`
	Tied       bool               `json:"tied_embeddings"`
	Params     int64              `json:"params"`
	Tensors    []engine.Component `json:"tensors"`
	Formats    map[string]int     `json:"formats"`         // components per format
	Vocab      int                `json:"tokenizer_vocab"` // 0: no tokenizer found
	BOS        int                `json:"bos"`
	EOS        int                `json:"eos"`
	ISA        string             `json:"isa"`
	ISAs       []string           `json:"isa_available"`
	CPU        string             `json:"cpu"`
	Threads    int                `json:"threads"`
	A8Matrices int                `json:"a8_matrices,omitempty"`
}

// Info describes the loaded model and the kernel path.
func Info(e *Env) ModelInfo {
	m := e.Model
	info := ModelInfo{
		Source: m.Source, Config: m.Config, RoPE: m.Config.RoPE.String(), Tied: m.Tied(),
		Params: m.Params(), Tensors: m.Components(), Formats: map[string]int{},
		BOS: m.Config.BOS, EOS: m.Config.EOS,
		ISA: string(kernels.CurrentISA()), CPU: kernels.Features(), Threads: e.Pool.Threads(),
		A8Matrices: e.A8,
	}
	if m.Tokenizer != nil {
		info.Vocab = m.Tokenizer.VocabSize()
	}
	for _, isa := range kernels.Available() {
		info.ISAs = append(info.ISAs, string(isa))
	}
	for _, c := range info.Tensors {
		info.Formats[c.Format]++
	}
	return info
}

// Tokens is what `divergo tokenize` reports.
type Tokens struct {
	IDs    []int    `json:"ids"`
	Pieces []string `json:"pieces"`
}

// Tokenize encodes text with the model's tokenizer.
func Tokenize(e *Env, text string, bos bool) Tokens {
	tok := e.Model.Tokenizer
	ids := tok.Encode(text, bos, false)
	out := Tokens{IDs: ids, Pieces: make([]string, len(ids))}
	for i, id := range ids {
		out.Pieces[i] = tok.Piece(id)
	}
	return out
}

// GenerateOptions are the flags of `divergo generate`.
type GenerateOptions struct {
	Prompt      string
	N           int
	Temperature float64
	TopP        float64
	Seed        uint64
	StopAtEOS   bool
	// OnText, when set, receives the decoded text as tokens arrive.
	OnText func(s string)
}

// Generated is what `divergo generate` reports.
type Generated struct {
	Prompt    []int   `json:"prompt_ids"`
	IDs       []int   `json:"ids"`
	Text      string  `json:"text"`
	Seconds   float64 `json:"seconds"`
	TokensSec float64 `json:"tokens_per_second"`
}

// Generate continues a prompt (BOS is always prepended).
func Generate(e *Env, o GenerateOptions) (Generated, error) {
	m := e.Model
	prompt := m.Tokenizer.Encode(o.Prompt, true, false)
	var sampler *engine.Sampler
	if o.Temperature > 0 {
		var err error
		if sampler, err = engine.NewSampler(o.Temperature, o.TopP, o.Seed); err != nil {
			return Generated{}, err
		}
	}
	dec := m.Tokenizer.NewDecoder()
	for _, id := range prompt {
		dec.Next(id) // the decoder strips the dummy-prefix space at the start
	}
	var text []byte
	start := time.Now()
	ids, err := m.Generate(e.Pool, prompt, engine.GenerateOptions{
		N: o.N, Sampler: sampler, StopAtEOS: o.StopAtEOS,
		OnToken: func(id int) {
			s := dec.Next(id)
			text = append(text, s...)
			if o.OnText != nil && s != "" {
				o.OnText(s)
			}
		},
	})
	if err != nil {
		return Generated{}, err
	}
	if s := dec.Flush(); s != "" {
		text = append(text, s...)
		if o.OnText != nil {
			o.OnText(s)
		}
	}
	sec := time.Since(start).Seconds()
	return Generated{Prompt: prompt, IDs: ids, Text: string(text), Seconds: sec, TokensSec: float64(len(ids)) / sec}, nil
}

// Logits is what `divergo logits` reports: one row per position.
type Logits struct {
	IDs    []int       `json:"ids"`
	Logits [][]float32 `json:"logits,omitempty"`
	Top    [][]TopItem `json:"top,omitempty"`
}

// TopItem is one of the k largest logits of a position.
type TopItem struct {
	ID    int     `json:"id"`
	Piece string  `json:"piece"`
	Logit float32 `json:"logit"`
}

// LogitsOf runs ids teacher-forced and returns every position's logits, or
// only the top k of each when k > 0.
func LogitsOf(e *Env, ids []int, k int) (Logits, error) {
	m := e.Model
	if len(ids) == 0 {
		return Logits{}, fmt.Errorf("logits: no token ids")
	}
	s, err := engine.NewState(m, len(ids), e.Pool)
	if err != nil {
		return Logits{}, err
	}
	all, err := s.Forward(ids, len(ids))
	if err != nil {
		return Logits{}, err
	}
	V := m.Config.Vocab
	out := Logits{IDs: ids}
	for p := range ids {
		row := all[p*V : (p+1)*V]
		if k <= 0 {
			out.Logits = append(out.Logits, append([]float32(nil), row...))
			continue
		}
		out.Top = append(out.Top, topK(m, row, k))
	}
	return out, nil
}

func topK(m *engine.Model, row []float32, k int) []TopItem {
	k = min(k, len(row))
	best := make([]TopItem, 0, k+1)
	for id, v := range row {
		if len(best) == k && v <= best[k-1].Logit {
			continue
		}
		i := len(best)
		for i > 0 && best[i-1].Logit < v {
			i--
		}
		best = append(best, TopItem{})
		copy(best[i+1:], best[i:])
		best[i] = TopItem{ID: id, Logit: v}
		if len(best) > k {
			best = best[:k]
		}
	}
	for i := range best {
		best[i].Piece = m.Tokenizer.Piece(best[i].ID)
	}
	return best
}
