// Package cuda runs GEMMs through cuBLAS, loaded at run time with purego
// (no cgo). It reports clearly when no GPU or library is present.
package cuda
