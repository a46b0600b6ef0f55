package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
)

// minKernelTime is the least time one timed repetition of a kernel row
// lasts (short products are repeated); tests shorten it.
var minKernelTime = 200 * time.Millisecond

// kernelMatrices are the weight matrices of a shape that kernel rows use:
// the MLP's, the bulk of a layer, with K = dim and K = hidden.
func kernelMatrices(c *engine.Config) []struct {
	kind       string
	rows, cols int
} {
	return []struct {
		kind       string
		rows, cols int
	}{{"mlp.up", c.HiddenDim, c.Dim}, {"mlp.down", c.Dim, c.HiddenDim}}
}

// kernelRows measures GEMM (n = Prompt rows) and GEMV on the shape's MLP
// matrices in every dtype (its spec applied to the one matrix), ISA and
// thread count.
func kernelRows(s Shape, o *Options, add func(Row)) error {
	for _, km := range kernelMatrices(&s.Config) {
		vals := make([]float32, min(tileRows, km.rows)*km.cols)
		engine.RandomFill(vals, o.Seed, km.kind, 0.02)
		rng := rand.New(rand.NewPCG(o.Seed, 0x6e33))
		x := make([]float32, o.Prompt*km.cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		dst := make([]float32, o.Prompt*km.rows)
		for _, d := range o.DTypes {
			w, err := repeatRows(vals, km.rows, km.cols, d.Spec, "layers.0."+km.kind)
			if err != nil {
				return fmt.Errorf("bench: %s %s: %w", km.kind, d.Spec, err)
			}
			name := fmt.Sprintf("%s %d×%d", km.kind, km.rows, km.cols)
			bytes := int64(len(w.Data))
			a8 := w.A8 && w.Format.Act != nil
			// The GEMV ring: copies of w in distinct memory.
			ring := []*kernels.Matrix{w}
			for total := bytes; total < o.GEMVBytes || len(ring) < 2; total += bytes {
				c := *w
				c.Data = append([]byte(nil), w.Data...)
				ring = append(ring, &c)
			}
			for _, isa := range o.ISAs {
				if err := kernels.SetISA(isa); err != nil {
					return err
				}
				for _, t := range o.Threads {
					pool := kernels.NewPool(t)
					row := Row{Shape: s.Name, DType: d.Spec.String(), Matrix: name, ISA: string(isa), Threads: t,
						Reps: o.Reps, Bytes: bytes}

					gemm := row
					gemm.Name, gemm.Unit = "gemm", "GFLOP/s"
					gemm.Limit = o.Limits.fp32(t)
					if a8 {
						gemm.Limit = o.Limits.int8(t)
					}
					o.progress("%s %s %s t=%d gemm %s", s.Name, d.Spec, isa, t, name)
					flops := 2 * float64(o.Prompt) * float64(km.rows) * float64(km.cols)
					measureKernel(&gemm, flops/1e9, func() { kernels.MatMul(pool, dst, w, x, o.Prompt) })
					add(gemm)

					gemv := row
					gemv.Name, gemv.Unit = "gemv", "GB/s"
					gemv.Limit = o.Limits.bandwidth(t)
					o.progress("%s %s %s t=%d gemv %s", s.Name, d.Spec, isa, t, name)
					measureKernel(&gemv, float64(len(ring))*float64(bytes)/1e9, func() {
						for _, m := range ring {
							kernels.MatMul(pool, dst[:km.rows], m, x[:km.cols], 1)
						}
					})
					add(gemv)
					pool.Close()
				}
			}
		}
	}
	return nil
}

// measureKernel times fn (work units per call) as measure does, repeating
// fn within a repetition until it lasts minKernelTime.
func measureKernel(row *Row, work float64, fn func()) {
	calls := 1
	measure(row, func(timed bool) (time.Duration, float64, error) {
		start := time.Now()
		if !timed {
			fn()
			d := time.Since(start)
			calls = max(1, int(minKernelTime/max(d, time.Microsecond)))
			return d, work, nil
		}
		for range calls {
			fn()
		}
		return time.Since(start), work * float64(calls), nil
	})
}
