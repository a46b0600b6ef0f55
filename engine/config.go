package engine

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/divergo/divergo/gguf"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/llama2c"
)

// RoPEStyle is the pairing of dimensions that rotary embeddings rotate
// together. It follows the source format, not the model family
// (ENGINE-NOTES §1.8): GGUF and llama2.c keep Meta's q/k row order and pair
// adjacent values; Hugging Face checkpoints permute q/k rows and pair x[i]
// with x[i+d/2].
type RoPEStyle int

const (
	// RoPEInterleaved pairs (x[2i], x[2i+1]): GGUF llama and llama2.c.
	RoPEInterleaved RoPEStyle = iota
	// RoPENeoX pairs (x[i], x[i+d/2]), HF's rotate_half.
	RoPENeoX
)

func (s RoPEStyle) String() string {
	if s == RoPENeoX {
		return "neox"
	}
	return "interleaved"
}

// Config is a Llama-2-family model's shape and hyperparameters, from any
// source format.
type Config struct {
	Dim       int     `json:"dim"`        // hidden size
	HiddenDim int     `json:"hidden_dim"` // MLP intermediate size
	Layers    int     `json:"layers"`
	Heads     int     `json:"heads"`
	KVHeads   int     `json:"kv_heads"`
	HeadDim   int     `json:"head_dim"`
	Vocab     int     `json:"vocab"`
	MaxSeq    int     `json:"max_seq"` // context length the model was configured for
	NormEps   float32 `json:"norm_eps"`
	RopeTheta float32 `json:"rope_theta"`
	// RoPE is the dimension pairing, chosen by the source format.
	RoPE RoPEStyle `json:"-"`
	// Angles is how RoPE angles are rounded, matching the reference
	// implementation of the source format (ggml for GGUF/llama2.c, HF for
	// safetensors).
	Angles kernels.RoPEAngles `json:"-"`
	BOS    int                `json:"bos"`
	EOS    int                `json:"eos"`
	// InitializerRange is the standard deviation of HF's random init (0.02).
	InitializerRange float64 `json:"initializer_range"`
}

// KVDim is the width of one position's keys (or values): KVHeads·HeadDim.
func (c *Config) KVDim() int { return c.KVHeads * c.HeadDim }

// Limits on shapes accepted from files; far above any Llama-2-family model,
// they keep a hostile header from sizing an allocation.
const (
	maxDim    = 1 << 16
	maxHidden = 1 << 18
	maxLayers = 1024
	maxVocab  = 1 << 22
	maxSeq    = 1 << 22
)

// Validate reports whether the configuration describes a runnable model.
func (c *Config) Validate() error {
	check := func(name string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("config: %s = %d out of range [%d, %d]", name, v, lo, hi)
		}
		return nil
	}
	for _, e := range []error{
		check("dim", c.Dim, 1, maxDim),
		check("hidden_dim", c.HiddenDim, 1, maxHidden),
		check("layers", c.Layers, 1, maxLayers),
		check("heads", c.Heads, 1, maxDim),
		check("kv_heads", c.KVHeads, 1, maxDim),
		check("vocab", c.Vocab, 1, maxVocab),
		check("max_seq", c.MaxSeq, 1, maxSeq),
	} {
		if e != nil {
			return e
		}
	}
	if c.HeadDim <= 0 || c.HeadDim%2 != 0 || c.HeadDim > c.Dim {
		return fmt.Errorf("config: head dimension %d must be even, positive and at most dim %d", c.HeadDim, c.Dim)
	}
	if c.Heads*c.HeadDim != c.Dim {
		return fmt.Errorf("config: heads (%d) × head dimension (%d) must equal dim (%d)", c.Heads, c.HeadDim, c.Dim)
	}
	if c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("config: heads (%d) must be a multiple of kv_heads (%d)", c.Heads, c.KVHeads)
	}
	if !(c.NormEps > 0) || c.NormEps > 1 {
		return fmt.Errorf("config: rms norm eps %v must be in (0, 1]", c.NormEps)
	}
	if !(c.RopeTheta > 1) || math.IsInf(float64(c.RopeTheta), 0) {
		return fmt.Errorf("config: rope theta %v must be a finite number > 1", c.RopeTheta)
	}
	return nil
}

// hfConfig is the part of a Hugging Face config.json that a Llama model uses.
type hfConfig struct {
	ModelType         string          `json:"model_type"`
	Architectures     []string        `json:"architectures"`
	HiddenSize        int             `json:"hidden_size"`
	IntermediateSize  int             `json:"intermediate_size"`
	NumHiddenLayers   int             `json:"num_hidden_layers"`
	NumAttentionHeads int             `json:"num_attention_heads"`
	NumKeyValueHeads  *int            `json:"num_key_value_heads"`
	HeadDim           *int            `json:"head_dim"`
	VocabSize         int             `json:"vocab_size"`
	MaxPosition       int             `json:"max_position_embeddings"`
	RMSNormEps        *float64        `json:"rms_norm_eps"`
	RopeTheta         *float64        `json:"rope_theta"`
	RopeScaling       json.RawMessage `json:"rope_scaling"`
	HiddenAct         string          `json:"hidden_act"`
	TieWordEmbeddings *bool           `json:"tie_word_embeddings"`
	BOSTokenID        json.RawMessage `json:"bos_token_id"`
	EOSTokenID        json.RawMessage `json:"eos_token_id"`
	InitializerRange  *float64        `json:"initializer_range"`
	AttentionBias     bool            `json:"attention_bias"`
	MLPBias           bool            `json:"mlp_bias"`
}

// parseHFConfig reads a config.json. It returns the config and whether the
// word embeddings are tied (HF's default for Llama is untied).
func parseHFConfig(data []byte) (Config, bool, error) {
	var h hfConfig
	if err := json.Unmarshal(data, &h); err != nil {
		return Config{}, false, fmt.Errorf("config.json: %w", err)
	}
	if h.ModelType != "" && h.ModelType != "llama" {
		return Config{}, false, fmt.Errorf("config.json: model_type %q is not supported (llama only)", h.ModelType)
	}
	if h.HiddenAct != "" && h.HiddenAct != "silu" {
		return Config{}, false, fmt.Errorf("config.json: hidden_act %q is not supported (silu only)", h.HiddenAct)
	}
	if len(h.RopeScaling) > 0 && string(h.RopeScaling) != "null" {
		return Config{}, false, fmt.Errorf("config.json: rope_scaling %s is not supported", h.RopeScaling)
	}
	if h.AttentionBias || h.MLPBias {
		return Config{}, false, fmt.Errorf("config.json: attention or MLP biases are not supported")
	}
	c := Config{
		Dim: h.HiddenSize, HiddenDim: h.IntermediateSize, Layers: h.NumHiddenLayers,
		Heads: h.NumAttentionHeads, KVHeads: h.NumAttentionHeads, Vocab: h.VocabSize,
		MaxSeq: h.MaxPosition, NormEps: 1e-6, RopeTheta: 10000,
		RoPE: RoPENeoX, Angles: kernels.AnglesHF, BOS: 1, EOS: 2, InitializerRange: 0.02,
	}
	if h.NumKeyValueHeads != nil {
		c.KVHeads = *h.NumKeyValueHeads
	}
	if h.RMSNormEps != nil {
		c.NormEps = float32(*h.RMSNormEps)
	}
	if h.RopeTheta != nil {
		c.RopeTheta = float32(*h.RopeTheta)
	}
	if h.InitializerRange != nil {
		c.InitializerRange = *h.InitializerRange
	}
	if c.Heads > 0 {
		c.HeadDim = c.Dim / c.Heads
	}
	if h.HeadDim != nil {
		c.HeadDim = *h.HeadDim
	}
	if c.MaxSeq == 0 {
		c.MaxSeq = 2048
	}
	var err error
	if c.BOS, err = tokenID(h.BOSTokenID, c.BOS); err != nil {
		return Config{}, false, fmt.Errorf("config.json: bos_token_id: %w", err)
	}
	if c.EOS, err = tokenID(h.EOSTokenID, c.EOS); err != nil {
		return Config{}, false, fmt.Errorf("config.json: eos_token_id: %w", err)
	}
	tied := h.TieWordEmbeddings != nil && *h.TieWordEmbeddings
	if err := c.Validate(); err != nil {
		return Config{}, false, fmt.Errorf("config.json: %w", err)
	}
	return c, tied, nil
}

// tokenID reads a token id that HF may write as a number, a list (first
// element used) or null.
func tokenID(raw json.RawMessage, def int) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	var id int
	if err := json.Unmarshal(raw, &id); err == nil {
		return id, nil
	}
	var ids []int
	if err := json.Unmarshal(raw, &ids); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return def, nil
	}
	return ids[0], nil
}

// ggufConfig reads the llama.* hyperparameters of a GGUF file.
func ggufConfig(md gguf.Metadata) (Config, error) {
	arch, err := md.String("general.architecture")
	if err != nil {
		return Config{}, fmt.Errorf("general.architecture: %w", err)
	}
	if arch != "llama" {
		return Config{}, fmt.Errorf("general.architecture %q is not supported (llama only)", arch)
	}
	geti := func(key string, required bool, def int) (int, error) {
		v, err := md.Uint("llama." + key)
		if err != nil {
			if !required {
				if _, ok := md.Get("llama." + key); !ok {
					return def, nil
				}
			}
			return 0, fmt.Errorf("llama.%s: %w", key, err)
		}
		if v > math.MaxInt32 {
			return 0, fmt.Errorf("llama.%s = %d too large", key, v)
		}
		return int(v), nil
	}
	getf := func(key string, def float64) (float64, error) {
		if _, ok := md.Get("llama." + key); !ok {
			return def, nil
		}
		v, err := md.Float("llama." + key)
		if err != nil {
			return 0, fmt.Errorf("llama.%s: %w", key, err)
		}
		return v, nil
	}
	c := Config{RoPE: RoPEInterleaved, Angles: kernels.AnglesGGML, BOS: 1, EOS: 2, InitializerRange: 0.02}
	fields := []struct {
		key      string
		dst      *int
		required bool
	}{
		{"embedding_length", &c.Dim, true},
		{"feed_forward_length", &c.HiddenDim, true},
		{"block_count", &c.Layers, true},
		{"attention.head_count", &c.Heads, true},
		{"context_length", &c.MaxSeq, true},
	}
	for _, f := range fields {
		if *f.dst, err = geti(f.key, f.required, 0); err != nil {
			return Config{}, err
		}
	}
	if c.KVHeads, err = geti("attention.head_count_kv", false, c.Heads); err != nil {
		return Config{}, err
	}
	if c.Heads > 0 {
		c.HeadDim = c.Dim / c.Heads
	}
	if c.HeadDim, err = geti("rope.dimension_count", false, c.HeadDim); err != nil {
		return Config{}, err
	}
	if c.Vocab, err = geti("vocab_size", false, 0); err != nil {
		return Config{}, err
	}
	eps, err := getf("attention.layer_norm_rms_epsilon", 1e-5)
	if err != nil {
		return Config{}, err
	}
	theta, err := getf("rope.freq_base", 10000)
	if err != nil {
		return Config{}, err
	}
	c.NormEps, c.RopeTheta = float32(eps), float32(theta)
	if s, err := md.String("llama.rope.scaling.type"); err == nil && s != "" && s != "none" {
		return Config{}, fmt.Errorf("llama.rope.scaling.type %q is not supported", s)
	}
	if id, err := md.Uint("tokenizer.ggml.bos_token_id"); err == nil {
		c.BOS = int(id)
	}
	if id, err := md.Uint("tokenizer.ggml.eos_token_id"); err == nil {
		c.EOS = int(id)
	}
	return c, nil
}

// llama2cConfig converts a llama2.c checkpoint header. llama2.c uses
// adjacent-pair RoPE with angles pos·10000^(−2i/d) computed like ggml's.
func llama2cConfig(h llama2c.Config) Config {
	c := Config{
		Dim: h.Dim, HiddenDim: h.HiddenDim, Layers: h.Layers, Heads: h.Heads, KVHeads: h.KVHeads,
		Vocab: h.Vocab, MaxSeq: h.SeqLen, NormEps: 1e-5, RopeTheta: 10000,
		RoPE: RoPEInterleaved, Angles: kernels.AnglesGGML, BOS: 1, EOS: 2, InitializerRange: 0.02,
	}
	if h.Heads > 0 {
		c.HeadDim = h.Dim / h.Heads
	}
	return c
}
