package engine

import (
	"fmt"
	"strconv"
	"strings"
)

// Component names (DESIGN §3): layers.L.attn.q|k|v|o, layers.L.mlp.gate|up|down,
// embed, lm_head. A component is one weight matrix.

// Matrix kinds inside a layer, in forward-pass order.
var layerKinds = []string{"attn.q", "attn.k", "attn.v", "attn.o", "mlp.gate", "mlp.up", "mlp.down"}

// LayerKinds returns the seven matrix kinds of a layer ("attn.q" … "mlp.down")
// in forward-pass order.
func LayerKinds() []string { return append([]string(nil), layerKinds...) }

// ComponentName returns "layers.L.KIND".
func ComponentName(layer int, kind string) string {
	return "layers." + strconv.Itoa(layer) + "." + kind
}

// ParseComponent splits a component name into its layer (−1 for embed and
// lm_head) and kind.
func ParseComponent(name string) (layer int, kind string, err error) {
	switch name {
	case "embed", "lm_head":
		return -1, name, nil
	}
	rest, ok := strings.CutPrefix(name, "layers.")
	if ok {
		num, k, found := strings.Cut(rest, ".")
		l, err := strconv.Atoi(num)
		if found && err == nil && l >= 0 && isLayerKind(k) {
			return l, k, nil
		}
	}
	return 0, "", fmt.Errorf("unknown component %q (want layers.L.attn.q|k|v|o, layers.L.mlp.gate|up|down, embed or lm_head)", name)
}

func isLayerKind(k string) bool {
	for _, x := range layerKinds {
		if x == k {
			return true
		}
	}
	return false
}

// tensorRole is what a checkpoint tensor is in the model: a component, a
// norm weight (kind "attn_norm", "ffn_norm", "norm"), or nothing we use.
type tensorRole struct {
	layer int    // −1 outside layers
	kind  string // component kind, "attn_norm", "ffn_norm", "norm", "embed", "lm_head"
}

var hfLayerNames = map[string]string{
	"self_attn.q_proj": "attn.q", "self_attn.k_proj": "attn.k", "self_attn.v_proj": "attn.v",
	"self_attn.o_proj": "attn.o", "mlp.gate_proj": "mlp.gate", "mlp.up_proj": "mlp.up",
	"mlp.down_proj": "mlp.down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
}

var ggufLayerNames = map[string]string{
	"attn_q": "attn.q", "attn_k": "attn.k", "attn_v": "attn.v", "attn_output": "attn.o",
	"ffn_gate": "mlp.gate", "ffn_up": "mlp.up", "ffn_down": "mlp.down",
	"attn_norm": "attn_norm", "ffn_norm": "ffn_norm",
}

// hfRole maps a Hugging Face tensor name (model.layers.3.self_attn.q_proj.weight).
func hfRole(name string) (tensorRole, bool) {
	switch name {
	case "model.embed_tokens.weight":
		return tensorRole{-1, "embed"}, true
	case "lm_head.weight":
		return tensorRole{-1, "lm_head"}, true
	case "model.norm.weight":
		return tensorRole{-1, "norm"}, true
	}
	return layerRole(name, "model.layers.", hfLayerNames)
}

// ggufRole maps a GGUF tensor name (blk.3.attn_q.weight).
func ggufRole(name string) (tensorRole, bool) {
	switch name {
	case "token_embd.weight":
		return tensorRole{-1, "embed"}, true
	case "output.weight":
		return tensorRole{-1, "lm_head"}, true
	case "output_norm.weight":
		return tensorRole{-1, "norm"}, true
	}
	return layerRole(name, "blk.", ggufLayerNames)
}

func layerRole(name, prefix string, kinds map[string]string) (tensorRole, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return tensorRole{}, false
	}
	rest, ok = strings.CutSuffix(rest, ".weight")
	if !ok {
		return tensorRole{}, false
	}
	num, sub, ok := strings.Cut(rest, ".")
	if !ok {
		return tensorRole{}, false
	}
	l, err := strconv.Atoi(num)
	if err != nil || l < 0 || strconv.Itoa(l) != num {
		return tensorRole{}, false
	}
	kind, ok := kinds[sub]
	if !ok {
		return tensorRole{}, false
	}
	return tensorRole{l, kind}, true
}

// ComponentOfTensor maps a Hugging Face or GGUF tensor name to its component
// name ("model.layers.3.self_attn.q_proj.weight" and "blk.3.attn_q.weight"
// both give "layers.3.attn.q"). Norm weights and unknown names give false.
func ComponentOfTensor(name string) (string, bool) {
	r, ok := hfRole(name)
	if !ok {
		r, ok = ggufRole(name)
	}
	if !ok {
		return "", false
	}
	switch r.kind {
	case "embed", "lm_head":
		return r.kind, true
	case "attn_norm", "ffn_norm", "norm":
		return "", false
	}
	return ComponentName(r.layer, r.kind), true
}

// GGUFTensorName returns the GGUF tensor name of a component
// ("layers.3.attn.q" → "blk.3.attn_q.weight").
func GGUFTensorName(component string) (string, error) {
	return tensorName(component, "blk.", "token_embd.weight", "output.weight", ggufLayerNames)
}

// HFTensorName returns the Hugging Face tensor name of a component
// ("layers.3.attn.q" → "model.layers.3.self_attn.q_proj.weight").
func HFTensorName(component string) (string, error) {
	return tensorName(component, "model.layers.", "model.embed_tokens.weight", "lm_head.weight", hfLayerNames)
}

func tensorName(component, prefix, embed, head string, kinds map[string]string) (string, error) {
	l, kind, err := ParseComponent(component)
	if err != nil {
		return "", err
	}
	switch kind {
	case "embed":
		return embed, nil
	case "lm_head":
		return head, nil
	}
	for file, k := range kinds {
		if k == kind {
			return prefix + strconv.Itoa(l) + "." + file + ".weight", nil
		}
	}
	return "", fmt.Errorf("unknown component %q", component)
}
