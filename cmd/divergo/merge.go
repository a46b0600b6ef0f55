package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"

	"github.com/divergo/divergo/eval"
)

func init() {
	register("merge", "join the results files of sweep shards, check every job is there once, write the table and heatmap", runMerge)
}

func runMerge(args []string) error {
	fs, c := newFlags("merge", "[--metric M] [--plot FILE] [--table FILE] [--csv FILE] OUT.jsonl SHARD.jsonl...")
	var of outputFlags
	addOutputFlags(fs, &of)
	force := fs.Bool("force", false, "replace an existing OUT.jsonl that is not one of the inputs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() < 2 {
		return usageError{fmt.Errorf("want OUT.jsonl and at least one shard file")}
	}
	out, inputs := fs.Arg(0), fs.Args()[1:]
	if _, err := eval.ParseSweepMetric(of.metric, nil); err != nil {
		return usageError{fmt.Errorf("--metric: %w", err)}
	}
	if _, err := os.Stat(out); err == nil && !*force && !slices.Contains(inputs, out) {
		return fmt.Errorf("%s exists and is not one of the inputs; choose another name or pass --force", out)
	}
	r, err := eval.MergeResults(out, inputs)
	if err != nil {
		return err
	}
	written, err := of.write(out, r.Header, r.Rows)
	if err != nil {
		return err
	}
	if c.json {
		return emit(struct {
			eval.MergeResult
			Written []string `json:"written"`
		}{r, written})
	}
	var table bytes.Buffer
	if err := eval.WriteMarkdown(&table, r.Header, r.Rows); err != nil {
		return err
	}
	printf("%s\n", table.String())
	printf("merged      %d files, %d jobs, every one exactly once → %s\n", len(inputs), r.Jobs, out)
	if len(written) > 0 {
		printf("wrote       %v\n", written)
	}
	return nil
}
