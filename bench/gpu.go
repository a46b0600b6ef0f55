package bench

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
)

// GPU is the path of the GPU rows (--isa cuda): the GPU backend installed
// in kernels (eval.SelectISA("cuda")) with the CPU path chosen at start for
// the rest of the forward pass.
const GPU kernels.ISA = "cuda"

// A gpuBackend is the GPU backend the cuda rows measure: kernels/cuda's
// Backend.
type gpuBackend interface {
	kernels.Backend
	// TimeGEMM returns the seconds of one product of w with n activation
	// rows, both resident on the device, and the type w is stored in there.
	TimeGEMM(p *kernels.Pool, w *kernels.Matrix, n, reps int) (seconds float64, stored string, err error)
	// String describes the device.
	String() string
}

// takeGPU removes GPU from isas and, when it was there, returns the
// installed GPU backend; it fails when none is installed.
func takeGPU(isas []kernels.ISA, installed kernels.Backend) ([]kernels.ISA, gpuBackend, error) {
	if !slices.Contains(isas, GPU) {
		return isas, nil, nil
	}
	g, ok := installed.(gpuBackend)
	if !ok {
		return nil, nil, fmt.Errorf("bench: --isa cuda: no GPU backend is installed (eval.SelectISA(%q) installs it)", GPU)
	}
	return slices.DeleteFunc(slices.Clone(isas), func(i kernels.ISA) bool { return i == GPU }), g, nil
}

// gpuDTypes are the dtypes of the GPU rows: W·A8 runs on the CPU (its
// integer arithmetic is llama.cpp's), so a :a8 dtype is measured without
// it, once.
func gpuDTypes(ds []DType) []DType {
	var out []DType
	for _, d := range ds {
		d.Spec.A8 = false
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// gpuRows measures the GPU rows of one shape with g installed:
//   - "gemm": cuBLAS alone on the MLP matrices with Prompt activation rows
//     resident on the device, in TFLOP/s (what a framework's GEMM gives);
//   - "matmul": the same products through kernels.MatMul, converting and
//     copying the activations and the results, in TFLOP/s;
//   - "pp": prefill tokens/s, the large products on the GPU and the rest
//     of the forward pass on the CPU with each thread count.
func gpuRows(s Shape, o *Options, g gpuBackend, add func(Row)) error {
	prev := kernels.SetBackend(g)
	defer kernels.SetBackend(prev)
	dtypes := gpuDTypes(o.DTypes)
	if o.Kernels {
		if err := gpuKernelRows(s, o, dtypes, g, add); err != nil {
			return err
		}
	}
	if o.Models {
		return gpuModelRows(s, o, dtypes, add)
	}
	return nil
}

func gpuKernelRows(s Shape, o *Options, dtypes []DType, g gpuBackend, add func(Row)) error {
	t := slices.Max(o.Threads)
	pool := kernels.NewPool(t)
	defer pool.Close()
	for _, km := range kernelMatrices(&s.Config) {
		vals := make([]float32, min(tileRows, km.rows)*km.cols)
		engine.RandomFill(vals, o.Seed, km.kind, 0.02)
		rng := rand.New(rand.NewPCG(o.Seed, 0x6e33))
		x := make([]float32, o.Prompt*km.cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		dst := make([]float32, o.Prompt*km.rows)
		flops := 2 * float64(o.Prompt) * float64(km.rows) * float64(km.cols)
		for _, d := range dtypes {
			w, err := repeatRows(vals, km.rows, km.cols, d.Spec, "layers.0."+km.kind)
			if err != nil {
				return fmt.Errorf("bench: %s %s: %w", km.kind, d.Spec, err)
			}
			name := fmt.Sprintf("%s %d×%d", km.kind, km.rows, km.cols)
			row := Row{Shape: s.Name, DType: d.Spec.String(), Matrix: name, ISA: string(GPU), Threads: t,
				Unit: "TFLOP/s", Reps: o.Reps, Bytes: int64(len(w.Data))}

			gemm := row
			gemm.Name = "gemm"
			o.progress("%s %s %s gemm %s", s.Name, d.Spec, GPU, name)
			const calls = 20
			if err := measure(&gemm, func(bool) (time.Duration, float64, error) {
				sec, _, err := g.TimeGEMM(pool, w, o.Prompt, calls)
				return time.Duration(sec * calls * float64(time.Second)), calls * flops / 1e12, err
			}); err != nil {
				return fmt.Errorf("bench: %s %s: %w", name, d.Spec, err)
			}
			add(gemm)

			mm := row
			mm.Name = "matmul"
			o.progress("%s %s %s matmul %s", s.Name, d.Spec, GPU, name)
			measureKernel(&mm, flops/1e12, func() {
				x[0]++ // new activations each time, as in a forward pass
				kernels.MatMul(pool, dst, w, x, o.Prompt)
			})
			add(mm)
		}
	}
	return nil
}

func gpuModelRows(s Shape, o *Options, dtypes []DType, add func(Row)) error {
	o.progress("%s: random weights", s.Name)
	base, err := engine.NewRandom(s.Config, o.Seed)
	if err != nil {
		return fmt.Errorf("bench: %s: %w", s.Name, err)
	}
	defer base.Close()
	rng := rand.New(rand.NewPCG(o.Seed, 0x70c5))
	tokens := make([]int, o.Prompt)
	for i := range tokens {
		tokens[i] = rng.IntN(s.Config.Vocab)
	}
	for _, d := range dtypes {
		o.progress("%s: converting to %s", s.Name, d)
		m, err := convert(base, d)
		if err != nil {
			return err
		}
		total, _ := weightBytes(m)
		for _, t := range o.Threads {
			pool := kernels.NewPool(t)
			st, err := engine.NewState(m, o.Prompt, pool)
			if err == nil {
				pp := Row{Name: fmt.Sprintf("pp%d", o.Prompt), Shape: s.Name, DType: d.String(), ISA: string(GPU),
					Threads: t, Unit: "tok/s", Reps: o.Reps, Bytes: total}
				o.progress("%s %s %s t=%d %s", s.Name, d, GPU, t, pp.Name)
				if err = measure(&pp, prefill(st, tokens)); err == nil {
					add(pp)
				}
			}
			pool.Close()
			if err != nil {
				if m != base {
					m.Close()
				}
				return fmt.Errorf("bench: %s %s: %w", s.Name, d, err)
			}
		}
		if m != base {
			m.Close()
		}
	}
	return nil
}
