package main

import (
	"fmt"
	"os"

	"github.com/divergo/divergo/eval"
	"github.com/divergo/divergo/quant"
)

func init() {
	register("compare", "FDTM, SDTM, KL, same-top and perplexity of a compressed model against the base", runCompare)
}

func runCompare(args []string) error {
	fs, c := newFlags("compare", "--quant PLAN [-f CORPUS] [--prompt-len n --gen G --samples S] [--ppl-protocol P -c CTX] [--json]")
	planText := fs.String("quant", "", "compression plan: a spec (int8, int4:g32, prune:0.5 …), selector=spec rules, or @plan.json")
	file := fs.String("f", "", "corpus: text file of blank-line-separated documents, or JSONL with a text field (default: the embedded TinyStories excerpt)")
	var o eval.CompareOptions
	fs.IntVar(&o.PromptLen, "prompt-len", eval.DefaultPromptLen, "prompt length n in tokens, BOS included")
	fs.IntVar(&o.Gen, "gen", eval.DefaultGen, "greedy continuation length G in tokens")
	fs.IntVar(&o.Samples, "samples", eval.DefaultSamples, "number of prompts S (the first S documents with ≥ n tokens)")
	fs.StringVar(&o.PPLProtocol, "ppl-protocol", eval.DefaultPPLProtocol, "perplexity protocol on the documents used: llamacpp, disjoint, stride:S, or none")
	fs.IntVar(&o.PPLCtx, "c", eval.DefaultPPLCtx, "perplexity window length in tokens")
	fs.IntVar(&o.PPLCtx, "ctx", eval.DefaultPPLCtx, "same as -c")
	fs.IntVar(&o.PPLChunks, "ppl-chunks", 0, "score only the first N perplexity windows (0: all)")
	klCut := fs.Bool("kl-cut", false, "sum KL only where the base log-probability exceeds -16, as llama.cpp does")
	fs.BoolVar(&o.PerSample, "per-sample", false, "add each sample's FDT, SDT, KL and NLLs to the JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *planText == "" {
		return usageError{fmt.Errorf("--quant PLAN is required (e.g. --quant int8)")}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--prompt-len", o.PromptLen}, {"--gen", o.Gen}, {"--samples", o.Samples}, {"-c", o.PPLCtx}} {
		if f.v < 1 {
			return usageError{fmt.Errorf("%s %d must be ≥ 1", f.name, f.v)}
		}
	}
	if o.PPLChunks < 0 {
		return usageError{fmt.Errorf("--ppl-chunks %d must be ≥ 0", o.PPLChunks)}
	}
	plan, err := quant.ParsePlan(*planText)
	if err != nil {
		return usageError{fmt.Errorf("--quant: %w", err)}
	}
	o.Plan, o.A8, o.KL.LlamaCppCut, o.KVCache = plan, c.a8, *klCut, c.kv
	if *file == "" {
		o.Docs, o.Corpus = eval.DefaultCorpus(), eval.DefaultCorpusName
	} else {
		if o.Docs, err = eval.ReadCorpus(*file); err != nil {
			return err
		}
		o.Corpus = *file
	}

	ctx := o.PromptLen + o.Gen
	if o.PPLProtocol != "none" {
		ctx = max(ctx, o.PPLCtx)
	}
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	var progress func(done, total int)
	stage := ""
	o.Progress = func(s string, done, total int) {
		if s != stage {
			endProgress()
			stage, progress = s, progressLine(s)
		}
		if progress != nil {
			progress(done, total)
		}
	}
	r, err := eval.Compare(e, o)
	endProgress()
	if err != nil {
		return err
	}
	for _, u := range r.UnusedRules {
		fmt.Fprintf(os.Stderr, "divergo compare: warning: plan rule %q matches no component of this model\n", u)
	}
	if r.Corpus.Used < r.Corpus.Requested {
		fmt.Fprintf(os.Stderr, "divergo compare: note: only %d of %d documents have %d tokens; using %d samples, not %d\n",
			r.Corpus.Used, r.Corpus.Documents, r.PromptLen, r.Corpus.Used, r.Corpus.Requested)
	}
	if c.json {
		return emit(r)
	}
	printCompare(&r)
	return nil
}

func printCompare(r *eval.CompareResult) {
	printf("base        %s (%s), %s\n", r.Model.Path, r.Model.Format, compareMode(r.BaseMode, r.BaseA8Matrices))
	printf("compressed  plan %q: %d matrices, %d weights at %.3f bits/weight, %s\n",
		r.Plan, len(r.Changes), r.CompressedParams, r.BitsPerWeight, compareMode(r.Mode, r.A8Matrices))
	cu := r.Corpus
	printf("corpus      %s\n", cu.Name)
	printf("            %d prompts of n = %d tokens (BOS included) from documents %d…%d; %d of the %d examined were shorter and skipped\n",
		cu.Used, r.PromptLen, cu.FirstDoc, cu.LastDoc, cu.Short, cu.Examined)
	printf("protocol    base greedy continuation of G = %d tokens, EOS an ordinary token; one teacher-forced pass per model per sample\n", r.Gen)
	printf("self-check  %d of %d samples flagged (base decode ≠ base teacher forcing; repaired from the teacher-forced path)\n", r.Flagged, r.Samples)
	printf("kernels     %s, KV cache %s\n\n", r.ISA, r.KVCache)

	f, s := r.FDTM, r.SDTM
	printf("divergent tokens (%d samples × %d positions)\n", r.Samples, r.Gen)
	printf("  FDTM        mean %.3f ± %.3f   median %.1f   p10 %.1f   min %.0f   never diverged %.2f %%   (FDT/G %.4f)\n",
		f.Mean, f.Unc, f.Median, f.P10, f.Min, 100*f.FullShare, f.NormMean)
	printf("  SDTM        mean share %.5f ± %.5f   (%.2f of %d tokens)\n", s.Mean, s.Unc, s.Tokens, r.Gen)
	printf("next-token distributions on those positions (KL over the %s)\n", r.KLSupport)
	compareDist("KL (nats)", r.KL, 1, "%.6f")
	printf("  same top    %.3f ± %.3f %%\n", 100*r.SameTop, 100*r.SameTopUnc)
	compareDist("Δp (%)", r.DeltaP.Dist, 100, "%.4f")
	printf("  RMS Δp      %.4f ± %.4f %%\n", 100*r.DeltaP.RMS, 100*r.DeltaP.RMSUnc)
	printf("  near ties   %d base, %d compressed (top-2 margin < 1e-4)\n", r.NearTiesBase, r.NearTies)
	compareNLL("continuation NLL (the base's own greedy tokens)", r.Continuation)

	if r.Text == nil {
		printf("\nperplexity  %s\n", r.TextSkipped)
	} else {
		t := r.Text
		printf("\ncorpus text: %s protocol, ctx %d, %d windows, %d of %d tokens scored\n", t.Protocol, t.Ctx, t.Windows, t.Tokens, t.InputTokens)
		printf("  PPL(base)   %.4f ± %.4f\n", t.PPLBase, t.PPLBaseUnc)
		printf("  PPL(comp)   %.4f ± %.4f\n", t.PPL, t.PPLUnc)
		compareNLL("", t.NLLComparison)
		compareDist("KL (nats)", t.KL, 1, "%.6f")
		printf("  same top    %.3f ± %.3f %%\n", 100*t.SameTop, 100*t.SameTopUnc)
		printf("  RMS Δp      %.4f ± %.4f %%\n", 100*t.DeltaP.RMS, 100*t.DeltaP.RMSUnc)
	}
	tm := r.Timing
	printf("\ntime        %.2f s: setup %.2f, reference %.2f, compare %.2f, perplexity %.2f (%d threads)\n",
		tm.Total, tm.Setup, tm.Reference, tm.Compare, tm.PPL, tm.Threads)
}

func compareMode(mode string, a8 int) string {
	if a8 == 0 {
		return "float activations"
	}
	return fmt.Sprintf("%s (%d matrices with int8 activations)", mode, a8)
}

func compareDist(label string, d eval.Dist, scale float64, format string) {
	v := func(x float64) string { return fmt.Sprintf(format, scale*x) }
	printf("  %-11s mean %s ± %s   median %s   p90 %s   p95 %s   p99 %s   p99.9 %s   max %s\n", label,
		v(d.Mean), v(d.Unc), v(d.Median), v(d.P90), v(d.P95), v(d.P99), v(d.P99_9), v(d.Max))
}

func compareNLL(title string, c eval.NLLComparison) {
	if title != "" {
		printf("%s\n", title)
		printf("  mean NLL    base %.5f ± %.5f   compressed %.5f ± %.5f nats   (%d tokens)\n", c.NLLBase, c.NLLBaseUnc, c.NLL, c.NLLUnc, c.Tokens)
	}
	cor := "n/a"
	if c.Cor != nil {
		cor = fmt.Sprintf("%.4f", *c.Cor)
	}
	printf("  PPL ratio   %.5f ± %.5f   mean ln ratio %.5f ± %.5f   ΔPPL %.5f ± %.5f   cor %s\n",
		c.Ratio, c.RatioUnc, c.LnRatio, c.LnRatioUnc, c.Delta, c.DeltaUnc, cor)
}
