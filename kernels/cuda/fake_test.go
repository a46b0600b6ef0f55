package cuda

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"testing"
	"unsafe"

	"github.com/divergo/divergo/kernels"
)

// fakeDevice implements the C API of api.go in host memory: device
// allocations are Go byte slices, and the GEMMs compute cuBLAS's
// column-major definition in float64, checking every argument as cuBLAS
// documents it (leading dimensions, operand extents, types). The backend
// runs against it unchanged, so the row-major mapping, the weight cache,
// the conversions and the error paths are tested without a GPU.
type fakeDevice struct {
	t        *testing.T
	devices  int32
	countErr int32 // status of cudaGetDeviceCount
	major    int32
	capacity int64 // bytes of device memory

	allocs map[uintptr][]byte
	used   int64

	gemmStatus int32 // status every GEMM returns
	gemms      []fakeGemm
	copies     []fakeCopy
	frees      int
	syncs      int
}

type fakeGemm struct {
	ex                  bool
	args                gemmArgs
	atype, btype, ctype int32
	alpha, beta         float32
	a, b, c             uintptr
}

type fakeCopy struct {
	dst, src uintptr // device side; the other is 0
	bytes    int
}

func newFake(t *testing.T) *fakeDevice {
	return &fakeDevice{t: t, devices: 1, major: 9, capacity: 1 << 30, allocs: map[uintptr][]byte{}}
}

// mem returns the device bytes [ptr, ptr+n), failing the test when they
// are not inside one allocation.
func (f *fakeDevice) mem(ptr uintptr, n int) []byte {
	f.t.Helper()
	for base, b := range f.allocs {
		if ptr >= base && ptr-base+uintptr(n) <= uintptr(len(b)) {
			off := int(ptr - base)
			return b[off : off+n]
		}
	}
	f.t.Errorf("fake device: %d bytes at %#x are not inside an allocation", n, ptr)
	return nil
}

func (f *fakeDevice) api() *api {
	return &api{
		getDeviceCount: func(c *int32) int32 {
			*c = f.devices
			return f.countErr
		},
		setDevice: func(d int32) int32 {
			if d < 0 || d >= f.devices {
				return 101 // cudaErrorInvalidDevice
			}
			return 0
		},
		deviceGetAttribute: func(v *int32, attr, dev int32) int32 {
			switch attr {
			case cudaDevAttrComputeCapabilityMajor:
				*v = f.major
			case cudaDevAttrComputeCapabilityMinor:
				*v = 0
			case cudaDevAttrMultiProcessorCount:
				*v = 132
			default:
				return 1
			}
			return 0
		},
		memGetInfo: func(free, total *uintptr) int32 {
			*free, *total = uintptr(f.capacity-f.used), uintptr(f.capacity)
			return 0
		},
		malloc: func(p *uintptr, size uintptr) int32 {
			if f.used+int64(size) > f.capacity {
				return cudaErrorMemoryAllocation
			}
			b := make([]byte, size)
			*p = uintptr(unsafe.Pointer(&b[0]))
			f.allocs[*p] = b
			f.used += int64(size)
			return 0
		},
		free: func(p uintptr) int32 {
			b, ok := f.allocs[p]
			if !ok {
				f.t.Errorf("fake device: cudaFree(%#x) of no allocation", p)
				return 1
			}
			f.used -= int64(len(b))
			delete(f.allocs, p)
			f.frees++
			return 0
		},
		memcpyHtoD: func(dst uintptr, src unsafe.Pointer, n uintptr, kind int32) int32 {
			if kind != cudaMemcpyHostToDevice {
				f.t.Errorf("fake device: host-to-device copy of kind %d", kind)
			}
			copy(f.mem(dst, int(n)), unsafe.Slice((*byte)(src), n))
			f.copies = append(f.copies, fakeCopy{dst: dst, bytes: int(n)})
			return 0
		},
		memcpyDtoH: func(dst unsafe.Pointer, src uintptr, n uintptr, kind int32) int32 {
			if kind != cudaMemcpyDeviceToHost {
				f.t.Errorf("fake device: device-to-host copy of kind %d", kind)
			}
			copy(unsafe.Slice((*byte)(dst), n), f.mem(src, int(n)))
			f.copies = append(f.copies, fakeCopy{src: src, bytes: int(n)})
			return 0
		},
		synchronize:    func() int32 { f.syncs++; return 0 },
		errorString:    func(e int32) string { return fmt.Sprintf("fake error %d", e) },
		runtimeVersion: func(v *int32) int32 { *v = 12040; return 0 },
		driverVersion:  func(v *int32) int32 { *v = 12060; return 0 },
		create:         func(h *uintptr) int32 { *h = 0xcb; return 0 },
		destroy:        func(uintptr) int32 { return 0 },
		setMathMode: func(h uintptr, mode int32) int32 {
			if mode != cublasDefaultMath {
				f.t.Errorf("fake device: math mode %d", mode)
			}
			return 0
		},
		blasVersion: func(h uintptr, v *int32) int32 { *v = 120405; return 0 },
		sgemm: func(h uintptr, ta, tb, m, n, k int32, alpha *float32, a uintptr, lda int32,
			b uintptr, ldb int32, beta *float32, c uintptr, ldc int32) int32 {
			g := fakeGemm{args: gemmArgs{ta, tb, m, n, k, lda, ldb, ldc}, atype: cudaR32F, btype: cudaR32F,
				ctype: cudaR32F, alpha: *alpha, beta: *beta, a: a, b: b, c: c}
			return f.gemm(h, g)
		},
		gemmEx: func(h uintptr, ta, tb, m, n, k int32, alpha *float32, a uintptr, atype, lda int32,
			b uintptr, btype, ldb int32, beta *float32, c uintptr, ctype, ldc int32, compute, algo int32) int32 {
			if compute != cublasCompute32F || algo != cublasGemmDefault {
				f.t.Errorf("fake device: cublasGemmEx compute type %d, algo %d", compute, algo)
				return 7
			}
			g := fakeGemm{ex: true, args: gemmArgs{ta, tb, m, n, k, lda, ldb, ldc}, atype: atype, btype: btype,
				ctype: ctype, alpha: *alpha, beta: *beta, a: a, b: b, c: c}
			return f.gemm(h, g)
		},
		deviceName: func(int) string { return "Fake GPU" },
	}
}

// elemSize is the bytes of a cudaDataType the backend uses.
func elemSize(t int32) int {
	switch t {
	case cudaR32F:
		return 4
	case cudaR16F, cudaR16BF:
		return 2
	}
	return 0
}

func elem(b []byte, i int, t int32) float64 {
	switch t {
	case cudaR16F:
		return float64(kernels.HalfToFloat(binary.LittleEndian.Uint16(b[2*i:])))
	case cudaR16BF:
		return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
	}
	return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
}

// gemm is cuBLAS's definition: C = α·op(A)·op(B) + β·C, column-major,
// op(X) = X or Xᵀ, with C not read when β = 0.
func (f *fakeDevice) gemm(h uintptr, g fakeGemm) int32 {
	f.t.Helper()
	f.gemms = append(f.gemms, g)
	if f.gemmStatus != 0 {
		return f.gemmStatus
	}
	a := g.args
	bad := func(format string, v ...any) int32 {
		f.t.Errorf("fake device: GEMM "+format, v...)
		return 7 // CUBLAS_STATUS_INVALID_VALUE
	}
	switch {
	case h != 0xcb:
		return bad("with handle %#x", h)
	case a.transa != cublasOpN && a.transa != cublasOpT || a.transb != cublasOpN && a.transb != cublasOpT:
		return bad("transa %d, transb %d", a.transa, a.transb)
	case a.m < 0 || a.n < 0 || a.k < 0:
		return bad("m %d n %d k %d", a.m, a.n, a.k)
	case g.atype != g.btype || elemSize(g.atype) == 0 || g.ctype != cudaR32F:
		return bad("types A %d B %d C %d", g.atype, g.btype, g.ctype)
	}
	// op(A) is m×k: A is m×k (lda ≥ m) or k×m (lda ≥ k); op(B) is k×n.
	aRows, aCols := a.m, a.k
	if a.transa == cublasOpT {
		aRows, aCols = a.k, a.m
	}
	bRows, bCols := a.k, a.n
	if a.transb == cublasOpT {
		bRows, bCols = a.n, a.k
	}
	if a.lda < max(1, aRows) || a.ldb < max(1, bRows) || a.ldc < max(1, a.m) {
		return bad("lda %d (A %d×%d), ldb %d (B %d×%d), ldc %d (m %d)", a.lda, aRows, aCols, a.ldb, bRows, bCols, a.ldc, a.m)
	}
	extent := func(rows, cols, ld int32) int { return int((cols-1)*ld + rows) }
	es := elemSize(g.atype)
	A := f.mem(g.a, es*extent(aRows, aCols, a.lda))
	B := f.mem(g.b, es*extent(bRows, bCols, a.ldb))
	C := f.mem(g.c, 4*extent(a.m, a.n, a.ldc))
	if A == nil || B == nil || C == nil {
		return 7
	}
	for j := range int(a.n) {
		for i := range int(a.m) {
			var s float64
			for l := range int(a.k) {
				ai := i + l*int(a.lda)
				if a.transa == cublasOpT {
					ai = l + i*int(a.lda)
				}
				bi := l + j*int(a.ldb)
				if a.transb == cublasOpT {
					bi = j + l*int(a.ldb)
				}
				s += elem(A, ai, g.atype) * elem(B, bi, g.btype)
			}
			ci := i + j*int(a.ldc)
			v := float64(g.alpha) * s
			if g.beta != 0 {
				v += float64(g.beta) * elem(C, ci, cudaR32F)
			}
			binary.LittleEndian.PutUint32(C[4*ci:], math.Float32bits(float32(v)))
		}
	}
	return 0
}

// resident lists the sizes of the allocations, for messages.
func (f *fakeDevice) resident() []int {
	var s []int
	for _, b := range f.allocs {
		s = append(s, len(b))
	}
	sort.Ints(s)
	return s
}

// fakeBackend starts a backend on the fake device.
func fakeBackend(t *testing.T, f *fakeDevice, o Options) *Backend {
	t.Helper()
	if o.OnError == nil {
		o.OnError = func(err error) { t.Errorf("unexpected GPU failure: %v", err) }
	}
	b, err := newBackend(f.api(), []string{"libcudart.so.12", "libcublas.so.12"}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
