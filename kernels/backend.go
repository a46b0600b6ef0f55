package kernels

// A Backend runs matrix products somewhere other than the CPU cores: a GPU
// (package kernels/cuda). Once installed with SetBackend, MatMul offers it
// the products worth moving — more than one activation row (prefill,
// teacher-forced passes) on a non-nil Pool — and runs on the CPU whatever
// it declines. Decoding (one row) stays on the CPU.
//
// MatMul offers only what callers pass with a Pool, and the contract of
// that call is that w is a weight: its values do not change while w is
// reachable, so a backend may copy a matrix once (keyed by the *Matrix)
// and reuse the copy. Products over changing data, such as the engine's
// attention over the KV cache, pass a nil Pool and are never offered.
type Backend interface {
	// MatMul computes what MatMul computes, dst[t·Rows + r] = Σ_c
	// W[r][c]·x[t·Cols + c] for t < n, and reports true; or it reports
	// false, leaving the product to the CPU, which then writes all of dst.
	// The arguments have been checked (n > 1, lengths, w.Check). p is the
	// caller's pool, for work the backend does on the CPU (converting
	// weights, say); the backend must not call MatMul with it.
	MatMul(p *Pool, dst []float32, w *Matrix, x []float32, n int) bool
}

var backend Backend

// SetBackend installs b for MatMul to offer products to (nil removes it)
// and returns the one it replaces. Like SetISA, it must not run
// concurrently with MatMul: call it at start-up.
func SetBackend(b Backend) (previous Backend) {
	previous, backend = backend, b
	return previous
}

// CurrentBackend returns the installed backend, or nil.
func CurrentBackend() Backend { return backend }
