package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func runQuantizeCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = runMain(args, &out, &errw)
	return code, out.String(), errw.String()
}

// divergo quantize writes a GGUF file or a checkpoint that the other
// commands load, and reports what it wrote.
func TestQuantizeCLI(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "q.gguf")
	code, stdout, stderr := runQuantizeCLI(t, "quantize", "--quant", "*=q8_0,layers.*.mlp.down=f16,layers.7=q4_0", "-o", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if u, _ := r["unused_rules"].([]any); len(u) != 1 || u[0] != "layers.7=q4_0" {
		t.Errorf("unused rules %v", r["unused_rules"])
	}
	for _, key := range []string{"written", "bytes", "changes", "bits_per_weight", "file_bits_per_weight", "plan", "timing"} {
		if _, ok := r[key]; !ok {
			t.Errorf("JSON lacks %s", key)
		}
	}
	if r["written"] != out || r["format"] != "gguf" || len(r["changes"].([]any)) != 5*7+2 {
		t.Errorf("written %v format %v, %d changes", r["written"], r["format"], len(r["changes"].([]any)))
	}

	code, a, stderr := runQuantizeCLI(t, "logits", "-m", out, "--ids", "1,403,407,261", "--json")
	if code != 0 {
		t.Fatalf("logits of the written file: exit %d: %s", code, stderr)
	}
	code, b, _ := runQuantizeCLI(t, "logits", "-m", out, "--ids", "1,403,407,261", "--json", "--kv", "f16")
	if code != 0 || a == b {
		t.Errorf("--kv f16 changed nothing (exit %d)", code)
	}

	code, stdout, stderr = runQuantizeCLI(t, "quantize", "--quant", "layers.*.attn=int4:g32", "-o", filepath.Join(dir, "hf"), "--a8")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"wrote", "(hf,", "changed    20 components (int4:g32 ×20)", "5.000 bits per weight", "a8         20 matrices"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runQuantizeCLI(t, "info", "-m", filepath.Join(dir, "hf"), "--json")
	if code != 0 || !strings.Contains(stdout, `"int4:g32": 20`) {
		t.Errorf("info of the written checkpoint (exit %d):\n%s", code, stdout)
	}
}

func TestQuantizeCLIErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"quantize", "-o", filepath.Join(dir, "x.gguf")}, 2, "--quant PLAN is required"},
		{[]string{"quantize", "--quant", "q4_0"}, 2, "-o OUT is required"},
		{[]string{"quantize", "--quant", "q4_0:zz", "-o", filepath.Join(dir, "x.gguf")}, 2, "--quant"},
		{[]string{"quantize", "--quant", "int4", "-o", filepath.Join(dir, "x.gguf")}, 1, "int4:g128 has no GGUF type"},
		{[]string{"quantize", "--quant", "q4_0", "-o", filepath.Join(dir, "x.safetensors")}, 2, "checkpoint is a directory"},
		{[]string{"quantize", "--quant", "q4_0", "-o", filepath.Join(dir, "x.gguf")}, 1, "172 columns"},
		{[]string{"quantize", "--quant", "q8_0", "-o", filepath.Join(dir, "x.gguf"), "--kv", "q8"}, 2, "--kv"},
	}
	for _, c := range cases {
		code, _, stderr := runQuantizeCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
