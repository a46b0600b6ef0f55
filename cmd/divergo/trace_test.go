package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// cliOutput runs divergo with args and returns stdout, stderr and the exit
// status.
func cliOutput(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errw bytes.Buffer
	code := runMain(args, &out, &errw)
	return out.String(), errw.String(), code
}

func TestTraceCommand(t *testing.T) {
	out, errs, code := cliOutput(t, "trace", "--other", "embedded", "--tokens", "600", "--leaderboard", "--json", "-t", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Layers []struct {
			Layer int      `json:"layer"`
			P     *float64 `json:"p"`
			Rho   float64  `json:"rho"`
		} `json:"layers"`
		PFisher     *float64 `json:"p_fisher"`
		Tokens      int      `json:"tokens"`
		Leaderboard struct {
			PPL      float64 `json:"ppl"`
			PPLOther float64 `json:"ppl_other"`
			Passage  string  `json:"passage"`
		} `json:"leaderboard"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(r.Layers) != 5 || r.PFisher == nil || *r.PFisher != 0 || r.Tokens != 512 {
		t.Errorf("self trace: %s", out)
	}
	for _, l := range r.Layers {
		if l.P == nil || *l.P != 0 || l.Rho != 1 {
			t.Errorf("layer %d: p %v ρ %v", l.Layer, l.P, l.Rho)
		}
	}
	if r.Leaderboard.PPL <= 1 || r.Leaderboard.PPL != r.Leaderboard.PPLOther || r.Leaderboard.Passage == "" {
		t.Errorf("leaderboard %+v", r.Leaderboard)
	}

	out, errs, code = cliOutput(t, "trace", "--other", "embedded", "--tokens", "512", "--mem", "1M", "-t", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"Fisher p   0 (< 1e-300: 5 of 5 layers", "1 layer per pass, 5 passes over the data", "    4   1.00000     < 1e-300"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestTraceCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trace"}, 2, "--other MODEL is required"},
		{[]string{"trace", "--other", "embedded", "--metric", "l1"}, 2, "--metric"},
		{[]string{"trace", "--other", "embedded", "--mem", "lots"}, 2, "--mem"},
		{[]string{"trace", "--other", "embedded", "--tokens", "-1"}, 2, "--tokens"},
		{[]string{"trace", "--other", "/nonexistent/model.gguf"}, 1, "--other"},
		{[]string{"trace", "--other", "embedded", "--tokens", "10"}, 1, "no block"},
	} {
		_, errs, code := cliOutput(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want %d and one line about %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"4GiB", 4 << 30}, {"4G", 4 << 30}, {"4gb", 4 << 30}, {"512M", 512 << 20}, {"1.5K", 1536},
		{"1000000", 1000000}, {"100B", 100}, {" 2 TiB ", 2 << 40},
	} {
		if got, err := parseBytes(tc.in); err != nil || got != tc.want {
			t.Errorf("%q: %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "0", "NaN", "1e30T", "4 GiBs", "Inf", ".1", "0.5B"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"4GiB", "512M", "1000000", "1.5K", "-1", "1e400", "GiB", "0x10M"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseBytes(s)
		if err == nil && n <= 0 {
			t.Errorf("%q: %d without error", s, n)
		}
	})
}
