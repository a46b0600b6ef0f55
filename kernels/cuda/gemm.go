package cuda

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/divergo/divergo/kernels"
)

// gemmArgs are the shape arguments of cuBLAS's column-major GEMM
// C (m×n) = op(A) (m×k) · op(B) (k×n).
type gemmArgs struct {
	transa, transb int32
	m, n, k        int32
	lda, ldb, ldc  int32
}

// rowMajor maps kernels.MatMul's row-major product dst (n×R) = x (n×K) ·
// Wᵀ, with W stored R×K row-major, onto cuBLAS's column-major GEMM. Bytes
// of a row-major matrix read column-major are its transpose, so the
// product computed is dstᵀ (R×n, column-major, ldc R: dst's own bytes) =
// W · xᵀ, with A = W's bytes (K×R column-major, lda K) transposed and B =
// x's bytes (K×n column-major, ldb K) as they are — the "TN" GEMM of every
// linear layer.
func rowMajor(rows, cols, n int) gemmArgs {
	return gemmArgs{
		transa: cublasOpT, transb: cublasOpN,
		m: int32(rows), n: int32(n), k: int32(cols),
		lda: int32(cols), ldb: int32(cols), ldc: int32(rows),
	}
}

// product computes dst = x·Wᵀ with the weights of e on the device. It
// reports false, without error, for what it leaves to the CPU.
func (b *Backend) product(p *kernels.Pool, dst []float32, e *entry, x []float32, n int) (bool, error) {
	terms := b.termsFor(e.typ)
	if ok, err := b.buffers(e, n, terms); !ok || err != nil {
		return false, err
	}
	if !b.sameX(x, e.typ, terms) {
		if ok, err := b.putActivations(p, x, n, e.cols, e.typ, terms); !ok || err != nil {
			return false, err // !ok: beyond float16, the CPU computes it
		}
		b.lastX = append(b.lastX[:0], f32Bytes(x)...)
		b.lastType, b.xValid = e.typ, true
	}
	if err := b.gemm(e, n, terms); err != nil {
		return false, err
	}
	bytes := int64(n) * int64(e.rows) * 4
	if st := b.api.memcpyDtoH(unsafe.Pointer(&dst[0]), b.c.ptr, uintptr(bytes), cudaMemcpyDeviceToHost); st != cudaSuccess {
		return false, b.api.cudaError(fmt.Sprintf("cudaMemcpy(device to host, %d bytes)", bytes), st)
	}
	return true, nil
}

func (b *Backend) termsFor(t dtype) int {
	if t == devF32 {
		return 1
	}
	return b.terms
}

// buffers makes the activation and result buffers large enough for n rows
// of e; false without error when the device has no room.
func (b *Backend) buffers(e *entry, n, terms int) (bool, error) {
	for i := range terms {
		moved, err := b.x[i].ensure(b, int64(n)*int64(e.cols)*int64(e.typ.size()))
		if moved {
			b.xValid = false
		}
		if err != nil {
			return false, noRoomIsNotAnError(err)
		}
	}
	_, err := b.c.ensure(b, int64(n)*int64(e.rows)*4)
	if err != nil {
		return false, noRoomIsNotAnError(err)
	}
	return true, nil
}

func noRoomIsNotAnError(err error) error {
	if errors.Is(err, errNoRoom) {
		return nil
	}
	return err
}

// sameX reports whether the device already holds x as activations of type
// t: q, k and v (and gate and up) multiply the same rows.
func (b *Backend) sameX(x []float32, t dtype, terms int) bool {
	return b.xValid && b.lastType == t && terms == b.termsFor(t) && bytes.Equal(b.lastX, f32Bytes(x))
}

func f32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}

// putActivations converts the n×K activations to type t in terms terms
// (hi, and lo = x − hi) and copies them to the device. It reports false if
// a finite activation overflows t.
func (b *Backend) putActivations(p *kernels.Pool, x []float32, n, K int, t dtype, terms int) (bool, error) {
	b.xValid = false
	size := int64(n) * int64(K) * int64(t.size())
	if t == devF32 {
		return true, b.htod(b.x[0].ptr, unsafe.Pointer(&x[0]), size)
	}
	var h [2][]uint16
	for i := range terms {
		buf := grow(&b.host.act[i], int(size))
		h[i] = unsafe.Slice((*uint16)(unsafe.Pointer(&buf[0])), n*K)
	}
	if len(b.host.tmp) < p.Threads() {
		b.host.tmp = make([][]float32, p.Threads())
	}
	rowsPerTask := max(1, (1<<16)/max(1, K))
	var over atomic.Bool
	p.Run((n+rowsPerTask-1)/rowsPerTask, func(worker, task int) {
		if len(b.host.tmp[worker]) < K {
			b.host.tmp[worker] = make([]float32, K)
		}
		tmp := b.host.tmp[worker][:K]
		for r := task * rowsPerTask; r < min(n, (task+1)*rowsPerTask); r++ {
			xr := x[r*K : (r+1)*K]
			hi := h[0][r*K : (r+1)*K]
			if splitRow(hi, h[1], r*K, xr, tmp, t, terms) {
				over.Store(true)
			}
		}
	})
	if over.Load() {
		return false, nil
	}
	for i := range terms {
		if err := b.htod(b.x[i].ptr, unsafe.Pointer(&h[i][0]), size); err != nil {
			return false, err
		}
	}
	return true, nil
}

// splitRow writes hi = t(x) and, with two terms, lo[off…] = t(x − hi),
// using tmp; it reports whether a finite x overflowed t.
func splitRow(hi, lo []uint16, off int, x, tmp []float32, t dtype, terms int) (overflow bool) {
	to, from := kernels.F32ToF16, kernels.F16ToF32
	inf := uint16(0x7c00)
	if t == devBF16 {
		to, from, inf = kernels.F32ToBF16, kernels.BF16ToF32, 0x7f80
	}
	to(hi, x)
	for i, v := range hi {
		if v&0x7fff == inf && !math.IsInf(float64(x[i]), 0) {
			return true
		}
	}
	if terms == 1 {
		return false
	}
	from(tmp, hi)
	for i, v := range x {
		tmp[i] = v - tmp[i] // exact: hi is v rounded
	}
	to(lo[off:off+len(x)], tmp)
	return false
}

// gemm runs the product of e with the n activation rows on the device into
// the result buffer.
func (b *Backend) gemm(e *entry, n, terms int) error {
	g := rowMajor(e.rows, e.cols, n)
	one, zero := float32(1), float32(0)
	if e.typ == devF32 {
		st := b.api.sgemm(b.handle, g.transa, g.transb, g.m, g.n, g.k,
			&one, e.ptr, g.lda, b.x[0].ptr, g.ldb, &zero, b.c.ptr, g.ldc)
		if st != cublasStatusSuccess {
			return cublasError(fmt.Sprintf("cublasSgemm_v2 (m=%d n=%d k=%d)", g.m, g.n, g.k), st)
		}
		return nil
	}
	ty := e.typ.cudaType()
	for i := range terms {
		beta := &zero
		if i > 0 {
			beta = &one // lo adds to hi's product
		}
		st := b.api.gemmEx(b.handle, g.transa, g.transb, g.m, g.n, g.k,
			&one, e.ptr, ty, g.lda, b.x[i].ptr, ty, g.ldb,
			beta, b.c.ptr, cudaR32F, g.ldc, cublasCompute32F, cublasGemmDefault)
		if st != cublasStatusSuccess {
			return cublasError(fmt.Sprintf("cublasGemmEx (%s, m=%d n=%d k=%d)", e.typ, g.m, g.n, g.k), st)
		}
	}
	return nil
}

// TimeGEMM times cuBLAS alone on w's product with n activation rows, both
// resident on the device (w uploaded as MatMul uploads it, activations in
// one term, as a framework's half-precision GEMM): one warm-up, then reps
// products between two device synchronizations. It returns the seconds
// per product: 2·n·Rows·Cols / seconds is the FLOP rate. It also reports
// the device type of w ("f32", "f16", "bf16").
func (b *Backend) TimeGEMM(p *kernels.Pool, w *kernels.Matrix, n, reps int) (seconds float64, stored string, err error) {
	if err := w.Check(); err != nil {
		return 0, "", err
	}
	if n < 1 || reps < 1 || n > math.MaxInt32 || w.Rows > math.MaxInt32 || w.Cols > math.MaxInt32 {
		return 0, "", fmt.Errorf("cuda: TimeGEMM: %d rows, %d repetitions", n, reps)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, "", b.err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if st := b.api.setDevice(int32(b.dev.Ordinal)); st != cudaSuccess {
		return 0, "", b.api.cudaError("cudaSetDevice", st)
	}
	b.clock++
	defer runtime.KeepAlive(w) // its device copy lives as long as it does
	e, err := b.weight(p, w)
	if err != nil {
		return 0, "", err
	}
	if e.ptr == 0 {
		return 0, "", fmt.Errorf("cuda: %s %d×%d does not fit in device memory", w.Format.Name, w.Rows, w.Cols)
	}
	if ok, err := b.buffers(e, n, 1); err != nil || !ok {
		return 0, "", fmt.Errorf("cuda: no device memory for %d activation rows: %v", n, err)
	}
	x := make([]float32, n*w.Cols)
	for i := range x {
		x[i] = float32(math.Sin(float64(i))) // any values: the time does not depend on them
	}
	if ok, err := b.putActivations(p, x, n, w.Cols, e.typ, 1); !ok || err != nil {
		return 0, "", fmt.Errorf("cuda: could not copy the activations: %v", err)
	}
	sync := func() error {
		if st := b.api.synchronize(); st != cudaSuccess {
			return b.api.cudaError("cudaDeviceSynchronize", st)
		}
		return nil
	}
	if err := b.gemm(e, n, 1); err != nil {
		return 0, "", err
	}
	if err := sync(); err != nil {
		return 0, "", err
	}
	start := time.Now()
	for range reps {
		if err := b.gemm(e, n, 1); err != nil {
			return 0, "", err
		}
	}
	if err := sync(); err != nil {
		return 0, "", err
	}
	return time.Since(start).Seconds() / float64(reps), e.typ.String(), nil
}
