package eval

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
)

// An mc checkpoint (`divergo mc --checkpoint FILE`) keeps the raw scores of
// a run as they are computed, so that a run killed or failed part way
// continues with --resume where it stopped. It is a journal (journal.go):
// the first line {"divergo_mc": 1, "run": MCRun}, then one line per chunk of
// mcChunk consecutive items with every option's log-likelihood under every
// model. A chunk is scored from an empty KV cache, so its scores do not
// depend on which process or worker ran it: a resumed run reports exactly
// what an uninterrupted one does (apart from timings).

// MCCheckpointFormat is the value of "divergo_mc" on a checkpoint's first
// line; it changes when the record schema does.
const MCCheckpointFormat = 1

// MCRun is everything that determines an mc run's scores; a checkpoint is
// resumed only by a run with the same MCRun (the model's path aside).
type MCRun struct {
	Model       engine.Source `json:"model"`
	Config      engine.Config `json:"config"`
	Params      int64         `json:"params"`
	Fingerprint string        `json:"fingerprint"` // ModelFingerprint
	Task        string        `json:"task"`
	Shots       int           `json:"shots"`
	Items       int           `json:"items"`
	// ItemsSHA256 identifies the items: sha256 over each item's id and
	// every option's context and continuation, lengths first.
	ItemsSHA256 string `json:"items_sha256"`
	Plan        string `json:"plan,omitempty"`
	A8          bool   `json:"a8"`
	KVCache     string `json:"kv_cache"`
	ISA         string `json:"isa"` // scores agree across thread counts, not across kernel paths
	MaxLen      int    `json:"max_len"`
	NoBOS       bool   `json:"no_bos"`
	Chunk       int    `json:"chunk"` // items per record
}

// Same reports whether r and o describe the same run, and if not, the
// first field that differs. The model's path is not compared.
func (r *MCRun) Same(o *MCRun) (bool, string) {
	a, b := *r, *o
	a.Model.Path, b.Model.Path = "", ""
	return sameFields(a, b)
}

type mcCheckpointHeader struct {
	Format int   `json:"divergo_mc"`
	Run    MCRun `json:"run"`
}

// mcRecord is one chunk's scores: items Chunk·chunk onwards.
type mcRecord struct {
	Chunk int `json:"chunk"`
	// LL holds [model][item of the chunk][option] log-likelihoods; an item
	// with an option too long for the window (Skipped) has none.
	LL        [][][]float64 `json:"ll"`
	Skipped   []bool        `json:"skipped"`
	Truncated []bool        `json:"truncated"`
	Ran       []int         `json:"ran"` // positions run per model
}

// mcCheckpoint is an open checkpoint: the chunks read on open and the
// journal new chunks are appended to.
type mcCheckpoint struct {
	j    *journal
	read []mcRecord
}

// mcItemsSHA256 identifies a task's items (MCRun.ItemsSHA256).
func mcItemsSHA256(items []Item) string {
	h := sha256.New()
	var b [8]byte
	str := func(s string) {
		binary.LittleEndian.PutUint64(b[:], uint64(len(s)))
		h.Write(b[:])
		h.Write([]byte(s))
	}
	for _, it := range items {
		str(it.ID)
		binary.LittleEndian.PutUint64(b[:], uint64(len(it.Choices)))
		h.Write(b[:])
		for _, c := range it.Choices {
			str(c.Context)
			str(c.Continuation)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// newMCRun describes a run of models (the base first) on t.
func newMCRun(models []*engine.Model, t *Task, o MCOptions, plan string, maxLen int) (MCRun, error) {
	base := models[0]
	fp, err := ModelFingerprint(base)
	if err != nil {
		return MCRun{}, err
	}
	return MCRun{Model: base.Source, Config: base.Config, Params: base.Params(), Fingerprint: fp,
		Task: t.Name, Shots: t.Shots, Items: len(t.Items), ItemsSHA256: mcItemsSHA256(t.Items),
		Plan: plan, A8: o.A8 && plan != "", KVCache: compareDefaultString(o.KVCache, "f32"),
		ISA: string(kernels.CurrentISA()), MaxLen: maxLen, NoBOS: o.NoBOS, Chunk: mcChunk}, nil
}

// openMCCheckpoint opens path for run: a new file gets the header; with
// resume an existing one must describe the same run, and its chunks are
// read and checked against the items.
func openMCCheckpoint(path string, run MCRun, items []Item, models int, resume bool) (*mcCheckpoint, error) {
	line, err := json.Marshal(mcCheckpointHeader{MCCheckpointFormat, run})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	j, data, err := openJournal(path, "checkpoint", line, resume)
	if err != nil {
		return nil, err
	}
	ck := &mcCheckpoint{j: j}
	if data == nil {
		return ck, nil
	}
	if ck.read, err = parseMCCheckpoint(path, data, run, items, models); err != nil {
		j.close()
		return nil, err
	}
	return ck, nil
}

// parseMCCheckpoint reads the chunks of a checkpoint written by run.
func parseMCCheckpoint(path string, data []byte, run MCRun, items []Item, models int) ([]mcRecord, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	var recs []mcRecord
	seen := map[int]bool{}
	chunks := (len(items) + mcChunk - 1) / mcChunk
	for n := 1; sc.Scan(); n++ {
		if n == 1 {
			var h mcCheckpointHeader
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format != MCCheckpointFormat {
				return nil, fmt.Errorf("checkpoint %s: line 1 is not an mc checkpoint header (format %d)", path, MCCheckpointFormat)
			}
			if ok, why := h.Run.Same(&run); !ok {
				return nil, fmt.Errorf("checkpoint %s: written by a different run (%s); resume only with the same model, task, settings and kernel path", path, why)
			}
			continue
		}
		var r mcRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("checkpoint %s: line %d: %v", path, n, err)
		}
		if err := r.check(items, models, chunks); err != nil {
			return nil, fmt.Errorf("checkpoint %s: line %d: %v", path, n, err)
		}
		if seen[r.Chunk] {
			return nil, fmt.Errorf("checkpoint %s: line %d: chunk %d appears twice", path, n, r.Chunk)
		}
		seen[r.Chunk] = true
		recs = append(recs, r)
	}
	return recs, sc.Err()
}

// check reports whether r fits the items: its chunk exists and it holds
// one score per option of every item not skipped, for every model.
func (r *mcRecord) check(items []Item, models, chunks int) error {
	if r.Chunk < 0 || r.Chunk >= chunks {
		return fmt.Errorf("chunk %d outside [0, %d)", r.Chunk, chunks)
	}
	lo, hi := r.Chunk*mcChunk, min((r.Chunk+1)*mcChunk, len(items))
	if len(r.LL) != models || len(r.Ran) != models || len(r.Skipped) != hi-lo || len(r.Truncated) != hi-lo {
		return fmt.Errorf("chunk %d: wrong number of models or items", r.Chunk)
	}
	for m := range r.LL {
		if len(r.LL[m]) != hi-lo {
			return fmt.Errorf("chunk %d: model %d holds %d items, want %d", r.Chunk, m, len(r.LL[m]), hi-lo)
		}
		for k, ll := range r.LL[m] {
			if want := len(items[lo+k].Choices); !r.Skipped[k] && len(ll) != want {
				return fmt.Errorf("chunk %d: item %s holds %d scores, want %d", r.Chunk, items[lo+k].ID, len(ll), want)
			}
		}
	}
	return nil
}

// checkpointError marks a failure to write the checkpoint, which names the
// file itself ("checkpoint PATH: …"), among the errors of scoring.
type checkpointError struct{ error }

func (e checkpointError) Unwrap() error { return e.error }

// append writes a chunk's record and syncs it.
func (ck *mcCheckpoint) append(r mcRecord) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("checkpoint %s: chunk %d: %w", ck.j.path, r.Chunk, err)
	}
	return ck.j.append(line)
}

func (ck *mcCheckpoint) close() error {
	if ck == nil {
		return nil
	}
	return ck.j.close()
}
