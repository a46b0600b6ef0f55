package engine

import (
	_ "embed"
	"fmt"

	"github.com/divergo/divergo/safetensors"
	"github.com/divergo/divergo/tokenizer"
)

// The embedded model: Karpathy's stories260K (MIT, trained on TinyStories)
// in Hugging Face layout with its 512-piece llama2.c vocabulary, so every
// command works on a fresh machine without downloads.
var (
	//go:embed embedded/config.json
	embeddedConfig []byte
	//go:embed embedded/model.safetensors
	embeddedWeights []byte
	//go:embed embedded/tok512.bin
	embeddedTokenizer []byte
)

// EmbeddedName names the embedded model in reports.
const EmbeddedName = "stories260K (embedded)"

// LoadEmbedded returns the embedded stories260K model.
func LoadEmbedded(opt LoadOptions) (*Model, error) {
	c, tied, err := parseHFConfig(embeddedConfig)
	if err != nil {
		return nil, fmt.Errorf("embedded model: %w", err)
	}
	f, err := safetensors.ParseBytes(embeddedWeights)
	if err != nil {
		return nil, fmt.Errorf("embedded model: %w", err)
	}
	m, err := buildHF(c, tied, f, Source{Path: EmbeddedName, Format: "embedded"}, opt)
	if err != nil {
		return nil, fmt.Errorf("embedded model: %w", err)
	}
	if opt.Tokenizer != "" {
		m.Tokenizer, err = loadTokenizerFile(opt.Tokenizer, c.Vocab)
	} else {
		m.Tokenizer, err = tokenizer.ParseLlama2C(embeddedTokenizer, c.Vocab)
	}
	if err == nil {
		err = checkTokenizer(m)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded model: %w", err)
	}
	return m, nil
}
