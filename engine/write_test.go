package engine

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divergo/divergo/gguf"
	"github.com/divergo/divergo/internal/assets"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/quant"
	"github.com/divergo/divergo/safetensors"
	"github.com/divergo/divergo/tokenizer"
)

// probeIDs is a token sequence for comparing models' logits.
var probeIDs = []int{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315}

// logitsAll returns the logits of every position of ids.
func logitsAll(t *testing.T, m *Model, ids []int) []float32 {
	t.Helper()
	s, err := NewState(m, len(ids), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Forward(ids, len(ids))
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out...)
}

// maxDiff returns max |a−b|.
func maxDiff(t *testing.T, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d", len(a), len(b))
	}
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func mustLoad(t *testing.T, path string) *Model {
	t.Helper()
	m, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func mustPlan(t *testing.T, s string) *quant.Plan {
	t.Helper()
	p, err := quant.ParsePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The embedded model (HF layout, rotate-half pairs) written as GGUF has its
// q/k rows restored to Meta's order and computes the same logits; written
// back as safetensors it is byte-identical to the source.
func TestWriteEmbeddedRoundTrip(t *testing.T) {
	m, err := LoadEmbedded(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want := logitsAll(t, m, probeIDs)
	dir := t.TempDir()

	ggufPath := filepath.Join(dir, "m.gguf")
	if err := WriteGGUF(m, ggufPath, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	g := mustLoad(t, ggufPath)
	if g.Config.RoPE != RoPEInterleaved || !g.Tied() {
		t.Errorf("GGUF: RoPE %v tied %v, want interleaved and tied", g.Config.RoPE, g.Tied())
	}
	if d := maxDiff(t, want, logitsAll(t, g, probeIDs)); d > 1e-4 {
		t.Errorf("GGUF logits differ by %g", d)
	}
	// Meta order: HF row h·hd + j·hd/2 + i is GGUF row h·hd + 2i + j.
	hd := m.Config.HeadDim
	src, _ := m.Matrix("layers.2.attn.k")
	dst, _ := g.Matrix("layers.2.attn.k")
	rb := src.RowBytes()
	for r := 0; r < src.Rows; r++ {
		h, i, j := r/hd, (r%hd)%(hd/2), (r%hd)/(hd/2)
		mr := h*hd + 2*i + j
		if !bytes.Equal(src.Data[r*rb:(r+1)*rb], dst.Data[mr*rb:(mr+1)*rb]) {
			t.Fatalf("attn.k HF row %d is not GGUF row %d", r, mr)
		}
	}

	hfDir := filepath.Join(dir, "hf")
	if err := WriteSafetensors(g, hfDir, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	h := mustLoad(t, hfDir)
	if h.Config.RoPE != RoPENeoX {
		t.Errorf("HF: RoPE %v", h.Config.RoPE)
	}
	for _, c := range m.Components() {
		a, _ := m.Matrix(c.Name)
		b, _ := h.Matrix(c.Name)
		if a.Format != b.Format || !bytes.Equal(a.Data, b.Data) {
			t.Errorf("%s: GGUF→HF round trip changed the matrix", c.Name)
		}
	}
	if d := maxDiff(t, want, logitsAll(t, h, probeIDs)); d != 0 {
		t.Errorf("HF round trip logits differ by %g", d)
	}
	text := "Once upon a time, Lily saw a big red ball. 123 ünïcödé"
	for _, x := range []*Model{g, h} {
		if a, b := m.Tokenizer.Encode(text, true, false), x.Tokenizer.Encode(text, true, false); !equalInts(a, b) {
			t.Errorf("%s tokenizer: %v, want %v", x.Source.Format, b, a)
		}
	}
}

// stories260K.gguf (llama2.c order) written as safetensors gets the
// forward permutation and the same logits.
func TestWriteGGUFToSafetensors(t *testing.T) {
	m := loadOrSkip(t, "models/stories260K/stories260K.gguf", LoadOptions{})
	dir := filepath.Join(t.TempDir(), "hf")
	if err := WriteSafetensors(m, dir, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	h := mustLoad(t, dir)
	if h.Tied() {
		t.Error("stories260K.gguf has an output.weight; the HF copy must keep lm_head")
	}
	if d := maxDiff(t, logitsAll(t, m, probeIDs), logitsAll(t, h, probeIDs)); d > 1e-4 {
		t.Errorf("logits differ by %g", d)
	}
	// And the reference HF conversion in the shared assets has the same
	// q/k rows (MANIFEST §1a: old row h·8+2i+j → new row h·8+j·4+i).
	ref, err := safetensors.Open(assets.Path(t, "models/stories260K/hf/model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	got, err := safetensors.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	for _, ti := range ref.Tensors() {
		a, _ := ref.Bytes(ti.Name)
		b, err := got.Bytes(ti.Name)
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from the reference conversion (%v)", ti.Name, err)
		}
	}
	if n := len(ref.Tensors()); n != 47 {
		t.Errorf("reference has %d tensors", n)
	}
}

// randomModel is a small model whose every dimension suits the k-quants,
// with the embedded vocabulary.
func randomModel(t *testing.T, rope RoPEStyle) *Model {
	t.Helper()
	c := Config{Dim: 256, HiddenDim: 512, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64, Vocab: 512,
		MaxSeq: 256, NormEps: 1e-5, RopeTheta: 10000, RoPE: rope, BOS: 1, EOS: 2}
	if rope == RoPENeoX {
		c.Angles = kernels.AnglesHF
	}
	m, err := NewRandom(c, 7)
	if err != nil {
		t.Fatal(err)
	}
	e, err := LoadEmbedded(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.Tokenizer = e.Tokenizer
	e.Close()
	t.Cleanup(func() { m.Close() })
	return m
}

// Every format survives a round trip: the variant's matrices come back
// byte for byte with their format and a8 flag, and the logits are equal.
func TestWriteEveryFormat(t *testing.T) {
	m := randomModel(t, RoPENeoX)
	specs := []string{"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k",
		"q5_k", "q6_k", "int8", "int8:asym", "int4", "int4:g64:asym", "int3:g32", "int2:g128", "int4:row",
		"prune:0.5", "prune:2:4", "q4_0:a8", "int4:g32:a8"}
	if testing.Short() {
		specs = []string{"f16", "q4_0", "q4_k", "int4:g64:asym", "prune:2:4", "q4_0:a8"}
	}
	dir := t.TempDir()
	for _, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			// Mixed plans: a different format on embed and lm_head too.
			v, _, err := m.ApplyPlan(mustPlan(t, "*="+spec+",embed=q8_0,layers.1.attn.v=f16"))
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			want := logitsAll(t, v, probeIDs)
			name := strings.NewReplacer(":", "_").Replace(spec)
			targets := []string{filepath.Join(dir, name+"-hf")}
			if !strings.HasPrefix(spec, "int") {
				targets = append(targets, filepath.Join(dir, name+".gguf"))
			} else if err := WriteGGUF(v, filepath.Join(dir, name+".gguf"), WriteOptions{}); err == nil ||
				!strings.Contains(err.Error(), "has no GGUF type; write .safetensors") {
				t.Errorf("GGUF of %s: error %v, want \"has no GGUF type\"", spec, err)
			}
			for _, path := range targets {
				var err error
				if strings.HasSuffix(path, ".gguf") {
					err = WriteGGUF(v, path, WriteOptions{})
				} else {
					err = WriteSafetensors(v, path, WriteOptions{})
				}
				if err != nil {
					t.Fatal(err)
				}
				w := mustLoad(t, path)
				if d := maxDiff(t, want, logitsAll(t, w, probeIDs)); d > 1e-4 {
					t.Errorf("%s: logits differ by %g", path, d)
				}
				for _, c := range v.Components() {
					a, _ := v.Matrix(c.Name)
					b, _ := w.Matrix(c.Name)
					if a.Format != b.Format || a.A8 != b.A8 {
						t.Errorf("%s %s: format %s a8 %v, want %s a8 %v", path, c.Name, b.Format, b.A8, a.Format, a.A8)
					}
					if w.Config.RoPE == v.Config.RoPE && !bytes.Equal(a.Data, b.Data) {
						t.Errorf("%s %s: data differs", path, c.Name)
					}
				}
			}
		})
	}
}

// A GGUF file written by divergo has llama.cpp's structure: its keys and
// types, alignment, quantization version and file type, and tensor bytes
// at aligned offsets.
func TestWriteGGUFStructure(t *testing.T) {
	m := randomModel(t, RoPEInterleaved)
	v, _, err := m.ApplyPlan(mustPlan(t, "*=q4_k,lm_head=q6_k,layers.0.attn.q=q4_k:a8"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := WriteGGUF(v, path, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wantKeys := map[string]gguf.ValueType{
		"general.architecture": gguf.ValueString, "general.name": gguf.ValueString,
		"general.alignment": gguf.ValueUint32, "general.quantization_version": gguf.ValueUint32,
		"general.file_type": gguf.ValueUint32, "llama.context_length": gguf.ValueUint32,
		"llama.embedding_length": gguf.ValueUint32, "llama.block_count": gguf.ValueUint32,
		"llama.feed_forward_length": gguf.ValueUint32, "llama.attention.head_count": gguf.ValueUint32,
		"llama.attention.head_count_kv": gguf.ValueUint32, "llama.rope.dimension_count": gguf.ValueUint32,
		"llama.attention.layer_norm_rms_epsilon": gguf.ValueFloat32, "llama.rope.freq_base": gguf.ValueFloat32,
		"llama.vocab_size": gguf.ValueUint32, "tokenizer.ggml.model": gguf.ValueString,
		"tokenizer.ggml.tokens": gguf.ValueArray, "tokenizer.ggml.scores": gguf.ValueArray,
		"tokenizer.ggml.token_type": gguf.ValueArray, "tokenizer.ggml.bos_token_id": gguf.ValueUint32,
		"tokenizer.ggml.eos_token_id": gguf.ValueUint32, "tokenizer.ggml.unknown_token_id": gguf.ValueUint32,
		"tokenizer.ggml.add_bos_token": gguf.ValueBool, "tokenizer.ggml.add_eos_token": gguf.ValueBool,
		ggufA8Key: gguf.ValueArray,
	}
	for _, kv := range f.Metadata {
		typ, ok := wantKeys[kv.Key]
		if !ok {
			t.Errorf("unexpected key %s", kv.Key)
			continue
		}
		if kv.Type != typ {
			t.Errorf("%s: type %s, want %s", kv.Key, kv.Type, typ)
		}
		delete(wantKeys, kv.Key)
	}
	for k := range wantKeys {
		t.Errorf("missing key %s", k)
	}
	if ft, _ := f.Uint("general.file_type"); ft != 15 {
		t.Errorf("general.file_type %d, want 15 (MOSTLY_Q4_K_M)", ft)
	}
	if a8, _ := f.Strings(ggufA8Key); len(a8) != 1 || a8[0] != "blk.0.attn_q.weight" {
		t.Errorf("%s = %v", ggufA8Key, a8)
	}
	if f.Alignment != 32 || f.DataOffset%32 != 0 {
		t.Errorf("alignment %d, data offset %d", f.Alignment, f.DataOffset)
	}
	names := map[string]gguf.Type{"token_embd.weight": gguf.Q4_K, "output.weight": gguf.Q6_K,
		"output_norm.weight": gguf.F32, "blk.1.ffn_norm.weight": gguf.F32, "blk.1.ffn_down.weight": gguf.Q4_K}
	for _, ti := range f.Tensors {
		if ti.Offset%32 != 0 {
			t.Errorf("%s at unaligned offset %d", ti.Name, ti.Offset)
		}
		if typ, ok := names[ti.Name]; ok && ti.Type != typ {
			t.Errorf("%s: type %s, want %s", ti.Name, ti.Type, typ)
		}
	}
	if n := len(f.Tensors); n != 2*9+3 {
		t.Errorf("%d tensors, want %d", n, 2*9+3)
	}
}

// Writing is deterministic, replaces an earlier checkpoint, refuses to
// clobber a directory with other files, and shards large checkpoints.
func TestWriteFiles(t *testing.T) {
	m, err := LoadEmbedded(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dir := t.TempDir()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	g1, g2 := filepath.Join(dir, "1.gguf"), filepath.Join(dir, "2.gguf")
	for _, p := range []string{g1, g2} {
		if err := WriteGGUF(m, p, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(read(g1), read(g2)) {
		t.Error("two GGUF writes differ")
	}

	hf := filepath.Join(dir, "hf")
	if err := WriteSafetensors(m, hf, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	first := read(filepath.Join(hf, "model.safetensors"))
	var calls int
	if err := WriteSafetensors(m, hf, WriteOptions{ShardBytes: 100_000, Progress: func(done, total int) { calls++ }}); err != nil {
		t.Fatal(err)
	}
	if want := 1 + 5*9 + 1; calls != want { // embed, 5 layers of 7 matrices and 2 norms, final norm; tied
		t.Errorf("progress called %d times, want %d", calls, want)
	}
	if _, err := os.Stat(filepath.Join(hf, "model.safetensors")); err == nil {
		t.Error("the old single file survived the sharded rewrite")
	}
	shards, _ := filepath.Glob(filepath.Join(hf, "model-*-of-*.safetensors"))
	if len(shards) < 5 {
		t.Errorf("%d shards", len(shards))
	}
	s := mustLoad(t, hf)
	if d := maxDiff(t, logitsAll(t, m, probeIDs), logitsAll(t, s, probeIDs)); d != 0 {
		t.Errorf("sharded checkpoint logits differ by %g", d)
	}
	if err := WriteSafetensors(m, hf, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, read(filepath.Join(hf, "model.safetensors"))) {
		t.Error("two safetensors writes differ")
	}
	if err := os.WriteFile(filepath.Join(hf, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSafetensors(m, hf, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("overwriting a directory with other files: %v", err)
	}
	if _, err := os.Stat(filepath.Join(hf, "notes.txt")); err != nil {
		t.Error("a foreign file was deleted")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
}

// Blueprint with a plan writes the same file as ApplyPlan then WriteGGUF,
// compressing while writing.
func TestBlueprintPlanStreams(t *testing.T) {
	m, err := LoadEmbedded(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := mustPlan(t, "*=q8_0,layers.*.mlp.down=int8,lm_head=q4_1:a8")
	v, want, err := m.ApplyPlan(p)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	b, changes, err := m.Blueprint(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != len(want) {
		t.Fatalf("%d changes, want %d", len(changes), len(want))
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, changes[i], want[i])
		}
	}
	dir := t.TempDir()
	a, c := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := WriteSafetensors(v, a, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteSafetensors(c, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.safetensors", "config.json", "tokenizer.model"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(c, f))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between ApplyPlan+write and Blueprint(plan)", f)
		}
	}
	if _, _, err := m.Blueprint(mustPlan(t, "layers.0.mlp.down=q4_k")); err == nil {
		t.Error("q4_k on 172 columns accepted")
	}
}

// The tokenizer.model written for an HF checkpoint reproduces the source
// vocabulary: pieces, scores, types, special ids, whitespace rules.
func TestWriteTokenizerModel(t *testing.T) {
	e, err := LoadEmbedded(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	toks := map[string]*tokenizer.Tokenizer{"tok512": e.Tokenizer}
	for _, rel := range []string{"tokenizers/llama2/tokenizer.model", "models/babyllama-tok105/tok105.model"} {
		if p := filepath.Join(assets.Dir(), rel); assets.Dir() != "" && fileExists(p) {
			tk, err := tokenizer.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			toks[rel] = tk
		}
	}
	text := "Hello  world!\n  Once upon a time, 42 ünïcödé ☃ <s> tail  "
	for name, tk := range toks {
		back, err := tokenizer.ParseModelProto(sentencePieceModel(tk))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !equalStrings(tk.Pieces(), back.Pieces()) || !equalFloats(tk.Scores(), back.Scores()) {
			t.Errorf("%s: pieces or scores changed", name)
		}
		backTypes := back.Types()
		for i, ty := range tk.Types() {
			if backTypes[i] != ty {
				t.Errorf("%s: type of %d %q: %v, want %v", name, i, tk.Piece(i), backTypes[i], ty)
				break
			}
		}
		if back.BOS() != tk.BOS() || back.EOS() != tk.EOS() || back.Unk() != tk.Unk() || back.ByteFallback() != tk.ByteFallback() {
			t.Errorf("%s: special ids or byte fallback changed", name)
		}
		if a, b := tk.Encode(text, true, false), back.Encode(text, true, false); !equalInts(a, b) {
			t.Errorf("%s: Encode %v, want %v", name, b, a)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// A checkpoint whose stored-format metadata is wrong is refused with an
// error naming the tensor.
func TestLoadStoredFormatErrors(t *testing.T) {
	m, err := LoadEmbedded(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v, _, err := m.ApplyPlan(mustPlan(t, "q8_0,layers.*.mlp.down=int8"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	dir := filepath.Join(t.TempDir(), "hf")
	if err := WriteSafetensors(v, dir, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "model.safetensors")
	orig, err := safetensors.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	var tensors []safetensors.Tensor
	for _, ti := range orig.Tensors() {
		b, _ := orig.Bytes(ti.Name)
		tensors = append(tensors, safetensors.Tensor{Name: ti.Name, DType: ti.DType, Shape: ti.Shape, Data: append([]byte(nil), b...)})
	}
	meta := orig.Metadata
	orig.Close()
	const q = "model.layers.0.self_attn.q_proj.weight"
	cases := []struct {
		key, value, want string
	}{
		{stFormatKey + q, "q9_9", "q9_9"},
		{stFormatKey + q, "q4_0", "does not hold"},                                         // 34-byte rows are not q4_0 rows
		{stFormatKey + "model.layers.0.input_layernorm.weight", "q8_0", "input_layernorm"}, // ignored for norms: loads
		{stFormatKey + q, "", "q_proj"},
	}
	for _, c := range cases {
		md := map[string]string{}
		for k, v := range meta {
			md[k] = v
		}
		md[c.key] = c.value
		if err := safetensors.WriteFile(file, tensors, md); err != nil {
			t.Fatal(err)
		}
		w, err := Load(dir, LoadOptions{})
		if strings.HasSuffix(c.key, "input_layernorm.weight") {
			if err != nil {
				t.Errorf("format key on a norm: %v", err)
			} else {
				w.Close()
			}
			continue
		}
		if err == nil {
			w.Close()
			t.Errorf("%s = %q: loaded", c.key, c.value)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s = %q: error %q, want it to mention %q", c.key, c.value, err, c.want)
		}
	}
}
