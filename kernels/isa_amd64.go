//go:build !noasm

package kernels

import "github.com/klauspost/cpuid/v2"

// hostISAs lists the paths this CPU can run, generic first, widest last.
var hostISAs = detectISAs()

func detectISAs() []ISA {
	l := []ISA{Generic}
	c := &cpuid.CPU
	if !c.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.F16C) {
		return l
	}
	l = append(l, AVX2)
	if c.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512DQ) {
		l = append(l, AVX512)
	}
	return l
}
