package tokenizer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Type is the kind of a vocabulary piece, numbered as SentencePiece's
// ModelProto.SentencePiece.Type and GGUF's tokenizer.ggml.token_type.
type Type int32

// Piece types.
const (
	Normal      Type = 1 // an ordinary piece, produced by merges
	Unknown     Type = 2 // the <unk> piece
	Control     Type = 3 // <s>, </s> and other pieces never produced from text
	UserDefined Type = 4 // a piece always matched as a whole in the text
	Unused      Type = 5 // a piece merges may pass through but never emit
	Byte        Type = 6 // a byte-fallback piece "<0xXX>"
)

func (t Type) String() string {
	switch t {
	case Normal:
		return "normal"
	case Unknown:
		return "unknown"
	case Control:
		return "control"
	case UserDefined:
		return "user-defined"
	case Unused:
		return "unused"
	case Byte:
		return "byte"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// spaceSymbol is U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's escaped space.
const spaceSymbol = "\u2581"

// defaultUnkSurface is what SentencePiece decodes <unk> to (U+2047 between
// spaces) unless the model names another surface.
const defaultUnkSurface = " \u2047 "

// maxPieces bounds the vocabulary size any loader accepts.
const maxPieces = 1 << 24

// prefixMode says when the encoder prepends the dummy "▁".
type prefixMode uint8

const (
	prefixNone        prefixMode = iota
	prefixAlways                 // SentencePiece add_dummy_prefix: any non-empty text
	prefixUnlessSpace            // HF Metaspace: unless the text already starts with a space
)

// Tokenizer encodes text into token ids and decodes ids into text exactly as
// SentencePiece's BPE model does. It is immutable and safe for concurrent use.
type Tokenizer struct {
	pieces []string
	scores []float32
	types  []Type

	normal   map[string]int32 // pieces merges may produce: normal, user-defined, unused
	reserved map[string]int32 // unknown, control and byte pieces, looked up first

	maxLen  int              // length in bytes of the longest mergeable piece
	user    map[string]int32 // user-defined pieces, matched greedily (longest first)
	userMax int              // length in bytes of the longest user-defined piece

	byteID       [256]int32 // id of "<0xXX>", or unk when absent
	byteFallback bool

	// merges, when not nil, replaces piece scores as the merge priority: the
	// pair (left id, right id) may merge with priority -rank (HF tokenizer.json).
	merges map[[2]int32]int32

	unk, bos, eos    int
	addBOS, addEOS   bool
	prefix           prefixMode
	escapeSpaces     bool
	removeExtraSpace bool
	unkSurface       string

	stripLeading bool // Decode drops the "▁" that starts the first piece

	cache *wordCache // ids of frequent words (only when splitWord)

	hasUnused bool // resegmentation of unused pieces is needed
	splitWord bool // BPE may run word by word (see split)
}

// vocab is what every loader hands to build.
type vocab struct {
	pieces []string
	scores []float32
	types  []Type

	unk, bos, eos  int // -1: none; unk, if set, must be the piece typed Unknown
	addBOS, addEOS bool
	byteFallback   bool
	prefix         prefixMode
	escapeSpaces   bool
	removeExtra    bool
	unkSurface     string
	merges         map[[2]int32]int32
}

var errEmptyVocab = errors.New("vocabulary has no pieces")

// build validates v and returns the tokenizer. Errors name the offending
// piece; the caller adds the source.
func build(v vocab) (*Tokenizer, error) {
	n := len(v.pieces)
	if n == 0 {
		return nil, errEmptyVocab
	}
	if n > maxPieces {
		return nil, fmt.Errorf("vocabulary has %d pieces, more than %d", n, maxPieces)
	}
	if len(v.scores) != n || len(v.types) != n {
		return nil, fmt.Errorf("vocabulary has %d pieces but %d scores and %d types", n, len(v.scores), len(v.types))
	}
	t := &Tokenizer{
		pieces:           v.pieces,
		scores:           v.scores,
		types:            v.types,
		normal:           make(map[string]int32, n),
		reserved:         make(map[string]int32),
		merges:           v.merges,
		unk:              -1,
		bos:              v.bos,
		eos:              v.eos,
		addBOS:           v.addBOS,
		addEOS:           v.addEOS,
		prefix:           v.prefix,
		escapeSpaces:     v.escapeSpaces,
		removeExtraSpace: v.removeExtra,
		unkSurface:       v.unkSurface,
		byteFallback:     v.byteFallback,
	}
	t.cache = new(wordCache)
	if t.unkSurface == "" {
		t.unkSurface = defaultUnkSurface
	}
	var hasByte [256]bool
	for i, p := range v.pieces {
		if p == "" {
			return nil, fmt.Errorf("piece %d is empty", i)
		}
		ty := v.types[i]
		m := t.reserved
		switch ty {
		case Normal, UserDefined, Unused:
			m = t.normal
		case Unknown:
			if t.unk >= 0 {
				return nil, fmt.Errorf("pieces %d and %d are both typed unknown", t.unk, i)
			}
			t.unk = i
		case Control:
		case Byte:
			b, ok := pieceByte(p)
			if !ok {
				return nil, fmt.Errorf("piece %d %q is typed byte but is not of the form <0xXX>", i, p)
			}
			if !hasByte[b] {
				hasByte[b] = true
				t.byteID[b] = int32(i)
			}
		default:
			return nil, fmt.Errorf("piece %d %q has unknown type %d", i, p, int32(ty))
		}
		if j, dup := m[p]; dup {
			return nil, fmt.Errorf("piece %q is defined twice (ids %d and %d)", p, j, i)
		}
		m[p] = int32(i)
		if ty == Normal || ty == UserDefined || ty == Unused {
			t.maxLen = max(t.maxLen, len(p))
		}
		switch ty {
		case UserDefined:
			if t.user == nil {
				t.user = make(map[string]int32)
			}
			t.user[p] = int32(i)
			t.userMax = max(t.userMax, len(p))
		case Unused:
			t.hasUnused = true
		}
	}
	if t.unk < 0 {
		return nil, errors.New("no piece is typed unknown")
	}
	if v.unk >= 0 && v.unk != t.unk {
		return nil, fmt.Errorf("unknown id %d does not name the piece typed unknown (%d)", v.unk, t.unk)
	}
	for b := range t.byteID {
		if !hasByte[b] {
			t.byteID[b] = int32(t.unk)
		}
	}
	for _, s := range []struct {
		name string
		id   *int
	}{{"bos", &t.bos}, {"eos", &t.eos}} {
		if *s.id < -1 || *s.id >= n {
			return nil, fmt.Errorf("%s id %d out of range [0, %d)", s.name, *s.id, n)
		}
	}
	if t.bos < 0 {
		t.addBOS = false
	}
	if t.eos < 0 {
		t.addEOS = false
	}
	// SentencePiece drops the leading space of a decoded sequence when it
	// adds a dummy prefix or removes extra whitespace.
	t.stripLeading = t.prefix != prefixNone || t.removeExtraSpace
	t.splitWord = !t.hasUnused && !spansWords(t.normal)
	return t, nil
}

// spansWords reports whether some mergeable piece holds a "▁" right after a
// character other than "▁". When none does, no merge can join a symbol
// ending in another character to a following symbol that starts with "▁",
// so BPE over the whole text equals BPE run separately on each word.
func spansWords(normal map[string]int32) bool {
	for p := range normal {
		if !strings.Contains(p, spaceSymbol) {
			continue
		}
		prev := rune(-1)
		for _, r := range p {
			if r == '\u2581' && prev >= 0 && prev != '\u2581' {
				return true
			}
			prev = r
		}
	}
	return false
}

// pieceByte parses a byte piece "<0xXX>" (upper-case hex, as SentencePiece
// writes them).
func pieceByte(p string) (byte, bool) {
	if len(p) != 6 || p[:3] != "<0x" || p[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexDigit(p[3])
	lo, ok2 := hexDigit(p[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// VocabSize returns the number of pieces.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// BOS returns the id of the beginning-of-sequence piece, or -1 if none.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS returns the id of the end-of-sequence piece, or -1 if none.
func (t *Tokenizer) EOS() int { return t.eos }

// Unk returns the id of the unknown piece.
func (t *Tokenizer) Unk() int { return t.unk }

// AddBOSDefault reports whether the model's own settings prepend BOS when
// encoding a prompt (tokenizer.ggml.add_bos_token, the HF post-processor;
// true for SentencePiece models and llama2.c).
func (t *Tokenizer) AddBOSDefault() bool { return t.addBOS }

// AddEOSDefault reports whether the model's own settings append EOS.
func (t *Tokenizer) AddEOSDefault() bool { return t.addEOS }

// ByteFallback reports whether characters outside the vocabulary are encoded
// as UTF-8 byte pieces (otherwise they become <unk>).
func (t *Tokenizer) ByteFallback() bool { return t.byteFallback }

// Piece returns the piece of id in SentencePiece spelling ("▁the", "<0x0A>",
// "<s>"), or "" when id is out of range.
func (t *Tokenizer) Piece(id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Pieces returns a copy of every piece, indexed by id.
func (t *Tokenizer) Pieces() []string { return append([]string(nil), t.pieces...) }

// Scores returns a copy of every piece's score, indexed by id. For a
// tokenizer.json vocabulary the score of a piece is minus the rank of the
// first merge that produces it (0 for pieces no merge produces).
func (t *Tokenizer) Scores() []float32 { return append([]float32(nil), t.scores...) }

// Types returns a copy of every piece's type, indexed by id.
func (t *Tokenizer) Types() []Type { return append([]Type(nil), t.types...) }

// pieceID returns the id SentencePiece gives a piece of segmented text:
// reserved pieces first, then mergeable ones, else unk.
func (t *Tokenizer) pieceID(p string) int32 {
	if id, ok := t.reserved[p]; ok {
		return id
	}
	if id, ok := t.normal[p]; ok {
		return id
	}
	return int32(t.unk)
}
