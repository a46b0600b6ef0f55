package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSynthCLI(t *testing.T) {
	dir := t.TempDir()
	shape := "dim=256,hidden=512,layers=2,heads=4,kv=2,vocab=512"
	a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
	for _, out := range []string{a, b} {
		code, stdout, stderr := runQuantizeCLI(t, "synth", "--shape", shape, "--dtype", "q4_0", "-o", out, "--seed", "9", "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		if r["written"] != out || r["dtype"] != "q4_0" || r["lm_head"] != "q6_k" || r["seed"] != 9.0 {
			t.Errorf("%v", r)
		}
	}
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if len(x) == 0 || !bytes.Equal(x, y) {
		t.Error("same seed, different files")
	}
	code, stdout, stderr := runQuantizeCLI(t, "info", "-m", a)
	if code != 0 || !strings.Contains(stdout, "q4_0 ×15") || !strings.Contains(stdout, "q6_k ×1") {
		t.Errorf("info of the synthetic model (exit %d, %s):\n%s", code, stderr, stdout)
	}

	rel := filepath.Join(dir, "rel")
	code, stdout, stderr = runQuantizeCLI(t, "synth", "--permute-mlp", "--noise", "0.01", "-o", rel)
	if code != 0 || !strings.Contains(stdout, "permuted MLP true, noise 0.01") {
		t.Errorf("relative of the embedded model: exit %d %s\n%s", code, stderr, stdout)
	}
	code, _, stderr = runQuantizeCLI(t, "generate", "-m", rel, "-n", "8")
	if code != 0 {
		t.Errorf("generate with the relative: exit %d %s", code, stderr)
	}
}

func TestSynthCLIErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.gguf")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"synth", "--shape", "stories110m"}, 2, "-o OUT is required"},
		{[]string{"synth", "-o", out}, 2, "--shape (a random model) or --permute-mlp"},
		{[]string{"synth", "--shape", "stories110m", "--permute-mlp", "-o", out}, 2, "one or the other"},
		{[]string{"synth", "-m", "x.gguf", "-o", out}, 2, "add --permute-mlp"},
		{[]string{"synth", "--noise", "-1", "-o", out}, 2, "must be ≥ 0"},
		{[]string{"synth", "--shape", "gpt2", "-o", out}, 1, "want llama2-7b, stories110m, tinyllama-1.1b"},
		{[]string{"synth", "--shape", "stories110m", "--dtype", "int4", "-o", out}, 1, "has no GGUF type"},
	} {
		code, _, stderr := runQuantizeCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
