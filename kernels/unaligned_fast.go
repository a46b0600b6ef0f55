//go:build amd64 || arm64

package kernels

// unalignedLE reports that the host is little-endian and loads float32 and
// uint16 values from any byte address, so rows in []byte (mmap'ed files) are
// viewed as []float32 / []uint16 without copying.
const unalignedLE = true
