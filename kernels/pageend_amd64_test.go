//go:build linux && !noasm

package kernels

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// pageEnd returns a writable region of n bytes that ends exactly where an
// inaccessible page begins, so that any access past its end faults.
func pageEnd(t *testing.T, n int) []byte {
	t.Helper()
	ps := syscall.Getpagesize()
	size := (n+ps-1)/ps*ps + ps
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[size-ps:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	return mem[size-ps-n : size-ps]
}

func f32At(b []byte) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

func u16At(b []byte) []uint16 {
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
}

// TestTailsAtPageEnd runs every amd64 body on inputs and outputs that end
// at an unmapped page, for the lengths whose tails go through masks or Go
// code: a body that loads or stores a full vector past the end crashes the
// test (the guard values of TestBodiesAgainstGeneric only catch writes).
func TestTailsAtPageEnd(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	withISA(t, func(t *testing.T, isa ISA) {
		for n := 1; n <= 40; n++ {
			x := f32At(pageEnd(t, 4*n))
			y := f32At(pageEnd(t, 4*n))
			w := f32At(pageEnd(t, 4*n))
			h := u16At(pageEnd(t, 2*n))
			for i := range x {
				x[i], y[i], w[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()), 1
				h[i] = f32ToF16(x[i])
			}
			Dot(x, y)
			Axpy(0.5, x, y)
			Scale(1.5, y)
			Add(y, x)
			Mul(y, w)
			RMSNorm(y, x, w, 1e-5)
			Softmax(y)
			SiLUMul(y, x)
			F16ToF32(y, h)
			BF16ToF32(y, h)
			F32ToF16(h, x)
			F32ToBF16(h, x)
			if n%2 == 0 {
				tab, _ := NewRoPETable(n, 2, 10000, AnglesGGML)
				RoPEInterleaved(y, tab, 1)
				RoPENeoX(y, tab, 1)
			}
			for _, f := range []*Format{formatF32, formatF16, formatBF16} {
				rows := 5
				data := pageEnd(t, rows*f.RowBytes(n))
				copy(data, randRows(rng, f, rows, n))
				dst := f32At(pageEnd(t, 4*rows))
				f.body.gemv(dst, data, f.RowBytes(n), x)
				f.Dot(data[(rows-1)*f.RowBytes(n):], x)
				f.Dequant(y, data[(rows-1)*f.RowBytes(n):])
			}
		}
		// GEMM packing and tiles against the page end: the last weight row,
		// the last activation row and the last output row end there.
		for _, f := range []*Format{formatF32, formatF16, formatBF16} {
			for _, sh := range [][3]int{{37, 29, 5}, {64, 256, 9}, {33, 1031, 15}} {
				rows, cols, n := sh[0], sh[1], sh[2]
				data := pageEnd(t, rows*f.RowBytes(cols))
				copy(data, randRows(rng, f, rows, cols))
				m := &Matrix{Format: f, Rows: rows, Cols: cols, Data: data}
				xs := f32At(pageEnd(t, 4*n*cols))
				copy(xs, randF32(rng, n*cols))
				dst := f32At(pageEnd(t, 4*n*rows))
				t.Run(fmt.Sprintf("%s/%dx%d/n=%d", f.Name, rows, cols, n), func(t *testing.T) {
					MatMul(nil, dst, m, xs, n)
				})
			}
		}
	})
}
