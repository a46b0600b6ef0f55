package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func runBenchCLI(args ...string) (code int, stdout, stderr string) {
	var out, errw bytes.Buffer
	code = runMain(append([]string{"bench"}, args...), &out, &errw)
	return code, out.String(), errw.String()
}

func TestBenchFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--shape", "llama-70b"}, "unknown shape"},
		{[]string{"--dtype", "q9_0"}, "q9_0"},
		{[]string{"-t", "0"}, "thread count"},
		{[]string{"-t", "two"}, "thread count"},
		{[]string{"-r", "0"}, "at least 1"},
		{[]string{"--limits", "fp32=x"}, "positive number"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		code, _, errs := runBenchCLI(c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
	if code, _, errs := runBenchCLI("--isa", "sse9", "--kernels", "--dtype", "q4_0", "-t", "1"); code != 1 || !strings.Contains(errs, "sse9") {
		t.Errorf("unknown ISA: exit %d, %q", code, errs)
	}
}

func TestBenchRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a stories110M-shaped model")
	}
	code, out, errs := runBenchCLI("--dtype", "q4_0", "-t", "1", "-r", "1", "-p", "4", "-n", "2", "--gemv-mib", "4", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Rows []struct {
			Name, ISA, Unit, Shape, DType string
			Value                         float64
			LlamaCpp                      *float64
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	var names []string
	for _, row := range r.Rows {
		names = append(names, row.Name)
		if row.Shape != "stories110m" || row.DType != "q4_0" || !(row.Value > 0) || row.ISA == "" {
			t.Errorf("row %+v", row)
		}
	}
	if got := strings.Join(names, ","); got != "gemm,gemv,gemm,gemv,pp4,tg2" {
		t.Errorf("rows %s", got)
	}

	code, out, errs = runBenchCLI("--models", "--dtype", "f16", "-t", "1", "-r", "1", "-p", "4", "-n", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"| test | shape |", "| pp4 | stories110m | f16 |", "| tg2 | stories110m | f16 |", "load average"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
