package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
)

// tiny is a shape small enough for unit tests whose rows still hold whole
// 256-value super-blocks (q4_k, q6_k).
func tiny() Shape {
	c := engine.Config{Dim: 256, HiddenDim: 512, Layers: 3, Heads: 4, KVHeads: 2, HeadDim: 64, Vocab: 1024,
		MaxSeq: 256, NormEps: 1e-5, RopeTheta: 10000}
	return Shape{"tiny", c}
}

func TestShapes(t *testing.T) {
	for _, c := range []struct {
		name   string
		params float64 // millions, as ENGINE-NOTES §1.5 lists them
	}{{"stories110m", 134}, {"TinyLlama-1.1B", 1100}} {
		s, err := ShapeByName(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Config.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if got := float64(s.Params()) / 1e6; math.Abs(got-c.params)/c.params > 0.01 {
			t.Errorf("%s: %.1f M params, want ≈%.0f M", c.name, got, c.params)
		}
	}
	if _, err := ShapeByName("llama-70b"); err == nil || !strings.Contains(err.Error(), "stories110m") {
		t.Errorf("unknown shape: %v", err)
	}
}

func TestUseMoreBits(t *testing.T) {
	// llama-quantize's Q4_K_M on TinyLlama gives 10 of 22 layers more bits
	// (ENGINE-NOTES §1.4).
	var got []int
	for l := range 22 {
		if useMoreBits(l, 22) {
			got = append(got, l)
		}
	}
	want := []int{0, 1, 4, 7, 10, 13, 16, 19, 20, 21}
	if len(got) != len(want) {
		t.Fatalf("layers %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("layers %v, want %v", got, want)
		}
	}
}

func TestDTypePlans(t *testing.T) {
	s, _ := ShapeByName("tinyllama-1.1b")
	for _, c := range []struct {
		dtype string
		want  map[string]string // component → spec; "" = untouched
		llama string
	}{
		{"f32", nil, ""},
		{"f16", map[string]string{"embed": "f16", "lm_head": "f16", "layers.0.attn.v": "f16"}, "F16"},
		{"q8_0:a8", map[string]string{"embed": "q8_0:a8", "lm_head": "q8_0:a8", "layers.3.mlp.down": "q8_0:a8"}, "Q8_0"},
		{"q4_0", map[string]string{"embed": "q4_0", "lm_head": "q6_k", "layers.21.mlp.down": "q4_0"}, "Q4_0"},
		{"q4_0:pure", map[string]string{"embed": "q4_0", "lm_head": "q4_0"}, ""},
		{"Q4_K:a8", map[string]string{"embed": "q4_k:a8", "lm_head": "q6_k:a8", "layers.0.attn.v": "q6_k:a8",
			"layers.2.attn.v": "q4_k:a8", "layers.4.mlp.down": "q6_k:a8", "layers.4.mlp.up": "q4_k:a8", "layers.21.attn.v": "q6_k:a8"}, "Q4_K_M"},
		{"int4:g128", map[string]string{"embed": "int4:g128", "lm_head": "int4:g128"}, ""},
	} {
		d, err := ParseDType(c.dtype)
		if err != nil {
			t.Fatalf("%s: %v", c.dtype, err)
		}
		if got := d.llamaName(); got != c.llama {
			t.Errorf("%s: llama.cpp type %q, want %q", c.dtype, got, c.llama)
		}
		p, err := d.Plan(&s.Config)
		if err != nil {
			t.Fatalf("%s: %v", c.dtype, err)
		}
		if c.want == nil {
			if p != nil {
				t.Errorf("%s: plan %v, want none", c.dtype, p)
			}
			continue
		}
		for comp, want := range c.want {
			spec, ok := p.SpecFor(comp)
			if !ok || spec.String() != want {
				t.Errorf("%s: %s gets %v (%v), want %s", c.dtype, comp, spec, ok, want)
			}
		}
		if rt, err := ParseDType(d.String()); err != nil || rt != d {
			t.Errorf("%s: String %q reads back as %v, %v", c.dtype, d.String(), rt, err)
		}
	}
	for _, bad := range []string{"", "q9_0", "prune:0.5", "f16:a8"} {
		if _, err := ParseDType(bad); err == nil {
			t.Errorf("dtype %q accepted", bad)
		}
	}
}

func TestNewModel(t *testing.T) {
	s := tiny()
	d, _ := ParseDType("q4_k")
	m, err := NewModel(s, d, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	formats := map[string]string{}
	for _, c := range m.Components() {
		formats[c.Name] = c.Format
	}
	for comp, want := range map[string]string{"embed": "q4_k", "lm_head": "q6_k", "layers.2.attn.v": "q6_k",
		"layers.0.attn.v": "q4_k", "layers.2.mlp.down": "q6_k", "layers.1.mlp.gate": "q4_k"} {
		if formats[comp] != want {
			t.Errorf("%s stored as %s, want %s", comp, formats[comp], want)
		}
	}
	// A matrix taller than the tile repeats its quantized head; the head
	// is the quantized random weights.
	w, _ := m.Matrix("lm_head")
	rb := w.RowBytes()
	if !bytes.Equal(w.Data[:rb], w.Data[tileRows*rb:(tileRows+1)*rb]) || bytes.Equal(w.Data[:rb], w.Data[rb:2*rb]) {
		t.Error("lm_head rows do not repeat with period tileRows")
	}
	base, _ := engine.NewRandom(s.Config, 7)
	defer base.Close()
	ref, _ := base.MatrixF32("lm_head")
	got := engine.Dequantize(w)
	var num, den float64
	for i := range s.Config.Dim * tileRows {
		num += float64((got[i] - ref[i]) * (got[i] - ref[i]))
		den += float64(ref[i] * ref[i])
	}
	if rel := math.Sqrt(num / den); rel > 0.05 {
		t.Errorf("q6_k head differs from the random weights by %.3f (relative RMS)", rel)
	}
	// It runs.
	st, _ := engine.NewState(m, 8, nil)
	logits, err := st.Forward([]int{1, 2, 3}, 1)
	if err != nil || len(logits) != s.Config.Vocab {
		t.Fatalf("forward: %d logits, %v", len(logits), err)
	}
	total, perToken := weightBytes(m)
	if perToken >= total || perToken < total-int64(s.Config.Vocab*m.Embed.RowBytes()) {
		t.Errorf("weight bytes %d, per token %d", total, perToken)
	}
}

func TestLimits(t *testing.T) {
	s := tiny()
	m, _ := NewModel(s, mustSpec(t, "f32"), 1)
	defer m.Close()
	l := Limits{FP32: 100, Int8: 400, Bandwidth: [2]float64{10, 16}}
	c := s.Config
	layer := 2*c.Dim*c.Dim + 2*c.KVDim()*c.Dim + 3*c.Dim*c.HiddenDim
	// pp of T tokens at 2 threads: 2 flops per weight and token, the LM
	// head once per call, attention 4·dim·(T+1)/2 per layer.
	T := 32
	flops := float64(2*c.Layers*layer) + 2*float64(c.Vocab*c.Dim)/float64(T) + 4*float64(c.Dim)*float64(T+1)/2*float64(c.Layers)
	if got, want := l.prefill(m, T, 2), 200e9/flops; math.Abs(got-want)/want > 1e-9 {
		t.Errorf("prefill bound %g, want %g", got, want)
	}
	_, perToken := weightBytes(m)
	if want := int64(4*(c.Layers*layer+c.Vocab*c.Dim+c.Dim) + 4*c.Dim*(2*c.Layers+1)); perToken != want {
		t.Errorf("bytes per token %d, want %d", perToken, want)
	}
	kv := 2 * 4 * float64(c.KVDim()) * 4.5 * float64(c.Layers) // 8 tokens: 4.5 positions on average
	if got, want := l.decode(m, perToken, 8, 1), 10e9/(float64(perToken)+kv); math.Abs(got-want)/want > 1e-9 {
		t.Errorf("decode bound %g, want %g", got, want)
	}
	// More threads than the machine's two cores get the two-core figures.
	if l.fp32(8) != 200 || l.bandwidth(8) != 16 || l.int8(1) != 400 {
		t.Error("thread scaling of the limits")
	}
}

func mustSpec(t *testing.T, s string) (spec DType) {
	t.Helper()
	d, err := ParseDType(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRun(t *testing.T) {
	defer func(d time.Duration) { minKernelTime = d }(minKernelTime)
	minKernelTime = time.Millisecond
	dtypes, _ := ParseDTypes("f16,q8_0:a8")
	var progress, seen int
	o := Options{
		Shapes: []Shape{tiny()}, DTypes: dtypes, Threads: []int{1, 2}, Reps: 2, Prompt: 16, Gen: 4,
		GEMVBytes: 1 << 20,
		Progress: func(what string, row *Row) {
			if row != nil {
				seen++
			} else if what != "" {
				progress++
			}
		},
	}
	r, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	isas := 1
	kernelRows := 2 * 2 * len(dtypes) * isas * 2 // matrices × gemm/gemv × dtypes × isas × threads
	modelRows := 2 * len(dtypes) * isas * 2      // pp/tg × dtypes × isas × threads
	if len(r.Rows) != kernelRows+modelRows || seen != len(r.Rows) || progress == 0 {
		t.Fatalf("%d rows (%d seen, %d progress lines), want %d", len(r.Rows), seen, progress, kernelRows+modelRows)
	}
	names := map[string]string{"pp16": "tok/s", "tg4": "tok/s", "gemm": "GFLOP/s", "gemv": "GB/s"}
	for _, row := range r.Rows {
		if names[row.Name] != row.Unit {
			t.Errorf("row %s in %q", row.Name, row.Unit)
		}
		if !(row.Value > 0) || row.Std < 0 || row.Reps != 2 || row.Bytes <= 0 || row.Best < row.Value {
			t.Errorf("row %+v", row)
		}
		if !(row.Limit > 0) || math.Abs(row.LimitShare-row.Value/row.Limit) > 1e-12 {
			t.Errorf("row %s: limit %g, share %g for value %g", row.Name, row.Limit, row.LimitShare, row.Value)
		}
		if row.LlamaCpp != nil {
			t.Errorf("row %s of a shape llama.cpp never ran has a llama.cpp figure", row.Name)
		}
		if row.CPUShare < 0 || row.CPUShare > 1 {
			t.Errorf("cpu share %g", row.CPUShare)
		}
	}

	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || len(doc.Rows) != len(r.Rows) {
		t.Fatalf("JSON: %v, %d rows", err, len(doc.Rows))
	}
	for _, k := range []string{"name", "isa", "unit", "value", "std", "best", "threads", "limit_share", "llamacpp"} {
		if _, ok := doc.Rows[0][k]; !ok {
			t.Errorf("JSON row lacks %q", k)
		}
	}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, l := range strings.Split(md.String(), "\n") {
		if strings.HasPrefix(l, "| ") {
			lines++
		}
	}
	if lines != len(r.Rows)+1 {
		t.Errorf("Markdown has %d table lines after the header, want %d:\n%s", lines, len(r.Rows)+1, md.String())
	}
}

func TestRunRestoresISA(t *testing.T) {
	before := kernels.CurrentISA()
	o := Options{Shapes: []Shape{tiny()}, DTypes: []DType{mustSpec(t, "f32")}, ISAs: kernels.Available(),
		Threads: []int{1}, Reps: 1, Prompt: 4, Gen: 2, Models: true}
	r, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	for i, isa := range kernels.Available() {
		if r.Rows[2*i].ISA != string(isa) {
			t.Errorf("row %d on %s, want %s", 2*i, r.Rows[2*i].ISA, isa)
		}
	}
	if kernels.CurrentISA() != before {
		t.Errorf("ISA %s after Run, was %s", kernels.CurrentISA(), before)
	}
	o.ISAs = []kernels.ISA{"sse9"}
	if _, err := Run(o); err == nil || !strings.Contains(err.Error(), "sse9") {
		t.Errorf("unknown ISA: %v", err)
	}
	o.ISAs, o.Threads = nil, []int{0}
	if _, err := Run(o); err == nil {
		t.Error("0 threads accepted")
	}
}

func TestLlamaFigures(t *testing.T) {
	for _, c := range []struct {
		shape, dtype, test string
		threads            int
		want               float64
	}{
		{"stories110m", "f16", "pp512", 2, 862},
		{"stories110m", "f16", "tg128", 2, 75.8},
		{"tinyllama-1.1b", "q8_0:a8", "tg128", 2, 14.54},
		{"tinyllama-1.1b", "q8_0", "pp512", 2, 88.7},
		{"tinyllama-1.1b", "q4_0", "tg128", 2, 22.86},
		{"tinyllama-1.1b", "q4_k", "pp512", 1, 55.5},
		{"tinyllama-1.1b", "q4_k:pure", "pp512", 1, 0},
		{"tinyllama-1.1b", "f32", "pp512", 1, 0},
		{"stories110m", "f16", "pp512", 4, 0},
	} {
		v, ok := llamaFigure(c.shape, mustSpec(t, c.dtype), c.test, c.threads)
		if v != c.want || ok != (c.want != 0) {
			t.Errorf("%s %s %s t=%d: %v %v, want %v", c.shape, c.dtype, c.test, c.threads, v, ok, c.want)
		}
	}
}

func TestMeanStd(t *testing.T) {
	// llama-bench reports the sample standard deviation (n−1).
	m, s := meanStd([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if m != 5 || math.Abs(s-math.Sqrt(32.0/7)) > 1e-12 {
		t.Errorf("mean %g, std %g", m, s)
	}
	if m, s := meanStd([]float64{3}); m != 3 || s != 0 {
		t.Errorf("one value: mean %g, std %g", m, s)
	}
}

func TestMarkdownRow(t *testing.T) {
	llama := 10.07
	r := &Result{Rows: []Row{{Name: "tg128", Shape: "tinyllama-1.1b", DType: "f16", ISA: "avx512", Threads: 2,
		Unit: "tok/s", Value: 12.345, Std: 0.25, Best: 12.6, Limit: 13.7, LimitShare: 12.345 / 13.7, LlamaCpp: &llama, CPUShare: 0.97}}}
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	want := "| tg128 | tinyllama-1.1b | f16 | avx512 | 2 | 12.3 ± 0.25 | 12.6 | tok/s | 90% of 13.7 | 10.1 | 1.23× | 97% |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("got\n%s\nwant a line\n%s", b.String(), want)
	}
}

func TestParseLimits(t *testing.T) {
	l, err := ParseLimits("fp32=105, int8=420,bw=19/30")
	if err != nil || l != (Limits{105, 420, [2]float64{19, 30}}) {
		t.Errorf("%+v, %v", l, err)
	}
	if l, err := ParseLimits("bw=12"); err != nil || l.Bandwidth != [2]float64{12, 24} || l.FP32 != DevMachine().FP32 {
		t.Errorf("%+v, %v", l, err)
	}
	for _, bad := range []string{"", "fp32", "fp32=-1", "fp32=NaN", "bw=1/2/3", "flops=3", "int8=1/2"} {
		if _, err := ParseLimits(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The pp and tg runs do what llama-bench's do: from an empty cache, pp in
// one pass, tg one token at a time; the tg warm-up decodes one token.
func TestPrefillDecodeRuns(t *testing.T) {
	m, _ := NewModel(tiny(), mustSpec(t, "f16"), 3)
	defer m.Close()
	st, _ := engine.NewState(m, 32, nil)
	tokens := []int{5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		name  string
		run   func(bool) (time.Duration, float64, error)
		timed bool
		want  int
	}{
		{"pp", prefill(st, tokens), true, 6},
		{"tg warm-up", decode(st, tokens), false, 1},
		{"tg", decode(st, tokens), true, 6},
		{"tg after warm-up", decode(st, tokens[:4]), true, 4},
	} {
		if _, err := st.Forward([]int{1, 2}, 0); err != nil { // a non-empty cache to start from
			t.Fatal(err)
		}
		d, work, err := c.run(c.timed)
		if err != nil || d <= 0 || work != float64(c.want) || st.Len() != c.want {
			t.Errorf("%s: %v, work %g, cache %d, %v; want %d tokens from an empty cache", c.name, d, work, st.Len(), err, c.want)
		}
	}
	// A warm-up does not shorten the timed runs that follow.
	run := decode(st, tokens)
	run(false)
	if _, work, _ := run(true); work != 6 {
		t.Errorf("tg after its warm-up decoded %g tokens", work)
	}
}
