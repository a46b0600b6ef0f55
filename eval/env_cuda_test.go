package eval

import (
	"strings"
	"testing"

	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/kernels/cuda"
)

// TestSelectISACUDAAbsent: without a GPU path (no cuda build tag, or no
// library or GPU) --isa cuda and DIVERGO_ISA=cuda fail with one line that
// says why, naming DIVERGO_CUDA_LIB_DIR where the libraries were looked
// for, and leave the CPU path as it was.
func TestSelectISACUDAAbsent(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DIVERGO_CUDA_LIB_DIR", dir)
	for _, c := range []struct{ isa, env string }{{"cuda", ""}, {"", "cuda"}, {"auto", "CUDA"}} {
		t.Setenv("DIVERGO_ISA", c.env)
		isa := kernels.CurrentISA()
		err := SelectISA(c.isa)
		if err == nil {
			t.Skip("a GPU path is present here")
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "--isa cuda: ") || strings.Contains(msg, "cuda: cuda:") || strings.Contains(msg, "\n") {
			t.Fatalf("SelectISA(%q) with DIVERGO_ISA=%q: %q, want one line starting --isa cuda:", c.isa, c.env, msg)
		}
		want := "-tags cuda"
		if cuda.Built {
			want = "DIVERGO_CUDA_LIB_DIR=" + dir
		}
		if !strings.Contains(msg, want) {
			t.Fatalf("error %q lacks %q", msg, want)
		}
		if kernels.CurrentBackend() != nil || kernels.CurrentISA() != isa {
			t.Fatal("a failed --isa cuda changed the kernel path")
		}
	}
}

type nopBackend struct{}

func (nopBackend) MatMul(*kernels.Pool, []float32, *kernels.Matrix, []float32, int) bool {
	return false
}

// TestSelectISARemovesBackend: any other --isa runs on the CPU alone.
func TestSelectISARemovesBackend(t *testing.T) {
	t.Setenv("DIVERGO_ISA", "")
	for _, isa := range []string{"", "auto", "generic"} {
		prev := kernels.SetBackend(nopBackend{})
		orig := kernels.CurrentISA()
		if err := SelectISA(isa); err != nil {
			t.Fatal(err)
		}
		if kernels.CurrentBackend() != nil {
			t.Errorf("--isa %q kept the GPU backend", isa)
		}
		kernels.SetISA(orig)
		kernels.SetBackend(prev)
	}
}
