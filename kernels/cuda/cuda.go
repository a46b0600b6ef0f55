package cuda

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"weak"

	"github.com/divergo/divergo/kernels"
)

// DefaultMinWork is the fewest multiply-adds (n·Rows·Cols) of a product the
// backend takes by default. Below it the fixed cost of a GPU product —
// a few copies and a launch, tens of microseconds — exceeds what the CPU
// needs for the whole product.
const DefaultMinWork = 1 << 22

// Options configure Open. The zero value is the default.
type Options struct {
	// LibDir lists directories, separated by colons, searched first for the
	// libraries (default: the DIVERGO_CUDA_LIB_DIR environment variable).
	// pip's wheels put the runtime and cuBLAS in two directories.
	LibDir string
	// Device is the CUDA device ordinal.
	Device int
	// MinWork is the fewest multiply-adds a product needs to be taken
	// (0: the DIVERGO_CUDA_MIN_WORK environment variable, else
	// DefaultMinWork; negative: every product MatMul offers).
	MinWork int
	// FastActivations rounds activations to the weights' 16-bit type in one
	// term. By default they are split in two (x = hi + lo, two GEMMs into
	// the same float32 result), which keeps about 22 bits of each
	// activation (16 for bf16) instead of 11 (8), for twice the GEMM work.
	// Float32 weights always run with float32 activations.
	FastActivations bool
	// OnError is told, once, of a GPU failure after which the backend
	// declines everything (the CPU computes the products). Default: one
	// line on standard error.
	OnError func(error)
}

// A Device describes the GPU a Backend runs on.
type Device struct {
	Ordinal         int
	Name            string
	Major, Minor    int // compute capability
	Multiprocessors int
	MemoryBytes     int64
	// Runtime, Driver and CUBLAS are the versions as the libraries report
	// them (12040 is CUDA 12.4; cuBLAS 120405 is 12.4.5).
	Runtime, Driver, CUBLAS int
	// Libraries are the paths (or sonames, when the dynamic loader found
	// them) of the CUDA runtime and cuBLAS.
	Libraries []string
}

// String describes the device in one line.
func (d Device) String() string {
	return fmt.Sprintf("%s (device %d, sm_%d%d, %d SMs, %.1f GiB), CUDA runtime %s, driver %s, cuBLAS %d, from %s",
		d.Name, d.Ordinal, d.Major, d.Minor, d.Multiprocessors, float64(d.MemoryBytes)/(1<<30),
		cudaVersion(d.Runtime), cudaVersion(d.Driver), d.CUBLAS, strings.Join(d.Libraries, " and "))
}

func cudaVersion(v int) string { return fmt.Sprintf("%d.%d", v/1000, v%1000/10) }

// Stats count what a Backend has done.
type Stats struct {
	// Products is the number of products computed on the GPU; Declined
	// the number offered and left to the CPU (too small, W·A8, an
	// activation beyond float16, a matrix too large for the device).
	Products, Declined int64
	// Uploads and UploadedBytes count weight matrices copied to the device
	// (once each while they stay there); Evictions those dropped to make
	// room or because their matrix was gone.
	Uploads, Evictions int64
	UploadedBytes      int64
	// Resident is the number of matrices on the device and ResidentBytes
	// their size.
	Resident      int
	ResidentBytes int64
}

// A Backend computes matrix products on one GPU with cuBLAS: it implements
// kernels.Backend (install it with kernels.SetBackend). Weights are copied
// to the device on first use and kept there while their *kernels.Matrix is
// reachable and room allows: float32, float16 and bfloat16 as stored,
// every other format decoded and stored as float16 (float32 if a value is
// beyond float16's range). Products run in cuBLAS with float32
// accumulation (CUBLAS_COMPUTE_32F; no TF32 for float32 weights). A Backend
// is safe for concurrent use; products run one at a time.
type Backend struct {
	mu      sync.Mutex
	api     *api
	dev     Device
	handle  uintptr
	minWork int64
	terms   int // activation terms for 16-bit weights
	onError func(error)
	err     error // set once a failure disabled the backend

	cache map[weak.Pointer[kernels.Matrix]]*entry
	clock uint64 // advanced by every product; entry.used is its value then
	stats Stats

	x        [2]devBuf // activation terms
	c        devBuf    // float32 result
	lastX    []byte    // the activations now in x (host copy), for reuse
	lastType dtype
	xValid   bool
	host     hostBufs
}

// Open loads the CUDA runtime and cuBLAS, selects the device and creates a
// cuBLAS handle. Without the libraries or a GPU it fails with one line
// saying what was looked for and where.
func Open(o Options) (*Backend, error) {
	if o.LibDir == "" {
		o.LibDir = os.Getenv("DIVERGO_CUDA_LIB_DIR")
	}
	if v := os.Getenv("DIVERGO_CUDA_MIN_WORK"); o.MinWork == 0 && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("cuda: DIVERGO_CUDA_MIN_WORK=%q is not a number of multiply-adds", v)
		}
		o.MinWork = int(max(n, 1))
	}
	a, libs, err := loadAPI(o.LibDir)
	if err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	return newBackend(a, libs, o)
}

// newBackend starts a backend on a loaded API (the real one or a test's).
func newBackend(a *api, libs []string, o Options) (*Backend, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fail := func(err error) (*Backend, error) {
		return nil, fmt.Errorf("cuda: loaded %s, but %w", strings.Join(libs, " and "), err)
	}
	var count int32
	if st := a.getDeviceCount(&count); st != cudaSuccess {
		return fail(a.cudaError("cudaGetDeviceCount", st))
	}
	if count == 0 {
		return fail(errors.New("cudaGetDeviceCount: no CUDA device"))
	}
	if o.Device < 0 || o.Device >= int(count) {
		return fail(fmt.Errorf("device %d requested; %d present", o.Device, count))
	}
	if st := a.setDevice(int32(o.Device)); st != cudaSuccess {
		return fail(a.cudaError("cudaSetDevice", st))
	}
	d := Device{Ordinal: o.Device, Libraries: libs}
	for _, q := range []struct {
		attr int32
		dst  *int
	}{
		{cudaDevAttrComputeCapabilityMajor, &d.Major},
		{cudaDevAttrComputeCapabilityMinor, &d.Minor},
		{cudaDevAttrMultiProcessorCount, &d.Multiprocessors},
	} {
		var v int32
		if st := a.deviceGetAttribute(&v, q.attr, int32(o.Device)); st != cudaSuccess {
			return fail(a.cudaError("cudaDeviceGetAttribute", st))
		}
		*q.dst = int(v)
	}
	var free, total uintptr
	if st := a.memGetInfo(&free, &total); st != cudaSuccess {
		return fail(a.cudaError("cudaMemGetInfo", st))
	}
	d.MemoryBytes = int64(total)
	var v int32
	if a.runtimeVersion(&v) == cudaSuccess {
		d.Runtime = int(v)
	}
	if a.driverVersion(&v) == cudaSuccess {
		d.Driver = int(v)
	}
	if a.deviceName != nil {
		d.Name = a.deviceName(o.Device)
	}
	if d.Name == "" {
		d.Name = fmt.Sprintf("CUDA device %d", o.Device)
	}
	b := &Backend{api: a, dev: d, cache: map[weak.Pointer[kernels.Matrix]]*entry{}, terms: 2, onError: o.OnError}
	if st := a.create(&b.handle); st != cublasStatusSuccess {
		return fail(cublasError("cublasCreate_v2", st))
	}
	if st := a.setMathMode(b.handle, cublasDefaultMath); st != cublasStatusSuccess {
		a.destroy(b.handle)
		return fail(cublasError("cublasSetMathMode", st))
	}
	if a.blasVersion(b.handle, &v) == cublasStatusSuccess {
		b.dev.CUBLAS = int(v)
	}
	switch {
	case o.MinWork == 0:
		b.minWork = DefaultMinWork
	case o.MinWork > 0:
		b.minWork = int64(o.MinWork)
	}
	if o.FastActivations {
		b.terms = 1
	}
	if b.onError == nil {
		b.onError = func(err error) {
			fmt.Fprintf(os.Stderr, "divergo: %v; the CPU computes every product from here on\n", err)
		}
	}
	return b, nil
}

// Device describes the GPU.
func (b *Backend) Device() Device { return b.dev }

// String describes the GPU in one line.
func (b *Backend) String() string { return b.dev.String() }

// Err returns the failure that disabled the backend, or nil.
func (b *Backend) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Stats returns the counts so far.
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Resident, s.ResidentBytes = 0, 0
	for _, e := range b.cache {
		if e.ptr != 0 {
			s.Resident++
			s.ResidentBytes += e.bytes
		}
	}
	return s
}

// Close frees the device memory and the cuBLAS handle. Remove the backend
// from kernels (kernels.SetBackend) first; it declines every product after
// Close.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.handle == 0 {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.api.setDevice(int32(b.dev.Ordinal))
	for k, e := range b.cache {
		b.drop(k, e)
	}
	for i := range b.x {
		b.x[i].release(b.api)
	}
	b.c.release(b.api)
	st := b.api.destroy(b.handle)
	b.handle = 0
	if b.err == nil {
		b.err = errors.New("cuda: backend closed")
	}
	if st != cublasStatusSuccess {
		return cublasError("cublasDestroy_v2", st)
	}
	return nil
}

// fail disables the backend after a GPU failure and reports it once.
func (b *Backend) fail(err error) {
	if b.err != nil {
		return
	}
	b.err = fmt.Errorf("cuda: %s: %w", b.dev.Name, err)
	b.xValid = false
	b.onError(b.err)
}

// MatMul computes dst = x·Wᵀ for n rows on the GPU, as kernels.MatMul
// does, and reports true; it reports false for what it leaves to the CPU:
// products of fewer than Options.MinWork multiply-adds, W·A8 matrices
// (their integer arithmetic is the CPU's), float16 activations beyond
// ±65504, matrices that do not fit on the device, and everything once a
// GPU failure disabled the backend.
func (b *Backend) MatMul(p *kernels.Pool, dst []float32, w *kernels.Matrix, x []float32, n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.takes(w, n) {
		b.stats.Declined++
		return false
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if st := b.api.setDevice(int32(b.dev.Ordinal)); st != cudaSuccess {
		b.fail(b.api.cudaError("cudaSetDevice", st))
		return false
	}
	b.clock++
	// w stays reachable until the product is done: its device copy is
	// freed once the matrix is collected.
	defer runtime.KeepAlive(w)
	e, err := b.weight(p, w)
	if err == nil && e.ptr != 0 {
		var ok bool
		if ok, err = b.product(p, dst, e, x, n); ok && err == nil {
			b.stats.Products++
			return true
		}
	}
	if err != nil {
		b.fail(err)
	}
	b.stats.Declined++
	return false
}

// takes reports whether the product is one the backend runs.
func (b *Backend) takes(w *kernels.Matrix, n int) bool {
	if b.err != nil || b.handle == 0 || n < 2 {
		return false
	}
	if w.A8 && w.Format.Act != nil {
		return false
	}
	if n > math.MaxInt32 || w.Rows > math.MaxInt32 || w.Cols > math.MaxInt32 {
		return false
	}
	return float64(n)*float64(w.Rows)*float64(w.Cols) >= float64(b.minWork)
}
