// Package bench measures kernel and model throughput and writes the
// results as Markdown or JSON tables.
//
// Run measures, for each Shape (stories110m, tinyllama-1.1b), DType
// ("f16", "q8_0:a8", "q4_k" …), ISA path and thread count:
//   - kernel rows: GEMM GFLOP/s with Options.Prompt activation rows and
//     GEMV GB/s (cycling through at least Options.GEMVBytes of weights so
//     that it reads DRAM), on the shape's MLP matrices;
//   - end-to-end rows as llama-bench defines them: ppN, one forward pass of
//     N tokens from an empty cache with logits for the last one, and tgN, N
//     single-token decodes from an empty cache; tokens/s.
//
// Every row is the mean ± sample standard deviation of Options.Reps timed
// repetitions after one warm-up (llama-bench's -r), printed beside its share
// of the machine limit that bounds it (Limits, ENGINE-NOTES §5) and
// llama.cpp's figure for the same test where one was measured (ENGINE-NOTES
// §1.5).
//
// Models are built in memory with random weights (NewModel): speed depends
// on the shape and the formats, not on the values. One shape's float32
// model is held at a time, plus the converted copy being measured.
package bench
