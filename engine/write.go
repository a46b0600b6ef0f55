package engine

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/quant"
	"github.com/divergo/divergo/tokenizer"
)

// Writing models (docs/models.md): WriteGGUF and WriteSafetensors write a
// Model, Blueprint.WriteGGUF and Blueprint.WriteSafetensors write a model
// whose weights are produced one tensor at a time while the file is written
// (a compressed variant quantized on the fly, or a synthetic model larger
// than memory). Every component keeps its format; norms are float32.
//
// Rotary embeddings pair dimensions differently in the two formats
// (ENGINE-NOTES §1.8), so q and k rows are reordered whenever the source
// pairing differs from the target's: GGUF llama wants Meta's order
// (adjacent pairs), Hugging Face the rotate-half order. The written model
// computes the same function in every format.

// DefaultShardBytes is the most tensor data one safetensors file holds before
// WriteSafetensors splits the checkpoint into shards (Hugging Face's default
// max_shard_size, "5GB").
const DefaultShardBytes = 5_000_000_000

// WriteOptions adjust how a model file is written.
type WriteOptions struct {
	// ShardBytes is the most tensor data one safetensors file may hold before
	// the checkpoint is split into shards (0: DefaultShardBytes; < 0: one
	// file whatever its size). A tensor larger than this gets a shard of its
	// own. GGUF files are never split.
	ShardBytes int64
	// Progress, when set, is called after each tensor is written with the
	// number written and the total.
	Progress func(done, total int)
}

// A Blueprint describes a model to write without holding its weights: its
// configuration, tokenizer and, for each component, the format it will be
// stored in and a function producing its matrix. The writers call Matrix
// and Norm once per tensor, in file order, while the file is written, and
// drop each result before asking for the next, so a model larger than
// memory can be written tensor by tensor.
type Blueprint struct {
	// Name is the model's name in the file (GGUF general.name).
	Name   string
	Config Config
	// Tokenizer is the vocabulary written with the model (required).
	Tokenizer *tokenizer.Tokenizer
	// Tied writes no LM head: the model uses the embedding for it.
	Tied bool
	// Format returns the format a component (layers.L.attn.q …, embed,
	// lm_head) is stored in, and whether it runs with int8 activations.
	Format func(component string) (f *kernels.Format, a8 bool, err error)
	// Matrix produces a component's matrix in that format, its rows in the
	// order Config.RoPE implies (the writer reorders q and k rows for the
	// target format).
	Matrix func(component string) (*kernels.Matrix, error)
	// Norm produces a norm weight vector of Config.Dim values:
	// "layers.L.attn_norm", "layers.L.ffn_norm" or "norm".
	Norm func(name string) ([]float32, error)
}

// WriteGGUF writes m as a GGUF file (llama architecture) at path, atomically
// (a temporary file renamed over path). Every matrix keeps its ggml type;
// divergo's int formats have none, and writing them is an error.
func WriteGGUF(m *Model, path string, opt WriteOptions) error {
	b, _, err := m.Blueprint(nil)
	if err != nil {
		return err
	}
	return b.WriteGGUF(path, opt)
}

// WriteSafetensors writes m as a Hugging Face checkpoint directory at dir:
// config.json, model.safetensors (or shards with an index), tokenizer.model
// and tokenizer_config.json. Float matrices are stored as F32, F16 or BF16;
// every other format as U8 bytes [rows, row bytes] with the format named in
// the file's metadata (docs/FORMATS.md), which Load reads back.
func WriteSafetensors(m *Model, dir string, opt WriteOptions) error {
	b, _, err := m.Blueprint(nil)
	if err != nil {
		return err
	}
	return b.WriteSafetensors(dir, opt)
}

// Blueprint returns a blueprint of m for the writers. With a nil plan every
// component is written as stored. With a plan, each component the plan
// selects is compressed when the writer reaches it (one compressed matrix
// exists at a time), giving the same file as writing m.ApplyPlan(p); the
// changes are returned as ApplyPlan returns them. The plan is checked
// against every component before anything is compressed.
func (m *Model) Blueprint(p *quant.Plan) (*Blueprint, []Change, error) {
	type planned struct {
		spec   quant.Spec
		format *kernels.Format
	}
	specs := map[string]planned{}
	var changes []Change
	if p != nil {
		for _, c := range m.Components() {
			spec, ok := p.SpecFor(c.Name)
			if !ok {
				continue
			}
			if err := spec.Check(c.Cols); err != nil {
				return nil, nil, fmt.Errorf("plan: %s: %w", c.Name, err)
			}
			f, err := specFormat(spec)
			if err != nil {
				return nil, nil, fmt.Errorf("plan: %s: %w", c.Name, err)
			}
			bits, err := spec.MatrixBits(c.Rows, c.Cols)
			if err != nil {
				return nil, nil, fmt.Errorf("plan: %s: %w", c.Name, err)
			}
			specs[c.Name] = planned{spec, f}
			changes = append(changes, Change{Component: c.Name, Spec: spec.String(), Params: c.Params(), Bits: bits})
		}
	}
	_, embedChanged := specs["embed"]
	_, headChanged := specs["lm_head"]
	b := &Blueprint{
		Name:      modelName(m.Source),
		Config:    m.Config,
		Tokenizer: m.Tokenizer,
		// As in ApplyPlan, compressing either side of a tied pair unties it.
		Tied: m.Tied() && !embedChanged && !headChanged,
		Format: func(component string) (*kernels.Format, bool, error) {
			if s, ok := specs[component]; ok {
				return s.format, s.spec.A8 && s.format.Act != nil, nil
			}
			w, err := m.Matrix(component)
			if err != nil {
				return nil, false, err
			}
			return w.Format, w.A8 && w.Format.Act != nil, nil
		},
		Matrix: func(component string) (*kernels.Matrix, error) {
			if s, ok := specs[component]; ok {
				q, err := m.Compress(component, s.spec)
				if err != nil {
					return nil, fmt.Errorf("plan: %w", err)
				}
				return q, nil
			}
			return m.Matrix(component)
		},
		Norm: m.norm,
	}
	return b, changes, nil
}

// specFormat is the format quant.Quantize produces for a spec: the named
// format, or float32 for pruning.
func specFormat(s quant.Spec) (*kernels.Format, error) {
	if s.IsPrune() {
		return kernels.FormatByName("f32")
	}
	s.A8 = false
	return kernels.FormatByName(s.String())
}

// norm returns a norm weight vector by its blueprint name.
func (m *Model) norm(name string) ([]float32, error) {
	if name == "norm" {
		return m.Norm, nil
	}
	l, kind, ok := parseNormName(name)
	if !ok || l >= len(m.Layers) {
		return nil, fmt.Errorf("unknown norm %q", name)
	}
	if kind == "attn_norm" {
		return m.Layers[l].AttnNorm, nil
	}
	return m.Layers[l].FFNNorm, nil
}

// normName returns the blueprint name of a layer's norm ("layers.3.attn_norm").
func normName(layer int, kind string) string {
	return "layers." + strconv.Itoa(layer) + "." + kind
}

func parseNormName(name string) (layer int, kind string, ok bool) {
	rest, ok := strings.CutPrefix(name, "layers.")
	if !ok {
		return 0, "", false
	}
	num, kind, ok := strings.Cut(rest, ".")
	l, err := strconv.Atoi(num)
	if !ok || err != nil || l < 0 || (kind != "attn_norm" && kind != "ffn_norm") {
		return 0, "", false
	}
	return l, kind, true
}

// modelName derives a name for the file from where the model came from.
func modelName(s Source) string {
	switch s.Format {
	case "embedded":
		return "stories260K"
	case "random":
		return "random"
	}
	base := filepath.Base(filepath.Clean(s.Path))
	if base == "." || base == string(filepath.Separator) {
		return "model"
	}
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// A tensorEntry is one tensor of the file being written.
type tensorEntry struct {
	component  string // component name, or "" for a norm
	norm       string // norm name ("layers.3.attn_norm", "norm")
	layer      int    // −1 outside layers
	kind       string // component kind or norm kind
	rows, cols int    // cols only for norms
	format     *kernels.Format
	a8         bool
	perm       []int // source row of each written row (q/k across RoPE styles), nil: as is
}

// size is the number of data bytes of the entry.
func (e *tensorEntry) size() int64 {
	if e.component == "" {
		return 4 * int64(e.cols)
	}
	return int64(e.rows) * int64(e.format.RowBytes(e.cols))
}

// entries lists the tensors of b in file order — the embedding, then each
// layer in forward order (attn_norm, q, k, v, o, ffn_norm, gate, up, down),
// the final norm and the LM head — with their formats, checked, and the row
// reordering that target, the RoPE pairing of the file, needs.
func (b *Blueprint) entries(target RoPEStyle) ([]tensorEntry, error) {
	c := &b.Config
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if b.Tokenizer == nil {
		return nil, fmt.Errorf("the model has no tokenizer to write")
	}
	if n := b.Tokenizer.VocabSize(); n > c.Vocab {
		return nil, fmt.Errorf("tokenizer has %d pieces but the model only %d embeddings", n, c.Vocab)
	}
	if b.Format == nil || b.Matrix == nil || b.Norm == nil {
		return nil, fmt.Errorf("blueprint without Format, Matrix or Norm")
	}
	var out []tensorEntry
	matrix := func(layer int, kind string) error {
		name := kind
		if layer >= 0 {
			name = ComponentName(layer, kind)
		}
		f, a8, err := b.Format(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if f == nil {
			return fmt.Errorf("%s: no format", name)
		}
		rows, cols := c.MatrixShape(kind)
		if err := f.CheckCols(cols); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		e := tensorEntry{component: name, layer: layer, kind: kind, rows: rows, cols: cols, format: f, a8: a8 && f.Act != nil}
		if c.RoPE != target {
			switch kind {
			case "attn.q":
				e.perm = ropeRowOrder(c.Heads, c.HeadDim, target)
			case "attn.k":
				e.perm = ropeRowOrder(c.KVHeads, c.HeadDim, target)
			}
		}
		out = append(out, e)
		return nil
	}
	norm := func(layer int, kind string) {
		name := kind
		if layer >= 0 {
			name = normName(layer, kind)
		}
		out = append(out, tensorEntry{norm: name, layer: layer, kind: kind, cols: c.Dim})
	}
	if err := matrix(-1, "embed"); err != nil {
		return nil, err
	}
	for l := 0; l < c.Layers; l++ {
		for _, kind := range layerKinds {
			switch kind {
			case "attn.q":
				norm(l, "attn_norm")
			case "mlp.gate":
				norm(l, "ffn_norm")
			}
			if err := matrix(l, kind); err != nil {
				return nil, err
			}
		}
	}
	norm(-1, "norm")
	if !b.Tied {
		if err := matrix(-1, "lm_head"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ropeRowOrder returns, for each row of a q or k matrix written in pairing
// to, the row of the other pairing it comes from. Within a head of hd rows,
// Meta's row 2i+j (adjacent pairs) is Hugging Face's row j·hd/2+i
// (convert_llama_weights_to_hf.py permute; convert_hf_to_gguf.py undoes it
// with n_head for q and n_head_kv for k).
func ropeRowOrder(heads, hd int, to RoPEStyle) []int {
	half := hd / 2
	perm := make([]int, heads*hd)
	for h := 0; h < heads; h++ {
		for i := 0; i < half; i++ {
			for j := 0; j < 2; j++ {
				meta, hf := h*hd+2*i+j, h*hd+j*half+i
				if to == RoPEInterleaved {
					perm[meta] = hf
				} else {
					perm[hf] = meta
				}
			}
		}
	}
	return perm
}

// tensorWriter produces the bytes of entries in order from a blueprint.
type tensorWriter struct {
	b *Blueprint
}

// write writes the data of e to w: a norm as float32, a matrix row by row
// in the entry's order after checking that it matches what was declared.
func (tw tensorWriter) write(e *tensorEntry, w io.Writer) error {
	if e.component == "" {
		v, err := tw.b.Norm(e.norm)
		if err != nil {
			return fmt.Errorf("%s: %w", e.norm, err)
		}
		if len(v) != e.cols {
			return fmt.Errorf("%s: %d values, want %d", e.norm, len(v), e.cols)
		}
		_, err = w.Write(f32Bytes(v))
		return err
	}
	m, err := tw.b.Matrix(e.component)
	if err != nil {
		return fmt.Errorf("%s: %w", e.component, err)
	}
	if m.Format != e.format || m.Rows != e.rows || m.Cols != e.cols {
		return fmt.Errorf("%s: produced a %d×%d %s matrix, declared %d×%d %s",
			e.component, m.Rows, m.Cols, m.Format, e.rows, e.cols, e.format)
	}
	if err := m.Check(); err != nil {
		return fmt.Errorf("%s: %w", e.component, err)
	}
	rb := m.RowBytes()
	if e.perm == nil {
		_, err = w.Write(m.Data[:m.Rows*rb])
		return err
	}
	for _, src := range e.perm {
		if _, err := w.Write(m.Data[src*rb : (src+1)*rb]); err != nil {
			return err
		}
	}
	return nil
}
