package quant

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divergo/divergo/gguf"
	"github.com/divergo/divergo/internal/assets"
)

// The fixtures are tiny256-F32.gguf and its llama-quantize --pure outputs
// (../shared/assets/models/ggml-fixtures). testdata/tiny256/ keeps a few
// rows of two tensors in every type so the exactness tests also run on a
// clean clone; -update rewrites them from the shared assets.

var update = flag.Bool("update", false, "rewrite testdata/tiny256 from the shared assets")

var fixtureTypes = []string{"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"}

func fixturePath(t testing.TB, typ string) string {
	name := "tiny256-" + strings.ToUpper(typ) + ".gguf"
	if typ == "f32" {
		name = "tiny256-F32.gguf"
	}
	return assets.Path(t, "models/ggml-fixtures/"+name)
}

func openGGUF(t testing.TB, path string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func f32sOf(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// sample is one matrix: float32 source rows and llama-quantize's bytes of
// the same rows per type.
type sample struct {
	name       string
	rows, cols int
	w          []float32
	ref        map[string][]byte
}

// fullSamples reads every 2-D tensor of tiny256-F32.gguf with its
// counterparts in the quantized files.
func fullSamples(t *testing.T, types []string) []sample {
	src := openGGUF(t, fixturePath(t, "f32"))
	files := map[string]*gguf.File{}
	for _, typ := range types {
		files[typ] = openGGUF(t, fixturePath(t, typ))
	}
	var out []sample
	for _, ti := range src.Tensors {
		if len(ti.Dims) != 2 {
			continue
		}
		data, err := src.TensorData(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		s := sample{name: ti.Name, cols: int(ti.Dims[0]), rows: int(ti.Dims[1]), w: f32sOf(data), ref: map[string][]byte{}}
		for typ, f := range files {
			qi, ok := f.Tensor(ti.Name)
			if !ok {
				t.Fatalf("%s: no tensor %s", f.Path(), ti.Name)
			}
			if !strings.EqualFold(qi.Type.String(), typ) {
				t.Fatalf("%s: tensor %s has type %s, want %s", f.Path(), ti.Name, qi.Type, typ)
			}
			b, err := f.TensorData(ti.Name)
			if err != nil {
				t.Fatal(err)
			}
			s.ref[typ] = b
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatal("no matrices in tiny256-F32.gguf")
	}
	return out
}

// localSamples are the rows kept in testdata/tiny256.
var localSamples = []struct {
	tensor string
	rows   int
}{
	{"blk.0.attn_q.weight", 64},
	{"blk.0.ffn_down.weight", 16},
}

func localDir(tensor string) string {
	return filepath.Join("testdata", "tiny256", strings.TrimSuffix(tensor, ".weight"))
}

type localMeta struct {
	Rows, Cols int
}

func TestUpdateTestdata(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/tiny256")
	}
	for _, ls := range localSamples {
		var s *sample
		for _, x := range fullSamples(t, fixtureTypes) {
			if x.name == ls.tensor {
				s = &x
				break
			}
		}
		if s == nil {
			t.Fatalf("no tensor %s", ls.tensor)
		}
		dir := localDir(ls.tensor)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		meta, _ := json.Marshal(localMeta{Rows: ls.rows, Cols: s.cols})
		write := func(name string, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("shape.json", meta)
		write("f32.bin", f32Bytes(s.w[:ls.rows*s.cols]))
		for _, typ := range fixtureTypes {
			rb := len(s.ref[typ]) / s.rows
			write(typ+".bin", s.ref[typ][:ls.rows*rb])
		}
	}
}

func loadLocalSamples(t *testing.T) []sample {
	var out []sample
	for _, ls := range localSamples {
		dir := localDir(ls.tensor)
		read := func(name string) []byte {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		var meta localMeta
		if err := json.Unmarshal(read("shape.json"), &meta); err != nil {
			t.Fatal(err)
		}
		s := sample{name: ls.tensor, rows: meta.Rows, cols: meta.Cols, w: f32sOf(read("f32.bin")), ref: map[string][]byte{}}
		if len(s.w) != s.rows*s.cols {
			t.Fatalf("%s: f32.bin has %d values for %d×%d", dir, len(s.w), s.rows, s.cols)
		}
		for _, typ := range fixtureTypes {
			s.ref[typ] = read(typ + ".bin")
		}
		out = append(out, s)
	}
	return out
}

// compareBlocks quantizes s under typ and counts blocks identical to the reference.
func compareBlocks(t *testing.T, s sample, typ string) (same, total int, mine []byte) {
	t.Helper()
	sp, err := ParseSpec(typ)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Quantize(sp, s.name, s.rows, s.cols, s.w)
	if err != nil {
		t.Fatal(err)
	}
	info := lookupFormat(typ)
	ref := s.ref[typ]
	if len(m.Data) != len(ref) {
		t.Fatalf("%s %s: %d bytes, llama-quantize wrote %d", s.name, typ, len(m.Data), len(ref))
	}
	for off := 0; off < len(ref); off += info.bytes {
		total++
		if bytes.Equal(m.Data[off:off+info.bytes], ref[off:off+info.bytes]) {
			same++
		}
	}
	return same, total, m.Data
}

// rmse returns the root-mean-square difference of a and b.
func rmse(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s / float64(len(a)))
}

// decodeAll decodes a ggml matrix with the reference decoders.
func decodeAll(typ string, data []byte, rows, cols int) []float32 {
	rb := codecFor(Spec{Format: typ}).rowBytes(cols)
	dec := referenceDecoders[typ]
	out := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		dec(out[r*cols:(r+1)*cols], data[r*rb:(r+1)*rb])
	}
	return out
}

// checkExactness asserts byte identity with llama-quantize for every type
// (the k-quant searches are ported operation for operation, so they match
// too), reports the identical-block share and the RMSE against the float32
// source, and asserts ours is at most 1.05 × llama.cpp's.
func checkExactness(t *testing.T, samples []sample) {
	for _, typ := range fixtureTypes {
		var same, total int
		var seMine, seRef float64
		var n int
		for _, s := range samples {
			sm, tot, mine := compareBlocks(t, s, typ)
			same += sm
			total += tot
			a := decodeAll(typ, mine, s.rows, s.cols)
			b := decodeAll(typ, s.ref[typ], s.rows, s.cols)
			rm, rr := rmse(a, s.w), rmse(b, s.w)
			seMine += rm * rm * float64(len(s.w))
			seRef += rr * rr * float64(len(s.w))
			n += len(s.w)
		}
		rm, rr := math.Sqrt(seMine/float64(n)), math.Sqrt(seRef/float64(n))
		t.Logf("%-5s %6d/%6d blocks identical (%.2f%%), RMSE vs f32: ours %.6g, llama.cpp %.6g (ratio %.4f)",
			typ, same, total, 100*float64(same)/float64(total), rm, rr, rm/rr)
		if same != total {
			t.Errorf("%s: %d of %d blocks differ from llama-quantize", typ, total-same, total)
		}
		if rm > 1.05*rr {
			t.Errorf("%s: RMSE %.6g exceeds 1.05 × llama.cpp's %.6g", typ, rm, rr)
		}
	}
}

func TestFixtureExactnessLocal(t *testing.T) {
	checkExactness(t, loadLocalSamples(t))
}

func TestFixtureExactnessFull(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	checkExactness(t, fullSamples(t, fixtureTypes))
}

// TestDecodersMatchLlamaCpp checks the row decoders against llama.cpp's
// own dequantized values (*.dequant.safetensors, gguf-py's decoder).
func TestDecodersMatchLlamaCpp(t *testing.T) {
	for _, typ := range fixtureTypes {
		path := assets.Path(t, "models/ggml-fixtures/tiny256-"+strings.ToUpper(typ)+".dequant.safetensors")
		tensors := readSafetensorsF32(t, path)
		q := openGGUF(t, fixturePath(t, typ))
		for name, want := range tensors {
			ti, ok := q.Tensor(name)
			if !ok {
				t.Fatalf("%s: no tensor %s", typ, name)
			}
			data, _ := q.TensorData(name)
			got := decodeAll(typ, data, int(ti.Dims[1]), int(ti.Dims[0]))
			if len(got) != len(want.data) {
				t.Fatalf("%s %s: %d values, dequant file has %d", typ, name, len(got), len(want.data))
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want.data[i]) {
					t.Fatalf("%s %s[%d]: decoded %g, llama.cpp %g", typ, name, i, got[i], want.data[i])
				}
			}
		}
	}
}

type stTensor struct {
	shape []int
	data  []float32
}

// readSafetensorsF32 is a minimal reader for the F32 dequant fixtures.
func readSafetensorsF32(t *testing.T, path string) map[string]stTensor {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	out := map[string]stTensor{}
	for name, raw := range hdr {
		if name == "__metadata__" {
			continue
		}
		var ti struct {
			Dtype   string   `json:"dtype"`
			Shape   []int    `json:"shape"`
			Offsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &ti); err != nil {
			t.Fatal(err)
		}
		if ti.Dtype != "F32" {
			t.Fatalf("%s: %s is %s", path, name, ti.Dtype)
		}
		base := int64(8 + n)
		out[name] = stTensor{ti.Shape, f32sOf(b[base+ti.Offsets[0] : base+ti.Offsets[1]])}
	}
	return out
}

func ExampleQuantize() {
	w := []float32{0.5, -1, 0.25, 0} // one row
	sp, _ := ParseSpec("int8")
	m, _ := Quantize(sp, "layers.0.attn.q", 1, 4, w)
	back, _ := Dequantize(m)
	fmt.Println(m.Format.Name, len(m.Data), back)
	// Output: int8:row 8 [0.503937 -1 0.2519685 0]
}

// TestStories260KExactness quantizes the trained stories260K weights as
// llama-quantize did (its --pure outputs keep ffn_down in F16 and norms in
// F32) and compares bytes, F16 casts included.
func TestStories260KExactness(t *testing.T) {
	src := openGGUF(t, assets.Path(t, "models/stories260K/stories260K.gguf"))
	for _, typ := range []string{"F16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"} {
		q := openGGUF(t, assets.Path(t, "models/ggml-fixtures/stories260K-"+typ+".gguf"))
		checked := 0
		for _, qi := range q.Tensors {
			if qi.Type == gguf.F32 {
				continue
			}
			si, ok := src.Tensor(qi.Name)
			if !ok || si.Type != gguf.F32 || len(si.Dims) != 2 {
				t.Fatalf("%s: source tensor %s missing or not a float32 matrix", typ, qi.Name)
			}
			data, _ := src.TensorData(qi.Name)
			want, _ := q.TensorData(qi.Name)
			sp, err := ParseSpec(qi.Type.String())
			if err != nil {
				t.Fatal(err)
			}
			m, err := Quantize(sp, qi.Name, int(si.Dims[1]), int(si.Dims[0]), f32sOf(data))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.Data, want) {
				t.Errorf("%s %s (%s): bytes differ from llama-quantize", typ, qi.Name, sp)
			}
			checked++
		}
		t.Logf("stories260K-%s: %d tensors byte-identical", typ, checked)
		if checked == 0 {
			t.Errorf("%s: no quantized tensors", typ)
		}
	}
}
