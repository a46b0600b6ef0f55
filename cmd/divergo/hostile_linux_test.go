package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/divergo/divergo/internal/hostile"
)

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

// runHostileChild runs divergo args in a child process under the
// address-space limit and returns its exit status, stderr and peak RSS.
func runHostileChild(t *testing.T, args ...string) (code int, stderr string, rss int64) {
	t.Helper()
	spec, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostileChild$", "-test.count=1")
	rssFile := filepath.Join(t.TempDir(), "rss")
	cmd.Env = append(os.Environ(), hostileChildEnv+"="+string(spec),
		fmt.Sprintf("%s_AS=%d", hostileChildEnv, hostileAddressSpace), hostileChildEnv+"_RSS="+rssFile)
	var errw strings.Builder
	cmd.Stderr = &errw
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	hwm, err := os.ReadFile(rssFile)
	if err != nil {
		t.Fatalf("exit %d, no peak RSS reported: %v\n%s", code, err, errw.String())
	}
	if _, err := fmt.Sscanf(string(hwm), "%d kB", &rss); err != nil {
		t.Fatalf("VmHWM %q: %v", hwm, err)
	}
	rss <<= 10
	t.Logf("%s: exit %d, peak RSS %.1f MiB", args[0], code, float64(rss)/(1<<20))
	if rss > hostileRSSLimit {
		t.Errorf("%s: peak RSS %d MiB, limit %d MiB", args[0], rss>>20, hostileRSSLimit>>20)
	}
	return code, errw.String(), rss
}

// TestHostileMemory runs generate on every case in a child process under
// an address-space limit and checks that it exits with status 1 and one
// error line (not killed, not out of memory) with a bounded peak RSS. The
// models every command accepts also run mc, whose token window defaults to
// the model's context length (2^22 positions in two cases).
func TestHostileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process per case")
	}
	dir := t.TempDir()
	for _, c := range hostile.Cases() {
		model, err := c.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.Name, func(t *testing.T) {
			code, stderr, _ := runHostileChild(t, "generate", "-m", model, "-p", "Once upon a time", "-n", "8", "-t", "1")
			if c.Fails("generate") {
				checkHostileLine(t, "generate", model, c, code, stderr)
				return
			}
			if code != 0 {
				t.Errorf("generate: exit %d: %s", code, stderr)
			}
			if c.Want == "" {
				code, stderr, _ := runHostileChild(t, "mc", "-m", model, "--task", "hellaswag", "-f", mcFixtures+"hellaswag/hellaswag_val_excerpt.txt", "--limit", "2", "-t", "1")
				if code != 0 {
					t.Errorf("mc: exit %d: %s", code, stderr)
				}
			}
		})
	}
}
