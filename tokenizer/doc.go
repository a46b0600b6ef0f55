// Package tokenizer implements Llama SentencePiece BPE tokenization loaded
// from tokenizer.model, tokenizer.json, GGUF vocab metadata or llama2.c
// tokenizer.bin, with ids identical to SentencePiece.
//
// Every loader produces the same [Tokenizer]: a vocabulary of pieces in
// SentencePiece conventions (U+2581 "▁" for a space, byte pieces "<0xXX>",
// control pieces "<s>" and "</s>") and one encoder that reproduces
// SentencePiece's BPE model: identity normalization, a dummy "▁" prefix,
// spaces escaped as "▁", merges by highest piece score with ties going to the
// leftmost pair, user-defined pieces matched first, and characters outside the
// vocabulary emitted as UTF-8 byte pieces (byte fallback) or as one <unk> per
// run of unknown characters.
//
// A Tokenizer is immutable after loading and safe for concurrent use.
package tokenizer
