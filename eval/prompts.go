package eval

import (
	_ "embed"
	"fmt"

	"github.com/divergo/divergo/tokenizer"
)

// Prompt lengths and counts of the divergent-token protocol (METRICS.md §1.2).
const (
	DefaultPromptLen = 64  // n: prompt tokens, BOS included
	DefaultGen       = 128 // G: generated (compared) tokens
	DefaultSamples   = 512 // S: prompts
)

//go:embed data/tinystories_sample.txt
var defaultCorpus string

// DefaultCorpusName names the embedded default corpus in reports.
const DefaultCorpusName = "embedded TinyStories validation excerpt (eval/data/tinystories_sample.txt)"

// DefaultCorpus returns the documents of the embedded default corpus: the
// first 727 paragraphs (150 KB) of the TinyStories validation split,
// in-distribution text for the embedded stories260K model; 603 of them have
// at least 64 tokens under its tokenizer (eval/data/README.md).
func DefaultCorpus() []string { return SplitDocuments(defaultCorpus) }

// A Prompt is the start of one corpus document, the x of METRICS.md §1.3.
type Prompt struct {
	// Doc is the index of the document in the corpus, in file order from 0.
	Doc int `json:"doc"`
	// Tokens are the first n tokens of the document tokenized with BOS
	// (so Tokens[0] is BOS). They are cut from the tokenization of the
	// whole document, never re-tokenized from a text prefix.
	Tokens []int `json:"tokens"`
}

// A PromptSet is the prompts cut from a corpus and what was passed over.
type PromptSet struct {
	Prompts []Prompt
	// Documents is the number of documents in the corpus.
	Documents int
	// Examined is the number of documents looked at: every one up to the
	// last prompt taken (all of them when fewer than S qualified).
	Examined int
	// Short counts the examined documents with fewer than n tokens, which
	// are skipped (METRICS.md §1.4: never padded).
	Short int
}

// Prompts cuts up to S prompts of n tokens from docs: each document is
// tokenized with BOS, documents with fewer than n tokens (BOS included) are
// skipped, and the first S remaining documents in corpus order give their
// first n tokens (METRICS.md §1.2–§1.4). Fewer than S prompts come back when
// the corpus has fewer usable documents; none at all is an error.
func Prompts(tok *tokenizer.Tokenizer, docs []string, n, S int) (PromptSet, error) {
	if n < 1 {
		return PromptSet{}, fmt.Errorf("prompts: prompt length %d must be ≥ 1", n)
	}
	if S < 1 {
		return PromptSet{}, fmt.Errorf("prompts: %d samples requested, need ≥ 1", S)
	}
	set := PromptSet{Documents: len(docs)}
	for i, d := range docs {
		if len(set.Prompts) == S {
			break
		}
		set.Examined++
		ids := tok.Encode(d, true, false)
		if len(ids) < n {
			set.Short++
			continue
		}
		set.Prompts = append(set.Prompts, Prompt{Doc: i, Tokens: append([]int(nil), ids[:n]...)})
	}
	if len(set.Prompts) == 0 {
		return set, fmt.Errorf("prompts: none of the %d documents has %d tokens (BOS included); use a longer corpus or a shorter --prompt-len", len(docs), n)
	}
	return set, nil
}
