package gguf

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/divergo/divergo/internal/mmap"
)

// Limits enforced by the reader and the writer.
const (
	// DefaultAlignment is the data alignment used when a file has no
	// general.alignment key.
	DefaultAlignment = 32
	// MaxDims is the largest number of dimensions of a tensor (GGML_MAX_DIMS).
	MaxDims = 4
	// MaxKeyLen is the longest metadata key, in bytes.
	MaxKeyLen = 65535
	// MaxNameLen is the longest tensor name the writer accepts, in bytes;
	// ggml stores names in a 64-byte buffer that ends with a NUL. The
	// reader accepts names up to MaxKeyLen bytes.
	MaxNameLen = 63
	// MaxArrayDepth is how deeply arrays of arrays may nest.
	MaxArrayDepth = 8
)

// ErrFormat is matched (with errors.Is) by every *FormatError.
var ErrFormat = errors.New("malformed GGUF file")

// A FormatError reports a malformed or unsupported GGUF file, or a
// metadata value of the wrong type, naming the file and the field.
type FormatError struct {
	File  string // the file's path, "" when parsed from memory
	Field string // what was being read: "header", `key "general.alignment"`, `tensor "output.weight"`, …
	Msg   string // what is wrong
	Err   error  // the underlying cause, if any
}

func (e *FormatError) Error() string {
	s := "gguf: "
	if e.File != "" {
		s += e.File + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	switch {
	case e.Msg != "" && e.Err != nil:
		s += e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		s += e.Msg
	case e.Err != nil:
		s += e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

// Is reports whether target is ErrFormat. A missing key (ErrKeyNotFound) is
// not a format error of the file.
func (e *FormatError) Is(target error) bool {
	return target == ErrFormat && !errors.Is(e.Err, ErrKeyNotFound)
}

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name string
	// Dims are the dimensions as stored, Dims[0] varying fastest: a
	// Hugging Face [out, in] matrix appears as [in, out].
	Dims []int64
	Type Type
	// Offset is the position of the tensor's data relative to the start of
	// the data section (File.DataOffset).
	Offset int64
	// Size is the tensor's data size in bytes.
	Size int64
}

// Elements returns the number of values in the tensor.
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// A File is a parsed GGUF file. Its tensor data is a read-only view into
// the file's memory mapping (or an in-memory copy where mapping is not
// available) and is valid until Close.
type File struct {
	Version    uint32 // 2 or 3
	Alignment  int64  // data alignment in bytes
	DataOffset int64  // start of the tensor data section, from the start of the file
	Metadata   Metadata
	Tensors    []TensorInfo // in file order

	path   string
	data   []byte
	byName map[string]int
	unmap  func() error
}

// Open reads and validates the GGUF file at path, memory-mapping it
// read-only where the platform allows.
func Open(path string) (*File, error) {
	data, unmap, err := mmap.Map(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := ParseBytes(data)
	if err != nil {
		if unmap != nil {
			unmap()
		}
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.File = path
		}
		return nil, err
	}
	f.path = path
	f.unmap = unmap
	return f, nil
}

// Close releases the file's memory mapping. Slices returned by TensorData
// must not be used afterwards.
func (f *File) Close() error {
	f.data = nil
	if f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap = nil
	if err := u(); err != nil {
		return fmt.Errorf("gguf: %s: unmap: %w", f.path, err)
	}
	return nil
}

// Path returns the path the file was opened from, "" for ParseBytes.
func (f *File) Path() string { return f.path }

// Size returns the size of the file in bytes.
func (f *File) Size() int64 { return int64(len(f.data)) }

// Tensor returns the description of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// TensorData returns the raw bytes of the named tensor: a view into the
// file, not a copy, valid until Close. The caller must not modify it.
func (f *File) TensorData(name string) ([]byte, error) {
	i, ok := f.byName[name]
	if !ok {
		return nil, f.errorf(fmt.Sprintf("tensor %q", name), "not in file")
	}
	if f.data == nil {
		return nil, f.errorf(fmt.Sprintf("tensor %q", name), "file is closed")
	}
	t := f.Tensors[i]
	start := f.DataOffset + t.Offset
	return f.data[start : start+t.Size : start+t.Size], nil
}

func (f *File) errorf(field, format string, args ...any) error {
	return &FormatError{File: f.path, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// withPath adds the file's path to a metadata accessor error.
func (f *File) withPath(err error) error {
	var fe *FormatError
	if errors.As(err, &fe) && fe.File == "" {
		fe.File = f.path
	}
	return err
}

// Get returns the metadata pair with the given key.
func (f *File) Get(key string) (KV, bool) { return f.Metadata.Get(key) }

// String returns the string value of a metadata key; see Metadata.String.
func (f *File) String(key string) (string, error) {
	v, err := f.Metadata.String(key)
	return v, f.withPath(err)
}

// Uint returns the integer value of a metadata key; see Metadata.Uint.
func (f *File) Uint(key string) (uint64, error) {
	v, err := f.Metadata.Uint(key)
	return v, f.withPath(err)
}

// Int returns the integer value of a metadata key; see Metadata.Int.
func (f *File) Int(key string) (int64, error) {
	v, err := f.Metadata.Int(key)
	return v, f.withPath(err)
}

// Float returns the float value of a metadata key; see Metadata.Float.
func (f *File) Float(key string) (float64, error) {
	v, err := f.Metadata.Float(key)
	return v, f.withPath(err)
}

// Bool returns the bool value of a metadata key; see Metadata.Bool.
func (f *File) Bool(key string) (bool, error) {
	v, err := f.Metadata.Bool(key)
	return v, f.withPath(err)
}

// Strings returns the string-array value of a metadata key; see
// Metadata.Strings.
func (f *File) Strings(key string) ([]string, error) {
	v, err := f.Metadata.Strings(key)
	return v, f.withPath(err)
}

// Float32s returns the float-array value of a metadata key; see
// Metadata.Float32s.
func (f *File) Float32s(key string) ([]float32, error) {
	v, err := f.Metadata.Float32s(key)
	return v, f.withPath(err)
}

// Int32s returns the integer-array value of a metadata key; see
// Metadata.Int32s.
func (f *File) Int32s(key string) ([]int32, error) {
	v, err := f.Metadata.Int32s(key)
	return v, f.withPath(err)
}

// decoder reads little-endian GGUF fields from a byte slice, checking every
// length against the bytes that remain before using it.
type decoder struct {
	b     []byte
	off   int64
	field string // what is being read, for errors
}

func (d *decoder) fail(format string, args ...any) error {
	return &FormatError{Field: d.field, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) remaining() int64 { return int64(len(d.b)) - d.off }

func (d *decoder) need(n int64, what string) error {
	if n > d.remaining() {
		return d.fail("truncated %s at byte %d: need %d bytes, %d remain", what, d.off, n, d.remaining())
	}
	return nil
}

func (d *decoder) next(n int64, what string) ([]byte, error) {
	if err := d.need(n, what); err != nil {
		return nil, err
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	p, err := d.next(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	p, err := d.next(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

// count reads a u64 element count and checks that count elements of at
// least minSize bytes each fit in the rest of the file.
func (d *decoder) count(what string, minSize int64) (int64, error) {
	at := d.off
	n, err := d.u64(what)
	if err != nil {
		return 0, err
	}
	if n > uint64(d.remaining()/minSize) {
		return 0, d.fail("%s %d at byte %d exceeds what the remaining %d bytes can hold", what, n, at, d.remaining())
	}
	return int64(n), nil
}

func (d *decoder) str(what string, maxLen int64) (string, error) {
	at := d.off
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(maxLen) {
		return "", d.fail("%s length %d at byte %d exceeds the limit of %d bytes", what, n, at, maxLen)
	}
	if n > uint64(d.remaining()) {
		return "", d.fail("%s length %d at byte %d exceeds the remaining %d bytes", what, n, at, d.remaining())
	}
	p, _ := d.next(int64(n), what)
	return string(p), nil
}

// value reads one metadata value of type t.
func (d *decoder) value(t ValueType, depth int) (any, error) {
	switch t {
	case ValueString:
		return d.str("string", math.MaxInt64)
	case ValueArray:
		return d.array(depth)
	case ValueBool:
		p, err := d.next(1, "bool")
		if err != nil {
			return nil, err
		}
		if p[0] > 1 {
			return nil, d.fail("bool value %d at byte %d, want 0 or 1", p[0], d.off-1)
		}
		return p[0] == 1, nil
	}
	size := t.size()
	if size <= 0 {
		return nil, d.fail("unknown value type %d at byte %d", uint32(t), d.off-4)
	}
	p, err := d.next(size, t.String())
	if err != nil {
		return nil, err
	}
	return scalar(t, p), nil
}

func scalar(t ValueType, p []byte) any {
	le := binary.LittleEndian
	switch t {
	case ValueUint8:
		return p[0]
	case ValueInt8:
		return int8(p[0])
	case ValueUint16:
		return le.Uint16(p)
	case ValueInt16:
		return int16(le.Uint16(p))
	case ValueUint32:
		return le.Uint32(p)
	case ValueInt32:
		return int32(le.Uint32(p))
	case ValueFloat32:
		return math.Float32frombits(le.Uint32(p))
	case ValueUint64:
		return le.Uint64(p)
	case ValueInt64:
		return int64(le.Uint64(p))
	case ValueFloat64:
		return math.Float64frombits(le.Uint64(p))
	}
	panic("gguf: scalar of non-scalar type")
}

func (d *decoder) array(depth int) (Array, error) {
	if depth >= MaxArrayDepth {
		return Array{}, d.fail("arrays nested deeper than %d at byte %d", MaxArrayDepth, d.off)
	}
	et, err := d.u32("array element type")
	if err != nil {
		return Array{}, err
	}
	elem := ValueType(et)
	var minSize int64
	switch {
	case elem == ValueString:
		minSize = 8 // the length prefix
	case elem == ValueArray:
		minSize = 12 // element type and count
	case elem.size() > 0:
		minSize = elem.size()
	default:
		return Array{}, d.fail("unknown array element type %d at byte %d", et, d.off-4)
	}
	n, err := d.count("array length", minSize)
	if err != nil {
		return Array{}, err
	}
	a := Array{Elem: elem}
	le := binary.LittleEndian
	switch elem {
	case ValueString:
		v := make([]string, n)
		for i := range v {
			if v[i], err = d.str("string", math.MaxInt64); err != nil {
				return Array{}, err
			}
		}
		a.Values = v
		return a, nil
	case ValueArray:
		v := make([]Array, n)
		for i := range v {
			if v[i], err = d.array(depth + 1); err != nil {
				return Array{}, err
			}
		}
		a.Values = v
		return a, nil
	}
	p, _ := d.next(n*minSize, "array")
	switch elem {
	case ValueUint8:
		a.Values = slices.Clone(p)
	case ValueInt8:
		v := make([]int8, n)
		for i := range v {
			v[i] = int8(p[i])
		}
		a.Values = v
	case ValueBool:
		v := make([]bool, n)
		for i := range v {
			if p[i] > 1 {
				return Array{}, d.fail("bool array element %d is %d, want 0 or 1", i, p[i])
			}
			v[i] = p[i] == 1
		}
		a.Values = v
	case ValueUint16:
		v := make([]uint16, n)
		for i := range v {
			v[i] = le.Uint16(p[2*i:])
		}
		a.Values = v
	case ValueInt16:
		v := make([]int16, n)
		for i := range v {
			v[i] = int16(le.Uint16(p[2*i:]))
		}
		a.Values = v
	case ValueUint32:
		v := make([]uint32, n)
		for i := range v {
			v[i] = le.Uint32(p[4*i:])
		}
		a.Values = v
	case ValueInt32:
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(le.Uint32(p[4*i:]))
		}
		a.Values = v
	case ValueFloat32:
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(le.Uint32(p[4*i:]))
		}
		a.Values = v
	case ValueUint64:
		v := make([]uint64, n)
		for i := range v {
			v[i] = le.Uint64(p[8*i:])
		}
		a.Values = v
	case ValueInt64:
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(le.Uint64(p[8*i:]))
		}
		a.Values = v
	case ValueFloat64:
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(le.Uint64(p[8*i:]))
		}
		a.Values = v
	}
	return a, nil
}

// ParseBytes parses and validates a GGUF file held in memory. The returned
// File's tensor data are views into b.
func ParseBytes(b []byte) (*File, error) {
	d := &decoder{b: b, field: "header"}
	magic, err := d.next(4, "magic")
	if err != nil {
		return nil, err
	}
	if string(magic) != "GGUF" {
		return nil, d.fail("bad magic %q, not a GGUF file", magic)
	}
	version, err := d.u32("version")
	if err != nil {
		return nil, err
	}
	switch {
	case version == 2 || version == 3:
	case version == 1:
		return nil, d.fail("GGUF version 1 is not supported (only 2 and 3)")
	case version&0xffff == 0 && version>>16 != 0:
		return nil, d.fail("big-endian GGUF not supported (version reads as %#x)", version)
	default:
		return nil, d.fail("unsupported GGUF version %d (only 2 and 3)", version)
	}
	// The smallest tensor info is a name length, n_dims, type and offset
	// (24 bytes); the smallest pair is a key length, type and 1-byte value.
	nTensors, err := d.count("tensor count", 24)
	if err != nil {
		return nil, err
	}
	nKV, err := d.count("metadata count", 13)
	if err != nil {
		return nil, err
	}

	f := &File{Version: version, data: b, Alignment: DefaultAlignment}
	f.Metadata = make(Metadata, 0, nKV)
	seen := make(map[string]bool, nKV)
	for i := range nKV {
		d.field = fmt.Sprintf("metadata pair %d", i)
		key, err := d.str("key", MaxKeyLen)
		if err != nil {
			return nil, err
		}
		d.field = fmt.Sprintf("key %q", key)
		if seen[key] {
			return nil, d.fail("duplicate key")
		}
		seen[key] = true
		t, err := d.u32("value type")
		if err != nil {
			return nil, err
		}
		v, err := d.value(ValueType(t), 0)
		if err != nil {
			return nil, err
		}
		f.Metadata = append(f.Metadata, KV{Key: key, Type: ValueType(t), Value: v})
	}

	if kv, ok := f.Metadata.Get("general.alignment"); ok {
		a, isU32 := kv.Value.(uint32)
		if !isU32 {
			return nil, &FormatError{Field: `key "general.alignment"`, Msg: fmt.Sprintf("type %s, want u32", describe(kv.Type, kv.Value))}
		}
		if a == 0 || a&(a-1) != 0 {
			return nil, &FormatError{Field: `key "general.alignment"`, Msg: fmt.Sprintf("alignment %d is not a power of two", a)}
		}
		f.Alignment = int64(a)
	}

	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.byName = make(map[string]int, nTensors)
	for i := range nTensors {
		d.field = fmt.Sprintf("tensor %d", i)
		t, err := d.tensorInfo()
		if err != nil {
			return nil, err
		}
		if _, dup := f.byName[t.Name]; dup {
			return nil, d.fail("duplicate tensor name %q", t.Name)
		}
		f.byName[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}

	// Padding to the alignment follows the infos. A file without tensors
	// may end right here, with no padding.
	f.DataOffset = d.off
	if r := d.off % f.Alignment; r != 0 {
		f.DataOffset += f.Alignment - r
	}
	if err := f.checkLayout(); err != nil {
		return nil, err
	}
	return f, nil
}

// tensorInfo reads one tensor info and checks its shape and type; the
// offset is checked later, against the data section.
func (d *decoder) tensorInfo() (TensorInfo, error) {
	var t TensorInfo
	name, err := d.str("name", MaxKeyLen)
	if err != nil {
		return t, err
	}
	t.Name = name
	d.field = fmt.Sprintf("tensor %q", name)
	nd, err := d.u32("n_dims")
	if err != nil {
		return t, err
	}
	if nd > MaxDims {
		return t, d.fail("%d dimensions, at most %d allowed", nd, MaxDims)
	}
	t.Dims = make([]int64, nd)
	elems := uint64(1)
	overflow := false
	for j := range t.Dims {
		v, err := d.u64("dimension")
		if err != nil {
			return t, err
		}
		if v > math.MaxInt64 {
			return t, d.fail("dimension %d is %d, larger than int64", j, v)
		}
		t.Dims[j] = int64(v)
		hi, lo := bits.Mul64(elems, v)
		if hi != 0 || lo > math.MaxInt64 {
			overflow = true
		}
		elems = lo
	}
	if overflow {
		return t, d.fail("dimensions %v: element count overflows int64", t.Dims)
	}
	typ, err := d.u32("type")
	if err != nil {
		return t, err
	}
	t.Type = Type(typ)
	if !t.Type.Known() {
		return t, d.fail("unknown ggml type %d", typ)
	}
	off, err := d.u64("offset")
	if err != nil {
		return t, err
	}
	if off > math.MaxInt64 {
		return t, d.fail("offset %d larger than int64", off)
	}
	t.Offset = int64(off)

	// Blocks run along Dims[0], so every row is a whole number of blocks.
	row := int64(1)
	if len(t.Dims) > 0 {
		row = t.Dims[0]
	}
	rowBytes, err := t.Type.RowBytes(row)
	if err != nil {
		return t, d.fail("row of %d values: %v", row, err)
	}
	rows := int64(1)
	if row != 0 {
		rows = int64(elems) / row
	}
	hi, size := bits.Mul64(uint64(rowBytes), uint64(rows))
	if hi != 0 || size > math.MaxInt64 {
		return t, d.fail("dimensions %v of type %s: byte size overflows int64", t.Dims, t.Type)
	}
	t.Size = int64(size)
	return t, nil
}

// checkLayout checks that every tensor's data is aligned, lies inside the
// file and overlaps no other tensor's.
func (f *File) checkLayout() error {
	fileSize := int64(len(f.data))
	avail := fileSize - f.DataOffset // may be negative for a file without tensors
	for _, t := range f.Tensors {
		field := fmt.Sprintf("tensor %q", t.Name)
		if t.Offset%f.Alignment != 0 {
			return f.errorf(field, "offset %d is not a multiple of the alignment %d", t.Offset, f.Alignment)
		}
		if t.Offset > avail || t.Size > avail-t.Offset {
			return f.errorf(field, "data [%d, +%d) at file offset %d beyond end of file (%d bytes)",
				t.Offset, t.Size, f.DataOffset+t.Offset, fileSize)
		}
	}
	order := make([]int, 0, len(f.Tensors))
	for i, t := range f.Tensors {
		if t.Size > 0 {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Compare(f.Tensors[a].Offset, f.Tensors[b].Offset)
	})
	for k := 1; k < len(order); k++ {
		prev, cur := f.Tensors[order[k-1]], f.Tensors[order[k]]
		if cur.Offset < prev.Offset+prev.Size {
			return f.errorf(fmt.Sprintf("tensor %q", cur.Name), "data [%d, %d) overlaps tensor %q [%d, %d)",
				cur.Offset, cur.Offset+cur.Size, prev.Name, prev.Offset, prev.Offset+prev.Size)
		}
	}
	return nil
}
