package hostile

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// The base model: one layer, grouped-query attention (2 heads sharing one
// key/value head), tied embeddings, 64 pieces without byte fallback. Its
// files are a few kilobytes, so every case is cheap to write, load and run.
const (
	baseDim     = 16
	baseHidden  = 32
	baseLayers  = 1
	baseHeads   = 2
	baseKVHeads = 1
	baseSeq     = 64
	headDim     = baseDim / baseHeads
	kvDim       = baseKVHeads * headDim
)

// SentencePiece piece types.
const (
	typeNormal  = 1
	typeUnknown = 2
	typeControl = 3
)

// basePieces is the vocabulary: <unk>, <s>, </s>, "▁", the letters, and
// pieces enough to spell "Once upon a time" in a few tokens.
var basePieces = func() []string {
	p := []string{"<unk>", "<s>", "</s>", "▁"}
	for c := 'a'; c <= 'z'; c++ {
		p = append(p, string(c))
	}
	p = append(p, "O", "T", ".", ",", "▁t", "▁a", "▁o", "▁u", "▁w", "▁s", "he", "th", "in", "er",
		"an", "on", "ce", "nce", "up", "pon", "▁upon", "im", "ime", "▁time", "▁the", "On", "▁On",
		"▁Once", "re", "▁was", "as", "▁cat", "at", "▁mat")
	if len(p) != 64 {
		panic(fmt.Sprintf("hostile: %d base pieces, want 64", len(p)))
	}
	return p
}()

var baseVocab = len(basePieces)

// vocab returns the base pieces with SentencePiece scores and types.
func vocab() (pieces []string, scores []float32, types []int32) {
	pieces = append([]string(nil), basePieces...)
	scores = make([]float32, len(pieces))
	types = make([]int32, len(pieces))
	for i := range pieces {
		switch i {
		case 0:
			types[i] = typeUnknown
		case 1, 2:
			types[i] = typeControl
		default:
			types[i] = typeNormal
			scores[i] = -float32(i) // longer pieces later: any score order is a valid BPE
		}
	}
	// Merged pieces must outscore their parts for BPE to reach them.
	for i, p := range pieces {
		if types[i] == typeNormal && len([]rune(p)) > 1 {
			scores[i] = float32(len(p))
		}
	}
	return pieces, scores, types
}

// A tensor is one base weight: shape outermost first (rows, cols for a
// matrix), values row-major.
type tensor struct {
	role  string // component ("embed", "layers.0.attn.q") or norm ("layers.0.attn_norm", "norm")
	shape []int
	data  []float32
}

// baseTensors returns the weights in a fixed order. Matrices hold small
// normal values determined by their role, norms ones.
func baseTensors() []tensor {
	matrix := func(role string, rows, cols int) tensor {
		h := fnv.New64a()
		h.Write([]byte(role))
		r := rand.New(rand.NewPCG(1, h.Sum64()))
		d := make([]float32, rows*cols)
		for i := range d {
			d[i] = float32(r.NormFloat64() * 0.2)
		}
		return tensor{role, []int{rows, cols}, d}
	}
	norm := func(role string) tensor {
		d := make([]float32, baseDim)
		for i := range d {
			d[i] = 1
		}
		return tensor{role, []int{baseDim}, d}
	}
	return []tensor{
		matrix("embed", baseVocab, baseDim),
		norm("layers.0.attn_norm"),
		matrix("layers.0.attn.q", baseDim, baseDim),
		matrix("layers.0.attn.k", kvDim, baseDim),
		matrix("layers.0.attn.v", kvDim, baseDim),
		matrix("layers.0.attn.o", baseDim, baseDim),
		norm("layers.0.ffn_norm"),
		matrix("layers.0.mlp.gate", baseHidden, baseDim),
		matrix("layers.0.mlp.up", baseHidden, baseDim),
		matrix("layers.0.mlp.down", baseDim, baseHidden),
		norm("norm"),
	}
}

// find returns the tensor with the role.
func find(ts []tensor, role string) *tensor {
	for i := range ts {
		if ts[i].role == role {
			return &ts[i]
		}
	}
	panic("hostile: no tensor " + role)
}
