// Package safetensors reads, validates and writes Hugging Face safetensors
// files and sharded checkpoints (model.safetensors.index.json), with
// read-only mmap access to tensor bytes.
package safetensors
