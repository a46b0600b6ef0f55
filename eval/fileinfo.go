package eval

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/divergo/divergo/gguf"
	"github.com/divergo/divergo/llama2c"
	"github.com/divergo/divergo/safetensors"
)

// A FileSummary describes a model-format file by its contents alone: what
// `divergo info` shows for a file that is not a runnable model (a GGUF
// holding only a vocabulary, a bare safetensors file of tensors).
type FileSummary struct {
	Path     string          `json:"path"`
	Format   string          `json:"format"` // "gguf", "safetensors", "llama2c"
	Version  int             `json:"version,omitempty"`
	Bytes    int64           `json:"bytes"`
	Metadata []FileKV        `json:"metadata,omitempty"`
	Tensors  []FileTensor    `json:"tensors"`
	Llama2C  *llama2c.Config `json:"llama2c,omitempty"`
}

// FileKV is one metadata entry, its value shortened for display (arrays
// show their element type and length).
type FileKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// FileTensor is one tensor of a file: its stored type and shape (as the
// file writes it) and size.
type FileTensor struct {
	Name  string  `json:"name"`
	Type  string  `json:"type"`
	Shape []int64 `json:"shape"`
	Bytes int64   `json:"bytes"`
}

// DescribeFile reads the header of a GGUF, safetensors or llama2.c file.
func DescribeFile(path string) (FileSummary, error) {
	st, err := os.Stat(path)
	if err != nil {
		return FileSummary{}, err
	}
	if st.IsDir() {
		return FileSummary{}, fmt.Errorf("%s is a directory", path)
	}
	s := FileSummary{Path: path, Bytes: st.Size()}
	switch {
	case isGGUFFile(path):
		f, err := gguf.Open(path)
		if err != nil {
			return FileSummary{}, err
		}
		defer f.Close()
		s.Format, s.Version = "gguf", int(f.Version)
		for _, kv := range f.Metadata {
			s.Metadata = append(s.Metadata, FileKV{kv.Key, kv.Type.String(), shortValue(kv.Value)})
		}
		for _, t := range f.Tensors {
			s.Tensors = append(s.Tensors, FileTensor{t.Name, t.Type.String(), t.Dims, t.Size})
		}
	case strings.HasSuffix(path, ".safetensors"):
		f, err := safetensors.Open(path)
		if err != nil {
			return FileSummary{}, err
		}
		defer f.Close()
		s.Format = "safetensors"
		for _, k := range slices.Sorted(maps.Keys(f.Metadata)) {
			s.Metadata = append(s.Metadata, FileKV{k, "string", shortValue(f.Metadata[k])})
		}
		for _, t := range f.Tensors() {
			s.Tensors = append(s.Tensors, FileTensor{t.Name, string(t.DType), t.Shape, t.Size})
		}
	default:
		ck, err := llama2c.Open(path)
		if err != nil {
			return FileSummary{}, err
		}
		defer ck.Close()
		s.Format, s.Llama2C = "llama2c", &ck.Config
		for _, t := range ck.Tensors() {
			shape := make([]int64, len(t.Shape))
			for i, d := range t.Shape {
				shape[i] = int64(d)
			}
			s.Tensors = append(s.Tensors, FileTensor{t.Name, t.Kind.String(), shape, int64(len(t.Data) + len(t.Scales))})
		}
	}
	return s, nil
}

func isGGUFFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	n, _ := f.Read(magic)
	return n == 4 && string(magic) == "GGUF"
}

// shortValue renders a metadata value in at most ~80 characters.
func shortValue(v any) string {
	if a, ok := v.(gguf.Array); ok {
		return fmt.Sprintf("[%d × %s]", a.Len(), a.Elem)
	}
	s := fmt.Sprint(v)
	if len(s) > 80 {
		s = s[:77] + "…"
	}
	return s
}
