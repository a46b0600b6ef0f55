package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/divergo/divergo/eval"
	"github.com/divergo/divergo/quant"
)

func init() {
	register("erank", "effective rank of the hidden states and Diff-eRank against untrained or compressed", runERank)
}

func runERank(args []string) error {
	fs, c := newFlags("erank", "[-f CORPUS] [--limit N] [--layer L|all] [--seeds S] [--quant PLAN] [--json]")
	file := fs.String("f", "", "corpus: text file of blank-line-separated documents, or JSONL with a text field; one text per document (default: the embedded TinyStories excerpt)")
	var o eval.ERankOptions
	fs.IntVar(&o.Limit, "limit", 0, "use only the first N documents (0: all)")
	fs.IntVar(&o.MaxTokens, "max-tokens", 0, "truncate each text to N tokens, BOS included (0: 2048, or the model's context if shorter)")
	layer := fs.String("layer", "", "hidden state(s): L = residual stream entering layer L (0 = embeddings), n_layers = final normed state (default), a comma list, or all")
	fs.IntVar(&o.Seeds, "seeds", 3, "untrained initialisations (seeds --seed, --seed+1, …); mean ± std over them")
	planText := fs.String("quant", "", "compare with the model compressed under this plan instead of untrained: erank(base) − erank(compressed)")
	fs.BoolVar(&o.Items, "items", false, "add each text's eRanks to the JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Limit < 0 || o.MaxTokens < 0 {
		return usageError{fmt.Errorf("--limit and --max-tokens must be ≥ 0")}
	}
	if *planText == "" && o.Seeds < 1 {
		return usageError{fmt.Errorf("--seeds %d must be ≥ 1", o.Seeds)}
	}
	if *planText != "" {
		plan, err := quant.ParsePlan(*planText)
		if err != nil {
			return usageError{fmt.Errorf("--quant: %w", err)}
		}
		o.Plan = plan
	}
	o.Seed, o.A8 = c.seed, c.a8
	docs, err := docsOf(*file)
	if err != nil {
		return err
	}
	o.Corpus = *file
	if *file == "" {
		o.Corpus = eval.DefaultCorpusName
	}
	e, err := c.open(o.MaxTokens)
	if err != nil {
		return err
	}
	defer e.Close()
	L := e.Model.Config.Layers
	if o.Layers, err = parseLayers(*layer, L); err != nil {
		return usageError{err}
	}
	o.Progress = progressLine("erank texts")
	r, err := eval.ERank(e, docs, o)
	endProgress()
	if err != nil {
		return err
	}
	if c.json {
		return emit(r)
	}
	printf("model      %s\n", r.Model)
	printf("corpus     %s\n", r.Corpus)
	printf("texts      %d used, %d skipped (< 2 tokens); %d tokens, each text truncated at %d\n", r.Texts, r.Skipped, r.Tokens, r.MaxTokens)
	if r.Plan != "" {
		printf("compared   base vs compressed under %s (%d matrices)\n\n", r.Plan, r.Changed)
		printf("%-22s %10s %10s %10s\n", "hidden state", "erank", "compressed", "Δ base−comp")
	} else {
		printf("compared   trained vs untrained (HF Llama init, seeds %s)\n\n", joinSeeds(r.Seeds))
		printf("%-22s %10s %18s %18s\n", "hidden state", "erank", "untrained", "diff-erank")
	}
	rows := r.Layers
	if len(rows) == 0 {
		rows = []eval.ERankLayer{r.ERankLayer}
	}
	for _, l := range rows {
		name := fmt.Sprintf("input of layer %d", l.Layer)
		switch {
		case l.Layer == L:
			name = "final normed"
		case l.Layer == 0:
			name = "embeddings"
		}
		if r.Plan != "" {
			printf("%-22s %10.4f %10.4f %+11.4f\n", name, l.ERank, *l.ERankCompressed, *l.DeltaERank)
			continue
		}
		printf("%-22s %10.4f %18s %18s\n", name, l.ERank, pm(*l.ERankUntrained, l.ERankUntrainedStd), pm(*l.DiffERank, l.DiffERankStd))
	}
	printf("\ndataset level: exp(mean entropy over texts) per model (METRICS.md §3.2)")
	if r.Plan == "" {
		printf("; diff-erank = untrained − trained")
	}
	printf("\n")
	return nil
}

// docsOf reads -f FILE, or the embedded default corpus for "".
func docsOf(file string) ([]string, error) {
	if file == "" {
		return eval.DefaultCorpus(), nil
	}
	return eval.ReadCorpus(file)
}

// pm formats a mean and, when there is one, its standard deviation.
func pm(mean float64, std *float64) string {
	if std == nil {
		return fmt.Sprintf("%.4f", mean)
	}
	return fmt.Sprintf("%.4f ± %.4f", mean, *std)
}

func joinSeeds(s []uint64) string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(out, ", ")
}

// parseLayers reads --layer: "" (the final normed state, n_layers), "all"
// (0 … n_layers) or a comma list of hidden-state indices.
func parseLayers(s string, n int) ([]int, error) {
	switch s {
	case "":
		return []int{n}, nil
	case "all":
		out := make([]int, n+1)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		l, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || l < 0 || l > n {
			return nil, fmt.Errorf("--layer %q: want 0…%d (%d = final normed state), a comma list, or all", f, n, n)
		}
		out = append(out, l)
	}
	return out, nil
}
