package eval

import (
	"bytes"
	csvpkg "encoding/csv"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/divergo/divergo/quant"
)

func sweepSpecs(t testing.TB, s string) []quant.Spec {
	t.Helper()
	sp, err := quant.ParseSpecList(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func sweepSel(t testing.TB, s string) []quant.Selector {
	t.Helper()
	sel, err := quant.ParseSelectorList(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// sweepSmall is a fast sweep of the embedded model: a few samples, short
// continuations, and components that cover every start layer, embed,
// lm_head and a spec that some components cannot take (q4_0 on the
// 172-column mlp.down).
func sweepSmall(t testing.TB) SweepOptions {
	return SweepOptions{
		Specs:      sweepSpecs(t, "int4:g32,q4_0"),
		Components: sweepSel(t, "embed,layers.0.attn.q,layers.1.mlp.down,layers.2.attn.v,layers.3.mlp.up,layers.4.attn.o,layers.4.mlp.down,lm_head"),
		Docs:       DefaultCorpus(), Corpus: DefaultCorpusName,
		PromptLen: 16, Gen: 12, Samples: 5,
	}
}

// rowLines returns each row as JSON with its timing zeroed: what must be
// byte-identical between runs.
func rowLines(t testing.TB, rows []SweepRow) []string {
	t.Helper()
	var out []string
	for _, r := range rows {
		r.Timing = RowTiming{}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func sameRows(t *testing.T, what string, got, want []SweepRow) {
	t.Helper()
	g, w := rowLines(t, got), rowLines(t, want)
	if len(g) != len(w) {
		t.Fatalf("%s: %d rows, want %d", what, len(g), len(w))
	}
	for i := range g {
		if g[i] != w[i] {
			t.Fatalf("%s: row %d differs:\n got %s\nwant %s", what, i, g[i], w[i])
		}
	}
}

// TestSweepCacheIdentical: prefix-cached rows equal whole-model rows byte
// for byte, also when memory holds one layer at a time (the later layers
// recomputed from the previous group), and whatever the number of workers.
func TestSweepCacheIdentical(t *testing.T) {
	e := embeddedEnv(t, 2)
	o := sweepSmall(t)
	o.Cache, o.Workers = CacheOff, 1
	off, err := Sweep(e, o)
	if err != nil {
		t.Fatal(err)
	}
	if off.Cache.Mode != "off" || off.Header.Run.Residual != "exact" {
		t.Fatalf("cache off: %+v, residual %s", off.Cache, off.Header.Run.Residual)
	}
	// One layer: S·T·dim·4 bytes, T = n+G−1; base rows S·G·vocab·4.
	S, T, G := 5, 16+12-1, 12
	layer := int64(S * T * 64 * 4)
	if rows := int64(S * G * 512 * 4); 2*layer+10 >= 2*rows {
		t.Fatal("test sizes: the base rows must exceed the budgets below")
	}
	for _, c := range []struct {
		name    string
		mem     int64
		workers int
		window  int
	}{
		{"all layers", 0, 2, 5},
		// Budgets under twice the base rows put those on disk.
		{"one layer at a time, rows on disk", layer + 10, 2, 1},
		{"two layers, one worker", 2*layer + 10, 1, 2},
	} {
		o := sweepSmall(t)
		o.Mem, o.Workers = c.mem, c.workers
		r, err := Sweep(e, o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Cache.Mode != "prefix" || r.Cache.Precision != "f32" || r.Cache.Window != c.window || (r.Cache.BaseRows == "disk") != (c.mem > 0) {
			t.Fatalf("%s: cache %+v, want f32 prefix with a window of %d", c.name, r.Cache, c.window)
		}
		if c.window == 1 && r.Cache.Groups != 5 {
			t.Errorf("%s: %d groups, want 5", c.name, r.Cache.Groups)
		}
		sameRows(t, c.name, r.Rows, off.Rows)
	}
	skipped := 0
	for _, r := range off.Rows {
		if r.Skipped != "" {
			skipped++
			if r.Kind != "mlp.down" || r.Spec != "q4_0" || r.Divergence != nil || !strings.Contains(r.Skipped, "172") {
				t.Errorf("skipped row %+v", r)
			}
		}
	}
	if skipped != 2 || len(off.Rows) != 16 {
		t.Errorf("%d rows with %d skipped, want 16 with 2 (q4_0 on the two mlp.down)", len(off.Rows), skipped)
	}
}

// TestSweepF16Cache: a float16 cache is reported and only perturbs rows at
// the rounding level.
func TestSweepF16Cache(t *testing.T) {
	e := embeddedEnv(t, 2)
	o := sweepSmall(t)
	o.Specs = sweepSpecs(t, "int8")
	o.Components = sweepSel(t, "layers.2.mlp.up,layers.4.attn.q")
	exact, err := Sweep(e, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Cache = CacheF16
	half, err := Sweep(e, o)
	if err != nil {
		t.Fatal(err)
	}
	if half.Header.Run.Residual != "f16" || half.Cache.Precision != "f16" {
		t.Fatalf("f16 cache reported as %+v, residual %s", half.Cache, half.Header.Run.Residual)
	}
	for i := range exact.Rows {
		a, b := exact.Rows[i].KL.Mean, half.Rows[i].KL.Mean
		if b < 0 || b > 10*a+1e-5 {
			t.Errorf("%s: KL %g with the f16 cache, %g exact", exact.Rows[i].Component, b, a)
		}
	}
}

// TestSweepMatchesCompare: a sweep row is the compare result of the plan
// that compresses that one component.
func TestSweepMatchesCompare(t *testing.T) {
	e := embeddedEnv(t, 2)
	o := sweepSmall(t)
	o.Specs = sweepSpecs(t, "int4:g32")
	o.Components = sweepSel(t, "layers.3.mlp.up")
	r, err := Sweep(e, o)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := quant.ParsePlan("layers.3.mlp.up=int4:g32")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compare(e, CompareOptions{Plan: plan, Docs: o.Docs, Corpus: o.Corpus, PromptLen: 16, Gen: 12, Samples: 5, PPLProtocol: "none"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(r.Rows[0].Divergence)
	want, _ := json.Marshal(c.Divergence)
	if !bytes.Equal(got, want) {
		t.Errorf("sweep row\n%s\ncompare\n%s", got, want)
	}
	if r.Rows[0].Bits != c.Changes[0].Bits || r.Rows[0].Params != c.CompressedParams {
		t.Errorf("bits %d params %d, compare %d %d", r.Rows[0].Bits, r.Rows[0].Params, c.Changes[0].Bits, c.CompressedParams)
	}
}

// sweepChildEnv names the results file a re-executed test binary writes
// before it kills itself (TestSweepKilledChild).
const sweepChildEnv = "DIVERGO_SWEEP_KILL_CHILD"

// TestSweepKilledChild is the child of TestSweepResumeAfterKill: it runs
// the sweep into the file named by the environment and SIGKILLs itself
// after a given number of compared samples, usually in the middle of a row.
func TestSweepKilledChild(t *testing.T) {
	path := os.Getenv(sweepChildEnv)
	if path == "" {
		t.Skip("child process of TestSweepResumeAfterKill")
	}
	at, _ := strconv.Atoi(os.Getenv(sweepChildEnv + "_AT"))
	e := embeddedEnv(t, 2)
	o := sweepSmall(t)
	o.Output, o.Resume = path, true
	o.Progress = func(stage string, done, total int) {
		// >=: a skipped row advances the count by all its samples at once.
		if stage == "components" && done >= at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	if _, err := Sweep(e, o); err != nil {
		t.Fatal(err)
	}
	t.Fatal("not killed")
}

// TestSweepResumeAfterKill: a sweep killed (SIGKILL) at a random point and
// resumed gives exactly the rows of an uninterrupted run, each once.
func TestSweepResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	e := embeddedEnv(t, 2)
	o := sweepSmall(t)
	o.Output = filepath.Join(dir, "whole.jsonl")
	whole, err := Sweep(e, o)
	if err != nil {
		t.Fatal(err)
	}
	units := whole.Jobs * 5 // samples over the jobs
	for round := 0; round < 2; round++ {
		at := 1 + rand.IntN(units-1)
		path := filepath.Join(dir, "killed"+strconv.Itoa(round)+".jsonl")
		cmd := exec.Command(os.Args[0], "-test.run=^TestSweepKilledChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), sweepChildEnv+"="+path, sweepChildEnv+"_AT="+strconv.Itoa(at))
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child killed at sample %d of %d: %v\n%s", at, units, err, out)
		}
		_, before, err := ReadResults(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("killed at compared sample %d of %d: %d of %d rows written", at, units, len(before), whole.Jobs)
		if len(before) >= whole.Jobs {
			t.Fatalf("the child finished before it was killed")
		}
		o.Output, o.Resume = path, true
		r, err := Sweep(e, o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Resumed != len(before) || r.Ran != whole.Jobs-len(before) {
			t.Errorf("resumed %d and ran %d, want %d and %d", r.Resumed, r.Ran, len(before), whole.Jobs-len(before))
		}
		_, rows, err := ReadResults(path)
		if err != nil {
			t.Fatal(err)
		}
		sameRows(t, "resumed file", rows, whole.Rows)
	}
}

// TestSweepShardsMerge: the shards of a run, merged, equal one unsharded
// run; a missing or duplicated shard is refused.
func TestSweepShardsMerge(t *testing.T) {
	dir := t.TempDir()
	e := embeddedEnv(t, 2)
	o := sweepSmall(t)
	o.Output = filepath.Join(dir, "whole.jsonl")
	whole, err := Sweep(e, o)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	total := 0
	for i := 0; i < 3; i++ {
		o := sweepSmall(t)
		o.Shard = Shard{I: i, N: 3}
		o.Output = filepath.Join(dir, "shard"+strconv.Itoa(i)+".jsonl")
		r, err := Sweep(e, o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Complete || r.Header.Shard != o.Shard.String() {
			t.Errorf("shard %d: complete %v, header shard %q", i, r.Complete, r.Header.Shard)
		}
		for _, row := range r.Rows {
			if row.Job%3 != i {
				t.Errorf("shard %d ran job %d", i, row.Job)
			}
		}
		total += len(r.Rows)
		files = append(files, o.Output)
	}
	if total != whole.Jobs {
		t.Fatalf("shards hold %d rows, the run has %d jobs", total, whole.Jobs)
	}
	out := filepath.Join(dir, "merged.jsonl")
	m, err := MergeResults(out, []string{files[2], files[0], files[1]})
	if err != nil {
		t.Fatal(err)
	}
	h, rows, err := ReadResults(out)
	if err != nil {
		t.Fatal(err)
	}
	if h.Shard != "" || m.Jobs != whole.Jobs {
		t.Errorf("merged header shard %q, %d jobs", h.Shard, m.Jobs)
	}
	if ok, why := h.Run.Same(&whole.Header.Run); !ok {
		t.Errorf("merged run differs: %s", why)
	}
	sameRows(t, "merged", rows, whole.Rows)

	if _, err := MergeResults(filepath.Join(dir, "x.jsonl"), files[:2]); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("merge without shard 2: %v", err)
	}
	if _, err := MergeResults(filepath.Join(dir, "x.jsonl"), []string{files[0], files[1], files[2], files[1]}); err == nil || !strings.Contains(err.Error(), "both hold shard") {
		t.Errorf("merge with shard 1 twice: %v", err)
	}
	if _, err := MergeResults(filepath.Join(dir, "x.jsonl"), []string{whole.Output, files[0]}); err == nil || !strings.Contains(err.Error(), "in both") {
		t.Errorf("merge of overlapping files: %v", err)
	}
}

// TestResultsFile: the lock, refusing other runs, and a torn last line.
func TestResultsFile(t *testing.T) {
	dir := t.TempDir()
	e := embeddedEnv(t, 1)
	o := sweepSmall(t)
	o.Specs = sweepSpecs(t, "int8")
	o.Components = sweepSel(t, "layers.1.attn.{q,k}")
	o.Output = filepath.Join(dir, "r.jsonl")
	first, err := Sweep(e, o)
	if err != nil {
		t.Fatal(err)
	}

	// A second writer is refused while the file is open.
	res, err := CreateResults(o.Output, first.Header, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sweep(e, func() SweepOptions { o := o; o.Resume = true; return o }()); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("second writer: %v", err)
	}
	res.Close()

	// Without --resume an existing file is never touched.
	if _, err := Sweep(e, o); !errors.Is(err, ErrResultsExist) {
		t.Errorf("existing file without resume: %v", err)
	}
	// Another run (different S) may not resume it.
	o2 := o
	o2.Samples, o2.Resume = 4, true
	if _, err := Sweep(e, o2); err == nil || !strings.Contains(err.Error(), "samples") {
		t.Errorf("resume with other settings: %v", err)
	}

	// A torn last line is cut off and its job run again.
	data, _ := os.ReadFile(o.Output)
	lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	torn := strings.Join(lines[:len(lines)-1], "") + lines[len(lines)-1][:40]
	if err := os.WriteFile(o.Output, []byte(torn), 0o644); err != nil {
		t.Fatal(err)
	}
	o.Resume = true
	r, err := Sweep(e, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Truncated != 40 || r.Ran != 1 || r.Resumed != 1 {
		t.Errorf("torn line: truncated %d, ran %d, resumed %d", r.Truncated, r.Ran, r.Resumed)
	}
	_, rows, err := ReadResults(o.Output)
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "after a torn line", rows, first.Rows)

	// Corrupt lines are named.
	if err := os.WriteFile(o.Output, append(data, []byte("{\"job\":7}\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadResults(o.Output); err == nil || !strings.Contains(err.Error(), ":4:") {
		t.Errorf("corrupt row: %v", err)
	}
}

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"0/1", Shard{0, 1}, true}, {"2/4", Shard{2, 4}, true}, {"4/4", Shard{}, false}, {"-1/4", Shard{}, false},
		{"1/0", Shard{}, false}, {"1", Shard{}, false}, {"a/b", Shard{}, false}, {" 1/4", Shard{}, false},
		{"01/4", Shard{}, false}, {"1/4/5", Shard{}, false}, {"", Shard{}, false},
	} {
		got, err := ParseShard(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseShard(%q) = %v, %v", c.in, got, err)
		}
	}
}

func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/1", "3/8", "8/8", "x", "1/-2", "+1/2", "1/2 ", "9999999999999999999/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err != nil {
			return
		}
		if sh.String() != s || sh.I < 0 || sh.I >= sh.N {
			t.Fatalf("ParseShard(%q) = %+v", s, sh)
		}
	})
}

// FuzzReadResults: any file content gives rows or an error, never a panic,
// and accepted rows are consistent with the header.
func FuzzReadResults(f *testing.F) {
	for _, name := range []string{"testdata/sweep/small.jsonl"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(bytes.Replace(data, []byte(`"job":1,`), []byte(`"job":0,`), 1))
		f.Add(bytes.Replace(data, []byte(`"jobs":`), []byte(`"jobs":-`), 1))
	}
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"divergo_sweep":1,"run":{"specs":[],"components":[],"jobs":0}}` + "\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "r.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		h, rows, err := ReadResults(path)
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for _, r := range rows {
			c, s := h.Run.Job(r.Job)
			if seen[r.Job] || c != r.Component || s != r.Spec {
				t.Fatalf("row %+v accepted against header %+v", r, h.Run)
			}
			seen[r.Job] = true
		}
	})
}

// TestSweepPPL: with a perplexity protocol every row carries compare's
// corpus-text block for its one-component plan.
func TestSweepPPL(t *testing.T) {
	e := embeddedEnv(t, 2)
	o := sweepSmall(t)
	o.Specs = sweepSpecs(t, "int4:g32")
	o.Components = sweepSel(t, "layers.1.mlp.gate")
	o.PPLProtocol, o.PPLCtx, o.PPLChunks = "disjoint", 32, 3
	r, err := Sweep(e, o)
	if err != nil {
		t.Fatal(err)
	}
	row := r.Rows[0]
	if row.PPL == nil || row.Text == nil || r.Header.Run.PPL != "disjoint" || r.Header.Run.PPLCtx != 32 {
		t.Fatalf("row %+v, run ppl %q ctx %d", row, r.Header.Run.PPL, r.Header.Run.PPLCtx)
	}
	plan, _ := quant.ParsePlan("layers.1.mlp.gate=int4:g32")
	c, err := Compare(e, CompareOptions{Plan: plan, Docs: o.Docs, Corpus: o.Corpus, PromptLen: 16, Gen: 12, Samples: 5,
		PPLProtocol: "disjoint", PPLCtx: 32, PPLChunks: 3})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(row.Text)
	want, _ := json.Marshal(c.Text)
	if !bytes.Equal(got, want) {
		t.Errorf("sweep text block\n%s\ncompare\n%s", got, want)
	}
	m, err := ParseSweepMetric("ppl", r.Rows)
	if v, ok := m.Value(&row); err != nil || !ok || v != *row.PPL || !strings.Contains(m.Label, "corpus") {
		t.Errorf("ppl metric: %v %v %g (%s)", err, ok, v, m.Label)
	}
}

// TestSweepOutputs: the table is sorted most damaging first with skipped
// rows last, the CSV has one line per row, and both heatmap formats are
// written.
func TestSweepOutputs(t *testing.T) {
	h, rows, err := ReadResults("testdata/sweep/small.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, h, rows); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, line := range strings.Split(md.String(), "\n") {
		if f := strings.Split(line, "|"); len(f) > 3 && strings.HasPrefix(strings.TrimSpace(f[2]), "layers.") {
			order = append(order, strings.TrimSpace(f[2])+" "+strings.TrimSpace(f[3]))
		}
	}
	sorted := SortByFDTM(rows)
	if len(order) != 4 || order[3] != "layers.1.mlp.down q4_0" || !strings.Contains(md.String(), "skipped: layers.1.mlp.down cannot take q4_0") {
		t.Errorf("table order %v:\n%s", order, md.String())
	}
	for i := 1; i < len(sorted)-1; i++ {
		if sorted[i].FDTM.Mean < sorted[i-1].FDTM.Mean {
			t.Errorf("table not sorted by FDTM ascending: %v", order)
		}
	}
	var csv bytes.Buffer
	if err := WriteCSV(&csv, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := csvpkg.NewReader(&csv).ReadAll()
	if err != nil || len(recs) != 5 || recs[4][8] == "" || recs[4][12] != "" || recs[1][12] == "" {
		t.Errorf("CSV (%v):\n%s", err, csv.String())
	}
	dir := t.TempDir()
	for _, name := range SweepMetricNames {
		m, err := ParseSweepMetric(name, rows)
		if err != nil {
			t.Fatal(err)
		}
		exts := []string{".svg"}
		if name == "fdtm" {
			exts = append(exts, ".png") // rasterising is the slow part
		}
		for _, ext := range exts {
			path := filepath.Join(dir, name+ext)
			if err := WriteHeatmap(path, h, rows, m); err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(path); err != nil || st.Size() < 1000 {
				t.Errorf("%s: %v", path, err)
			}
		}
	}
	if err := WriteHeatmap(filepath.Join(dir, "x.jpg"), h, rows, SweepMetric{}); err == nil {
		t.Error("heatmap as .jpg accepted")
	}
	if _, err := ParseSweepMetric("acc", rows); err == nil {
		t.Error("metric acc accepted")
	}
}
