package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/divergo/divergo/eval"
)

func init() {
	register("trace", "model tracing: do two models share MLP neurons? (φ_MATCH p-values per layer and combined)", runTrace)
}

func runTrace(args []string) error {
	fs, c := newFlags("trace", "--other MODEL [-m MODEL] [-f CORPUS] [--tokens N] [--leaderboard] [--json]")
	otherPath := fs.String("other", "", "the second model (HF directory, .gguf, llama2.c .bin, or \"embedded\"); it reads -m's token ids")
	otherTok := fs.String("other-tokenizer", "", "tokenizer file of the second model (used only by --leaderboard)")
	file := fs.String("f", "", "corpus: text file or JSONL; documents are tokenized with -m's tokenizer and concatenated (default: the embedded TinyStories excerpt)")
	var o eval.TraceOptions
	fs.IntVar(&o.Tokens, "tokens", 8192, "tokens to run through both models, in whole blocks (0: the whole corpus)")
	fs.IntVar(&o.Block, "block", 0, "block (sequence) length (0: 512, or the shorter context of the two models)")
	metric := fs.String("metric", "euclidean", "neuron matching cost: euclidean (the reference code), cross (same assignments) or cosine")
	mem := fs.String("mem", "4GiB", "memory for the match matrices of one pass (16·h² bytes per layer and more); fewer layers per pass re-run the models")
	fs.BoolVar(&o.Leaderboard, "leaderboard", false, "add both models' perplexity on divergo's fixed passage (not the leaderboard's own passage, which is unpublished)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *otherPath == "" {
		return usageError{fmt.Errorf("--other MODEL is required")}
	}
	if o.Tokens < 0 || o.Block < 0 {
		return usageError{fmt.Errorf("--tokens and --block must be ≥ 0")}
	}
	var err error
	if o.Metric, err = eval.ParseMatchMetric(*metric); err != nil {
		return usageError{fmt.Errorf("--metric: %w", err)}
	}
	if o.Mem, err = parseBytes(*mem); err != nil {
		return usageError{fmt.Errorf("--mem: %w", err)}
	}
	docs, err := docsOf(*file)
	if err != nil {
		return err
	}
	o.Corpus = *file
	if *file == "" {
		o.Corpus = eval.DefaultCorpusName
	}
	e, err := c.open(o.Block)
	if err != nil {
		return err
	}
	defer e.Close()
	path := *otherPath
	if path == "embedded" {
		path = ""
	}
	other, err := eval.OpenOther(eval.ModelOptions{Path: path, Tokenizer: *otherTok, Context: o.Block, A8: c.a8})
	if err != nil {
		return fmt.Errorf("--other: %w", err)
	}
	defer other.Close()
	o.Progress = progressLine("trace blocks")
	r, err := eval.Trace(e, other, docs, o)
	endProgress()
	if err != nil {
		return err
	}
	if c.json {
		return emit(r)
	}
	printf("model A    %s\n", r.Model)
	printf("model B    %s\n", r.Other)
	printf("corpus     %s\n", r.Corpus)
	printf("tokens     %d in %s of %d (tokenized by model A)\n", r.Tokens, plural(r.Blocks, "block"), r.Block)
	printf("match      %s cost, %d MLP neurons per layer; %s per pass, %s over the data\n", r.Metric, r.Neurons, plural(r.LayersPerPass, "layer"), plural(r.Passes, "pass"))
	if r.TokenizersDiffer {
		printf("note       the models' tokenizers differ; both read model A's token ids\n")
	}
	printf("\n%5s %9s %12s %7s %9s\n", "layer", "rho", "p", "agree", "identity")
	for _, l := range r.Layers {
		printf("%5d %9.5f %12s %7.3f %9.3f\n", l.Layer, l.Rho, pValue(l.P), l.Agree, l.Identity)
	}
	switch {
	case r.LogPFisher == nil:
		printf("\nFisher p   0 (< 1e-300: %d of %d layers have p = 0)\n", r.ZeroLayers, r.K)
	case r.PFisher == 0:
		printf("\nFisher p   %s over %d layers\n", logPValue(*r.LogPFisher), r.K)
	default:
		printf("\nFisher p   %.4g over %d layers\n", r.PFisher, r.K)
	}
	printf("           small p: B's MLP neurons derive from A's; independent models give p spread over (0, 1)\n")
	if lb := r.Leaderboard; lb != nil {
		printf("\npassage    %s (divergo's own text, not the leaderboard's)\n", lb.Passage)
		printf("ppl A      %.4f (%d tokens)\nppl B      %.4f (%d tokens)\n", lb.PPL, lb.Tokens, lb.PPLOther, lb.TokensOther)
	}
	return nil
}

// plural writes "1 block", "2 blocks", "3 passes".
func plural(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "s"):
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// pValue prints a p-value, "0" as "< 1e-300".
func pValue(p float64) string {
	if p == 0 {
		return "< 1e-300"
	}
	return fmt.Sprintf("%.4g", p)
}

// logPValue prints a p-value known by its natural log, as 10^x when it
// underflows a float64.
func logPValue(lp float64) string {
	e := lp / math.Ln10
	exp := math.Floor(e)
	return fmt.Sprintf("%.3fe%d (ln p = %.4g)", math.Pow(10, e-exp), int(exp), lp)
}

// parseBytes reads a memory size: a number of bytes with an optional
// suffix K, M, G or T (powers of 1024; KiB … TiB and KB … TB are read the
// same way) or B.
func parseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
units:
	for i, u := range []string{"K", "M", "G", "T"} {
		for _, form := range []string{u + "IB", u + "B", u} {
			if rest, ok := strings.CutSuffix(t, form); ok {
				t, mult = rest, math.Pow(1024, float64(i+1))
				break units
			}
		}
	}
	if mult == 1 {
		t = strings.TrimSuffix(t, "B")
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || !(v*mult >= 1) || v*mult > 1<<62 {
		return 0, fmt.Errorf("%q is not a memory size (e.g. 4GiB, 512M, 1000000)", s)
	}
	return int64(v * mult), nil
}
