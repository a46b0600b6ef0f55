package tokenizer

import (
	"errors"
	"fmt"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// LoadSentencePiece reads a SentencePiece model file (tokenizer.model).
func LoadSentencePiece(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parseModelProto(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// ParseModelProto parses a serialized SentencePiece ModelProto. Only BPE
// models with the identity normalizer (Llama's) are accepted.
func ParseModelProto(data []byte) (*Tokenizer, error) {
	t, err := parseModelProto(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: sentencepiece model: %w", err)
	}
	return t, nil
}

// SentencePiece ModelProto field numbers (sentencepiece_model.proto).
const (
	modelPieces         = 1
	modelTrainerSpec    = 2
	modelNormalizerSpec = 3

	piecePiece = 1
	pieceScore = 2
	pieceType  = 3

	trainerModelType               = 3
	trainerTreatWhitespaceAsSuffix = 24
	trainerByteFallback            = 35
	trainerUnkID                   = 40
	trainerBosID                   = 41
	trainerEosID                   = 42
	trainerUnkSurface              = 44

	normName                   = 1
	normPrecompiledCharsmap    = 2
	normAddDummyPrefix         = 3
	normRemoveExtraWhitespaces = 4
	normEscapeWhitespaces      = 5
)

// SentencePiece TrainerSpec.ModelType values.
var modelTypeNames = map[uint64]string{1: "unigram", 2: "bpe", 3: "word", 4: "char"}

// modelProto holds the fields of a ModelProto the tokenizer needs, with the
// proto2 defaults.
type modelProto struct {
	pieces []string
	scores []float32
	types  []Type

	modelType      uint64
	byteFallback   bool
	wsSuffix       bool
	unkID          int64
	bosID, eosID   int64
	unkSurface     string
	hasUnkSurface  bool
	normName       string
	charsmap       int // length of precompiled_charsmap
	addDummyPrefix bool
	removeExtra    bool
	escape         bool
}

func parseModelProto(data []byte) (*Tokenizer, error) {
	m := modelProto{
		modelType:      1,
		unkID:          0,
		bosID:          1,
		eosID:          2,
		addDummyPrefix: true,
		removeExtra:    true,
		escape:         true,
	}
	err := walk(data, topMessage, func(num protowire.Number, typ protowire.Type, v field) error {
		switch num {
		case modelPieces:
			b, err := v.bytes("pieces")
			if err != nil {
				return err
			}
			return m.parsePiece(b)
		case modelTrainerSpec:
			b, err := v.bytes("trainer_spec")
			if err != nil {
				return err
			}
			return m.parseTrainerSpec(b)
		case modelNormalizerSpec:
			b, err := v.bytes("normalizer_spec")
			if err != nil {
				return err
			}
			return m.parseNormalizerSpec(b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(m.pieces) == 0 {
		return nil, errEmptyVocab
	}
	if m.modelType != 2 {
		name := modelTypeNames[m.modelType]
		if name == "" {
			name = fmt.Sprintf("%d", m.modelType)
		}
		return nil, fmt.Errorf("model type %s not supported (only bpe)", name)
	}
	if m.charsmap > 0 {
		return nil, fmt.Errorf("normalizer %q (precompiled charsmap, %d bytes) not supported (only identity)", m.normName, m.charsmap)
	}
	if m.wsSuffix {
		return nil, errors.New("treat_whitespace_as_suffix not supported")
	}
	n := int64(len(m.pieces))
	for _, s := range []struct {
		name string
		id   int64
	}{{"unk_id", m.unkID}, {"bos_id", m.bosID}, {"eos_id", m.eosID}} {
		if s.id < -1 || s.id >= n {
			return nil, fmt.Errorf("trainer_spec.%s %d out of range [0, %d)", s.name, s.id, n)
		}
	}
	if !m.byteFallback {
		for i, ty := range m.types {
			if ty == Byte {
				return nil, fmt.Errorf("byte piece %d %q found although byte_fallback is false", i, m.pieces[i])
			}
		}
	}
	v := vocab{
		pieces:       m.pieces,
		scores:       m.scores,
		types:        m.types,
		unk:          -1, // SentencePiece uses the piece typed unknown, whatever unk_id says
		bos:          int(m.bosID),
		eos:          int(m.eosID),
		addBOS:       m.bosID >= 0,
		byteFallback: m.byteFallback,
		escapeSpaces: m.escape,
		removeExtra:  m.removeExtra,
	}
	if m.addDummyPrefix {
		v.prefix = prefixAlways
	}
	if m.hasUnkSurface {
		v.unkSurface = m.unkSurface
	}
	return build(v)
}

func (m *modelProto) parsePiece(data []byte) error {
	i := len(m.pieces)
	var (
		piece string
		score float32
		typ   = Normal
	)
	err := walk(data, fmt.Sprintf("pieces[%d]", i), func(num protowire.Number, _ protowire.Type, v field) error {
		switch num {
		case piecePiece:
			b, err := v.bytes("piece")
			if err != nil {
				return err
			}
			piece = string(b)
		case pieceScore:
			x, err := v.fixed32("score")
			if err != nil {
				return err
			}
			score = math.Float32frombits(x)
		case pieceType:
			x, err := v.varint("type")
			if err != nil {
				return err
			}
			if x < uint64(Normal) || x > uint64(Byte) {
				return fmt.Errorf("type %d is not a piece type (1..6)", x)
			}
			typ = Type(x)
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.pieces = append(m.pieces, piece)
	m.scores = append(m.scores, score)
	m.types = append(m.types, typ)
	return nil
}

func (m *modelProto) parseTrainerSpec(data []byte) error {
	return walk(data, "trainer_spec", func(num protowire.Number, _ protowire.Type, v field) error {
		var err error
		switch num {
		case trainerModelType:
			m.modelType, err = v.varint("model_type")
		case trainerTreatWhitespaceAsSuffix:
			m.wsSuffix, err = v.bool("treat_whitespace_as_suffix")
		case trainerByteFallback:
			m.byteFallback, err = v.bool("byte_fallback")
		case trainerUnkID:
			m.unkID, err = v.int32("unk_id")
		case trainerBosID:
			m.bosID, err = v.int32("bos_id")
		case trainerEosID:
			m.eosID, err = v.int32("eos_id")
		case trainerUnkSurface:
			var b []byte
			b, err = v.bytes("unk_surface")
			m.unkSurface, m.hasUnkSurface = string(b), true
		}
		return err
	})
}

func (m *modelProto) parseNormalizerSpec(data []byte) error {
	return walk(data, "normalizer_spec", func(num protowire.Number, _ protowire.Type, v field) error {
		var err error
		switch num {
		case normName:
			var b []byte
			b, err = v.bytes("name")
			m.normName = string(b)
		case normPrecompiledCharsmap:
			var b []byte
			b, err = v.bytes("precompiled_charsmap")
			m.charsmap = len(b)
		case normAddDummyPrefix:
			m.addDummyPrefix, err = v.bool("add_dummy_prefix")
		case normRemoveExtraWhitespaces:
			m.removeExtra, err = v.bool("remove_extra_whitespaces")
		case normEscapeWhitespaces:
			m.escape, err = v.bool("escape_whitespaces")
		}
		return err
	})
}

// topMessage names the ModelProto in framing errors.
const topMessage = "model"

// field is one field of a protobuf message: its wire type and raw value.
type field struct {
	typ  protowire.Type
	data []byte // the value, as protowire.ConsumeFieldValue delimits it
}

// walk calls fn for every field of the message in data, in order. It checks
// the framing of every field, including those fn ignores.
func walk(data []byte, msg string, fn func(protowire.Number, protowire.Type, field) error) error {
	for off := 0; off < len(data); {
		num, typ, n := protowire.ConsumeTag(data[off:])
		if n < 0 {
			return fmt.Errorf("%s: bad field tag at byte %d: %w", msg, off, protowire.ParseError(n))
		}
		off += n
		m := protowire.ConsumeFieldValue(num, typ, data[off:])
		if m < 0 {
			return fmt.Errorf("%s: field %d at byte %d: %w", msg, num, off, protowire.ParseError(m))
		}
		if err := fn(num, typ, field{typ: typ, data: data[off : off+m]}); err != nil {
			if msg == topMessage {
				return err // nested messages name themselves
			}
			return fmt.Errorf("%s: %w", msg, err)
		}
		off += m
	}
	return nil
}

func (f field) wrongType(name string, want protowire.Type) error {
	return fmt.Errorf("field %s has wire type %s, want %s", name, wireName(f.typ), wireName(want))
}

func wireName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "varint"
	case protowire.Fixed32Type:
		return "fixed32"
	case protowire.Fixed64Type:
		return "fixed64"
	case protowire.BytesType:
		return "bytes"
	case protowire.StartGroupType:
		return "group"
	}
	return fmt.Sprintf("%d", int(t))
}

func (f field) bytes(name string) ([]byte, error) {
	if f.typ != protowire.BytesType {
		return nil, f.wrongType(name, protowire.BytesType)
	}
	b, _ := protowire.ConsumeBytes(f.data)
	return b, nil
}

func (f field) varint(name string) (uint64, error) {
	if f.typ != protowire.VarintType {
		return 0, f.wrongType(name, protowire.VarintType)
	}
	x, _ := protowire.ConsumeVarint(f.data)
	return x, nil
}

func (f field) fixed32(name string) (uint32, error) {
	if f.typ != protowire.Fixed32Type {
		return 0, f.wrongType(name, protowire.Fixed32Type)
	}
	x, _ := protowire.ConsumeFixed32(f.data)
	return x, nil
}

func (f field) bool(name string) (bool, error) {
	x, err := f.varint(name)
	return x != 0, err
}

// int32 decodes a proto int32 (negative values are sign-extended varints).
func (f field) int32(name string) (int64, error) {
	x, err := f.varint(name)
	return int64(int32(x)), err
}
