package tokenizer

import "fmt"

// ParseLlama2C parses the bytes of a llama2.c tokenizer.bin holding
// vocabSize pieces, as LoadLlama2C does for a file (used for the tokenizer
// embedded in the binary).
func ParseLlama2C(data []byte, vocabSize int) (*Tokenizer, error) {
	t, err := parseLlama2C(data, vocabSize)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}
