package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/divergo/divergo/eval"
	"github.com/divergo/divergo/metrics"
	"github.com/divergo/divergo/quant"
)

func init() {
	register("mc", "accuracy and flips on multiple-choice benchmarks (HellaSwag, MMLU, ARC, PIQA, WinoGrande, OBQA), bias on BBQ", runMC)
}

func runMC(args []string) error {
	fs, c := newFlags("mc", "--task NAME -f FILE [--quant PLAN] [--limit N] [--shots K] [--items OUT.jsonl] [--checkpoint FILE [--resume]] [--json]")
	task := fs.String("task", "", "benchmark: "+strings.Join(eval.TaskNames(), ", "))
	file := fs.String("f", "", "task file, or directory (MMLU: with dev/ and test/; BBQ: of category files)")
	planText := fs.String("quant", "", "compare with the model compressed under this plan (spec, selector=spec rules, or @plan.json)")
	var to eval.TaskOptions
	fs.IntVar(&to.Limit, "limit", 0, "score only the first N items (0: all)")
	fs.IntVar(&to.Shots, "shots", 0, "few-shot examples from the dev split (MMLU only, 0–5)")
	var o eval.MCOptions
	fs.StringVar(&o.Rule, "rule", "", "decision rule of flips and BBQ: acc or acc_norm (default: the task's)")
	bbqRule := fs.String("bbq-rule", "official", "BBQ bias rule: official (Parrish et al.) or repo (the Beyond-Perplexity code's heuristic)")
	fs.IntVar(&o.MaxLen, "c", 0, "token window; longer requests are cut from the left (default: the model's context length)")
	fs.IntVar(&o.MaxLen, "ctx", 0, "same as -c")
	fs.BoolVar(&o.NoBOS, "no-bos", false, "encode contexts without BOS (lm-eval before add_bos_token followed the tokenizer)")
	fs.IntVar(&o.Workers, "workers", 0, "items scored at once, one thread each (default: all threads for models up to 200M parameters, else 1)")
	items := fs.String("items", "", "write one JSON line per item to this file")
	fs.StringVar(&o.Checkpoint, "checkpoint", "", "append the raw scores to this file chunk by chunk (16 items), synced as they finish, so that a killed run can --resume")
	fs.BoolVar(&o.Resume, "resume", false, "continue the --checkpoint file of the same run: chunks present are read, not scored again")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *task == "" || *file == "" {
		return usageError{fmt.Errorf("--task NAME and -f FILE are required")}
	}
	if _, err := eval.CanonicalTask(*task); err != nil {
		return usageError{err}
	}
	if to.Limit < 0 || to.Shots < 0 || o.MaxLen < 0 || o.Workers < 0 {
		return usageError{fmt.Errorf("--limit, --shots, -c and --workers must be ≥ 0")}
	}
	switch o.Rule {
	case "", "acc", "acc_norm":
	default:
		return usageError{fmt.Errorf("--rule %q: want acc or acc_norm", o.Rule)}
	}
	switch *bbqRule {
	case "official":
		o.BBQRule = metrics.BBQOfficial
	case "repo":
		o.BBQRule = metrics.BBQRepo
	default:
		return usageError{fmt.Errorf("--bbq-rule %q: want official or repo", *bbqRule)}
	}
	if *planText != "" {
		plan, err := quant.ParsePlan(*planText)
		if err != nil {
			return usageError{fmt.Errorf("--quant: %w", err)}
		}
		o.Plan, o.A8 = plan, c.a8
	}
	t, err := eval.LoadTask(*task, *file, to)
	if err != nil {
		return err
	}
	e, err := c.open(o.MaxLen)
	if err != nil {
		return err
	}
	defer e.Close()
	if o.Resume && o.Checkpoint == "" {
		return usageError{fmt.Errorf("--resume needs --checkpoint FILE")}
	}
	o.Items = *items != ""
	o.KVCache = c.kv
	o.Progress = progressLine("mc items")
	r, err := eval.MC(e, t, o)
	endProgress()
	if err != nil {
		return err
	}
	for _, u := range r.UnusedRules {
		fmt.Fprintf(os.Stderr, "divergo mc: warning: plan rule %q matches no component of this model\n", u)
	}
	if n := len(r.Skipped); n > 0 {
		fmt.Fprintf(os.Stderr, "divergo mc: note: %d items left out, an option alone exceeds the %d-token window (first: %s); raise -c to score them\n",
			n, r.MaxLen, r.Skipped[0])
	}
	if r.Truncated > 0 {
		fmt.Fprintf(os.Stderr, "divergo mc: note: %d of %d items were cut from the left to the %d-token window\n", r.Truncated, r.N, r.MaxLen)
	}
	if *items != "" {
		if err := mcWriteJSONL(*items, r.Items); err != nil {
			return err
		}
	}
	if c.json {
		return emit(r)
	}
	printMC(&r)
	return nil
}

// mcWriteJSONL writes one JSON document per row to path through a
// temporary file that is synced and renamed, so a complete file or none
// is left behind (DESIGN §6).
func mcWriteJSONL[T any](path string, rows []T) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	enc := json.NewEncoder(tmp)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			tmp.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return nil
}

func mcPct(v float64) string { return fmt.Sprintf("%6.2f%%", 100*v) }

func printMC(r *eval.MCResult) {
	printf("task       %s (%s), %d items", r.Task, r.File, r.N)
	if len(r.Skipped) > 0 {
		printf(" (%d left out: an option exceeds the window)", len(r.Skipped))
	}
	if r.Task == "mmlu" {
		printf(", %d-shot", r.Shots)
	}
	printf("\nmodel      %s\n", r.Model)
	bos := "BOS"
	if !r.BOS {
		bos = "no BOS"
	}
	printf("requests   %d (context, continuation) pairs, %d positions run, window %d tokens (%s), %d items cut from the left\n",
		r.Requests, r.Positions, r.MaxLen, bos, r.Truncated)
	if r.Compare == nil {
		printf("\nacc        %s ± %.2f%%\nacc_norm   %s\n", mcPct(r.Acc), 100*r.AccStderr, mcPct(r.AccNorm))
	} else {
		a8 := ""
		if r.A8 {
			a8 = ", int8 activations"
		}
		printf("plan       %s (%d matrices, %.2f bits per weight%s)\n", r.Plan, r.Changed, r.BitsPerWeight, a8)
		printf("\n%-10s %9s %11s %9s\n", "", "base", "compressed", "Δ")
		printf("%-10s %9s %11s %+8.2f%%\n", "acc", mcPct(r.BaseAcc), mcPct(r.Acc), 100*(r.Acc-r.BaseAcc))
		printf("%-10s %9s %11s %+8.2f%%\n", "acc_norm", mcPct(r.BaseAccNorm), mcPct(r.AccNorm), 100*(r.AccNorm-r.BaseAccNorm))
		printf("\nflips under %s (the task's decision rule is marked *):\n", r.Rule)
		printf("%-10s %8s %6s %6s %6s %8s %10s %10s %8s %6s\n", "rule", "flips", "C→I", "I→C", "W→W′", "changes", "option KL", "top margin", "shift", "ties")
		for _, row := range []struct {
			name string
			f    eval.MCFlips
		}{{"acc", r.Compare.Acc}, {"acc_norm", r.Compare.AccNorm}} {
			mark := " "
			if row.name == r.Rule {
				mark = "*"
			}
			f := row.f
			printf("%-9s%s %8s %6d %6d %6d %8s %10.5f %10.4f %8.4f %6d\n", row.name, mark, mcPct(f.Flips),
				f.CorrectToWrong, f.WrongToCorrect, f.WrongToWrong, mcPct(f.AllChanges), f.OptionKL, f.TopMargin, f.ProbShift, f.NearTies)
		}
		f := r.Compare.Acc
		if r.Rule == "acc_norm" {
			f = r.Compare.AccNorm
		}
		if f.TopMarginFlipped != nil {
			printf("mean base top margin: %.4f over the flipped items, %.4f over all\n", *f.TopMarginFlipped, f.TopMargin)
		}
	}
	if len(r.Subsets) > 1 && r.BBQ == nil {
		printf("\n%-45s %6s %9s", "subset", "n", "acc")
		if r.Flips != nil {
			printf(" %9s %8s", "base acc", "flips")
		}
		printf("\n")
		for _, s := range r.Subsets {
			printf("%-45s %6d %9s", s.Name, s.N, mcPct(s.Acc))
			if s.Flips != nil {
				printf(" %9s %8s", mcPct(s.BaseAcc), mcPct(*s.Flips))
			}
			printf("\n")
		}
	}
	if r.BBQ != nil {
		printMCBBQ(r.BBQ)
	}
	printf("\n%.1f items/s (%.2f s, %d threads, %d workers)", r.Timing.ItemsPerSecond, r.Timing.Seconds, r.Timing.Threads, r.Timing.Workers)
	if r.Timing.Resumed > 0 {
		printf("; %d items read from the checkpoint", r.Timing.Resumed)
	}
	printf("\n")
}

func printMCBBQ(b *eval.MCBBQ) {
	opt := func(v *float64) string {
		if v == nil {
			return "     —"
		}
		return fmt.Sprintf("%+6.3f", *v)
	}
	table := func(title string, t eval.MCBBQTable) {
		printf("\nBBQ %s (%s rule)\n%-22s %6s %6s %8s %8s %8s %8s\n", title, b.Rule, "category", "n amb", "n dis", "acc amb", "acc dis", "s_AMB", "s_DIS")
		for _, c := range append(t.Categories, t.Mean) {
			printf("%-22s %6d %6d %8s %8s %8s %8s\n", c.Name, c.NAmb, c.NDis, opt(c.AccAmb), opt(c.AccDis), opt(c.SAmb), opt(c.SDis))
		}
	}
	if b.Base != nil {
		table("base", *b.Base)
		table("compressed", b.Model)
	} else {
		table("", b.Model)
	}
	if b.Untargeted > 0 {
		printf("%d items without a stereotyped option are left out of the official bias\n", b.Untargeted)
	}
	for _, u := range b.Undefined {
		printf("note: %s\n", u)
	}
}
