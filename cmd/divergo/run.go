package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/divergo/divergo/eval"
)

func init() {
	register("info", "model config, tensors, formats, parameter count and kernel path", runInfo)
	register("tokenize", "token ids of a text", runTokenize)
	register("generate", "continue a prompt", runGenerate)
	register("logits", "logits of every position of a token sequence", runLogits)
	register("ppl", "perplexity of a text under a named protocol", runPPL)
}

func runInfo(args []string) error {
	fs, c := newFlags("info", "[-m MODEL] [--json]")
	if err := parse(fs, args); err != nil {
		return err
	}
	o, err := c.options(0)
	if err != nil {
		return err
	}
	o.TokenizerOptional = true
	e, err := eval.Open(o)
	if err != nil {
		// Not a runnable model (a vocabulary-only GGUF, a bare tensor
		// file): describe the file itself when it is one we can read.
		f, ferr := eval.DescribeFile(c.model)
		if c.model == "" || ferr != nil {
			return err
		}
		return printFileInfo(f, err, c.json)
	}
	defer e.Close()
	info := eval.Info(e)
	if c.json {
		return emit(info)
	}
	cfg := info.Config
	printf("model      %s (%s)\n", info.Source.Path, info.Source.Format)
	printf("shape      dim %d, hidden %d, layers %d, heads %d (kv %d, head dim %d), vocab %d, context %d\n",
		cfg.Dim, cfg.HiddenDim, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.HeadDim, cfg.Vocab, cfg.MaxSeq)
	printf("norm eps   %g   rope θ %g (%s pairs)   tied embeddings %v\n", cfg.NormEps, cfg.RopeTheta, info.RoPE, info.Tied)
	printf("params     %d (%.2f M)\n", info.Params, float64(info.Params)/1e6)
	var formats []string
	for f, n := range info.Formats {
		formats = append(formats, fmt.Sprintf("%s ×%d", f, n))
	}
	printf("formats    %s\n", strings.Join(sortedStrings(formats), ", "))
	if info.Vocab > 0 {
		printf("tokenizer  %d pieces, BOS %d, EOS %d\n", info.Vocab, info.BOS, info.EOS)
	} else {
		printf("tokenizer  none found beside the model (pass --tokenizer to run text)\n")
	}
	printf("kernels    %s (available: %s), %d threads\n", info.ISA, strings.Join(info.ISAs, ", "), info.Threads)
	printf("cpu        %s\n", info.CPU)
	if info.A8Matrices > 0 {
		printf("a8         %d matrices run with int8 activations\n", info.A8Matrices)
	}
	printf("\n%-22s %-8s %12s\n", "component", "format", "shape")
	for _, t := range info.Tensors {
		printf("%-22s %-8s %12s\n", t.Name, t.Format, fmt.Sprintf("%d×%d", t.Rows, t.Cols))
	}
	return nil
}

func runTokenize(args []string) error {
	fs, c := newFlags("tokenize", "--text S [--no-bos] [--json]")
	text := fs.String("text", "", "text to tokenize")
	file := fs.String("f", "", "read the text from a file instead")
	noBOS := fs.Bool("no-bos", false, "do not prepend BOS")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		*text = string(b)
	}
	e, err := c.open(0)
	if err != nil {
		return err
	}
	defer e.Close()
	t := eval.Tokenize(e, *text, !*noBOS)
	if c.json {
		return emit(t)
	}
	for i, id := range t.IDs {
		printf("%6d  %q\n", id, t.Pieces[i])
	}
	printf("%d tokens\n", len(t.IDs))
	return nil
}

func runGenerate(args []string) error {
	fs, c := newFlags("generate", "[-p PROMPT] [-n N] [--temp T --top-p P] [--json]")
	var o eval.GenerateOptions
	fs.StringVar(&o.Prompt, "p", "", "prompt (BOS is prepended)")
	fs.StringVar(&o.Prompt, "prompt", "", "same as -p")
	fs.IntVar(&o.N, "n", 256, "tokens to generate")
	fs.Float64Var(&o.Temperature, "temp", 0, "sampling temperature (0: greedy)")
	fs.Float64Var(&o.TopP, "top-p", 0.9, "nucleus sampling threshold (with --temp > 0)")
	stopEOS := fs.Bool("stop-eos", true, "stop at the end-of-sequence token")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.N < 0 {
		return usageError{fmt.Errorf("-n %d must be ≥ 0", o.N)}
	}
	o.Seed, o.StopAtEOS = c.seed, *stopEOS
	e, err := c.open(0)
	if err != nil {
		return err
	}
	defer e.Close()
	if !c.json {
		printf("%s", o.Prompt)
		o.OnText = func(s string) { printf("%s", s) }
	}
	g, err := eval.Generate(e, o)
	if err != nil {
		return err
	}
	if c.json {
		return emit(g)
	}
	printf("\n")
	fmt.Fprintf(os.Stderr, "%d tokens in %.2f s (%.1f tokens/s)\n", len(g.IDs), g.Seconds, g.TokensSec)
	return nil
}

func runLogits(args []string) error {
	fs, c := newFlags("logits", "--ids 1,2,3 [--top K] [--json]")
	ids := fs.String("ids", "1", "comma-separated token ids")
	top := fs.Int("top", 0, "report only the K largest logits of each position (0: all; text output defaults to 5)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var seq []int
	for _, f := range strings.Split(*ids, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return usageError{fmt.Errorf("--ids: %q is not a token id", f)}
		}
		seq = append(seq, id)
	}
	e, err := c.open(len(seq))
	if err != nil {
		return err
	}
	defer e.Close()
	k := *top
	if !c.json && k == 0 {
		k = 5
	}
	l, err := eval.LogitsOf(e, seq, k)
	if err != nil {
		return err
	}
	if c.json {
		return emit(l)
	}
	for p, items := range l.Top {
		printf("position %d (input %d):", p, seq[p])
		for _, it := range items {
			printf("  %d %q %.5f", it.ID, it.Piece, it.Logit)
		}
		printf("\n")
	}
	return nil
}

func runPPL(args []string) error {
	fs, c := newFlags("ppl", "-f FILE [-c CTX] [--protocol disjoint|stride:S|llamacpp] [--chunks N] [--json]")
	file := fs.String("f", "", "text file (or JSONL with a text field)")
	var o eval.PPLOptions
	fs.IntVar(&o.Ctx, "c", 512, "context (window) length in tokens")
	fs.IntVar(&o.Ctx, "ctx", 512, "same as -c")
	fs.StringVar(&o.Protocol, "protocol", "llamacpp", "disjoint (GPTQ/AWQ), stride:S (HF sliding window) or llamacpp")
	fs.IntVar(&o.Chunks, "chunks", 0, "score only the first N windows (0: all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usageError{fmt.Errorf("-f FILE is required")}
	}
	text, err := eval.ReadText(*file)
	if err != nil {
		return err
	}
	e, err := c.open(o.Ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	o.Progress = progressLine("ppl windows")
	r, err := eval.Perplexity(e, text, o)
	endProgress()
	if err != nil {
		return err
	}
	if c.json {
		return emit(r)
	}
	printf("PPL = %.4f ± %.5f   (mean NLL %.6f ± %.6f nats)\n", r.PPL, r.PPLUnc, r.NLL, r.NLLUnc)
	printf("protocol %s, ctx %d, %d windows, %d tokens scored of %d\n", r.Protocol, r.Ctx, r.Windows, r.Tokens, r.Input)
	return nil
}

// printFileInfo reports a file that holds model data but is not a runnable
// model, with the reason it is not.
func printFileInfo(f eval.FileSummary, loadErr error, asJSON bool) error {
	if asJSON {
		return emit(struct {
			File      eval.FileSummary `json:"file"`
			NotAModel string           `json:"not_a_model"`
		}{f, loadErr.Error()})
	}
	printf("file       %s (%s", f.Path, f.Format)
	if f.Version > 0 {
		printf(" v%d", f.Version)
	}
	printf(", %d bytes, %d tensors)\n", f.Bytes, len(f.Tensors))
	printf("not a runnable model: %s\n", oneLine(loadErr.Error()))
	if len(f.Metadata) > 0 {
		printf("\n%-44s %-8s %s\n", "metadata", "type", "value")
		for _, kv := range f.Metadata {
			printf("%-44s %-8s %s\n", kv.Key, kv.Type, kv.Value)
		}
	}
	if len(f.Tensors) > 0 {
		printf("\n%-44s %-8s %-16s %s\n", "tensor", "type", "shape", "bytes")
		for _, t := range f.Tensors {
			printf("%-44s %-8s %-16s %d\n", t.Name, t.Type, fmt.Sprint(t.Shape), t.Bytes)
		}
	}
	return nil
}
