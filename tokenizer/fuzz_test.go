package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seeds in testdata/fuzz/FuzzXxx are written by TestWriteFuzzSeeds (run with
// TOKENIZER_WRITE_SEEDS=1) from the small files in testdata and the models
// built in errors_test.go, plus any crashers found since.

func FuzzParseModelProto(f *testing.F) {
	f.Add(smallModel())
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := ParseModelProto(data)
		if err != nil {
			return
		}
		exercise(t, tk, "a b\n\xffé😀 <s>")
	})
}

func FuzzLoadLlama2C(f *testing.F) {
	pieces, scores := smallLlama2C()
	f.Add(llama2CFile(6, pieces, scores))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, n := range []int{0, 3, 7} {
			tk, err := parseLlama2C(data, n)
			if err != nil {
				continue
			}
			if n > 0 && tk.VocabSize() != n {
				t.Fatalf("asked for %d tokens, got %d", n, tk.VocabSize())
			}
			exercise(t, tk, "a a\n\xffé")
		}
	})
}

func FuzzHFJSON(f *testing.F) {
	f.Add([]byte(`{"model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true,
		"vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁": 4, "a": 5, "▁a": 6},
		"merges": ["▁ a"]}, "normalizer": {"type": "Sequence", "normalizers": [
		{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := parseHFJSON(data)
		if err != nil {
			return
		}
		exercise(t, tk, "a a\n\xffé")
	})
}

// exercise encodes and decodes with a tokenizer built from fuzzed input:
// nothing may panic and every id must be in range.
func exercise(t *testing.T, tk *Tokenizer, text string) {
	ids := tk.Encode(text, true, true)
	for _, id := range ids {
		if id < 0 || id >= tk.VocabSize() {
			t.Fatalf("Encode(%q) gave id %d outside [0, %d)", text, id, tk.VocabSize())
		}
	}
	tk.Decode(ids)
	tk.Decode([]int{-1, tk.VocabSize(), 0})
	for id := range min(tk.VocabSize(), 300) {
		tk.Piece(id)
	}
}

// fuzzTokenizers are the tokenizers FuzzEncode checks: tok512 (byte
// fallback, so every text round-trips), tok105 (no byte fallback, extra
// whitespace removed) and the small hand-built model.
func fuzzTokenizers(t testing.TB) map[string]*Tokenizer {
	tok512, err := LoadLlama2C("testdata/tok512.bin", 512)
	if err != nil {
		t.Fatal(err)
	}
	tok105, err := LoadSentencePiece("testdata/tok105.model")
	if err != nil {
		t.Fatal(err)
	}
	small, err := ParseModelProto(smallModel())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*Tokenizer{"tok512": tok512, "tok105": tok105, "small": small}
}

// wholeText returns a copy of tk that runs BPE over the whole text at once,
// as SentencePiece does, instead of word by word with a cache.
func wholeText(tk *Tokenizer) *Tokenizer {
	c := *tk
	c.splitWord = false
	return &c
}

// replaceInvalid replaces each byte of s that is not part of valid UTF-8
// with U+FFFD, as SentencePiece's normalizer does.
func replaceInvalid(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", " ", "Once upon a time", "  two  spaces ", "a\tb\nc", "é😀中", "\xff\xfe", "<s>hello</s>", "▁▁x"} {
		f.Add(s)
	}
	tks := fuzzTokenizers(f)
	whole := map[string]*Tokenizer{}
	for name, tk := range tks {
		whole[name] = wholeText(tk)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkText(t, tks, whole, text)
	})
}

// checkText encodes text with every tokenizer: word-by-word and whole-text
// BPE agree, no control piece appears, tok512 round-trips and streaming
// decoding matches Decode.
func checkText(t *testing.T, tks, whole map[string]*Tokenizer, text string) {
	for name, tk := range tks {
		ids := tk.Encode(text, false, false)
		if w := whole[name].Encode(text, false, false); !slices.Equal(ids, w) {
			t.Fatalf("%s: Encode(%q) word by word = %v, whole text = %v", name, text, ids, w)
		}
		for _, id := range ids {
			if id < 0 || id >= tk.VocabSize() || tk.types[id] == Control {
				t.Fatalf("%s: Encode(%q) gave id %d", name, text, id)
			}
		}
		dec := tk.Decode(ids)
		// tok512 has every byte piece, so any text without a literal "▁"
		// (which decodes to a space) comes back, invalid bytes as U+FFFD.
		if name == "tok512" && !strings.Contains(text, spaceSymbol) {
			if want := replaceInvalid(text); dec != want {
				t.Fatalf("%s: Decode(Encode(%q)) = %q, want %q", name, text, dec, want)
			}
		}
		// Streaming decode gives the same text, never a split character.
		d := tk.NewDecoder()
		var b strings.Builder
		for _, id := range append([]int{tk.BOS()}, ids...) {
			s := d.Next(id)
			if !utf8.ValidString(s) {
				t.Fatalf("%s: Next(%d) = %q, not valid UTF-8", name, id, s)
			}
			b.WriteString(s)
		}
		b.WriteString(d.Flush())
		if b.String() != dec {
			t.Fatalf("%s: streaming decode of %v = %q, Decode = %q", name, ids, b.String(), dec)
		}
	}
}

// TestWriteFuzzSeeds writes the seed corpora; it runs only when
// TOKENIZER_WRITE_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("TOKENIZER_WRITE_SEEDS") == "" {
		t.Skip("set TOKENIZER_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	tok105, err := os.ReadFile("testdata/tok105.model")
	if err != nil {
		t.Fatal(err)
	}
	tok512, err := os.ReadFile("testdata/tok512.bin")
	if err != nil {
		t.Fatal(err)
	}
	model := smallModel()
	pieces, scores := smallLlama2C()
	bin := llama2CFile(6, pieces, scores)
	seeds := map[string]map[string][]byte{
		"FuzzParseModelProto": {
			"tok105":         tok105,
			"small":          model,
			"truncated":      model[:len(model)/2],
			"tok105-cut":     tok105[:700],
			"wrong-type":     varintField(modelPieces, 1),
			"huge-length":    {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f},
			"no-pieces":      buildModelProto(nil, trainerSpec(), identityNormalizer()),
			"duplicate":      buildModelProto(append(smallPieces(), protoPiece{"a", 0, Normal}), trainerSpec(varintField(trainerByteFallback, 1)), nil),
			"user-defined":   buildModelProto(append(smallPieces(), protoPiece{"a▁b", 0, UserDefined}, protoPiece{"▁ab▁", 0, Unused}), trainerSpec(varintField(trainerByteFallback, 1)), identityNormalizer()),
			"remove-extra":   buildModelProto(smallPieces(), trainerSpec(varintField(trainerByteFallback, 1)), varintField(normRemoveExtraWhitespaces, 1)),
			"bos-range":      buildModelProto(smallPieces(), trainerSpec(varintField(trainerBosID, 1000)), nil),
			"group-wiretype": {0x0b, 0x0c},
		},
		"FuzzLoadLlama2C": {
			"tok512":      tok512,
			"small":       bin,
			"truncated":   bin[:len(bin)-3],
			"tok512-cut":  tok512[:1000],
			"header-only": bin[:4],
			"neg-length":  llama2CFile(6, []string{"<unk>"}, []float32{0})[:8],
			"huge-length": append(append([]byte(nil), bin[:8]...), 0xff, 0xff, 0xff, 0x7f),
		},
		"FuzzHFJSON": {
			"small":       []byte(`{"model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁": 4, "a": 5, "▁a": 6}, "merges": ["▁ a"]}, "added_tokens": [{"id": 1, "content": "<s>", "special": true}, {"id": 7, "content": "<x>", "special": false}], "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}}`),
			"metaspace":   []byte(`{"model": {"type": "BPE", "unk_token": "<unk>", "vocab": {"<unk>": 0, "▁": 1, "h": 2, "▁h": 3}, "merges": [["▁", "h"]]}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}}`),
			"garbage":     []byte(`{"model": {"type": "BPE", "vocab": [1, 2]}}`),
			"truncated":   []byte(`{"model": {"type": "BPE", "vocab": {"a": 0`),
			"huge-id":     []byte(`{"added_tokens": [{"id": 99999999999, "content": "x"}], "model": {"type": "BPE", "vocab": {}}}`),
			"bad-merge":   []byte(`{"model": {"type": "BPE", "unk_token": "a", "vocab": {"a": 0}, "merges": ["a a a", 3]}}`),
			"not-object":  []byte(`[]`),
			"deep-nested": []byte(strings.Repeat("[", 200)),
		},
		"FuzzEncode": {
			"awkward":  []byte("  \t\n\r\n a  b \x00\x7f\u200b\ufeff"),
			"unicode":  []byte("Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o 👨‍👩‍👧‍👦 日本語 العربية"),
			"invalid":  []byte("\xff\xc3\xe2\x82\xed\xa0\x80\xc0\x80\xf4\x90\x80\x80"),
			"long":     []byte(strings.Repeat("ab", 200)),
			"specials": []byte("<s></s><unk><0x41>▁▁"),
		},
	}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			lit := "[]byte(" + strconv.Quote(string(data)) + ")"
			if target == "FuzzEncode" {
				lit = "string(" + strconv.Quote(string(data)) + ")"
			}
			content := fmt.Sprintf("go test fuzz v1\n%s\n", lit)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
