package engine

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/divergo/divergo/gguf"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/llama2c"
	"github.com/divergo/divergo/safetensors"
	"github.com/divergo/divergo/tokenizer"
)

// LoadOptions adjust how a model is loaded.
type LoadOptions struct {
	// Tokenizer is a tokenizer file (tokenizer.model, tokenizer.json or a
	// llama2.c tokenizer.bin) overriding the one found with the model; a
	// llama2.c checkpoint needs one unless a tokenizer file lies beside it.
	Tokenizer string
	// Context is the longest sequence the model will be run on (default:
	// the larger of the model's context length and 4096). The RoPE table
	// grows to the longest state made, not to this bound.
	Context int
	// TokenizerOptional loads a model even when no tokenizer file is found
	// (Model.Tokenizer is then nil): enough for describing a checkpoint,
	// not for running text through it.
	TokenizerOptional bool
}

// Load opens a model: a Hugging Face directory (config.json + safetensors +
// tokenizer.model or tokenizer.json), a .gguf file, or a llama2.c .bin.
// An empty path loads the embedded stories260K model. Weights stay in their
// stored type and, for files, in the memory mapping (no copy).
func Load(path string, opt LoadOptions) (*Model, error) {
	if path == "" {
		return LoadEmbedded(opt)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	var m *Model
	switch {
	case st.IsDir():
		m, err = loadHFDir(path, opt)
	case filepath.Base(path) == "config.json":
		m, err = loadHFDir(filepath.Dir(path), opt)
	case strings.HasSuffix(path, ".safetensors") || strings.HasSuffix(path, ".safetensors.index.json"):
		m, err = loadHFDir(filepath.Dir(path), opt)
	case isGGUF(path):
		m, err = loadGGUF(path, opt)
	default:
		m, err = loadLlama2C(path, opt)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func isGGUF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == "GGUF"
}

// builder assembles a Model from named tensors of any source.
type builder struct {
	m       Model
	closers []io.Closer
}

func newBuilder(c Config, src Source) (*builder, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b := &builder{m: Model{Config: c, Source: src}}
	b.m.Layers = make([]Layer, c.Layers)
	return b, nil
}

// setMatrix places a component's matrix after checking its shape.
func (b *builder) setMatrix(l int, kind string, w *kernels.Matrix) error {
	c := &b.m.Config
	name := kind
	if l >= 0 {
		name = ComponentName(l, kind)
		if l >= c.Layers {
			return fmt.Errorf("tensor for %s but the model has %d layers", name, c.Layers)
		}
	}
	rows, cols := c.MatrixShape(kind)
	if w.Rows != rows || w.Cols != cols {
		return fmt.Errorf("%s: shape %d×%d, want %d×%d", name, w.Rows, w.Cols, rows, cols)
	}
	if err := w.Check(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	switch kind {
	case "embed":
		b.m.Embed = w
	case "lm_head":
		b.m.Output = w
	default:
		*layerSlot(&b.m.Layers[l], kind) = w
	}
	return nil
}

// MatrixShape returns the rows and columns of a weight matrix of the
// component kind ("attn.q", "mlp.down", "embed", "lm_head", …) under c:
// rows are outputs, columns inputs. An unknown kind gives -1, -1.
func (c *Config) MatrixShape(kind string) (rows, cols int) {
	switch kind {
	case "embed", "lm_head":
		return c.Vocab, c.Dim
	case "attn.q", "attn.o":
		return c.Dim, c.Dim
	case "attn.k", "attn.v":
		return c.KVDim(), c.Dim
	case "mlp.gate", "mlp.up":
		return c.HiddenDim, c.Dim
	case "mlp.down":
		return c.Dim, c.HiddenDim
	}
	return -1, -1
}

// setNorm places a norm weight vector.
func (b *builder) setNorm(l int, kind string, w []float32) error {
	if len(w) != b.m.Config.Dim {
		if l < 0 {
			return fmt.Errorf("final norm: %d values, want %d", len(w), b.m.Config.Dim)
		}
		return fmt.Errorf("%s of layer %d: %d values, want %d", kind, l, len(w), b.m.Config.Dim)
	}
	switch kind {
	case "norm":
		b.m.Norm = w
	case "attn_norm", "ffn_norm":
		if l >= b.m.Config.Layers {
			return fmt.Errorf("%s for layer %d but the model has %d layers", kind, l, b.m.Config.Layers)
		}
		if kind == "attn_norm" {
			b.m.Layers[l].AttnNorm = w
		} else {
			b.m.Layers[l].FFNNorm = w
		}
	}
	return nil
}

// finish checks completeness, ties the LM head when absent and builds the
// RoPE table.
func (b *builder) finish(opt LoadOptions) (*Model, error) {
	m := &b.m
	if m.Embed == nil {
		return nil, errors.New("missing the token embedding")
	}
	if m.Output == nil {
		m.Output = m.Embed // tied
	}
	if m.Norm == nil {
		return nil, errors.New("missing the final norm weight")
	}
	for l := range m.Layers {
		L := &m.Layers[l]
		if L.AttnNorm == nil || L.FFNNorm == nil {
			return nil, fmt.Errorf("layer %d: missing a norm weight", l)
		}
		for _, k := range layerKinds {
			if *layerSlot(L, k) == nil {
				return nil, fmt.Errorf("missing tensor for %s", ComponentName(l, k))
			}
		}
	}
	n := max(m.Config.MaxSeq, 4096, opt.Context)
	rope, err := newRoPETables(m.Config.HeadDim, n, m.Config.RopeTheta, m.Config.Angles)
	if err != nil {
		return nil, err
	}
	m.rope = rope
	m.res = &resources{refs: 1, closers: b.closers}
	return m, nil
}

// loadHFDir loads a Hugging Face Llama directory.
func loadHFDir(dir string, opt LoadOptions) (*Model, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	c, tied, err := parseHFConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	ck, err := safetensors.OpenCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m, err := buildHF(c, tied, ck, Source{Path: dir, Format: "safetensors"}, opt)
	if err != nil {
		ck.Close()
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m.res.closers = append(m.res.closers, ck)
	if m.Tokenizer == nil {
		if m.Tokenizer, err = findTokenizer(dir, m.Config.Vocab, opt); err != nil {
			m.Close()
			return nil, fmt.Errorf("model %s: %w", dir, err)
		}
	}
	if err := checkTokenizer(m); err != nil {
		m.Close()
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	return m, nil
}

// Keys of the files divergo writes (docs/FORMATS.md). In safetensors
// metadata, "divergo.format.NAME" names the format of a matrix stored as U8
// bytes [rows, row bytes] and "divergo.a8.NAME" = "true" marks a matrix that
// runs with int8 activations; in GGUF, the string array "divergo.a8" lists
// such tensors (llama.cpp ignores it: it always runs W·A8).
const (
	stFormatKey = "divergo.format."
	stA8Key     = "divergo.a8."
	ggufA8Key   = "divergo.a8"
)

// tensorSource is the part of a safetensors checkpoint or file buildHF needs.
type tensorSource interface {
	Tensors() []safetensors.TensorInfo
	Bytes(name string) ([]byte, error)
	ToFloat32(name string) ([]float32, error)
}

func buildHF(c Config, tied bool, src tensorSource, source Source, opt LoadOptions) (*Model, error) {
	b, err := newBuilder(c, source)
	if err != nil {
		return nil, err
	}
	meta := sourceMetadata(src)
	for _, t := range src.Tensors() {
		role, ok := hfRole(t.Name)
		if !ok {
			continue // e.g. rotary_emb.inv_freq buffers
		}
		switch role.kind {
		case "attn_norm", "ffn_norm", "norm":
			w, err := src.ToFloat32(t.Name)
			if err != nil {
				return nil, err
			}
			if err := b.setNorm(role.layer, role.kind, w); err != nil {
				return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
			}
			continue
		}
		if len(t.Shape) != 2 {
			return nil, fmt.Errorf("tensor %q: %d dimensions, want a matrix", t.Name, len(t.Shape))
		}
		rows, cols := int(t.Shape[0]), int(t.Shape[1])
		var format *kernels.Format
		switch name, stored := meta[stFormatKey+t.Name]; {
		case stored:
			// A matrix in a block or int format, stored as U8 [rows, row
			// bytes] by WriteSafetensors; the columns come from the config.
			if format, err = kernels.FormatByName(name); err != nil {
				return nil, fmt.Errorf("tensor %q: %s%s: %w", t.Name, stFormatKey, t.Name, err)
			}
			_, cols = b.m.Config.MatrixShape(role.kind)
			if t.DType != safetensors.U8 || format.CheckCols(cols) != nil || int64(format.RowBytes(cols)) != t.Shape[1] {
				return nil, fmt.Errorf("tensor %q: %s %v does not hold %d×%d %s weights", t.Name, t.DType, t.Shape, rows, cols, name)
			}
		case t.DType == safetensors.F32 || t.DType == safetensors.F16 || t.DType == safetensors.BF16:
			format, err = kernels.FormatByName(strings.ToLower(string(t.DType)))
			if err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("tensor %q: dtype %s not supported for weights (F32, F16, BF16, or U8 with a %s key)", t.Name, t.DType, stFormatKey)
		}
		data, err := src.Bytes(t.Name)
		if err != nil {
			return nil, err
		}
		w := &kernels.Matrix{Format: format, Rows: rows, Cols: cols, Data: data, A8: meta[stA8Key+t.Name] == "true" && format.Act != nil}
		if err := b.setMatrix(role.layer, role.kind, w); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
	}
	if tied {
		b.m.Output = nil // HF ties lm_head to the embedding whatever the file holds
	}
	return b.finish(opt)
}

// sourceMetadata returns the __metadata__ of a safetensors file or
// checkpoint (the index's metadata for a sharded one).
func sourceMetadata(src tensorSource) map[string]string {
	switch s := src.(type) {
	case *safetensors.File:
		return s.Metadata
	case *safetensors.Checkpoint:
		return s.Metadata
	}
	return nil
}

// loadGGUF loads a GGUF llama file with its vocabulary.
func loadGGUF(path string, opt LoadOptions) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := buildGGUF(f, Source{Path: path, Format: "gguf"}, opt)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	m.res.closers = append(m.res.closers, f)
	return m, nil
}

func buildGGUF(f *gguf.File, source Source, opt LoadOptions) (*Model, error) {
	c, err := ggufConfig(f.Metadata)
	if err != nil {
		return nil, err
	}
	if t, ok := f.Tensor("token_embd.weight"); ok && c.Vocab == 0 && len(t.Dims) == 2 {
		c.Vocab = int(t.Dims[1])
	}
	b, err := newBuilder(c, source)
	if err != nil {
		return nil, err
	}
	a8 := map[string]bool{}
	if _, ok := f.Get(ggufA8Key); ok {
		names, err := f.Strings(ggufA8Key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ggufA8Key, err)
		}
		for _, n := range names {
			a8[n] = true
		}
	}
	for _, t := range f.Tensors {
		role, ok := ggufRole(t.Name)
		if !ok {
			continue // rope_freqs and other extras
		}
		format, err := kernels.FormatByGGML(int(t.Type))
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		data, err := f.TensorData(t.Name)
		if err != nil {
			return nil, err
		}
		switch role.kind {
		case "attn_norm", "ffn_norm", "norm":
			if len(t.Dims) != 1 {
				return nil, fmt.Errorf("tensor %q: %d dimensions, want a vector", t.Name, len(t.Dims))
			}
			w := make([]float32, t.Dims[0])
			if err := format.CheckCols(len(w)); err != nil {
				return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
			}
			format.Dequant(w, data)
			if err := b.setNorm(role.layer, role.kind, w); err != nil {
				return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
			}
			continue
		}
		if len(t.Dims) != 2 {
			return nil, fmt.Errorf("tensor %q: %d dimensions, want a matrix", t.Name, len(t.Dims))
		}
		w := &kernels.Matrix{Format: format, Rows: int(t.Dims[1]), Cols: int(t.Dims[0]), Data: data, A8: a8[t.Name] && format.Act != nil}
		if err := b.setMatrix(role.layer, role.kind, w); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
	}
	m, err := b.finish(opt)
	if err != nil {
		return nil, err
	}
	if opt.Tokenizer != "" {
		m.Tokenizer, err = loadTokenizerFile(opt.Tokenizer, c.Vocab)
	} else {
		m.Tokenizer, err = ggufTokenizer(f.Metadata)
	}
	if err == nil {
		err = checkTokenizer(m)
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// ggufTokenizer builds the tokenizer from tokenizer.ggml.* metadata.
func ggufTokenizer(md gguf.Metadata) (*tokenizer.Tokenizer, error) {
	opts := tokenizer.DefaultVocabOptions()
	var err error
	if opts.Model, err = md.String("tokenizer.ggml.model"); err != nil {
		return nil, fmt.Errorf("tokenizer.ggml.model: %w", err)
	}
	pieces, err := md.Strings("tokenizer.ggml.tokens")
	if err != nil {
		return nil, fmt.Errorf("tokenizer.ggml.tokens: %w", err)
	}
	var scores []float32
	if _, ok := md.Get("tokenizer.ggml.scores"); ok {
		if scores, err = md.Float32s("tokenizer.ggml.scores"); err != nil {
			return nil, fmt.Errorf("tokenizer.ggml.scores: %w", err)
		}
	}
	var types []int32
	if _, ok := md.Get("tokenizer.ggml.token_type"); ok {
		if types, err = md.Int32s("tokenizer.ggml.token_type"); err != nil {
			return nil, fmt.Errorf("tokenizer.ggml.token_type: %w", err)
		}
	}
	optID := func(key string, dst *int) error {
		if _, ok := md.Get(key); !ok {
			return nil
		}
		v, err := md.Uint(key)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		switch {
		case v == math.MaxUint32 || v == math.MaxUint64:
			*dst = -1 // uint32(-1) is llama.cpp's "none"
		case v >= uint64(len(pieces)):
			return fmt.Errorf("%s = %d out of range [0, %d)", key, v, len(pieces))
		default:
			*dst = int(v)
		}
		return nil
	}
	for key, dst := range map[string]*int{
		"tokenizer.ggml.bos_token_id": &opts.BOS, "tokenizer.ggml.eos_token_id": &opts.EOS,
		"tokenizer.ggml.unknown_token_id": &opts.Unk,
	} {
		if err := optID(key, dst); err != nil {
			return nil, err
		}
	}
	optBool := func(key string, dst *bool) error {
		if _, ok := md.Get(key); !ok {
			return nil
		}
		v, err := md.Bool(key)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		*dst = v
		return nil
	}
	if err := optBool("tokenizer.ggml.add_bos_token", &opts.AddBOS); err != nil {
		return nil, err
	}
	if err := optBool("tokenizer.ggml.add_eos_token", &opts.AddEOS); err != nil {
		return nil, err
	}
	prefix := true
	if err := optBool("tokenizer.ggml.add_space_prefix", &prefix); err != nil {
		return nil, err
	}
	opts.NoSpacePrefix = !prefix
	return tokenizer.FromVocab(pieces, scores, types, opts)
}

// loadLlama2C loads a llama2.c checkpoint; the tokenizer comes from
// opt.Tokenizer or a tokenizer file beside the checkpoint.
func loadLlama2C(path string, opt LoadOptions) (*Model, error) {
	ck, err := llama2c.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := buildLlama2C(ck, Source{Path: path, Format: "llama2c"}, opt)
	if err != nil {
		ck.Close()
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	m.res.closers = append(m.res.closers, ck)
	if m.Tokenizer, err = findTokenizer(filepath.Dir(path), m.Config.Vocab, opt); err == nil {
		err = checkTokenizer(m)
	}
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return m, nil
}

var llama2cKinds = map[string]string{
	"wq": "attn.q", "wk": "attn.k", "wv": "attn.v", "wo": "attn.o",
	"w1": "mlp.gate", "w3": "mlp.up", "w2": "mlp.down",
	"rms_att": "attn_norm", "rms_ffn": "ffn_norm", "rms_final": "norm",
	"token_embedding": "embed", "wcls": "lm_head",
}

func buildLlama2C(ck *llama2c.Checkpoint, source Source, opt LoadOptions) (*Model, error) {
	b, err := newBuilder(llama2cConfig(ck.Config), source)
	if err != nil {
		return nil, err
	}
	for _, t := range ck.Tensors() {
		kind, ok := llama2cKinds[t.Name]
		if !ok {
			continue // the legacy freq_cis tables
		}
		switch kind {
		case "attn_norm", "ffn_norm", "norm":
			if err := b.setNorm(t.Layer, kind, t.ToFloat32()); err != nil {
				return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
			}
			continue
		}
		w, err := llama2cMatrix(t, ck.Config.GroupSize)
		if err != nil {
			return nil, err
		}
		if err := b.setMatrix(t.Layer, kind, w); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
		}
	}
	return b.finish(opt)
}

// llama2cMatrix wraps a checkpoint tensor: float32 data in place, version-2
// int8 groups repacked into divergo's int8 format with the same values.
func llama2cMatrix(t llama2c.Tensor, group int) (*kernels.Matrix, error) {
	if len(t.Shape) != 2 {
		return nil, fmt.Errorf("tensor %s: shape %v, want a matrix", t.Name, t.Shape)
	}
	rows, cols := t.Shape[0], t.Shape[1]
	if t.Kind == llama2c.F32 {
		return &kernels.Matrix{Format: mustFormat("f32"), Rows: rows, Cols: cols, Data: t.Data}, nil
	}
	q, scales, err := t.Q8()
	if err != nil {
		return nil, err
	}
	if cols%group != 0 {
		// Groups straddle rows: keep the exact values as float32.
		return f32Matrix(rows, cols, t.ToFloat32()), nil
	}
	f := kernels.IntFormat(8, group, false)
	w := &kernels.Matrix{Format: f, Rows: rows, Cols: cols}
	w.Data = make([]byte, rows*w.RowBytes())
	blocks := len(scales)
	for g := 0; g < blocks; g++ {
		blk := w.Data[g*f.BlockBytes : (g+1)*f.BlockBytes]
		putF32(blk, scales[g])
		for i, v := range q[g*group : (g+1)*group] {
			blk[4+i] = byte(v)
		}
	}
	return w, nil
}

// findTokenizer resolves a model's tokenizer: the option, else the first of
// tokenizer.model, tokenizer.json, tokenizer.bin, tok<vocab>.bin and
// tok<vocab>.model in dir.
func findTokenizer(dir string, vocab int, opt LoadOptions) (*tokenizer.Tokenizer, error) {
	if opt.Tokenizer != "" {
		return loadTokenizerFile(opt.Tokenizer, vocab)
	}
	for _, name := range []string{"tokenizer.model", "tokenizer.json", "tokenizer.bin",
		fmt.Sprintf("tok%d.bin", vocab), fmt.Sprintf("tok%d.model", vocab)} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return loadTokenizerFile(p, vocab)
		}
	}
	if opt.TokenizerOptional {
		return nil, nil
	}
	return nil, fmt.Errorf("no tokenizer found beside the model (tokenizer.model, tokenizer.json, tokenizer.bin, tok%d.bin); pass --tokenizer", vocab)
}

// loadTokenizerFile loads any supported tokenizer file; llama2.c
// tokenizer.bin files need the vocabulary size.
func loadTokenizerFile(path string, vocab int) (*tokenizer.Tokenizer, error) {
	switch {
	case strings.HasSuffix(path, ".bin"):
		return tokenizer.LoadLlama2C(path, vocab)
	case strings.HasSuffix(path, ".json"):
		return tokenizer.LoadHFJSON(path)
	}
	return tokenizer.LoadSentencePiece(path)
}

// checkTokenizer makes sure every token id the tokenizer can produce has an
// embedding row.
func checkTokenizer(m *Model) error {
	if m.Tokenizer == nil {
		return nil // LoadOptions.TokenizerOptional
	}
	if n := m.Tokenizer.VocabSize(); n > m.Config.Vocab {
		return fmt.Errorf("tokenizer has %d pieces but the model only %d embeddings", n, m.Config.Vocab)
	}
	m.Config.BOS, m.Config.EOS = m.Tokenizer.BOS(), m.Tokenizer.EOS()
	return nil
}

func mustFormat(name string) *kernels.Format {
	f, err := kernels.FormatByName(name)
	if err != nil {
		panic(err)
	}
	return f
}
