package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/divergo/divergo/safetensors"
)

// WriteSafetensors writes the blueprint as a Hugging Face checkpoint
// directory (see the function WriteSafetensors). Tensors are streamed: each
// is produced when its file reaches it. The directory is built beside dir
// and renamed into place; an existing dir is replaced only when it holds
// nothing but checkpoint files.
func (b *Blueprint) WriteSafetensors(dir string, opt WriteOptions) error {
	if err := b.writeSafetensors(dir, opt); err != nil {
		return fmt.Errorf("safetensors %s: %w", dir, err)
	}
	return nil
}

func (b *Blueprint) writeSafetensors(dir string, opt WriteOptions) error {
	entries, err := b.entries(RoPENeoX)
	if err != nil {
		return err
	}
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	tensors := make([]stTensor, len(entries))
	meta := map[string]string{"format": "pt"}
	var total int64
	for i := range entries {
		e := &entries[i]
		t, err := stEntry(e)
		if err != nil {
			return err
		}
		if e.component != "" && t.dtype == safetensors.U8 {
			meta[stFormatKey+t.name] = e.format.Name
		}
		if e.a8 {
			meta[stA8Key+t.name] = "true"
		}
		tensors[i] = t
		total += t.size
	}
	config, err := b.hfConfig(entries)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone after the rename; cleans up after a failure
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}

	tw := tensorWriter{b}
	done := 0
	produce := func(i int, w io.Writer) error {
		if err := tw.write(&entries[i], w); err != nil {
			return err
		}
		done++
		if opt.Progress != nil {
			opt.Progress(done, len(entries))
		}
		return nil
	}
	limit := opt.ShardBytes
	if limit == 0 {
		limit = DefaultShardBytes
	}
	shards := [][]int{nil}
	var cur int64
	for i, t := range tensors {
		if limit > 0 && len(shards[len(shards)-1]) > 0 && cur+t.size > limit {
			shards, cur = append(shards, nil), 0
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], i)
		cur += t.size
	}
	if len(shards) == 1 {
		if err := writeSTFile(filepath.Join(tmp, safetensors.SingleFile), tensors, shards[0], meta, produce); err != nil {
			return err
		}
	} else {
		weightMap := map[string]string{}
		for s, idx := range shards {
			name := fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, len(shards))
			if err := writeSTFile(filepath.Join(tmp, name), tensors, idx, meta, produce); err != nil {
				return err
			}
			for _, i := range idx {
				weightMap[tensors[i].name] = name
			}
		}
		indexMeta := map[string]any{"total_size": total}
		for k, v := range meta {
			indexMeta[k] = v
		}
		index, err := json.MarshalIndent(map[string]any{"metadata": indexMeta, "weight_map": weightMap}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, safetensors.IndexFile), append(index, '\n'), 0o644); err != nil {
			return err
		}
	}
	files := map[string][]byte{
		"config.json":           config,
		"tokenizer.model":       sentencePieceModel(b.Tokenizer),
		"tokenizer_config.json": b.hfTokenizerConfig(),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return err
		}
	}
	return replaceDir(tmp, dir)
}

// An stTensor is one tensor of a safetensors file being written.
type stTensor struct {
	name  string
	dtype safetensors.DType
	shape []int64
	size  int64
}

// stEntry names and shapes an entry for a Hugging Face checkpoint: float
// matrices in their own dtype, others as U8 [rows, row bytes].
func stEntry(e *tensorEntry) (stTensor, error) {
	if e.component == "" {
		name := "model.norm.weight"
		switch e.kind {
		case "attn_norm":
			name = fmt.Sprintf("model.layers.%d.input_layernorm.weight", e.layer)
		case "ffn_norm":
			name = fmt.Sprintf("model.layers.%d.post_attention_layernorm.weight", e.layer)
		}
		return stTensor{name, safetensors.F32, []int64{int64(e.cols)}, e.size()}, nil
	}
	name, err := HFTensorName(e.component)
	if err != nil {
		return stTensor{}, err
	}
	t := stTensor{name: name, size: e.size()}
	switch e.format.Name {
	case "f32":
		t.dtype = safetensors.F32
	case "f16":
		t.dtype = safetensors.F16
	case "bf16":
		t.dtype = safetensors.BF16
	default:
		t.dtype = safetensors.U8
		t.shape = []int64{int64(e.rows), int64(e.format.RowBytes(e.cols))}
		return t, nil
	}
	t.shape = []int64{int64(e.rows), int64(e.cols)}
	return t, nil
}

// writeSTFile writes the tensors idx of ts as one safetensors file at path
// (a new file in the temporary directory), data in the order given,
// produced by produce, each checked for its exact size.
func writeSTFile(path string, ts []stTensor, idx []int, meta map[string]string, produce func(int, io.Writer) error) error {
	type info struct {
		DType   safetensors.DType `json:"dtype"`
		Shape   []int64           `json:"shape"`
		Offsets [2]int64          `json:"data_offsets"`
	}
	header := map[string]any{"__metadata__": meta}
	var off int64
	for _, i := range idx {
		t := ts[i]
		header[t.name] = info{t.dtype, t.shape, [2]int64{off, off + t.size}}
		off += t.size
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	// Pad with spaces so the data section starts at a multiple of 8, as the
	// reference implementation does.
	h = append(h, bytes.Repeat([]byte(" "), (8-len(h)%8)%8)...)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var n [8]byte
	for i := range n {
		n[i] = byte(uint64(len(h)) >> (8 * i))
	}
	w.Write(n[:])
	w.Write(h)
	for _, i := range idx {
		cw := &countWriter{w: w}
		if err := produce(i, cw); err != nil {
			return fmt.Errorf("%s: %w", ts[i].name, err)
		}
		if cw.n != ts[i].size {
			return fmt.Errorf("%s: wrote %d bytes, want %d", ts[i].name, cw.n, ts[i].size)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// hfConfig returns config.json for the blueprint.
func (b *Blueprint) hfConfig(entries []tensorEntry) ([]byte, error) {
	c := &b.Config
	// The dtype HF would load the float weights in: the most common float
	// format among the matrices.
	counts := map[string]int64{}
	for i := range entries {
		if e := &entries[i]; e.component != "" {
			counts[e.format.Name] += int64(e.rows) * int64(e.cols)
		}
	}
	dtype := "float32"
	if counts["f16"] > counts["f32"] && counts["f16"] >= counts["bf16"] {
		dtype = "float16"
	} else if counts["bf16"] > counts["f32"] && counts["bf16"] > counts["f16"] {
		dtype = "bfloat16"
	}
	tok := b.Tokenizer
	cfg := map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"hidden_size":             c.Dim,
		"intermediate_size":       c.HiddenDim,
		"num_hidden_layers":       c.Layers,
		"num_attention_heads":     c.Heads,
		"num_key_value_heads":     c.KVHeads,
		"head_dim":                c.HeadDim,
		"vocab_size":              c.Vocab,
		"max_position_embeddings": c.MaxSeq,
		"rms_norm_eps":            json.Number(strconv.FormatFloat(float64(c.NormEps), 'g', -1, 32)),
		"rope_theta":              json.Number(strconv.FormatFloat(float64(c.RopeTheta), 'g', -1, 32)),
		"rope_scaling":            nil,
		"hidden_act":              "silu",
		"attention_bias":          false,
		"mlp_bias":                false,
		"tie_word_embeddings":     b.Tied,
		"bos_token_id":            tok.BOS(),
		"eos_token_id":            tok.EOS(),
		"initializer_range":       c.InitializerRange,
		"torch_dtype":             dtype,
	}
	if c.InitializerRange <= 0 {
		cfg["initializer_range"] = 0.02
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	return append(out, '\n'), err
}

// hfTokenizerConfig returns tokenizer_config.json: the slow LlamaTokenizer
// over tokenizer.model, with the model's BOS/EOS behaviour.
func (b *Blueprint) hfTokenizerConfig() []byte {
	tok := b.Tokenizer
	cfg := map[string]any{
		"tokenizer_class":              "LlamaTokenizer",
		"add_bos_token":                tok.AddBOSDefault(),
		"add_eos_token":                tok.AddEOSDefault(),
		"model_max_length":             b.Config.MaxSeq,
		"clean_up_tokenization_spaces": false,
		"legacy":                       true,
	}
	for key, id := range map[string]int{"bos_token": tok.BOS(), "eos_token": tok.EOS(), "unk_token": tok.Unk()} {
		if id >= 0 {
			cfg[key] = tok.Piece(id)
		}
	}
	out, _ := json.MarshalIndent(cfg, "", "  ")
	return append(out, '\n')
}

// checkpointFile matches the files a checkpoint directory may hold, which
// replacing it may delete.
var checkpointFile = regexp.MustCompile(`^(config\.json|generation_config\.json|tokenizer\.model|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|model\.safetensors\.index\.json|model(-\d+-of-\d+)?\.safetensors)$`)

// checkReplaceable reports whether dir may be written: absent, or a
// directory of checkpoint files only (nothing else is ever deleted).
func checkReplaceable(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dir)
	}
	list, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var foreign []string
	for _, e := range list {
		if e.IsDir() || !checkpointFile.MatchString(e.Name()) {
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) > 0 {
		sort.Strings(foreign)
		return fmt.Errorf("%s exists and holds other files (%s); choose another directory", dir, foreign[0])
	}
	return nil
}

// replaceDir moves the finished directory tmp to dir, replacing an existing
// checkpoint directory: the old one is moved aside first and removed last,
// so dir always holds a whole checkpoint.
func replaceDir(tmp, dir string) error {
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return os.Rename(tmp, dir)
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir)
		return err
	}
	return os.RemoveAll(old)
}
