package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/divergo/divergo/quant"
)

// mcManyTask repeats mcTinyTask's items n times over (distinct ids, the
// gold answer rotated), enough for several checkpoint chunks.
func mcManyTask(n int) *Task {
	tiny := mcTinyTask()
	t := &Task{Name: "tiny", Rule: "acc"}
	for i := 0; i < n; i++ {
		it := tiny.Items[i%len(tiny.Items)]
		it.ID = it.ID + "#" + strconv.Itoa(i)
		it.Gold = i % len(it.Choices)
		t.Items = append(t.Items, it)
	}
	return t
}

func mcCheckpointOptions(t testing.TB, path string) MCOptions {
	plan, err := quant.ParsePlan("int4:g32")
	if err != nil {
		t.Fatal(err)
	}
	return MCOptions{Plan: plan, Items: true, Checkpoint: path}
}

// mcSame compares two results apart from their timing.
func mcSame(t *testing.T, what string, got, want MCResult) {
	t.Helper()
	got.Timing, want.Timing = MCTiming{}, MCTiming{}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs from the uninterrupted run:\n%s\n%s", what, a, b)
	}
}

// mcCheckpointChunks returns the chunk numbers of a checkpoint's records.
func mcCheckpointChunks(t *testing.T, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var chunks []int
	for _, l := range lines[1:] {
		var r mcRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		chunks = append(chunks, r.Chunk)
	}
	return chunks
}

// TestMCCheckpointResume: a checkpoint cut after its first chunk, in the
// middle of the second line, resumes to the uninterrupted run's result,
// and the file ends with every chunk once. Runs that differ are refused.
func TestMCCheckpointResume(t *testing.T) {
	dir := t.TempDir()
	e := embeddedEnv(t, 2)
	task := mcManyTask(40) // chunks of 16, 16 and 8 items
	o := mcCheckpointOptions(t, "")
	whole, err := MC(e, task, o)
	if err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full.ckpt")
	o.Checkpoint = full
	r, err := MC(e, task, o)
	if err != nil {
		t.Fatal(err)
	}
	mcSame(t, "with a checkpoint", r, whole)
	if got := mcCheckpointChunks(t, full); len(got) != 3 {
		t.Fatalf("checkpoint holds chunks %v, want 3", got)
	}

	// Refused: an existing checkpoint without --resume.
	if _, err := MC(e, task, o); !errors.Is(err, ErrResultsExist) {
		t.Errorf("existing checkpoint without resume: %v, want ErrResultsExist", err)
	}
	// Refused: another plan, and other items.
	o.Resume = true
	other := o
	other.Plan, _ = quant.ParsePlan("int8")
	if _, err := MC(e, task, other); err == nil || !strings.Contains(err.Error(), "written by a different run (plan:") {
		t.Errorf("other plan: %v", err)
	}
	if _, err := MC(e, mcManyTask(41), o); err == nil || !strings.Contains(err.Error(), "written by a different run (items:") {
		t.Errorf("other items: %v", err)
	}

	// Cut after the first chunk's line, half-way through the second.
	data, _ := os.ReadFile(full)
	lines := bytes.SplitAfter(data, []byte("\n"))
	cut := filepath.Join(dir, "cut.ckpt")
	torn := append(append(append([]byte(nil), lines[0]...), lines[1]...), lines[2][:len(lines[2])/2]...)
	if err := os.WriteFile(cut, torn, 0o644); err != nil {
		t.Fatal(err)
	}
	o.Checkpoint = cut
	r, err = MC(e, task, o)
	if err != nil {
		t.Fatal(err)
	}
	mcSame(t, "resumed", r, whole)
	if r.Timing.Resumed != 16 {
		t.Errorf("resumed %d items, want 16", r.Timing.Resumed)
	}
	chunks := mcCheckpointChunks(t, cut)
	seen := map[int]int{}
	for _, c := range chunks {
		seen[c]++
	}
	if len(chunks) != 3 || seen[0] != 1 || seen[1] != 1 || seen[2] != 1 {
		t.Errorf("resumed checkpoint holds chunks %v, want 0, 1, 2 once each", chunks)
	}

	// A record that does not fit the items is an error naming its line.
	bad := filepath.Join(dir, "bad.ckpt")
	os.WriteFile(bad, append(append([]byte(nil), lines[0]...), []byte(`{"chunk":7,"ll":[],"skipped":[],"truncated":[],"ran":[]}`+"\n")...), 0o644)
	o.Checkpoint = bad
	if _, err := MC(e, task, o); err == nil || !strings.Contains(err.Error(), "line 2: chunk 7 outside [0, 3)") {
		t.Errorf("bad record: %v", err)
	}
}

const mcChildEnv = "DIVERGO_MC_KILLED_CHILD"

// TestMCKilledChild is the child of TestMCResumeAfterKill: it kills itself
// (SIGKILL) once at least the chosen number of items is scored.
func TestMCKilledChild(t *testing.T) {
	path := os.Getenv(mcChildEnv)
	if path == "" {
		t.Skip("child process of TestMCResumeAfterKill")
	}
	at, _ := strconv.Atoi(os.Getenv(mcChildEnv + "_AT"))
	e := embeddedEnv(t, 2)
	o := mcCheckpointOptions(t, path)
	o.Resume = true
	o.Progress = func(done, total int) {
		if done >= at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	if _, err := MC(e, mcManyTask(72), o); err != nil {
		t.Fatal(err)
	}
	t.Fatal("not killed")
}

// TestMCResumeAfterKill: an mc run killed (SIGKILL) at a random point and
// resumed from its checkpoint gives exactly the uninterrupted run's
// result, and the checkpoint holds every chunk once.
func TestMCResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	e := embeddedEnv(t, 2)
	task := mcManyTask(72) // 5 chunks
	o := mcCheckpointOptions(t, "")
	whole, err := MC(e, task, o)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		at := 1 + rand.IntN(len(task.Items)-mcChunk-1)
		path := filepath.Join(dir, "killed"+strconv.Itoa(round)+".ckpt")
		cmd := exec.Command(os.Args[0], "-test.run=^TestMCKilledChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), mcChildEnv+"="+path, mcChildEnv+"_AT="+strconv.Itoa(at))
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child killed at item %d: %v\n%s", at, err, out)
		}
		before := mcCheckpointChunks(t, path)
		t.Logf("killed at item %d of %d: %d of 5 chunks written", at, len(task.Items), len(before))
		o.Checkpoint, o.Resume = path, true
		r, err := MC(e, task, o)
		if err != nil {
			t.Fatal(err)
		}
		mcSame(t, "resumed after SIGKILL", r, whole)
		after := mcCheckpointChunks(t, path)
		seen := map[int]int{}
		for _, c := range after {
			seen[c]++
		}
		if len(after) != 5 || len(seen) != 5 {
			t.Errorf("checkpoint holds chunks %v, want 0…4 once each", after)
		}
		want := 0
		for _, c := range before {
			want += min(mcChunk, len(task.Items)-c*mcChunk)
		}
		if r.Timing.Resumed != want {
			t.Errorf("resumed %d items, want the %d of the chunks written", r.Timing.Resumed, want)
		}
	}
}

// FuzzMCCheckpoint: reading a checkpoint never panics, and what it accepts
// fits the items: every record's chunk in range, once, with one score per
// option of every item not skipped.
func FuzzMCCheckpoint(f *testing.F) {
	task := mcManyTask(20) // chunks of 16 and 4 items
	run := MCRun{Task: task.Name, Items: len(task.Items), ItemsSHA256: mcItemsSHA256(task.Items), Chunk: mcChunk, KVCache: "f32"}
	head, _ := json.Marshal(mcCheckpointHeader{MCCheckpointFormat, run})
	record := func(c int) []byte {
		lo, hi := c*mcChunk, min((c+1)*mcChunk, len(task.Items))
		r := mcRecord{Chunk: c, LL: [][][]float64{{}}, Ran: []int{7}}
		for i := lo; i < hi; i++ {
			r.LL[0] = append(r.LL[0], []float64{-1.5, -2.25, -0.125})
			r.Skipped, r.Truncated = append(r.Skipped, false), append(r.Truncated, i%2 == 0)
		}
		b, _ := json.Marshal(r)
		return b
	}
	f.Add(append(head, '\n'))
	f.Add(bytes.Join([][]byte{head, record(0), record(1), nil}, []byte("\n")))
	f.Add(bytes.Join([][]byte{head, record(1), record(1), nil}, []byte("\n")))
	f.Add([]byte(`{"divergo_mc":1,"run":{}}` + "\n" + `{"chunk":0}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := parseMCCheckpoint("fuzz.ckpt", data, run, task.Items, 1)
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for _, r := range recs {
			if r.Chunk < 0 || r.Chunk > 1 || seen[r.Chunk] {
				t.Fatalf("accepted chunk %d", r.Chunk)
			}
			seen[r.Chunk] = true
			lo := r.Chunk * mcChunk
			for k, ll := range r.LL[0] {
				if !r.Skipped[k] && len(ll) != len(task.Items[lo+k].Choices) {
					t.Fatalf("accepted item %d with %d scores", lo+k, len(ll))
				}
			}
		}
	})
}
