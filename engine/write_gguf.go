package engine

import (
	"fmt"
	"io"

	"github.com/divergo/divergo/gguf"
	"github.com/divergo/divergo/tokenizer"
)

// ggufFileTypes maps the dominant ggml type of the layer matrices to
// general.file_type (llama.cpp's enum llama_ftype). The k-quants take the
// "_M" mixtures' numbers, as llama-quantize records for Q3_K, Q4_K, Q5_K.
var ggufFileTypes = map[gguf.Type]uint32{
	gguf.F32: 0, gguf.F16: 1, gguf.Q4_0: 2, gguf.Q4_1: 3, gguf.Q8_0: 7, gguf.Q5_0: 8, gguf.Q5_1: 9,
	gguf.Q2_K: 10, gguf.Q3_K: 12, gguf.Q4_K: 15, gguf.Q5_K: 17, gguf.Q6_K: 18, gguf.BF16: 32,
}

// WriteGGUF writes the blueprint as a GGUF v3 file (llama architecture) at
// path, atomically. Tensors are streamed: each is produced when the file
// reaches it. Metadata follows llama.cpp's llama keys (counts as u32),
// general.alignment 32, general.quantization_version 2 when a tensor is
// quantized, general.file_type from the layers' dominant type, and the
// vocabulary as tokenizer.ggml.* arrays.
func (b *Blueprint) WriteGGUF(path string, opt WriteOptions) error {
	entries, err := b.entries(RoPEInterleaved)
	if err != nil {
		return fmt.Errorf("gguf %s: %w", path, err)
	}
	w := &gguf.Writer{Version: 3}
	if w.Metadata, err = b.ggufMetadata(entries); err != nil {
		return fmt.Errorf("gguf %s: %w", path, err)
	}
	tw := tensorWriter{b}
	done := 0
	for i := range entries {
		e := &entries[i]
		name, typ, dims, err := ggufTensor(e)
		if err != nil {
			return fmt.Errorf("gguf %s: %w", path, err)
		}
		err = w.AddTensorFunc(name, dims, typ, func(dst io.Writer) error {
			if err := tw.write(e, dst); err != nil {
				return err
			}
			done++
			if opt.Progress != nil {
				opt.Progress(done, len(entries))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("gguf %s: %w", path, err)
		}
	}
	if err := w.WriteFile(path); err != nil {
		return fmt.Errorf("gguf %s: %w", path, err)
	}
	return nil
}

// ggufTensor returns the GGUF name, type and dimensions (fastest first) of
// an entry.
func ggufTensor(e *tensorEntry) (name string, typ gguf.Type, dims []int64, err error) {
	if e.component == "" {
		switch e.kind {
		case "norm":
			name = "output_norm.weight"
		case "attn_norm", "ffn_norm":
			name = fmt.Sprintf("blk.%d.%s.weight", e.layer, e.kind)
		}
		return name, gguf.F32, []int64{int64(e.cols)}, nil
	}
	if name, err = GGUFTensorName(e.component); err != nil {
		return "", 0, nil, err
	}
	if e.format.GGML < 0 {
		return "", 0, nil, fmt.Errorf("%s: %s has no GGUF type; write .safetensors", e.component, e.format.Name)
	}
	typ = gguf.Type(e.format.GGML)
	if rb, err := typ.RowBytes(int64(e.cols)); err != nil || rb != int64(e.format.RowBytes(e.cols)) {
		return "", 0, nil, fmt.Errorf("%s: format %s does not match ggml type %s", e.component, e.format.Name, typ)
	}
	return name, typ, []int64{int64(e.cols), int64(e.rows)}, nil
}

// ggufMetadata builds the key-value pairs of the file.
func (b *Blueprint) ggufMetadata(entries []tensorEntry) (gguf.Metadata, error) {
	c := &b.Config
	var md gguf.Metadata
	var err error
	set := func(key string, v any) {
		if err == nil {
			err = md.Set(key, v)
		}
	}
	name := b.Name
	if name == "" {
		name = "model"
	}
	set("general.architecture", "llama")
	set("general.name", name)
	set("general.alignment", uint32(gguf.DefaultAlignment))
	set("llama.context_length", uint32(c.MaxSeq))
	set("llama.embedding_length", uint32(c.Dim))
	set("llama.block_count", uint32(c.Layers))
	set("llama.feed_forward_length", uint32(c.HiddenDim))
	set("llama.attention.head_count", uint32(c.Heads))
	set("llama.attention.head_count_kv", uint32(c.KVHeads))
	set("llama.rope.dimension_count", uint32(c.HeadDim))
	set("llama.attention.layer_norm_rms_epsilon", c.NormEps)
	set("llama.rope.freq_base", c.RopeTheta)
	set("llama.vocab_size", uint32(c.Vocab))

	tok := b.Tokenizer
	pieces, scores := tok.Pieces(), tok.Scores()
	types := make([]int32, len(pieces))
	for i, t := range tok.Types() {
		types[i] = int32(t)
	}
	// llama.cpp wants one piece per embedding row: pad a short vocabulary
	// with unused pieces.
	for i := len(pieces); i < c.Vocab; i++ {
		pieces = append(pieces, fmt.Sprintf("[PAD%d]", i))
		scores = append(scores, 0)
		types = append(types, int32(tokenizer.Unused))
	}
	set("tokenizer.ggml.model", "llama")
	set("tokenizer.ggml.tokens", pieces)
	set("tokenizer.ggml.scores", scores)
	set("tokenizer.ggml.token_type", types)
	for _, id := range []struct {
		key string
		id  int
	}{
		{"tokenizer.ggml.bos_token_id", tok.BOS()}, {"tokenizer.ggml.eos_token_id", tok.EOS()},
		{"tokenizer.ggml.unknown_token_id", tok.Unk()},
	} {
		if id.id >= 0 {
			set(id.key, uint32(id.id))
		}
	}
	set("tokenizer.ggml.add_bos_token", tok.AddBOSDefault())
	set("tokenizer.ggml.add_eos_token", tok.AddEOSDefault())
	if !spaceInfo(tok).prefix {
		set("tokenizer.ggml.add_space_prefix", false)
	}

	var a8 []string
	quantized := false
	layerParams := map[gguf.Type]int64{}
	for i := range entries {
		e := &entries[i]
		if e.component == "" {
			continue
		}
		name, typ, _, terr := ggufTensor(e)
		if terr != nil {
			return nil, terr
		}
		if typ.BlockSize() > 1 {
			quantized = true
		}
		if e.layer >= 0 {
			layerParams[typ] += int64(e.rows) * int64(e.cols)
		}
		if e.a8 {
			a8 = append(a8, name)
		}
	}
	if quantized {
		set("general.quantization_version", uint32(2))
	}
	dominant, most := gguf.F32, int64(-1)
	for _, t := range []gguf.Type{gguf.F32, gguf.F16, gguf.BF16, gguf.Q8_0, gguf.Q4_0, gguf.Q4_1, gguf.Q5_0,
		gguf.Q5_1, gguf.Q2_K, gguf.Q3_K, gguf.Q4_K, gguf.Q5_K, gguf.Q6_K} {
		if n := layerParams[t]; n > most {
			dominant, most = t, n
		}
	}
	set("general.file_type", ggufFileTypes[dominant])
	if len(a8) > 0 {
		set(ggufA8Key, a8)
	}
	if err != nil {
		return nil, err
	}
	return md, nil
}
