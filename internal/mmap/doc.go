// Package mmap maps model files read-only for the file-format packages
// (gguf, safetensors, llama2c), falling back to reading them into memory
// where mapping is unavailable. It imports nothing of this module.
package mmap
