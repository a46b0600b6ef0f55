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
	m    *Model
	pool *kernels.Pool
	cap  int // positions the KV cache holds
	pos  int // positions filled
	// angles is the model's RoPE table when the state was made (it covers
	// cap positions; the model's may since have grown).
	angles *kernels.RoPETable
	// The KV cache of each layer, laid out for attention's matrix
	// products: k[l] holds each KV head's keys position after position
	// ([KVHeads][cap][HeadDim]); v[l] holds each KV head's values
	// transposed, in chunks of attnChunk positions
	// ([KVHeads][⌈cap/attnChunk⌉][HeadDim][attnChunk]).
	k, v [][]float32
	// written is one past the highest position ever stored: values beyond
	// the filled positions may be stale up to there (after Truncate).
	written int
	Hooks   *Hooks

	t                      int // rows the scratch buffers hold
	x, xb, xb2, q, hb, hb2 []float32
	kn, vn                 []float32 // keys and values of the new positions (T×KVDim)
	hidden, logits         []float32
	att                    []attnScratch // per worker
	// attend is s.attendTask bound once (a decode step allocates nothing);
	// attnLayer and attnT are its arguments.
	attend           func(worker, task int)
	attnLayer, attnT int
}

// NewState makes a state able to hold maxTokens positions. The pool runs
// the parallel parts (nil: single-threaded).
func NewState(m *Model, maxTokens int, pool *kernels.Pool) (*State, error) {
	c := &m.Config
	if maxTokens < 1 {
		return nil, fmt.Errorf("engine: state for %d tokens", maxTokens)
	}
	rope, err := m.rope.table(maxTokens)
	if err != nil {
		return nil, err
	}
	s := &State{m: m, pool: pool, cap: maxTokens, angles: rope}
	kv := c.KVDim()
	s.k = make([][]float32, c.Layers)
	s.v = make([][]float32, c.Layers)
	for l := range s.k {
		s.k[l] = make([]float32, maxTokens*kv)
		s.v[l] = make([]float32, ceilDiv(maxTokens, attnChunk)*attnChunk*kv)
	}
	rows := attnBlock(c) * (c.Heads / c.KVHeads)
	s.att = make([]attnScratch, max(1, pool.Threads()))
	for i := range s.att {
		a := &s.att[i]
		a.q, a.o, a.oc = make([]float32, rows*c.HeadDim), make([]float32, rows*c.HeadDim), make([]float32, rows*c.HeadDim)
		a.scores, a.p = make([]float32, rows*maxTokens), make([]float32, rows*attnChunk)
	}
	s.attend = s.attendTask
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
	s.kn = make([]float32, T*c.KVDim())
	s.vn = make([]float32, T*c.KVDim())
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
	s.written = max(s.written, s.pos)
	if nLogits == 0 {
		return nil, nil
	}
	V := m.Output.Rows
	if cap(s.logits) < nLogits*V {
		s.logits = make([]float32, nLogits*V)
	}
	logits := s.logits[:nLogits*V]
	kernels.MatMul(s.pool, logits, m.Output, h[(T-nLogits)*dim:], nLogits)
	if i := nonFinite(logits); i >= 0 {
		return nil, nonFiniteError(logits[i], "lm_head", s.pos-nLogits+i/V)
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
	k, v := s.kn[:T*kv], s.vn[:T*kv]
	gate, up := s.hb[:T*hid], s.hb2[:T*hid]

	// Attention.
	s.rmsnorm(xb, x, L.AttnNorm)
	if err := s.matmul(q, L.Q, xb, T, l, "attn.q"); err != nil {
		return err
	}
	if err := s.matmul(k, L.K, xb, T, l, "attn.k"); err != nil {
		return err
	}
	if err := s.matmul(v, L.V, xb, T, l, "attn.v"); err != nil {
		return err
	}
	s.rope(q, dim, T)
	s.rope(k, kv, T)
	if s.m.kvHalf {
		roundHalf(k)
		roundHalf(v)
	}
	s.store(l, T)     // k, v → the cache
	s.attention(l, T) // s.xb2 ← softmax(q·kᵀ/√d)·v, per head
	if err := s.matmul(xb, L.O, s.xb2[:T*dim], T, l, "attn.o"); err != nil {
		return err
	}
	s.add(x, xb)

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
	s.siluMul(gate, up)
	if err := s.matmul(xb, L.Down, gate, T, l, "mlp.down"); err != nil {
		return err
	}
	s.add(x, xb)
	return nil
}

// The element-wise steps run on the caller for a few rows (decoding) and
// split rows across the pool for many (prefill): parallelRows is where
// splitting starts to pay for the hand-out.
const parallelRows = 16

func (s *State) parallel(T int) bool { return T >= parallelRows && s.pool.Threads() > 1 }

// rmsnorm normalizes every row of x into dst.
func (s *State) rmsnorm(dst, x, w []float32) {
	dim, eps := s.m.Config.Dim, s.m.Config.NormEps
	T := len(x) / dim
	if !s.parallel(T) {
		for t := 0; t < T; t++ {
			kernels.RMSNorm(dst[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], w, eps)
		}
		return
	}
	s.pool.Run(T, func(_, t int) { kernels.RMSNorm(dst[t*dim:(t+1)*dim], x[t*dim:(t+1)*dim], w, eps) })
}

// add computes x += y over rows of width dim (the residual connection).
func (s *State) add(x, y []float32) {
	dim := s.m.Config.Dim
	T := len(x) / dim
	if !s.parallel(T) {
		kernels.Add(x, y)
		return
	}
	s.pool.Run(T, func(_, t int) { kernels.Add(x[t*dim:(t+1)*dim], y[t*dim:(t+1)*dim]) })
}

// siluMul computes gate = silu(gate)·up over rows of width hidden.
func (s *State) siluMul(gate, up []float32) {
	hid := s.m.Config.HiddenDim
	T := len(gate) / hid
	if !s.parallel(T) {
		kernels.SiLUMul(gate, up)
		return
	}
	s.pool.Run(T, func(_, t int) { kernels.SiLUMul(gate[t*hid:(t+1)*hid], up[t*hid:(t+1)*hid]) })
}

// matmul computes dst = src·Wᵀ for T rows and checks the result is finite,
// naming the component when it is not.
func (s *State) matmul(dst []float32, w *kernels.Matrix, src []float32, T, layer int, kind string) error {
	kernels.MatMul(s.pool, dst, w, src, T)
	if i := nonFinite(dst); i >= 0 {
		// The name is built only here: a decode step allocates nothing.
		return nonFiniteError(dst[i], ComponentName(layer, kind), s.pos+i/w.Rows)
	}
	return nil
}

// rope rotates the heads of T rows of width n at positions pos… in place.
func (s *State) rope(x []float32, n, T int) {
	rotate := kernels.RoPEInterleaved
	if s.m.Config.RoPE == RoPENeoX {
		rotate = kernels.RoPENeoX
	}
	if !s.parallel(T) {
		for t := 0; t < T; t++ {
			rotate(x[t*n:(t+1)*n], s.angles, s.pos+t)
		}
		return
	}
	s.pool.Run(T, func(_, t int) { rotate(x[t*n:(t+1)*n], s.angles, s.pos+t) })
}

// store appends the T new keys and values (s.kn, s.vn) of layer l to the
// cache at positions pos…, in the cache's layout (see State).
func (s *State) store(l, T int) {
	c := &s.m.Config
	hd, kv, kc := c.HeadDim, c.KVDim(), attnChunk
	keys, vals := s.k[l], s.v[l]
	chunks := ceilDiv(s.cap, kc)
	for g := 0; g < c.KVHeads; g++ {
		for t := 0; t < T; t++ {
			p := s.pos + t
			copy(keys[(g*s.cap+p)*hd:(g*s.cap+p+1)*hd], s.kn[t*kv+g*hd:t*kv+(g+1)*hd])
			vt := vals[(g*chunks+p/kc)*hd*kc+p%kc:]
			for d, x := range s.vn[t*kv+g*hd : t*kv+(g+1)*hd] {
				vt[d*kc] = x
			}
		}
		// Attention multiplies whole chunks of values, with zero weights
		// past the last position: clear what a truncated sequence left
		// there, so that it cannot be a non-finite value.
		end := s.pos + T
		for p := end; p < min(s.written, ceilDiv(end, kc)*kc); p++ {
			vt := vals[(g*chunks+p/kc)*hd*kc+p%kc:]
			for d := 0; d < hd; d++ {
				vt[d*kc] = 0
			}
		}
	}
}

// Attention is computed with matrix products, per KV head and block of
// query positions: the block's rows (position × query head of the group)
// times the cached keys, softmax, times the cached values. A block has
// about attnRows rows; values are multiplied attnChunk positions at a
// time, the cache's chunk.
const (
	attnRows  = 64
	attnChunk = 64
)

// attnBlock returns the query positions per block.
func attnBlock(c *Config) int { return max(1, attnRows/(c.Heads/c.KVHeads)) }

var f32Format = mustFormat("f32")

// attnScratch is one worker's attention buffers.
type attnScratch struct {
	q, o, oc []float32 // block rows × HeadDim
	scores   []float32 // block rows × positions
	p        []float32 // block rows × attnChunk
	// keys and vals view the cache as matrices (kept here: a Matrix
	// handed to MatMul escapes, and a decode step allocates nothing).
	keys, vals kernels.Matrix
}

// attention computes causal multi-head attention with grouped KV heads for
// the T new positions against the whole cache, writing s.xb2.
func (s *State) attention(l, T int) {
	c := &s.m.Config
	s.attnLayer, s.attnT = l, T
	s.pool.Run(c.KVHeads*ceilDiv(T, attnBlock(c)), s.attend)
}

// attendTask runs one task of attention: KV head g and one block of query
// positions, the blocks with the most keys first.
func (s *State) attendTask(worker, task int) {
	c := &s.m.Config
	l, T := s.attnLayer, s.attnT
	hd, dim, kc := c.HeadDim, c.Dim, attnChunk
	group := c.Heads / c.KVHeads
	qb := attnBlock(c)
	blocks := ceilDiv(T, qb)
	g, b := task%c.KVHeads, blocks-1-task/c.KVHeads
	t0, t1 := b*qb, min(T, (b+1)*qb)
	rows, n := (t1-t0)*group, s.pos+t1 // keys 0 … n−1
	a := &s.att[worker]

	// Row (t−t0)·group + j is query head g·group + j at position t: the
	// group's heads lie side by side in a row of q.
	q := a.q[:rows*hd]
	for t := t0; t < t1; t++ {
		copy(q[(t-t0)*group*hd:(t-t0+1)*group*hd], s.q[t*dim+g*group*hd:t*dim+(g+1)*group*hd])
	}
	scores := a.scores[:rows*n]
	keys := s.k[l][g*s.cap*hd : (g*s.cap+n)*hd]
	a.keys = kernels.Matrix{Format: f32Format, Rows: n, Cols: hd, Data: f32Bytes(keys)}
	kernels.MatMul(nil, scores, &a.keys, q, rows)
	scale := float32(1 / math.Sqrt(float64(hd)))
	for r := 0; r < rows; r++ {
		row := scores[r*n : (r+1)*n]
		causal := s.pos + t0 + r/group + 1 // positions 0 … pos+t
		kernels.Scale(scale, row[:causal])
		kernels.Softmax(row[:causal])
		clear(row[causal:])
	}

	// out = scores·v, one chunk of cached values at a time.
	chunks := ceilDiv(s.cap, kc)
	out, p := a.o[:rows*hd], a.p[:rows*kc]
	for c0 := 0; c0 < n; c0 += kc {
		w := min(kc, n-c0)
		for r := 0; r < rows; r++ {
			copy(p[r*kc:r*kc+w], scores[r*n+c0:r*n+c0+w])
			clear(p[r*kc+w : (r+1)*kc])
		}
		vt := s.v[l][(g*chunks+c0/kc)*hd*kc : (g*chunks+c0/kc+1)*hd*kc]
		a.vals = kernels.Matrix{Format: f32Format, Rows: hd, Cols: kc, Data: f32Bytes(vt)}
		if c0 == 0 {
			kernels.MatMul(nil, out, &a.vals, p, rows)
			continue
		}
		part := a.oc[:rows*hd]
		kernels.MatMul(nil, part, &a.vals, p, rows)
		kernels.Add(out, part)
	}
	for t := t0; t < t1; t++ {
		copy(s.xb2[t*dim+g*group*hd:t*dim+(g+1)*group*hd], out[(t-t0)*group*hd:(t-t0+1)*group*hd])
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

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

// nonFinite returns the index of the first NaN or ±Inf in x, or −1.
func nonFinite(x []float32) int {
	// Σx² is finite when every value is (NaN and ±Inf carry through a
	// sum of squares), and the SIMD dot reads far faster than the loop
	// below, which runs only when the sum is not finite (a non-finite
	// value, or a sum that overflowed).
	if d := kernels.Dot(x, x); d-d == 0 {
		return -1
	}
	for i, v := range x {
		if v-v != 0 {
			return i
		}
	}
	return -1
}

// nonFiniteError reports a non-finite output value, naming the component
// and the position (DESIGN §5).
func nonFiniteError(v float32, component string, pos int) error {
	return fmt.Errorf("engine: non-finite value (%v) in the output of %s at position %d", v, component, pos)
}
