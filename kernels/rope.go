package kernels

import (
	"fmt"
	"math"
)

// A RoPEAngles selects how the rotation angles θ_i(pos) = pos·base^(−2i/d)
// are computed in float32; the choices differ in the last bits, which is
// enough to move a perplexity in the fourth digit, so each reference
// implementation is reproduced exactly.
type RoPEAngles int

const (
	// AnglesGGML computes as ggml's rope cache: scale = powf(base, −2/d),
	// θ_0 = pos, θ_{i+1} = θ_i·scale (repeated float32 multiplication), then
	// cosf(θ_i), sinf(θ_i). Use it for GGUF models to reproduce llama.cpp.
	AnglesGGML RoPEAngles = iota
	// AnglesHF computes as Hugging Face transformers (LlamaRotaryEmbedding):
	// inv_i = 1/powf(base, float32(2i)/d), θ_i = float32(pos)·inv_i, then
	// cos and sin in float32. Use it for safetensors checkpoints.
	AnglesHF
)

// A RoPETable holds cos θ_i(pos) and sin θ_i(pos) for i < Dim/2 and
// pos < MaxPos, built once per model.
type RoPETable struct {
	// Dim is the head dimension rotated (even).
	Dim int
	// MaxPos is the number of positions covered.
	MaxPos int
	// Base is the frequency base θ (10000 for Llama 2).
	Base   float32
	Angles RoPEAngles

	cos, sin []float32 // MaxPos × Dim/2
}

// NewRoPETable computes the table for heads of dim values (dim even, > 0),
// positions 0 … maxPos−1 and frequency base.
func NewRoPETable(dim, maxPos int, base float32, angles RoPEAngles) (*RoPETable, error) {
	if dim <= 0 || dim%2 != 0 {
		return nil, fmt.Errorf("kernels: RoPE head dimension %d must be even and positive", dim)
	}
	if maxPos < 0 || maxPos > 1<<24 {
		return nil, fmt.Errorf("kernels: RoPE max position %d out of range", maxPos)
	}
	if !(base > 1) || math.IsInf(float64(base), 0) {
		return nil, fmt.Errorf("kernels: RoPE base %v must be a finite number > 1", base)
	}
	if angles != AnglesGGML && angles != AnglesHF {
		return nil, fmt.Errorf("kernels: unknown RoPE angle convention %d", angles)
	}
	h := dim / 2
	t := &RoPETable{Dim: dim, MaxPos: maxPos, Base: base, Angles: angles,
		cos: make([]float32, maxPos*h), sin: make([]float32, maxPos*h)}
	powf := func(b, e float32) float32 { return float32(math.Pow(float64(b), float64(e))) }
	cosf := func(v float32) float32 { return float32(math.Cos(float64(v))) }
	sinf := func(v float32) float32 { return float32(math.Sin(float64(v))) }
	switch angles {
	case AnglesGGML:
		scale := powf(base, float32(-2)/float32(dim))
		for p := 0; p < maxPos; p++ {
			theta := float32(p)
			c, s := t.cos[p*h:(p+1)*h], t.sin[p*h:(p+1)*h]
			for i := range c {
				c[i], s[i] = cosf(theta), sinf(theta)
				theta *= scale
			}
		}
	case AnglesHF:
		inv := make([]float32, h)
		for i := range inv {
			inv[i] = 1 / powf(base, float32(2*i)/float32(dim))
		}
		for p := 0; p < maxPos; p++ {
			c, s := t.cos[p*h:(p+1)*h], t.sin[p*h:(p+1)*h]
			for i, f := range inv {
				theta := float32(p) * f
				c[i], s[i] = cosf(theta), sinf(theta)
			}
		}
	}
	return t, nil
}

// At returns the cosines and sines of position pos (Dim/2 each); the
// slices alias the table.
func (t *RoPETable) At(pos int) (cos, sin []float32) {
	h := t.Dim / 2
	return t.cos[pos*h : (pos+1)*h], t.sin[pos*h : (pos+1)*h]
}

func (t *RoPETable) check(op string, x []float32, pos int) {
	if pos < 0 || pos >= t.MaxPos {
		panic(fmt.Sprintf("kernels: %s: position %d outside the table (max %d)", op, pos, t.MaxPos))
	}
	if len(x)%t.Dim != 0 {
		panic(fmt.Sprintf("kernels: %s: len(x) = %d is not a multiple of the head dimension %d", op, len(x), t.Dim))
	}
}

// RoPEInterleaved rotates each head of x (len(x) a multiple of t.Dim, heads
// back to back) at position pos, pairing adjacent values (x[2i], x[2i+1])
// with angle θ_i: Meta's original Llama, GGUF (llama.cpp mode NORM) and
// llama2.c. x'[2i] = x[2i]·cos − x[2i+1]·sin, x'[2i+1] = x[2i]·sin + x[2i+1]·cos,
// each product rounded to float32 as ggml does.
func RoPEInterleaved(x []float32, t *RoPETable, pos int) {
	t.check("RoPEInterleaved", x, pos)
	c, s := t.At(pos)
	for o := 0; o < len(x); o += t.Dim {
		active.ropePairs(x[o:o+t.Dim], c, s)
	}
}

// RoPENeoX rotates each head of x at position pos pairing x[i] with
// x[i+Dim/2] (rotate_half: Hugging Face Llama, llama.cpp mode NEOX), with
// the same arithmetic as RoPEInterleaved.
func RoPENeoX(x []float32, t *RoPETable, pos int) {
	t.check("RoPENeoX", x, pos)
	c, s := t.At(pos)
	for o := 0; o < len(x); o += t.Dim {
		active.ropeHalves(x[o:o+t.Dim], c, s)
	}
}
