// Package safetensors reads, validates and writes Hugging Face safetensors
// files and sharded checkpoints (model.safetensors.index.json), with
// read-only mmap access to tensor bytes.
//
// Open maps a file and validates its whole header before returning: the
// header length against the file size (and MaxHeaderSize), the JSON
// (errors give the byte position), every dtype, shape (no negative
// dimension, no overflow), data range (inside the data section, exactly
// the size the shape needs) and that no two tensors' data overlap. Repeated
// names, which a plain JSON decoder would silently merge, are errors.
// Gaps between tensors and bytes after the last one are allowed (the
// reference implementation rejects them).
//
// Tensor data is returned as views into the mapping, valid until Close:
// Bytes for raw bytes, and F32, F16, BF16, I32, I8 and U8 as typed slices
// that share the mapping when the data is aligned for the type (and the
// machine is little-endian), or are decoded copies otherwise. ToFloat32
// converts F32, F16, BF16 and F64 tensors into a new slice.
//
// OpenCheckpoint gives one lookup over a model directory, an index file
// with its shards, or a single file. WriteFile, Encode and WriteSharded
// write files the reference implementation reads.
package safetensors
