package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/divergo/divergo/eval"
)

// Process-level faults: a full disk while results are written (a child
// whose RLIMIT_FSIZE stops its writes with EFBIG, as a full disk stops
// them with ENOSPC), and two processes on one results file.

// faultChildEnv carries the child's command line (JSON) to TestFaultChild;
// faultChildEnv+"_FSIZE" its file-size limit in bytes, and
// faultChildEnv+"_HOLD" a results file to lock until stdin closes.
const faultChildEnv = "DIVERGO_FAULT_CHILD"

// TestFaultChild is the child process of the fault tests.
func TestFaultChild(t *testing.T) {
	spec, hold := os.Getenv(faultChildEnv), os.Getenv(faultChildEnv+"_HOLD")
	if spec == "" && hold == "" {
		t.Skip("child process of the fault tests")
	}
	if hold != "" {
		h, _, err := eval.ReadResults(hold)
		if err != nil {
			t.Fatal(err)
		}
		r, err := eval.CreateResults(hold, h, true)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		r.Close()
		os.Exit(0)
	}
	var args []string
	if err := json.Unmarshal([]byte(spec), &args); err != nil {
		t.Fatal(err)
	}
	var limit uint64
	fmt.Sscan(os.Getenv(faultChildEnv+"_FSIZE"), &limit)
	if limit > 0 {
		// Go ignores SIGXFSZ, so the write past the limit fails with EFBIG.
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
			t.Fatal(err)
		}
	}
	os.Exit(runMain(args, os.Stdout, os.Stderr))
}

// runFaultChild runs divergo args in a child process whose files may not
// grow past fsize bytes, and returns its exit status and stderr.
func runFaultChild(t *testing.T, fsize int, args ...string) (int, string) {
	t.Helper()
	spec, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), faultChildEnv+"="+string(spec), fmt.Sprintf("%s_FSIZE=%d", faultChildEnv, fsize))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// lastLine returns the last line of a command's stderr, where the error
// is printed after any progress lines.
func lastLine(stderr string) string {
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	return lines[len(lines)-1]
}

// faultSweepArgs is a sweep of six jobs on the embedded model writing only
// its results file.
func faultSweepArgs(out string, extra ...string) []string {
	return append([]string{"sweep", "--quant", "int8,int4:g32", "--components", "layers.0.attn.q,layers.1.mlp.up,layers.3.attn.v",
		"--prompt-len", "16", "--gen", "8", "--samples", "3", "-t", "1",
		"-o", out, "--plot", "none", "--table", "none", "--csv", "none"}, extra...)
}

// rowsByJob returns each row of a results file as JSON without its timing.
func rowsByJob(t *testing.T, path string) map[int]string {
	t.Helper()
	_, rows, err := eval.ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, r := range rows {
		r.Timing = eval.RowTiming{}
		b, _ := json.Marshal(r)
		out[r.Job] = string(b)
	}
	return out
}

// TestSweepDiskFull: a sweep whose disk fills in the middle of its third
// row stops with one error line naming the file; the rows before are
// intact and parse, and --resume (with room again) completes the file
// with exactly the rows of an uninterrupted run.
func TestSweepDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.jsonl")
	if code, _, errs := runCLI(t, faultSweepArgs(whole)...); code != 0 {
		t.Fatalf("uninterrupted sweep: exit %d: %s", code, errs)
	}
	want := rowsByJob(t, whole)
	data, _ := os.ReadFile(whole)
	lines := strings.SplitAfter(string(data), "\n")
	limit := len(lines[0]) + len(lines[1]) + len(lines[2]) + len(lines[3])/2

	path := filepath.Join(dir, "full.jsonl")
	code, stderr := runFaultChild(t, limit, faultSweepArgs(path)...)
	line := lastLine(stderr)
	if code != 1 || !strings.HasPrefix(line, "divergo sweep: ") || !strings.Contains(line, "file too large") || !strings.Contains(line, path) || strings.Contains(stderr, "goroutine ") {
		t.Fatalf("disk full: exit %d, stderr:\n%s", code, stderr)
	}
	t.Logf("the disk filled at byte %d: %s", limit, line)
	if st, _ := os.Stat(path); st.Size() != int64(limit) {
		t.Errorf("the file holds %d bytes, the limit is %d", st.Size(), limit)
	}
	got := rowsByJob(t, path)
	if len(got) != 2 {
		t.Errorf("%d complete rows before the disk filled, want 2", len(got))
	}
	for j, r := range got {
		if r != want[j] {
			t.Errorf("row of job %d:\n got %s\nwant %s", j, r, want[j])
		}
	}

	if code, _, errs := runCLI(t, faultSweepArgs(path, "--resume")...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errs)
	}
	got = rowsByJob(t, path)
	if len(got) != len(want) {
		t.Errorf("resumed file holds %d rows, want %d", len(got), len(want))
	}
	for j, r := range want {
		if got[j] != r {
			t.Errorf("resumed row of job %d:\n got %s\nwant %s", j, got[j], r)
		}
	}
}

// TestMCDiskFull: mc writes its items file through a temporary file; when
// the disk fills, the error names the file and the items file of an
// earlier run is left whole, with no temporary file beside it.
func TestMCDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	items := filepath.Join(dir, "items.jsonl")
	if err := os.WriteFile(items, []byte("{\"earlier\": true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr := runFaultChild(t, 100, "mc", "--task", "hellaswag", "-f", mcFixtures+"hellaswag/hellaswag_val_excerpt.txt", "--limit", "4", "-t", "1", "--items", items)
	if line := lastLine(stderr); code != 1 || !strings.HasPrefix(line, "divergo mc: ") || !strings.Contains(line, "file too large") || !strings.Contains(line, items) {
		t.Fatalf("disk full: exit %d, stderr:\n%s", code, stderr)
	}
	t.Logf("the disk filled: %s", lastLine(stderr))
	if b, _ := os.ReadFile(items); string(b) != "{\"earlier\": true}\n" {
		t.Errorf("the earlier items file now holds %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left behind: %v", ents)
	}
}

// TestMCCheckpointDiskFull: the disk fills while mc appends its second
// chunk to the checkpoint. The run fails with one line, the first chunk
// stays, and --resume with room again gives the uninterrupted result.
func TestMCCheckpointDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	// 45 items, three checkpoint chunks: the 9 of the excerpt five times.
	excerpt := readString(t, mcFixtures+"hellaswag/hellaswag_val_excerpt.txt")
	task := filepath.Join(dir, "hellaswag.txt")
	if err := os.WriteFile(task, []byte(strings.Repeat(excerpt, 5)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := func(ck string, extra ...string) []string {
		return append([]string{"mc", "--task", "hellaswag", "-f", task,
			"-t", "1", "--quant", "int8", "--json", "--checkpoint", ck}, extra...)
	}
	whole := filepath.Join(dir, "whole.ckpt")
	code, out, errs := runCLI(t, args(whole)...)
	if code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, errs)
	}
	lines := strings.SplitAfter(readString(t, whole), "\n")
	if len(lines) < 4 {
		t.Fatalf("checkpoint of 45 items holds %d lines", len(lines))
	}
	ck := filepath.Join(dir, "full.ckpt")
	limit := len(lines[0]) + len(lines[1]) + len(lines[2])/2
	code, stderr := runFaultChild(t, limit, args(ck)...)
	if line := lastLine(stderr); code != 1 || !strings.HasPrefix(line, "divergo mc: checkpoint "+ck) || !strings.Contains(line, "file too large") {
		t.Fatalf("disk full: exit %d, stderr:\n%s", code, stderr)
	}
	t.Logf("the disk filled: %s", lastLine(stderr))
	if got := readString(t, ck); !strings.HasPrefix(got, lines[0]+lines[1]) {
		t.Fatalf("the checkpoint lost its first chunk")
	}
	code, resumed, errs := runCLI(t, args(ck, "--resume")...)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errs)
	}
	if a, b := mcWithoutTiming(t, resumed), mcWithoutTiming(t, out); a != b {
		t.Errorf("resumed result differs:\n%s\n%s", a, b)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mcWithoutTiming returns mc's JSON result without its timing.
func mcWithoutTiming(t *testing.T, out string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	delete(m, "timing")
	b, _ := json.Marshal(m)
	return string(b)
}

// TestResultsLockedByAnotherProcess: while another process holds a results
// file, a sweep on it is refused with one line saying so and leaves the
// file as it was; once that process is gone, the sweep resumes it.
func TestResultsLockedByAnotherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "r.jsonl")
	args := faultSweepArgs(path, "--components", "layers.0.attn.q")
	if code, _, errs := runCLI(t, args...); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errs)
	}
	before, _ := os.ReadFile(path)

	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), faultChildEnv+"_HOLD="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	if l, err := bufio.NewReader(stdout).ReadString('\n'); l != "locked\n" {
		t.Fatalf("child: %q, %v", l, err)
	}

	code, _, stderr := runCLI(t, append(args, "--resume")...)
	want := fmt.Sprintf("locked by another divergo process (pid %d;", cmd.Process.Pid)
	if line := lastLine(stderr); code != 1 || !strings.Contains(line, want) || !strings.Contains(line, path) {
		t.Errorf("second writer: exit %d, stderr:\n%s", code, stderr)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("the refused writer changed the file")
	}
	t.Logf("refused: %s", lastLine(stderr))

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if code, _, errs := runCLI(t, append(args, "--resume")...); code != 0 {
		t.Errorf("after the other process exited: exit %d: %s", code, errs)
	}
}
