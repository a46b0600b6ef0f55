package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divergo/divergo/internal/assets"
)

// divergo info works on every model file of the shared assets: runnable
// models report their config, a vocabulary-only GGUF and bare tensor files
// their contents.
func TestInfoEveryAssetModel(t *testing.T) {
	dir := assets.Path(t, "models")
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".gguf") || strings.HasSuffix(p, ".bin") && !strings.Contains(filepath.Base(p), "tok") || strings.HasSuffix(p, ".safetensors")) {
			files = append(files, p)
		}
		return nil
	})
	files = append(files, assets.Path(t, "tokenizers/llama2/llamacpp-vocab-test/ggml-vocab-llama-spm.gguf"),
		assets.Path(t, "models/stories260K/hf"))
	if len(files) < 25 {
		t.Fatalf("found only %d model files under %s", len(files), dir)
	}
	for _, f := range files {
		code, out, errs := runCLI(t, "info", "--json", "-m", f)
		if code != 0 {
			t.Errorf("info %s: exit %d: %s", f, code, errs)
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Errorf("info %s: %v", f, err)
			continue
		}
		_, isModel := doc["config"]
		_, isFile := doc["file"]
		if !isModel && !isFile {
			t.Errorf("info %s: neither config nor file in %s", f, out[:min(len(out), 200)])
		}
		if strings.HasSuffix(f, ".gguf") && strings.Contains(f, "stories260K") && !isModel {
			t.Errorf("info %s: a runnable model reported as a bare file", f)
		}
	}
}
