package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/divergo/divergo/engine"
)

// ResultsFormat is the value of the "divergo_sweep" key on the first line of
// a sweep results file; it changes when the row schema does.
const ResultsFormat = 1

// SweepRun is everything that determines the rows of a sweep. A results file
// starts with it (in a SweepHeader), and two files can be resumed into one
// another or merged only when their runs are equal (SweepRun.Same).
type SweepRun struct {
	// Model identifies the weights: the source (the path is informative and
	// not compared, so shards may read the model from different places),
	// the configuration, the parameter count and a fingerprint of the
	// stored weights (ModelFingerprint).
	Model       engine.Source `json:"model"`
	Config      engine.Config `json:"config"`
	Params      int64         `json:"params"`
	Fingerprint string        `json:"fingerprint"`

	// Corpus names the documents (informative) and CorpusSHA256 identifies
	// them: sha256 over the documents, each followed by a zero byte.
	Corpus       string `json:"corpus"`
	CorpusSHA256 string `json:"corpus_sha256"`

	PromptLen int `json:"prompt_len"` // n
	Gen       int `json:"gen"`        // G
	Samples   int `json:"samples"`    // S requested

	// Specs are the settings in canonical form and Components the swept
	// components in job order: job j is component j/len(Specs) under spec
	// j%len(Specs), so Jobs = len(Components)·len(Specs).
	Specs      []string `json:"specs"`
	Components []string `json:"components"`
	Jobs       int      `json:"jobs"`

	KLSupport string `json:"kl_support"`
	A8        bool   `json:"a8"`       // compressed matrices run with int8 activations
	KVCache   string `json:"kv_cache"` // "f32" or "f16"
	ISA       string `json:"isa"`      // kernel path: results agree across thread counts, not across paths
	// Residual is "exact" (float32 cache, or none: identical rows) or
	// "f16" (the cached residual stream rounded to float16).
	Residual string `json:"residual"`

	// PPL is the corpus perplexity protocol of every row ("none" when off)
	// with its context and window limit.
	PPL       string `json:"ppl"`
	PPLCtx    int    `json:"ppl_ctx,omitempty"`
	PPLChunks int    `json:"ppl_chunks,omitempty"`
}

// Same reports whether r and o describe the same sweep, and if not, the
// first field that differs. Model path and corpus name are not compared.
func (r *SweepRun) Same(o *SweepRun) (bool, string) {
	a, b := *r, *o
	a.Model.Path, b.Model.Path = "", ""
	a.Corpus, b.Corpus = "", ""
	return sameFields(a, b)
}

// sameFields reports whether two values of one struct type have equal
// fields, and if not, the first field that differs with both values.
// Fields are compared as they are written to a file (JSON), so a run read
// back equals the run that wrote it.
func sameFields(a, b any) (bool, string) {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < va.NumField(); i++ {
		fa, erra := json.Marshal(va.Field(i).Interface())
		fb, errb := json.Marshal(vb.Field(i).Interface())
		if erra != nil || errb != nil || !bytes.Equal(fa, fb) {
			name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("json"), ",")
			return false, fmt.Sprintf("%s: %s vs %s", name, resultsClip(fa), resultsClip(fb))
		}
	}
	return true, ""
}

// resultsClip shortens a JSON value for a message, keeping its end when
// that is where two values differ.
func resultsClip(b []byte) string {
	if len(b) > 160 {
		return string(b[:80]) + "…" + string(b[len(b)-60:])
	}
	return string(b)
}

// Job returns the component and spec of job j.
func (r *SweepRun) Job(j int) (component, spec string) {
	return r.Components[j/len(r.Specs)], r.Specs[j%len(r.Specs)]
}

// A SweepHeader is the first line of a results file.
type SweepHeader struct {
	Format int      `json:"divergo_sweep"`
	Run    SweepRun `json:"run"`
	// Shard is "i/n" for a file holding one slice of the jobs, "" for a
	// whole run (or a merged one).
	Shard string `json:"shard,omitempty"`
	// Version and Go record the program that wrote the file; they are not
	// compared.
	Version string `json:"divergo_version"`
	Go      string `json:"go"`
}

// NewSweepHeader returns the header of a run, stamped with this program's
// version.
func NewSweepHeader(run SweepRun, shard Shard) SweepHeader {
	h := SweepHeader{Format: ResultsFormat, Run: run, Version: "(unknown)", Go: runtime.Version()}
	if shard.N > 1 {
		h.Shard = shard.String()
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		h.Version = bi.Main.Version
	}
	return h
}

// A SweepRow is one line of a results file: one component compressed under
// one setting, with the metrics of `compare` (the embedded Divergence, same
// JSON keys) or the reason it was skipped.
type SweepRow struct {
	Job       int    `json:"job"` // index in the run's job list
	Component string `json:"component"`
	Layer     int    `json:"layer"` // −1 for embed and lm_head
	Kind      string `json:"kind"`
	Spec      string `json:"spec"`
	Params    int64  `json:"params"`
	// Bits is the nominal storage of the compressed matrix (scales
	// included) and BitsPerWeight = Bits/Params.
	Bits          int64   `json:"bits,omitempty"`
	BitsPerWeight float64 `json:"bits_per_weight,omitempty"`
	// Skipped says why a component cannot take the spec (a ggml block
	// format on rows that are not whole blocks, …); such rows have no
	// metrics.
	Skipped string `json:"skipped,omitempty"`

	*Divergence

	// PPLBase and PPL are the corpus perplexities of the base and
	// compressed model and Text their full comparison, with --ppl only.
	PPLBase *float64        `json:"ppl_base,omitempty"`
	PPL     *float64        `json:"ppl,omitempty"`
	Text    *TextComparison `json:"text,omitempty"`

	// Timing is the only part of a row that changes between runs.
	Timing RowTiming `json:"timing"`
}

// RowTiming is the wall time of one row.
type RowTiming struct {
	Seconds float64 `json:"seconds"`
}

// A Shard is a slice of a job list: job j belongs to shard j mod N
// (round robin, so every shard gets a similar mix of layers and costs).
// The zero Shard (or N = 1) is the whole list.
type Shard struct{ I, N int }

// ParseShard reads "i/n" with 0 ≤ i < n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	var sh Shard
	if !ok {
		return sh, fmt.Errorf("shard %q: want i/n, e.g. 0/4", s)
	}
	if _, err := fmt.Sscanf(a+" "+b, "%d %d", &sh.I, &sh.N); err != nil || strings.TrimSpace(a) != a || strings.TrimSpace(b) != b {
		return Shard{}, fmt.Errorf("shard %q: want i/n with integers, e.g. 0/4", s)
	}
	if sh.N < 1 || sh.I < 0 || sh.I >= sh.N {
		return Shard{}, fmt.Errorf("shard %q: want 0 ≤ i < n", s)
	}
	if fmt.Sprintf("%d/%d", sh.I, sh.N) != s {
		return Shard{}, fmt.Errorf("shard %q: want i/n in plain decimal, e.g. 0/4", s)
	}
	return sh, nil
}

func (s Shard) String() string {
	if s.N <= 1 {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Has reports whether job j belongs to the shard.
func (s Shard) Has(j int) bool { return s.N <= 1 || j%s.N == s.I }

// A Results is an open results file: read on open, locked against other
// writers, and appended one fsync'd row at a time.
type Results struct {
	Path   string
	Header SweepHeader
	// Rows are the rows in the file, in file order.
	Rows []SweepRow
	// Truncated is the number of bytes of an unfinished last line (a
	// process killed while writing) removed on open.
	Truncated int

	j    *journal
	done map[int]bool
}

// CreateResults opens the results file at path for a run. A missing or
// empty file gets the header. An existing one is refused unless resume is
// set; then its header must describe the same run and shard, its rows are
// read (a torn last line is cut off), and new rows are appended. The file
// is locked (flock) while open: a second writer is refused.
func CreateResults(path string, h SweepHeader, resume bool) (*Results, error) {
	line, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	j, data, err := openJournal(path, "results", line, resume)
	if err != nil {
		return nil, err
	}
	r := &Results{Path: path, Header: h, Truncated: j.truncated, j: j, done: map[int]bool{}}
	if data == nil {
		return r, nil
	}
	fail := func(err error) (*Results, error) {
		j.close()
		return nil, err
	}
	hd, rows, err := parseResults(path, data)
	if err != nil {
		return fail(err)
	}
	if ok, why := hd.Run.Same(&h.Run); !ok {
		return fail(fmt.Errorf("results %s: written by a different run (%s); resume only with the same model, corpus, settings and kernel path", path, why))
	}
	if hd.Shard != h.Shard {
		return fail(fmt.Errorf("results %s: holds shard %q, this run is shard %q", path, resultsShardName(hd.Shard), resultsShardName(h.Shard)))
	}
	sh, _ := ParseShard(resultsShardName(hd.Shard))
	for _, row := range rows {
		if !sh.Has(row.Job) {
			return fail(fmt.Errorf("results %s: job %d (%s %s) does not belong to shard %s", path, row.Job, row.Component, row.Spec, sh))
		}
		r.done[row.Job] = true
	}
	r.Header, r.Rows = hd, rows
	return r, nil
}

func resultsShardName(s string) string {
	if s == "" {
		return "0/1"
	}
	return s
}

// Done reports whether the file holds a row for job j.
func (r *Results) Done(j int) bool { return r.done[j] }

// Append writes one row and syncs it to disk before returning.
func (r *Results) Append(row SweepRow) error {
	if r.done[row.Job] {
		return fmt.Errorf("results %s: job %d (%s %s) is already present", r.Path, row.Job, row.Component, row.Spec)
	}
	line, err := json.Marshal(row)
	if err != nil {
		return fmt.Errorf("results: job %d: %w", row.Job, err)
	}
	if err := r.j.append(line); err != nil {
		return err
	}
	r.done[row.Job] = true
	r.Rows = append(r.Rows, row)
	return nil
}

// Close releases the lock and the file.
func (r *Results) Close() error {
	if r == nil {
		return nil
	}
	return r.j.close()
}

// ReadResults reads a results file: its header and rows in file order.
// An unfinished last line (a killed writer) is ignored; any other line that
// is not a row is an error naming the line.
func ReadResults(path string) (SweepHeader, []SweepRow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return SweepHeader{}, nil, fmt.Errorf("results: %w", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
	}
	return parseResults(path, data)
}

func parseResults(path string, data []byte) (SweepHeader, []SweepRow, error) {
	var h SweepHeader
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	line := 0
	var rows []SweepRow
	seen := map[int]int{}
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&h); err != nil || h.Format == 0 {
				return h, nil, fmt.Errorf("results %s:1: not a divergo sweep header (%v)", path, resultsErr(err, "no divergo_sweep key"))
			}
			if h.Format != ResultsFormat {
				return h, nil, fmt.Errorf("results %s:1: format %d, this divergo reads format %d", path, h.Format, ResultsFormat)
			}
			if len(h.Run.Specs) == 0 || h.Run.Jobs != len(h.Run.Specs)*len(h.Run.Components) {
				return h, nil, fmt.Errorf("results %s:1: header lists %d jobs for %d components × %d specs", path, h.Run.Jobs, len(h.Run.Components), len(h.Run.Specs))
			}
			if h.Shard != "" {
				if _, err := ParseShard(h.Shard); err != nil {
					return h, nil, fmt.Errorf("results %s:1: %w", path, err)
				}
			}
			continue
		}
		var row SweepRow
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&row); err != nil {
			return h, nil, fmt.Errorf("results %s:%d: not a sweep row: %v", path, line, err)
		}
		if row.Job < 0 || row.Job >= h.Run.Jobs {
			return h, nil, fmt.Errorf("results %s:%d: job %d outside the header's %d jobs", path, line, row.Job, h.Run.Jobs)
		}
		if c, s := h.Run.Job(row.Job); c != row.Component || s != row.Spec {
			return h, nil, fmt.Errorf("results %s:%d: job %d is %s %s in the header, the row says %s %s", path, line, row.Job, c, s, row.Component, row.Spec)
		}
		if at, dup := seen[row.Job]; dup {
			return h, nil, fmt.Errorf("results %s:%d: job %d (%s %s) already on line %d", path, line, row.Job, row.Component, row.Spec, at)
		}
		if row.Divergence == nil && row.Skipped == "" {
			return h, nil, fmt.Errorf("results %s:%d: job %d has neither metrics nor a reason it was skipped", path, line, row.Job)
		}
		seen[row.Job] = line
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return h, nil, fmt.Errorf("results %s:%d: %w", path, line+1, err)
	}
	if line == 0 {
		return h, nil, fmt.Errorf("results %s: empty file", path)
	}
	return h, rows, nil
}

func resultsErr(err error, def string) string {
	if err != nil {
		return err.Error()
	}
	return def
}

// MergeResult says what MergeResults joined.
type MergeResult struct {
	Output string      `json:"output"`
	Inputs []string    `json:"inputs"`
	Jobs   int         `json:"jobs"`
	Header SweepHeader `json:"-"`
	Rows   []SweepRow  `json:"-"`
}

// MergeResults joins the results files of the shards of one run into a
// single file at out (written to a temporary file, synced and renamed):
// every input must hold the same run, and together they must hold every job
// exactly once. The merged file has the run's header without a shard and
// the rows in job order.
func MergeResults(out string, inputs []string) (MergeResult, error) {
	if len(inputs) == 0 {
		return MergeResult{}, fmt.Errorf("merge: no input files")
	}
	var h SweepHeader
	byJob := map[int]SweepRow{}
	from := map[int]string{}
	shards := map[string]string{}
	for i, in := range inputs {
		hi, rows, err := ReadResults(in)
		if err != nil {
			return MergeResult{}, fmt.Errorf("merge: %w", err)
		}
		if i == 0 {
			h = hi
		} else if ok, why := h.Run.Same(&hi.Run); !ok {
			return MergeResult{}, fmt.Errorf("merge: %s and %s come from different runs (%s)", inputs[0], in, why)
		}
		if prev, ok := shards[hi.Shard]; ok && hi.Shard != "" {
			return MergeResult{}, fmt.Errorf("merge: %s and %s both hold shard %s", prev, in, hi.Shard)
		}
		shards[hi.Shard] = in
		for _, row := range rows {
			if prev, dup := from[row.Job]; dup {
				return MergeResult{}, fmt.Errorf("merge: job %d (%s %s) is in both %s and %s", row.Job, row.Component, row.Spec, prev, in)
			}
			byJob[row.Job], from[row.Job] = row, in
		}
	}
	var missing []string
	for j := 0; j < h.Run.Jobs; j++ {
		if _, ok := byJob[j]; !ok {
			c, s := h.Run.Job(j)
			missing = append(missing, fmt.Sprintf("%d (%s %s)", j, c, s))
		}
	}
	if len(missing) > 0 {
		more := ""
		if len(missing) > 5 {
			more = fmt.Sprintf(" and %d more", len(missing)-5)
			missing = missing[:5]
		}
		return MergeResult{}, fmt.Errorf("merge: %d of %d jobs missing: %s%s (a shard unfinished or not given)", h.Run.Jobs-len(byJob), h.Run.Jobs, strings.Join(missing, ", "), more)
	}
	h.Shard = ""
	rows := make([]SweepRow, 0, len(byJob))
	for _, row := range byJob {
		rows = append(rows, row)
	}
	sort.Slice(rows, func(a, b int) bool { return rows[a].Job < rows[b].Job })
	err := WriteFileAtomic(out, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		if err := enc.Encode(h); err != nil {
			return err
		}
		for _, row := range rows {
			if err := enc.Encode(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return MergeResult{}, fmt.Errorf("merge: %w", err)
	}
	return MergeResult{Output: out, Inputs: inputs, Jobs: h.Run.Jobs, Header: h, Rows: rows}, nil
}

// WriteFileAtomic writes a file through write into a temporary file in the
// same directory, syncs it and renames it over path, so readers see the old
// file or the whole new one, never a part.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	ok = true
	return nil
}
