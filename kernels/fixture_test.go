package kernels_test

// Bit-exactness of the ggml decoders against llama.cpp's reference values:
// the shared ggml-fixtures (quantized GGUF files written by llama-quantize
// and the float32 values gguf-py's dequantizer computes from them), and a
// compact copy of rows of every type in testdata/ggml_rows.json.gz so that
// the check also runs on a clean clone. Regenerate the copy with
//
//	DIVERGO_GEN_FIXTURES=1 go test ./kernels -run TestGenerateGGMLRows

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/divergo/divergo/gguf"
	"github.com/divergo/divergo/internal/assets"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/safetensors"
)

const rowsFixture = "testdata/ggml_rows.json.gz"

// fixtureTensor is one tensor of a fixture pair: its raw GGUF bytes and
// llama.cpp's dequantized values, rows × cols.
type fixtureTensor struct {
	file, name string
	format     *kernels.Format
	rows, cols int
	raw        []byte
	want       []float32
}

// loadFixtures reads every *.dequant.safetensors of the shared ggml-fixtures
// with its .gguf and returns the tensors (skipping the test when the shared
// assets are absent).
func loadFixtures(t *testing.T) []fixtureTensor {
	t.Helper()
	dir := filepath.Dir(assets.Path(t, "models/ggml-fixtures/README.md"))
	refs, err := filepath.Glob(filepath.Join(dir, "*.dequant.safetensors"))
	if err != nil || len(refs) == 0 {
		t.Fatalf("no *.dequant.safetensors in %s (%v)", dir, err)
	}
	sort.Strings(refs)
	var out []fixtureTensor
	for _, ref := range refs {
		st, err := safetensors.Open(ref)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ggufPath := strings.TrimSuffix(ref, ".dequant.safetensors") + ".gguf"
		gf, err := gguf.Open(ggufPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gf.Close() })
		for _, ti := range st.Tensors() {
			info, ok := gf.Tensor(ti.Name)
			if !ok {
				t.Fatalf("%s: tensor %q not in %s", ref, ti.Name, ggufPath)
			}
			f, err := kernels.FormatByGGML(int(info.Type))
			if err != nil {
				t.Fatalf("%s %s: %v", ggufPath, ti.Name, err)
			}
			rows, cols := 1, int(ti.Shape[len(ti.Shape)-1])
			if len(ti.Shape) == 2 {
				rows = int(ti.Shape[0])
			}
			if int(info.Dims[0]) != cols || int(info.Elements()) != rows*cols {
				t.Fatalf("%s: shape %v does not match GGUF dims %v", ti.Name, ti.Shape, info.Dims)
			}
			raw, err := gf.TensorData(ti.Name)
			if err != nil {
				t.Fatal(err)
			}
			want, err := st.F32(ti.Name)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fixtureTensor{filepath.Base(ggufPath), ti.Name, f, rows, cols, raw, want})
		}
	}
	return out
}

// checkRows decodes rows of a tensor with every available ISA and compares
// the bits with want; it returns the number of values compared.
func checkRows(t *testing.T, label string, f *kernels.Format, rows, cols int, raw []byte, want []float32) int {
	t.Helper()
	rb := f.RowBytes(cols)
	if len(raw) < rows*rb || len(want) != rows*cols {
		t.Fatalf("%s: %d bytes / %d values for %d×%d %s", label, len(raw), len(want), rows, cols, f.Name)
	}
	got := make([]float32, cols)
	for r := 0; r < rows; r++ {
		f.Dequant(got, raw[r*rb:(r+1)*rb])
		for c, v := range got {
			w := want[r*cols+c]
			if math.Float32bits(v) != math.Float32bits(w) {
				t.Fatalf("%s (%s) row %d col %d: got %g (%#08x), llama.cpp %g (%#08x)",
					label, f.Name, r, c, v, math.Float32bits(v), w, math.Float32bits(w))
			}
		}
	}
	return rows * cols
}

func forEachISA(t *testing.T, fn func(isa kernels.ISA)) {
	orig := kernels.CurrentISA()
	defer kernels.SetISA(orig)
	for _, isa := range kernels.Available() {
		if err := kernels.SetISA(isa); err != nil {
			t.Fatal(err)
		}
		fn(isa)
	}
}

// TestGGMLFixtures compares every tensor of the shared fixtures bit for bit.
func TestGGMLFixtures(t *testing.T) {
	tensors := loadFixtures(t)
	forEachISA(t, func(isa kernels.ISA) {
		counts := map[string]int{}
		for _, ft := range tensors {
			counts[ft.format.Name] += checkRows(t, ft.file+" "+ft.name, ft.format, ft.rows, ft.cols, ft.raw, ft.want)
		}
		t.Logf("%s: values bit-identical with llama.cpp per type: %v", isa, counts)
	})
}

// rowRecord is one row of the compact fixture.
type rowRecord struct {
	File   string `json:"file"`
	Tensor string `json:"tensor"`
	Type   int    `json:"ggml_type"`
	Row    int    `json:"row"`
	Cols   int    `json:"cols"`
	Raw    []byte `json:"raw"`  // the row's block bytes (base64)
	Want   []byte `json:"want"` // llama.cpp's float32 values, little-endian (base64)
}

type rowFixture struct {
	Source string      `json:"source"`
	Rows   []rowRecord `json:"rows"`
}

// TestGGMLRowsFixture checks the compact copy (runs without the shared assets).
func TestGGMLRowsFixture(t *testing.T) {
	fx := readRowsFixture(t)
	forEachISA(t, func(isa kernels.ISA) {
		counts := map[string]int{}
		for _, r := range fx.Rows {
			f, err := kernels.FormatByGGML(r.Type)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, len(r.Want)/4)
			for i := range want {
				want[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.Want[4*i:]))
			}
			label := fmt.Sprintf("%s %s row %d", r.File, r.Tensor, r.Row)
			counts[f.Name] += checkRows(t, label, f, 1, r.Cols, r.Raw, want)
		}
		t.Logf("%s: %d rows; values bit-identical per type: %v", isa, len(fx.Rows), counts)
	})
	var types []string
	seen := map[int]bool{}
	for _, r := range fx.Rows {
		if !seen[r.Type] {
			seen[r.Type] = true
			f, _ := kernels.FormatByGGML(r.Type)
			types = append(types, f.Name)
		}
	}
	for _, want := range []string{"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"} {
		if !slices.Contains(types, want) {
			t.Errorf("fixture has no rows of %s", want)
		}
	}
}

func readRowsFixture(t *testing.T) rowFixture {
	t.Helper()
	b, err := os.ReadFile(rowsFixture)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var fx rowFixture
	if err := json.NewDecoder(zr).Decode(&fx); err != nil {
		t.Fatalf("%s: %v", rowsFixture, err)
	}
	return fx
}

// TestGenerateGGMLRows writes testdata/ggml_rows.json.gz from the shared
// fixtures: per quantized tensor, its first row, the row holding the
// largest |value| and its last row.
func TestGenerateGGMLRows(t *testing.T) {
	if os.Getenv("DIVERGO_GEN_FIXTURES") == "" {
		t.Skip("set DIVERGO_GEN_FIXTURES=1 to regenerate " + rowsFixture)
	}
	fx := rowFixture{Source: "../shared/assets/models/ggml-fixtures (llama-quantize output, gguf-py dequantize)"}
	seen := map[string]int{}
	for _, ft := range loadFixtures(t) {
		if ft.format.Block == 1 || ft.rows < 2 {
			continue // f32/f16 tensors and norms: trivially exact
		}
		key := ft.file + " " + ft.format.Name
		if seen[key] >= 2 {
			continue // two tensors per file and type
		}
		seen[key]++
		best, bestAbs := 0, float32(-1)
		for i, v := range ft.want {
			if a := float32(math.Abs(float64(v))); a > bestAbs {
				best, bestAbs = i/ft.cols, a
			}
		}
		rb := ft.format.RowBytes(ft.cols)
		for _, r := range slices.Compact([]int{0, best, ft.rows - 1}) {
			want := make([]byte, 4*ft.cols)
			for c := 0; c < ft.cols; c++ {
				binary.LittleEndian.PutUint32(want[4*c:], math.Float32bits(ft.want[r*ft.cols+c]))
			}
			fx.Rows = append(fx.Rows, rowRecord{ft.file, ft.name, ft.format.GGML, r, ft.cols,
				slices.Clone(ft.raw[r*rb : (r+1)*rb]), want})
		}
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(fx); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rowsFixture, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d rows, %d bytes", rowsFixture, len(fx.Rows), buf.Len())
}
