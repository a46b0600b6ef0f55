package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// compareArgs is a small protocol on the embedded model.
var compareArgs = []string{"compare", "--prompt-len", "16", "--gen", "24", "--samples", "6", "-c", "96", "-t", "2"}

func runCompareCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = runMain(append(append([]string(nil), compareArgs...), args...), &out, &errw)
	return code, out.String(), errw.String()
}

func TestCompareJSON(t *testing.T) {
	code, out, errs := runCompareCLI(t, "--quant", "int4:g32", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	// DESIGN §4 minimum keys, and the protocol.
	for _, path := range []string{"fdtm.mean", "fdtm.median", "fdtm.p10", "fdtm.full_share", "sdtm.mean",
		"kl.mean", "kl.median", "kl.p99", "kl.max", "same_top", "ppl_base", "ppl", "flagged",
		"prompt_len", "gen", "samples", "plan", "mode", "text.protocol", "continuation.ratio", "delta_p.rms", "timing.total_s"} {
		v := any(r)
		for _, k := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[k]
		}
		if v == nil {
			t.Errorf("JSON lacks %s", path)
		}
	}
	if r["plan"] != "int4:g32" || r["gen"] != 24.0 || r["samples"] != 6.0 || r["mode"] != "weight-only" {
		t.Errorf("plan %v, gen %v, samples %v, mode %v", r["plan"], r["gen"], r["samples"], r["mode"])
	}
}

func TestCompareReport(t *testing.T) {
	code, out, errs := runCompareCLI(t, "--quant", "int8,layers.9.mlp.up=int4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"FDTM", "SDTM", "KL (nats)", "same top", "RMS Δp", "PPL(base)", "PPL ratio", "self-check  0 of 6 samples flagged", "G = 24"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The warning about the unused rule goes to os.Stderr (runMain's errw
	// carries only the error line); eval's TestCompareOptionsAndErrors
	// checks UnusedRules.
}

func TestCompareCorpusFile(t *testing.T) {
	dir := t.TempDir()
	story := "Once upon a time, there was a little dog named Max. Max liked to run in the park with his friend, a small cat. One day they found a big red ball under a tree."
	jsonl := filepath.Join(dir, "c.jsonl")
	var b strings.Builder
	for range 3 {
		line, _ := json.Marshal(map[string]string{"text": story})
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(jsonl, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCompareCLI(t, "--quant", "prune:0.5", "-f", jsonl, "--ppl-protocol", "disjoint", "-c", "32", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Samples int `json:"samples"`
		Corpus  struct {
			Name      string `json:"name"`
			Documents int    `json:"documents"`
		} `json:"corpus"`
		Text struct{ Protocol string } `json:"text"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Samples != 3 || r.Corpus.Documents != 3 || r.Corpus.Name != jsonl || r.Text.Protocol != "disjoint" {
		t.Errorf("%+v", r)
	}
}

func TestCompareBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.txt")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "--quant PLAN is required"},
		{[]string{"--quant", "int9"}, 2, "--quant"},
		{[]string{"--quant", "int8", "--gen", "0"}, 2, "--gen 0 must be ≥ 1"},
		{[]string{"--quant", "int8", "--samples", "-1"}, 2, "--samples -1"},
		{[]string{"--quant", "int8", "stray"}, 2, `unexpected argument "stray"`},
		{[]string{"--quant", "int8", "-f", missing}, 1, "missing.txt"},
		{[]string{"--quant", "int8", "--ppl-protocol", "stride:0"}, 1, "stride"},
		{[]string{"--quant", "int8", "--prompt-len", "500"}, 1, "none of the 727 documents has 500 tokens"},
	} {
		code, _, errs := runCompareCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
