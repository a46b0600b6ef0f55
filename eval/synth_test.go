package eval

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divergo/divergo/engine"
)

func TestParseShape(t *testing.T) {
	c, err := ParseShape("tinyllama-1.1b")
	if err != nil || c.Dim != 2048 || c.HiddenDim != 5632 || c.Layers != 22 || c.Heads != 32 || c.KVHeads != 4 ||
		c.HeadDim != 64 || c.Vocab != 32000 || c.MaxSeq != 2048 || c.NormEps != 1e-5 {
		t.Errorf("tinyllama-1.1b: %+v, %v", c, err)
	}
	c, err = ParseShape("dim=64, hidden=172,layers=2,heads=8,kv=4,vocab=512,ctx=256,eps=1e-6,theta=500000")
	if err != nil || c.Dim != 64 || c.HiddenDim != 172 || c.Layers != 2 || c.KVHeads != 4 || c.HeadDim != 8 ||
		c.MaxSeq != 256 || c.NormEps != 1e-6 || c.RopeTheta != 500000 {
		t.Errorf("custom: %+v, %v", c, err)
	}
	if c, err := ParseShape("dim=64,hidden=172,layers=2,heads=8,vocab=512"); err != nil || c.KVHeads != 8 {
		t.Errorf("kv defaults to heads: %+v, %v", c, err)
	}
	for _, bad := range []struct{ s, want string }{
		{"llama3-8b", "want llama2-7b, stories110m, tinyllama-1.1b"},
		{"dim=64,hidden=172,layers=2,heads=8", "vocab is required"},
		{"dim=64,hidden=172,layers=2,heads=6,vocab=512", "not a multiple of heads"},
		{"dim=64,hidden=172,layers=2,heads=8,kv=3,vocab=512", "multiple of kv_heads"},
		{"dim=64,dim=32,hidden=1,layers=1,heads=1,vocab=512", "given twice"},
		{"dim=64,hidden=-1,layers=2,heads=8,vocab=512", "not a positive integer"},
		{"dim=64,hidden=172,layers=2,heads=8,vocab=512,eps=0", "not a positive number"},
		{"dim=64,hidden=172,layers=2,heads=8,vocab=512,rope=1", "unknown key"},
		{"dim=64,hidden", "not key=value"},
		{"dim=99999999,hidden=1,layers=1,heads=1,vocab=512", "out of range"},
	} {
		if _, err := ParseShape(bad.s); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.s, err, bad.want)
		}
	}
}

func FuzzParseShape(f *testing.F) {
	for _, s := range []string{"stories110m", "dim=64,hidden=172,layers=2,heads=8,kv=4,vocab=512", "dim=,", "=,=", "dim=1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseShape(s)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("%q parsed to an invalid config: %v", s, verr)
			}
		}
	})
}

func TestSyntheticVocab(t *testing.T) {
	tokens := map[int]int{}
	for _, n := range []int{260, 512, 32000} {
		tok, err := SyntheticVocab(n)
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != n || tok.BOS() != 1 || tok.EOS() != 2 || tok.Unk() != 0 || !tok.ByteFallback() {
			t.Errorf("n=%d: size %d bos %d eos %d unk %d", n, tok.VocabSize(), tok.BOS(), tok.EOS(), tok.Unk())
		}
		text := "Once upon a time, the synthetic vocab said: ünïcödé ☃ 123!"
		ids := tok.Encode(text, true, false)
		for _, id := range ids {
			if id < 0 || id >= n {
				t.Fatalf("n=%d: id %d", n, id)
			}
		}
		if got := tok.Decode(ids); got != text {
			t.Errorf("n=%d: decode %q", n, got)
		}
		tokens[n] = len(ids)
	}
	if tokens[32000] > tokens[260]*2/3 {
		t.Errorf("%d tokens with 32000 pieces, %d with 260: fillers do not merge", tokens[32000], tokens[260])
	}
	if _, err := SyntheticVocab(259); err == nil {
		t.Error("259 pieces accepted")
	}
}

const smallShape = "dim=256,hidden=512,layers=2,heads=4,kv=2,vocab=512"

// The same seed gives the same bytes; another seed other bytes; the f32
// synthetic model is engine.NewRandom's, and its HF copy the same function.
func TestSynthDeterministic(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, o SynthOptions) string {
		t.Helper()
		o.Output = filepath.Join(dir, name)
		if o.Shape == "" {
			o.Shape = smallShape
		}
		r, err := Synth(o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Bytes <= 0 || r.Params != 2*512*256+2*(2*256*256+2*128*256+3*512*256)+5*256 {
			t.Errorf("%s: %d bytes, %d params", name, r.Bytes, r.Params)
		}
		return o.Output
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := write("a.gguf", SynthOptions{DType: "f32", Seed: 1})
	b := write("b.gguf", SynthOptions{DType: "f32", Seed: 1})
	c := write("c.gguf", SynthOptions{DType: "f32", Seed: 2})
	if !bytes.Equal(read(a), read(b)) {
		t.Error("same seed, different files")
	}
	if bytes.Equal(read(a), read(c)) {
		t.Error("different seeds, same file")
	}
	q1 := write("q1.gguf", SynthOptions{DType: "q4_k", Seed: 1})
	q2 := write("q2.gguf", SynthOptions{DType: "q4_k", Seed: 1})
	if !bytes.Equal(read(q1), read(q2)) {
		t.Error("same seed, different q4_k files")
	}

	cfg, _ := ParseShape(smallShape)
	ref, err := engine.NewRandom(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	g := openModel(t, a)
	for _, comp := range g.Model.Components() {
		x, _ := ref.MatrixF32(comp.Name)
		y, _ := g.Model.MatrixF32(comp.Name)
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("%s[%d] = %g, NewRandom %g", comp.Name, i, y[i], x[i])
			}
		}
	}
	h := openModel(t, write("hf", SynthOptions{DType: "f32", Seed: 1}))
	ids := []int{1, 300, 301, 302, 5, 6, 400}
	x, y := allLogits(t, g.Model, ids), allLogits(t, h.Model, ids)
	for i := range x {
		if d := math.Abs(float64(x[i] - y[i])); d > 1e-4 {
			t.Fatalf("GGUF and HF copies differ by %g at %d", d, i)
		}
	}
	q := openModel(t, q1)
	for _, comp := range q.Model.Components() {
		want := "q4_k"
		if comp.Name == "lm_head" {
			want = "q6_k"
		}
		if comp.Format != want {
			t.Errorf("%s: %s, want %s", comp.Name, comp.Format, want)
		}
	}
	if q.Model.Tokenizer.VocabSize() != 512 {
		t.Errorf("vocab %d", q.Model.Tokenizer.VocabSize())
	}
}

func TestSynthErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		o    SynthOptions
		want string
	}{
		{SynthOptions{Shape: smallShape, DType: "int4", Output: filepath.Join(dir, "x.gguf")}, "has no GGUF type"},
		{SynthOptions{Shape: smallShape, DType: "q4_k", Output: filepath.Join(dir, "x.gguf"), LMHead: "prune:0.5"}, "not a storage format"},
		{SynthOptions{Shape: "dim=64,hidden=172,layers=1,heads=8,vocab=512", DType: "q4_0", Output: filepath.Join(dir, "x.gguf")}, "172 columns"},
		{SynthOptions{Shape: "dim=64,hidden=64,layers=1,heads=8,vocab=100", DType: "f32", Output: filepath.Join(dir, "x.gguf")}, "at least 260"},
		{SynthOptions{Shape: smallShape, DType: "q9", Output: filepath.Join(dir, "x.gguf")}, "--dtype"},
	} {
		if _, err := Synth(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gguf")); err == nil {
		t.Error("a failed synth left a file")
	}
}

// A relative with permuted MLP neurons computes the base model's function
// with other weights, in the base's formats; noise changes the function.
func TestRelative(t *testing.T) {
	e := openModel(t, "")
	dir := t.TempDir()
	ids := []int{1, 403, 407, 261, 378, 432}
	base := allLogits(t, e.Model, ids)

	// A quantized base: the relative keeps q8_0 where the base has it.
	qpath := filepath.Join(dir, "base.gguf")
	if _, err := Quantize(e, QuantizeOptions{Plan: mustParsePlan(t, "layers.*.mlp.{gate,up}=q8_0"), Output: qpath}); err != nil {
		t.Fatal(err)
	}
	qe := openModel(t, qpath)
	out := filepath.Join(dir, "perm")
	r, err := Relative(qe, RelativeOptions{PermuteMLP: true, Seed: 3, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != "hf" || !r.PermuteMLP || r.Bytes <= 0 {
		t.Errorf("%+v", r)
	}
	p := openModel(t, out)
	for _, c := range p.Model.Components() {
		b, _ := qe.Model.Matrix(c.Name)
		if c.Format != b.Format.Name {
			t.Errorf("%s: %s, base %s", c.Name, c.Format, b.Format.Name)
		}
	}
	g0, _ := qe.Model.Matrix("layers.0.mlp.gate")
	g1, _ := p.Model.Matrix("layers.0.mlp.gate")
	if bytes.Equal(g0.Data, g1.Data) {
		t.Error("gate rows not permuted")
	}
	qbase := allLogits(t, qe.Model, ids)
	perm := allLogits(t, p.Model, ids)
	var d float64
	for i := range qbase {
		d = math.Max(d, math.Abs(float64(qbase[i]-perm[i])))
	}
	if d > 1e-3 {
		t.Errorf("permuted relative differs from its base by %g", d)
	}

	noisy := filepath.Join(dir, "noisy.gguf")
	if _, err := Relative(e, RelativeOptions{PermuteMLP: true, Noise: 0.1, Seed: 3, Output: noisy}); err != nil {
		t.Fatal(err)
	}
	n := allLogits(t, openModel(t, noisy).Model, ids)
	d = 0
	for i := range base {
		d = math.Max(d, math.Abs(float64(base[i]-n[i])))
	}
	if d < 1e-3 {
		t.Errorf("noise 0.1 moved the logits by only %g", d)
	}
	if _, err := Relative(e, RelativeOptions{Output: filepath.Join(dir, "x")}); err == nil {
		t.Error("a relative with no change accepted")
	}
}
