//go:build !noasm

package kernels

// hostISAs lists the paths this CPU can run, generic first, widest last.
// Advanced SIMD is mandatory on arm64 (every arm64 Linux and macOS ABI
// requires it), so NEON is always available; its optional SDOT/UDOT are
// reported by hasDotProd.
var hostISAs = []ISA{Generic, NEON}
