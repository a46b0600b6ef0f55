package tokenizer

import (
	"fmt"
)

// VocabOptions are the tokenizer settings stored beside a GGUF vocabulary.
// Start from DefaultVocabOptions and override the keys a file has.
type VocabOptions struct {
	Model  string // tokenizer.ggml.model; only "llama" (SentencePiece) is supported
	BOS    int    // tokenizer.ggml.bos_token_id, -1 for none
	EOS    int    // tokenizer.ggml.eos_token_id, -1 for none
	Unk    int    // tokenizer.ggml.unknown_token_id, -1 to use the piece typed unknown
	AddBOS bool   // tokenizer.ggml.add_bos_token
	AddEOS bool   // tokenizer.ggml.add_eos_token
	// NoSpacePrefix is tokenizer.ggml.add_space_prefix = false: no dummy
	// "▁" is prepended to the text.
	NoSpacePrefix bool
}

// DefaultVocabOptions returns llama.cpp's defaults for a "llama" vocabulary:
// BOS 1, EOS 2, unknown 0, BOS added, a space prefix.
func DefaultVocabOptions() VocabOptions {
	return VocabOptions{Model: "llama", BOS: 1, EOS: 2, Unk: 0, AddBOS: true}
}

// FromVocab builds a tokenizer from GGUF vocabulary arrays:
// tokenizer.ggml.tokens, .scores and .token_type (types as GGUF numbers them:
// 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte). A nil
// types slice infers types as for llama2.c (see LoadLlama2C). Byte fallback
// is on when the vocabulary has byte pieces. The slices are copied.
func FromVocab(pieces []string, scores []float32, types []int32, opts VocabOptions) (*Tokenizer, error) {
	t, err := fromVocab(pieces, scores, types, opts)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: gguf vocabulary: %w", err)
	}
	return t, nil
}

func fromVocab(pieces []string, scores []float32, types []int32, opts VocabOptions) (*Tokenizer, error) {
	if opts.Model != "llama" && opts.Model != "" {
		return nil, fmt.Errorf("tokenizer model %s not supported (only llama)", opts.Model)
	}
	n := len(pieces)
	if n == 0 {
		return nil, errEmptyVocab
	}
	if len(scores) != n {
		return nil, fmt.Errorf("%d tokens but %d scores", n, len(scores))
	}
	if types != nil && len(types) != n {
		return nil, fmt.Errorf("%d tokens but %d token types", n, len(types))
	}
	v := vocab{
		pieces: append([]string(nil), pieces...),
		scores: append([]float32(nil), scores...),
		types:  make([]Type, n),
		unk:    opts.Unk,
		bos:    opts.BOS,
		eos:    opts.EOS,
		addBOS: opts.AddBOS,
		addEOS: opts.AddEOS,
		prefix: prefixAlways,
		// llama.cpp escapes spaces and keeps whitespace runs as they are.
		escapeSpaces: true,
	}
	if opts.NoSpacePrefix {
		v.prefix = prefixNone
	}
	for i := range v.types {
		if types == nil {
			v.types[i] = inferType(pieces[i], i == opts.Unk)
			continue
		}
		if types[i] < int32(Normal) || types[i] > int32(Byte) {
			return nil, fmt.Errorf("token %d %q has type %d, not 1..6", i, pieces[i], types[i])
		}
		v.types[i] = Type(types[i])
	}
	for _, ty := range v.types {
		if ty == Byte {
			v.byteFallback = true
			break
		}
	}
	if v.unk >= n {
		return nil, fmt.Errorf("unknown token id %d out of range [0, %d)", v.unk, n)
	}
	if v.unk >= 0 && v.types[v.unk] != Unknown {
		// llama.cpp takes the id as given; the piece acts as <unk>.
		if err := retypeUnknown(&v); err != nil {
			return nil, err
		}
	}
	return build(v)
}

// retypeUnknown makes the piece at v.unk the unknown piece when the types
// name none, so a vocabulary whose <unk> is typed otherwise still loads.
func retypeUnknown(v *vocab) error {
	for i, ty := range v.types {
		if ty == Unknown {
			return fmt.Errorf("unknown token id %d is token %q, but token %d %q is typed unknown", v.unk, v.pieces[v.unk], i, v.pieces[i])
		}
	}
	v.types[v.unk] = Unknown
	return nil
}

// inferType types a piece of a vocabulary that carries no types: <unk>,
// control pieces <s> and </s>, byte pieces <0xXX>, else normal.
func inferType(p string, isUnk bool) Type {
	switch {
	case isUnk || p == "<unk>":
		return Unknown
	case p == "<s>" || p == "</s>":
		return Control
	}
	if _, ok := pieceByte(p); ok {
		return Byte
	}
	return Normal
}
