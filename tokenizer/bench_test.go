package tokenizer

import (
	"os"
	"testing"

	"github.com/divergo/divergo/internal/assets"
)

// BenchmarkEncodeWikitext encodes the 1.3 MB WikiText-2 test file as one
// string with the Llama-2 tokenizer; MB/s is the encoding speed.
func BenchmarkEncodeWikitext(b *testing.B) {
	tk, err := LoadSentencePiece(assets.Path(b, "tokenizers/llama2/tokenizer.model"))
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(assets.Path(b, "text/wikitext2_test_hfrows_crlf.raw"))
	if err != nil {
		b.Fatal(err)
	}
	text := string(data)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tk.Encode(text, true, false)
	}
}

func BenchmarkDecodeWikitext(b *testing.B) {
	tk, err := LoadSentencePiece(assets.Path(b, "tokenizers/llama2/tokenizer.model"))
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(assets.Path(b, "text/wikitext2_test_hfrows_crlf.raw"))
	if err != nil {
		b.Fatal(err)
	}
	ids := tk.Encode(string(data), true, false)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		tk.Decode(ids)
	}
}

func BenchmarkLoadSentencePiece(b *testing.B) {
	path := assets.Path(b, "tokenizers/llama2/tokenizer.model")
	for b.Loop() {
		if _, err := LoadSentencePiece(path); err != nil {
			b.Fatal(err)
		}
	}
}
