package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestERankCommand(t *testing.T) {
	out, errs, code := cliOutput(t, "erank", "--limit", "3", "--seeds", "2", "--json", "-t", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, key := range []string{"erank", "erank_untrained", "diff_erank", "erank_untrained_std", "texts", "skipped", "untrained_seeds", "layer"} {
		if _, ok := r[key]; !ok {
			t.Errorf("JSON lacks %q:\n%s", key, out)
		}
	}
	if r["texts"].(float64) != 3 || r["layer"].(float64) != 5 {
		t.Errorf("texts %v layer %v", r["texts"], r["layer"])
	}
	if d, u, e := r["diff_erank"].(float64), r["erank_untrained"].(float64), r["erank"].(float64); d != u-e {
		t.Errorf("diff_erank %v ≠ %v − %v", d, u, e)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "c.txt")
	os.WriteFile(file, []byte("Once upon a time there was a cat.\n\nThe cat sat on a mat and slept all day.\n\nA\n"), 0o644)
	out, errs, code = cliOutput(t, "erank", "-f", file, "--layer", "all", "--seeds", "1", "-t", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"texts      3 used, 0 skipped", "embeddings", "input of layer 4", "final normed", "diff-erank"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	out, errs, code = cliOutput(t, "erank", "-f", file, "--quant", "int8", "--layer", "2,5", "--json", "-t", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r = nil
	json.Unmarshal([]byte(out), &r)
	if _, ok := r["delta_erank"]; !ok || r["plan"] != "int8" || len(r["layers"].([]any)) != 2 {
		t.Errorf("--quant: %s", out)
	}
	if _, ok := r["erank_untrained"]; ok {
		t.Errorf("--quant reports an untrained model: %s", out)
	}
}

func TestERankCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"erank", "--layer", "6"}, 2, "--layer"},
		{[]string{"erank", "--layer", "x"}, 2, "--layer"},
		{[]string{"erank", "--seeds", "0"}, 2, "--seeds"},
		{[]string{"erank", "--quant", "int3:zz"}, 2, "--quant"},
		{[]string{"erank", "--limit", "-2"}, 2, "--limit"},
		{[]string{"erank", "-f", "/nonexistent.txt"}, 1, "nonexistent"},
	} {
		_, errs, code := cliOutput(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want %d and one line about %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

func TestParseLayers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{{"", "[5]"}, {"all", "[0 1 2 3 4 5]"}, {"0", "[0]"}, {"1, 3,5", "[1 3 5]"}} {
		got, err := parseLayers(tc.in, 5)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("%q: %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"-1", "6", "a", "1,,2", "ALL"} {
		if _, err := parseLayers(bad, 5); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseLayers(f *testing.F) {
	for _, s := range []string{"", "all", "0", "1, 3,5", "5", "-1", "6", "1,,2", "9999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := parseLayers(s, 5)
		if err != nil {
			return
		}
		if len(ls) == 0 {
			t.Errorf("%q: no layers without error", s)
		}
		for _, l := range ls {
			if l < 0 || l > 5 {
				t.Errorf("%q: layer %d outside 0…5", s, l)
			}
		}
	})
}
