package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/divergo/divergo/eval"
	"github.com/divergo/divergo/quant"
)

func init() {
	register("sweep", "compress each component alone and measure the drift: one row per component and setting", runSweep)
}

// Defaults of the first command (`divergo sweep` with no flags).
const (
	sweepDefaultQuant  = "int8,int4:g32"
	sweepDefaultOutput = "sweep.jsonl"
)

// sweepFlags are the flags sweep and plan share.
type sweepFlags struct {
	quant, components, file string
	o                       eval.SweepOptions
	klCut, ppl, noCache     bool
	mem                     string
}

func addSweepFlags(fs *flag.FlagSet, sf *sweepFlags, quantDefault string) {
	fs.StringVar(&sf.quant, "quant", quantDefault, "settings to sweep, comma-separated specs (int8,int4:g128,prune:0.5 …)")
	fs.StringVar(&sf.components, "components", "", "components to sweep, comma-separated selectors (default: the seven matrices of every layer; name embed or lm_head to add them)")
	fs.StringVar(&sf.file, "f", "", "corpus: text file of blank-line-separated documents, or JSONL with a text field (default: the embedded TinyStories excerpt)")
	fs.IntVar(&sf.o.PromptLen, "prompt-len", eval.DefaultSweepPromptLen, "prompt length n in tokens, BOS included")
	fs.IntVar(&sf.o.Gen, "gen", eval.DefaultSweepGen, "greedy continuation length G in tokens")
	fs.IntVar(&sf.o.Samples, "samples", eval.DefaultSweepSamples, "number of prompts S (the first S documents with ≥ n tokens)")
	fs.BoolVar(&sf.klCut, "kl-cut", false, "sum KL only where the base log-probability exceeds -16, as llama.cpp does")
	fs.BoolVar(&sf.ppl, "ppl", false, "also measure the corpus perplexity of every row (two whole-model passes per window per row)")
	fs.StringVar(&sf.o.PPLProtocol, "ppl-protocol", eval.DefaultPPLProtocol, "perplexity protocol with --ppl: llamacpp, disjoint or stride:S")
	fs.IntVar(&sf.o.PPLCtx, "c", eval.DefaultPPLCtx, "perplexity window length with --ppl")
	fs.IntVar(&sf.o.PPLChunks, "ppl-chunks", 0, "with --ppl, score only the first N windows (0: all)")
	fs.StringVar(&sf.o.Cache, "cache", eval.CacheAuto, "prefix cache: auto, f32, f16 or off")
	fs.BoolVar(&sf.noCache, "no-cache", false, "no prefix caching: run the whole model for every row (same rows, slower; for benchmarks)")
	fs.StringVar(&sf.mem, "mem", "4GiB", "memory budget for cached residual streams and base logit rows")
	fs.IntVar(&sf.o.Workers, "workers", 0, "samples run at once, one thread each (0: one per thread up to 200M parameters, else 1)")
}

// options checks the shared flags and fills the sweep options.
func (sf *sweepFlags) options(c *common) (eval.SweepOptions, error) {
	o := sf.o
	for _, f := range []struct {
		name string
		v    int
	}{{"--prompt-len", o.PromptLen}, {"--gen", o.Gen}, {"--samples", o.Samples}, {"-c", o.PPLCtx}} {
		if f.v < 1 {
			return o, usageError{fmt.Errorf("%s %d must be ≥ 1", f.name, f.v)}
		}
	}
	if o.PPLChunks < 0 || o.Workers < 0 {
		return o, usageError{fmt.Errorf("--ppl-chunks and --workers must be ≥ 0")}
	}
	var err error
	if o.Specs, err = quant.ParseSpecList(sf.quant); err != nil {
		return o, usageError{fmt.Errorf("--quant: %w", err)}
	}
	seen := map[string]bool{}
	for _, s := range o.Specs {
		if seen[s.String()] {
			return o, usageError{fmt.Errorf("--quant: setting %s given twice", s)}
		}
		seen[s.String()] = true
	}
	if sf.components != "" {
		if o.Components, err = quant.ParseSelectorList(sf.components); err != nil {
			return o, usageError{fmt.Errorf("--components: %w", err)}
		}
	}
	if o.Mem, err = parseBytes(sf.mem); err != nil {
		return o, usageError{fmt.Errorf("--mem: %w", err)}
	}
	if sf.noCache {
		o.Cache = eval.CacheOff
	}
	if !sf.ppl {
		o.PPLProtocol = "none"
	} else if o.PPLProtocol == "none" {
		return o, usageError{fmt.Errorf("--ppl with --ppl-protocol none")}
	}
	o.A8, o.KL.LlamaCppCut, o.KVCache = c.a8, sf.klCut, c.kv
	if sf.file == "" {
		o.Docs, o.Corpus = eval.DefaultCorpus(), eval.DefaultCorpusName
	} else {
		if o.Docs, err = eval.ReadCorpus(sf.file); err != nil {
			return o, err
		}
		o.Corpus = sf.file
	}
	return o, nil
}

// context is the longest sequence the sweep runs.
func (sf *sweepFlags) context(o *eval.SweepOptions) int {
	ctx := o.PromptLen + o.Gen
	if o.PPLProtocol != "none" {
		ctx = max(ctx, o.PPLCtx)
	}
	return ctx
}

// outputFlags are the derived outputs of sweep and merge.
type outputFlags struct {
	metric, plot, table, csv string
}

func addOutputFlags(fs *flag.FlagSet, of *outputFlags) {
	fs.StringVar(&of.metric, "metric", "fdtm", "heatmap colour: "+strings.Join(eval.SweepMetricNames, ", "))
	fs.StringVar(&of.plot, "plot", "", "heatmap file: NAME.png or NAME.svg for one, NAME for both (default: the results name; none: no plot)")
	fs.StringVar(&of.table, "table", "", "Markdown table file (default: the results name with .md; none: no file)")
	fs.StringVar(&of.csv, "csv", "", "CSV file (default: the results name with .csv; none: no file)")
}

// write writes the table, CSV and heatmaps of a complete set of rows and
// returns the files written.
func (of *outputFlags) write(results string, h eval.SweepHeader, rows []eval.SweepRow) ([]string, error) {
	stem := strings.TrimSuffix(results, ".jsonl")
	pick := func(v, ext string) []string {
		switch v {
		case "none":
			return nil
		case "":
			return []string{stem + ext}
		}
		return []string{v}
	}
	var written []string
	for _, f := range pick(of.table, ".md") {
		if err := eval.WriteFileAtomic(f, func(w io.Writer) error { return eval.WriteMarkdown(w, h, rows) }); err != nil {
			return written, err
		}
		written = append(written, f)
	}
	for _, f := range pick(of.csv, ".csv") {
		if err := eval.WriteFileAtomic(f, func(w io.Writer) error { return eval.WriteCSV(w, rows) }); err != nil {
			return written, err
		}
		written = append(written, f)
	}
	m, err := eval.ParseSweepMetric(of.metric, rows)
	if err != nil {
		return written, usageError{fmt.Errorf("--metric: %w", err)}
	}
	plots := pick(of.plot, "")
	if len(plots) == 1 && !strings.HasSuffix(plots[0], ".png") && !strings.HasSuffix(plots[0], ".svg") {
		plots = []string{plots[0] + ".png", plots[0] + ".svg"}
	}
	for _, f := range plots {
		if err := eval.WriteHeatmap(f, h, rows, m); err != nil {
			return written, err
		}
		written = append(written, f)
	}
	return written, nil
}

func runSweep(args []string) error {
	fs, c := newFlags("sweep", "[--quant SPECS] [--components SEL] [-f CORPUS] [-o OUT.jsonl] [--resume] [--shard i/n] [--metric M] [--plot FILE]")
	var sf sweepFlags
	addSweepFlags(fs, &sf, sweepDefaultQuant)
	var of outputFlags
	addOutputFlags(fs, &of)
	out := fs.String("o", "", "results file, JSON lines appended row by row (default: "+sweepDefaultOutput+", resumed when it holds the same run)")
	resume := fs.Bool("resume", false, "continue an existing results file of the same run: rows present are skipped, never duplicated")
	shard := fs.String("shard", "", "run one slice i/n of the jobs (job j belongs to shard j mod n); join the files with divergo merge")
	if err := parse(fs, args); err != nil {
		return err
	}
	o, err := sf.options(c)
	if err != nil {
		return err
	}
	if _, err := eval.ParseSweepMetric(of.metric, nil); err != nil {
		return usageError{fmt.Errorf("--metric: %w", err)}
	}
	if *shard != "" {
		if o.Shard, err = eval.ParseShard(*shard); err != nil {
			return usageError{fmt.Errorf("--shard: %w", err)}
		}
	}
	o.Output, o.Resume = *out, *resume
	if o.Output == "" {
		// The first command: rerunning it continues (or just re-reports)
		// the same run instead of failing on the file it wrote before.
		o.Output, o.Resume = sweepDefaultOutput, true
	}
	if !strings.HasSuffix(o.Output, ".jsonl") {
		return usageError{fmt.Errorf("-o %s: the results file must end in .jsonl", o.Output)}
	}

	e, err := c.open(sf.context(&o))
	if err != nil {
		return err
	}
	defer e.Close()
	sp := newSweepProgress(os.Stderr, sweepStderrTerminal())
	o.Progress, o.OnRow = sp.update, sp.row
	r, err := eval.Sweep(e, o)
	sp.finish()
	if err != nil {
		return err
	}
	if r.Truncated > 0 {
		fmt.Fprintf(os.Stderr, "divergo sweep: note: removed an unfinished last line (%d bytes) of %s; that row was run again\n", r.Truncated, r.Output)
	}
	if r.Corpus.Used < r.Corpus.Requested && r.Ran > 0 {
		fmt.Fprintf(os.Stderr, "divergo sweep: note: only %d of %d documents have %d tokens; using %d samples, not %d\n",
			r.Corpus.Used, r.Corpus.Documents, r.Header.Run.PromptLen, r.Corpus.Used, r.Corpus.Requested)
	}
	if r.Cache.Note != "" {
		fmt.Fprintf(os.Stderr, "divergo sweep: note: %s\n", r.Cache.Note)
	}
	var written []string
	if r.Complete {
		if written, err = of.write(o.Output, r.Header, r.Rows); err != nil {
			return err
		}
	}
	if c.json {
		return emit(r)
	}
	var table bytes.Buffer
	if err := eval.WriteMarkdown(&table, r.Header, r.Rows); err != nil {
		return err
	}
	printf("%s\n", table.String())
	printSweepSummary(&r, written)
	return nil
}

func printSweepSummary(r *eval.SweepResult, written []string) {
	run := &r.Header.Run
	shard := ""
	if r.Header.Shard != "" {
		shard = fmt.Sprintf(" of shard %s", r.Header.Shard)
	}
	printf("rows        %d jobs%s: %d computed now, %d already in %s, %d skipped (the component cannot take the setting)\n",
		r.Jobs, shard, r.Ran, r.Resumed, r.Output, r.Skipped)
	if r.Ran > 0 {
		printf("samples     %d prompts of n = %d from documents %d…%d of %s; %d flagged by the self-check\n",
			r.Corpus.Used, run.PromptLen, r.Corpus.FirstDoc, r.Corpus.LastDoc, r.Corpus.Name, r.Flagged)
		cr := r.Cache
		if cr.Mode == "prefix" {
			printf("cache       prefix, %s residual streams, %d of %d layers at a time (%s each), %d base pass(es); base rows in %s (%s)\n",
				cr.Precision, cr.Window, run.Config.Layers, sweepMiB(cr.LayerBytes), max(cr.Groups, 1), cr.BaseRows, sweepMiB(cr.BaseRowsBytes))
		} else {
			printf("cache       off: every row runs the whole model; base rows in %s (%s)\n", cr.BaseRows, sweepMiB(cr.BaseRowsBytes))
		}
		t := r.Timing
		printf("time        %.2f s: references %.2f, base pass %.2f, cache recompute %.2f, rows %.2f (%d threads, %d samples at once)\n",
			t.Total, t.Reference, t.Base, t.Recompute, t.Components, t.Threads, t.Workers)
	}
	if !r.Complete {
		printf("incomplete  this file holds %d of the run's %d jobs; join the shards with: divergo merge OUT.jsonl SHARD.jsonl…\n", len(r.Rows), run.Jobs)
		return
	}
	if len(written) > 0 {
		printf("wrote       %s, %s\n", r.Output, strings.Join(written, ", "))
	}
}

func sweepMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
