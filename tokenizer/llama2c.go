package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
)

// LoadLlama2C reads a llama2.c tokenizer.bin: int32 max_token_length, then
// for each token float32 score, int32 length and the piece bytes. The file
// does not store the token count, so vocabSize (from the model header) says
// how many to read; vocabSize <= 0 reads tokens up to the end of the file.
//
// llama2.c spells pieces with a literal space and wraps BOS and EOS in
// newlines ("\n<s>\n"); they are mapped back to SentencePiece conventions
// ("▁", "<s>", byte pieces "<0xXX>" typed as bytes), so encoding follows
// SentencePiece. BOS is 1, EOS 2 and <unk> 0 when those pieces are there.
func LoadLlama2C(path string, vocabSize int) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parseLlama2C(data, vocabSize)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

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

// parseLlama2C parses the bytes of a tokenizer.bin.
func parseLlama2C(data []byte, vocabSize int) (*Tokenizer, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("llama2.c tokenizer: %d bytes, too short for the header", len(data))
	}
	maxLen := int32(binary.LittleEndian.Uint32(data))
	if maxLen < 0 {
		return nil, fmt.Errorf("llama2.c tokenizer: max_token_length %d is negative", maxLen)
	}
	// Each token takes at least 8 bytes, which bounds any count we accept.
	room := (len(data) - 4) / 8
	if vocabSize > room {
		return nil, fmt.Errorf("llama2.c tokenizer: vocab size %d needs at least %d bytes, file has %d (too few tokens)", vocabSize, 4+8*vocabSize, len(data))
	}
	if vocabSize > maxPieces {
		return nil, fmt.Errorf("llama2.c tokenizer: vocab size %d above limit %d", vocabSize, maxPieces)
	}
	capacity := vocabSize
	if capacity <= 0 {
		capacity = min(room, maxPieces)
	}
	pieces := make([]string, 0, capacity)
	scores := make([]float32, 0, capacity)
	off := 4
	for i := 0; vocabSize <= 0 && off < len(data) || i < vocabSize; i++ {
		if len(data)-off < 8 {
			return nil, fmt.Errorf("llama2.c tokenizer: token %d: header at byte %d beyond end of file (%d bytes); too few tokens", i, off, len(data))
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int32(binary.LittleEndian.Uint32(data[off+4:]))
		off += 8
		if n < 0 || int64(n) > int64(len(data)-off) {
			return nil, fmt.Errorf("llama2.c tokenizer: token %d: length %d at byte %d exceeds the %d bytes left", i, n, off-4, len(data)-off)
		}
		if len(pieces) == maxPieces {
			return nil, fmt.Errorf("llama2.c tokenizer: more than %d tokens", maxPieces)
		}
		pieces = append(pieces, string(data[off:off+int(n)]))
		scores = append(scores, score)
		off += int(n)
	}
	v := vocab{
		pieces:       pieces,
		scores:       scores,
		types:        make([]Type, len(pieces)),
		unk:          -1,
		bos:          -1,
		eos:          -1,
		prefix:       prefixAlways,
		escapeSpaces: true,
	}
	for i, p := range pieces {
		switch p {
		case "\n<s>\n":
			p = "<s>"
		case "\n</s>\n":
			p = "</s>"
		default:
			p = strings.ReplaceAll(p, " ", spaceSymbol)
		}
		pieces[i] = p
		v.types[i] = inferType(p, false)
		switch {
		case v.types[i] == Byte:
			v.byteFallback = true
		case p == "<s>" && v.bos < 0:
			v.bos = i
		case p == "</s>" && v.eos < 0:
			v.eos = i
		}
	}
	v.addBOS = v.bos >= 0 // llama2.c's run.c encodes prompts with BOS
	t, err := build(v)
	if err != nil {
		return nil, fmt.Errorf("llama2.c tokenizer: %w", err)
	}
	return t, nil
}
