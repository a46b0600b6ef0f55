package eval

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// errDiskFull is what a full disk answers.
var errDiskFull = errors.New("no space left on device")

// fullWriter accepts n bytes, then fails every write as a full disk does.
type fullWriter struct {
	n   int
	buf bytes.Buffer
}

func (w *fullWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		w.buf.Write(p[:w.n])
		k := w.n
		w.n = 0
		return k, errDiskFull
	}
	w.n -= len(p)
	return w.buf.Write(p)
}

// TestWritersReportAFullDisk: the report writers pass a failing writer's
// error up, wherever the disk fills, instead of finishing silently.
func TestWritersReportAFullDisk(t *testing.T) {
	h, rows, err := ReadResults("testdata/sweep/small.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		name  string
		write func(w *fullWriter) error
	}{
		{"csv", func(w *fullWriter) error { return WriteCSV(w, rows) }},
		{"markdown", func(w *fullWriter) error { return WriteMarkdown(w, h, rows) }},
	} {
		var whole fullWriter
		whole.n = 1 << 30
		if err := w.write(&whole); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		size := whole.buf.Len()
		for _, n := range []int{0, 1, size / 3, size - 1} {
			if err := w.write(&fullWriter{n: n}); !errors.Is(err, errDiskFull) {
				t.Errorf("%s: disk full after %d of %d bytes: %v", w.name, n, size, err)
			}
		}
	}
}

// TestWriteFileAtomicKeepsTheOldFile: when writing fails (a full disk, a
// writer error), the file already there is left as it was and no
// temporary file stays behind.
func TestWriteFileAtomicKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "table.md")
	if err := os.WriteFile(path, []byte("earlier results\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteFileAtomic(path, func(w io.Writer) error {
		w.Write([]byte("half a new tab"))
		return errDiskFull
	})
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "table.md") {
		t.Errorf("error %v, want the disk-full error naming the file", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "earlier results\n" {
		t.Errorf("the earlier file now holds %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left in the directory: %v", ents)
	}
}
