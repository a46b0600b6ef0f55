package safetensors

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/x448/float16"
)

// Names of the files of a Hugging Face checkpoint directory.
const (
	SingleFile = "model.safetensors"
	IndexFile  = "model.safetensors.index.json"
)

// maxIndexSize bounds the index file read into memory.
const maxIndexSize = 64 << 20

// A Checkpoint is a model's tensors, from one safetensors file or from the
// shards a model.safetensors.index.json names, behind one lookup.
type Checkpoint struct {
	// Files are the open files, in the order first named by the index.
	Files []*File
	// Metadata is the index's "metadata" object, or the single file's
	// __metadata__; values that are not strings in the index (such as
	// total_size) are kept as their JSON text.
	Metadata map[string]string

	byName  map[string]int // tensor name → index in Files
	tensors []TensorInfo   // sorted by name
}

// OpenCheckpoint opens a checkpoint. path may be a directory (holding
// model.safetensors.index.json or model.safetensors), an index file, or a
// single .safetensors file.
func OpenCheckpoint(path string) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.IsDir() {
		idx := filepath.Join(path, IndexFile)
		if _, err := os.Stat(idx); err == nil {
			return openIndex(idx)
		}
		single := filepath.Join(path, SingleFile)
		if _, err := os.Stat(single); err == nil {
			return openSingle(single)
		}
		return nil, fmt.Errorf("safetensors: %s: no %s or %s in the directory", path, SingleFile, IndexFile)
	}
	if strings.HasSuffix(path, ".json") {
		return openIndex(path)
	}
	return openSingle(path)
}

func openSingle(path string) (*Checkpoint, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{Files: []*File{f}, Metadata: f.Metadata, tensors: f.tensors, byName: make(map[string]int, len(f.tensors))}
	for _, t := range f.tensors {
		c.byName[t.Name] = 0
	}
	return c, nil
}

func openIndex(path string) (*Checkpoint, error) {
	fail := func(format string, args ...any) error {
		return &FormatError{File: path, Field: "index", Msg: fmt.Sprintf(format, args...)}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.Size() > maxIndexSize {
		return nil, fail("%d bytes, larger than the limit of %d", st.Size(), maxIndexSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var idx struct {
		Metadata  map[string]json.RawMessage `json:"metadata"`
		WeightMap json.RawMessage            `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fail("bad JSON: %v", err)
	}
	if idx.WeightMap == nil {
		return nil, fail("no weight_map")
	}
	dec := json.NewDecoder(bytes.NewReader(idx.WeightMap))
	weightMap, err := decodeStringMap(dec)
	if err != nil {
		return nil, fail("weight_map: %v", err)
	}
	if len(weightMap) == 0 {
		return nil, fail("weight_map is empty")
	}

	c := &Checkpoint{byName: make(map[string]int, len(weightMap))}
	done := false
	defer func() {
		if !done {
			c.Close()
		}
	}()
	if idx.Metadata != nil {
		c.Metadata = make(map[string]string, len(idx.Metadata))
		for k, v := range idx.Metadata {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			c.Metadata[k] = s
		}
	}
	dir := filepath.Dir(path)
	shards := map[string]int{}
	names := make([]string, 0, len(weightMap))
	for name := range weightMap {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		shard := weightMap[name]
		if !localName(shard) {
			return nil, fail("tensor %q: shard name %q is not a file name inside the checkpoint directory", name, shard)
		}
		k, ok := shards[shard]
		if !ok {
			f, err := Open(filepath.Join(dir, shard))
			if err != nil {
				return nil, err
			}
			k = len(c.Files)
			shards[shard] = k
			c.Files = append(c.Files, f)
		}
		t, ok := c.Files[k].Tensor(name)
		if !ok {
			return nil, fail("tensor %q: not in its shard %s", name, shard)
		}
		c.byName[name] = k
		c.tensors = append(c.tensors, t)
	}
	slices.SortFunc(c.tensors, func(a, b TensorInfo) int { return cmp.Compare(a.Name, b.Name) })
	done = true
	return c, nil
}

// localName reports whether a shard name is a plain file name that stays
// inside the checkpoint's directory.
func localName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`+"\x00") && filepath.Base(s) == s && !filepath.IsAbs(s) && filepath.VolumeName(s) == ""
}

// Close closes every file of the checkpoint.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, f := range c.Files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// Tensors returns every tensor of the checkpoint sorted by name. The slice
// is shared; do not modify it.
func (c *Checkpoint) Tensors() []TensorInfo { return c.tensors }

// File returns the file that holds the named tensor.
func (c *Checkpoint) File(name string) (*File, bool) {
	k, ok := c.byName[name]
	if !ok {
		return nil, false
	}
	return c.Files[k], true
}

func (c *Checkpoint) file(name string) (*File, error) {
	f, ok := c.File(name)
	if !ok {
		return nil, &FormatError{Field: fmt.Sprintf("tensor %q", name), Msg: "not in checkpoint"}
	}
	return f, nil
}

// Tensor returns the description of the named tensor.
func (c *Checkpoint) Tensor(name string) (TensorInfo, bool) {
	f, ok := c.File(name)
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensor(name)
}

// Bytes returns the raw bytes of the named tensor; see File.Bytes.
func (c *Checkpoint) Bytes(name string) ([]byte, error) {
	f, err := c.file(name)
	if err != nil {
		return nil, err
	}
	return f.Bytes(name)
}

// F32 returns the values of an F32 tensor; see File.F32.
func (c *Checkpoint) F32(name string) ([]float32, error) {
	f, err := c.file(name)
	if err != nil {
		return nil, err
	}
	return f.F32(name)
}

// F16 returns the values of an F16 tensor; see File.F16.
func (c *Checkpoint) F16(name string) ([]float16.Float16, error) {
	f, err := c.file(name)
	if err != nil {
		return nil, err
	}
	return f.F16(name)
}

// BF16 returns the bits of a BF16 tensor; see File.BF16.
func (c *Checkpoint) BF16(name string) ([]uint16, error) {
	f, err := c.file(name)
	if err != nil {
		return nil, err
	}
	return f.BF16(name)
}

// ToFloat32 returns a tensor converted to float32; see File.ToFloat32.
func (c *Checkpoint) ToFloat32(name string) ([]float32, error) {
	f, err := c.file(name)
	if err != nil {
		return nil, err
	}
	return f.ToFloat32(name)
}

// WriteSharded writes tensors as a sharded checkpoint in dir: shard files
// named model-00001-of-0000N.safetensors, each holding at most maxShardBytes
// of tensor data (a larger tensor gets a shard of its own), and
// model.safetensors.index.json mapping every tensor to its shard, with
// metadata.total_size. Tensors are assigned to shards in the order given.
// Each shard carries metadata as its __metadata__. All files are written
// atomically.
func WriteSharded(dir string, tensors []Tensor, metadata map[string]string, maxShardBytes int64) error {
	var shards [][]Tensor
	var cur []Tensor
	var curSize, total int64
	for _, t := range tensors {
		n := int64(len(t.Data))
		if len(cur) > 0 && curSize+n > maxShardBytes {
			shards = append(shards, cur)
			cur, curSize = nil, 0
		}
		cur = append(cur, t)
		curSize += n
		total += n
	}
	if len(cur) > 0 || len(shards) == 0 {
		shards = append(shards, cur)
	}
	weightMap := make(map[string]string, len(tensors))
	for i, s := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		for _, t := range s {
			if _, dup := weightMap[t.Name]; dup {
				return fmt.Errorf("safetensors: tensor %q: duplicate name", t.Name)
			}
			weightMap[t.Name] = name
		}
		if err := WriteFile(filepath.Join(dir, name), s, metadata); err != nil {
			return err
		}
	}
	idx, err := json.MarshalIndent(map[string]any{
		"metadata":   map[string]int64{"total_size": total},
		"weight_map": weightMap,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return writeAtomic(filepath.Join(dir, IndexFile), append(idx, '\n'))
}

// writeAtomic writes b to path through a temporary file and a rename.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	_, err = tmp.Write(b)
	for _, step := range []func() error{func() error { return tmp.Chmod(0o644) }, tmp.Sync, tmp.Close} {
		if err == nil {
			err = step()
		}
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
