// Package gguf reads and writes GGUF v2/v3 files: metadata, tensor infos,
// alignment, the ggml type enum, and raw tensor bytes through mmap.
package gguf
