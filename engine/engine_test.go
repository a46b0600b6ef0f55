package engine

import (
	"math"
	"strings"
	"testing"

	"github.com/divergo/divergo/internal/assets"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/quant"
)

// Reference outputs for stories260K (MANIFEST §1a): greedy ids from BOS and
// the logits at position 0, from an independent float64 forward pass.
var (
	refGreedy = []int{403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13, 438, 310, 439, 419, 357, 336, 432, 313, 438, 310, 432, 278, 316, 439, 419, 298, 414, 267, 265, 282, 295, 433, 426, 436, 317, 286, 296, 418, 269, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 338, 336, 432, 313, 442, 391, 267, 337, 335, 364, 420, 268, 388, 432, 398, 359, 280, 303, 439, 413, 272, 417, 264, 312, 426, 436, 13, 438, 310, 286, 296, 418, 269, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 338, 336, 432, 313, 442, 439, 423, 262, 304, 420, 422, 432, 317, 426, 359, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 436, 13, 438, 310, 279, 292, 416, 439, 413, 391, 267, 281, 421, 427, 311, 357, 432, 384, 358, 336, 432, 313, 442, 439, 423, 262, 304, 420, 422, 432, 357, 426, 359, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 436, 320, 285, 357, 336, 432, 313, 455, 289, 439, 413, 263, 304, 420, 422, 432, 317, 426, 410, 448, 411, 280, 303, 281, 421, 427, 364, 426}
	refTop5   = []struct {
		id    int
		logit float64
	}{{403, 17.02352}, {385, 15.40621}, {410, 13.10826}, {317, 12.76917}, {407, 12.41809}}
	refLogits0 = []float64{-6.222914, 8.404342, -6.223739, -6.222544, -6.221953, -6.222877, -6.221884, -6.223420}
)

func loadOrSkip(t *testing.T, rel string, opt LoadOptions) *Model {
	t.Helper()
	path := ""
	if rel != "" {
		path = assets.Path(t, rel)
	}
	if opt.Tokenizer != "" {
		opt.Tokenizer = assets.Path(t, opt.Tokenizer)
	}
	m, err := Load(path, opt)
	if err != nil {
		t.Fatalf("load %s: %v", rel, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// stories260K in every source format must reproduce the reference.
func TestStories260KReference(t *testing.T) {
	cases := []struct {
		name, path, tok string
		rope            RoPEStyle
	}{
		{"embedded", "", "", RoPENeoX},
		{"hf", "models/stories260K/hf", "models/stories260K/tok512.bin", RoPENeoX},
		{"gguf", "models/stories260K/stories260K.gguf", "", RoPEInterleaved},
		{"llama2c", "models/stories260K/stories260K.bin", "models/stories260K/tok512.bin", RoPEInterleaved},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := loadOrSkip(t, c.path, LoadOptions{Tokenizer: c.tok})
			if m.Config.RoPE != c.rope {
				t.Errorf("RoPE pairing %v, want %v", m.Config.RoPE, c.rope)
			}
			s, err := NewState(m, 8, nil)
			if err != nil {
				t.Fatal(err)
			}
			logits, err := s.Forward([]int{1}, 1)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range refLogits0 {
				if d := math.Abs(float64(logits[i]) - want); d > 1e-4 {
					t.Errorf("logit[%d] = %.6f, want %.6f", i, logits[i], want)
				}
			}
			for _, r := range refTop5 {
				if d := math.Abs(float64(logits[r.id]) - r.logit); d > 1e-4 {
					t.Errorf("logit[%d] = %.6f, want %.6f", r.id, logits[r.id], r.logit)
				}
			}
			got, err := m.Generate(nil, []int{1}, GenerateOptions{N: len(refGreedy)})
			if err != nil {
				t.Fatal(err)
			}
			for i := range refGreedy {
				if got[i] != refGreedy[i] {
					t.Fatalf("greedy token %d = %d, want %d (first divergence)", i, got[i], refGreedy[i])
				}
			}
			text := m.Tokenizer.Decode(append([]int{1}, got...))
			if !strings.HasPrefix(text, "Once upon a time, there was a little girl named Lily.") {
				t.Errorf("decoded text starts %q", text[:min(len(text), 80)])
			}
		})
	}
}

// A teacher-forced prefill and incremental decoding give the same logits
// and argmaxes; thread counts do not change results.
func TestPrefillEqualsDecode(t *testing.T) {
	m := loadOrSkip(t, "", LoadOptions{})
	seq := append([]int{1}, refGreedy[:100]...)
	V := m.Config.Vocab
	for _, threads := range []int{1, 2} {
		pool := kernels.NewPool(threads)
		defer pool.Close()
		s, _ := NewState(m, len(seq), pool)
		full, err := s.Forward(seq, len(seq))
		if err != nil {
			t.Fatal(err)
		}
		full = append([]float32(nil), full...)
		s2, _ := NewState(m, len(seq), pool)
		for i, id := range seq {
			row, err := s2.Forward([]int{id}, 1)
			if err != nil {
				t.Fatal(err)
			}
			want := full[i*V : (i+1)*V]
			if Argmax(row) != Argmax(want) {
				t.Fatalf("threads %d position %d: decode argmax %d, prefill %d", threads, i, Argmax(row), Argmax(want))
			}
			for j := range row {
				if d := math.Abs(float64(row[j] - want[j])); d > 1e-4 {
					t.Fatalf("threads %d position %d logit %d: decode %v prefill %v", threads, i, j, row[j], want[j])
				}
			}
			if i < len(seq)-1 && Argmax(want) != seq[i+1] {
				t.Fatalf("position %d: argmax %d does not reproduce the greedy token %d", i, Argmax(want), seq[i+1])
			}
		}
	}
}

// ForwardFrom on captured layer inputs reproduces the full pass, and hooks
// see what they promise.
func TestForwardFromAndHooks(t *testing.T) {
	m := loadOrSkip(t, "", LoadOptions{})
	seq := append([]int{1}, refGreedy[:40]...)
	c := m.Config
	inputs := make([][]float32, c.Layers)
	var final []float32
	mlp := 0
	s, _ := NewState(m, len(seq), nil)
	s.Hooks = &Hooks{
		LayerInput: func(l int, x []float32) { inputs[l] = append([]float32(nil), x...) },
		MLP: func(l int, gate, up []float32) {
			if len(gate) != len(seq)*c.HiddenDim || len(up) != len(gate) {
				t.Errorf("MLP hook sizes %d, %d", len(gate), len(up))
			}
			mlp++
		},
		Final: func(h []float32) { final = append([]float32(nil), h...) },
	}
	want, err := s.Forward(seq, len(seq))
	if err != nil {
		t.Fatal(err)
	}
	want = append([]float32(nil), want...)
	if mlp != c.Layers || len(final) != len(seq)*c.Dim {
		t.Fatalf("hooks: %d MLP calls, final %d values", mlp, len(final))
	}
	// The LM head applied to the captured final hidden state gives the logits.
	logits := make([]float32, len(seq)*c.Vocab)
	kernels.MatMul(nil, logits, m.Output, final, len(seq))
	for i := range logits {
		if logits[i] != want[i] {
			t.Fatalf("final hook: logit %d = %v, want %v", i, logits[i], want[i])
		}
	}
	for l := 0; l < c.Layers; l++ {
		s2, _ := NewState(m, len(seq), nil)
		got, err := s2.ForwardFrom(l, inputs[l], len(seq))
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("from layer %d: logit %d = %v, want %v", l, i, got[i], want[i])
			}
		}
	}
}

// A variant shares untouched weights, changes the output, and leaves the
// base model as it was; a non-finite weight is reported by component.
func TestVariant(t *testing.T) {
	m := loadOrSkip(t, "", LoadOptions{})
	seq := []int{1, 403, 407}
	logitsOf := func(m *Model) []float32 {
		s, _ := NewState(m, len(seq), nil)
		out, err := s.Forward(seq, 1)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), out...)
	}
	base := logitsOf(m)
	w, _ := m.MatrixF32("layers.2.mlp.down")
	for i := range w {
		w[i] = 0
	}
	v, err := m.With(map[string]*kernels.Matrix{"layers.2.mlp.down": f32Matrix(m.Config.Dim, m.Config.HiddenDim, w)})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Layers[0].Q != m.Layers[0].Q || v.Layers[2].Down == m.Layers[2].Down {
		t.Fatal("variant does not share untouched weights or did not replace the component")
	}
	changed := logitsOf(v)
	same := true
	for i := range base {
		same = same && base[i] == changed[i]
	}
	if same {
		t.Fatal("zeroing layers.2.mlp.down changed no logit")
	}
	again := logitsOf(m)
	for i := range base {
		if again[i] != base[i] {
			t.Fatal("the base model changed after making a variant")
		}
	}

	w[7] = float32(math.NaN())
	bad, err := m.With(map[string]*kernels.Matrix{"layers.2.mlp.down": f32Matrix(m.Config.Dim, m.Config.HiddenDim, w)})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewState(bad, len(seq), nil)
	if _, err := s.Forward(seq, 1); err == nil || !strings.Contains(err.Error(), "layers.2.mlp.down") {
		t.Fatalf("NaN weight: error %v, want one naming layers.2.mlp.down", err)
	}
}

// A plan compresses exactly the components it selects.
func TestApplyPlan(t *testing.T) {
	m := loadOrSkip(t, "", LoadOptions{})
	p, err := quant.ParsePlan("layers.1.mlp.*=int4:g32,lm_head=int8")
	if err != nil {
		t.Fatal(err)
	}
	v, changes, err := m.ApplyPlan(p)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var got []string
	for _, c := range changes {
		got = append(got, c.Component+"="+c.Spec)
	}
	want := "layers.1.mlp.gate=int4:g32 layers.1.mlp.up=int4:g32 layers.1.mlp.down=int4:g32 lm_head=int8"
	if strings.Join(got, " ") != want {
		t.Fatalf("changes %q, want %q", strings.Join(got, " "), want)
	}
	if v.Layers[1].Down.Format.Name != "int4:g32" || !strings.HasPrefix(v.Output.Format.Name, "int8") || v.Embed != m.Embed || v.Layers[0].Q != m.Layers[0].Q {
		t.Fatalf("variant formats: down %s, head %s", v.Layers[1].Down.Format.Name, v.Output.Format.Name)
	}
	got2, err := v.Generate(nil, []int{1}, GenerateOptions{N: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(got2) != 20 {
		t.Fatalf("generated %d tokens", len(got2))
	}
}

// Permuting MLP neurons keeps the function; noise 0 keeps the weights;
// random models are reproducible.
func TestRandomPermuteNoise(t *testing.T) {
	m := loadOrSkip(t, "", LoadOptions{})
	seq := append([]int{1}, refGreedy[:30]...)
	logitsOf := func(m *Model) []float32 {
		s, _ := NewState(m, len(seq), nil)
		out, err := s.Forward(seq, len(seq))
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), out...)
	}
	base := logitsOf(m)
	p, err := m.PermuteMLP(7)
	if err != nil {
		t.Fatal(err)
	}
	if w0, _ := m.MatrixF32("layers.0.mlp.gate"); func() bool { w1, _ := p.MatrixF32("layers.0.mlp.gate"); return w0[0] == w1[0] && w0[1] == w1[1] }() {
		t.Error("permutation left the first gate row in place")
	}
	for i, v := range logitsOf(p) {
		if math.Abs(float64(v-base[i])) > 1e-4 {
			t.Fatalf("permuted model: logit %d = %v, want %v", i, v, base[i])
		}
	}
	n, err := m.AddNoise(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range logitsOf(n) {
		if v != base[i] {
			t.Fatalf("zero noise changed logit %d", i)
		}
	}
	c := m.Config
	r1, err := NewRandom(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := NewRandom(c, 3)
	r3, _ := NewRandom(c, 4)
	a, b, d := Dequantize(r1.Layers[2].Up), Dequantize(r2.Layers[2].Up), Dequantize(r3.Layers[2].Up)
	var s2 float64
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different weights")
		}
		s2 += float64(a[i]) * float64(a[i])
	}
	if a[0] == d[0] && a[1] == d[1] {
		t.Error("different seeds, same weights")
	}
	if std := math.Sqrt(s2 / float64(len(a))); math.Abs(std-0.02) > 0.002 {
		t.Errorf("random init std %v, want 0.02", std)
	}
}
