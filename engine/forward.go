package engine

import (
	"fmt"
	"math"

	"github.com/divergo/divergo/kernels"
)

// Hooks observe a forward pass. Every slice passed to a hook is valid only
// during the call (copy what you keep) and must not be modified.
type Hooks struct {
	// LayerInput receives the residual stream entering layer l: T×dim for
	// the T positions of the call.
	LayerInput func(layer int, x []float32)
	// MLP receives the gate and up projections of layer l before the
	// activation (T×hidden each).
	MLP func(layer int, gate, up []float32)
	// Final receives the final RMS-normed hidden state, the input of the LM
	// head, for all T positions (T×dim).
	Final func(hidden []float32)
}

// A State is one sequence being run through a model: its KV cache and
// scratch buffers. A State is not safe for concurrent use; run several
// sequences with several States.
type State struct {
	m     *Model
	pool  *kernels.Pool
	cap   int // positions the KV cache holds
	pos   int // positions filled
	k, v  [][]float32
	Hooks *Hooks

	t                      int // rows the scratch buffers hold
	x, xb, xb2, q, hb, hb2 []float32
	hidden, logits         []float32
	att                    [][]float32 // per worker: attention scores
}

// NewState makes a state able to hold maxTokens positions. The pool runs
// the parallel parts (nil: single-threaded).
func NewState(m *Model, maxTokens int, pool *kernels.Pool) (*State, error) {
	c := &m.Config
	if maxTokens < 1 {
		return nil, fmt.Errorf("engine: state for %d tokens", maxTokens)
	}
	if maxTokens > m.rope.MaxPos {
		return nil, fmt.Errorf("engine: %d tokens exceed the %d positions this model is set up for (raise the context length)", maxTokens, m.rope.MaxPos)
	}
	s := &State{m: m, pool: pool, cap: maxTokens}
	kv := c.KVDim()
	s.k = make([][]float32, c.Layers)
	s.v = make([][]float32, c.Layers)
	for l := range s.k {
		s.k[l] = make([]float32, maxTokens*kv)
		s.v[l] = make([]float32, maxTokens*kv)
	}
	s.att = make([][]float32, max(1, pool.Threads()))
	for i := range s.att {
		s.att[i] = make([]float32, maxTokens)
	}
	return s, nil
}

// Len returns the number of positions in the cache.
func (s *State) Len() int { return s.pos }

// Cap returns the number of positions the cache can hold.
func (s *State) Cap() int { return s.cap }

// Truncate forgets every position from n on, so the next call continues at
// position n (a shared prompt prefix is computed once and reused).
func (s *State) Truncate(n int) {
	if n < 0 || n > s.pos {
		panic(fmt.Sprintf("engine: truncate to %d of %d positions", n, s.pos))
	}
	s.pos = n
}

// Reset empties the cache.
func (s *State) Reset() { s.pos = 0 }

// grow sizes the scratch buffers for T rows.
func (s *State) grow(T int) {
	if T <= s.t {
		return
	}
	c := &s.m.Config
	s.t = T
	s.x = make([]float32, T*c.Dim)
	s.xb = make([]float32, T*c.Dim)
	s.xb2 = make([]float32, T*c.Dim)
	s.q = make([]float32, T*c.Dim)
	s.hb = make([]float32, T*c.HiddenDim)
	s.hb2 = make([]float32, T*c.HiddenDim)
	s.hidden = make([]float32, T*c.Dim)
}

// Forward runs tokens at positions Len() … Len()+T−1, appends their keys and
// values to the cache, and returns the logits of the last nLogits positions
// (nLogits×vocab, row-major; valid until the next call). nLogits = 0 skips
// the LM head.
func (s *State) Forward(tokens []int, nLogits int) ([]float32, error) {
	T := len(tokens)
	if err := s.checkCall(T, nLogits); err != nil {
		return nil, err
	}
	s.grow(T)
	dim := s.m.Config.Dim
	for t, id := range tokens {
		if id < 0 || id >= s.m.Embed.Rows {
			return nil, fmt.Errorf("engine: token id %d at position %d outside the vocabulary (%d)", id, s.pos+t, s.m.Embed.Rows)
		}
		s.m.embed(s.x[t*dim:(t+1)*dim], id)
	}
	return s.run(0, T, nLogits)
}

// ForwardFrom runs layers first … L−1 on x, the residual stream entering
// layer first at positions Len() … Len()+T−1 (T×dim, as LayerInput hooks
// see it), and returns logits as Forward does. Layers before first are not
// run: a sweep caches each layer's input from one base pass and re-runs only
// what a changed component can affect. The cache then holds keys and values
// of layers ≥ first only; keep using ForwardFrom(first, …) on this state.
func (s *State) ForwardFrom(first int, x []float32, nLogits int) ([]float32, error) {
	dim := s.m.Config.Dim
	if first < 0 || first > len(s.m.Layers) {
		return nil, fmt.Errorf("engine: start layer %d outside 0…%d", first, len(s.m.Layers))
	}
	if len(x)%dim != 0 {
		return nil, fmt.Errorf("engine: residual input of %d values is not a multiple of dim %d", len(x), dim)
	}
	T := len(x) / dim
	if err := s.checkCall(T, nLogits); err != nil {
		return nil, err
	}
	s.grow(T)
	copy(s.x, x)
	return s.run(first, T, nLogits)
}

func (s *State) checkCall(T, nLogits int) error {
	if T < 1 {
		return fmt.Errorf("engine: forward pass over no tokens")
	}
	if s.pos+T > s.cap {
		return fmt.Errorf("engine: %d positions exceed the state's %d (context full)", s.pos+T, s.cap)
	}
	if nLogits < 0 || nLogits > T {
		return fmt.Errorf("engine: %d logit rows requested from %d positions", nLogits, T)
	}
	return nil
}

// run is the transformer: layers, final norm, LM head.
func (s *State) run(first, T, nLogits int) ([]float32, error) {
	m, c := s.m, &s.m.Config
	dim := c.Dim
	x := s.x[:T*dim]
	for l := first; l < c.Layers; l++ {
		if s.Hooks != nil && s.Hooks.LayerInput != nil {
			s.Hooks.LayerInput(l, x)
		}
		if err := s.layer(l, T); err != nil {
			return nil, err
		}
	}

	// Final norm over the rows that need it: all of them when a hook
	// wants the hidden state, else only those feeding the LM head.
	from := T - nLogits
	if s.Hooks != nil && s.Hooks.Final != nil {
		from = 0
	}
	h := s.hidden[:T*dim]
	for t := from; t < T; t++ {
		kernels.RMSNorm(h[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], m.Norm, c.NormEps)
	}
	if s.Hooks != nil && s.Hooks.Final != nil {
		s.Hooks.Final(h)
	}
	s.pos += T
	if nLogits == 0 {
		return nil, nil
	}
	V := m.Output.Rows
	if cap(s.logits) < nLogits*V {
		s.logits = make([]float32, nLogits*V)
	}
	logits := s.logits[:nLogits*V]
	kernels.MatMul(s.pool, logits, m.Output, h[(T-nLogits)*dim:], nLogits)
	if err := checkFinite(logits, V, s.pos-nLogits, "lm_head"); err != nil {
		return nil, err
	}
	return logits, nil
}

// layer runs transformer block l over the T rows of s.x in place — the
// sequence of llama2.c's run.c: norm, q/k/v, RoPE, attention, o, residual,
// norm, SwiGLU, residual.
func (s *State) layer(l, T int) error {
	c, L := &s.m.Config, &s.m.Layers[l]
	dim, kv, hid := c.Dim, c.KVDim(), c.HiddenDim
	x, xb, q := s.x[:T*dim], s.xb[:T*dim], s.q[:T*dim]
	kc := s.k[l][s.pos*kv : (s.pos+T)*kv]
	vc := s.v[l][s.pos*kv : (s.pos+T)*kv]
	gate, up := s.hb[:T*hid], s.hb2[:T*hid]

	// Attention.
	s.rmsnorm(xb, x, L.AttnNorm)
	if err := s.matmul(q, L.Q, xb, T, l, "attn.q"); err != nil {
		return err
	}
	if err := s.matmul(kc, L.K, xb, T, l, "attn.k"); err != nil {
		return err
	}
	if err := s.matmul(vc, L.V, xb, T, l, "attn.v"); err != nil {
		return err
	}
	s.rope(q, dim, T)
	s.rope(kc, kv, T)
	if s.m.kvHalf {
		roundHalf(kc)
		roundHalf(vc)
	}
	s.attention(l, T) // s.xb2 ← softmax(q·kᵀ/√d)·v, per head
	if err := s.matmul(xb, L.O, s.xb2[:T*dim], T, l, "attn.o"); err != nil {
		return err
	}
	kernels.Add(x, xb)

	// SwiGLU MLP.
	s.rmsnorm(xb, x, L.FFNNorm)
	if err := s.matmul(gate, L.Gate, xb, T, l, "mlp.gate"); err != nil {
		return err
	}
	if err := s.matmul(up, L.Up, xb, T, l, "mlp.up"); err != nil {
		return err
	}
	if s.Hooks != nil && s.Hooks.MLP != nil {
		s.Hooks.MLP(l, gate, up)
	}
	kernels.SiLUMul(gate, up)
	if err := s.matmul(xb, L.Down, gate, T, l, "mlp.down"); err != nil {
		return err
	}
	kernels.Add(x, xb)
	return nil
}

// rmsnorm normalizes every row of x into dst.
func (s *State) rmsnorm(dst, x, w []float32) {
	dim, eps := s.m.Config.Dim, s.m.Config.NormEps
	for t := 0; t < len(x)/dim; t++ {
		kernels.RMSNorm(dst[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], w, eps)
	}
}

// matmul computes dst = src·Wᵀ for T rows and checks the result is finite,
// naming the component when it is not.
func (s *State) matmul(dst []float32, w *kernels.Matrix, src []float32, T, layer int, kind string) error {
	kernels.MatMul(s.pool, dst, w, src, T)
	return checkFinite(dst, w.Rows, s.pos, ComponentName(layer, kind))
}

// rope rotates the heads of T rows of width n at positions pos… in place.
func (s *State) rope(x []float32, n, T int) {
	for t := 0; t < T; t++ {
		row := x[t*n : (t+1)*n]
		if s.m.Config.RoPE == RoPENeoX {
			kernels.RoPENeoX(row, s.m.rope, s.pos+t)
		} else {
			kernels.RoPEInterleaved(row, s.m.rope, s.pos+t)
		}
	}
}

// attention computes causal multi-head attention with grouped KV heads for
// the T new positions against the whole cache, writing s.xb2.
func (s *State) attention(l, T int) {
	c := &s.m.Config
	hd, kv, dim := c.HeadDim, c.KVDim(), c.Dim
	group := c.Heads / c.KVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	q, out := s.q, s.xb2
	keys, vals := s.k[l], s.v[l]
	s.pool.Run(T*c.Heads, func(worker, task int) {
		t, h := task/c.Heads, task%c.Heads
		n := s.pos + t + 1 // causal: positions 0 … pos+t
		qh := q[t*dim+h*hd : t*dim+(h+1)*hd]
		off := (h / group) * hd
		att := s.att[worker][:n]
		for j := range att {
			att[j] = kernels.Dot(qh, keys[j*kv+off:j*kv+off+hd]) * scale
		}
		kernels.Softmax(att)
		o := out[t*dim+h*hd : t*dim+(h+1)*hd]
		clear(o)
		for j, a := range att {
			kernels.Axpy(a, vals[j*kv+off:j*kv+off+hd], o)
		}
	})
}

// roundHalf rounds values to the nearest float16 in place (round to nearest
// even, as ggml's fp32→fp16 conversion).
func roundHalf(x []float32) {
	for i, v := range x {
		x[i] = kernels.HalfToFloat(kernels.FloatToHalf(v))
	}
}

// embed writes the embedding of token id into dst.
func (m *Model) embed(dst []float32, id int) {
	w := m.Embed
	rb := w.RowBytes()
	w.Format.Dequant(dst, w.Data[id*rb:(id+1)*rb])
}

// checkFinite reports the first non-finite value of out (rows of width n
// starting at position pos) as an error naming the component.
func checkFinite(out []float32, n, pos int, component string) error {
	for i, v := range out {
		if v-v != 0 { // NaN or ±Inf
			return fmt.Errorf("engine: non-finite value (%v) in the output of %s at position %d", v, component, pos+i/n)
		}
	}
	return nil
}
