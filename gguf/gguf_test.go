package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/divergo/divergo/internal/assets"
)

func TestTypeTable(t *testing.T) {
	// Block geometry from ggml-common.h's static_asserts (ENGINE-NOTES §1.1).
	tests := []struct {
		typ        Type
		name       string
		block, tsz int64
	}{
		{F32, "f32", 1, 4}, {F16, "f16", 1, 2}, {BF16, "bf16", 1, 2}, {F64, "f64", 1, 8},
		{I8, "i8", 1, 1}, {I16, "i16", 1, 2}, {I32, "i32", 1, 4}, {I64, "i64", 1, 8},
		{Q4_0, "q4_0", 32, 18}, {Q4_1, "q4_1", 32, 20}, {Q5_0, "q5_0", 32, 22}, {Q5_1, "q5_1", 32, 24},
		{Q8_0, "q8_0", 32, 34}, {Q8_1, "q8_1", 32, 36},
		{Q2_K, "q2_K", 256, 84}, {Q3_K, "q3_K", 256, 110}, {Q4_K, "q4_K", 256, 144},
		{Q5_K, "q5_K", 256, 176}, {Q6_K, "q6_K", 256, 210}, {Q8_K, "q8_K", 256, 292},
		{IQ2_XXS, "iq2_xxs", 256, 66}, {IQ2_XS, "iq2_xs", 256, 74}, {IQ3_XXS, "iq3_xxs", 256, 98},
		{IQ1_S, "iq1_s", 256, 50}, {IQ4_NL, "iq4_nl", 32, 18}, {IQ3_S, "iq3_s", 256, 110},
		{IQ2_S, "iq2_s", 256, 82}, {IQ4_XS, "iq4_xs", 256, 136}, {IQ1_M, "iq1_m", 256, 56},
		{TQ1_0, "tq1_0", 256, 54}, {TQ2_0, "tq2_0", 256, 66}, {MXFP4, "mxfp4", 32, 17},
		{NVFP4, "nvfp4", 64, 36}, {Q1_0, "q1_0", 128, 18}, {Q2_0, "q2_0", 64, 18},
	}
	if len(tests) != len(traits) {
		t.Errorf("table has %d types, package knows %d", len(tests), len(traits))
	}
	for _, tt := range tests {
		if got := tt.typ.String(); got != tt.name {
			t.Errorf("Type(%d).String() = %q, want %q", tt.typ, got, tt.name)
		}
		if tt.typ.BlockSize() != tt.block || tt.typ.TypeSize() != tt.tsz {
			t.Errorf("%s: block %d size %d, want %d %d", tt.name, tt.typ.BlockSize(), tt.typ.TypeSize(), tt.block, tt.tsz)
		}
		for _, s := range []string{tt.name, strings.ToUpper(tt.name)} {
			if p, err := ParseType(s); err != nil || p != tt.typ {
				t.Errorf("ParseType(%q) = %v, %v", s, p, err)
			}
		}
		if n, err := tt.typ.RowBytes(4 * tt.block); err != nil || n != 4*tt.tsz {
			t.Errorf("%s.RowBytes(%d) = %d, %v", tt.name, 4*tt.block, n, err)
		}
		if tt.block > 1 {
			if _, err := tt.typ.RowBytes(tt.block + 1); err == nil {
				t.Errorf("%s.RowBytes(%d): no error for a partial block", tt.name, tt.block+1)
			}
		}
	}
	for _, id := range []Type{4, 5, 31, 32, 33, 36, 37, 38, 43, 1000} {
		if id.Known() || id.BlockSize() != 0 {
			t.Errorf("type %d should be unknown", id)
		}
		if _, err := id.RowBytes(32); err == nil {
			t.Errorf("type %d: RowBytes gave no error", id)
		}
	}
	if got := Type(4).String(); got != "type(4)" {
		t.Errorf("Type(4).String() = %q", got)
	}
	if _, err := F32.RowBytes(math.MaxInt64); err == nil {
		t.Error("F32.RowBytes(MaxInt64): no overflow error")
	}
	if _, err := ParseType("q4_2"); err == nil {
		t.Error(`ParseType("q4_2"): no error`)
	}
}

// sampleWriter returns a Writer holding every value type, nested arrays and
// tensors of several types.
func sampleWriter(t testing.TB) *Writer {
	w := &Writer{}
	m := &w.Metadata
	for _, kv := range []struct {
		key string
		val any
	}{
		{"general.architecture", "llama"},
		{"u8", uint8(200)}, {"i8", int8(-100)}, {"u16", uint16(60000)}, {"i16", int16(-30000)},
		{"u32", uint32(4000000000)}, {"i32", int32(-2000000000)}, {"f32", float32(1e-5)},
		{"bool.true", true}, {"bool.false", false}, {"string.empty", ""}, {"string.utf8", "▁héllo\x00world"},
		{"u64", uint64(1) << 63}, {"i64", int64(-1) << 62}, {"f64", math.Pi},
		{"a.u8", []uint8{1, 2, 3}}, {"a.i8", []int8{-1, 2}}, {"a.u16", []uint16{65535}}, {"a.i16", []int16{-2, 3}},
		{"a.u32", []uint32{7, 8}}, {"a.i32", []int32{-7, 8}}, {"a.f32", []float32{0.5, -1.5}},
		{"a.bool", []bool{true, false, true}}, {"a.string", []string{"a", "", "ccc"}},
		{"a.u64", []uint64{math.MaxUint64}}, {"a.i64", []int64{math.MinInt64}}, {"a.f64", []float64{2.5}},
		{"a.empty", []float32{}},
		{"a.nested", []Array{
			{Elem: ValueString, Values: []string{"x", "y"}},
			{Elem: ValueArray, Values: []Array{{Elem: ValueInt32, Values: []int32{1, 2, 3}}}},
			{Elem: ValueUint8, Values: []uint8{}},
		}},
	} {
		if err := m.Set(kv.key, kv.val); err != nil {
			t.Fatal(err)
		}
	}
	add := func(name string, dims []int64, typ Type) {
		size, err := typ.RowBytes(dims[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dims[1:] {
			size *= d
		}
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i*7 + len(name))
		}
		if err := w.AddTensor(name, dims, typ, data); err != nil {
			t.Fatal(err)
		}
	}
	add("token_embd.weight", []int64{64, 10}, F32)
	add("blk.0.attn_q.weight", []int64{64, 3}, Q4_0)
	add("blk.0.ffn_down.weight", []int64{7, 3}, F16) // 42 bytes: padding follows
	add("blk.0.ffn_up.weight", []int64{256, 2}, Q6_K)
	add("scalar", []int64{1}, F32)
	add("four.dims", []int64{2, 3, 4, 5}, I8)
	return w
}

func encode(t testing.TB, w *Writer) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		version uint32
		align   uint32
	}{{3, 0}, {2, 0}, {3, 8}, {3, 64}, {2, 1}, {3, 4096}} {
		w := sampleWriter(t)
		w.Version = tc.version
		if tc.align != 0 {
			if err := w.Metadata.Set("general.alignment", tc.align); err != nil {
				t.Fatal(err)
			}
		}
		b := encode(t, w)
		f, err := ParseBytes(b)
		if err != nil {
			t.Fatalf("v%d align %d: %v", tc.version, tc.align, err)
		}
		wantAlign := int64(DefaultAlignment)
		if tc.align != 0 {
			wantAlign = int64(tc.align)
		}
		if f.Version != tc.version || f.Alignment != wantAlign || f.DataOffset%wantAlign != 0 {
			t.Errorf("version %d alignment %d data offset %d", f.Version, f.Alignment, f.DataOffset)
		}
		if !reflect.DeepEqual(f.Metadata, w.Metadata) {
			t.Errorf("v%d align %d: metadata differs after round trip\n got %v\nwant %v", tc.version, tc.align, f.Metadata, w.Metadata)
		}
		if len(f.Tensors) != len(w.tensors) {
			t.Fatalf("%d tensors, want %d", len(f.Tensors), len(w.tensors))
		}
		for i, wt := range w.tensors {
			got := f.Tensors[i]
			if got.Name != wt.info.Name || got.Type != wt.info.Type || !reflect.DeepEqual(got.Dims, wt.info.Dims) || got.Size != int64(len(wt.data)) {
				t.Errorf("tensor %d: got %+v, want %+v", i, got, wt.info)
			}
			data, err := f.TensorData(got.Name)
			if err != nil || !bytes.Equal(data, wt.data) {
				t.Errorf("tensor %q: data differs (%v)", got.Name, err)
			}
		}
		// Writing what was read gives the same bytes.
		w2 := &Writer{Version: f.Version, Metadata: f.Metadata}
		for _, ti := range f.Tensors {
			data, _ := f.TensorData(ti.Name)
			if err := w2.AddTensor(ti.Name, ti.Dims, ti.Type, data); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(encode(t, w2), b) {
			t.Errorf("v%d align %d: rewrite differs", tc.version, tc.align)
		}
	}
}

func TestMetadataAccessors(t *testing.T) {
	f, err := ParseBytes(encode(t, sampleWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := f.String("general.architecture"); err != nil || s != "llama" {
		t.Errorf("String = %q, %v", s, err)
	}
	for key, want := range map[string]uint64{"u8": 200, "u16": 60000, "u32": 4000000000, "u64": 1 << 63} {
		if v, err := f.Uint(key); err != nil || v != want {
			t.Errorf("Uint(%s) = %d, %v", key, v, err)
		}
	}
	for _, key := range []string{"i8", "i16", "i32", "i64"} {
		if _, err := f.Uint(key); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("Uint(%s) of a negative value: %v", key, err)
		}
	}
	if v, err := f.Int("i32"); err != nil || v != -2000000000 {
		t.Errorf("Int(i32) = %d, %v", v, err)
	}
	if _, err := f.Int("u64"); err == nil {
		t.Error("Int(u64 = 2^63): no overflow error")
	}
	if v, err := f.Float("f32"); err != nil || v != float64(float32(1e-5)) {
		t.Errorf("Float(f32) = %v, %v", v, err)
	}
	if v, err := f.Float("f64"); err != nil || v != math.Pi {
		t.Errorf("Float(f64) = %v, %v", v, err)
	}
	if v, err := f.Bool("bool.true"); err != nil || !v {
		t.Errorf("Bool = %v, %v", v, err)
	}
	if v, err := f.Strings("a.string"); err != nil || !reflect.DeepEqual(v, []string{"a", "", "ccc"}) {
		t.Errorf("Strings = %q, %v", v, err)
	}
	if v, err := f.Float32s("a.f32"); err != nil || !reflect.DeepEqual(v, []float32{0.5, -1.5}) {
		t.Errorf("Float32s = %v, %v", v, err)
	}
	if v, err := f.Int32s("a.i32"); err != nil || !reflect.DeepEqual(v, []int32{-7, 8}) {
		t.Errorf("Int32s = %v, %v", v, err)
	}
	if v, err := f.Int32s("a.u16"); err != nil || !reflect.DeepEqual(v, []int32{65535}) {
		t.Errorf("Int32s(u16 array) = %v, %v", v, err)
	}
	if _, err := f.Int32s("a.u64"); err == nil {
		t.Error("Int32s of 2^64-1: no error")
	}
	// Wrong types and missing keys.
	if _, err := f.String("u32"); err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `key "u32"`) {
		t.Errorf("String(u32): %v", err)
	}
	if _, err := f.Uint("f32"); err == nil {
		t.Error("Uint(f32): no error")
	}
	if _, err := f.Strings("a.f32"); err == nil {
		t.Error("Strings(a.f32): no error")
	}
	_, err = f.Uint("llama.block_count")
	if !errors.Is(err, ErrKeyNotFound) || errors.Is(err, ErrFormat) {
		t.Errorf("missing key: %v", err)
	}
	if _, ok := f.Get("nope"); ok {
		t.Error("Get of a missing key reported ok")
	}
}

func TestMetadataSet(t *testing.T) {
	var m Metadata
	if err := m.Set("a", uint32(1)); err != nil {
		t.Fatal(err)
	}
	if err := m.Set("b", "x"); err != nil {
		t.Fatal(err)
	}
	if err := m.Set("a", "replaced"); err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].Key != "a" || m[0].Value != "replaced" || m[0].Type != ValueString {
		t.Errorf("Set did not replace in place: %v", m)
	}
	m.Delete("a")
	if len(m) != 1 || m[0].Key != "b" {
		t.Errorf("Delete: %v", m)
	}
	for _, bad := range []any{3, []int{1}, struct{}{}, Array{Elem: ValueInt32, Values: []uint32{1}}} {
		if err := m.Set("bad", bad); err == nil {
			t.Errorf("Set(%T) accepted", bad)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	w := &Writer{}
	for _, tc := range []struct {
		name string
		dims []int64
		typ  Type
		data []byte
	}{
		{"", []int64{1}, F32, make([]byte, 4)},
		{strings.Repeat("n", 64), []int64{1}, F32, make([]byte, 4)},
		{"dims", []int64{1, 1, 1, 1, 1}, F32, make([]byte, 4)},
		{"neg", []int64{-1}, F32, nil},
		{"unknown", []int64{1}, Type(4), make([]byte, 4)},
		{"partial", []int64{33}, Q4_0, make([]byte, 36)},
		{"size", []int64{3}, F32, make([]byte, 8)},
		{"overflow", []int64{1 << 40, 1 << 40}, F32, nil},
	} {
		if err := w.AddTensor(tc.name, tc.dims, tc.typ, tc.data); err == nil {
			t.Errorf("AddTensor(%q, %v, %s) accepted", tc.name, tc.dims, tc.typ)
		}
	}
	if err := w.AddTensor("ok", []int64{1}, F32, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("ok", []int64{1}, F32, make([]byte, 4)); err == nil {
		t.Error("duplicate tensor accepted")
	}
	var buf bytes.Buffer
	for _, m := range []Metadata{
		{{Key: "general.alignment", Type: ValueUint32, Value: uint32(3)}},
		{{Key: "general.alignment", Type: ValueUint64, Value: uint64(32)}},
		{{Key: "k", Type: ValueUint32, Value: "not a u32"}},
		{{Key: "k", Type: ValueString, Value: "a"}, {Key: "k", Type: ValueString, Value: "b"}},
		{{Key: strings.Repeat("k", MaxKeyLen+1), Type: ValueBool, Value: true}},
	} {
		w.Metadata = m
		if _, err := w.WriteTo(&buf); err == nil {
			t.Errorf("metadata %.60v accepted", m)
		}
	}
	w.Metadata = nil
	w.Version = 1
	if _, err := w.WriteTo(&buf); err == nil {
		t.Error("version 1 accepted")
	}
	// A tensor function that writes the wrong number of bytes.
	w = &Writer{}
	w.AddTensorFunc("f", []int64{4}, F32, func(dst io.Writer) error { _, err := dst.Write(make([]byte, 12)); return err })
	if _, err := w.WriteTo(&buf); err == nil || !strings.Contains(err.Error(), "wrote 12 bytes, want 16") {
		t.Errorf("short tensor function: %v", err)
	}
}

func TestAddTensorFunc(t *testing.T) {
	w := &Writer{}
	w.Metadata.Set("general.alignment", uint32(16))
	data := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if err := w.AddTensorFunc("lazy", []int64{3}, F32, func(dst io.Writer) error { _, err := dst.Write(data); return err }); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("eager", []int64{2}, F16, data[:4]); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "out.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := f.TensorData("lazy")
	got2, _ := f.TensorData("eager")
	if !bytes.Equal(got, data) || !bytes.Equal(got2, data[:4]) {
		t.Errorf("data %v %v", got, got2)
	}
	if ti, _ := f.Tensor("eager"); ti.Offset != 16 {
		t.Errorf("eager at offset %d, want 16", ti.Offset)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.gguf")); err == nil {
		t.Error("Open of a missing file: no error")
	}
	if _, err := Open(dir); err == nil {
		t.Error("Open of a directory: no error")
	}
	empty := filepath.Join(dir, "empty.gguf")
	os.WriteFile(empty, nil, 0o644)
	_, err := Open(empty)
	if err == nil || !strings.Contains(err.Error(), empty) || !errors.Is(err, ErrFormat) {
		t.Errorf("empty file: %v", err)
	}
	f, err := ParseBytes(encode(t, sampleWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.TensorData("nope"); err == nil {
		t.Error("TensorData of a missing tensor: no error")
	}
	f.Close()
	if _, err := f.TensorData("scalar"); err == nil {
		t.Error("TensorData after Close: no error")
	}
}

// raw assembles GGUF bytes field by field, for hostile inputs.
type raw struct{ bytes.Buffer }

func (r *raw) u32(v uint32) *raw { binary.Write(&r.Buffer, binary.LittleEndian, v); return r }
func (r *raw) u64(v uint64) *raw { binary.Write(&r.Buffer, binary.LittleEndian, v); return r }
func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.WriteString(s); return r }
func (r *raw) header(version uint32, tensors, kvs uint64) *raw {
	r.WriteString("GGUF")
	return r.u32(version).u64(tensors).u64(kvs)
}
func (r *raw) tensor(name string, dims []uint64, typ uint32, off uint64) *raw {
	r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r.u64(d)
	}
	return r.u32(typ).u64(off)
}
func (r *raw) padTo(align int) *raw {
	for r.Len()%align != 0 {
		r.WriteByte(0)
	}
	return r
}
func (r *raw) zeros(n int) *raw { r.Write(make([]byte, n)); return r }

// hostileCase is a malformed file and a part of the error it must produce.
type hostileCase struct {
	name string
	in   []byte
	want string
}

func hostileCases() []hostileCase {
	big := uint64(1) << 60
	f32tensor := func(name string, n, off uint64) func(*raw) {
		return func(r *raw) { r.tensor(name, []uint64{n}, 0, off) }
	}
	file := func(kvs func(*raw), nkv uint64, tensors []func(*raw), data int) []byte {
		r := &raw{}
		r.header(3, uint64(len(tensors)), nkv)
		if kvs != nil {
			kvs(r)
		}
		for _, t := range tensors {
			t(r)
		}
		r.padTo(32).zeros(data)
		return r.Bytes()
	}
	kv := func(key string, typ uint32, val func(*raw)) []byte {
		r := &raw{}
		r.header(3, 0, 1).str(key).u32(typ)
		val(r)
		return r.Bytes()
	}
	return []hostileCase{
		{"empty", nil, "truncated magic"},
		{"short magic", []byte("GGU"), "truncated magic"},
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), "bad magic"},
		{"no version", []byte("GGUF\x03"), "truncated version"},
		{"version 1", (&raw{}).header(1, 0, 0).Bytes(), "version 1 is not supported"},
		{"big endian", []byte("GGUF\x00\x00\x00\x03" + strings.Repeat("\x00", 16)), "big-endian GGUF not supported"},
		{"version 4", (&raw{}).header(4, 0, 0).Bytes(), "unsupported GGUF version 4"},
		{"tensor count 2^60", (&raw{}).header(3, big, 0).Bytes(), "tensor count 1152921504606846976"},
		{"kv count 2^60", (&raw{}).header(3, 0, big).Bytes(), "metadata count 1152921504606846976"},
		{"kv count past end", (&raw{}).header(3, 0, 2).str("a").u32(0).WriteByte2(1), "metadata count 2"},
		{"key length 2^60", (&raw{}).header(3, 0, 1).u64(big).zeros(16).Bytes(), "key length 1152921504606846976 at byte 24 exceeds the limit"},
		{"key length past end", (&raw{}).header(3, 0, 1).u64(100).zeros(13).Bytes(), "exceeds the remaining"},
		{"key too long", (&raw{}).header(3, 0, 1).str(strings.Repeat("k", 70000)).u32(0).zeros(1).Bytes(), "key length 70000 at byte 24 exceeds the limit of 65535"},
		{"duplicate key", (&raw{}).header(3, 0, 2).str("a").u32(0).zeros(1).str("a").u32(0).zeros(1).Bytes(), `key "a": duplicate key`},
		{"unknown value type", kv("k", 13, func(r *raw) { r.zeros(8) }), "unknown value type 13"},
		{"string 2^60", kv("k", 8, func(r *raw) { r.u64(big).zeros(8) }), `key "k": string length 1152921504606846976`},
		{"bool 2", kv("k", 7, func(r *raw) { r.WriteByte(2) }), "bool value 2"},
		{"truncated u64", kv("k", 10, func(r *raw) { r.zeros(7) }), "truncated u64"},
		{"array 2^60 u32", kv("k", 9, func(r *raw) { r.u32(4).u64(big).zeros(16) }), "array length 1152921504606846976"},
		{"array 2^60 strings", kv("k", 9, func(r *raw) { r.u32(8).u64(big).zeros(16) }), "array length 1152921504606846976"},
		{"array 2^60 arrays", kv("k", 9, func(r *raw) { r.u32(9).u64(big).zeros(16) }), "array length 1152921504606846976"},
		{"array of strings 2^60 long", kv("k", 9, func(r *raw) { r.u32(8).u64(1).u64(big) }), "string length 1152921504606846976"},
		{"array unknown elem", kv("k", 9, func(r *raw) { r.u32(77).u64(0) }), "unknown array element type 77"},
		{"bool array 3", kv("k", 9, func(r *raw) { r.u32(7).u64(2).WriteByte2(1, 3) }), "bool array element 1 is 3"},
		{"arrays too deep", kv("k", 9, func(r *raw) {
			for range MaxArrayDepth {
				r.u32(9).u64(1)
			}
			r.u32(0).u64(0)
		}), "nested deeper than 8"},
		{"alignment u64", kv("general.alignment", 10, func(r *raw) { r.u64(32) }), "type u64, want u32"},
		{"alignment 0", kv("general.alignment", 4, func(r *raw) { r.u32(0) }), "alignment 0 is not a power of two"},
		{"alignment 48", kv("general.alignment", 4, func(r *raw) { r.u32(48) }), "alignment 48 is not a power of two"},
		{"5 dims", file(nil, 0, []func(*raw){func(r *raw) { r.tensor("t", []uint64{1, 1, 1, 1, 1}, 0, 0) }}, 32), `tensor "t": 5 dimensions`},
		{"dim > int64", file(nil, 0, []func(*raw){func(r *raw) { r.tensor("t", []uint64{1 << 63}, 0, 0) }}, 32), "larger than int64"},
		{"dims overflow", file(nil, 0, []func(*raw){func(r *raw) { r.tensor("t", []uint64{1 << 32, 1 << 32, 4}, 0, 0) }}, 32), "element count overflows int64"},
		{"4 TB tensor", file(nil, 0, []func(*raw){func(r *raw) { r.tensor("t", []uint64{1 << 20, 1 << 20}, 0, 0) }}, 32), "data [0, +4398046511104) at file offset 96 beyond end of file (128 bytes)"},
		{"bytes overflow", file(nil, 0, []func(*raw){func(r *raw) { r.tensor("t", []uint64{1 << 31, 1 << 30}, 0, 0) }}, 32), "byte size overflows int64"},
		{"byte size overflow", file(nil, 0, []func(*raw){func(r *raw) { r.tensor("t", []uint64{1 << 61, 2}, 28, 0) }}, 32), "byte size overflows int64"},
		{"unknown type", file(nil, 0, []func(*raw){func(r *raw) { r.tensor("blk.3.attn_q.weight", []uint64{32}, 4, 0) }}, 32), `tensor "blk.3.attn_q.weight": unknown ggml type 4`},
		{"huge type", file(nil, 0, []func(*raw){func(r *raw) { r.tensor("t", []uint64{32}, 1000, 0) }}, 32), "unknown ggml type 1000"},
		{"partial block", file(nil, 0, []func(*raw){func(r *raw) { r.tensor("t", []uint64{33, 2}, 2, 0) }}, 64), "not a multiple of its block size 32"},
		{"misaligned offset", file(nil, 0, []func(*raw){f32tensor("t", 4, 16)}, 64), "offset 16 is not a multiple of the alignment 32"},
		{"offset beyond end", file(nil, 0, []func(*raw){f32tensor("blk.3.attn_q.weight", 4, 1<<40)}, 64), `tensor "blk.3.attn_q.weight": data [1099511627776, +16)`},
		{"offset > int64", file(nil, 0, []func(*raw){f32tensor("t", 4, 1<<63)}, 64), "offset 9223372036854775808 larger than int64"},
		{"truncated data", file(nil, 0, []func(*raw){f32tensor("t", 16, 0)}, 60), "beyond end of file"},
		{"overlap", file(nil, 0, []func(*raw){f32tensor("a", 16, 0), f32tensor("b", 8, 32)}, 128), `tensor "b": data [32, 64) overlaps tensor "a" [0, 64)`},
		{"overlap reversed", file(nil, 0, []func(*raw){f32tensor("b", 8, 32), f32tensor("a", 16, 0)}, 128), `overlaps tensor "a"`},
		{"duplicate tensor", file(nil, 0, []func(*raw){f32tensor("a", 8, 0), f32tensor("a", 8, 32)}, 64), `duplicate tensor name "a"`},
		{"name 2^60", (&raw{}).header(3, 1, 0).u64(big).zeros(32).Bytes(), "name length 1152921504606846976"},
		{"truncated tensor info", (&raw{}).header(3, 1, 0).str("t").u32(2).u64(4).zeros(10).Bytes(), `tensor "t": truncated`},
	}
}

func TestHostile(t *testing.T) {
	for _, tt := range hostileCases() {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			alloc := allocated(func() { _, err = ParseBytes(tt.in) })
			if err == nil {
				t.Fatalf("no error")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error does not match ErrFormat: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "gguf: ") {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if alloc > 4<<20 {
				t.Errorf("allocated %d bytes for a %d-byte input", alloc, len(tt.in))
			}
		})
	}
}

func (r *raw) WriteByte2(b ...byte) []byte { r.Write(b); return r.Bytes() }

// allocated returns the bytes allocated while fn runs.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestTruncation(t *testing.T) {
	// Every prefix of a file that ends before its last tensor's data does is
	// an error, never a panic. (The padding after the last tensor is
	// optional.)
	b := encode(t, sampleWriter(t))
	f, err := ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	var end int64
	for _, ti := range f.Tensors {
		end = max(end, f.DataOffset+ti.Offset+ti.Size)
	}
	for n := range end {
		if _, err := ParseBytes(b[:n]); err == nil {
			t.Fatalf("prefix of %d/%d bytes parsed without error", n, len(b))
		}
	}
}

func TestZeroTensorsNoPadding(t *testing.T) {
	w := &Writer{}
	w.Metadata.Set("general.architecture", "llama")
	b := encode(t, w)
	if len(b)%32 == 0 {
		t.Fatalf("test needs an unaligned header, got %d bytes", len(b))
	}
	f, err := ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 0 || f.DataOffset <= int64(len(b)) {
		t.Errorf("tensors %d, data offset %d, size %d", len(f.Tensors), f.DataOffset, len(b))
	}
}

func TestOpenFixture(t *testing.T) {
	// A small real file written by llama-quantize, kept in testdata so the
	// test runs without the shared assets.
	path := filepath.Join("testdata", "stories260K-Q4_0.gguf")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkStories(t, f, 21)
	ti, ok := f.Tensor("blk.0.attn_q.weight")
	if !ok || ti.Type != Q4_0 || !reflect.DeepEqual(ti.Dims, []int64{64, 64}) || ti.Size != 64*64/32*18 {
		t.Errorf("attn_q: %+v", ti)
	}
	if ti, _ := f.Tensor("blk.0.ffn_down.weight"); ti.Type != F16 {
		t.Errorf("ffn_down is %s, want f16", ti.Type)
	}
	if ft, err := f.Uint("general.file_type"); err != nil || ft != 2 {
		t.Errorf("general.file_type = %d, %v", ft, err)
	}
	checkRewrite(t, f)
}

// checkStories checks facts every stories260K GGUF shares (MANIFEST §1a).
func checkStories(t *testing.T, f *File, nKV int) {
	t.Helper()
	if f.Version != 3 || len(f.Tensors) != 48 || len(f.Metadata) != nKV || f.Alignment != 32 {
		t.Errorf("v%d, %d tensors, %d kv, alignment %d", f.Version, len(f.Tensors), len(f.Metadata), f.Alignment)
	}
	for key, want := range map[string]uint64{
		"llama.context_length": 2048, "llama.embedding_length": 64, "llama.feed_forward_length": 172,
		"llama.attention.head_count": 8, "llama.attention.head_count_kv": 4, "llama.block_count": 5,
		"llama.rope.dimension_count": 8, "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
		"tokenizer.ggml.unknown_token_id": 0, "tokenizer.ggml.padding_token_id": 4294967295,
	} {
		if v, err := f.Uint(key); err != nil || v != want {
			t.Errorf("%s = %d, %v; want %d", key, v, err, want)
		}
	}
	if s, _ := f.String("general.architecture"); s != "llama" {
		t.Errorf("architecture %q", s)
	}
	if eps, _ := f.Float("llama.attention.layer_norm_rms_epsilon"); eps != float64(float32(1e-5)) {
		t.Errorf("eps %v", eps)
	}
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil || len(tokens) != 512 || tokens[1] != "<s>" || tokens[2] != "</s>" || tokens[3] != "<0x00>" {
		t.Errorf("tokens: %d, %v", len(tokens), err)
	}
	if scores, err := f.Float32s("tokenizer.ggml.scores"); err != nil || len(scores) != 512 {
		t.Errorf("scores: %d, %v", len(scores), err)
	}
	if types, err := f.Int32s("tokenizer.ggml.token_type"); err != nil || len(types) != 512 || types[0] != 2 || types[1] != 3 || types[3] != 6 {
		t.Errorf("token types: %v, %v", types[:4], err)
	}
	if ti, ok := f.Tensor("token_embd.weight"); !ok || !reflect.DeepEqual(ti.Dims, []int64{64, 512}) {
		t.Errorf("token_embd: %+v", ti)
	}
}

// checkRewrite writes f's metadata and tensors with Writer and expects the
// original bytes back (llama.cpp lays tensors out in order, each padded).
func checkRewrite(t *testing.T, f *File) {
	t.Helper()
	w := &Writer{Version: f.Version, Metadata: f.Metadata}
	for _, ti := range f.Tensors {
		data, err := f.TensorData(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(ti.Name, ti.Dims, ti.Type, data); err != nil {
			t.Fatal(err)
		}
	}
	got := encode(t, w)
	orig := f.data
	if !bytes.Equal(got, orig) {
		n := 0
		for n < len(got) && n < len(orig) && got[n] == orig[n] {
			n++
		}
		t.Errorf("%s: rewrite differs from the original at byte %d (sizes %d, %d)", f.Path(), n, len(got), len(orig))
	}
}

func TestSharedFiles(t *testing.T) {
	stories := assets.Path(t, "models/stories260K/stories260K.gguf")
	f, err := Open(stories)
	if err != nil {
		t.Fatal(err)
	}
	checkStories(t, f, 19)
	if f.DataOffset != 14176 || f.Size() != 1185376 {
		t.Errorf("data offset %d, size %d", f.DataOffset, f.Size())
	}
	for _, ti := range f.Tensors {
		if ti.Type != F32 {
			t.Errorf("%s: %s", ti.Name, ti.Type)
		}
	}
	checkRewrite(t, f)
	f.Close()

	vocab := assets.Path(t, "tokenizers/llama2/llamacpp-vocab-test/ggml-vocab-llama-spm.gguf")
	f, err = Open(vocab)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 0 || len(f.Metadata) != 22 || f.Size() != 723869 {
		t.Errorf("vocab: %d tensors, %d kv, %d bytes", len(f.Tensors), len(f.Metadata), f.Size())
	}
	if toks, _ := f.Strings("tokenizer.ggml.tokens"); len(toks) != 32000 || toks[31999] != "给" {
		t.Errorf("vocab tokens: %d", len(toks))
	}
	if b, err := f.Bool("tokenizer.ggml.add_bos_token"); err != nil || !b {
		t.Errorf("add_bos_token = %v, %v", b, err)
	}
	checkRewrite(t, f)
	f.Close()
}

// TestFixtures opens every GGUF in models/ggml-fixtures, checks each
// tensor's type and shape against the dequant file's record of them where
// one exists, and rewrites the file byte for byte.
func TestFixtures(t *testing.T) {
	dir := filepath.Dir(assets.Path(t, "models/ggml-fixtures/README.md"))
	paths, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if len(paths) != 17 {
		t.Errorf("found %d fixtures, want 17", len(paths))
	}
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			t.Error(err)
			continue
		}
		checkRewrite(t, f)
		name := strings.TrimSuffix(filepath.Base(p), ".gguf")
		if strings.HasPrefix(name, "stories260K") {
			checkStories(t, f, 21)
		}
		dq := filepath.Join(dir, name+".dequant.safetensors")
		if _, err := os.Stat(dq); err == nil {
			checkDequantHeader(t, f, dq)
		}
		f.Close()
	}
}

// checkDequantHeader reads the safetensors header of a dequant fixture
// (parsed here with encoding/json: this package may not import
// safetensors) and compares its types and shapes with the GGUF's.
func checkDequantHeader(t *testing.T, f *File, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	var meta struct{ Types string }
	json.Unmarshal(hdr["__metadata__"], &meta)
	var types map[string]string
	if err := json.Unmarshal([]byte(meta.Types), &types); err != nil {
		t.Fatalf("%s: __metadata__.types: %v", path, err)
	}
	checked := 0
	for name, typeName := range types {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Errorf("%s: tensor %q missing from the GGUF", path, name)
			continue
		}
		if !strings.EqualFold(ti.Type.String(), typeName) {
			t.Errorf("%s: %s is %s, dequant file says %s", f.Path(), name, ti.Type, typeName)
		}
		var info struct{ Shape []int64 }
		json.Unmarshal(hdr[name], &info)
		rev := make([]int64, len(ti.Dims))
		for i, d := range ti.Dims {
			rev[len(rev)-1-i] = d
		}
		if !reflect.DeepEqual(info.Shape, rev) {
			t.Errorf("%s: shape %v, GGUF dims %v", name, info.Shape, ti.Dims)
		}
		checked++
	}
	if checked == 0 {
		t.Errorf("%s: no tensors checked", path)
	}
}
