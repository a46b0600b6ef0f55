package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/divergo/divergo/internal/assets"
	"github.com/x448/float16"
)

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func u16bytes(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

// sampleTensors returns one tensor of every dtype, a scalar and an empty
// tensor.
func sampleTensors() []Tensor {
	var ts []Tensor
	for i, d := range []DType{F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, Bool, F8E4M3, F8E5M2} {
		data := make([]byte, 6*d.Size())
		for j := range data {
			data[j] = byte(i*31 + j)
		}
		if d == Bool {
			data = []byte{0, 1, 1, 0, 1, 0}
		}
		ts = append(ts, Tensor{Name: "t." + strings.ToLower(string(d)), DType: d, Shape: []int64{2, 3}, Data: data})
	}
	ts = append(ts,
		Tensor{Name: "scalar", DType: F32, Shape: []int64{}, Data: f32bytes(2.5)},
		Tensor{Name: "empty", DType: F16, Shape: []int64{0, 4}, Data: []byte{}},
		Tensor{Name: "model.norm.weight", DType: F32, Shape: []int64{3}, Data: f32bytes(1, -2, 3.5)},
	)
	return ts
}

func encode(t testing.TB, ts []Tensor, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	ts := sampleTensors()
	meta := map[string]string{"format": "pt", "quote\"<&>": "ünï\ncode"}
	b := encode(t, ts, meta)
	f, err := ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.DataOffset%8 != 0 {
		t.Errorf("data offset %d not a multiple of 8", f.DataOffset)
	}
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Errorf("metadata %v, want %v", f.Metadata, meta)
	}
	if len(f.Tensors()) != len(ts) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors()), len(ts))
	}
	for i := 1; i < len(f.Tensors()); i++ {
		if f.Tensors()[i-1].Name >= f.Tensors()[i].Name {
			t.Errorf("Tensors not sorted by name at %d", i)
		}
	}
	for _, want := range ts {
		got, ok := f.Tensor(want.Name)
		if !ok || got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || got.Size != int64(len(want.Data)) {
			t.Errorf("%s: %+v", want.Name, got)
		}
		// Every tensor lies at an offset aligned to its element size.
		if (f.DataOffset+got.Offset)%want.DType.Size() != 0 {
			t.Errorf("%s at offset %d, not aligned to %d", want.Name, got.Offset, want.DType.Size())
		}
		data, err := f.Bytes(want.Name)
		if err != nil || !bytes.Equal(data, want.Data) {
			t.Errorf("%s: data differs (%v)", want.Name, err)
		}
	}
	// Re-encoding what was read gives the same bytes.
	var again []Tensor
	for _, ti := range f.Tensors() {
		data, _ := f.Bytes(ti.Name)
		again = append(again, Tensor{ti.Name, ti.DType, ti.Shape, data})
	}
	if !bytes.Equal(encode(t, again, f.Metadata), b) {
		t.Error("re-encoding differs")
	}
	// No metadata: no __metadata__ key.
	if b := encode(t, ts[:1], nil); bytes.Contains(b, []byte("__metadata__")) {
		t.Error("empty metadata written")
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := WriteFile(path, sampleTensors(), map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.F32("model.norm.weight")
	if err != nil || !reflect.DeepEqual(v, []float32{1, -2, 3.5}) {
		t.Errorf("F32 = %v, %v", v, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Bytes("scalar"); err == nil {
		t.Error("Bytes after Close: no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	// A failed write leaves nothing behind.
	bad := []Tensor{{Name: "x", DType: F32, Shape: []int64{2}, Data: make([]byte, 4)}}
	if err := WriteFile(filepath.Join(dir, "bad.safetensors"), bad, nil); err == nil {
		t.Error("size mismatch accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("failed write left files: %v", entries)
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, tc := range []Tensor{
		{Name: "", DType: F32, Shape: []int64{1}, Data: make([]byte, 4)},
		{Name: "__metadata__", DType: F32, Shape: []int64{1}, Data: make([]byte, 4)},
		{Name: "x", DType: "F128", Shape: []int64{1}, Data: make([]byte, 16)},
		{Name: "x", DType: F32, Shape: []int64{-1}},
		{Name: "x", DType: F32, Shape: []int64{1 << 40, 1 << 40}},
		{Name: "x", DType: F32, Shape: []int64{3}, Data: make([]byte, 8)},
	} {
		if err := Encode(io_discard{}, []Tensor{tc}, nil); err == nil {
			t.Errorf("Encode(%+v) accepted", tc)
		}
	}
	dup := []Tensor{{Name: "a", DType: U8, Shape: []int64{1}, Data: []byte{1}}, {Name: "a", DType: U8, Shape: []int64{1}, Data: []byte{2}}}
	if err := Encode(io_discard{}, dup, nil); err == nil {
		t.Error("duplicate names accepted")
	}
}

type io_discard struct{}

func (io_discard) Write(p []byte) (int, error) { return len(p), nil }

// rawFile builds a file from a literal header and data, without padding.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestViews(t *testing.T) {
	// The one-byte U8 tensor first and an 8+37-byte prefix put the F32,
	// F16 and I32 data at odd addresses: those views must be copies.
	hdr := `{"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},` +
		`"f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]},` +
		`"h":{"dtype":"F16","shape":[2],"data_offsets":[9,13]},` +
		`"b":{"dtype":"BF16","shape":[2],"data_offsets":[13,17]},` +
		`"i":{"dtype":"I32","shape":[1],"data_offsets":[17,21]},` +
		`"s":{"dtype":"I8","shape":[2],"data_offsets":[21,23]},` +
		`"d":{"dtype":"F64","shape":[1],"data_offsets":[23,31]}}`
	var data []byte
	data = append(data, 7)
	data = append(data, f32bytes(1.5, -3)...)
	data = append(data, u16bytes(uint16(float16.Fromfloat32(0.5)), uint16(float16.Fromfloat32(-2)))...)
	data = append(data, u16bytes(0x3fc0, 0xc040)...) // bf16 1.5, -3
	data = binary.LittleEndian.AppendUint32(data, uint32(0xfffffffe))
	data = append(data, 0x80, 0x7f)
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(0.25))
	// Place the file at an even address so the result does not depend on
	// where the allocator put it.
	backing := make([]byte, len(rawFile(hdr, data))+8)
	off := (8 - int(uintptr(unsafe.Pointer(&backing[0]))%8)) % 8
	b := backing[off : off+len(rawFile(hdr, data))]
	copy(b, rawFile(hdr, data))
	f, err := ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.U8("u"); err != nil || !reflect.DeepEqual(v, []byte{7}) {
		t.Errorf("U8 = %v, %v", v, err)
	}
	if v, err := f.F32("f"); err != nil || !reflect.DeepEqual(v, []float32{1.5, -3}) {
		t.Errorf("F32 = %v, %v", v, err)
	}
	if v, err := f.F16("h"); err != nil || v[0].Float32() != 0.5 || v[1].Float32() != -2 {
		t.Errorf("F16 = %v, %v", v, err)
	}
	if v, err := f.BF16("b"); err != nil || !reflect.DeepEqual(v, []uint16{0x3fc0, 0xc040}) {
		t.Errorf("BF16 = %v, %v", v, err)
	}
	if v, err := f.I32("i"); err != nil || !reflect.DeepEqual(v, []int32{-2}) {
		t.Errorf("I32 = %v, %v", v, err)
	}
	if v, err := f.I8("s"); err != nil || !reflect.DeepEqual(v, []int8{-128, 127}) {
		t.Errorf("I8 = %v, %v", v, err)
	}
	for name, want := range map[string][]float32{"f": {1.5, -3}, "h": {0.5, -2}, "b": {1.5, -3}, "d": {0.25}} {
		if v, err := f.ToFloat32(name); err != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("ToFloat32(%s) = %v, %v", name, v, err)
		}
	}
	if _, err := f.ToFloat32("i"); err == nil {
		t.Error("ToFloat32 of I32: no error")
	}
	if _, err := f.F32("h"); err == nil || !strings.Contains(err.Error(), `tensor "h": dtype F16, not F32`) {
		t.Errorf("F32 of an F16 tensor: %v", err)
	}
	if _, err := f.F32("nope"); err == nil {
		t.Error("F32 of a missing tensor: no error")
	}
	// The misaligned F32 view was copied; an aligned one shares memory.
	raw, _ := f.Bytes("f")
	if v, _ := f.F32("f"); unsafe.Pointer(&v[0]) == unsafe.Pointer(&raw[0]) {
		t.Error("misaligned F32 view shares memory")
	}
	g, err := ParseBytes(encode(t, sampleTensors(), nil))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = g.Bytes("t.f32")
	v, _ := g.F32("t.f32")
	if littleEndian && uintptr(unsafe.Pointer(&raw[0]))%4 == 0 && unsafe.Pointer(&v[0]) != unsafe.Pointer(&raw[0]) {
		t.Error("aligned F32 view was copied")
	}
	if v, err := g.F16("empty"); err != nil || len(v) != 0 {
		t.Errorf("empty F16 = %v, %v", v, err)
	}
}

// allocated returns the bytes allocated while fn runs.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

type hostileCase struct {
	name string
	in   []byte
	want string
}

func hostileCases() []hostileCase {
	rec := func(name, dtype, shape, offs string) string {
		return fmt.Sprintf(`%q:{"dtype":%q,"shape":%s,"data_offsets":%s}`, name, dtype, shape, offs)
	}
	hugeLen := binary.LittleEndian.AppendUint64(nil, 1<<62)
	return []hostileCase{
		{"empty", nil, "too short for the 8-byte header length"},
		{"7 bytes", []byte{1, 0, 0, 0, 0, 0, 0}, "too short"},
		{"header length 0", rawFile("", nil), "header length 0"},
		{"header length 2^62", append(hugeLen, "{}"...), "header length 4611686018427387904 beyond end of file (2 bytes after the length)"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "header length 100 beyond end of file"},
		{"garbage JSON", rawFile(`{"a":{"dtype":"F32",,}}`, nil), "bad JSON at byte 19 of the header: invalid character ','"},
		{"truncated JSON", rawFile(`{"a":{"dtype":"F32"`, nil), "bad JSON"},
		{"not an object", rawFile(`[1,2]`, nil), "JSON header is not an object"},
		{"not JSON", rawFile("\x00\x01", nil), "bad JSON at byte"},
		{"trailing data", rawFile(`{}  x`, nil), "unexpected data at byte 2 of the header"},
		{"two objects", rawFile(`{}{}`, nil), "unexpected data"},
		{"record not object", rawFile(`{"a":5}`, nil), `tensor "a": bad JSON`},
		{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), "record needs dtype, shape and data_offsets"},
		{"unknown dtype", rawFile("{"+rec("a", "F128", "[1]", "[0,16]")+"}", make([]byte, 16)), `tensor "a": unknown dtype "F128"`},
		{"negative dim", rawFile("{"+rec("a", "F32", "[-1]", "[0,0]")+"}", nil), "negative dimension"},
		{"float dim", rawFile("{"+rec("a", "F32", "[1.5]", "[0,4]")+"}", make([]byte, 4)), "bad JSON"},
		{"huge dim", rawFile("{"+rec("a", "F32", "[1e30]", "[0,4]")+"}", make([]byte, 4)), "bad JSON"},
		{"shape overflow", rawFile("{"+rec("a", "F32", "[4294967296,4294967296]", "[0,4]")+"}", make([]byte, 4)), "byte size overflows int64"},
		{"size mismatch", rawFile("{"+rec("a", "F32", "[2,3]", "[0,20]")+"}", make([]byte, 24)), "data_offsets [0, 20) hold 20 bytes, shape [2 3] of F32 needs 24"},
		{"offsets beyond end", rawFile("{"+rec("lm_head.weight", "F32", "[2]", "[912,920]")+"}", make([]byte, 800)), `tensor "lm_head.weight": data_offsets [912, 920) beyond end of file (data section is 800 bytes)`},
		{"offsets reversed", rawFile("{"+rec("a", "U8", "[0]", "[4,0]")+"}", make([]byte, 4)), "is not a range"},
		{"negative offset", rawFile("{"+rec("a", "U8", "[4]", "[-4,0]")+"}", make([]byte, 4)), "is not a range"},
		{"three offsets", rawFile("{"+rec("a", "U8", "[4]", "[0,4,8]")+"}", make([]byte, 8)), "data_offsets has 3 entries"},
		{"overlap", rawFile("{"+rec("a", "U8", "[4]", "[0,4]")+","+rec("b", "U8", "[4]", "[2,6]")+"}", make([]byte, 8)), `tensor "b": data [2, 6) overlaps tensor "a" [0, 4)`},
		{"duplicate tensor", rawFile("{"+rec("a", "U8", "[4]", "[0,4]")+","+rec("a", "U8", "[4]", "[4,8]")+"}", make([]byte, 8)), `tensor "a": duplicate name in header`},
		{"duplicate metadata key", rawFile(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `duplicate key "k"`},
		{"metadata not strings", rawFile(`{"__metadata__":{"total":5}}`, nil), "__metadata__: bad JSON"},
		{"metadata not object", rawFile(`{"__metadata__":[]}`, nil), "want an object of strings"},
		{"truncated data", rawFile("{"+rec("a", "F32", "[4]", "[0,16]")+"}", make([]byte, 15)), "beyond end of file"},
	}
}

func TestHostile(t *testing.T) {
	for _, tt := range hostileCases() {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			alloc := allocated(func() { _, err = ParseBytes(tt.in) })
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), "safetensors: ") {
				t.Errorf("error %q is not a safetensors format error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if alloc > 1<<20 {
				t.Errorf("allocated %d bytes for a %d-byte input", alloc, len(tt.in))
			}
		})
	}
}

func TestOpenNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	os.WriteFile(path, rawFile(`{"a":5}`, nil), 0o644)
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name the file: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestTruncation(t *testing.T) {
	b := encode(t, sampleTensors(), map[string]string{"format": "pt"})
	for n := range len(b) {
		if _, err := ParseBytes(b[:n]); err == nil {
			t.Fatalf("prefix of %d/%d bytes parsed", n, len(b))
		}
	}
}

func TestSharded(t *testing.T) {
	dir := t.TempDir()
	ts := sampleTensors()
	meta := map[string]string{"format": "pt"}
	if err := WriteSharded(dir, ts, meta, 100); err != nil {
		t.Fatal(err)
	}
	shards, _ := filepath.Glob(filepath.Join(dir, "model-*-of-*.safetensors"))
	if len(shards) < 3 {
		t.Fatalf("%d shards, want several", len(shards))
	}
	for _, path := range []string{dir, filepath.Join(dir, IndexFile)} {
		c, err := OpenCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Tensors()) != len(ts) || len(c.Files) != len(shards) {
			t.Errorf("%d tensors in %d files, want %d in %d", len(c.Tensors()), len(c.Files), len(ts), len(shards))
		}
		for _, want := range ts {
			got, err := c.Bytes(want.Name)
			if err != nil || !bytes.Equal(got, want.Data) {
				t.Errorf("%s: %v", want.Name, err)
			}
		}
		if v, err := c.F32("model.norm.weight"); err != nil || !reflect.DeepEqual(v, []float32{1, -2, 3.5}) {
			t.Errorf("F32 = %v, %v", v, err)
		}
		if v, err := c.ToFloat32("t.bf16"); err != nil || len(v) != 6 {
			t.Errorf("ToFloat32 = %v, %v", v, err)
		}
		if _, err := c.Bytes("nope"); err == nil {
			t.Error("missing tensor: no error")
		}
		want := fmt.Sprint(totalSize(ts))
		if c.Metadata["total_size"] != want {
			t.Errorf("total_size %q, want %s", c.Metadata["total_size"], want)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A directory with one model.safetensors.
	single := t.TempDir()
	if err := WriteFile(filepath.Join(single, SingleFile), ts, meta); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCheckpoint(single)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tensors()) != len(ts) || c.Metadata["format"] != "pt" {
		t.Errorf("single file: %d tensors, metadata %v", len(c.Tensors()), c.Metadata)
	}
	if ti, ok := c.Tensor("t.i8"); !ok || ti.DType != I8 {
		t.Errorf("Tensor(t.i8) = %+v", ti)
	}
	c.Close()
	if _, err := OpenCheckpoint(t.TempDir()); err == nil {
		t.Error("empty directory: no error")
	}
}

func totalSize(ts []Tensor) int64 {
	var n int64
	for _, t := range ts {
		n += int64(len(t.Data))
	}
	return n
}

func TestBadIndex(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, "a.safetensors"), []Tensor{{Name: "x", DType: U8, Shape: []int64{1}, Data: []byte{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ index, want string }{
		{`not json`, "bad JSON"},
		{`{}`, "no weight_map"},
		{`{"weight_map":{}}`, "weight_map is empty"},
		{`{"weight_map":{"x":"../a.safetensors"}}`, "not a file name inside the checkpoint directory"},
		{`{"weight_map":{"x":"/etc/passwd"}}`, "not a file name inside"},
		{`{"weight_map":{"x":"sub\\a.safetensors"}}`, "not a file name inside"},
		{`{"weight_map":{"x":".."}}`, "not a file name inside"},
		{`{"weight_map":{"y":"a.safetensors"}}`, `tensor "y": not in its shard a.safetensors`},
		{`{"weight_map":{"x":"missing.safetensors"}}`, "no such file"},
		{`{"weight_map":{"x":"a.safetensors","x":"a.safetensors"}}`, `duplicate key "x"`},
		{`{"weight_map":{"x":5}}`, "weight_map"},
	} {
		path := filepath.Join(dir, IndexFile)
		os.WriteFile(path, []byte(tc.index), 0o644)
		_, err := OpenCheckpoint(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("index %s: error %v, want %q", tc.index, err, tc.want)
		}
	}
}

func TestStories260K(t *testing.T) {
	// testdata/stories260K.safetensors is a copy of the shared
	// models/stories260K/hf/model.safetensors, written by another writer.
	c, err := OpenCheckpoint(filepath.Join("testdata", "stories260K.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := c.Files[0]
	if len(c.Tensors()) != 47 || f.Metadata["format"] != "pt" || f.Size()-f.DataOffset != 1040128 {
		t.Errorf("%d tensors, metadata %v, data %d bytes", len(c.Tensors()), f.Metadata, f.Size()-f.DataOffset)
	}
	if _, ok := c.Tensor("lm_head.weight"); ok {
		t.Error("lm_head.weight present; the embedding is tied")
	}
	for _, ti := range c.Tensors() {
		if ti.DType != F32 {
			t.Errorf("%s: %s", ti.Name, ti.DType)
		}
	}
	q, _ := c.Tensor("model.layers.0.self_attn.q_proj.weight")
	if !reflect.DeepEqual(q.Shape, []int64{64, 64}) {
		t.Errorf("q_proj shape %v", q.Shape)
	}
	// Cross-check with the llama2.c original (MANIFEST §1a): the embedding
	// is the .bin's first tensor, and q_proj's rows are the .bin's wq rows
	// permuted per head (old row h·8+2i+j → new row h·8+j·4+i).
	bin, err := os.ReadFile(assets.Path(t, "models/stories260K/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	binF32 := func(off, n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(bin[28+4*(off+i):]))
		}
		return v
	}
	emb, err := c.F32("model.embed_tokens.weight")
	if err != nil || !reflect.DeepEqual(emb, binF32(0, 512*64)) {
		t.Errorf("embedding differs from stories260K.bin (%v)", err)
	}
	wq := binF32(512*64+5*64, 64*64) // after tok_embeddings and rms_att
	hfq, _ := c.F32("model.layers.0.self_attn.q_proj.weight")
	for h := range 8 {
		for i := range 4 {
			for j := range 2 {
				oldRow, newRow := h*8+2*i+j, h*8+j*4+i
				if !reflect.DeepEqual(hfq[newRow*64:newRow*64+64], wq[oldRow*64:oldRow*64+64]) {
					t.Fatalf("q_proj row %d is not wq row %d", newRow, oldRow)
				}
			}
		}
	}
}

func TestDequantFixtures(t *testing.T) {
	dir := filepath.Dir(assets.Path(t, "models/ggml-fixtures/README.md"))
	paths, _ := filepath.Glob(filepath.Join(dir, "*.dequant.safetensors"))
	if len(paths) != 12 {
		t.Errorf("%d dequant files, want 12", len(paths))
	}
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			t.Error(err)
			continue
		}
		if f.Metadata["types"] == "" || !strings.HasPrefix(filepath.Base(p), strings.TrimSuffix(f.Metadata["source"], ".gguf")) {
			t.Errorf("%s: metadata %v", p, f.Metadata)
		}
		want := 2
		if strings.HasPrefix(filepath.Base(p), "stories260K") {
			want = 48
		}
		if len(f.Tensors()) != want {
			t.Errorf("%s: %d tensors, want %d", p, len(f.Tensors()), want)
		}
		for _, ti := range f.Tensors() {
			v, err := f.F32(ti.Name)
			if err != nil || int64(len(v)) != ti.Elements() || ti.DType != F32 {
				t.Errorf("%s %s: %d values, %v", p, ti.Name, len(v), err)
			}
		}
		f.Close()
	}
}
