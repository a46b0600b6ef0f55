package tokenizer

import (
	"bufio"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/divergo/divergo/internal/assets"
)

// Reference fixtures come from SentencePiece 0.1.97 itself; see
// testdata/spmref/gen.go for how they were made.

type spmCase struct {
	Name    string            `json:"name"`
	Text    string            `json:"text"`
	Hex     string            `json:"hex"`
	IDs     map[string][]int  `json:"ids"`
	Decoded map[string]string `json:"decoded"`
}

func (c spmCase) text(t testing.TB) string {
	if c.Hex == "" {
		return c.Text
	}
	b, err := hex.DecodeString(c.Hex)
	if err != nil {
		t.Fatalf("case %s: %v", c.Name, err)
	}
	return string(b)
}

// decoded returns what SentencePiece decodes the case's ids to for model.
func (c spmCase) decoded(t testing.TB, model string) string {
	d, ok := c.Decoded[model]
	if !ok {
		return c.text(t)
	}
	if h, ok := strings.CutPrefix(d, "hex:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("case %s: %v", c.Name, err)
		}
		return string(b)
	}
	return d
}

type spmDecoding struct {
	IDs  []int  `json:"ids"`
	Text string `json:"text"`
	Hex  string `json:"hex"`
}

type spmFixture struct {
	Cases   []spmCase                `json:"cases"`
	Decodes map[string][]spmDecoding `json:"decodes"`
}

var loadFixture = sync.OnceValues(func() (*spmFixture, error) {
	f, err := os.Open("testdata/spm_cases.json.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var fx spmFixture
	if err := json.NewDecoder(z).Decode(&fx); err != nil {
		return nil, err
	}
	return &fx, nil
})

func fixture(t testing.TB) *spmFixture {
	t.Helper()
	fx, err := loadFixture()
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// refModels returns the tokenizers the fixtures were made with, by fixture
// name; llama2 needs the shared assets.
func refModel(t testing.TB, name string) *Tokenizer {
	t.Helper()
	var path string
	switch name {
	case "llama2":
		path = assets.Path(t, "tokenizers/llama2/tokenizer.model")
	case "tok105":
		path = "testdata/tok105.model"
	default:
		t.Fatalf("no model %s", name)
	}
	tk, err := LoadSentencePiece(path)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func idsString(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(id))
	}
	return b.String()
}

// checkCases encodes every fixture case with tk and compares with the ids
// SentencePiece gave for model; it also checks that decoding gives what
// SentencePiece decodes those ids to.
func checkCases(t *testing.T, tk *Tokenizer, model string) {
	fx := fixture(t)
	matched, decoded := 0, 0
	for _, c := range fx.Cases {
		want, ok := c.IDs[model]
		if !ok {
			t.Fatalf("case %s has no ids for %s", c.Name, model)
		}
		text := c.text(t)
		got := tk.Encode(text, false, false)
		if slices.Equal(got, want) {
			matched++
		} else {
			t.Errorf("%s: Encode(%q)\n got %v\nwant %v", c.Name, text, got, want)
		}
		if d, w := tk.Decode(want), c.decoded(t, model); d == w {
			decoded++
		} else {
			t.Errorf("%s: Decode(%v) = %q, SentencePiece gives %q", c.Name, want, d, w)
		}
	}
	t.Logf("%s: %d/%d strings encode as SentencePiece does, %d/%d decode as it does", model, matched, len(fx.Cases), decoded, len(fx.Cases))
}

func TestEncodeMatchesSentencePiece(t *testing.T) {
	for _, model := range []string{"llama2", "tok105"} {
		t.Run(model, func(t *testing.T) {
			checkCases(t, refModel(t, model), model)
		})
	}
}

func TestDecodeMatchesSentencePiece(t *testing.T) {
	fx := fixture(t)
	for _, model := range []string{"llama2", "tok105"} {
		t.Run(model, func(t *testing.T) {
			tk := refModel(t, model)
			n := 0
			for _, d := range fx.Decodes[model] {
				want := d.Text
				if d.Hex != "" {
					b, err := hex.DecodeString(d.Hex)
					if err != nil {
						t.Fatal(err)
					}
					want = string(b)
				}
				if got := tk.Decode(d.IDs); got != want {
					t.Errorf("Decode(%v) = %q, SentencePiece gives %q", d.IDs, got, want)
					continue
				}
				n++
			}
			t.Logf("%s: %d/%d random id sequences decode as SentencePiece does", model, n, len(fx.Decodes[model]))
		})
	}
}

// TestLlamaCppVocab checks llama.cpp's own tokenizer test vectors for the
// Llama SPM vocabulary (ids without BOS, the dummy prefix included).
func TestLlamaCppVocab(t *testing.T) {
	tk := refModel(t, "llama2")
	texts, want := llamaCppVectors(t)
	for i, s := range texts {
		if got := idsString(tk.Encode(s, false, false)); got != want[i] {
			t.Errorf("string %d %q:\n got %s\nwant %s", i, s, got, want[i])
		}
		if utf8.ValidString(s) {
			if d := tk.Decode(tk.Encode(s, true, false)); d != s {
				t.Errorf("string %d: Decode(Encode(%q)) = %q", i, s, d)
			}
		}
	}
}

// llamaCppVectors reads the .inp strings (separated by lines
// "__ggml_vocab_test__") and the .out id lines.
func llamaCppVectors(t testing.TB) (texts, ids []string) {
	inp, err := os.ReadFile("testdata/ggml-vocab-llama-spm.gguf.inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile("testdata/ggml-vocab-llama-spm.gguf.out")
	if err != nil {
		t.Fatal(err)
	}
	texts = strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	texts = texts[:len(texts)-1]
	ids = strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(texts) != 46 || len(ids) != 46 {
		t.Fatalf("read %d strings and %d id lines, want 46", len(texts), len(ids))
	}
	for i := range ids {
		ids[i] = strings.TrimSpace(ids[i])
	}
	return texts, ids
}

func hashIDs(ids []int) string {
	h := fnv.New64a()
	io.WriteString(h, idsString(ids))
	return fmt.Sprintf("%016x", h.Sum64())
}

// TestCorporaMatchSentencePiece encodes every line of the two corpora, and
// each corpus whole, and compares id counts and hashes with SentencePiece's.
func TestCorporaMatchSentencePiece(t *testing.T) {
	files := map[string]string{
		"wikitext":    "text/wikitext2_test_hfrows_crlf.raw",
		"tinystories": "text/tinystories_val_sample.txt",
	}
	type ref struct{ count, hash string }
	want := map[[3]string]ref{} // model, corpus, line
	f, err := os.Open("testdata/spm_corpus.txt.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(z)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 5 && fs[0] != "#" {
			want[[3]string{fs[0], fs[1], fs[2]}] = ref{fs[3], fs[4]}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"llama2", "tok105"} {
		t.Run(model, func(t *testing.T) {
			tk := refModel(t, model)
			for _, corpus := range []string{"wikitext", "tinystories"} {
				data, err := os.ReadFile(assets.Path(t, files[corpus]))
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(string(data), "\n")
				if lines[len(lines)-1] == "" {
					lines = lines[:len(lines)-1]
				}
				matched, roundTrip, fails := 0, 0, 0
				check := func(key, text string) {
					r, ok := want[[3]string{model, corpus, key}]
					if !ok {
						t.Fatalf("no reference for %s %s line %s", model, corpus, key)
					}
					ids := tk.Encode(text, false, false)
					if strconv.Itoa(len(ids)) == r.count && hashIDs(ids) == r.hash {
						matched++
					} else if fails++; fails <= 10 {
						t.Errorf("%s line %s: %d ids (SentencePiece %s), hash %s (SentencePiece %s); text %q", corpus, key, len(ids), r.count, hashIDs(ids), r.hash, text)
					}
					if tk.Decode(ids) == text {
						roundTrip++
					}
				}
				for i, line := range lines {
					check(strconv.Itoa(i+1), line)
				}
				check("all", string(data))
				if !testing.Short() {
					// BPE over the whole text at once, as SentencePiece runs
					// it, gives the same ids as the word-by-word encoder.
					ids := wholeText(tk).Encode(string(data), false, false)
					if r := want[[3]string{model, corpus, "all"}]; strconv.Itoa(len(ids)) != r.count || hashIDs(ids) != r.hash {
						t.Errorf("%s: whole-text BPE gives %d ids, hash %s; SentencePiece %s, %s", corpus, len(ids), hashIDs(ids), r.count, r.hash)
					}
				}
				t.Logf("%s %s: %d/%d strings (every line and the whole file) match SentencePiece; %d round-trip through Decode", model, corpus, matched, len(lines)+1, roundTrip)
				if model == "llama2" && roundTrip != len(lines)+1 {
					t.Errorf("%s: only %d/%d strings round-trip", corpus, roundTrip, len(lines)+1)
				}
			}
		})
	}
}
