// Package gguf reads and writes GGUF v2/v3 files: metadata, tensor infos,
// alignment, the ggml type enum, and raw tensor bytes through mmap.
//
// Open maps a file read-only and validates all of it before returning:
// every length and count is checked against the bytes that remain before
// anything is allocated, every tensor must have a known ggml type, whole
// blocks per row, an aligned offset, data inside the file and no overlap
// with another tensor's. TensorData then hands out views into the mapping
// without copying. ParseBytes does the same for a file in memory.
//
// Choices where the specification or llama.cpp leave room:
//   - Little-endian files only; a version that reads byte-swapped is
//     reported as a big-endian file. Version 1 is not supported.
//   - general.alignment must be a u32 power of two (llama.cpp's rule; the
//     specification also asks for a multiple of 8).
//   - Tensors may have zero dimensions (one value) and dimensions of 0
//     (no data), as llama.cpp allows; they may appear in any order in the
//     data section, which llama.cpp does not allow, as long as they do not
//     overlap.
//   - Tensor names up to 65535 bytes are read; the writer refuses names
//     longer than 63 bytes, which llama.cpp cannot load.
//   - Duplicate keys and duplicate tensor names are errors.
//   - Arrays may nest up to MaxArrayDepth levels.
//   - A file without tensors may end right after its last metadata pair,
//     with no padding; File.DataOffset may then lie past the end of the file.
//
// Type names follow ggml_type_name: lower case except the K of the
// k-quants ("q4_0", "q4_K", "bf16"); ParseType accepts any case.
package gguf
