package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/divergo/divergo/internal/hostile"
)

var hostileTable = flag.String("hostile-table", "", "write the Markdown table of hostile cases and the error lines they produce to this file (docs/hardening.md)")

// hostileText is the text the suite's ppl runs read.
const hostileText = "Once upon a time there was a cat. The cat was on the mat.\n\nOnce upon a time, in a house, a cat sat on a hat.\n"

// hostileCommands are the commands run on every case: a load, a
// generation and a perplexity pass (-m and the model are appended).
func hostileCommands(text string) [][]string {
	return [][]string{
		{"info"},
		{"generate", "-p", "Once upon a time", "-n", "8", "-t", "1"},
		{"ppl", "-f", text, "-c", "16", "-t", "1"},
	}
}

// hostileAllocLimit bounds the bytes one command may allocate on a case
// (runtime.MemStats.TotalAlloc): the valid base model needs well under a
// megabyte, so anything near this was sized by a header field.
const hostileAllocLimit = 64 << 20

// checkHostileLine checks a failing command's stderr: exactly one line,
// "divergo CMD: ", naming the field at fault (and the model's path when the
// model does not load), and no trace of a panic.
func checkHostileLine(t *testing.T, cmd, model string, c hostile.Case, code int, stderr string) {
	t.Helper()
	line := strings.TrimSuffix(stderr, "\n")
	switch {
	case code != 1:
		t.Errorf("%s: exit %d, want 1; stderr:\n%s", cmd, code, stderr)
	case strings.Count(stderr, "\n") != 1 || line == "":
		t.Errorf("%s: stderr is not one line:\n%s", cmd, stderr)
	case !strings.HasPrefix(line, "divergo "+cmd+": "):
		t.Errorf("%s: stderr does not start with the command: %s", cmd, line)
	case strings.Contains(line, "panic") || strings.Contains(line, "goroutine "):
		t.Errorf("%s: a panic reached the user: %s", cmd, line)
	case c.Fails("info") && !strings.Contains(line, filepath.Dir(model)):
		// A load error names the file; a forward-pass error (the model
		// loads) names the component instead.
		t.Errorf("%s: the error does not name the model's path %s: %s", cmd, filepath.Dir(model), line)
	case !strings.Contains(line, c.Want):
		t.Errorf("%s: the error does not name %q: %s", cmd, c.Want, line)
	}
}

// TestHostileFiles runs info, generate and ppl in-process on every case of
// the hostile suite: valid models succeed; a model that loads but holds
// non-finite weights passes info and fails generate and ppl naming the
// component; every other case fails every command with one line naming
// the file and the field, allocating a bounded amount.
func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(text, []byte(hostileText), 0o644); err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	table.WriteString("| case | fault | what divergo says (info, generate, ppl) |\n|---|---|---|\n")
	for _, c := range hostile.Cases() {
		model, err := c.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		var said [3]string
		t.Run(c.Name, func(t *testing.T) {
			for i, cmd := range hostileCommands(text) {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				code, _, stderr := runCLI(t, append(cmd, "-m", model)...)
				runtime.ReadMemStats(&after)
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > hostileAllocLimit {
					t.Errorf("%s: allocated %d MiB", cmd[0], alloc>>20)
				}
				said[i] = "ok"
				if code != 0 {
					line := strings.TrimPrefix(strings.TrimSpace(stderr), "divergo "+cmd[0]+": ")
					said[i] = "`" + strings.ReplaceAll(line, dir+string(filepath.Separator), "") + "`"
				}
				if !c.Fails(cmd[0]) {
					if code != 0 {
						t.Errorf("%s: exit %d: %s", cmd[0], code, stderr)
					}
					continue
				}
				checkHostileLine(t, cmd[0], model, c, code, stderr)
			}
		})
		result := said[0]
		if said[1] != said[0] || said[2] != said[0] {
			result = fmt.Sprintf("info: %s; generate: %s; ppl: %s", said[0], said[1], said[2])
		}
		fmt.Fprintf(&table, "| %s | %s | %s |\n", c.Name, strings.ReplaceAll(c.What, "|", `\|`), strings.ReplaceAll(result, "|", `\|`))
	}
	if *hostileTable != "" {
		if err := os.WriteFile(*hostileTable, []byte(table.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// hostileChildEnv carries a child's command line (JSON) in
// TestHostileChild; hostileChildEnv+"_AS" its address-space limit.
const hostileChildEnv = "DIVERGO_HOSTILE_CHILD"

// TestHostileChild is the child of TestHostileMemory: it limits its own
// address space (RLIMIT_AS; not under the race detector, whose shadow
// memory reserves terabytes), runs one command and exits with its status.
func TestHostileChild(t *testing.T) {
	spec := os.Getenv(hostileChildEnv)
	if spec == "" {
		t.Skip("child process of TestHostileMemory")
	}
	var args []string
	if err := json.Unmarshal([]byte(spec), &args); err != nil {
		t.Fatal(err)
	}
	var limit uint64
	fmt.Sscan(os.Getenv(hostileChildEnv+"_AS"), &limit)
	if limit > 0 && !raceEnabled {
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
			t.Fatal(err)
		}
	}
	code := runMain(args, os.Stdout, os.Stderr)
	// The peak RSS of this process image: VmHWM, since the rusage of a
	// child also counts its parent's RSS at the fork.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			os.WriteFile(os.Getenv(hostileChildEnv+"_RSS"), []byte(strings.TrimSpace(v)), 0o644)
		}
	}
	os.Exit(code)
}

// hostileAddressSpace is the child's address-space limit: room for the
// test binary, whose Go runtime alone reserves about 1.3 GB of address
// space (1 GiB fails now and then), and far below what a 2^60-element
// header would ask for. The peak RSS limit below is the tight bound.
const hostileAddressSpace = 3 << 30

// hostileRSSLimit bounds the child's peak resident memory.
const hostileRSSLimit = 64 << 20

// TestHostileMemory runs generate on every hostile case in a child process
// under an address-space limit and checks that it exits with status 1 and
// one error line (not killed, not out of memory) with a bounded peak RSS.
func TestHostileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process per case")
	}
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS and RLIMIT_AS as Linux reports them")
	}
	dir := t.TempDir()
	for _, c := range hostile.Cases() {
		model, err := c.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.Name, func(t *testing.T) {
			args, _ := json.Marshal([]string{"generate", "-m", model, "-p", "Once upon a time", "-n", "8", "-t", "1"})
			cmd := exec.Command(os.Args[0], "-test.run=^TestHostileChild$", "-test.count=1")
			rssFile := filepath.Join(t.TempDir(), "rss")
			cmd.Env = append(os.Environ(), hostileChildEnv+"="+string(args),
				fmt.Sprintf("%s_AS=%d", hostileChildEnv, hostileAddressSpace), hostileChildEnv+"_RSS="+rssFile)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			hwm, err := os.ReadFile(rssFile)
			if err != nil {
				t.Fatalf("exit %d, no peak RSS reported: %v\n%s", code, err, stderr.String())
			}
			var rss int64
			if _, err := fmt.Sscanf(string(hwm), "%d kB", &rss); err != nil {
				t.Fatalf("VmHWM %q: %v", hwm, err)
			}
			rss <<= 10
			t.Logf("exit %d, peak RSS %.1f MiB", code, float64(rss)/(1<<20))
			if rss > hostileRSSLimit {
				t.Errorf("peak RSS %d MiB, limit %d MiB", rss>>20, hostileRSSLimit>>20)
			}
			if !c.Fails("generate") {
				if code != 0 {
					t.Errorf("exit %d: %s", code, stderr.String())
				}
				return
			}
			checkHostileLine(t, "generate", model, c, code, stderr.String())
		})
	}
}
