package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/divergo/divergo/eval"
	"github.com/divergo/divergo/quant"
)

func init() {
	register("quantize", "compress a model with a plan and write it as GGUF or a Hugging Face checkpoint", runQuantize)
}

func runQuantize(args []string) error {
	fs, c := newFlags("quantize", "--quant PLAN -o OUT.gguf|DIR [--format gguf|hf] [--a8] [--json]")
	planText := fs.String("quant", "", "compression plan: a spec (q4_0, int4:g128 …), selector=spec rules, or @plan.json")
	var o eval.QuantizeOptions
	fs.StringVar(&o.Output, "o", "", "output: a .gguf file, or a directory for a Hugging Face checkpoint")
	fs.StringVar(&o.Format, "format", "", "gguf or hf (default: gguf for a .gguf name, else hf)")
	fs.Int64Var(&o.ShardBytes, "shard-bytes", 0, "largest safetensors shard in bytes (default 5e9; -1: never split)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *planText == "" {
		return usageError{fmt.Errorf("--quant PLAN is required (e.g. --quant '*=q4_0')")}
	}
	if o.Output == "" {
		return usageError{fmt.Errorf("-o OUT is required")}
	}
	plan, err := quant.ParsePlan(*planText)
	if err != nil {
		return usageError{fmt.Errorf("--quant: %w", err)}
	}
	if _, err := eval.OutputFormat(o.Output, o.Format); err != nil {
		return usageError{err}
	}
	// --a8 is applied to the written matrices by Quantize, not to the
	// loaded model: a W·A8 variant of a tied model would untie its head.
	o.Plan, o.A8, c.a8 = plan, c.a8, false
	e, err := c.open(0)
	if err != nil {
		return err
	}
	defer e.Close()
	o.Progress = progressLine("tensors")
	r, err := eval.Quantize(e, o)
	endProgress()
	if err != nil {
		return err
	}
	for _, u := range r.Unused {
		fmt.Fprintf(os.Stderr, "divergo quantize: warning: rule %s decides no component\n", u)
	}
	if c.json {
		return emit(r)
	}
	printf("wrote      %s (%s, %d bytes, %.3f bits per weight over the file)\n", r.Written, r.Format, r.Bytes, r.FileBitsPerWeight)
	printf("plan       %s\n", r.Plan)
	counts := map[string]int{}
	for _, ch := range r.Changes {
		counts[ch.Spec]++
	}
	var specs []string
	for s, n := range counts {
		specs = append(specs, fmt.Sprintf("%s ×%d", s, n))
	}
	sort.Strings(specs)
	printf("changed    %d components (%s): %d weights at %.3f bits per weight\n",
		len(r.Changes), strings.Join(specs, ", "), r.Params, r.BitsPerWeight)
	if r.A8Matrices > 0 {
		printf("a8         %d matrices run with int8 activations\n", r.A8Matrices)
	}
	return nil
}
