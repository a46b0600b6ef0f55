//go:build linux

package kernels

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// fenced returns n bytes that end where an inaccessible page begins
// (atEnd) or start where one ends (!atEnd), so that a body reading past its
// slice — as a weight row at the end of an mmap'ed file would invite —
// faults instead of reading a neighbour's bytes.
func fenced(t *testing.T, n int, atEnd bool) []byte {
	t.Helper()
	pg := syscall.Getpagesize()
	pages := (n+pg-1)/pg + 1
	mem, err := syscall.Mmap(-1, 0, (pages+1)*pg, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if atEnd {
		if err := syscall.Mprotect(mem[pages*pg:], syscall.PROT_NONE); err != nil {
			t.Skipf("mprotect: %v", err)
		}
		return mem[pages*pg-n : pages*pg : pages*pg]
	}
	if err := syscall.Mprotect(mem[:pg], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	return mem[pg : pg+n : pg+n]
}

func fencedF32(t *testing.T, n int, atEnd bool) []float32 {
	b := fenced(t, 4*n, atEnd)
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

// TestNoOverread runs every format body of every ISA with its weight rows,
// activations and quantized activations fenced by inaccessible pages on
// either side: a read past the end or before the start of any input faults.
func TestNoOverread(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	orig := CurrentISA()
	defer SetISA(orig)
	for _, f := range testFormats() {
		for _, n := range colsFor(f, true) {
			const rows, nt = 5, 3
			src := randRows(rng, f, rows, n)
			xs := randF32(rng, nt*n)
			rb := f.RowBytes(n)
			for _, atEnd := range []bool{true, false} {
				data := fenced(t, len(src), atEnd)
				copy(data, src)
				x := fencedF32(t, len(xs), atEnd)
				copy(x, xs)
				for _, isa := range Available() {
					SetISA(isa)
					id := fmt.Sprintf("%s %s n=%d atEnd=%v", isa, f.Name, n, atEnd)
					t.Run(id, func(t *testing.T) {
						dst := make([]float32, nt*rows)
						f.body.gemv(dst[:rows], data, rb, x[len(x)-n:])
						f.body.gemv(dst[:rows], data, rb, x[:n])
						out := make([]float32, n)
						f.Dequant(out, data[len(data)-rb:])
						if n > 0 {
							f.body.decode(out[:n-n/2], data[len(data)-rb:], n, n/2/max(1, f.Block)*max(1, f.Block))
						}
						if f.Act == nil {
							return
						}
						xb := f.Act.RowBytes(n)
						xq := fenced(t, nt*xb, atEnd)
						for tk := 0; tk < nt; tk++ {
							f.Act.Quantize(xq[tk*xb:(tk+1)*xb], x[tk*n:(tk+1)*n])
						}
						f.body.gemvAct(dst[:rows], data, rb, xq[len(xq)-xb:], n)
						f.body.gemvAct(dst[:rows], data, rb, xq[:xb], n)
						f.body.gemmAct(dst, rows, data, rb, rows, xq, xb, nt, n)
						_ = f.DotAct(data[len(data)-rb:], xq[len(xq)-xb:], n)
					})
				}
			}
		}
	}
}
