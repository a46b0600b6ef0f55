package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/divergo/divergo/kernels"
)

// fakeGPU declines every product (the CPU computes it) and times every
// GEMM at a millisecond.
type fakeGPU struct{ offered, timed int }

func (f *fakeGPU) MatMul(*kernels.Pool, []float32, *kernels.Matrix, []float32, int) bool {
	f.offered++
	return false
}

func (f *fakeGPU) TimeGEMM(p *kernels.Pool, w *kernels.Matrix, n, reps int) (float64, string, error) {
	f.timed++
	return 1e-3, "f16", nil
}

func (f *fakeGPU) String() string { return "Fake GPU" }

func TestGPURowsNeedBackend(t *testing.T) {
	prev := kernels.SetBackend(nil)
	defer kernels.SetBackend(prev)
	_, err := Run(Options{Shapes: []Shape{tiny()}, ISAs: []kernels.ISA{GPU}})
	if err == nil || !strings.Contains(err.Error(), "no GPU backend is installed") {
		t.Fatalf("Run = %v, want a missing-backend error", err)
	}
}

func TestGPURows(t *testing.T) {
	defer func(d time.Duration) { minKernelTime = d }(minKernelTime)
	minKernelTime = time.Millisecond
	g := &fakeGPU{}
	prev := kernels.SetBackend(g)
	defer kernels.SetBackend(prev)
	dtypes, _ := ParseDTypes("f16,q8_0:a8,q8_0")
	s := tiny()
	const prompt = 16
	r, err := Run(Options{Shapes: []Shape{s}, DTypes: dtypes, ISAs: []kernels.ISA{GPU}, Threads: []int{1, 2},
		Reps: 1, Prompt: prompt, Gen: 4})
	if err != nil {
		t.Fatal(err)
	}
	if kernels.CurrentBackend() != g {
		t.Fatal("Run did not restore the installed backend")
	}
	count := map[string]int{}
	for _, row := range r.Rows {
		count[row.Name]++
		if row.ISA != "cuda" || row.DType == "q8_0:a8" || !(row.Value > 0) {
			t.Errorf("row %+v", row)
		}
		if row.Name == "gemm" {
			rows, cols := s.Config.HiddenDim, s.Config.Dim
			if strings.HasPrefix(row.Matrix, "mlp.down") {
				rows, cols = cols, rows
			}
			want := 2 * float64(prompt*rows*cols) / 1e-3 / 1e12
			if row.Unit != "TFLOP/s" || row.Value < want*0.999 || row.Value > want*1.001 {
				t.Errorf("gemm row %+v, want %g TFLOP/s", row, want)
			}
		}
	}
	// Two matrices × two dtypes (q8_0:a8 runs as q8_0 on the GPU, once);
	// pp for two dtypes × two thread counts; no CPU rows.
	if count["gemm"] != 4 || count["matmul"] != 4 || count["pp16"] != 4 || len(r.Rows) != 12 {
		t.Fatalf("rows %v, want 4 gemm, 4 matmul, 4 pp16", count)
	}
	if g.offered == 0 || g.timed == 0 {
		t.Fatalf("the GPU backend saw %d products and %d timings", g.offered, g.timed)
	}
	if r.Machine.GPU != "Fake GPU" {
		t.Fatalf("machine %+v", r.Machine)
	}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "of 0.00") || !strings.Contains(md.String(), "GPU Fake GPU") {
		t.Fatalf("markdown:\n%s", md.String())
	}
}

// TestCPURowsBypassBackend: a GPU backend installed in kernels never
// computes the CPU rows.
func TestCPURowsBypassBackend(t *testing.T) {
	defer func(d time.Duration) { minKernelTime = d }(minKernelTime)
	minKernelTime = time.Millisecond
	g := &fakeGPU{}
	prev := kernels.SetBackend(g)
	defer kernels.SetBackend(prev)
	dtypes, _ := ParseDTypes("f16")
	if _, err := Run(Options{Shapes: []Shape{tiny()}, DTypes: dtypes, Threads: []int{2}, Reps: 1, Prompt: 8, Gen: 2,
		GEMVBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if g.offered != 0 {
		t.Fatalf("%d CPU-row products were offered to the GPU backend", g.offered)
	}
	if kernels.CurrentBackend() != g {
		t.Fatal("Run did not restore the installed backend")
	}
}
