package eval

import (
	"errors"
	"fmt"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/metrics"
)

// PPLOptions select a perplexity protocol.
type PPLOptions struct {
	Protocol string // "disjoint", "stride:S", "llamacpp"
	Ctx      int    // window length in tokens
	Chunks   int    // use only the first Chunks windows (0: all)
	// Progress, when set, is called after each window with the windows done
	// and the total.
	Progress func(done, total int)
}

// PPLResult is a perplexity measurement with its protocol.
type PPLResult struct {
	PPL      float64 `json:"ppl"`
	PPLUnc   float64 `json:"ppl_unc"`
	NLL      float64 `json:"nll"`
	NLLUnc   float64 `json:"nll_unc"`
	Tokens   int     `json:"tokens"` // tokens scored
	Input    int     `json:"input_tokens"`
	Windows  int     `json:"windows"`
	Protocol string  `json:"protocol"`
	Ctx      int     `json:"ctx"`
	Seconds  float64 `json:"seconds"`
}

// Perplexity scores the model on text under a named protocol. The text is
// tokenized once with BOS at the start (llama.cpp and the GPTQ/AWQ scripts
// do the same).
func Perplexity(e *Env, text string, o PPLOptions) (PPLResult, error) {
	start := time.Now()
	proto, err := metrics.ParseProtocol(o.Protocol)
	if err != nil {
		return PPLResult{}, err
	}
	tokens := e.Model.Tokenizer.Encode(text, true, false)
	plan, err := proto.Plan(len(tokens), o.Ctx, o.Chunks)
	if err != nil {
		return PPLResult{}, fmt.Errorf("ppl: %d tokens: %w", len(tokens), err)
	}
	var acc metrics.Perplexity
	if err := scorePlan(e, tokens, plan, &acc, o.Progress); err != nil {
		return PPLResult{}, err
	}
	r := PPLResult{Tokens: acc.N(), Input: len(tokens), Windows: len(plan), Protocol: proto.String(), Ctx: o.Ctx}
	r.PPL, r.PPLUnc = acc.PPL()
	r.NLL, r.NLLUnc = acc.NLL()
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// scorePlan runs every window of a plan and adds the NLL of its scored
// positions to acc.
func scorePlan(e *Env, tokens []int, plan []metrics.Window, acc *metrics.Perplexity, progress func(int, int)) error {
	m := e.Model
	longest := 0
	for _, w := range plan {
		longest = max(longest, w.Len)
		if w.BOS && m.Config.BOS < 0 {
			return errors.New("ppl: the protocol starts each window with BOS, but the tokenizer has no BOS token (use --protocol disjoint or stride:S)")
		}
	}
	s, err := engine.NewState(m, longest, e.Pool)
	if err != nil {
		return err
	}
	V := m.Config.Vocab
	input := make([]int, longest)
	for i, w := range plan {
		s.Reset()
		in := input[:w.Len]
		copy(in, tokens[w.Start:w.Start+w.Len])
		if w.BOS {
			in[0] = m.Config.BOS
		}
		nLogits := w.Len - w.First
		logits, err := s.Forward(in, nLogits)
		if err != nil {
			return fmt.Errorf("ppl window %d: %w", i, err)
		}
		for j := w.First; j <= w.Last; j++ {
			row := logits[(j-w.First)*V : (j-w.First+1)*V]
			if _, err := acc.AddLogits(row, tokens[w.Start+j+1]); err != nil {
				return fmt.Errorf("ppl window %d position %d: %w", i, j, err)
			}
		}
		if progress != nil {
			progress(i+1, len(plan))
		}
	}
	return nil
}
