package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"

	"github.com/divergo/divergo/internal/mmap"
)

// MaxHeaderSize is the largest JSON header accepted, in bytes (the limit
// of the reference implementation).
const MaxHeaderSize = 100_000_000

// ErrFormat is matched (with errors.Is) by every *FormatError.
var ErrFormat = errors.New("malformed safetensors file")

// A FormatError reports a malformed safetensors file, naming the file and
// the field.
type FormatError struct {
	File  string // the file's path, "" when parsed from memory
	Field string // what was being read: "header", `tensor "lm_head.weight"`, …
	Msg   string
}

func (e *FormatError) Error() string {
	s := "safetensors: "
	if e.File != "" {
		s += e.File + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

// Is reports whether target is ErrFormat.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int64 // row-major, outermost first; empty for a scalar
	// Offset is the position of the tensor's data relative to the start of
	// the data section, which follows the header.
	Offset int64
	Size   int64 // data size in bytes
}

// Elements returns the number of values in the tensor.
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// A File is a parsed safetensors file. Its tensor data is a read-only view
// into the file's memory mapping (or an in-memory copy where mapping is not
// available) and is valid until Close.
type File struct {
	// Metadata is the header's __metadata__ map (nil when absent).
	Metadata map[string]string
	// DataOffset is the start of the data section: 8 + the header length.
	DataOffset int64

	path    string
	data    []byte
	tensors []TensorInfo // sorted by name
	byName  map[string]int
	unmap   func() error
}

// Open reads and validates the safetensors file at path, memory-mapping it
// read-only where the platform allows.
func Open(path string) (*File, error) {
	data, unmap, err := mmap.Map(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
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

// Close releases the file's memory mapping. Slices returned by the
// accessors must not be used afterwards.
func (f *File) Close() error {
	f.data = nil
	if f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap = nil
	if err := u(); err != nil {
		return fmt.Errorf("safetensors: %s: unmap: %w", f.path, err)
	}
	return nil
}

// Path returns the path the file was opened from, "" for ParseBytes.
func (f *File) Path() string { return f.path }

// Size returns the size of the file in bytes.
func (f *File) Size() int64 { return int64(len(f.data)) }

// Tensors returns the tensors of the file sorted by name. The slice is
// shared; do not modify it.
func (f *File) Tensors() []TensorInfo { return f.tensors }

// Tensor returns the description of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.tensors[i], true
}

// Bytes returns the raw little-endian bytes of the named tensor: a view
// into the file, not a copy, valid until Close. The caller must not modify
// it.
func (f *File) Bytes(name string) ([]byte, error) {
	_, b, err := f.lookup(name)
	return b, err
}

func (f *File) lookup(name string) (TensorInfo, []byte, error) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, nil, &FormatError{File: f.path, Field: fmt.Sprintf("tensor %q", name), Msg: "not in file"}
	}
	if f.data == nil {
		return TensorInfo{}, nil, &FormatError{File: f.path, Field: fmt.Sprintf("tensor %q", name), Msg: "file is closed"}
	}
	t := f.tensors[i]
	start := f.DataOffset + t.Offset
	return t, f.data[start : start+t.Size : start+t.Size], nil
}

// ParseBytes parses and validates a safetensors file held in memory. The
// returned File's tensor data are views into b.
func ParseBytes(b []byte) (*File, error) {
	fail := func(format string, args ...any) error {
		return &FormatError{Field: "header", Msg: fmt.Sprintf(format, args...)}
	}
	if len(b) < 8 {
		return nil, fail("file is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	switch {
	case n < 2:
		return nil, fail("header length %d, too short for a JSON object", n)
	case n > uint64(len(b)-8):
		return nil, fail("header length %d beyond end of file (%d bytes after the length)", n, len(b)-8)
	case n > MaxHeaderSize:
		return nil, fail("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	f := &File{data: b, DataOffset: 8 + int64(n)}
	if err := f.parseHeader(b[8 : 8+n]); err != nil {
		return nil, err
	}
	return f, nil
}

// entry is one tensor's header record; pointers tell absent fields apart.
type entry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

func (f *File) parseHeader(h []byte) error {
	dec := json.NewDecoder(bytes.NewReader(h))
	jsonErr := func(what string, err error) error {
		off := dec.InputOffset()
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			off = se.Offset
		case errors.As(err, &te):
			off = te.Offset
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			err = errors.New("unexpected end of JSON")
		}
		return &FormatError{Field: what, Msg: fmt.Sprintf("bad JSON at byte %d of the header: %v", off, err)}
	}
	if tok, err := dec.Token(); err != nil {
		return jsonErr("header", err)
	} else if tok != json.Delim('{') {
		return &FormatError{Field: "header", Msg: fmt.Sprintf("JSON header is not an object (starts with %v)", tok)}
	}
	dataSize := int64(len(f.data)) - f.DataOffset
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr("header", err)
		}
		name := tok.(string) // object keys are always strings
		field := fmt.Sprintf("tensor %q", name)
		if seen[name] {
			return &FormatError{Field: field, Msg: "duplicate name in header"}
		}
		seen[name] = true
		if name == "__metadata__" {
			m, err := decodeStringMap(dec)
			if err != nil {
				return jsonErr("__metadata__", err)
			}
			f.Metadata = m
			continue
		}
		var e entry
		if err := dec.Decode(&e); err != nil {
			return jsonErr(field, err)
		}
		t, err := e.info(name, dataSize)
		if err != nil {
			return &FormatError{Field: field, Msg: err.Error()}
		}
		f.tensors = append(f.tensors, t)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return jsonErr("header", err)
	}
	if rest := h[dec.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return &FormatError{Field: "header", Msg: fmt.Sprintf("unexpected data at byte %d of the header, after the JSON object", dec.InputOffset())}
	}
	return f.index()
}

// index sorts the tensors by name, builds the name index and checks that
// no two tensors' data overlap.
func (f *File) index() error {
	byOffset := slices.Clone(f.tensors)
	slices.SortFunc(byOffset, func(a, b TensorInfo) int { return cmp.Compare(a.Offset, b.Offset) })
	var prev *TensorInfo
	for i := range byOffset {
		t := &byOffset[i]
		if t.Size == 0 {
			continue
		}
		if prev != nil && t.Offset < prev.Offset+prev.Size {
			return &FormatError{Field: fmt.Sprintf("tensor %q", t.Name), Msg: fmt.Sprintf("data [%d, %d) overlaps tensor %q [%d, %d)",
				t.Offset, t.Offset+t.Size, prev.Name, prev.Offset, prev.Offset+prev.Size)}
		}
		prev = t
	}
	slices.SortFunc(f.tensors, func(a, b TensorInfo) int { return cmp.Compare(a.Name, b.Name) })
	f.byName = make(map[string]int, len(f.tensors))
	for i, t := range f.tensors {
		f.byName[t.Name] = i
	}
	return nil
}

// info checks a header record against the data section's size.
func (e *entry) info(name string, dataSize int64) (TensorInfo, error) {
	t := TensorInfo{Name: name}
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return t, errors.New("record needs dtype, shape and data_offsets")
	}
	t.DType = DType(*e.DType)
	size := t.DType.Size()
	if size == 0 {
		return t, fmt.Errorf("unknown dtype %q", *e.DType)
	}
	t.Shape = *e.Shape
	n := uint64(size)
	for _, d := range t.Shape {
		if d < 0 {
			return t, fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return t, fmt.Errorf("shape %v of %s: byte size overflows int64", t.Shape, t.DType)
		}
		n = lo
	}
	offs := *e.DataOffsets
	if len(offs) != 2 {
		return t, fmt.Errorf("data_offsets has %d entries, want [begin, end]", len(offs))
	}
	begin, end := offs[0], offs[1]
	switch {
	case begin < 0 || end < begin:
		return t, fmt.Errorf("data_offsets [%d, %d) is not a range", begin, end)
	case end > dataSize:
		return t, fmt.Errorf("data_offsets [%d, %d) beyond end of file (data section is %d bytes)", begin, end, dataSize)
	case uint64(end-begin) != n:
		return t, fmt.Errorf("data_offsets [%d, %d) hold %d bytes, shape %v of %s needs %d", begin, end, end-begin, t.Shape, t.DType, n)
	}
	t.Offset, t.Size = begin, end-begin
	return t, nil
}

// decodeStringMap decodes a JSON object of strings, rejecting repeated
// keys.
func decodeStringMap(dec *json.Decoder) (map[string]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("want an object of strings, found %v", tok)
	}
	m := make(map[string]string)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		m[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return m, nil
}
