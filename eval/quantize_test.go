package eval

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/gguf"
	"github.com/divergo/divergo/internal/assets"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/quant"
)

func openModel(t *testing.T, path string) *Env {
	t.Helper()
	e, err := Open(ModelOptions{Path: path, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func mustParsePlan(t *testing.T, s string) *quant.Plan {
	t.Helper()
	p, err := quant.ParsePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// allLogits runs ids through a model and returns every position's logits.
func allLogits(t *testing.T, m *engine.Model, ids []int) []float32 {
	t.Helper()
	s, err := engine.NewState(m, len(ids), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Forward(ids, len(ids))
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out...)
}

// Quantizing the F32 GGUF files with the plans llama-quantize was given
// (models/ggml-fixtures/README.md) writes the same tensors, byte for byte,
// with the same ggml types and dimensions, and the same file type; the
// written model gives the in-memory variant's logits exactly.
func TestQuantizeMatchesLlamaQuantize(t *testing.T) {
	dir := assets.Path(t, "models/ggml-fixtures")
	stories := assets.Path(t, "models/stories260K/stories260K.gguf")
	cases := []struct {
		src, ref, plan string
	}{
		{stories, "stories260K-F16", "*=f16"},
		{stories, "stories260K-Q8_0", "*=q8_0,layers.*.mlp.down=f16"},
		{stories, "stories260K-Q4_0", "*=q4_0,layers.*.mlp.down=f16"},
		{stories, "stories260K-Q4_1", "*=q4_1,layers.*.mlp.down=f16"},
		{stories, "stories260K-Q5_0", "*=q5_0,layers.*.mlp.down=f16"},
		{stories, "stories260K-Q5_1", "*=q5_1,layers.*.mlp.down=f16"},
	}
	for _, typ := range []string{"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"} {
		cases = append(cases, struct{ src, ref, plan string }{filepath.Join(dir, "tiny256-F32.gguf"), "tiny256-" + typ, "*=" + strings.ToLower(typ)})
	}
	if testing.Short() {
		cases = cases[1:3]
	}
	out := t.TempDir()
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			e := openModel(t, c.src)
			path := filepath.Join(out, c.ref+".gguf")
			p := mustParsePlan(t, c.plan)
			r, err := Quantize(e, QuantizeOptions{Plan: p, Output: path})
			if err != nil {
				t.Fatal(err)
			}
			got, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			ref, err := gguf.Open(filepath.Join(dir, c.ref+".gguf"))
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			if len(got.Tensors) != len(ref.Tensors) {
				t.Errorf("%d tensors, llama-quantize wrote %d", len(got.Tensors), len(ref.Tensors))
			}
			same := 0
			for _, rt := range ref.Tensors {
				gt, ok := got.Tensor(rt.Name)
				if !ok {
					t.Errorf("%s missing", rt.Name)
					continue
				}
				if gt.Type != rt.Type || !equalDims(gt.Dims, rt.Dims) {
					t.Errorf("%s: %s %v, llama-quantize %s %v", rt.Name, gt.Type, gt.Dims, rt.Type, rt.Dims)
					continue
				}
				a, _ := got.TensorData(rt.Name)
				b, _ := ref.TensorData(rt.Name)
				if !bytes.Equal(a, b) {
					t.Errorf("%s (%s): bytes differ from llama-quantize's", rt.Name, rt.Type)
					continue
				}
				same++
			}
			for _, key := range []string{"general.file_type", "general.quantization_version"} {
				want, err1 := ref.Uint(key)
				have, err2 := got.Uint(key)
				if key == "general.quantization_version" && c.plan == "*=f16" {
					// llama-quantize writes it always; the specification asks
					// for it when a tensor is quantized, and so do we.
					if err2 == nil {
						t.Errorf("%s written without quantized tensors", key)
					}
					continue
				}
				if err1 != nil || err2 != nil || want != have {
					t.Errorf("%s = %d (%v), llama-quantize %d (%v)", key, have, err2, want, err1)
				}
			}
			for _, key := range []string{"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"} {
				a, _ := got.Get(key)
				b, _ := ref.Get(key)
				if ja, jb := mustJSON(t, a.Value), mustJSON(t, b.Value); ja != jb {
					t.Errorf("%s differs", key)
				}
			}
			t.Logf("%d/%d tensors byte-identical; %d bytes (llama-quantize %d), %.3f bits/weight",
				same, len(ref.Tensors), r.Bytes, ref.Size(), r.BitsPerWeight)

			v, _, err := e.Model.ApplyPlan(p)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			w := openModel(t, path)
			ids := []int{1, 403, 407, 261, 378, 432, 383, 286, 261, 376}
			a, b := allLogits(t, v, ids), allLogits(t, w.Model, ids)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("logit %d: written model %g, in-memory variant %g", i, b[i], a[i])
				}
			}
		})
	}
}

func equalDims(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Quantize reports what it wrote, refuses int formats in GGUF before
// writing anything, and marks a8 matrices when asked.
func TestQuantizeReport(t *testing.T) {
	e := openModel(t, "")
	dir := t.TempDir()
	p := mustParsePlan(t, "layers.*.mlp.{gate,up}=q4_0,layers.*.attn=int4:g32,layers.9.mlp.down=int8")
	if _, err := Quantize(e, QuantizeOptions{Plan: p, Output: filepath.Join(dir, "x.gguf")}); err == nil ||
		!strings.Contains(err.Error(), "int4:g32 has no GGUF type") {
		t.Errorf("int4 to GGUF: %v", err)
	}
	if _, err := Quantize(e, QuantizeOptions{Plan: p, Output: filepath.Join(dir, "x.safetensors")}); err == nil {
		t.Error("-o x.safetensors accepted")
	}
	out := filepath.Join(dir, "hf")
	r, err := Quantize(e, QuantizeOptions{Plan: p, Output: out, A8: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != "hf" || len(r.Changes) != 5*6 || r.A8Matrices != 5*6 {
		t.Errorf("format %s, %d changes, %d a8 matrices; want hf, 30, 30", r.Format, len(r.Changes), r.A8Matrices)
	}
	if len(r.Unused) != 1 || r.Unused[0] != "layers.9.mlp.down=int8" {
		t.Errorf("unused rules %v", r.Unused)
	}
	// gate/up: 2·172·64 weights at 4.5 bits; q,k,v,o: (64+32+32+64)·64 at 4+32/32 = 5 bits.
	gateUp, attn := 2*172*64, (64+32+32+64)*64
	want := (4.5*float64(gateUp) + 5*float64(attn)) / float64(gateUp+attn)
	if d := r.BitsPerWeight - want; d > 1e-9 || d < -1e-9 {
		t.Errorf("bits per weight %g, want %g", r.BitsPerWeight, want)
	}
	if r.Bytes <= 0 || r.ModelParams != e.Model.Params() {
		t.Errorf("bytes %d, model params %d (want %d)", r.Bytes, r.ModelParams, e.Model.Params())
	}
	w := openModel(t, out)
	for _, c := range w.Model.Components() {
		m, _ := w.Model.Matrix(c.Name)
		if want := c.Layer >= 0 && c.Kind != "mlp.down"; m.A8 != want {
			t.Errorf("%s (%s): a8 %v, want %v", c.Name, c.Format, m.A8, want)
		}
	}
}

// --a8 on a model whose quantized embedding is also its LM head keeps the
// pair tied and marks it, so the head runs W·A8 and lookups are unchanged.
func TestQuantizeA8Tied(t *testing.T) {
	e := openModel(t, "")
	b, _, err := e.Model.Blueprint(nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.Model.Compress("embed", mustParseSpec(t, "q8_0"))
	if err != nil {
		t.Fatal(err)
	}
	format, matrix := b.Format, b.Matrix
	b.Format = func(c string) (*kernels.Format, bool, error) {
		if c == "embed" {
			return q.Format, false, nil
		}
		return format(c)
	}
	b.Matrix = func(c string) (*kernels.Matrix, error) {
		if c == "embed" {
			return q, nil
		}
		return matrix(c)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "tied-q8.gguf")
	if err := b.WriteGGUF(src, engine.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s := openModel(t, src)
	if !s.Model.Tied() || s.Model.Output.Format.Name != "q8_0" {
		t.Fatalf("source: tied %v, head %s", s.Model.Tied(), s.Model.Output.Format)
	}
	out := filepath.Join(dir, "out.gguf")
	r, err := Quantize(s, QuantizeOptions{Plan: mustParsePlan(t, "layers.*.attn=q8_0"), Output: out, A8: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.A8Matrices != 5*4+1 {
		t.Errorf("%d a8 matrices, want 21", r.A8Matrices)
	}
	w := openModel(t, out)
	if !w.Model.Tied() || !w.Model.Output.A8 {
		t.Errorf("written: tied %v, head a8 %v", w.Model.Tied(), w.Model.Output.A8)
	}
}

func mustParseSpec(t *testing.T, s string) quant.Spec {
	t.Helper()
	sp, err := quant.ParseSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}
