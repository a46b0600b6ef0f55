package main

import (
	"fmt"

	"github.com/divergo/divergo/eval"
)

func init() {
	register("synth", "write a random-weight model of a real shape, or a permuted/noisy relative of a model", runSynth)
}

func runSynth(args []string) error {
	fs, c := newFlags("synth", "--shape stories110m|tinyllama-1.1b|llama2-7b|dim=…,… --dtype T -o OUT.gguf|DIR [--seed S]\n"+
		"       divergo synth [-m BASE] --permute-mlp [--noise S] -o OUT.gguf|DIR [--seed S]")
	var o eval.SynthOptions
	fs.StringVar(&o.Shape, "shape", "", "model shape: stories110m, tinyllama-1.1b, llama2-7b, or dim=…,hidden=…,layers=…,heads=…,kv=…,vocab=…")
	fs.StringVar(&o.DType, "dtype", "f32", "format of every matrix: f32, f16, bf16, q8_0, q4_0, q4_k, … (int formats for hf only)")
	fs.StringVar(&o.LMHead, "lm-head", "", "format of the LM head (default: q6_k for 2–6-bit ggml dtypes, as llama-quantize; else the dtype)")
	fs.StringVar(&o.Output, "o", "", "output: a .gguf file, or a directory for a Hugging Face checkpoint")
	fs.StringVar(&o.Format, "format", "", "gguf or hf (default: gguf for a .gguf name, else hf)")
	fs.Int64Var(&o.ShardBytes, "shard-bytes", 0, "largest safetensors shard in bytes (default 5e9; -1: never split)")
	var r eval.RelativeOptions
	fs.BoolVar(&r.PermuteMLP, "permute-mlp", false, "relative of -m: shuffle the MLP neurons of every layer (same function)")
	fs.Float64Var(&r.Noise, "noise", 0, "relative of -m: add Gaussian noise of this many standard deviations of each matrix")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Output == "" {
		return usageError{fmt.Errorf("-o OUT is required")}
	}
	if _, err := eval.OutputFormat(o.Output, o.Format); err != nil {
		return usageError{err}
	}
	relative := r.PermuteMLP || r.Noise != 0
	switch {
	case relative && o.Shape != "":
		return usageError{fmt.Errorf("--shape writes a random model; --permute-mlp and --noise derive one from -m: give one or the other")}
	case !relative && c.model != "":
		return usageError{fmt.Errorf("-m gives the base of a relative: add --permute-mlp and/or --noise S")}
	case !relative && o.Shape == "":
		return usageError{fmt.Errorf("--shape (a random model) or --permute-mlp/--noise (a relative of -m) is required")}
	}
	if relative {
		if r.Noise < 0 {
			return usageError{fmt.Errorf("--noise %g must be ≥ 0", r.Noise)}
		}
		r.Seed, r.Output, r.Format, r.ShardBytes = c.seed, o.Output, o.Format, o.ShardBytes
		e, err := c.open(0)
		if err != nil {
			return err
		}
		defer e.Close()
		r.Progress = progressLine("tensors")
		res, err := eval.Relative(e, r)
		endProgress()
		if err != nil {
			return err
		}
		if c.json {
			return emit(res)
		}
		printf("wrote      %s (%s, %d bytes)\n", res.Written, res.Format, res.Bytes)
		printf("relative   of %s: permuted MLP %v, noise %g, seed %d\n", res.Base, res.PermuteMLP, res.Noise, res.Seed)
		return nil
	}
	o.Seed, o.Tokenizer = c.seed, c.tokenizer
	o.Progress = progressLine("tensors")
	res, err := eval.Synth(o)
	endProgress()
	if err != nil {
		return err
	}
	if c.json {
		return emit(res)
	}
	cfg := res.Config
	printf("wrote      %s (%s, %d bytes = %.1f MiB) in %.1f s\n", res.Written, res.Format, res.Bytes, float64(res.Bytes)/(1<<20), res.Timing.Seconds)
	printf("shape      %s: dim %d, hidden %d, layers %d, heads %d (kv %d), vocab %d, context %d\n",
		res.Shape, cfg.Dim, cfg.HiddenDim, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.Vocab, cfg.MaxSeq)
	printf("weights    %d params, %s (lm_head %s), N(0, 0.02²) seed %d; vocabulary %s\n",
		res.Params, res.DType, res.LMHead, res.Seed, res.Vocab)
	return nil
}
