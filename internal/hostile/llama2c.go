package hostile

import (
	"encoding/binary"
	"math"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// l2cModel is a legacy llama2.c checkpoint before encoding: the seven
// header fields and the float32 weights in llama2.c's order.
type l2cModel struct {
	header [7]int32 // dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
	data   []byte
}

// l2cOrder is the legacy layout: token_embedding, rms_att, wq, wk, wv, wo,
// rms_ffn, w1 (gate), w2 (down), w3 (up), rms_final.
var l2cOrder = []string{"embed", "layers.0.attn_norm", "layers.0.attn.q", "layers.0.attn.k",
	"layers.0.attn.v", "layers.0.attn.o", "layers.0.ffn_norm", "layers.0.mlp.gate",
	"layers.0.mlp.down", "layers.0.mlp.up", "norm"}

// baseLlama2C lays out the base model as a legacy llama2.c .bin with a
// shared classifier (positive vocab_size) and no freq_cis tables.
func baseLlama2C(editTensors func([]tensor)) *l2cModel {
	ts := baseTensors()
	if editTensors != nil {
		editTensors(ts)
	}
	m := &l2cModel{header: [7]int32{baseDim, baseHidden, baseLayers, baseHeads, baseKVHeads, int32(baseVocab), baseSeq}}
	for _, role := range l2cOrder {
		m.data = appendF32(m.data, find(ts, role).data)
	}
	return m
}

func (m *l2cModel) encode() []byte {
	var b []byte
	for _, v := range m.header {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return append(b, m.data...)
}

// A binPiece is one token of a llama2.c tokenizer.bin as written.
type binPiece struct {
	score  float32
	length int32 // the length field (normally len(text))
	text   string
}

// tokBin is a llama2.c tokenizer.bin before encoding.
type tokBin struct {
	maxLen int32
	pieces []binPiece
}

// baseTokBin spells the base vocabulary as llama2.c's tokenizer.py does:
// "▁" as a space, BOS and EOS wrapped in newlines.
func baseTokBin() *tokBin {
	pieces, scores, _ := vocab()
	t := &tokBin{}
	for i, p := range pieces {
		switch p {
		case "<s>", "</s>":
			p = "\n" + p + "\n"
		default:
			p = strings.ReplaceAll(p, "▁", " ")
		}
		t.pieces = append(t.pieces, binPiece{scores[i], int32(len(p)), p})
		t.maxLen = max(t.maxLen, int32(len(p)))
	}
	return t
}

func (t *tokBin) encode() []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(t.maxLen))
	for _, p := range t.pieces {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(p.score))
		b = binary.LittleEndian.AppendUint32(b, uint32(p.length))
		b = append(b, p.text...)
	}
	return b
}

// A spPiece is one SentencePiece of a tokenizer.model.
type spPiece struct {
	piece string
	score float32
	typ   int32
}

// baseSPModel returns the base vocabulary as a SentencePiece ModelProto
// (BPE, identity normalizer, dummy prefix), encoded by encodeSPModel.
func baseSPModel() []spPiece {
	pieces, scores, types := vocab()
	sp := make([]spPiece, len(pieces))
	for i := range pieces {
		sp[i] = spPiece{pieces[i], scores[i], types[i]}
	}
	return sp
}

// SentencePiece ModelProto field numbers.
const (
	spPieces, spTrainer, spNormalizer = 1, 2, 3
	spPiecePiece, spPieceScore        = 1, 2
	spPieceType                       = 3
	spTrainerModelType                = 3
	spNormName, spNormDummyPrefix     = 1, 3
	spNormRemoveExtra, spNormEscape   = 4, 5
)

func encodeSPModel(pieces []spPiece) []byte {
	var b []byte
	for _, p := range pieces {
		var m []byte
		m = protowire.AppendTag(m, spPiecePiece, protowire.BytesType)
		m = protowire.AppendString(m, p.piece)
		m = protowire.AppendTag(m, spPieceScore, protowire.Fixed32Type)
		m = protowire.AppendFixed32(m, math.Float32bits(p.score))
		m = protowire.AppendTag(m, spPieceType, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(p.typ))
		b = protowire.AppendTag(b, spPieces, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	var tr []byte
	tr = protowire.AppendTag(tr, spTrainerModelType, protowire.VarintType)
	tr = protowire.AppendVarint(tr, 2) // BPE
	b = protowire.AppendTag(b, spTrainer, protowire.BytesType)
	b = protowire.AppendBytes(b, tr)
	var n []byte
	n = protowire.AppendTag(n, spNormName, protowire.BytesType)
	n = protowire.AppendString(n, "identity")
	n = protowire.AppendTag(n, spNormDummyPrefix, protowire.VarintType)
	n = protowire.AppendVarint(n, 1)
	n = protowire.AppendTag(n, spNormRemoveExtra, protowire.VarintType)
	n = protowire.AppendVarint(n, 0)
	n = protowire.AppendTag(n, spNormEscape, protowire.VarintType)
	n = protowire.AppendVarint(n, 1)
	b = protowire.AppendTag(b, spNormalizer, protowire.BytesType)
	return protowire.AppendBytes(b, n)
}
