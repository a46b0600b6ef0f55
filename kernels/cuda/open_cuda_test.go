//go:build cuda && linux && (amd64 || arm64)

package cuda

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenAbsent runs the real loader (purego's dlopen) where the CUDA
// libraries are absent, as on the development machine: one line naming
// the libraries and where they were looked for. On a machine that has
// them it skips.
func TestOpenAbsent(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DIVERGO_CUDA_LIB_DIR", dir)
	b, err := Open(Options{})
	if err == nil {
		b.Close()
		t.Skip("the CUDA libraries and a GPU are present here")
	}
	msg := err.Error()
	if strings.Contains(msg, "loaded ") || strings.Contains(msg, "found the CUDA runtime") {
		t.Skipf("the CUDA libraries are present here: %v", err)
	}
	for _, s := range []string{"cuda: no CUDA runtime (libcudart.so.13, libcudart.so.12, libcudart.so.11.0, libcudart.so)",
		"DIVERGO_CUDA_LIB_DIR=" + dir, "the dynamic loader's path", "/usr/local/cuda/lib64", "set DIVERGO_CUDA_LIB_DIR"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
}

// TestOpenUnloadable: a file with the runtime's name that is not a shared
// library is reported with the loader's own reason.
func TestOpenUnloadable(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "libcudart.so.12")
	if err := os.WriteFile(bad, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Open(Options{LibDir: dir})
	if err == nil {
		b.Close()
		t.Skip("the CUDA libraries and a GPU are present here")
	}
	if !strings.Contains(err.Error(), "found but not loadable: "+bad+": ") {
		t.Fatalf("error does not report %s:\n%v", bad, err)
	}
	if !Built {
		t.Fatal("Built is false with the cuda tag")
	}
}
