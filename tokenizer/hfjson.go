package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// LoadHFJSON reads a Hugging Face tokenizer.json of the Llama SentencePiece
// flavour: a BPE model (vocab, merges, byte_fallback, unk_token) with either
// the normalizer Sequence[Prepend("▁"), Replace(" ", "▁")] or the
// pre-tokenizer Metaspace("▁", split=false). Merges are applied by rank,
// lowest first, as the tokenizers library does; for a file converted from a
// tokenizer.model this gives SentencePiece's ids.
//
// Added tokens marked special become control pieces and, as in
// SentencePiece, are never matched in text; other added tokens become
// user-defined pieces, matched as a whole. BOS and EOS come from a
// TemplateProcessing post-processor, else from added tokens <s> and </s>.
// Decoding follows SentencePiece (see Decode), not the file's decoder.
func LoadHFJSON(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parseHFJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

type hfFile struct {
	AddedTokens   []hfAddedToken  `json:"added_tokens"`
	Normalizer    *hfComponent    `json:"normalizer"`
	PreTokenizer  *hfComponent    `json:"pre_tokenizer"`
	PostProcessor *hfComponent    `json:"post_processor"`
	Model         *hfModel        `json:"model"`
	Decoder       json.RawMessage `json:"decoder"`
}

type hfAddedToken struct {
	ID      *int   `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

// hfComponent is a normalizer, pre-tokenizer or post-processor: a type and
// the fields the supported types use.
type hfComponent struct {
	Type        string         `json:"type"`
	Normalizers []*hfComponent `json:"normalizers"`      // Sequence
	Pretoks     []*hfComponent `json:"pretokenizers"`    // Sequence
	Prepend     *string        `json:"prepend"`          // Prepend
	Pattern     *hfPattern     `json:"pattern"`          // Replace
	Content     *string        `json:"content"`          // Replace
	Replacement *string        `json:"replacement"`      // Metaspace
	PrependMode *string        `json:"prepend_scheme"`   // Metaspace
	AddPrefix   *bool          `json:"add_prefix_space"` // Metaspace (older files)
	Split       *bool          `json:"split"`            // Metaspace
	Single      []hfTemplate   `json:"single"`           // TemplateProcessing
	Special     map[string]struct {
		IDs []int `json:"ids"`
	} `json:"special_tokens"` // TemplateProcessing
}

type hfPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

type hfTemplate struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

type hfModel struct {
	Type                    string            `json:"type"`
	Vocab                   map[string]int    `json:"vocab"`
	Merges                  []json.RawMessage `json:"merges"`
	UnkToken                *string           `json:"unk_token"`
	ByteFallback            bool              `json:"byte_fallback"`
	FuseUnk                 bool              `json:"fuse_unk"`
	Dropout                 *float64          `json:"dropout"`
	ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
	IgnoreMerges            bool              `json:"ignore_merges"`
}

func parseHFJSON(data []byte) (*Tokenizer, error) {
	var f hfFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	m := f.Model
	if m == nil {
		return nil, errors.New("tokenizer.json: no model")
	}
	if m.Type != "BPE" {
		return nil, fmt.Errorf("tokenizer.json: model type %q not supported (only BPE)", m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("tokenizer.json: BPE dropout %g not supported", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, fmt.Errorf("tokenizer.json: continuing_subword_prefix %q not supported", *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, fmt.Errorf("tokenizer.json: end_of_word_suffix %q not supported", *m.EndOfWordSuffix)
	}
	if m.IgnoreMerges {
		return nil, errors.New("tokenizer.json: ignore_merges not supported")
	}

	// Vocabulary: model.vocab plus added tokens, ids 0..n-1 with no gaps.
	// Ids must cover 0..n-1, so no id can exceed the number of entries.
	limit := len(m.Vocab) + len(f.AddedTokens)
	n := len(m.Vocab)
	for i, a := range f.AddedTokens {
		if a.ID == nil || *a.ID < 0 || *a.ID >= limit {
			return nil, fmt.Errorf("tokenizer.json: added_tokens[%d] %q: id missing or out of range [0, %d)", i, a.Content, limit)
		}
		n = max(n, *a.ID+1)
	}
	if n == 0 {
		return nil, fmt.Errorf("tokenizer.json: %w", errEmptyVocab)
	}
	if n > maxPieces {
		return nil, fmt.Errorf("tokenizer.json: %d tokens, more than %d", n, maxPieces)
	}
	v := vocab{
		pieces:       make([]string, n),
		scores:       make([]float32, n),
		types:        make([]Type, n),
		unk:          -1,
		bos:          -1,
		eos:          -1,
		byteFallback: m.ByteFallback,
	}
	seen := make([]bool, n)
	for p, id := range m.Vocab {
		if id < 0 || id >= n {
			return nil, fmt.Errorf("tokenizer.json: vocab %q has id %d out of range [0, %d)", p, id, n)
		}
		if seen[id] {
			return nil, fmt.Errorf("tokenizer.json: vocab id %d used by %q and %q", id, v.pieces[id], p)
		}
		seen[id] = true
		v.pieces[id] = p
		v.types[id] = Normal
		if _, ok := pieceByte(p); ok && m.ByteFallback {
			v.types[id] = Byte
		}
	}
	for i, a := range f.AddedTokens {
		id := *a.ID
		if seen[id] && v.pieces[id] != a.Content {
			return nil, fmt.Errorf("tokenizer.json: added_tokens[%d] %q has id %d, which vocab gives to %q", i, a.Content, id, v.pieces[id])
		}
		seen[id] = true
		v.pieces[id] = a.Content
		v.types[id] = UserDefined
		if a.Special {
			v.types[id] = Control
		}
	}
	for id, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("tokenizer.json: no token has id %d", id)
		}
	}
	if m.UnkToken != nil {
		id, ok := m.Vocab[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("tokenizer.json: unk_token %q not in vocab", *m.UnkToken)
		}
		v.types[id] = Unknown
		v.unk = id
	}

	// Merges, in priority order.
	ids := make(map[string]int, n)
	for id, p := range v.pieces {
		if _, dup := ids[p]; !dup {
			ids[p] = id
		}
	}
	v.merges = make(map[[2]int32]int32, len(m.Merges))
	for rank, raw := range m.Merges {
		l, r, err := parseMerge(raw)
		if err != nil {
			return nil, fmt.Errorf("tokenizer.json: merges[%d]: %w", rank, err)
		}
		lid, ok1 := ids[l]
		rid, ok2 := ids[r]
		mid, ok3 := ids[l+r]
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("tokenizer.json: merges[%d] %q + %q: piece not in vocab", rank, l, r)
		}
		key := [2]int32{int32(lid), int32(rid)}
		if _, dup := v.merges[key]; dup {
			continue // the first (lowest) rank wins
		}
		if rank >= 1<<24 {
			return nil, fmt.Errorf("tokenizer.json: more than %d merges", 1<<24)
		}
		v.merges[key] = int32(rank)
		if v.scores[mid] == 0 {
			v.scores[mid] = -float32(rank)
		}
	}

	if err := hfNormalization(&v, f.Normalizer, f.PreTokenizer); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	hfSpecials(&v, f.PostProcessor, ids)
	if v.unk < 0 {
		return nil, errors.New("tokenizer.json: no unk_token (needed for characters outside the vocabulary)")
	}
	t, err := build(v)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return t, nil
}

// parseMerge reads a merge written as "left right" or ["left", "right"].
func parseMerge(raw json.RawMessage) (string, string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		l, r, ok := strings.Cut(s, " ")
		if !ok || strings.Contains(r, " ") {
			return "", "", fmt.Errorf("%q is not two pieces separated by a space", s)
		}
		return l, r, nil
	}
	var pair []string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return "", "", fmt.Errorf("%s is neither \"left right\" nor [\"left\", \"right\"]", truncate(raw))
	}
	return pair[0], pair[1], nil
}

func truncate(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

// hfNormalization maps the normalizer and pre-tokenizer onto the encoder's
// dummy prefix and space escaping.
func hfNormalization(v *vocab, norm, pre *hfComponent) error {
	var list []*hfComponent
	if norm != nil {
		if norm.Type == "Sequence" {
			list = norm.Normalizers
		} else {
			list = []*hfComponent{norm}
		}
	}
	for _, c := range list {
		if c == nil {
			continue
		}
		switch c.Type {
		case "Prepend":
			if c.Prepend == nil || *c.Prepend != spaceSymbol {
				return fmt.Errorf("normalizer Prepend of %q not supported (only \"▁\")", deref(c.Prepend))
			}
			v.prefix = prefixAlways
		case "Replace":
			if c.Pattern == nil || c.Pattern.String == nil || *c.Pattern.String != " " || c.Content == nil || *c.Content != spaceSymbol {
				return errors.New("normalizer Replace not supported (only \" \" to \"▁\")")
			}
			v.escapeSpaces = true
		default:
			return fmt.Errorf("normalizer %s not supported", c.Type)
		}
	}
	if pre == nil {
		return nil
	}
	pres := []*hfComponent{pre}
	if pre.Type == "Sequence" {
		pres = pre.Pretoks
	}
	for _, c := range pres {
		if c == nil {
			continue
		}
		if c.Type != "Metaspace" {
			return fmt.Errorf("pre_tokenizer %s not supported", c.Type)
		}
		if c.Replacement != nil && *c.Replacement != spaceSymbol {
			return fmt.Errorf("pre_tokenizer Metaspace replacement %q not supported (only \"▁\")", *c.Replacement)
		}
		if c.Split != nil && *c.Split {
			return errors.New("pre_tokenizer Metaspace with split=true not supported")
		}
		v.escapeSpaces = true
		scheme := "always"
		if c.PrependMode != nil {
			scheme = *c.PrependMode
		} else if c.AddPrefix != nil && !*c.AddPrefix {
			scheme = "never"
		}
		switch scheme {
		case "always", "first":
			// Metaspace adds "▁" unless the text already starts with one.
			v.prefix = prefixUnlessSpace
		case "never":
		default:
			return fmt.Errorf("pre_tokenizer Metaspace prepend_scheme %q not supported", scheme)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// hfSpecials sets BOS, EOS and whether they are added from the
// post-processor, falling back to pieces named <s> and </s>.
func hfSpecials(v *vocab, post *hfComponent, ids map[string]int) {
	if post != nil && post.Type == "TemplateProcessing" {
		seenSeq := false
		for _, item := range post.Single {
			switch {
			case item.Sequence != nil:
				seenSeq = true
			case item.SpecialToken != nil:
				id, ok := ids[item.SpecialToken.ID]
				if s, found := post.Special[item.SpecialToken.ID]; found && len(s.IDs) == 1 {
					id, ok = s.IDs[0], true
				}
				if !ok || id < 0 || id >= len(v.pieces) {
					continue
				}
				if seenSeq {
					v.eos, v.addEOS = id, true
				} else {
					v.bos, v.addBOS = id, true
				}
			}
		}
	}
	if id, ok := ids["<s>"]; ok && v.bos < 0 {
		v.bos = id
	}
	if id, ok := ids["</s>"]; ok && v.eos < 0 {
		v.eos = id
	}
}
