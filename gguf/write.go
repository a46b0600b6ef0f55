package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// A Writer builds a GGUF file from metadata and tensors. Set Metadata
// (its order is the file's order), add tensors in the order they should
// appear, then call WriteFile or WriteTo. The data alignment is the value
// of general.alignment (a u32 power of two) when present, else 32.
//
// The layout follows llama.cpp's writer: tensor data back to back in the
// order added, each padded with zeros to the alignment; a file without
// tensors ends right after the last tensor info.
type Writer struct {
	Version  uint32 // 2 or 3; 0 means 3
	Metadata Metadata

	tensors []writerTensor
	names   map[string]bool
}

type writerTensor struct {
	info  TensorInfo
	data  []byte
	write func(io.Writer) error
}

// AddTensor adds a tensor whose bytes are data; len(data) must be the size
// that dims and typ give. data is not copied and must not change before the
// file is written.
func (w *Writer) AddTensor(name string, dims []int64, typ Type, data []byte) error {
	t, err := w.add(name, dims, typ)
	if err != nil {
		return err
	}
	if int64(len(data)) != t.info.Size {
		return fmt.Errorf("gguf: tensor %q: %d bytes of data, dimensions %v of type %s need %d", name, len(data), dims, typ, t.info.Size)
	}
	t.data = data
	w.tensors = append(w.tensors, t)
	return nil
}

// AddTensorFunc adds a tensor whose bytes write produces when the file is
// written, so large tensors need not be held in memory at once. write must
// write exactly the size that dims and typ give.
func (w *Writer) AddTensorFunc(name string, dims []int64, typ Type, write func(io.Writer) error) error {
	t, err := w.add(name, dims, typ)
	if err != nil {
		return err
	}
	t.write = write
	w.tensors = append(w.tensors, t)
	return nil
}

func (w *Writer) add(name string, dims []int64, typ Type) (writerTensor, error) {
	fail := func(format string, args ...any) (writerTensor, error) {
		return writerTensor{}, fmt.Errorf("gguf: tensor %q: %s", name, fmt.Sprintf(format, args...))
	}
	if name == "" {
		return fail("empty name")
	}
	if len(name) > MaxNameLen {
		return fail("name is %d bytes, at most %d allowed", len(name), MaxNameLen)
	}
	if w.names[name] {
		return fail("duplicate tensor name")
	}
	if len(dims) > MaxDims {
		return fail("%d dimensions, at most %d allowed", len(dims), MaxDims)
	}
	if !typ.Known() {
		return fail("unknown ggml type %d", uint32(typ))
	}
	elems := int64(1)
	for _, d := range dims {
		if d < 0 {
			return fail("negative dimension in %v", dims)
		}
		if d != 0 && elems > math.MaxInt64/d {
			return fail("dimensions %v: element count overflows int64", dims)
		}
		elems *= d
	}
	row := int64(1)
	if len(dims) > 0 {
		row = dims[0]
	}
	rowBytes, err := typ.RowBytes(row)
	if err != nil {
		return fail("row of %d values: %v", row, err)
	}
	rows := int64(1)
	if row != 0 {
		rows = elems / row
	}
	if rows != 0 && rowBytes > math.MaxInt64/rows {
		return fail("dimensions %v of type %s: byte size overflows int64", dims, typ)
	}
	if w.names == nil {
		w.names = make(map[string]bool)
	}
	w.names[name] = true
	return writerTensor{info: TensorInfo{Name: name, Dims: append([]int64(nil), dims...), Type: typ, Size: rowBytes * rows}}, nil
}

// alignment returns the data alignment the metadata asks for.
func (w *Writer) alignment() (int64, error) {
	kv, ok := w.Metadata.Get("general.alignment")
	if !ok {
		return DefaultAlignment, nil
	}
	a, isU32 := kv.Value.(uint32)
	if !isU32 || kv.Type != ValueUint32 {
		return 0, fmt.Errorf("gguf: key \"general.alignment\": type %s, want u32", describe(kv.Type, kv.Value))
	}
	if a == 0 || a&(a-1) != 0 {
		return 0, fmt.Errorf("gguf: key \"general.alignment\": alignment %d is not a power of two", a)
	}
	return int64(a), nil
}

// WriteTo writes the file to dst.
func (w *Writer) WriteTo(dst io.Writer) (int64, error) {
	version := w.Version
	if version == 0 {
		version = 3
	}
	if version != 2 && version != 3 {
		return 0, fmt.Errorf("gguf: cannot write version %d (only 2 and 3)", version)
	}
	align, err := w.alignment()
	if err != nil {
		return 0, err
	}
	seen := make(map[string]bool, len(w.Metadata))
	for _, kv := range w.Metadata {
		if len(kv.Key) > MaxKeyLen {
			return 0, fmt.Errorf("gguf: key %.40q…: %d bytes, at most %d allowed", kv.Key, len(kv.Key), MaxKeyLen)
		}
		if seen[kv.Key] {
			return 0, fmt.Errorf("gguf: key %q: duplicate key", kv.Key)
		}
		seen[kv.Key] = true
		if err := checkKV(kv); err != nil {
			return 0, fmt.Errorf("gguf: key %q: %w", kv.Key, err)
		}
	}

	// Lay the data out: each tensor at the next aligned offset.
	var dataSize int64
	for i := range w.tensors {
		t := &w.tensors[i]
		t.info.Offset = dataSize
		dataSize += pad(t.info.Size, align)
	}

	cw := &countWriter{w: bufio.NewWriterSize(dst, 1<<20)}
	e := &encoder{w: cw}
	e.bytes([]byte("GGUF"))
	e.u32(version)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.Metadata)))
	for _, kv := range w.Metadata {
		e.str(kv.Key)
		e.u32(uint32(kv.Type))
		e.value(kv.Type, kv.Value)
	}
	for _, t := range w.tensors {
		e.str(t.info.Name)
		e.u32(uint32(len(t.info.Dims)))
		for _, d := range t.info.Dims {
			e.u64(uint64(d))
		}
		e.u32(uint32(t.info.Type))
		e.u64(uint64(t.info.Offset))
	}
	if e.err != nil {
		return cw.n, fmt.Errorf("gguf: %w", e.err)
	}
	if len(w.tensors) > 0 {
		e.zeros(pad(cw.n, align) - cw.n)
	}
	for _, t := range w.tensors {
		if e.err != nil {
			break
		}
		start := cw.n
		if t.write != nil {
			if err := t.write(cw); err != nil {
				return cw.n, fmt.Errorf("gguf: tensor %q: %w", t.info.Name, err)
			}
		} else {
			e.bytes(t.data)
		}
		if e.err == nil && cw.err == nil && cw.n-start != t.info.Size {
			return cw.n, fmt.Errorf("gguf: tensor %q: wrote %d bytes, want %d", t.info.Name, cw.n-start, t.info.Size)
		}
		e.zeros(pad(t.info.Size, align) - t.info.Size)
	}
	if e.err == nil {
		e.err = cw.w.Flush()
	}
	if e.err != nil {
		return cw.n, fmt.Errorf("gguf: %w", e.err)
	}
	return cw.n, nil
}

// WriteFile writes the file to path atomically: into a temporary file in
// the same directory, synced, then renamed over path.
func (w *Writer) WriteFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := w.WriteTo(tmp); err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	ok = true
	return nil
}

func pad(n, align int64) int64 {
	if r := n % align; r != 0 {
		return n + align - r
	}
	return n
}

type countWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// encoder writes little-endian GGUF fields, remembering the first error.
type encoder struct {
	w       io.Writer
	err     error
	scratch [8]byte
}

func (e *encoder) bytes(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

var zeroPad [256]byte

func (e *encoder) zeros(n int64) {
	for n > 0 && e.err == nil {
		k := min(n, int64(len(zeroPad)))
		e.bytes(zeroPad[:k])
		n -= k
	}
}

func (e *encoder) u8(v uint8) { e.bytes([]byte{v}) }

func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.scratch[:], v)
	e.bytes(e.scratch[:2])
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.scratch[:], v)
	e.bytes(e.scratch[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.scratch[:], v)
	e.bytes(e.scratch[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

// value writes a value already checked by checkKV.
func (e *encoder) value(t ValueType, v any) {
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case Array:
		e.array(x)
	default:
		e.err = fmt.Errorf("value of type %s has unsupported Go type %T", t, v)
	}
}

func (e *encoder) array(a Array) {
	e.u32(uint32(a.Elem))
	e.u64(uint64(a.Len()))
	if e.err != nil {
		return
	}
	// Scalar arrays go out as one buffer; strings and arrays one by one.
	var p []byte
	le := binary.LittleEndian
	switch v := a.Values.(type) {
	case []uint8:
		e.bytes(v)
		return
	case []int8:
		for _, x := range v {
			p = append(p, uint8(x))
		}
	case []bool:
		for _, x := range v {
			if x {
				p = append(p, 1)
			} else {
				p = append(p, 0)
			}
		}
	case []uint16:
		for _, x := range v {
			p = le.AppendUint16(p, x)
		}
	case []int16:
		for _, x := range v {
			p = le.AppendUint16(p, uint16(x))
		}
	case []uint32:
		for _, x := range v {
			p = le.AppendUint32(p, x)
		}
	case []int32:
		for _, x := range v {
			p = le.AppendUint32(p, uint32(x))
		}
	case []float32:
		for _, x := range v {
			p = le.AppendUint32(p, math.Float32bits(x))
		}
	case []uint64:
		for _, x := range v {
			p = le.AppendUint64(p, x)
		}
	case []int64:
		for _, x := range v {
			p = le.AppendUint64(p, uint64(x))
		}
	case []float64:
		for _, x := range v {
			p = le.AppendUint64(p, math.Float64bits(x))
		}
	case []string:
		for _, s := range v {
			e.str(s)
		}
		return
	case []Array:
		for _, s := range v {
			e.array(s)
		}
		return
	}
	e.bytes(p)
}
