package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestISACUDAAbsent: without a GPU path --isa cuda exits 1 with one line
// saying what was looked for (or how to build the GPU path), naming
// DIVERGO_CUDA_LIB_DIR when it is set.
func TestISACUDAAbsent(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DIVERGO_CUDA_LIB_DIR", dir)
	for _, args := range [][]string{
		{"generate", "--isa", "cuda", "-n", "2"},
		{"bench", "--isa", "cuda", "--kernels", "--dtype", "f16", "-t", "1"},
	} {
		var out, errw bytes.Buffer
		code := runMain(args, &out, &errw)
		msg := errw.String()
		if code == 0 {
			t.Skip("a GPU path is present here")
		}
		if code != 1 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "--isa cuda: ") ||
			!(strings.Contains(msg, "-tags cuda") || strings.Contains(msg, "DIVERGO_CUDA_LIB_DIR="+dir)) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line about the GPU path", args, code, msg)
		}
		if out.Len() != 0 {
			t.Errorf("%v: stdout %q, want nothing", args, out.String())
		}
	}
}
