//go:build !amd64 && !arm64

package kernels

// unalignedLE is false on hosts where rows are decoded value by value.
const unalignedLE = false
