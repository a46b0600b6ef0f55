package tokenizer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Load reads a tokenizer file, choosing the format by name and content:
// a SentencePiece model (*.model), a Hugging Face tokenizer.json (*.json, or
// content starting with "{"), or a llama2.c tokenizer.bin (*.bin; every
// token up to the end of the file). A directory is searched for
// tokenizer.model, then tokenizer.json. GGUF files hold their vocabulary in
// metadata: read it with package gguf and call FromVocab.
func Load(path string) (*Tokenizer, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		for _, name := range []string{"tokenizer.model", "tokenizer.json"} {
			p := filepath.Join(path, name)
			if _, err := os.Stat(p); err == nil {
				return Load(p)
			}
		}
		return nil, fmt.Errorf("tokenizer: %s: directory has no tokenizer.model or tokenizer.json", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parse(path, data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

func parse(path string, data []byte) (*Tokenizer, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".model":
		return parseModelProto(data)
	case ".json":
		return parseHFJSON(data)
	case ".bin":
		return parseLlama2C(data, 0)
	case ".gguf":
		return nil, errGGUF
	}
	switch {
	case bytes.HasPrefix(data, []byte("GGUF")):
		return nil, errGGUF
	case bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")):
		return parseHFJSON(data)
	case len(data) > 0 && data[0] == 0x0a:
		// A ModelProto starts with field 1 (pieces), length-delimited.
		return parseModelProto(data)
	}
	return nil, errors.New("unknown tokenizer format (want tokenizer.model, tokenizer.json or a llama2.c .bin)")
}

var errGGUF = errors.New("GGUF file: read its vocabulary with package gguf and build the tokenizer with FromVocab")
