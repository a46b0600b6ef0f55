// Package hostile generates the hostile-file suite of docs/hardening.md:
// a tiny valid Llama model written as a GGUF file, a Hugging Face
// safetensors directory and a llama2.c checkpoint, and variants of each
// that a stranger's file could hold — headers claiming 2^60 elements,
// negative or overflowing shapes, offsets overlapping or beyond the end,
// truncation inside a tensor, NaN and Inf weights, vocabularies with
// duplicate or empty pieces, configs with zero heads or mismatched
// dimensions, lengths larger than the file.
//
// The files are written by code here (encoders of the formats that write
// whatever a case asks, valid or not), never downloaded; tests write them
// into a temporary directory with Write. Each Case says which fragment the
// error must contain (the field or tensor at fault) and whether the model
// loads and fails only when run (non-finite weights).
package hostile

import (
	"math"
	"os"
	"path/filepath"
	"sort"
)

// A Case is one model on disk and what divergo must make of it.
type Case struct {
	// Name is the case's directory name: format, then the fault.
	Name string
	// What describes the fault.
	What string
	// Files are the case's files by name.
	Files map[string][]byte
	// Model is the path to pass as -m, relative to the case directory.
	Model string
	// Want is a fragment of the one error line: the field, tensor or
	// component at fault. Empty for a model every command must accept.
	Want string
	// OK lists the commands (of info, generate, ppl) that succeed although
	// the file is faulty: info on a model whose non-finite weights surface
	// only in a forward pass, generate on a vocabulary without BOS.
	OK []string
}

// Fails reports whether cmd must fail on the case.
func (c Case) Fails(cmd string) bool {
	if c.Want == "" {
		return false
	}
	for _, ok := range c.OK {
		if ok == cmd {
			return false
		}
	}
	return true
}

// Write writes the case's files into dir/c.Name and returns the path to
// pass as -m.
func (c Case) Write(dir string) (string, error) {
	d := filepath.Join(dir, c.Name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	names := make([]string, 0, len(c.Files))
	for n := range c.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(d, n), c.Files[n], 0o644); err != nil {
			return "", err
		}
	}
	return filepath.Join(d, c.Model), nil
}

// Cases returns every case: for each format the valid base first, then its
// hostile variants.
func Cases() []Case {
	var cs []Case
	cs = append(cs, ggufCases()...)
	cs = append(cs, hfCases()...)
	cs = append(cs, llama2cCases()...)
	return cs
}

func u64(v uint64) *uint64 { return &v }

// setValue sets the index-th value of a base tensor.
func setValue(role string, index int, v float32) func([]tensor) {
	return func(ts []tensor) { find(ts, role).data[index] = v }
}

var nan = float32(math.NaN())

func ggufCases() []Case {
	c := func(name, what, want string, build func() []byte) Case {
		return Case{Name: "gguf-" + name, What: what, Files: map[string][]byte{"model.gguf": build()}, Model: "model.gguf", Want: want}
	}
	edit := func(e func(g *ggufModel)) func() []byte {
		return func() []byte {
			g := baseGGUF(nil)
			e(g)
			return g.encode()
		}
	}
	weights := func(e func([]tensor)) func() []byte {
		return func() []byte { return baseGGUF(e).encode() }
	}
	runs := func(cs Case) Case { cs.OK = []string{"info"}; return cs }
	return []Case{
		c("valid", "the base model: 1 layer, dim 16, 2 heads sharing 1 KV head, 64 pieces", "", edit(func(*ggufModel) {})),
		c("tensor-2^60-elements", "token_embd.weight claims 2^30 × 2^30 float32 values", "token_embd.weight",
			edit(func(g *ggufModel) { g.info("embed").dims = []uint64{1 << 30, 1 << 30} })),
		c("dims-overflow", "blk.0.attn_q.weight dims 2^32 × 2^32 × 2^32 (the element count overflows 64 bits)", "blk.0.attn_q.weight",
			edit(func(g *ggufModel) { g.info("layers.0.attn.q").dims = []uint64{1 << 32, 1 << 32, 1 << 32} })),
		c("tensor-count-2^60", "the header claims 2^60 tensors", "tensor",
			edit(func(g *ggufModel) { g.nTensors = u64(1 << 60) })),
		c("kv-count-2^60", "the header claims 2^60 metadata pairs", "metadata",
			edit(func(g *ggufModel) { g.nKV = u64(1 << 60) })),
		c("string-beyond-file", "general.architecture's string length is 2^40 bytes", "general.architecture",
			edit(func(g *ggufModel) { g.kv("general.architecture").val = append(le64(1<<40), "llama"...) })),
		c("array-2^60-pieces", "tokenizer.ggml.tokens claims 2^60 strings", "tokenizer.ggml.tokens",
			edit(func(g *ggufModel) {
				kv := g.kv("tokenizer.ggml.tokens")
				copy(kv.val[4:12], le64(1<<60))
			})),
		c("offset-beyond-end", "blk.0.ffn_down.weight's data offset is 2^40", "blk.0.ffn_down.weight",
			edit(func(g *ggufModel) { g.info("layers.0.mlp.down").offset = 1 << 40 })),
		c("offset-overlap", "blk.0.attn_k.weight's data starts inside blk.0.attn_q.weight's", "overlap",
			edit(func(g *ggufModel) { g.info("layers.0.attn.k").offset = g.info("layers.0.attn.q").offset + 32 })),
		c("truncated-mid-tensor", "the file ends 40 bytes into the last tensor (output_norm.weight)", "output_norm.weight",
			func() []byte {
				g := baseGGUF(nil)
				b := g.encode()
				return b[:len(b)-len(g.data)+int(g.info("norm").offset)+40]
			}),
		c("unknown-type", "blk.0.attn_v.weight has ggml type 99", "blk.0.attn_v.weight",
			edit(func(g *ggufModel) { g.info("layers.0.attn.v").typ = 99 })),
		c("matrix-as-vector", "blk.0.attn_q.weight is one-dimensional (256 values)", "blk.0.attn_q.weight",
			edit(func(g *ggufModel) { g.info("layers.0.attn.q").dims = []uint64{256} })),
		c("norm-wrong-length", "output_norm.weight holds 8 values for dim 16", "output_norm.weight",
			edit(func(g *ggufModel) { g.info("norm").dims = []uint64{8} })),
		c("missing-tensor", "blk.0.ffn_up.weight is absent", "layers.0.mlp.up",
			edit(func(g *ggufModel) {
				i := g.info("layers.0.mlp.up")
				*i = g.infos[len(g.infos)-1]
				g.infos = g.infos[:len(g.infos)-1]
			})),
		c("zero-heads", "llama.attention.head_count = 0", "heads",
			edit(func(g *ggufModel) { *g.kv("llama.attention.head_count") = kvU32("llama.attention.head_count", 0) })),
		c("heads-not-dividing-dim", "llama.attention.head_count = 6 for dim 16", "heads",
			edit(func(g *ggufModel) { *g.kv("llama.attention.head_count") = kvU32("llama.attention.head_count", 6) })),
		c("kv-heads-not-dividing-heads", "llama.attention.head_count_kv = 3 for 2 heads", "kv_heads",
			edit(func(g *ggufModel) { *g.kv("llama.attention.head_count_kv") = kvU32("llama.attention.head_count_kv", 3) })),
		c("dim-mismatch", "llama.embedding_length = 32 while the tensors are 16 wide", "token_embd.weight",
			edit(func(g *ggufModel) { *g.kv("llama.embedding_length") = kvU32("llama.embedding_length", 32) })),
		c("context-2^22", "llama.context_length = 2^22: accepted, and sizes nothing until sequences that long run", "",
			edit(func(g *ggufModel) { *g.kv("llama.context_length") = kvU32("llama.context_length", 1<<22) })),
		c("vocab-duplicate-piece", `tokenizer.ggml.tokens holds "he" twice`, `"he"`,
			edit(func(g *ggufModel) {
				p, _, _ := vocab()
				p[len(p)-1] = "he"
				*g.kv("tokenizer.ggml.tokens") = kvStrings("tokenizer.ggml.tokens", p)
			})),
		c("vocab-empty-piece", "tokenizer.ggml.tokens[40] is empty", "piece 40",
			edit(func(g *ggufModel) {
				p, _, _ := vocab()
				p[40] = ""
				*g.kv("tokenizer.ggml.tokens") = kvStrings("tokenizer.ggml.tokens", p)
			})),
		c("vocab-larger-than-embedding", "72 pieces for 64 embedding rows", "72 pieces",
			edit(func(g *ggufModel) {
				p, s, t := vocab()
				for i := 0; i < 8; i++ {
					p, s, t = append(p, "x"+string(rune('a'+i))), append(s, -100), append(t, typeNormal)
				}
				*g.kv("tokenizer.ggml.tokens") = kvStrings("tokenizer.ggml.tokens", p)
				*g.kv("tokenizer.ggml.scores") = kvF32s("tokenizer.ggml.scores", s)
				*g.kv("tokenizer.ggml.token_type") = kvI32s("tokenizer.ggml.token_type", t)
			})),
		c("bos-out-of-range", "tokenizer.ggml.bos_token_id = 5000 for 64 pieces", "tokenizer.ggml.bos_token_id",
			edit(func(g *ggufModel) {
				*g.kv("tokenizer.ggml.bos_token_id") = kvU32("tokenizer.ggml.bos_token_id", 5000)
			})),
		func() Case {
			cs := c("bos-none", "tokenizer.ggml.bos_token_id = 2^32 − 1, llama.cpp's \"none\": prompts get no BOS", "BOS",
				edit(func(g *ggufModel) {
					*g.kv("tokenizer.ggml.bos_token_id") = kvU32("tokenizer.ggml.bos_token_id", math.MaxUint32)
				}))
			cs.OK = []string{"info", "generate"}
			return cs
		}(),
		runs(c("nan-weight", "one NaN in blk.0.attn_q.weight", "layers.0.attn.q",
			weights(setValue("layers.0.attn.q", 37, nan)))),
		runs(c("inf-weight", "one +Inf in blk.0.ffn_down.weight", "layers.0.mlp.down",
			weights(setValue("layers.0.mlp.down", 5, float32(math.Inf(1)))))),
		runs(c("nan-final-norm", "one NaN in output_norm.weight: every logit is NaN", "lm_head",
			weights(setValue("norm", 3, nan)))),
	}
}

func hfCases() []Case {
	c := func(name, what, want string, files map[string][]byte) Case {
		base := map[string][]byte{
			"config.json":       encodeJSON(hfConfig()),
			"model.safetensors": baseSafetensors(nil).encode(),
			"tokenizer.model":   encodeSPModel(baseSPModel()),
		}
		for n, b := range files {
			base[n] = b
		}
		return Case{Name: "hf-" + name, What: what, Files: base, Model: ".", Want: want}
	}
	st := func(e func(s *stModel)) map[string][]byte {
		s := baseSafetensors(nil)
		e(s)
		return map[string][]byte{"model.safetensors": s.encode()}
	}
	weights := func(e func([]tensor)) map[string][]byte {
		return map[string][]byte{"model.safetensors": baseSafetensors(e).encode()}
	}
	config := func(e func(map[string]any)) map[string][]byte {
		m := hfConfig()
		e(m)
		return map[string][]byte{"config.json": encodeJSON(m)}
	}
	sp := func(e func([]spPiece) []spPiece) map[string][]byte {
		return map[string][]byte{"tokenizer.model": encodeSPModel(e(baseSPModel()))}
	}
	runs := func(cs Case) Case { cs.OK = []string{"info"}; return cs }
	return []Case{
		c("valid", "the base model as config.json, model.safetensors and tokenizer.model", "", nil),
		c("header-length-2^60", "model.safetensors' header length is 2^60", "header",
			st(func(s *stModel) { s.headerLen = u64(1 << 60) })),
		c("header-not-json", "the header is not JSON", "model.safetensors",
			st(func(s *stModel) { h := "{\"model.norm.weight\": [1, 2, }    "; s.header = &h })),
		c("shape-2^60-elements", "model.embed_tokens.weight claims shape [2^30, 2^30]", "model.embed_tokens.weight",
			st(func(s *stModel) { s.entry("embed").shape = []int64{1 << 30, 1 << 30} })),
		c("negative-shape", "model.layers.0.self_attn.q_proj.weight has shape [-1, 16]", "q_proj",
			st(func(s *stModel) { s.entry("layers.0.attn.q").shape = []int64{-1, 16} })),
		c("shape-overflow", "model.layers.0.mlp.up_proj.weight has shape [2^62, 2^62] (the byte count overflows)", "up_proj",
			st(func(s *stModel) { s.entry("layers.0.mlp.up").shape = []int64{1 << 62, 1 << 62} })),
		c("offsets-beyond-end", "model.norm.weight's data_offsets end at 2^40", "model.norm.weight",
			st(func(s *stModel) { e := s.entry("norm"); e.begin, e.end = 1<<40-64, 1<<40 })),
		c("offsets-overlap", "k_proj's data_offsets lie inside q_proj's", "overlap",
			st(func(s *stModel) {
				q, k := s.entry("layers.0.attn.q"), s.entry("layers.0.attn.k")
				k.begin, k.end = q.begin+64, q.begin+64+(k.end-k.begin)
			})),
		c("offsets-reversed", "v_proj's data_offsets run backwards", "v_proj",
			st(func(s *stModel) { e := s.entry("layers.0.attn.v"); e.begin, e.end = e.end, e.begin })),
		c("truncated-mid-tensor", "model.safetensors ends 40 bytes into its last tensor (model.norm.weight)", "model.norm.weight",
			func() map[string][]byte {
				b := baseSafetensors(nil).encode()
				return map[string][]byte{"model.safetensors": b[:len(b)-4*baseDim+40]}
			}()),
		c("duplicate-tensor", "q_proj appears twice in the header", "q_proj",
			st(func(s *stModel) { s.entries = append(s.entries, *s.entry("layers.0.attn.q")) })),
		c("dtype-i64", "o_proj is stored as I64", "o_proj",
			st(func(s *stModel) {
				e := s.entry("layers.0.attn.o")
				e.dtype, e.shape = "I64", []int64{baseDim, baseDim / 2}
			})),
		c("config-not-json", "config.json is not JSON", "config.json",
			map[string][]byte{"config.json": []byte("{\"hidden_size\": 16,\n")}),
		c("config-zero-heads", "num_attention_heads = 0", "heads",
			config(func(m map[string]any) { m["num_attention_heads"] = 0 })),
		c("config-heads-not-dividing-dim", "num_attention_heads = 6 for hidden_size 16", "heads",
			config(func(m map[string]any) { m["num_attention_heads"] = 6 })),
		c("config-kv-heads-not-dividing-heads", "num_key_value_heads = 3 for 2 heads", "kv_heads",
			config(func(m map[string]any) { m["num_key_value_heads"] = 3 })),
		c("config-negative-dim", "hidden_size = -16", "dim",
			config(func(m map[string]any) { m["hidden_size"] = -16 })),
		c("config-layers-2^40", "num_hidden_layers = 2^40", "layers",
			config(func(m map[string]any) { m["num_hidden_layers"] = 1 << 40 })),
		c("config-hidden-mismatch", "intermediate_size = 48 while the MLP tensors are 32 wide", "mlp.down_proj",
			config(func(m map[string]any) { m["intermediate_size"] = 48 })),
		c("config-vocab-mismatch", "vocab_size = 80 while the embedding has 64 rows", "embed",
			config(func(m map[string]any) { m["vocab_size"] = 80 })),
		c("config-context-2^22", "max_position_embeddings = 2^22: accepted, and sizes nothing until sequences that long run", "",
			config(func(m map[string]any) { m["max_position_embeddings"] = 1 << 22 })),
		c("config-bos-out-of-range", "bos_token_id = 5000: ignored, the tokenizer's BOS is used", "",
			config(func(m map[string]any) { m["bos_token_id"] = 5000 })),
		c("tokenizer-duplicate-piece", `tokenizer.model holds "he" twice`, `"he"`,
			sp(func(p []spPiece) []spPiece { p[len(p)-1].piece = "he"; return p })),
		c("tokenizer-empty-piece", "tokenizer.model's piece 40 is empty", "piece 40",
			sp(func(p []spPiece) []spPiece { p[40].piece = ""; return p })),
		c("tokenizer-larger-than-embedding", "tokenizer.model has 72 pieces for 64 embedding rows", "72 pieces",
			sp(func(p []spPiece) []spPiece {
				for i := 0; i < 8; i++ {
					p = append(p, spPiece{"x" + string(rune('a'+i)), -100, typeNormal})
				}
				return p
			})),
		c("tokenizer-length-2^60", "tokenizer.model's first field claims 2^60 bytes", "tokenizer.model",
			map[string][]byte{"tokenizer.model": protowireHuge()}),
		c("index-outside-dir", "model.safetensors.index.json maps a tensor to ../outside.safetensors", "outside",
			map[string][]byte{"model.safetensors.index.json": []byte(`{"metadata": {}, "weight_map": {"model.norm.weight": "../outside.safetensors"}}`)}),
		runs(c("nan-weight", "one NaN in mlp.down_proj", "layers.0.mlp.down",
			weights(setValue("layers.0.mlp.down", 100, nan)))),
		runs(c("inf-weight", "one -Inf in self_attn.v_proj", "layers.0.attn.v",
			weights(setValue("layers.0.attn.v", 3, float32(math.Inf(-1)))))),
	}
}

// protowireHuge is a tokenizer.model whose first field, a piece, claims a
// length of 2^60 bytes.
func protowireHuge() []byte {
	b := []byte{spPieces<<3 | 2}
	for v := uint64(1 << 60); ; v >>= 7 {
		if v < 0x80 {
			return append(b, byte(v), 'x')
		}
		b = append(b, byte(v)|0x80)
	}
}

func llama2cCases() []Case {
	c := func(name, what, want string, model, tok []byte) Case {
		if model == nil {
			model = baseLlama2C(nil).encode()
		}
		if tok == nil {
			tok = baseTokBin().encode()
		}
		return Case{Name: "llama2c-" + name, What: what, Files: map[string][]byte{"model.bin": model, "tokenizer.bin": tok},
			Model: "model.bin", Want: want}
	}
	header := func(field int, v int32) []byte {
		m := baseLlama2C(nil)
		m.header[field] = v
		return m.encode()
	}
	tok := func(e func(t *tokBin)) []byte {
		t := baseTokBin()
		e(t)
		return t.encode()
	}
	runs := func(cs Case) Case { cs.OK = []string{"info"}; return cs }
	const dim, heads, kvHeads, vocabField, seq = 0, 3, 4, 5, 6
	return []Case{
		c("valid", "the base model as a legacy llama2.c checkpoint with tokenizer.bin", "", nil, nil),
		c("zero-heads", "n_heads = 0", "heads", header(heads, 0), nil),
		c("negative-dim", "dim = -16", "dim", header(dim, -16), nil),
		c("heads-not-dividing-dim", "n_heads = 6 for dim 16", "heads", header(heads, 6), nil),
		c("kv-heads-not-dividing-heads", "n_kv_heads = 3 for 2 heads", "kv_heads", header(kvHeads, 3), nil),
		c("vocab-2^31", "vocab_size = 2^31 − 1", "vocab", header(vocabField, math.MaxInt32), nil),
		c("seq-len-2^31", "seq_len = 2^31 − 1", "max_seq", header(seq, math.MaxInt32), nil),
		c("truncated-mid-tensor", "the file ends 40 bytes into rms_final", "model.bin",
			func() []byte { b := baseLlama2C(nil).encode(); return b[:len(b)-4*baseDim+40] }(), nil),
		c("tokenizer-length-2^31", "the length of tokenizer.bin's token 5 is 2^31 − 1", "token 5",
			nil, tok(func(t *tokBin) { t.pieces[5].length = math.MaxInt32 })),
		c("tokenizer-negative-length", "the length of tokenizer.bin's token 7 is −8", "token 7",
			nil, tok(func(t *tokBin) { t.pieces[7].length = -8 })),
		c("tokenizer-negative-max-length", "tokenizer.bin's max_token_length is −1", "max_token_length",
			nil, tok(func(t *tokBin) { t.maxLen = -1 })),
		c("tokenizer-too-few-pieces", "tokenizer.bin holds 40 of the 64 pieces", "tokenizer.bin",
			nil, tok(func(t *tokBin) { t.pieces = t.pieces[:40] })),
		c("tokenizer-duplicate-piece", `tokenizer.bin holds "he" twice`, `"he"`,
			nil, tok(func(t *tokBin) { p := &t.pieces[len(t.pieces)-1]; p.text, p.length = "he", 2 })),
		c("tokenizer-empty-piece", "tokenizer.bin's token 40 is empty", "piece 40",
			nil, tok(func(t *tokBin) { p := &t.pieces[40]; p.text, p.length = "", 0 })),
		runs(c("nan-weight", "one NaN in w1 (mlp.gate)", "layers.0.mlp.gate",
			baseLlama2C(setValue("layers.0.mlp.gate", 0, nan)).encode(), nil)),
	}
}
