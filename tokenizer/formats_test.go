package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/divergo/divergo/internal/assets"
)

// sameEncoding checks that tk encodes every fixture case to the ids
// SentencePiece gave for model, and returns how many cases there were.
func sameEncoding(t *testing.T, tk *Tokenizer, model string) {
	t.Helper()
	fx := fixture(t)
	bad := 0
	for _, c := range fx.Cases {
		text := c.text(t)
		if got, want := tk.Encode(text, false, false), c.IDs[model]; !slices.Equal(got, want) {
			if bad++; bad <= 10 {
				t.Errorf("%s: Encode(%q)\n got %v\nwant %v", c.Name, text, got, want)
			}
		}
		if got, want := tk.Decode(c.IDs[model]), c.decoded(t, model); got != want {
			if bad++; bad <= 10 {
				t.Errorf("%s: Decode(%v) = %q, want %q", c.Name, c.IDs[model], got, want)
			}
		}
	}
	t.Logf("%d/%d strings encode and decode as SentencePiece does", len(fx.Cases)-bad, len(fx.Cases))
}

// sameVocab checks that two tokenizers have the same pieces, scores, types
// and special ids.
func sameVocab(t *testing.T, got, want *Tokenizer) {
	t.Helper()
	if got.VocabSize() != want.VocabSize() {
		t.Fatalf("vocab size %d, want %d", got.VocabSize(), want.VocabSize())
	}
	for id := range want.VocabSize() {
		if got.pieces[id] != want.pieces[id] || got.scores[id] != want.scores[id] || got.types[id] != want.types[id] {
			t.Fatalf("piece %d = %q %g %v, want %q %g %v", id, got.pieces[id], got.scores[id], got.types[id], want.pieces[id], want.scores[id], want.types[id])
		}
	}
	if got.BOS() != want.BOS() || got.EOS() != want.EOS() || got.Unk() != want.Unk() || got.AddBOSDefault() != want.AddBOSDefault() {
		t.Errorf("bos/eos/unk/addBOS = %d/%d/%d/%v, want %d/%d/%d/%v", got.BOS(), got.EOS(), got.Unk(), got.AddBOSDefault(), want.BOS(), want.EOS(), want.Unk(), want.AddBOSDefault())
	}
}

func TestLlama2CTokenizerBin(t *testing.T) {
	ref := refModel(t, "llama2")
	tk, err := LoadLlama2C(assets.Path(t, "tokenizers/llama2/tokenizer.bin"), 32000)
	if err != nil {
		t.Fatal(err)
	}
	sameVocab(t, tk, ref)
	sameEncoding(t, tk, "llama2")

	// Load reads every token to the end of the file.
	tk2, err := Load(assets.Path(t, "tokenizers/llama2/tokenizer.bin"))
	if err != nil {
		t.Fatal(err)
	}
	sameVocab(t, tk2, ref)
}

func TestGGUFVocab(t *testing.T) {
	ref := refModel(t, "llama2")
	v := readGGUFVocab(t, assets.Path(t, "tokenizers/llama2/llamacpp-vocab-test/ggml-vocab-llama-spm.gguf"))
	if v.model != "llama" || !v.opts.AddBOS || v.opts.AddEOS {
		t.Fatalf("model %q add_bos %v add_eos %v", v.model, v.opts.AddBOS, v.opts.AddEOS)
	}
	tk, err := FromVocab(v.tokens, v.scores, v.types, v.opts)
	if err != nil {
		t.Fatal(err)
	}
	sameVocab(t, tk, ref)
	sameEncoding(t, tk, "llama2")

	texts, want := llamaCppVectors(t)
	for i, s := range texts {
		if got := idsString(tk.Encode(s, false, false)); got != want[i] {
			t.Errorf("string %d %q:\n got %s\nwant %s", i, s, got, want[i])
		}
	}
}

// stories260K is the start of the text llama2.c's doc/stories260K.md shows
// for greedy generation (MANIFEST §1a).
const stories260K = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high."

// stories260KGreedy are the first 40 greedy ids from BOS (MANIFEST §1a).
var stories260KGreedy = []int{403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestTok512(t *testing.T) {
	tk, err := LoadLlama2C("testdata/tok512.bin", 512)
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != 512 || tk.BOS() != 1 || tk.EOS() != 2 || tk.Unk() != 0 || !tk.ByteFallback() {
		t.Fatalf("vocab %d bos %d eos %d unk %d byte fallback %v", tk.VocabSize(), tk.BOS(), tk.EOS(), tk.Unk(), tk.ByteFallback())
	}
	for id, want := range map[int]string{0: "<unk>", 1: "<s>", 2: "</s>", 3: "<0x00>", 258: "<0xFF>", 259: "▁t", 403: "▁Once"} {
		if got := tk.Piece(id); got != want {
			t.Errorf("Piece(%d) = %q, want %q", id, got, want)
		}
	}
	if got := tk.Decode(append([]int{1}, stories260KGreedy...)); !strings.HasPrefix(stories260K, got) || len(got) < 100 {
		t.Errorf("greedy ids decode to %q, want a prefix of %q", got, stories260K)
	}
	if got := tk.Encode("Once upon a time, there was a little girl named Lily.", true, false); !slices.Equal(got, append([]int{1}, stories260KGreedy[:15]...)) {
		t.Errorf("Encode = %v, want BOS + %v", got, stories260KGreedy[:15])
	}
	// Characters outside the 512 pieces fall back to bytes and round-trip.
	for _, s := range []string{"Zoë ate 3 crêpes — 😀", "\tx\n", "  two  spaces  "} {
		if got := tk.Decode(tk.Encode(s, true, true)); got != s {
			t.Errorf("round trip %q = %q", s, got)
		}
	}

	// A vocabulary without token types gets them inferred.
	untyped, err := FromVocab(tk.Pieces(), tk.Scores(), nil, DefaultVocabOptions())
	if err != nil {
		t.Fatal(err)
	}
	sameVocab(t, untyped, tk)
	if p, err := ParseLlama2C(mustRead(t, "testdata/tok512.bin"), 512); err != nil {
		t.Fatal(err)
	} else {
		sameVocab(t, p, tk)
	}

	// stories260K.gguf carries the same vocabulary.
	t.Run("gguf", func(t *testing.T) {
		v := readGGUFVocab(t, assets.Path(t, "models/stories260K/stories260K.gguf"))
		g, err := FromVocab(v.tokens, v.scores, v.types, v.opts)
		if err != nil {
			t.Fatal(err)
		}
		sameVocab(t, g, tk)
		fx := fixture(t)
		for _, c := range fx.Cases {
			s := c.text(t)
			if a, b := g.Encode(s, true, false), tk.Encode(s, true, false); !slices.Equal(a, b) {
				t.Errorf("%s: GGUF vocab gives %v, tok512.bin %v", c.Name, a, b)
			}
		}
	})
}

// hfJSONFromModel writes the tokenizer.json Hugging Face's converter makes
// for a SentencePiece BPE model: vocab, merges ordered by the score of the
// merged piece (every split of a piece into two pieces), byte fallback,
// the Prepend/Replace normalizer and a BOS template.
func hfJSONFromModel(t *testing.T, tk *Tokenizer, pairs bool) []byte {
	t.Helper()
	vocab := map[string]int{}
	for id, p := range tk.pieces {
		vocab[p] = id
	}
	type merge struct {
		l, r     string
		id, l_id int
	}
	var merges []merge
	for id, p := range tk.pieces {
		if tk.types[id] != Normal {
			continue
		}
		for i := 1; i < len(p); i++ {
			l, r := p[:i], p[i:]
			if lid, ok := vocab[l]; ok {
				if _, ok := vocab[r]; ok {
					merges = append(merges, merge{l, r, id, lid})
				}
			}
		}
	}
	sort.SliceStable(merges, func(i, j int) bool {
		a, b := merges[i], merges[j]
		if sa, sb := tk.scores[a.id], tk.scores[b.id]; sa != sb {
			return sa > sb
		}
		if a.id != b.id {
			return a.id < b.id
		}
		return a.l_id < b.l_id
	})
	var ms []any
	for _, m := range merges {
		if pairs {
			ms = append(ms, []string{m.l, m.r})
		} else {
			ms = append(ms, m.l+" "+m.r)
		}
	}
	var added []any
	for id, p := range tk.pieces {
		if tk.types[id] == Control || tk.types[id] == Unknown {
			added = append(added, map[string]any{"id": id, "content": p, "special": true, "normalized": false})
		}
	}
	doc := map[string]any{
		"version":      "1.0",
		"added_tokens": added,
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Prepend", "prepend": "▁"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"},
		}},
		"pre_tokenizer": nil,
		"post_processor": map[string]any{
			"type":           "TemplateProcessing",
			"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
			"special_tokens": map[string]any{"<s>": map[string]any{"id": "<s>", "ids": []int{1}, "tokens": []string{"<s>"}}},
		},
		"decoder": nil,
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": "<unk>", "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": true, "byte_fallback": tk.byteFallback,
			"vocab": vocab, "merges": ms,
		},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestHFJSON(t *testing.T) {
	for _, pairs := range []bool{false, true} {
		name := "strings"
		if pairs {
			name = "pairs"
		}
		t.Run(name, func(t *testing.T) {
			ref := refModel(t, "llama2")
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := os.WriteFile(path, hfJSONFromModel(t, ref, pairs), 0o644); err != nil {
				t.Fatal(err)
			}
			tk, err := LoadHFJSON(path)
			if err != nil {
				t.Fatal(err)
			}
			if tk.VocabSize() != ref.VocabSize() || tk.BOS() != 1 || tk.EOS() != 2 || tk.Unk() != 0 || !tk.AddBOSDefault() {
				t.Fatalf("vocab %d bos %d eos %d unk %d addBOS %v", tk.VocabSize(), tk.BOS(), tk.EOS(), tk.Unk(), tk.AddBOSDefault())
			}
			sameEncoding(t, tk, "llama2")
			tk2, err := Load(filepath.Dir(path))
			if err != nil || tk2.VocabSize() != ref.VocabSize() {
				t.Fatalf("Load(dir) = %v, %v", tk2, err)
			}
		})
	}
}

// TestHFMetaspace checks the newer flavour (pre-tokenizer Metaspace, no
// normalizer): "▁" is prepended unless the text starts with a space.
func TestHFMetaspace(t *testing.T) {
	js := `{"model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": false,
		"vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "▁": 3, "h": 4, "i": 5, "▁h": 6, "▁hi": 7, "hi": 8},
		"merges": [["▁", "h"], "▁h i", "h i"]},
		"added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true}, {"id": 2, "content": "</s>", "special": true}],
		"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}}`
	tk, err := parseHFJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"hi", []int{7}},
		{" hi", []int{7}},
		{"hi hi", []int{7, 7}},
		{"  hi", []int{3, 7}},
		{"hix", []int{7, 0}},
		{"", nil},
	} {
		if got := tk.Encode(c.in, false, false); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestLoadDispatch(t *testing.T) {
	for _, path := range []string{"testdata/tok105.model", "testdata/tok512.bin"} {
		tk, err := Load(path)
		if err != nil {
			t.Fatalf("Load(%s): %v", path, err)
		}
		if tk.VocabSize() != map[string]int{"testdata/tok105.model": 105, "testdata/tok512.bin": 512}[path] {
			t.Errorf("Load(%s): %d pieces", path, tk.VocabSize())
		}
	}
	// Content sniffing when the name says nothing.
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/tok105.model")
	if err != nil {
		t.Fatal(err)
	}
	noext := filepath.Join(dir, "tok")
	if err := os.WriteFile(noext, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if tk, err := Load(noext); err != nil || tk.VocabSize() != 105 {
		t.Errorf("Load(no extension) = %v, %v", tk, err)
	}
	gg := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(gg, []byte("GGUF\x03\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(gg); err == nil || !strings.Contains(err.Error(), "FromVocab") {
		t.Errorf("Load(gguf) error = %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "no tokenizer.model") {
		t.Errorf("Load(empty dir) error = %v", err)
	}
}

func TestTok105(t *testing.T) {
	tk, err := LoadSentencePiece("testdata/tok105.model")
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != 105 || tk.ByteFallback() || tk.Unk() != 0 || tk.BOS() != 1 || tk.EOS() != 2 {
		t.Fatalf("vocab %d byte fallback %v unk %d bos %d eos %d", tk.VocabSize(), tk.ByteFallback(), tk.Unk(), tk.BOS(), tk.EOS())
	}
	// Unknown characters: one <unk> per run, also across a removed space.
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"a", []int{3, 5}},
		{"ΣΣΣ", []int{3, 0}},
		{"aΣΣb", []int{3, 5, 0, 23}},
		{"Σ Σ", []int{3, 0, 3, 0}},
		{"  a  ", []int{3, 5}},
	} {
		if got := tk.Encode(c.in, false, false); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
