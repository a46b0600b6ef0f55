package bench

import (
	"fmt"
	"strings"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/quant"
)

// A Shape is a model shape benchmarked with random weights: the speed of a
// forward pass depends on the shape and the weight formats, not on the
// values.
type Shape struct {
	Name   string
	Config engine.Config
}

// Shapes returns the standard shapes, the two of ENGINE-NOTES §1.5 that
// llama.cpp was measured on.
func Shapes() []Shape {
	base := engine.Config{MaxSeq: 2048, NormEps: 1e-5, RopeTheta: 10000, BOS: 1, EOS: 2}
	stories, tiny := base, base
	stories.Dim, stories.HiddenDim, stories.Layers = 768, 2048, 12
	stories.Heads, stories.KVHeads, stories.HeadDim, stories.Vocab = 12, 12, 64, 32000
	stories.MaxSeq = 1024
	tiny.Dim, tiny.HiddenDim, tiny.Layers = 2048, 5632, 22
	tiny.Heads, tiny.KVHeads, tiny.HeadDim, tiny.Vocab = 32, 4, 64, 32000
	return []Shape{{"stories110m", stories}, {"tinyllama-1.1b", tiny}}
}

// ShapeByName returns a standard shape by name (case-insensitive).
func ShapeByName(name string) (Shape, error) {
	var names []string
	for _, s := range Shapes() {
		if strings.EqualFold(s.Name, name) {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Shape{}, fmt.Errorf("bench: unknown shape %q (have %s)", name, strings.Join(names, ", "))
}

// Params is the number of weights of the shape (untied embedding and LM
// head, norms included).
func (s Shape) Params() int64 {
	c := &s.Config
	layer := 2*int64(c.Dim)*int64(c.Dim) + 2*int64(c.KVDim())*int64(c.Dim) + 3*int64(c.Dim)*int64(c.HiddenDim) + 2*int64(c.Dim)
	return int64(c.Layers)*layer + 2*int64(c.Vocab)*int64(c.Dim) + int64(c.Dim)
}

// A DType is how a benchmarked model stores its weights: a quant spec
// (DESIGN §3) applied to every matrix, embedding and LM head included, as
// llama-quantize writes a file of that type. Two specs follow
// llama-quantize's default mixtures unless Pure is set, so that the rows
// compare with the llama.cpp figures of ENGINE-NOTES §1.5:
//   - q4_0, q4_1, q5_0, q5_1: the LM head is q6_k (llama-quantize keeps
//     output.weight at Q6_K for these types);
//   - q4_k: llama-quantize's Q4_K_M (its "Q4_K" is an alias): q4_k, with the
//     LM head and, in the layers use_more_bits picks (the first and last
//     eighth and every third in between), attn.v and mlp.down at q6_k.
//
// The a8 option of the spec (q8_0:a8) runs every quantized matrix with int8
// activations, as llama.cpp does; without it activations stay float32,
// divergo's default.
type DType struct {
	Spec quant.Spec
	Pure bool
}

// ParseDType reads a dtype: a quant spec, optionally followed by ":pure"
// for a uniform file (llama-quantize --pure).
func ParseDType(s string) (DType, error) {
	var d DType
	rest := strings.TrimSpace(s)
	if base, ok := strings.CutSuffix(strings.ToLower(rest), ":pure"); ok {
		d.Pure, rest = true, base
	}
	spec, err := quant.ParseSpec(rest)
	if err != nil {
		return DType{}, fmt.Errorf("bench: dtype %q: %w", s, err)
	}
	if spec.IsPrune() {
		return DType{}, fmt.Errorf("bench: dtype %q: pruning is not a storage type", s)
	}
	d.Spec = spec
	return d, nil
}

// ParseDTypes reads a comma-separated list of dtypes.
func ParseDTypes(s string) ([]DType, error) {
	var out []DType
	for _, f := range strings.Split(s, ",") {
		d, err := ParseDType(f)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// String returns the dtype as ParseDType reads it.
func (d DType) String() string {
	if d.Pure && d.mixed() {
		return d.Spec.String() + ":pure"
	}
	return d.Spec.String()
}

// mixed reports whether llama-quantize would write a mixture for the spec.
func (d DType) mixed() bool {
	switch d.Spec.Format {
	case "q4_0", "q4_1", "q5_0", "q5_1", "q4_k":
		return true
	}
	return false
}

// Plan returns the quant plan that gives a model of the shape this dtype
// (nil for f32: the random model as it is).
func (d DType) Plan(c *engine.Config) (*quant.Plan, error) {
	if d.Spec.Format == "f32" {
		return nil, nil
	}
	spec := d.Spec.String()
	rules := []string{"*=" + spec}
	if !d.Pure && d.mixed() {
		q6 := "q6_k"
		if d.Spec.A8 {
			q6 += ":a8"
		}
		rules = append(rules, "lm_head="+q6)
		if d.Spec.Format == "q4_k" {
			for l := 0; l < c.Layers; l++ {
				if useMoreBits(l, c.Layers) {
					rules = append(rules, fmt.Sprintf("layers.%d.attn.v=%s", l, q6), fmt.Sprintf("layers.%d.mlp.down=%s", l, q6))
				}
			}
		}
	}
	return quant.ParsePlan(strings.Join(rules, ","))
}

// useMoreBits is llama-quantize's choice of layers that get more bits in
// the _M mixtures: the first and last eighth, and every third in between.
func useMoreBits(layer, layers int) bool {
	return layer < layers/8 || layer >= 7*layers/8 || (layer-layers/8)%3 == 2
}

// llamaName is the llama.cpp type name of the dtype's file, for matching
// the ENGINE-NOTES §1.5 figures ("" when there is no counterpart).
func (d DType) llamaName() string {
	if d.Pure && d.mixed() {
		return ""
	}
	switch d.Spec.Format {
	case "f16":
		return "F16"
	case "q8_0":
		return "Q8_0"
	case "q4_0":
		return "Q4_0"
	case "q4_k":
		return "Q4_K_M"
	}
	return ""
}
