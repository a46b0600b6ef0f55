package eval

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/quant"
	"github.com/divergo/divergo/tokenizer"
)

// SynthShapes are the named shapes of `divergo synth`, from the models'
// Hugging Face configs (RoPE base 10000, RMS epsilon 1e-5, head dim
// dim/heads).
var SynthShapes = map[string]engine.Config{
	"stories110m":    synthConfig(768, 2048, 12, 12, 12, 32000, 1024),
	"tinyllama-1.1b": synthConfig(2048, 5632, 22, 32, 4, 32000, 2048),
	"llama2-7b":      synthConfig(4096, 11008, 32, 32, 32, 32000, 4096),
}

func synthConfig(dim, hidden, layers, heads, kv, vocab, ctx int) engine.Config {
	return engine.Config{
		Dim: dim, HiddenDim: hidden, Layers: layers, Heads: heads, KVHeads: kv, HeadDim: dim / heads,
		Vocab: vocab, MaxSeq: ctx, NormEps: 1e-5, RopeTheta: 10000, BOS: 1, EOS: 2, InitializerRange: 0.02,
		// Weights are drawn in Meta's q/k row order; the HF writer permutes
		// them, so a seed gives the same function in both formats.
		RoPE: engine.RoPEInterleaved, Angles: kernels.AnglesGGML,
	}
}

// ParseShape returns the configuration of a named shape (SynthShapes) or of
// a custom one written as comma-separated key=value pairs:
// dim, hidden, layers, heads, kv (default heads), vocab (required), and
// optionally ctx (default 2048), eps (1e-5), theta (10000):
// "dim=64,hidden=172,layers=2,heads=8,kv=4,vocab=512".
func ParseShape(s string) (engine.Config, error) {
	if c, ok := SynthShapes[strings.ToLower(s)]; ok {
		return c, nil
	}
	if !strings.Contains(s, "=") {
		names := make([]string, 0, len(SynthShapes))
		for n := range SynthShapes {
			names = append(names, n)
		}
		sort.Strings(names)
		return engine.Config{}, fmt.Errorf("shape %q: want %s, or dim=…,hidden=…,layers=…,heads=…,kv=…,vocab=…", s, strings.Join(names, ", "))
	}
	ints := map[string]int{"kv": -1, "ctx": 2048}
	eps, theta := 1e-5, 10000.0
	seen := map[string]bool{}
	for _, field := range strings.Split(s, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(field), "=")
		key = strings.TrimSpace(key)
		if !ok || val == "" {
			return engine.Config{}, fmt.Errorf("shape %q: %q is not key=value", s, field)
		}
		if seen[key] {
			return engine.Config{}, fmt.Errorf("shape %q: %s given twice", s, key)
		}
		seen[key] = true
		switch key {
		case "dim", "hidden", "layers", "heads", "kv", "vocab", "ctx":
			v, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || v < 1 {
				return engine.Config{}, fmt.Errorf("shape %q: %s=%s is not a positive integer", s, key, val)
			}
			ints[key] = v
		case "eps", "theta":
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || !(v > 0) || math.IsInf(v, 0) {
				return engine.Config{}, fmt.Errorf("shape %q: %s=%s is not a positive number", s, key, val)
			}
			if key == "eps" {
				eps = v
			} else {
				theta = v
			}
		default:
			return engine.Config{}, fmt.Errorf("shape %q: unknown key %q (dim, hidden, layers, heads, kv, vocab, ctx, eps, theta)", s, key)
		}
	}
	for _, k := range []string{"dim", "hidden", "layers", "heads", "vocab"} {
		if !seen[k] {
			return engine.Config{}, fmt.Errorf("shape %q: %s is required", s, k)
		}
	}
	if ints["kv"] < 0 {
		ints["kv"] = ints["heads"]
	}
	if ints["dim"]%ints["heads"] != 0 {
		return engine.Config{}, fmt.Errorf("shape %q: dim %d is not a multiple of heads %d", s, ints["dim"], ints["heads"])
	}
	c := synthConfig(ints["dim"], ints["hidden"], ints["layers"], ints["heads"], ints["kv"], ints["vocab"], ints["ctx"])
	c.NormEps, c.RopeTheta = float32(eps), float32(theta)
	if err := c.Validate(); err != nil {
		return engine.Config{}, fmt.Errorf("shape %q: %w", s, err)
	}
	return c, nil
}

// SyntheticVocab returns a SentencePiece-style vocabulary of n pieces for
// synthetic models: <unk>, <s>, </s>, the 256 byte pieces <0x00>…<0xFF>,
// then filler pieces ("▁", single characters, "▁"+character, and longer
// letter strings) with falling scores, so any text tokenizes (byte
// fallback) into ids below n. n must be at least 260.
func SyntheticVocab(n int) (*tokenizer.Tokenizer, error) {
	if n < 260 {
		return nil, fmt.Errorf("synthetic vocabulary of %d pieces: need at least 260 (3 control, 256 bytes, fillers); pass a tokenizer", n)
	}
	pieces := []string{"<unk>", "<s>", "</s>"}
	types := []int32{int32(tokenizer.Unknown), int32(tokenizer.Control), int32(tokenizer.Control)}
	for b := 0; b < 256; b++ {
		pieces = append(pieces, fmt.Sprintf("<0x%02X>", b))
		types = append(types, int32(tokenizer.Byte))
	}
	seen := map[string]bool{}
	add := func(p string) bool {
		if len(pieces) == n {
			return false
		}
		if !seen[p] {
			seen[p] = true
			pieces = append(pieces, p)
			types = append(types, int32(tokenizer.Normal))
		}
		return true
	}
	chars := []rune("etaoinshrdlucmfwypvbgkjqxzETAOINSHRDLUCMFWYPVBGKJQXZ0123456789.,!?'\"-:;()")
	letters := []rune("etaoinshrdlucmfwypvbgkjqxz")
	add("▁")
	for _, r := range chars {
		add(string(r))
	}
	for _, r := range chars {
		add("▁" + string(r))
	}
	// Then letter strings of growing length, with and without "▁", in a
	// fixed order, until the vocabulary is full.
	for length := 2; len(pieces) < n; length++ {
		idx := make([]int, length)
		for {
			var b strings.Builder
			for _, i := range idx {
				b.WriteRune(letters[i])
			}
			if !add(b.String()) || !add("▁"+b.String()) {
				break
			}
			k := length - 1
			for k >= 0 && idx[k] == len(letters)-1 {
				idx[k] = 0
				k--
			}
			if k < 0 {
				break
			}
			idx[k]++
		}
	}
	scores := make([]float32, n)
	for i := 259; i < n; i++ {
		scores[i] = -float32(i - 259)
	}
	return tokenizer.FromVocab(pieces, scores, types, tokenizer.DefaultVocabOptions())
}

// SynthOptions say which synthetic model `divergo synth` writes.
type SynthOptions struct {
	// Shape is a named shape or a custom one (ParseShape).
	Shape string
	// DType is the format of every matrix: f32, f16, bf16, a ggml block
	// format (q8_0, q4_0, q4_k, …) or, for a Hugging Face checkpoint, an
	// int format.
	DType string
	// LMHead is the format of the LM head; "" picks DefaultLMHead.
	LMHead string
	// Output is a .gguf file or a checkpoint directory; Format is "gguf",
	// "hf" or "" (from Output).
	Output, Format string
	Seed           uint64
	// Tokenizer is a tokenizer file whose vocabulary the model gets (the
	// model's vocabulary size becomes its size); "" writes SyntheticVocab.
	Tokenizer  string
	ShardBytes int64
	Progress   func(done, total int)
}

// SynthResult is what `divergo synth` reports.
type SynthResult struct {
	Written string        `json:"written"`
	Format  string        `json:"format"`
	Bytes   int64         `json:"bytes"`
	Shape   string        `json:"shape"`
	Config  engine.Config `json:"config"`
	DType   string        `json:"dtype"`
	LMHead  string        `json:"lm_head"`
	Params  int64         `json:"params"`
	Seed    uint64        `json:"seed"`
	Vocab   string        `json:"vocab"` // "synthetic" or the tokenizer file
	Timing  WriteTiming   `json:"timing"`
}

// DefaultLMHead is the LM head format synth uses with a matrix dtype: q6_k
// for the ggml quantizations below 8 bits, as llama-quantize does for
// output.weight in its Q4_0, Q4_K_M … files (q8_0 when the rows are not
// whole 256-blocks), the dtype itself otherwise.
func DefaultLMHead(dtype string, dim int) string {
	switch dtype {
	case "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k":
		if dim%256 == 0 {
			return "q6_k"
		}
		return "q8_0"
	}
	return dtype
}

// Synth writes a random-weight model of a real shape: every matrix drawn
// from N(0, 0.02²) by engine.RandomFill (one stream per component name and
// seed, so the f32 model equals engine.NewRandom), norms 1, each tensor
// generated and quantized when the writer reaches it — the next one is
// drawn meanwhile — so memory holds two matrices, never the model.
func Synth(o SynthOptions) (SynthResult, error) {
	start := time.Now()
	c, err := ParseShape(o.Shape)
	if err != nil {
		return SynthResult{}, err
	}
	format, err := OutputFormat(o.Output, o.Format)
	if err != nil {
		return SynthResult{}, err
	}
	r := SynthResult{Written: o.Output, Format: format, Shape: o.Shape, Seed: o.Seed, Vocab: "synthetic"}
	var tok *tokenizer.Tokenizer
	if o.Tokenizer != "" {
		if tok, err = tokenizer.Load(o.Tokenizer); err != nil {
			return SynthResult{}, err
		}
		c.Vocab, r.Vocab = tok.VocabSize(), o.Tokenizer
		if err := c.Validate(); err != nil {
			return SynthResult{}, err
		}
	} else if tok, err = SyntheticVocab(c.Vocab); err != nil {
		return SynthResult{}, err
	}
	c.BOS, c.EOS = tok.BOS(), tok.EOS()
	r.Config = c

	specs := map[string]quant.Spec{}
	spec := func(name string) (quant.Spec, *kernels.Format, error) {
		s, err := quant.ParseSpec(name)
		if err != nil {
			return quant.Spec{}, nil, err
		}
		if s.IsPrune() || s.A8 {
			return quant.Spec{}, nil, fmt.Errorf("%s is not a storage format (want f32, f16, bf16, a ggml type or an int format)", name)
		}
		f, err := kernels.FormatByName(s.String())
		return s, f, err
	}
	dt, dtf, err := spec(o.DType)
	if err != nil {
		return SynthResult{}, fmt.Errorf("--dtype: %w", err)
	}
	r.DType = dt.String()
	if o.LMHead == "" {
		o.LMHead = DefaultLMHead(r.DType, c.Dim)
	}
	head, headf, err := spec(o.LMHead)
	if err != nil {
		return SynthResult{}, fmt.Errorf("--lm-head: %w", err)
	}
	r.LMHead = head.String()
	order := synthOrder(c.Layers)
	for _, name := range order {
		s, f := dt, dtf
		if name == "lm_head" {
			s, f = head, headf
		}
		_, kind, _ := engine.ParseComponent(name)
		_, cols := c.MatrixShape(kind)
		if err := s.Check(cols); err != nil {
			return SynthResult{}, fmt.Errorf("%s: %w", name, err)
		}
		if format == "gguf" && f.GGML < 0 {
			return SynthResult{}, fmt.Errorf("%s has no GGUF type; write a Hugging Face directory", f.Name)
		}
		specs[name] = s
	}

	gen := newPrefetcher(order, func(name string) ([]float32, error) {
		_, kind, _ := engine.ParseComponent(name)
		rows, cols := c.MatrixShape(kind)
		w := make([]float32, rows*cols)
		engine.RandomFill(w, o.Seed, name, c.InitializerRange)
		return w, nil
	})
	ones := make([]float32, c.Dim)
	for i := range ones {
		ones[i] = 1
	}
	b := &engine.Blueprint{
		Name:      "synthetic-" + strings.ReplaceAll(strings.ToLower(o.Shape), ",", "-"),
		Config:    c,
		Tokenizer: tok,
		Format: func(name string) (*kernels.Format, bool, error) {
			if name == "lm_head" {
				return headf, false, nil
			}
			return dtf, false, nil
		},
		Matrix: func(name string) (*kernels.Matrix, error) {
			w, err := gen.get(name)
			if err != nil {
				return nil, err
			}
			_, kind, _ := engine.ParseComponent(name)
			rows, cols := c.MatrixShape(kind)
			return quant.Quantize(specs[name], name, rows, cols, w)
		},
		Norm: func(string) ([]float32, error) { return ones, nil },
	}
	err = writeBlueprint(b, format, o.Output, engine.WriteOptions{ShardBytes: o.ShardBytes, Progress: o.Progress})
	gen.stop()
	if err != nil {
		return SynthResult{}, err
	}
	if r.Bytes, err = pathBytes(o.Output); err != nil {
		return SynthResult{}, err
	}
	for _, name := range order {
		_, kind, _ := engine.ParseComponent(name)
		rows, cols := c.MatrixShape(kind)
		r.Params += int64(rows) * int64(cols)
	}
	r.Params += int64(c.Dim) * int64(2*c.Layers+1)
	r.Timing.Seconds = time.Since(start).Seconds()
	return r, nil
}

// synthOrder lists the components in the order the writers ask for them
// (embedding, layers in forward order, LM head), for prefetching.
func synthOrder(layers int) []string {
	out := []string{"embed"}
	for l := 0; l < layers; l++ {
		for _, k := range engine.LayerKinds() {
			out = append(out, engine.ComponentName(l, k))
		}
	}
	return append(out, "lm_head")
}

// A prefetcher draws the weights of the next component in a known order
// while the current one is quantized and written: drawing normal numbers
// is sequential per component (one stream each), so this overlaps it with
// the parallel quantization.
type prefetcher struct {
	order []string
	next  map[string]int
	draw  func(string) ([]float32, error)
	ahead string
	ch    chan drawn
}

type drawn struct {
	w   []float32
	err error
}

func newPrefetcher(order []string, draw func(string) ([]float32, error)) *prefetcher {
	p := &prefetcher{order: order, next: map[string]int{}, draw: draw}
	for i, n := range order {
		p.next[n] = i + 1
	}
	return p
}

// get returns the weights of name, drawn ahead when it was predicted, and
// starts drawing the component after it.
func (p *prefetcher) get(name string) ([]float32, error) {
	var d drawn
	if p.ahead == name && p.ch != nil {
		d = <-p.ch
	} else {
		p.stop()
		d.w, d.err = p.draw(name)
	}
	p.ahead, p.ch = "", nil
	if i, ok := p.next[name]; ok && i < len(p.order) {
		next := p.order[i]
		ch := make(chan drawn, 1)
		go func() {
			w, err := p.draw(next)
			ch <- drawn{w, err}
		}()
		p.ahead, p.ch = next, ch
	}
	return d.w, d.err
}

// stop waits for a draw in flight and drops it.
func (p *prefetcher) stop() {
	if p.ch != nil {
		<-p.ch
	}
	p.ahead, p.ch = "", nil
}

// RelativeOptions say how `divergo synth -m BASE` derives a "fine-tuned
// relative" of the loaded model (issue 9): its MLP neurons permuted, its
// weights perturbed, or both, stored in the base model's formats.
type RelativeOptions struct {
	PermuteMLP bool    // shuffle the MLP neurons of every layer (engine.PermuteMLP)
	Noise      float64 // add Gaussian noise of Noise × each matrix's std (engine.AddNoise)
	Seed       uint64
	// Output is a .gguf file or a checkpoint directory; Format is "gguf",
	// "hf" or "" (from Output).
	Output, Format string
	ShardBytes     int64
	Progress       func(done, total int)
}

// RelativeResult is what `divergo synth -m BASE` reports.
type RelativeResult struct {
	Written    string      `json:"written"`
	Format     string      `json:"format"`
	Bytes      int64       `json:"bytes"`
	Base       string      `json:"base"`
	PermuteMLP bool        `json:"permute_mlp"`
	Noise      float64     `json:"noise"`
	Seed       uint64      `json:"seed"`
	Params     int64       `json:"params"`
	Timing     WriteTiming `json:"timing"`
}

// Relative writes a relative of the loaded model. Every matrix is stored in
// the format it has in the base model (a permuted or noisy matrix is
// requantized to it). The transformations hold the changed matrices in
// float32 memory, so this suits models that fit in memory several times.
func Relative(e *Env, o RelativeOptions) (RelativeResult, error) {
	start := time.Now()
	if !o.PermuteMLP && o.Noise == 0 {
		return RelativeResult{}, fmt.Errorf("synth -m: nothing to change; give --permute-mlp and/or --noise S")
	}
	if o.Noise < 0 || math.IsNaN(o.Noise) || math.IsInf(o.Noise, 0) {
		return RelativeResult{}, fmt.Errorf("--noise %v must be a finite number ≥ 0", o.Noise)
	}
	format, err := OutputFormat(o.Output, o.Format)
	if err != nil {
		return RelativeResult{}, err
	}
	base := e.Model
	v := base
	if o.PermuteMLP {
		if v, err = v.PermuteMLP(o.Seed); err != nil {
			return RelativeResult{}, err
		}
		defer v.Close()
	}
	if o.Noise > 0 {
		if v, err = v.AddNoise(o.Noise, o.Seed); err != nil {
			return RelativeResult{}, err
		}
		defer v.Close()
	}
	b, _, err := v.Blueprint(nil)
	if err != nil {
		return RelativeResult{}, err
	}
	b.Name = "relative-of-" + b.Name
	b.Format = func(name string) (*kernels.Format, bool, error) {
		w, err := base.Matrix(name)
		if err != nil {
			return nil, false, err
		}
		return w.Format, w.A8 && w.Format.Act != nil, nil
	}
	b.Matrix = func(name string) (*kernels.Matrix, error) {
		want, err := base.Matrix(name)
		if err != nil {
			return nil, err
		}
		w, err := v.Matrix(name)
		if err != nil || w.Format == want.Format {
			return w, err
		}
		s, err := quant.ParseSpec(want.Format.Name)
		if err != nil {
			return nil, err
		}
		q, err := quant.Quantize(s, name, w.Rows, w.Cols, engine.Dequantize(w))
		if err != nil {
			return nil, err
		}
		q.A8 = want.A8
		return q, nil
	}
	err = writeBlueprint(b, format, o.Output, engine.WriteOptions{ShardBytes: o.ShardBytes, Progress: o.Progress})
	if err != nil {
		return RelativeResult{}, err
	}
	r := RelativeResult{Written: o.Output, Format: format, Base: base.Source.Path, PermuteMLP: o.PermuteMLP,
		Noise: o.Noise, Seed: o.Seed, Params: base.Params()}
	if r.Bytes, err = pathBytes(o.Output); err != nil {
		return RelativeResult{}, err
	}
	r.Timing.Seconds = time.Since(start).Seconds()
	return r, nil
}
