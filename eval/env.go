package eval

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/kernels/cuda"
)

// ModelOptions are the common model flags of every command.
type ModelOptions struct {
	Path      string // -m: HF directory, .gguf or llama2.c .bin; "" = embedded stories260K
	Tokenizer string // --tokenizer
	Threads   int    // -t; 0 = all cores
	ISA       string // --isa: auto, generic, avx2, avx512, neon, cuda
	Context   int    // longest sequence to be run (sizes the RoPE table)
	A8        bool   // --a8: int8 activations for every quantized matrix
	KVF16     bool   // --kv f16: keys and values cached as float16, as llama.cpp does
	// TokenizerOptional loads a checkpoint that has no tokenizer beside it
	// (for describing it; text commands need one).
	TokenizerOptional bool
}

// An Env is a loaded model and the worker pool that runs it.
type Env struct {
	Model *engine.Model
	Pool  *kernels.Pool
	// A8 is the number of matrices switched to W·A8 by ModelOptions.A8.
	A8 int
}

// Open selects the kernel path, starts the worker pool and loads the model.
func Open(o ModelOptions) (*Env, error) {
	if err := SelectISA(o.ISA); err != nil {
		return nil, err
	}
	m, err := engine.Load(o.Path, engine.LoadOptions{Tokenizer: o.Tokenizer, Context: o.Context,
		TokenizerOptional: o.TokenizerOptional})
	if err != nil {
		return nil, err
	}
	e := &Env{Model: m}
	if o.A8 {
		v, n, err := m.WithA8()
		if err != nil {
			m.Close()
			return nil, err
		}
		m.Close()
		e.Model, e.A8 = v, n
	}
	if o.KVF16 {
		v, err := e.Model.WithKVF16()
		if err != nil {
			e.Model.Close()
			return nil, err
		}
		e.Model.Close()
		e.Model = v
	}
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	e.Pool = kernels.NewPool(threads)
	return e, nil
}

// Close stops the pool and releases the model.
func (e *Env) Close() error {
	e.Pool.Close()
	return e.Model.Close()
}

// SelectISA installs the kernel path named by --isa ("" or "auto" keeps the
// one chosen at start from the CPU and DIVERGO_ISA). "cuda" (or
// DIVERGO_ISA=cuda) keeps that CPU path and installs the GPU backend for
// the large products (kernels/cuda); it fails with one line saying what
// was looked for and where when there is no GPU or library. Every other
// name removes the GPU backend.
func SelectISA(name string) error {
	if (name == "" || name == "auto") && strings.EqualFold(strings.TrimSpace(os.Getenv("DIVERGO_ISA")), "cuda") {
		name = "cuda"
	}
	if name == "cuda" {
		if gpu == nil {
			b, err := cuda.Open(cuda.Options{})
			if err != nil {
				return fmt.Errorf("--isa %w", err) // "--isa cuda: no CUDA runtime …"
			}
			gpu = b
		}
		kernels.SetBackend(gpu)
		return nil
	}
	kernels.SetBackend(nil)
	switch name {
	case "", "auto":
		return nil
	}
	return kernels.SetISA(kernels.ISA(name))
}

// gpu is the GPU backend once opened: it holds the device copies of the
// weights for the life of the process.
var gpu *cuda.Backend
