package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sweepArgs is a tiny protocol on the embedded model.
var sweepArgs = []string{"--prompt-len", "16", "--gen", "8", "--samples", "3", "-t", "2"}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = runMain(args, &out, &errw)
	return code, out.String(), errw.String()
}

// TestSweepFirstCommand: with no -m, -f or -o the sweep writes its results,
// table, CSV and heatmaps into the current directory, and running it again
// re-reports the same run without recomputing it.
func TestSweepFirstCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, errs := runCLI(t, append([]string{"sweep"}, sweepArgs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"| # | component | spec |", "layers.4.mlp.down", "int4:g32", "70 jobs: 70 computed now",
		"wrote       sweep.jsonl, sweep.md, sweep.csv, sweep.png, sweep.svg"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	f, err := os.Open("sweep.png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() < 1000 || img.Bounds().Dy() < 300 {
		t.Errorf("sweep.png: %v, %v", err, img.Bounds())
	}
	svg, _ := os.ReadFile("sweep.svg")
	for _, want := range []string{"<svg", "int8", "int4:g32", "mlp.down", "FDTM"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("sweep.svg lacks %q", want)
		}
	}
	csv, _ := os.ReadFile("sweep.csv")
	if n := bytes.Count(csv, []byte("\n")); n != 71 {
		t.Errorf("sweep.csv has %d lines, want a header and 70 rows", n)
	}

	code, out, errs = runCLI(t, append([]string{"sweep"}, sweepArgs...)...)
	if code != 0 || !strings.Contains(out, "0 computed now, 70 already in sweep.jsonl") {
		t.Errorf("second run: exit %d: %s\n%s", code, errs, out)
	}
	// Another run is not mixed into the file.
	code, _, errs = runCLI(t, "sweep", "--prompt-len", "16", "--gen", "9", "--samples", "3")
	if code != 1 || !strings.Contains(errs, "different run (gen: 8 vs 9)") {
		t.Errorf("other settings on the same file: exit %d: %s", code, errs)
	}
}

// TestSweepShardsCLI: two shards, merged, give the table and heatmap of the
// whole run; an explicit existing -o needs --resume.
func TestSweepShardsCLI(t *testing.T) {
	dir := t.TempDir()
	args := append([]string{"sweep", "--quant", "int4:g32,q4_0", "--components", "layers.{1,3}", "--json"}, sweepArgs...)
	var shards []string
	for _, s := range []string{"0/2", "1/2"} {
		path := filepath.Join(dir, "s"+s[:1]+".jsonl")
		code, out, errs := runCLI(t, append(args, "--shard", s, "-o", path)...)
		if code != 0 {
			t.Fatalf("shard %s: exit %d: %s", s, code, errs)
		}
		var r struct {
			Jobs     int  `json:"jobs"`
			Complete bool `json:"complete"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.Jobs != 14 || r.Complete {
			t.Errorf("shard %s: %v %+v", s, err, r)
		}
		shards = append(shards, path)
	}
	if _, err := os.Stat(filepath.Join(dir, "s0.png")); err == nil {
		t.Error("a shard wrote a heatmap of partial rows")
	}
	code, _, errs := runCLI(t, append(args, "--shard", "0/2", "-o", shards[0])...)
	if code != 1 || !strings.Contains(errs, "--resume") {
		t.Errorf("existing -o without --resume: exit %d: %s", code, errs)
	}
	merged := filepath.Join(dir, "all.jsonl")
	code, out, errs := runCLI(t, "merge", "--metric", "kl", "--plot", filepath.Join(dir, "kl.svg"), merged, shards[1], shards[0])
	if code != 0 || !strings.Contains(out, "28 jobs, every one exactly once") {
		t.Fatalf("merge: exit %d: %s\n%s", code, errs, out)
	}
	for _, f := range []string{"all.jsonl", "all.md", "all.csv", "kl.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "all.md"))
	if !bytes.Contains(md, []byte("skipped: layers.1.mlp.down cannot take q4_0")) {
		t.Errorf("table lacks the skipped row:\n%s", md)
	}
	code, _, errs = runCLI(t, "merge", merged, shards[0])
	if code != 1 || !strings.Contains(errs, "exists") {
		t.Errorf("merge over an existing file: exit %d: %s", code, errs)
	}
	code, _, errs = runCLI(t, "merge", filepath.Join(dir, "x.jsonl"), shards[0])
	if code != 1 || !strings.Contains(errs, "14 of 28 jobs missing") {
		t.Errorf("merge of one shard: exit %d: %s", code, errs)
	}
}

// TestPlanCLI: a plan from a sweep file is usable as --quant @plan.json.
func TestPlanCLI(t *testing.T) {
	dir := t.TempDir()
	sweep := filepath.Join(dir, "s.jsonl")
	common := []string{"--prompt-len", "16", "--gen", "24", "--samples", "4", "-t", "2"}
	code, _, errs := runCLI(t, append([]string{"sweep", "--quant", "int4:g32", "--components", "layers.{0,2}.attn,layers.4", "-o", sweep}, common...)...)
	if code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, errs)
	}
	plan := filepath.Join(dir, "plan.json")
	code, out, errs := runCLI(t, append([]string{"plan", "--from", sweep, "--min-fdtm", "10", "-o", plan}, common...)...)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errs)
	}
	for _, want := range []string{"bits/weight over the 15 swept components", "ranked by   fdtm", "measured    FDTM", "| step |"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan report lacks %q:\n%s", want, out)
		}
	}
	code, _, errs = runCLI(t, append([]string{"compare", "--quant", "@" + plan, "--ppl-protocol", "none"}, common...)...)
	if code != 0 {
		t.Errorf("compare --quant @plan.json: exit %d: %s", code, errs)
	}
	code, _, errs = runCLI(t, append([]string{"plan", "--from", sweep, "-o", plan}, common...)...)
	if code != 2 || !strings.Contains(errs, "threshold") {
		t.Errorf("plan without threshold: exit %d: %s", code, errs)
	}
}

func TestSweepFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "--shard", "2/2"}, "--shard"},
		{[]string{"sweep", "--metric", "acc"}, "--metric"},
		{[]string{"sweep", "--quant", "int9"}, "--quant"},
		{[]string{"sweep", "--quant", "int8,int8"}, "--quant"},
		{[]string{"sweep", "--components", "layers.*.mlp.q"}, "--components"},
		{[]string{"sweep", "-o", "out.json"}, ".jsonl"},
		{[]string{"sweep", "--mem", "lots"}, "--mem"},
		{[]string{"sweep", "--cache", "f8"}, "cache"},
		{[]string{"plan", "--max-kl", "0.1", "--by", "acc"}, "rank by"},
		{[]string{"merge", "out.jsonl"}, "shard file"},
	} {
		code, _, errs := runCLI(t, c.args...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d: %s", c.args, code, errs)
		}
	}
}
