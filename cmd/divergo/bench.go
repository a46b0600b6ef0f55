package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/divergo/divergo/bench"
	"github.com/divergo/divergo/eval"
	"github.com/divergo/divergo/kernels"
)

func init() {
	register("bench", "kernel GFLOP/s and GB/s, prompt and generation tokens/s on standard shapes", runBench)
}

// runBench has its own flags: it loads no model, and -t and --isa take
// lists (llama-bench's -t 1,2).
func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o bench.Options
	fs.BoolVar(&o.Kernels, "kernels", false, "kernel rows only (GEMM GFLOP/s, GEMV GB/s)")
	fs.BoolVar(&o.Models, "models", false, "end-to-end rows only (pp and tg tokens/s)")
	shapes := fs.String("shape", "stories110m", "model shapes, comma-separated: stories110m, tinyllama-1.1b")
	dtypes := fs.String("dtype", bench.DefaultDTypes, "weight types, comma-separated quant specs: :a8 runs int8 activations as llama.cpp does\n(without it, float activations); q4_0 and q4_k are llama-quantize's Q4_0 and Q4_K_M mixtures (add :pure for uniform)")
	isas := fs.String("isa", "auto", "kernel paths, comma-separated: auto (the one chosen at start), generic, avx2, avx512, neon, all,\ncuda (GPU rows: cuBLAS GEMM TFLOP/s and prefill tok/s; docs/gpu.md)")
	threads := fs.String("t", "1,2", "thread counts, comma-separated")
	fs.StringVar(threads, "threads", "1,2", "same as -t")
	fs.IntVar(&o.Reps, "r", 3, "timed repetitions after one warm-up")
	fs.IntVar(&o.Prompt, "p", 512, "prompt tokens of the pp test (and activation rows of gemm)")
	fs.IntVar(&o.Gen, "n", 128, "generated tokens of the tg test")
	fs.Uint64Var(&o.Seed, "seed", 42, "seed of the random weights and token ids")
	gemvMiB := fs.Int64("gemv-mib", 1024, "least weight memory (MiB) a gemv row cycles through, so that it reads DRAM as decoding does")
	limits := fs.String("limits", "", "this machine's limits instead of the development machine's (ENGINE-NOTES §5):\nfp32=GFLOP/s per core, int8=GOP/s per core, bw=GB/s of 1 core or bw=ONE/TWO")
	asJSON := fs.Bool("json", false, "print one JSON document on stdout")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: divergo bench [--kernels|--models] [--shape LIST] [--dtype LIST] [--isa LIST] [-t LIST] [-r N] [--json]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, name := range splitList(*shapes) {
		s, err := bench.ShapeByName(name)
		if err != nil {
			return usageError{err}
		}
		o.Shapes = append(o.Shapes, s)
	}
	var err error
	if o.DTypes, err = bench.ParseDTypes(*dtypes); err != nil {
		return usageError{err}
	}
	for _, name := range splitList(*isas) {
		switch name {
		case "auto":
			o.ISAs = append(o.ISAs, kernels.CurrentISA())
		case "all":
			o.ISAs = append(o.ISAs, kernels.Available()...)
		case "cuda":
			if err := eval.SelectISA("cuda"); err != nil {
				return err
			}
			o.ISAs = append(o.ISAs, bench.GPU)
		default:
			o.ISAs = append(o.ISAs, kernels.ISA(name))
		}
	}
	for _, f := range splitList(*threads) {
		t, err := strconv.Atoi(f)
		if err != nil || t < 1 {
			return usageError{fmt.Errorf("-t: %q is not a thread count", f)}
		}
		o.Threads = append(o.Threads, t)
	}
	if o.Reps < 1 || o.Prompt < 1 || o.Gen < 1 || *gemvMiB < 1 {
		return usageError{fmt.Errorf("-r, -p, -n and --gemv-mib must be at least 1")}
	}
	o.GEMVBytes = *gemvMiB << 20
	if *limits != "" {
		l, err := bench.ParseLimits(*limits)
		if err != nil {
			return usageError{err}
		}
		o.Limits = &l
	}
	if stderrIsTerminal {
		o.Progress = func(what string, row *bench.Row) {
			if row == nil {
				fmt.Fprintf(os.Stderr, "\r\033[K%s", what)
				progressShown = true
			}
		}
	}
	r, err := bench.Run(o)
	endProgress()
	if err != nil {
		return err
	}
	if *asJSON {
		return emit(r)
	}
	return r.WriteMarkdown(stdout)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
