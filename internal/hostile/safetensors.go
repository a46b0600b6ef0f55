package hostile

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
)

// An stEntry is one tensor of a safetensors header as written.
type stEntry struct {
	name       string
	dtype      string
	shape      []int64
	begin, end int64
}

// stModel is a safetensors file before encoding. Edits change the entries
// (written in order, repeats kept), the header length or the header text
// itself; the data section keeps the base layout.
type stModel struct {
	entries   []stEntry
	headerLen *uint64 // length written in the first 8 bytes (nil: the real one)
	header    *string // header text replacing the encoded entries
	data      []byte
}

// hfNames maps base roles to Hugging Face tensor names.
var hfNames = map[string]string{
	"embed": "model.embed_tokens.weight", "norm": "model.norm.weight",
	"layers.0.attn_norm": "model.layers.0.input_layernorm.weight",
	"layers.0.ffn_norm":  "model.layers.0.post_attention_layernorm.weight",
	"layers.0.attn.q":    "model.layers.0.self_attn.q_proj.weight",
	"layers.0.attn.k":    "model.layers.0.self_attn.k_proj.weight",
	"layers.0.attn.v":    "model.layers.0.self_attn.v_proj.weight",
	"layers.0.attn.o":    "model.layers.0.self_attn.o_proj.weight",
	"layers.0.mlp.gate":  "model.layers.0.mlp.gate_proj.weight",
	"layers.0.mlp.up":    "model.layers.0.mlp.up_proj.weight",
	"layers.0.mlp.down":  "model.layers.0.mlp.down_proj.weight",
}

// baseSafetensors lays out the base model as a float32 model.safetensors.
func baseSafetensors(editTensors func([]tensor)) *stModel {
	ts := baseTensors()
	if editTensors != nil {
		editTensors(ts)
	}
	s := &stModel{}
	for _, t := range ts {
		shape := make([]int64, len(t.shape))
		for i, d := range t.shape {
			shape[i] = int64(d)
		}
		begin := int64(len(s.data))
		s.data = appendF32(s.data, t.data)
		s.entries = append(s.entries, stEntry{hfNames[t.role], "F32", shape, begin, int64(len(s.data))})
	}
	return s
}

// entry returns the entry for a base role.
func (s *stModel) entry(role string) *stEntry {
	for i := range s.entries {
		if s.entries[i].name == hfNames[role] {
			return &s.entries[i]
		}
	}
	panic("hostile: no safetensors tensor " + role)
}

// encode writes the file: header length, JSON header (padded with spaces
// to a multiple of 8 bytes, as the reference writer does), data.
func (s *stModel) encode() []byte {
	var h string
	if s.header != nil {
		h = *s.header
	} else {
		var parts []string
		parts = append(parts, `"__metadata__":{"format":"pt"}`)
		for _, e := range s.entries {
			name, _ := json.Marshal(e.name)
			shape, _ := json.Marshal(e.shape)
			parts = append(parts, fmt.Sprintf(`%s:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, name, e.dtype, shape, e.begin, e.end))
		}
		h = "{" + strings.Join(parts, ",") + "}"
		for len(h)%8 != 0 {
			h += " "
		}
	}
	n := uint64(len(h))
	if s.headerLen != nil {
		n = *s.headerLen
	}
	b := binary.LittleEndian.AppendUint64(nil, n)
	b = append(b, h...)
	return append(b, s.data...)
}

// hfConfig is the base config.json as a map, so cases can set any value.
func hfConfig() map[string]any {
	return map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"hidden_size":             baseDim,
		"intermediate_size":       baseHidden,
		"num_hidden_layers":       baseLayers,
		"num_attention_heads":     baseHeads,
		"num_key_value_heads":     baseKVHeads,
		"vocab_size":              baseVocab,
		"max_position_embeddings": baseSeq,
		"rms_norm_eps":            1e-5,
		"rope_theta":              10000.0,
		"hidden_act":              "silu",
		"tie_word_embeddings":     true,
		"bos_token_id":            1,
		"eos_token_id":            2,
	}
}

func encodeJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}
