package engine

import (
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/divergo/divergo/tokenizer"
)

// spaceRules are the whitespace settings of a tokenizer's normalizer.
type spaceRules struct {
	prefix      bool // add_dummy_prefix: "▁" is prepended to the text
	removeExtra bool // remove_extra_whitespaces: runs of spaces collapse
}

// spaceInfo finds a tokenizer's whitespace settings by encoding probes:
// package tokenizer applies them but does not report them. The surface of
// "a" starts with "▁" exactly when a dummy prefix is added, and "a  b" keeps
// its two spaces ("▁▁") exactly when extra whitespace is kept. When a probe
// is unreadable (the characters are unknown to the vocabulary), the
// settings of Llama's tokenizer are assumed.
func spaceInfo(t *tokenizer.Tokenizer) spaceRules {
	r := spaceRules{prefix: true}
	if s, ok := surface(t, "a"); ok {
		r.prefix = strings.HasPrefix(s, "▁")
	}
	if s, ok := surface(t, "a  b"); ok {
		r.removeExtra = !strings.Contains(s, "▁▁")
	}
	return r
}

// surface returns the concatenated pieces of text as encoded (byte pieces
// turned back into bytes), and false when an unknown piece hides part of it.
func surface(t *tokenizer.Tokenizer, text string) (string, bool) {
	types := t.Types()
	var b strings.Builder
	for _, id := range t.Encode(text, false, false) {
		p := t.Piece(id)
		switch types[id] {
		case tokenizer.Unknown:
			return "", false
		case tokenizer.Byte:
			v, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(p, "<0x"), ">"), 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(v))
		default:
			b.WriteString(p)
		}
	}
	return b.String(), true
}

// SentencePiece ModelProto field numbers (sentencepiece_model.proto).
const (
	spPieces         = 1
	spTrainerSpec    = 2
	spNormalizerSpec = 3

	spPiece = 1
	spScore = 2
	spType  = 3

	spModelType    = 3
	spVocabSize    = 4
	spByteFallback = 35
	spUnkID        = 40
	spBosID        = 41
	spEosID        = 42
	spPadID        = 43

	spNormName         = 1
	spAddDummyPrefix   = 3
	spRemoveExtraSpace = 4
	spEscapeSpaces     = 5
)

// sentencePieceModel serializes a tokenizer as a SentencePiece model file
// (tokenizer.model): a BPE model with the identity normalizer, the pieces,
// scores and types of the vocabulary, its special ids and whitespace rules.
// SentencePiece, Hugging Face's LlamaTokenizer and package tokenizer read it.
func sentencePieceModel(t *tokenizer.Tokenizer) []byte {
	var out []byte
	scores, types := t.Scores(), t.Types()
	for i, p := range t.Pieces() {
		var m []byte
		m = protowire.AppendTag(m, spPiece, protowire.BytesType)
		m = protowire.AppendString(m, p)
		m = protowire.AppendTag(m, spScore, protowire.Fixed32Type)
		m = protowire.AppendFixed32(m, math.Float32bits(scores[i]))
		m = protowire.AppendTag(m, spType, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(types[i]))
		out = protowire.AppendTag(out, spPieces, protowire.BytesType)
		out = protowire.AppendBytes(out, m)
	}
	varint := func(b []byte, num protowire.Number, v int64) []byte {
		b = protowire.AppendTag(b, num, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v)) // int32 fields: negatives sign-extended, as protobuf does
	}
	boolean := func(b []byte, num protowire.Number, v bool) []byte {
		return varint(b, num, int64(protowire.EncodeBool(v)))
	}
	var ts []byte
	ts = varint(ts, spModelType, 2) // BPE
	ts = varint(ts, spVocabSize, int64(t.VocabSize()))
	ts = boolean(ts, spByteFallback, t.ByteFallback())
	ts = varint(ts, spUnkID, int64(t.Unk()))
	ts = varint(ts, spBosID, int64(t.BOS()))
	ts = varint(ts, spEosID, int64(t.EOS()))
	ts = varint(ts, spPadID, -1)
	out = protowire.AppendTag(out, spTrainerSpec, protowire.BytesType)
	out = protowire.AppendBytes(out, ts)

	rules := spaceInfo(t)
	var ns []byte
	ns = protowire.AppendTag(ns, spNormName, protowire.BytesType)
	ns = protowire.AppendString(ns, "identity")
	ns = boolean(ns, spAddDummyPrefix, rules.prefix)
	ns = boolean(ns, spRemoveExtraSpace, rules.removeExtra)
	ns = boolean(ns, spEscapeSpaces, true)
	out = protowire.AppendTag(out, spNormalizerSpec, protowire.BytesType)
	return protowire.AppendBytes(out, ns)
}
