package cuda

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"unsafe"
	"weak"

	"github.com/divergo/divergo/kernels"
)

// A dtype is how values are stored on the device.
type dtype int8

const (
	devF32 dtype = iota
	devF16
	devBF16
)

func (t dtype) size() int {
	if t == devF32 {
		return 4
	}
	return 2
}

// cudaType is the cudaDataType of t (library_types.h).
func (t dtype) cudaType() int32 {
	switch t {
	case devF16:
		return cudaR16F
	case devBF16:
		return cudaR16BF
	}
	return cudaR32F
}

func (t dtype) String() string { return [...]string{"f32", "f16", "bf16"}[t] }

// An entry is one weight matrix on the device.
type entry struct {
	// What the copy was made from: a *Matrix whose fields change is
	// uploaded again.
	format     *kernels.Format
	rows, cols int
	data       uintptr // address of the host bytes (identity only)
	dataLen    int

	typ   dtype
	ptr   uintptr // device memory; 0 when the matrix did not fit
	bytes int64
	used  uint64 // Backend.clock at the last use
}

func dataAddr(w *kernels.Matrix) uintptr {
	if len(w.Data) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&w.Data[0]))
}

func (e *entry) matches(w *kernels.Matrix) bool {
	return e.format == w.Format && e.rows == w.Rows && e.cols == w.Cols &&
		e.data == dataAddr(w) && e.dataLen == len(w.Data)
}

// deviceType is how a matrix of format f is kept on the device.
func (b *Backend) deviceType(f *kernels.Format) dtype {
	switch f.Name {
	case "f32":
		return devF32
	case "f16":
		return devF16
	case "bf16":
		if b.dev.Major >= 8 { // bfloat16 GEMMs need Ampere or later
			return devBF16
		}
		return devF32
	}
	return devF16
}

// weight returns w's device copy, uploading it on first use. The cache is
// keyed by the *Matrix (weakly: a matrix that is no longer reachable
// frees its copy at the next upload), so every model variant sharing a
// matrix shares its copy, and a matrix whose fields were changed is
// uploaded again. An entry with ptr 0 is a matrix the device has no room
// for.
func (b *Backend) weight(p *kernels.Pool, w *kernels.Matrix) (*entry, error) {
	k := weak.Make(w)
	if e := b.cache[k]; e != nil {
		if e.matches(w) {
			e.used = b.clock
			return e, nil
		}
		b.drop(k, e)
	}
	b.sweep()
	e, err := b.upload(p, w)
	if err != nil {
		return nil, err
	}
	e.used = b.clock
	b.cache[k] = e
	return e, nil
}

// drop frees an entry.
func (b *Backend) drop(k weak.Pointer[kernels.Matrix], e *entry) {
	if e.ptr != 0 {
		b.api.free(e.ptr)
		b.stats.Evictions++
	}
	delete(b.cache, k)
}

// sweep frees the copies of matrices that are gone.
func (b *Backend) sweep() {
	for k, e := range b.cache {
		if k.Value() == nil {
			b.drop(k, e)
		}
	}
}

// errNoRoom is a device allocation that failed even after eviction.
var errNoRoom = errors.New("out of device memory")

// alloc allocates device memory, making room when the device is full:
// first by freeing the copies of matrices that are gone (after a garbage
// collection finds them), then the least recently used ones not used by
// the product in progress.
func (b *Backend) alloc(bytes int64) (uintptr, error) {
	if bytes <= 0 {
		bytes = 1
	}
	try := func() (uintptr, error) {
		var ptr uintptr
		switch st := b.api.malloc(&ptr, uintptr(bytes)); st {
		case cudaSuccess:
			return ptr, nil
		case cudaErrorMemoryAllocation:
			return 0, errNoRoom
		default:
			return 0, b.api.cudaError(fmt.Sprintf("cudaMalloc(%d bytes)", bytes), st)
		}
	}
	ptr, err := try()
	if err != errNoRoom {
		return ptr, err
	}
	runtime.GC()
	b.sweep()
	// Evict only when that can make room: a matrix larger than the free
	// memory and every evictable copy together stays on the CPU without
	// emptying the cache.
	var free, total uintptr
	if st := b.api.memGetInfo(&free, &total); st == cudaSuccess {
		room := int64(free)
		for _, e := range b.cache {
			if e.ptr != 0 && e.used != b.clock {
				room += e.bytes
			}
		}
		if room < bytes {
			return 0, errNoRoom
		}
	}
	for {
		if ptr, err = try(); err != errNoRoom {
			return ptr, err
		}
		var lru *entry
		var lruKey weak.Pointer[kernels.Matrix]
		for k, e := range b.cache {
			if e.ptr != 0 && e.used != b.clock && (lru == nil || e.used < lru.used) {
				lru, lruKey = e, k
			}
		}
		if lru == nil {
			return 0, errNoRoom
		}
		b.drop(lruKey, lru)
	}
}

// stagingBytes is the host buffer through which converted weights are
// copied to the device, a slice of rows at a time (tests make it small to
// cross slice boundaries).
var stagingBytes = 32 << 20

// upload copies w to the device in its device type. Matrices stored as
// f32, f16 or bf16 on the device go as they are; the others are decoded
// with the format's Dequant and rounded with kernels.F32ToF16, row by
// row, in parallel on p. If a decoded value overflows float16 the matrix
// is stored as float32 instead.
func (b *Backend) upload(p *kernels.Pool, w *kernels.Matrix) (*entry, error) {
	e := &entry{format: w.Format, rows: w.Rows, cols: w.Cols, data: dataAddr(w), dataLen: len(w.Data),
		typ: b.deviceType(w.Format)}
	for {
		e.bytes = int64(w.Rows) * int64(w.Cols) * int64(e.typ.size())
		ptr, err := b.alloc(e.bytes)
		if err == errNoRoom {
			return e, nil // ptr 0: the CPU runs this matrix
		}
		if err != nil {
			return nil, err
		}
		e.ptr = ptr
		overflow, err := b.copyWeights(p, e, w)
		if err != nil {
			b.api.free(ptr)
			return nil, err
		}
		if !overflow {
			b.stats.Uploads++
			b.stats.UploadedBytes += e.bytes
			return e, nil
		}
		b.api.free(ptr)
		e.ptr, e.typ = 0, devF32
	}
}

// raw reports whether w's bytes are already the device type's.
func raw(w *kernels.Matrix, t dtype) bool {
	switch w.Format.Name {
	case "f32":
		return t == devF32
	case "f16":
		return t == devF16
	case "bf16":
		return t == devBF16
	}
	return false
}

// copyWeights fills e's device memory from w, reporting whether a value
// overflowed float16 (nothing useful was copied then).
func (b *Backend) copyWeights(p *kernels.Pool, e *entry, w *kernels.Matrix) (overflow bool, err error) {
	if e.bytes == 0 {
		return false, nil
	}
	if raw(w, e.typ) {
		return false, b.htod(e.ptr, unsafe.Pointer(&w.Data[0]), e.bytes)
	}
	rowBytes := w.Cols * e.typ.size()
	slice := max(1, stagingBytes/rowBytes) // rows per copy
	stage := b.host.staging(min(slice, w.Rows) * rowBytes)
	for r0 := 0; r0 < w.Rows; r0 += slice {
		r1 := min(w.Rows, r0+slice)
		if convertRows(p, stage[:(r1-r0)*rowBytes], w, r0, r1, e.typ) {
			return true, nil
		}
		if err := b.htod(e.ptr+uintptr(r0*rowBytes), unsafe.Pointer(&stage[0]), int64((r1-r0)*rowBytes)); err != nil {
			return false, err
		}
	}
	return false, nil
}

// convertRows decodes rows [r0, r1) of w into dst in type t (f32 or f16),
// in parallel, and reports whether a finite value overflowed float16.
func convertRows(p *kernels.Pool, dst []byte, w *kernels.Matrix, r0, r1 int, t dtype) (overflow bool) {
	K, rb := w.Cols, w.RowBytes()
	const rowsPerTask = 16
	var over atomic.Bool
	p.Run((r1-r0+rowsPerTask-1)/rowsPerTask, func(_, task int) {
		tmp := make([]float32, K)
		for r := r0 + task*rowsPerTask; r < min(r1, r0+(task+1)*rowsPerTask); r++ {
			w.Format.Dequant(tmp, w.Data[r*rb:(r+1)*rb])
			out := dst[(r-r0)*K*t.size() : (r-r0+1)*K*t.size()]
			if t == devF32 {
				copy(out, unsafe.Slice((*byte)(unsafe.Pointer(&tmp[0])), 4*K))
				continue
			}
			h := unsafe.Slice((*uint16)(unsafe.Pointer(&out[0])), K)
			kernels.F32ToF16(h, tmp)
			if halfOverflow(h, tmp) {
				over.Store(true)
				return
			}
		}
	})
	return over.Load()
}

// halfOverflow reports whether a finite value of src became ±Inf in h.
func halfOverflow(h []uint16, src []float32) bool {
	for i, v := range h {
		if v&0x7fff == 0x7c00 && !math.IsInf(float64(src[i]), 0) {
			return true
		}
	}
	return false
}

// htod copies host memory to the device.
func (b *Backend) htod(dst uintptr, src unsafe.Pointer, bytes int64) error {
	if st := b.api.memcpyHtoD(dst, src, uintptr(bytes), cudaMemcpyHostToDevice); st != cudaSuccess {
		return b.api.cudaError(fmt.Sprintf("cudaMemcpy(host to device, %d bytes)", bytes), st)
	}
	return nil
}

// A devBuf is a device buffer that grows as needed.
type devBuf struct {
	ptr   uintptr
	bytes int64
}

// ensure makes d hold at least bytes, reporting whether it moved.
func (d *devBuf) ensure(b *Backend, bytes int64) (moved bool, err error) {
	if d.bytes >= bytes {
		return false, nil
	}
	d.release(b.api)
	ptr, err := b.alloc(bytes)
	if err != nil {
		return true, err
	}
	d.ptr, d.bytes = ptr, bytes
	return true, nil
}

func (d *devBuf) release(a *api) {
	if d.ptr != 0 {
		a.free(d.ptr)
	}
	d.ptr, d.bytes = 0, 0
}

// hostBufs are the host buffers the backend reuses, 4-byte aligned.
type hostBufs struct {
	stage []uint32
	act   [2][]uint32
	tmp   [][]float32 // per worker
}

func (h *hostBufs) staging(bytes int) []byte { return grow(&h.stage, bytes) }

// grow returns a byte view of at least bytes of *s, growing it.
func grow(s *[]uint32, bytes int) []byte {
	if n := (bytes + 3) / 4; cap(*s) < n {
		*s = make([]uint32, n)
	}
	*s = (*s)[:cap(*s)]
	if len(*s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&(*s)[0])), bytes)
}
