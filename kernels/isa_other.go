//go:build (!amd64 && !arm64) || noasm

package kernels

// hostISAs lists the paths this build can run: the plain-Go bodies only.
var hostISAs = []ISA{Generic}
