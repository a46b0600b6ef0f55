package kernels

// A Format describes how one weight row is stored and how the kernels use it:
// a row of n values is a sequence of blocks, each holding Block values in
// BlockBytes bytes (the last block of a row may be shorter for the int
// formats, see IntFormat). Adding a format is adding a Format value to the
// table, not a switch at call sites (STYLE.md, the ggml paragraph).
//
// Every function field has a plain-Go reference body; the ISA-specific
// bodies replace them when dispatch selects an assembly path.
type Format struct {
	// Name is the spec name: "f32", "f16", "bf16", "q8_0", "q4_k", "int4:g128", "int8:asym" …
	Name string
	// GGML is the ggml type id (ggml.h enum ggml_type), or -1 for divergo's own int formats.
	GGML int
	// Block is the number of values per block (1 for f32/f16/bf16, the group size G for int formats).
	Block int
	// BlockBytes is the size in bytes of one full block.
	BlockBytes int
	// Bits is the nominal storage cost in bits per weight including scales (e.g. 4.5 for q4_0).
	Bits float64

	// RowBytes returns the bytes of one row of n values (n must be valid for the format).
	RowBytes func(n int) int
	// Dequant writes len(dst) values decoded from the row src.
	Dequant func(dst []float32, src []byte)
	// Dot returns Σ_i w_i·x_i for the row w and float32 activations x (n = len(x)).
	Dot func(w []byte, x []float32) float32

	// Act is the activation format used in W·A8 mode (nil for f32/f16/bf16,
	// which always run with float32 activations).
	Act *ActFormat
	// DotAct returns Σ_i w_i·x_i for the row w and the row xq of n activations
	// quantized with Act.Quantize.
	DotAct func(w []byte, xq []byte, n int) float32
}

// An ActFormat is the run-time int8 quantization of activation rows used by
// W·A8 execution (ggml's vec_dot_type: q8_0, q8_1, q8_K, or the per-group int8
// of the int formats).
type ActFormat struct {
	Name string
	// RowBytes returns the bytes of one quantized row of n values.
	RowBytes func(n int) int
	// Quantize writes the quantized form of x into dst (len(dst) >= RowBytes(len(x))).
	Quantize func(dst []byte, x []float32)
}

// A Matrix is a weight matrix W of Rows×Cols stored row-major in Format:
// row r occupies Data[r*RowBytes : (r+1)*RowBytes]. Products compute x·Wᵀ,
// i.e. each output feature r is the dot of row r with an input row.
type Matrix struct {
	Format     *Format
	Rows, Cols int
	Data       []byte
	// A8 selects W·A8 execution: activations are quantized with Format.Act
	// before the product (ignored for formats without Act).
	A8 bool
}
