package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const mcFixtures = "../../eval/testdata/mc/"

func runMCCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = runMain(append([]string{"mc"}, args...), &out, &errw)
	return code, out.String(), errw.String()
}

func mcJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	code, out, errs := runMCCLI(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("mc %v: exit %d: %s", args, code, errs)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("mc %v: %v\n%s", args, err, out)
	}
	return v
}

// TestMCEveryTask runs each task on its fixture, with and without a plan,
// and checks the keys of DESIGN §4.
func TestMCEveryTask(t *testing.T) {
	tasks := []struct{ task, file string }{
		{"hellaswag", "hellaswag/hellaswag_val_excerpt.txt"},
		{"mmlu", "mmlu"},
		{"arc", "llm-adapters/ARC-Easy.test.json"},
		{"arc-challenge", "llm-adapters/ARC-Challenge.test.json"},
		{"piqa", "llm-adapters/piqa.test.json"},
		{"winogrande", "llm-adapters/winogrande.test.json"},
		{"obqa", "llm-adapters/openbookqa.test.json"},
		{"bbq", "bbq"},
	}
	for _, tc := range tasks {
		for _, quant := range []string{"", "int8"} {
			args := []string{"--task", tc.task, "-f", mcFixtures + tc.file, "-t", "2", "--limit", "4"}
			if quant != "" {
				args = append(args, "--quant", quant)
			}
			v := mcJSON(t, args...)
			for _, k := range []string{"acc", "acc_norm", "n", "flips", "base_acc", "timing"} {
				if _, ok := v[k]; !ok {
					t.Errorf("%s %s: no %q key", tc.task, quant, k)
				}
			}
			if n := v["n"].(float64); n < 3 || n > 4 {
				t.Errorf("%s: n = %v", tc.task, n)
			}
			if (v["flips"] == nil) != (quant == "") {
				t.Errorf("%s --quant %q: flips = %v", tc.task, quant, v["flips"])
			}
			if quant == "" && v["acc"] != v["base_acc"] {
				t.Errorf("%s: acc %v ≠ base_acc %v without a plan", tc.task, v["acc"], v["base_acc"])
			}
			if (v["bbq"] != nil) != (tc.task == "bbq") {
				t.Errorf("%s: bbq = %v", tc.task, v["bbq"])
			}
		}
	}
}

func TestMCItemsAndDeterminism(t *testing.T) {
	dir := t.TempDir()
	items := filepath.Join(dir, "items.jsonl")
	args := []string{"--task", "bbq", "-f", mcFixtures + "bbq", "--quant", "int4:g32", "--items", items}
	one := mcJSON(t, append(args, "-t", "1")...)
	two := mcJSON(t, append(args, "-t", "2", "--workers", "2")...)
	delete(one, "timing")
	delete(two, "timing")
	a, _ := json.Marshal(one)
	b, _ := json.Marshal(two)
	if !bytes.Equal(a, b) {
		t.Errorf("JSON differs between 1 and 2 threads:\n%s\n%s", a, b)
	}
	f, err := os.Open(items)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var row struct {
			I     int `json:"i"`
			Gold  int `json:"gold"`
			Model struct {
				LL []float64 `json:"ll"`
			} `json:"model"`
			Base *struct {
				LL []float64 `json:"ll"`
			} `json:"base"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("items line %d: %v", n+1, err)
		}
		if row.I != n || len(row.Model.LL) != 3 || row.Base == nil || len(row.Base.LL) != 3 {
			t.Errorf("items line %d: %s", n+1, sc.Text())
		}
		n++
	}
	if n != int(one["n"].(float64)) {
		t.Errorf("%d item rows, n = %v", n, one["n"])
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}

func TestMCReport(t *testing.T) {
	code, out, errs := runMCCLI(t, "--task", "mmlu", "-f", mcFixtures+"mmlu", "--shots", "5", "--quant", "int8", "-c", "160", "-t", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"5-shot", "acc_norm", "flips under acc", "C→I", "abstract_algebra", "college_medicine", "items/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// 5-shot prompts exceed 160 tokens of the 512-piece vocabulary.
	if !strings.Contains(out, "12 items cut from the left") {
		t.Errorf("5-shot MMLU at 160 tokens: not every item truncated:\n%s", out)
	}
	code, out, errs = runMCCLI(t, "--task", "bbq", "-f", mcFixtures+"bbq", "--bbq-rule", "repo", "-t", "2")
	if code != 0 || !strings.Contains(out, "BBQ") || !strings.Contains(out, "repo rule") || !strings.Contains(out, "Nationality") {
		t.Errorf("bbq report (exit %d, %s):\n%s", code, errs, out)
	}
}

func TestMCBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("ctx\n9\na\nb\nc\nd\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "--task NAME and -f FILE are required"},
		{[]string{"--task", "lambada", "-f", bad}, 2, "unknown task"},
		{[]string{"--task", "hellaswag", "-f", bad, "--rule", "acc_bytes"}, 2, "--rule"},
		{[]string{"--task", "hellaswag", "-f", bad, "--bbq-rule", "strict"}, 2, "--bbq-rule"},
		{[]string{"--task", "hellaswag", "-f", bad, "--limit", "-1"}, 2, "≥ 0"},
		{[]string{"--task", "hellaswag", "-f", bad, "--quant", "int9"}, 2, "--quant"},
		{[]string{"--task", "hellaswag", "-f", bad}, 1, "bad.txt:2"},
		{[]string{"--task", "hellaswag", "-f", filepath.Join(dir, "none.txt")}, 1, "none.txt"},
		{[]string{"--task", "piqa", "-f", mcFixtures + "llm-adapters/piqa.test.json", "--shots", "5"}, 1, "only built for mmlu"},
	} {
		code, _, errs := runMCCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("mc %v: exit %d, %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}
