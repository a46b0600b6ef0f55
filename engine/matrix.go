package engine

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/divergo/divergo/kernels"
)

// f32Matrix wraps float32 values (rows × cols, row-major) as an f32 matrix
// sharing their memory.
func f32Matrix(rows, cols int, w []float32) *kernels.Matrix {
	return &kernels.Matrix{Format: mustFormat("f32"), Rows: rows, Cols: cols, Data: f32Bytes(w)}
}

// f32Bytes views float32 values as their little-endian bytes (no copy).
func f32Bytes(w []float32) []byte {
	if len(w) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), 4*len(w))
}

func putF32(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) }
