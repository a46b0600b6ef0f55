package safetensors

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// A Tensor is a tensor to write: its name, element type, row-major shape
// and little-endian data.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64
	Data  []byte
}

// WriteFile writes tensors and metadata as a safetensors file at path,
// atomically: into a temporary file in the same directory, synced, then
// renamed over path. See Encode for the layout.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := Encode(bw, tensors, metadata); err != nil {
		return fmt.Errorf("%w (writing %s)", err, path)
	}
	for _, step := range []func() error{bw.Flush, func() error { return tmp.Chmod(0o644) }, tmp.Sync, tmp.Close} {
		if err := step(); err != nil {
			return fmt.Errorf("safetensors: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	ok = true
	return nil
}

// Encode writes tensors and metadata in safetensors format to w. As the
// reference implementation does, tensors are ordered by element size
// (largest first, so every tensor stays aligned to its element size) and
// then by name, and the header is padded with spaces so the data section
// starts at a multiple of 8. Metadata is omitted from the header when
// empty.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order := make([]int, len(tensors))
	seen := make(map[string]bool, len(tensors))
	for i, t := range tensors {
		if err := t.check(); err != nil {
			return err
		}
		if seen[t.Name] {
			return fmt.Errorf("safetensors: tensor %q: duplicate name", t.Name)
		}
		seen[t.Name] = true
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ta, tb := &tensors[a], &tensors[b]
		if c := cmp.Compare(tb.DType.Size(), ta.DType.Size()); c != 0 {
			return c
		}
		return cmp.Compare(ta.Name, tb.Name)
	})

	var h bytes.Buffer
	enc := json.NewEncoder(&h)
	enc.SetEscapeHTML(false)
	str := func(s string) {
		enc.Encode(s)           // a string always encodes
		h.Truncate(h.Len() - 1) // Encode adds a newline
	}
	h.WriteByte('{')
	if len(metadata) > 0 {
		h.WriteString(`"__metadata__":{`)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			str(k)
			h.WriteByte(':')
			str(metadata[k])
		}
		h.WriteByte('}')
	}
	var offset int64
	for i, k := range order {
		t := &tensors[k]
		if i > 0 || len(metadata) > 0 {
			h.WriteByte(',')
		}
		str(t.Name)
		fmt.Fprintf(&h, `:{"dtype":"%s","shape":[`, t.DType)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			fmt.Fprint(&h, d)
		}
		end := offset + int64(len(t.Data))
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeaderSize {
		return fmt.Errorf("safetensors: header of %d bytes exceeds the limit of %d", h.Len(), MaxHeaderSize)
	}

	var n [8]byte
	for i := range n {
		n[i] = byte(uint64(h.Len()) >> (8 * i))
	}
	if _, err := w.Write(n[:]); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	for _, k := range order {
		if _, err := w.Write(tensors[k].Data); err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", tensors[k].Name, err)
		}
	}
	return nil
}

// check validates a tensor before writing.
func (t *Tensor) check() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: tensor %q: %s", t.Name, fmt.Sprintf(format, args...))
	}
	if t.Name == "" || t.Name == "__metadata__" {
		return fail("reserved or empty name")
	}
	size := t.DType.Size()
	if size == 0 {
		return fail("unknown dtype %q", t.DType)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fail("negative dimension in shape %v", t.Shape)
		}
		if d != 0 && size > math.MaxInt64/d {
			return fail("shape %v: byte size overflows int64", t.Shape)
		}
		size *= d
	}
	if int64(len(t.Data)) != size {
		return fail("%d bytes of data, shape %v of %s needs %d", len(t.Data), t.Shape, t.DType, size)
	}
	return nil
}
