package eval

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// A journal is a JSON-lines file that one process at a time appends to: a
// header line that describes the run, then one record per line, each
// written with a single write and synced to disk before the next, so that a
// process killed while writing leaves at most one unfinished last line.
// Sweep results files and mc checkpoints are journals.
type journal struct {
	path string
	what string // "results", "checkpoint": the start of every error
	f    *os.File
	// truncated is the number of bytes of an unfinished last line removed
	// on open.
	truncated int
}

// ErrResultsExist is returned when a run would write to a non-empty
// results file or checkpoint without resume.
var ErrResultsExist = errors.New("file exists")

// openJournal opens path for a run, creating it, and locks it (flock)
// against other writers while it is open. An empty file gets header as
// its first line and data is nil. A non-empty file is refused unless resume
// is set; then an unfinished last line is cut off (its record is run again)
// and data holds the complete lines, header first, for the caller to check.
func openJournal(path, what string, header []byte, resume bool) (j *journal, data []byte, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := resultsLock(f); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	j = &journal{path: path, what: what, f: f}
	fail := func(err error) (*journal, []byte, error) {
		f.Close()
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("%s: %w", what, err))
	}
	if st.Size() == 0 {
		if err := j.append(header); err != nil {
			return fail(err)
		}
		return j, nil, nil
	}
	if !resume {
		return fail(fmt.Errorf("%w: %s %s holds %d bytes; pass --resume to continue that run, or choose another output", ErrResultsExist, what, path, st.Size()))
	}
	if data, err = io.ReadAll(f); err != nil {
		return fail(fmt.Errorf("%s: %w", what, err))
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		// A line without its newline was being written when the process
		// died: the record was never complete, so drop it and run it again.
		j.truncated = len(data) - (i + 1)
		data = data[:i+1]
		if err := f.Truncate(int64(len(data))); err != nil {
			return fail(fmt.Errorf("%s %s: cutting the unfinished last line: %w", what, path, err))
		}
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("%s %s: %w", what, path, err))
		}
	}
	if len(data) == 0 {
		return fail(fmt.Errorf("%s %s: no complete header line; remove the file and start again", what, path))
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return fail(fmt.Errorf("%s: %w", what, err))
	}
	return j, data, nil
}

// append writes one line and syncs it to disk before returning.
func (j *journal) append(line []byte) error {
	// One write per line: a crash leaves at most one torn last line.
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("%s %s: %w", j.what, j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("%s %s: %w", j.what, j.path, err)
	}
	return nil
}

// close releases the lock and the file.
func (j *journal) close() error {
	if j == nil || j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
