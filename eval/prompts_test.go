package eval

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/tokenizer"
)

var cmpModel = sync.OnceValues(func() (*engine.Model, error) { return engine.LoadEmbedded(engine.LoadOptions{}) })

func cmpTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	m, err := cmpModel()
	if err != nil {
		t.Fatal(err)
	}
	return m.Tokenizer
}

func TestPrompts(t *testing.T) {
	tok := cmpTokenizer(t)
	long := "Once upon a time there was a little girl named Lily. She loved to play outside in the sun."
	short := "Hi."
	docs := []string{short, long, long + " The end.", short, "", long + " Again."}
	nLong := len(tok.Encode(long, true, false))
	nShort := len(tok.Encode(short, true, false))
	if nShort >= 8 || nLong < 8 {
		t.Fatalf("fixture: %d and %d tokens", nShort, nLong)
	}
	tests := []struct {
		name           string
		n, S           int
		docs           []int // expected document indices
		examined, skip int
	}{
		{"first S usable", 8, 2, []int{1, 2}, 3, 1},
		{"all usable", 8, 10, []int{1, 2, 5}, 6, 3},
		{"one", 8, 1, []int{1}, 2, 1},
		{"whole long doc", nLong, 3, []int{1, 2, 5}, 6, 3},
		{"longer than some", nLong + 1, 3, []int{2, 5}, 6, 4},
		{"BOS only", 1, 6, []int{0, 1, 2, 3, 4, 5}, 6, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := Prompts(tok, docs, tc.n, tc.S)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, p := range set.Prompts {
				got = append(got, p.Doc)
				full := tok.Encode(docs[p.Doc], true, false)
				if len(p.Tokens) != tc.n || !slices.Equal(p.Tokens, full[:tc.n]) || p.Tokens[0] != tok.BOS() {
					t.Errorf("doc %d: prompt %v is not the first %d tokens of %v", p.Doc, p.Tokens, tc.n, full)
				}
			}
			if !slices.Equal(got, tc.docs) || set.Examined != tc.examined || set.Short != tc.skip || set.Documents != len(docs) {
				t.Errorf("docs %v examined %d short %d of %d; want %v, %d, %d", got, set.Examined, set.Short, set.Documents, tc.docs, tc.examined, tc.skip)
			}
		})
	}
}

func TestPromptsErrors(t *testing.T) {
	tok := cmpTokenizer(t)
	for _, tc := range []struct {
		docs []string
		n, S int
		want string
	}{
		{[]string{"a b c"}, 100, 1, "none of the 1 documents has 100 tokens"},
		{nil, 4, 1, "none of the 0 documents"},
		{[]string{"a"}, 0, 1, "prompt length 0"},
		{[]string{"a"}, 1, 0, "0 samples"},
	} {
		if _, err := Prompts(tok, tc.docs, tc.n, tc.S); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Prompts(%q, %d, %d) = %v, want an error with %q", tc.docs, tc.n, tc.S, err, tc.want)
		}
	}
}

// TestDefaultCorpus checks the embedded corpus against eval/data/README.md:
// 727 paragraphs, 603 with at least 64 tokens, so S = 512 is met.
func TestDefaultCorpus(t *testing.T) {
	docs := DefaultCorpus()
	if len(docs) != 727 {
		t.Fatalf("%d documents, want 727", len(docs))
	}
	if !strings.HasPrefix(docs[0], "Spot. Spot saw the shiny car") || !strings.HasPrefix(docs[726], "Lily and Ben liked to play pirates") {
		t.Errorf("first or last document changed: %.40q … %.40q", docs[0], docs[726])
	}
	set, err := Prompts(cmpTokenizer(t), docs, DefaultPromptLen, len(docs))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Prompts) != 603 {
		t.Errorf("%d documents with %d tokens, want 603", len(set.Prompts), DefaultPromptLen)
	}
}

// FuzzPrompts checks the invariants of Prompts on arbitrary text: prompts
// are the first n tokens of their documents, in corpus order, and the
// counts add up.
func FuzzPrompts(f *testing.F) {
	f.Add("Once upon a time.\n\nThe end.", 4, 2)
	f.Add("\n\n\n", 1, 1)
	f.Add("a\r\n\r\nb\n \n\tc", 2, 5)
	f.Add("\xff\xfe broken utf8 \x00 and <s></s> control text", 3, 1)
	tok := cmpTokenizer(f)
	f.Fuzz(func(t *testing.T, text string, n, S int) {
		n, S = 1+cmpAbs(n)%40, 1+cmpAbs(S)%10
		docs := SplitDocuments(text)
		set, err := Prompts(tok, docs, n, S)
		if err != nil {
			if len(set.Prompts) != 0 {
				t.Fatalf("error %v with %d prompts", err, len(set.Prompts))
			}
			return
		}
		if len(set.Prompts) > S || set.Examined > len(docs) || set.Examined != len(set.Prompts)+set.Short {
			t.Fatalf("%d prompts, %d examined, %d short of %d documents (S = %d)", len(set.Prompts), set.Examined, set.Short, len(docs), S)
		}
		last := -1
		for _, p := range set.Prompts {
			if p.Doc <= last || len(p.Tokens) != n || p.Tokens[0] != tok.BOS() {
				t.Fatalf("prompt %+v after document %d", p, last)
			}
			last = p.Doc
		}
	})
}

func cmpAbs(x int) int {
	if x < 0 {
		if x == -x { // math.MinInt
			return 0
		}
		return -x
	}
	return x
}
