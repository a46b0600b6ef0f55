package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divergo/divergo/internal/hostile"
	"github.com/divergo/divergo/safetensors"
)

// The loader fuzz targets write the fuzzed file beside the other files of
// a valid model and load it: Load must return an error or a model that
// runs — a forward pass gives logits or reports a non-finite value — and
// never panic. Their seeds are the files of internal/hostile: the valid
// base model of each format and each of its hostile variants.

// hostileFiles returns the named file of every case whose name has the
// prefix, and the files of the prefix's valid base.
func hostileFiles(prefix, name string) (seeds [][]byte, base map[string][]byte) {
	for _, c := range hostile.Cases() {
		if !strings.HasPrefix(c.Name, prefix) {
			continue
		}
		if c.Name == prefix+"valid" {
			base = c.Files
		}
		if b, ok := c.Files[name]; ok {
			seeds = append(seeds, b)
		}
	}
	return seeds, base
}

// fuzzModel writes files into a fresh directory, the fuzzed one under
// name, loads path (relative to the directory) and runs it.
func fuzzModel(t *testing.T, files map[string][]byte, name string, data []byte, path string) {
	dir := t.TempDir()
	for n, b := range files {
		if n == name {
			b = data
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Load(filepath.Join(dir, path), LoadOptions{})
	if err != nil {
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error of more than one line: %q", err)
		}
		return
	}
	defer m.Close()
	s, err := NewState(m, 3, nil)
	if err != nil {
		t.Fatalf("a loaded model: %v", err)
	}
	V := m.Config.Vocab
	logits, err := s.Forward([]int{0, min(1, V-1), V - 1}, 3)
	if err != nil {
		if !strings.Contains(err.Error(), "non-finite value") {
			t.Fatalf("forward pass of a loaded model: %v", err)
		}
		return
	}
	if len(logits) != 3*V {
		t.Fatalf("%d logits for 3 positions of a %d-token vocabulary", len(logits), V)
	}
}

// FuzzLoadGGUF fuzzes a whole GGUF model file (weights and vocabulary).
func FuzzLoadGGUF(f *testing.F) {
	seeds, base := hostileFiles("gguf-", "model.gguf")
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzModel(t, base, "model.gguf", b, "model.gguf") })
}

// FuzzLoadSafetensors fuzzes the model.safetensors of a Hugging Face
// directory.
func FuzzLoadSafetensors(f *testing.F) {
	seeds, base := hostileFiles("hf-", "model.safetensors")
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzModel(t, base, "model.safetensors", b, ".") })
}

// FuzzLoadHFConfig fuzzes the config.json of a Hugging Face directory:
// parseHFConfig alone, then the whole load.
func FuzzLoadHFConfig(f *testing.F) {
	seeds, base := hostileFiles("hf-", "config.json")
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _, err := parseHFConfig(b)
		if err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("parseHFConfig accepted an invalid config: %v", err)
			}
		}
		fuzzModel(t, base, "config.json", b, ".")
	})
}

// FuzzLoadSafetensorsIndex fuzzes a model.safetensors.index.json that
// maps the tensors to their shard, the model.safetensors beside it.
func FuzzLoadSafetensorsIndex(f *testing.F) {
	seeds, base := hostileFiles("hf-", "model.safetensors.index.json")
	for _, s := range seeds {
		f.Add(s)
	}
	st, err := safetensors.ParseBytes(base["model.safetensors"])
	if err != nil {
		f.Fatal(err)
	}
	m := map[string]string{}
	for _, t := range st.Tensors() {
		m[t.Name] = "model.safetensors"
	}
	index, err := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": len(base["model.safetensors"])}, "weight_map": m})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(index)
	files := map[string][]byte{"model.safetensors.index.json": nil}
	for n, b := range base {
		files[n] = b
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzModel(t, files, "model.safetensors.index.json", b, ".") })
}

// FuzzLoadLlama2C fuzzes a llama2.c checkpoint loaded with a valid
// tokenizer.bin beside it.
func FuzzLoadLlama2C(f *testing.F) {
	seeds, base := hostileFiles("llama2c-", "model.bin")
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzModel(t, base, "model.bin", b, "model.bin") })
}

// FuzzLoadTokenizerBin fuzzes the tokenizer.bin beside a valid llama2.c
// checkpoint (the vocabulary size comes from the checkpoint).
func FuzzLoadTokenizerBin(f *testing.F) {
	seeds, base := hostileFiles("llama2c-", "tokenizer.bin")
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzModel(t, base, "tokenizer.bin", b, "model.bin") })
}
