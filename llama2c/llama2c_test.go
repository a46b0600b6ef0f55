package llama2c

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/divergo/divergo/gguf"
	"github.com/divergo/divergo/internal/assets"
)

// want is the expected content of one tensor.
type want struct {
	f32 []float32 // F32 tensors
	q   []int8    // Q8 tensors
	s   []float32
}

// fixture writes a checkpoint the way llama2.c's export.py does
// (legacy_export, version1_export, version2_export), independently of the
// reader's layout code, and records what every tensor holds.
type fixture struct {
	cfg     Config
	freqCis bool // legacy: write the freq_cis tables
	buf     bytes.Buffer
	want    map[string]want // "name/layer"
	rng     *rand.Rand
}

func (f *fixture) i32(v int32) { binary.Write(&f.buf, binary.LittleEndian, v) }

func (f *fixture) floats(v []float32) {
	for _, x := range v {
		binary.Write(&f.buf, binary.LittleEndian, math.Float32bits(x))
	}
}

func (f *fixture) gen(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(f.rng.NormFloat64())
	}
	return v
}

// f32 writes one F32 tensor per layer (or one when layers is 0).
func (f *fixture) f32(name string, layers, n int) {
	if layers == 0 {
		v := f.gen(n)
		f.floats(v)
		f.want[name+"/-1"] = want{f32: v}
		return
	}
	for l := range layers {
		v := f.gen(n)
		f.floats(v)
		f.want[fmt.Sprintf("%s/%d", name, l)] = want{f32: v}
	}
}

// q80 writes tensors quantized as quantize_q80 does: per group,
// scale = max|w| / 127, q = round(w / scale); int8 values, then scales.
func (f *fixture) q80(name string, layers, n int) {
	key := name + "/-1"
	for l := range max(layers, 1) {
		if layers > 0 {
			key = fmt.Sprintf("%s/%d", name, l)
		}
		w := f.gen(n)
		gs := f.cfg.GroupSize
		q := make([]int8, n)
		s := make([]float32, n/gs)
		for g := range s {
			var m float32
			for _, x := range w[g*gs : (g+1)*gs] {
				m = max(m, float32(math.Abs(float64(x))))
			}
			s[g] = m / 127
			for i := g * gs; i < (g+1)*gs; i++ {
				q[i] = int8(math.RoundToEven(float64(w[i] / s[g])))
			}
		}
		for _, x := range q {
			f.buf.WriteByte(byte(x))
		}
		f.floats(s)
		f.want[key] = want{q: q, s: s}
	}
}

func build(cfg Config, freqCis bool) *fixture {
	f := &fixture{cfg: cfg, freqCis: freqCis, want: map[string]want{}, rng: rand.New(rand.NewPCG(uint64(cfg.Dim), uint64(cfg.Version)))}
	D, H, L, V := cfg.Dim, cfg.HiddenDim, cfg.Layers, cfg.Vocab
	KV := cfg.KVDim()
	header := func() {
		vocab := int32(V)
		if cfg.Version == 0 && !cfg.SharedClassifier {
			vocab = -vocab
		}
		for _, v := range []int32{int32(D), int32(H), int32(L), int32(cfg.Heads), int32(cfg.KVHeads), vocab, int32(cfg.SeqLen)} {
			f.i32(v)
		}
	}
	switch cfg.Version {
	case 0:
		header()
		f.f32("token_embedding", 0, V*D)
		f.f32("rms_att", L, D)
		f.f32("wq", L, D*D)
		f.f32("wk", L, KV*D)
		f.f32("wv", L, KV*D)
		f.f32("wo", L, D*D)
		f.f32("rms_ffn", L, D)
		f.f32("w1", L, H*D)
		f.f32("w2", L, D*H)
		f.f32("w3", L, H*D)
		f.f32("rms_final", 0, D)
		if freqCis {
			f.f32("freq_cis_real", 0, cfg.SeqLen*cfg.HeadSize()/2)
			f.f32("freq_cis_imag", 0, cfg.SeqLen*cfg.HeadSize()/2)
		}
		if !cfg.SharedClassifier {
			f.f32("wcls", 0, V*D)
		}
	case 1, 2:
		f.i32(Magic)
		f.i32(int32(cfg.Version))
		header()
		shared := byte(0)
		if cfg.SharedClassifier {
			shared = 1
		}
		f.buf.WriteByte(shared)
		if cfg.Version == 2 {
			f.i32(int32(cfg.GroupSize))
		}
		f.buf.Write(make([]byte, 256-f.buf.Len()))
		f.f32("rms_att", L, D)
		f.f32("rms_ffn", L, D)
		f.f32("rms_final", 0, D)
		mat := f.f32
		if cfg.Version == 2 {
			mat = f.q80
		}
		mat("token_embedding", 0, V*D)
		mat("wq", L, D*D)
		mat("wk", L, KV*D)
		mat("wv", L, KV*D)
		mat("wo", L, D*D)
		mat("w1", L, H*D)
		mat("w2", L, D*H)
		mat("w3", L, H*D)
		if !cfg.SharedClassifier {
			mat("wcls", 0, V*D)
		}
	}
	return f
}

func small(version int, shared bool) Config {
	c := Config{Dim: 16, HiddenDim: 24, Layers: 3, Heads: 4, KVHeads: 2, Vocab: 10, SeqLen: 6, SharedClassifier: shared, Version: version}
	if version == 2 {
		c.GroupSize = 8
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		freq bool
	}{
		{"legacy shared", small(0, true), true},
		{"legacy unshared", small(0, false), true},
		{"legacy shared no freq_cis", small(0, true), false},
		{"legacy unshared no freq_cis", small(0, false), false},
		{"v1 shared", small(1, true), false},
		{"v1 unshared", small(1, false), false},
		{"v2 shared", small(2, true), false},
		{"v2 unshared", small(2, false), false},
		{"v2 group 4 MHA", Config{Dim: 8, HiddenDim: 12, Layers: 2, Heads: 2, KVHeads: 2, Vocab: 5, SeqLen: 3, Version: 2, GroupSize: 4, SharedClassifier: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := build(tt.cfg, tt.freq)
			c, err := ParseBytes(fx.buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if c.Config != tt.cfg {
				t.Errorf("config %+v, want %+v", c.Config, tt.cfg)
			}
			if c.FreqCis != tt.freq {
				t.Errorf("FreqCis = %v", c.FreqCis)
			}
			if n := len(c.Tensors()); n != len(fx.want) {
				t.Errorf("Tensors lists %d, file holds %d", n, len(fx.want))
			}
			for key, w := range fx.want {
				var name string
				var layer int
				fmt.Sscanf(strings.Replace(key, "/", " ", 1), "%s %d", &name, &layer)
				tensor, err := c.Tensor(name, layer)
				if err != nil {
					t.Fatal(err)
				}
				checkTensor(t, key, tensor, w)
			}
			// wcls is always available; shared, it is the embedding.
			cls, err := c.Tensor("wcls", -1)
			if err != nil {
				t.Fatal(err)
			}
			wantCls := fx.want["wcls/-1"]
			if tt.cfg.SharedClassifier {
				wantCls = fx.want["token_embedding/-1"]
			}
			checkTensor(t, "wcls", cls, wantCls)
			if cls.Name != "wcls" || !reflect.DeepEqual(cls.Shape, []int{tt.cfg.Vocab, tt.cfg.Dim}) {
				t.Errorf("wcls: name %q shape %v", cls.Name, cls.Shape)
			}
			w2, _ := c.Tensor("w2", 1)
			if !reflect.DeepEqual(w2.Shape, []int{tt.cfg.Dim, tt.cfg.HiddenDim}) || w2.Layer != 1 {
				t.Errorf("w2: shape %v layer %d", w2.Shape, w2.Layer)
			}
		})
	}
}

func checkTensor(t *testing.T, key string, tensor Tensor, w want) {
	t.Helper()
	if w.f32 != nil {
		v, err := tensor.F32()
		if err != nil || !reflect.DeepEqual(v, w.f32) || tensor.Elements() != len(w.f32) {
			t.Errorf("%s: F32 values differ (%v)", key, err)
		}
		if !reflect.DeepEqual(tensor.ToFloat32(), w.f32) {
			t.Errorf("%s: ToFloat32 differs", key)
		}
		if _, _, err := tensor.Q8(); err == nil {
			t.Errorf("%s: Q8 of an F32 tensor gave no error", key)
		}
		return
	}
	q, s, err := tensor.Q8()
	if err != nil || !reflect.DeepEqual(q, w.q) || !reflect.DeepEqual(s, w.s) {
		t.Errorf("%s: Q8 values differ (%v)", key, err)
	}
	deq := tensor.ToFloat32()
	gs := len(w.q) / len(w.s)
	for i, x := range deq {
		if x != float32(w.q[i])*w.s[i/gs] {
			t.Fatalf("%s: dequantized value %d = %v", key, i, x)
		}
	}
	if _, err := tensor.F32(); err == nil {
		t.Errorf("%s: F32 of a Q8 tensor gave no error", key)
	}
}

func TestTensorErrors(t *testing.T) {
	c, err := ParseBytes(build(small(1, true), false).buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		layer int
		want  string
	}{
		{"wq", 3, "layer 3 out of range [0, 3)"},
		{"wq", -1, "layer -1 out of range"},
		{"rms_final", 0, "not a per-layer weight"},
		{"freq_cis_real", -1, "not in checkpoint"},
		{"output", -1, "not in checkpoint"},
	} {
		if _, err := c.Tensor(tc.name, tc.layer); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Tensor(%s, %d): %v, want %q", tc.name, tc.layer, err, tc.want)
		}
	}
	c.Close()
	if _, err := c.Tensor("wq", 0); err == nil {
		t.Error("Tensor after Close: no error")
	}
}

// header returns a file with the given header words and size.
func header(words []int32, extra []byte, size int) []byte {
	var b bytes.Buffer
	for _, w := range words {
		binary.Write(&b, binary.LittleEndian, w)
	}
	b.Write(extra)
	if b.Len() < size {
		b.Write(make([]byte, size-b.Len()))
	}
	return b.Bytes()
}

type hostileCase struct {
	name string
	in   []byte
	want string
}

func hostileCases() []hostileCase {
	ok := []int32{16, 24, 3, 4, 2, 10, 6}
	with := func(i int, v int32) []int32 {
		w := append([]int32(nil), ok...)
		w[i] = v
		return w
	}
	v1 := func(words []int32, flags ...byte) []byte {
		return header(append([]int32{Magic, 1}, words...), flags, 256)
	}
	v2 := func(words []int32, gs int32) []byte {
		extra := binary.LittleEndian.AppendUint32([]byte{1}, uint32(gs))
		return header(append([]int32{Magic, 2}, words...), extra, 256)
	}
	legacy := build(small(0, true), true).buf.Bytes()
	huge := []int32{2147483646, 2147483647, 2147483647, 1, 1, 2147483647, 2147483647}
	return []hostileCase{
		{"empty", nil, "truncated: need 28 bytes, file has 0"},
		{"short legacy header", make([]byte, 27), "truncated: need 28 bytes"},
		{"short v1 header", header([]int32{Magic, 1}, nil, 100), "truncated: need 256 bytes, file has 100"},
		{"version 3", header([]int32{Magic, 3}, nil, 256), "unsupported version 3"},
		{"zero dim", header(with(0, 0), nil, 28), "dim: 0, want a positive value"},
		{"negative layers", header(with(2, -5), nil, 28), "n_layers: -5"},
		{"zero kv heads", header(with(4, 0), nil, 28), "n_kv_heads: 0"},
		{"zero seq_len", header(with(6, 0), nil, 28), "seq_len: 0"},
		{"vocab MinInt32", header(with(5, math.MinInt32), nil, 28), "vocab_size: -2147483648 is out of range"},
		{"dim not multiple of heads", header(with(3, 3), nil, 28), "dim 16 is not a multiple of n_heads 3"},
		{"heads not multiple of kv", header(with(4, 3), nil, 28), "n_heads 4 is not a multiple of n_kv_heads 3"},
		{"kv heads above heads", header(with(4, 8), nil, 28), "not a multiple of n_kv_heads 8"},
		{"odd head size", header(with(3, 16), []byte{}, 28), "head size 1"},
		{"v1 negative vocab", v1(with(5, -10), 1), "vocab_size: -10"},
		{"v1 shared flag 2", v1(ok, 2), "shared_classifier: flag is 2"},
		{"v2 group size 0", v2(ok, 0), "group_size: 0"},
		{"v2 group size -8", v2(ok, -8), "group_size: -8"},
		{"v2 group size 7", v2(ok, 7), `tensor "token_embedding": 160 values are not a whole number of groups of 7`},
		{"header only", header(ok, nil, 28), "truncated: need 24252 bytes, file has 28"},
		{"truncated in wcls", legacy[:len(legacy)-1], fmt.Sprintf("truncated: need %d bytes, file has %d", len(legacy), len(legacy)-1)},
		{"trailing bytes", append(append([]byte(nil), legacy...), 0, 0, 0, 0), "4 trailing bytes"},
		{"sizes overflow", header(huge, nil, 28), "overflows int64"},
		{"v2 sizes overflow", v2(huge, 1), "overflows int64"},
	}
}

func TestHostile(t *testing.T) {
	for _, tt := range hostileCases() {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err = ParseBytes(tt.in)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), "llama2c: ") {
				t.Errorf("error %q is not a llama2c format error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes", alloc)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short.bin")
	os.WriteFile(path, make([]byte, 10), 0o644)
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name the file: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.bin")); err == nil {
		t.Error("missing file: no error")
	}
}

// checkFreqCis compares the legacy RoPE tables with the values llama2.c's
// model.py computes: cos and sin of pos · 10000^(−2i/head_size).
func checkFreqCis(t *testing.T, c *Checkpoint) {
	t.Helper()
	re, err1 := c.Tensor("freq_cis_real", -1)
	im, err2 := c.Tensor("freq_cis_imag", -1)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	rv, _ := re.F32()
	iv, _ := im.F32()
	half := c.Config.HeadSize() / 2
	for pos := range c.Config.SeqLen {
		for i := range half {
			theta := float64(pos) * math.Pow(10000, -float64(2*i)/float64(c.Config.HeadSize()))
			if math.Abs(float64(rv[pos*half+i])-math.Cos(theta)) > 1e-4 || math.Abs(float64(iv[pos*half+i])-math.Sin(theta)) > 1e-4 {
				t.Fatalf("freq_cis at pos %d, i %d: %v %v, want cos/sin of %v", pos, i, rv[pos*half+i], iv[pos*half+i], theta)
			}
		}
	}
}

func TestStories260K(t *testing.T) {
	// testdata/stories260K.bin is a copy of the shared
	// models/stories260K/stories260K.bin (MANIFEST §1a).
	c, err := Open(filepath.Join("testdata", "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := Config{Dim: 64, HiddenDim: 172, Layers: 5, Heads: 8, KVHeads: 4, Vocab: 512, SeqLen: 512, SharedClassifier: true}
	if c.Config != want || !c.FreqCis || len(c.data) != 1056540 {
		t.Errorf("config %+v, freq_cis %v, %d bytes", c.Config, c.FreqCis, len(c.data))
	}
	if c.Config.HeadSize() != 8 || c.Config.KVDim() != 32 {
		t.Errorf("head size %d, kv dim %d", c.Config.HeadSize(), c.Config.KVDim())
	}
	checkFreqCis(t, c)
	if n := len(c.Tensors()); n != 1+9*5+1+2 {
		t.Errorf("%d tensors", n)
	}

	// Every tensor is byte-identical to its counterpart in stories260K.gguf.
	g, err := gguf.Open(assets.Path(t, "models/stories260K/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	names := map[string]string{
		"rms_att": "attn_norm", "wq": "attn_q", "wk": "attn_k", "wv": "attn_v", "wo": "attn_output",
		"rms_ffn": "ffn_norm", "w1": "ffn_gate", "w2": "ffn_down", "w3": "ffn_up",
	}
	compared := 0
	compare := func(tensor Tensor, ggufName string) {
		data, err := g.TensorData(ggufName)
		if err != nil {
			t.Fatal(err)
		}
		ti, _ := g.Tensor(ggufName)
		dims := make([]int, len(ti.Dims)) // GGUF lists dims fastest first
		for i, d := range ti.Dims {
			dims[len(dims)-1-i] = int(d)
		}
		if !bytes.Equal(tensor.Data, data) || !reflect.DeepEqual(dims, tensor.Shape) {
			t.Errorf("%s[%d] differs from %s (shape %v vs %v)", tensor.Name, tensor.Layer, ggufName, tensor.Shape, dims)
		}
		compared++
	}
	for _, tensor := range c.Tensors() {
		switch {
		case tensor.Name == "token_embedding":
			compare(tensor, "token_embd.weight")
		case tensor.Name == "rms_final":
			compare(tensor, "output_norm.weight")
		case names[tensor.Name] != "":
			compare(tensor, fmt.Sprintf("blk.%d.%s.weight", tensor.Layer, names[tensor.Name]))
		}
	}
	cls, _ := c.Tensor("wcls", -1)
	compare(cls, "output.weight")
	if compared != 48 {
		t.Errorf("compared %d tensors, want all 48 of the GGUF", compared)
	}
}

func TestBabyLlama(t *testing.T) {
	c, err := Open(assets.Path(t, "models/babyllama-tok105/model5000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := Config{Dim: 128, HiddenDim: 352, Layers: 5, Heads: 8, KVHeads: 4, Vocab: 105, SeqLen: 256, SharedClassifier: true}
	if c.Config != want || !c.FreqCis || len(c.data) != 3762204 {
		t.Errorf("config %+v, freq_cis %v, %d bytes", c.Config, c.FreqCis, len(c.data))
	}
	checkFreqCis(t, c)
	// Trained RMSNorm gains are positive and O(1); a misplaced offset would
	// land in a weight matrix.
	for l := range c.Config.Layers {
		for _, name := range []string{"rms_att", "rms_ffn"} {
			tensor, _ := c.Tensor(name, l)
			v, _ := tensor.F32()
			for _, x := range v {
				if !(x > 0 && x < 10) {
					t.Fatalf("%s[%d] holds %v", name, l, x)
				}
			}
		}
	}
}
