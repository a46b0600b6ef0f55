package hostile

import (
	"encoding/binary"
	"math"
)

// GGUF value types and the ggml type of float32 data.
const (
	ggufU32    = 4
	ggufI32    = 5
	ggufF32    = 6
	ggufString = 8
	ggufArray  = 9
	ggufU64    = 10
	ggmlF32    = 0
	ggufAlign  = 32
)

// A ggufKV is one metadata pair with its value already encoded, so that a
// case can write any bytes after the type.
type ggufKV struct {
	key string
	typ uint32
	val []byte
}

// A ggufInfo is one tensor info as written; data holds the bytes placed at
// the tensor's offset when the file was laid out.
type ggufInfo struct {
	name   string
	dims   []uint64 // ggml order: columns first
	typ    uint32
	offset uint64
}

// ggufModel is a GGUF file before encoding. Edits change any field; the
// data section keeps the layout of the base tensors.
type ggufModel struct {
	nTensors, nKV *uint64 // counts written in the header (nil: the real ones)
	kvs           []ggufKV
	infos         []ggufInfo
	data          []byte
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func ggufStr(s string) []byte { return append(le64(uint64(len(s))), s...) }

func kvU32(key string, v uint32) ggufKV  { return ggufKV{key, ggufU32, le32(v)} }
func kvF32(key string, v float32) ggufKV { return ggufKV{key, ggufF32, le32(math.Float32bits(v))} }
func kvStr(key, v string) ggufKV         { return ggufKV{key, ggufString, ggufStr(v)} }

func kvStrings(key string, v []string) ggufKV {
	b := append(le32(ggufString), le64(uint64(len(v)))...)
	for _, s := range v {
		b = append(b, ggufStr(s)...)
	}
	return ggufKV{key, ggufArray, b}
}

func kvF32s(key string, v []float32) ggufKV {
	b := append(le32(ggufF32), le64(uint64(len(v)))...)
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return ggufKV{key, ggufArray, b}
}

func kvI32s(key string, v []int32) ggufKV {
	b := append(le32(ggufI32), le64(uint64(len(v)))...)
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return ggufKV{key, ggufArray, b}
}

// ggufNames maps base roles to GGUF tensor names.
var ggufNames = map[string]string{
	"embed": "token_embd.weight", "norm": "output_norm.weight",
	"layers.0.attn_norm": "blk.0.attn_norm.weight", "layers.0.ffn_norm": "blk.0.ffn_norm.weight",
	"layers.0.attn.q": "blk.0.attn_q.weight", "layers.0.attn.k": "blk.0.attn_k.weight",
	"layers.0.attn.v": "blk.0.attn_v.weight", "layers.0.attn.o": "blk.0.attn_output.weight",
	"layers.0.mlp.gate": "blk.0.ffn_gate.weight", "layers.0.mlp.up": "blk.0.ffn_up.weight",
	"layers.0.mlp.down": "blk.0.ffn_down.weight",
}

// baseGGUF lays out the base model as a llama.cpp GGUF file would hold it:
// llama.* hyperparameters, the tokenizer.ggml.* vocabulary, float32 tensors
// at aligned offsets. editTensors, when set, changes the weights first.
func baseGGUF(editTensors func([]tensor)) *ggufModel {
	pieces, scores, types := vocab()
	g := &ggufModel{kvs: []ggufKV{
		kvStr("general.architecture", "llama"),
		kvU32("llama.context_length", baseSeq),
		kvU32("llama.embedding_length", baseDim),
		kvU32("llama.feed_forward_length", baseHidden),
		kvU32("llama.block_count", baseLayers),
		kvU32("llama.attention.head_count", baseHeads),
		kvU32("llama.attention.head_count_kv", baseKVHeads),
		kvF32("llama.attention.layer_norm_rms_epsilon", 1e-5),
		kvStr("tokenizer.ggml.model", "llama"),
		kvStrings("tokenizer.ggml.tokens", pieces),
		kvF32s("tokenizer.ggml.scores", scores),
		kvI32s("tokenizer.ggml.token_type", types),
		kvU32("tokenizer.ggml.bos_token_id", 1),
		kvU32("tokenizer.ggml.eos_token_id", 2),
	}}
	ts := baseTensors()
	if editTensors != nil {
		editTensors(ts)
	}
	for _, t := range ts {
		dims := make([]uint64, len(t.shape))
		for i, d := range t.shape {
			dims[len(t.shape)-1-i] = uint64(d)
		}
		g.infos = append(g.infos, ggufInfo{ggufNames[t.role], dims, ggmlF32, uint64(len(g.data))})
		g.data = appendF32(g.data, t.data)
		for len(g.data)%ggufAlign != 0 {
			g.data = append(g.data, 0)
		}
	}
	return g
}

func appendF32(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// kv returns the pair with the key.
func (g *ggufModel) kv(key string) *ggufKV {
	for i := range g.kvs {
		if g.kvs[i].key == key {
			return &g.kvs[i]
		}
	}
	panic("hostile: no GGUF key " + key)
}

// info returns the tensor info for a base role.
func (g *ggufModel) info(role string) *ggufInfo {
	for i := range g.infos {
		if g.infos[i].name == ggufNames[role] {
			return &g.infos[i]
		}
	}
	panic("hostile: no GGUF tensor " + role)
}

// encode writes the file: header, metadata, tensor infos, padding, data.
func (g *ggufModel) encode() []byte {
	b := []byte("GGUF")
	b = append(b, le32(3)...)
	nt, nkv := uint64(len(g.infos)), uint64(len(g.kvs))
	if g.nTensors != nil {
		nt = *g.nTensors
	}
	if g.nKV != nil {
		nkv = *g.nKV
	}
	b = append(b, le64(nt)...)
	b = append(b, le64(nkv)...)
	for _, kv := range g.kvs {
		b = append(b, ggufStr(kv.key)...)
		b = append(b, le32(kv.typ)...)
		b = append(b, kv.val...)
	}
	for _, t := range g.infos {
		b = append(b, ggufStr(t.name)...)
		b = append(b, le32(uint32(len(t.dims)))...)
		for _, d := range t.dims {
			b = append(b, le64(d)...)
		}
		b = append(b, le32(t.typ)...)
		b = append(b, le64(t.offset)...)
	}
	for len(b)%ggufAlign != 0 {
		b = append(b, 0)
	}
	return append(b, g.data...)
}
