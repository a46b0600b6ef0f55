// Package tokenizer implements Llama SentencePiece BPE tokenization loaded
// from tokenizer.model, tokenizer.json, GGUF vocab metadata or llama2.c
// tokenizer.bin, with ids identical to SentencePiece.
package tokenizer
