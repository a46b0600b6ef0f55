package eval

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/metrics"
	"github.com/divergo/divergo/quant"
)

// Sample sizes of a sweep when none are given: the prompt and continuation
// lengths of METRICS.md §1.2, and fewer prompts than compare's 512, since a
// sweep runs one comparison per component and setting (--samples 512 for
// the full protocol).
const (
	DefaultSweepPromptLen = DefaultPromptLen // n = 64
	DefaultSweepGen       = 128              // G
	DefaultSweepSamples   = 128              // S
)

// SweepOptions are the inputs of `divergo sweep`: compress every selected
// component alone under every setting and compare each result with the
// base model (DESIGN §2, METRICS.md §1.5).
type SweepOptions struct {
	// Specs are the settings; every component is swept under each.
	Specs []quant.Spec
	// Components selects what is swept (--components); nil means the
	// seven matrices of every layer, the DTM notion of a component.
	// embed and lm_head are swept only when selected.
	Components []quant.Selector
	// A8 runs each compressed matrix with int8 activations (W·A8).
	A8 bool

	// Docs are the corpus documents and Corpus names them.
	Docs   []string
	Corpus string
	// PromptLen (n), Gen (G), Samples (S); zero means DefaultSweep*.
	PromptLen, Gen, Samples int
	// KL chooses the token-level KL (full vocabulary by default).
	KL metrics.KLOptions
	// KVCache records the Env's KV-cache precision ("" = f32), as in
	// CompareOptions.
	KVCache string

	// PPLProtocol, when set (not "" or "none"), adds the corpus perplexity
	// of base and compressed model to every row (--ppl), with PPLCtx
	// (0 = 512) and PPLChunks as in CompareOptions. Each row then costs two
	// whole-model passes per perplexity window.
	PPLProtocol string
	PPLCtx      int
	PPLChunks   int

	// Cache is the prefix-cache mode (CacheAuto, CacheF32, CacheF16,
	// CacheOff) and Mem the memory budget in bytes for cached residual
	// streams and base rows (0: DefaultSweepMem).
	Cache string
	Mem   int64
	// TempDir is where base rows go when they exceed half the budget
	// ("": beside Output, or the system's temporary directory).
	TempDir string
	// Workers is the number of samples run at once, each on one thread;
	// 0 chooses: one per thread for models up to 200 M parameters, else one
	// whose passes use every thread. Results do not depend on it.
	Workers int

	// Output is the results file (JSONL, appended and synced row by row);
	// "" keeps the rows in memory only. Resume continues an existing file
	// of the same run; Shard runs one slice of the jobs.
	Output string
	Resume bool
	Shard  Shard

	// Progress, when set, is called as work advances: stage "references",
	// "base" (the base pass filling the cache), "cache" (recomputing a
	// group of cached layers) or "components" (done and total count
	// samples over the jobs still to run). OnRow sees every row written.
	Progress func(stage string, done, total int)
	OnRow    func(row SweepRow, done, total int)
}

// SweepResult is what a sweep reports besides its results file.
type SweepResult struct {
	Header SweepHeader `json:"header"`
	// Rows are every row of this run (this shard) in job order: those found
	// in a resumed file and those computed now.
	Rows []SweepRow `json:"rows"`
	// Jobs is the number of jobs of this shard, Resumed the rows that were
	// already in the file, Ran the rows computed now, Skipped the rows of
	// components that cannot take their spec, and Truncated the bytes of a
	// torn last line removed on resume.
	Jobs      int `json:"jobs"`
	Resumed   int `json:"resumed"`
	Ran       int `json:"ran"`
	Skipped   int `json:"skipped"`
	Truncated int `json:"truncated_bytes,omitempty"`
	// Complete is true when the rows cover every job of the run (not only
	// of the shard).
	Complete bool      `json:"complete"`
	Corpus   CorpusUse `json:"corpus"`
	// Flagged counts samples repaired by the reference self-check.
	Flagged int         `json:"flagged"`
	Cache   CacheReport `json:"cache"`
	Timing  SweepTiming `json:"timing"`
	Output  string      `json:"output,omitempty"`
}

// SweepTiming is the wall time of each stage in seconds.
type SweepTiming struct {
	Threads    int     `json:"threads"`
	Workers    int     `json:"workers"`
	Reference  float64 `json:"reference_s"`  // prompts, greedy references and self-checks
	Base       float64 `json:"base_s"`       // base pass: base rows and the first cache group
	Recompute  float64 `json:"recompute_s"`  // later cache groups
	Components float64 `json:"components_s"` // the rows
	Total      float64 `json:"total_s"`
}

// A sweepJob is one component under one setting.
type sweepJob struct {
	Index     int
	Component engine.Component
	Spec      quant.Spec
}

// sweepComponents lists the components a sweep covers, in job order:
// embed, the layers in forward order, lm_head.
func sweepComponents(m *engine.Model, sel []quant.Selector) ([]engine.Component, error) {
	byName := map[string]engine.Component{}
	for _, c := range m.Components() {
		byName[c.Name] = c
	}
	var out []engine.Component
	for _, name := range quant.Components(m.Config.Layers) {
		c, ok := byName[name]
		if !ok {
			continue
		}
		pick := false
		if sel == nil {
			pick = c.Layer >= 0
		}
		for _, s := range sel {
			if s.Match(name) {
				pick = true
			}
		}
		if pick {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		var ss []string
		for _, s := range sel {
			ss = append(ss, s.String())
		}
		return nil, fmt.Errorf("sweep: --components %q selects no component of this model", strings.Join(ss, ","))
	}
	return out, nil
}

// ModelFingerprint identifies a model's weights cheaply: sha256 over every
// component's name, shape, format and size with the first and last 4 KiB of
// its stored bytes, and every norm weight. Two different checkpoints of one
// shape differ in it; reading it costs a few pages per tensor.
func ModelFingerprint(m *engine.Model) (string, error) {
	h := sha256.New()
	var b [8]byte
	num := func(v int) {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	}
	for _, c := range m.Components() {
		w, err := m.Matrix(c.Name)
		if err != nil {
			return "", err
		}
		h.Write([]byte(c.Name + "\x00" + w.Format.Name + "\x00"))
		num(w.Rows)
		num(w.Cols)
		num(len(w.Data))
		const k = 4096
		if len(w.Data) <= 2*k {
			h.Write(w.Data)
		} else {
			h.Write(w.Data[:k])
			h.Write(w.Data[len(w.Data)-k:])
		}
	}
	norm := func(v []float32) {
		for _, x := range v {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(x))
			h.Write(b[:4])
		}
	}
	for _, l := range m.Layers {
		norm(l.AttnNorm)
		norm(l.FFNNorm)
	}
	norm(m.Norm)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CorpusSHA256 identifies a corpus: sha256 over the documents, each
// followed by a zero byte.
func CorpusSHA256(docs []string) string {
	h := sha256.New()
	for _, d := range docs {
		h.Write([]byte(d))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// A sweeper holds what every job of a sweep (and every step of a planner)
// shares: the samples, the base rows and the residual cache.
type sweeper struct {
	e       *Env
	o       SweepOptions
	n, G, S int
	T       int
	set     PromptSet
	comps   []engine.Component
	run     SweepRun
	mem     CacheReport
	workers int

	samples []Sample
	inputs  [][]int
	rows    *rowStore
	cache   *residualCache
	timing  SweepTiming
	// compressed caches matrices by component and spec for the planner.
	compressed map[string]*kernels.Matrix
	// onSample, when set, is called after each sample compared.
	onSample func()
}

// newSweeper checks the options and describes the run; nothing heavy runs.
func newSweeper(e *Env, o SweepOptions) (*sweeper, error) {
	if len(o.Specs) == 0 {
		return nil, fmt.Errorf("sweep: no compression setting")
	}
	sw := &sweeper{e: e, o: o, compressed: map[string]*kernels.Matrix{}}
	sw.n = compareDefault(o.PromptLen, DefaultSweepPromptLen)
	sw.G = compareDefault(o.Gen, DefaultSweepGen)
	sw.S = compareDefault(o.Samples, DefaultSweepSamples)
	sw.T = sw.n + sw.G - 1
	m := e.Model
	if sw.n+sw.G > m.Config.MaxSeq {
		return nil, fmt.Errorf("sweep: prompt length %d + generation length %d = %d exceeds the model's context of %d tokens", sw.n, sw.G, sw.n+sw.G, m.Config.MaxSeq)
	}
	seen := map[string]bool{}
	var specs []string
	for _, s := range o.Specs {
		if seen[s.String()] {
			return nil, fmt.Errorf("sweep: setting %s given twice", s)
		}
		seen[s.String()] = true
		specs = append(specs, s.String())
	}
	var err error
	if sw.comps, err = sweepComponents(m, o.Components); err != nil {
		return nil, err
	}
	ppl := "none"
	if o.PPLProtocol != "" && o.PPLProtocol != "none" {
		p, err := metrics.ParseProtocol(o.PPLProtocol)
		if err != nil {
			return nil, fmt.Errorf("sweep: --ppl-protocol: %w", err)
		}
		ppl = p.String()
	}
	if sw.set, err = Prompts(m.Tokenizer, o.Docs, sw.n, sw.S); err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", o.Corpus, err)
	}
	S := len(sw.set.Prompts)
	sw.mem, err = sweepMemPlan(o.Cache, compareDefault64(o.Mem, DefaultSweepMem), S, sw.T, sw.G, m.Config.Dim, m.Config.Vocab, m.Config.Layers)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	fp, err := ModelFingerprint(m)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	names := make([]string, len(sw.comps))
	for i, c := range sw.comps {
		names[i] = c.Name
	}
	residual := "exact"
	if sw.mem.Mode == "prefix" && sw.mem.Precision == "f16" {
		residual = "f16"
	}
	sw.run = SweepRun{
		Model: m.Source, Config: m.Config, Params: m.Params(), Fingerprint: fp,
		Corpus: o.Corpus, CorpusSHA256: CorpusSHA256(o.Docs),
		PromptLen: sw.n, Gen: sw.G, Samples: sw.S,
		Specs: specs, Components: names, Jobs: len(names) * len(specs),
		KLSupport: compareKLSupport(o.KL), A8: o.A8, KVCache: compareDefaultString(o.KVCache, "f32"),
		ISA: string(kernels.CurrentISA()), Residual: residual, PPL: ppl,
	}
	if ppl != "none" {
		sw.run.PPLCtx, sw.run.PPLChunks = compareDefault(o.PPLCtx, DefaultPPLCtx), o.PPLChunks
	}
	sw.workers = o.Workers
	if sw.workers <= 0 {
		sw.workers = 1
		if m.Params() <= 200_000_000 {
			sw.workers = e.Pool.Threads()
		}
	}
	sw.workers = max(1, min(sw.workers, S))
	sw.timing.Threads, sw.timing.Workers = e.Pool.Threads(), sw.workers
	return sw, nil
}

func compareDefault64(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// jobs returns the run's job list.
func (sw *sweeper) jobs() []sweepJob {
	var out []sweepJob
	for _, c := range sw.comps {
		for _, s := range sw.o.Specs {
			out = append(out, sweepJob{Index: len(out), Component: c, Spec: s})
		}
	}
	return out
}

// startLayer is the first layer a pass must run when component c changes:
// its own layer; the last layer for lm_head (whose input is the last
// layer's output); −1 (the whole model, from the tokens) for embed.
func (sw *sweeper) startLayer(c engine.Component) int {
	switch {
	case c.Layer >= 0:
		return c.Layer
	case c.Name == "lm_head":
		return sw.e.Model.Config.Layers - 1
	}
	return -1
}

// prepare generates the references and runs the base pass: the base rows
// and the first group of cached residual streams. needed lists the layers
// whose inputs the remaining work will ask for, ascending.
func (sw *sweeper) prepare(needed []int) error {
	e, o := sw.e, sw.o
	t0 := time.Now()
	var prog func(done, total int)
	if o.Progress != nil {
		prog = func(done, total int) { o.Progress("references", done, total) }
	}
	var err error
	if sw.samples, err = References(e.Model, e.Pool, sw.set.Prompts, sw.G, prog); err != nil {
		return fmt.Errorf("sweep: base model: %w", err)
	}
	sw.inputs = make([][]int, len(sw.samples))
	for i := range sw.samples {
		sw.inputs[i] = sw.samples[i].Input()
	}
	sw.timing.Reference = time.Since(t0).Seconds()

	t0 = time.Now()
	S, G, V := len(sw.samples), sw.G, e.Model.Config.Vocab
	dir := o.TempDir
	if dir == "" && o.Output != "" {
		dir = filepath.Dir(o.Output)
	}
	if sw.rows, err = newRowStore(sw.mem.BaseRows == "disk", dir, S, G*V); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if sw.mem.Mode == "prefix" && len(needed) > 0 {
		sw.cache = newResidualCache(sw.mem.Precision == "f16", S, sw.T, e.Model.Config.Dim, needed, sw.mem.Window)
		sw.cache.use(0)
		sw.mem.Groups = len(sw.cache.groups)
	}
	states, err := sw.states(e.Model)
	if err != nil {
		return err
	}
	out := make([][]float32, sw.workers)
	err = sw.each(func(w, i int) error {
		st := states[w]
		st.Reset()
		if sw.cache != nil {
			st.Hooks = &engine.Hooks{LayerInput: func(l int, x []float32) { sw.cache.put(l, i, x) }}
		}
		var err error
		out[w], err = st.Forward(sw.inputs[i], G)
		return err
	}, func(w, i int) error {
		// The reference passed the self-check on this very computation;
		// a disagreement here means the forward pass is not deterministic.
		s := &sw.samples[i]
		for j, y := range s.Ref {
			if argmaxID(out[w][j*V:(j+1)*V]) == y {
				continue
			}
			return fmt.Errorf("sweep: document %d: the base pass does not reproduce the base continuation at position %d (nondeterministic kernels?)", s.Doc, j)
		}
		if err := sw.rows.put(i, out[w]); err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress("base", i+1, S)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sweep: base model: %w", err)
	}
	sw.timing.Base = time.Since(t0).Seconds()
	return nil
}

// states makes one State per worker for model m.
func (sw *sweeper) states(m *engine.Model) ([]*engine.State, error) {
	pool := sw.e.Pool
	if sw.workers > 1 {
		pool = nil // each worker runs its samples on one thread
	}
	out := make([]*engine.State, sw.workers)
	for w := range out {
		st, err := engine.NewState(m, sw.n+sw.G, pool)
		if err != nil {
			return nil, fmt.Errorf("sweep: %w", err)
		}
		out[w] = st
	}
	return out, nil
}

// each runs every sample: run(worker, sample) for up to Workers samples at
// once, then after(worker, sample) for those samples in sample order on
// the calling goroutine, so anything accumulated in after does not depend
// on the number of workers.
func (sw *sweeper) each(run, after func(w, i int) error) error {
	S, W := len(sw.samples), sw.workers
	errs := make([]error, W)
	for i0 := 0; i0 < S; i0 += W {
		k := min(W, S-i0)
		if k == 1 {
			errs[0] = run(0, i0)
		} else {
			var wg sync.WaitGroup
			for w := 0; w < k; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[w] = run(w, i0+w)
				}()
			}
			wg.Wait()
		}
		for w := 0; w < k; w++ {
			if errs[w] != nil {
				return errs[w]
			}
		}
		for w := 0; w < k; w++ {
			if err := after(w, i0+w); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensure makes the cached inputs of layer l resident when the cache can
// hold them, recomputing the group that holds l from the previous group's
// last layer (docs/sweep.md "Memory"). It reports whether l is resident.
func (sw *sweeper) ensure(l int) (bool, error) {
	c := sw.cache
	if c == nil || l < 0 {
		return false, nil
	}
	if c.holds(l) {
		return true, nil
	}
	g := c.groupOf(l)
	if g < 0 {
		return false, nil
	}
	if g < c.cur || c.cur < 0 {
		// Groups are filled in order from the base pass; going back would
		// mean another whole pass. Callers run jobs in layer order.
		return false, nil
	}
	t0 := time.Now()
	states, err := sw.states(sw.e.Model)
	if err != nil {
		return false, err
	}
	for c.cur < g {
		// Run the base model from the input of the current group's last
		// layer, capturing the inputs of the next group's layers. Each pass
		// copies its input into the state before any hook fires, and a hook
		// writes only the sample being run, so a slot can be refilled while
		// the other samples' inputs in it are still to be read.
		prev := c.groups[c.cur][len(c.groups[c.cur])-1]
		from := c.slot[prev]
		next := c.cur + 1
		nextSlot := map[int]int{}
		for i, x := range c.groups[next] {
			nextSlot[x] = i
		}
		bufs := make([][]float32, sw.workers)
		err := sw.each(func(w, i int) error {
			if bufs[w] == nil && c.f16 {
				bufs[w] = make([]float32, c.Tn)
			}
			st := states[w]
			st.Reset()
			st.Hooks = &engine.Hooks{LayerInput: func(l int, x []float32) {
				if l != prev {
					c.putSlot(nextSlot, l, i, x)
				}
			}}
			_, err := st.ForwardFrom(prev, c.getSlot(from, i, bufs[w]), 0)
			return err
		}, func(w, i int) error {
			if sw.o.Progress != nil {
				sw.o.Progress("cache", i+1, len(sw.samples))
			}
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("sweep: recomputing cached layers %v: %w", c.groups[next], err)
		}
		c.use(next)
		sw.mem.Groups = max(sw.mem.Groups, next+1)
	}
	sw.timing.Recompute += time.Since(t0).Seconds()
	return true, nil
}

// getSlot and putSlot address a slot directly (ensure switches groups).
func (c *residualCache) getSlot(i, s int, buf []float32) []float32 {
	if c.f16 {
		kernels.F16ToF32(buf[:c.Tn], c.f16s[i][s*c.Tn:(s+1)*c.Tn])
		return buf[:c.Tn]
	}
	return c.f32s[i][s*c.Tn : (s+1)*c.Tn]
}

func (c *residualCache) putSlot(slots map[int]int, l, s int, x []float32) {
	i, ok := slots[l]
	if !ok {
		return
	}
	if c.f16 {
		kernels.F32ToF16(c.f16s[i][s*c.Tn:(s+1)*c.Tn], x)
	} else {
		copy(c.f32s[i][s*c.Tn:(s+1)*c.Tn], x)
	}
}

// compare runs model m (a variant of the base differing from layer start
// on; −1: anywhere) over every sample and compares it with the base rows.
// With the start layer's inputs cached, each pass runs layers start…L−1
// only; otherwise it runs the whole model.
func (sw *sweeper) compare(m *engine.Model, start int) (Divergence, error) {
	cached, err := sw.ensure(start)
	if err != nil {
		return Divergence{}, err
	}
	states, err := sw.states(m)
	if err != nil {
		return Divergence{}, err
	}
	acc := Comparison{KL: sw.o.KL, Pool: sw.e.Pool}
	out := make([][]float32, sw.workers)
	xbuf := make([][]float32, sw.workers)
	var rbuf []float32
	var rbytes []byte
	if sw.rows.file != nil {
		rbuf, rbytes = make([]float32, sw.rows.n), make([]byte, 4*sw.rows.n)
	}
	err = sw.each(func(w, i int) error {
		st := states[w]
		st.Reset()
		var err error
		if cached {
			if xbuf[w] == nil && sw.cache.f16 {
				xbuf[w] = make([]float32, sw.cache.Tn)
			}
			out[w], err = st.ForwardFrom(start, sw.cache.get(start, i, xbuf[w]), sw.G)
		} else {
			out[w], err = st.Forward(sw.inputs[i], sw.G)
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", sw.samples[i].Doc, err)
		}
		return nil
	}, func(w, i int) error {
		base, err := sw.rows.get(i, rbuf, rbytes)
		if err != nil {
			return err
		}
		if _, err := acc.Add(&sw.samples[i], base, out[w]); err != nil {
			return err
		}
		if sw.onSample != nil {
			sw.onSample()
		}
		return nil
	})
	if err != nil {
		return Divergence{}, err
	}
	return acc.Divergence()
}

// matrix returns component c compressed under spec (memoised for the
// planner, which re-applies the same matrices step after step).
func (sw *sweeper) matrix(c string, spec quant.Spec, keep bool) (*kernels.Matrix, error) {
	key := c + "=" + spec.String()
	if q, ok := sw.compressed[key]; ok {
		return q, nil
	}
	q, err := sw.e.Model.Compress(c, spec)
	if err != nil {
		return nil, err
	}
	if sw.o.A8 && q.Format.Act != nil {
		q.A8 = true
	}
	if keep {
		sw.compressed[key] = q
	}
	return q, nil
}

func (sw *sweeper) close() {
	if sw.rows != nil {
		sw.rows.close()
	}
}

// Sweep compresses every selected component alone under every setting and
// compares each variant with the base model on the same samples
// (METRICS.md §1.5): one row per (component, setting), appended to
// o.Output and synced as it completes. The references and the base pass
// run once; with prefix caching a component in layer l runs layers l…L−1
// only, from the residual stream the base pass cached (docs/sweep.md).
func Sweep(e *Env, o SweepOptions) (SweepResult, error) {
	sw, err := newSweeper(e, o)
	if err != nil {
		return SweepResult{}, err
	}
	defer sw.close()
	return sw.sweep()
}

// sweep runs the jobs of this shard that the results file lacks.
func (sw *sweeper) sweep() (SweepResult, error) {
	start := time.Now()
	e, o := sw.e, sw.o
	var err error
	header := NewSweepHeader(sw.run, o.Shard)
	r := SweepResult{Header: header, Cache: sw.mem, Output: o.Output}
	S := len(sw.set.Prompts)
	r.Corpus = CorpusUse{Name: o.Corpus, Documents: sw.set.Documents, Examined: sw.set.Examined, Short: sw.set.Short,
		Requested: sw.S, Used: S, FirstDoc: sw.set.Prompts[0].Doc, LastDoc: sw.set.Prompts[S-1].Doc}

	var res *Results
	if o.Output != "" {
		if res, err = CreateResults(o.Output, header, o.Resume); err != nil {
			return r, err
		}
		defer res.Close()
		r.Resumed, r.Truncated = len(res.Rows), res.Truncated
	}
	done := func(j int) bool { return res != nil && res.Done(j) }
	var todo []sweepJob
	for _, j := range sw.jobs() {
		if !o.Shard.Has(j.Index) {
			continue
		}
		r.Jobs++
		if !done(j.Index) {
			todo = append(todo, j)
		}
	}
	var rows []SweepRow
	if res != nil {
		rows = append(rows, res.Rows...)
	}
	if len(todo) > 0 {
		neededSet := map[int]bool{}
		for _, j := range todo {
			if l := sw.startLayer(j.Component); l >= 0 && sw.skipReason(j) == "" {
				neededSet[l] = true
			}
		}
		var needed []int
		for l := 0; l < e.Model.Config.Layers; l++ {
			if neededSet[l] {
				needed = append(needed, l)
			}
		}
		if err := sw.prepare(needed); err != nil {
			return r, err
		}
		t0 := time.Now()
		units, total := 0, len(todo)*S
		if o.Progress != nil {
			o.Progress("components", 0, total)
		}
		sw.onSample = func() {
			units++
			if o.Progress != nil {
				o.Progress("components", units, total)
			}
		}
		text := ""
		if sw.run.PPL != "none" {
			docs := make([]string, S)
			for i, p := range sw.set.Prompts {
				docs[i] = o.Docs[p.Doc]
			}
			text = strings.Join(docs, "\n\n")
		}
		for k, j := range todo {
			row, err := sw.job(j, text)
			if err != nil {
				return r, err
			}
			if row.Skipped != "" {
				units += S
				if o.Progress != nil {
					o.Progress("components", units, total)
				}
			}
			if res != nil {
				if err := res.Append(row); err != nil {
					return r, err
				}
			}
			rows = append(rows, row)
			r.Ran++
			if o.OnRow != nil {
				o.OnRow(row, k+1, len(todo))
			}
		}
		sw.timing.Components = time.Since(t0).Seconds()
		r.Cache.Groups = sw.mem.Groups
	}
	sortRows(rows)
	r.Rows = rows
	for _, row := range rows {
		if row.Skipped != "" {
			r.Skipped++
		}
	}
	r.Complete = len(rows) == sw.run.Jobs
	for _, s := range sw.samples {
		if s.Repairs > 0 {
			r.Flagged++
		}
	}
	sw.timing.Total = time.Since(start).Seconds()
	r.Timing = sw.timing
	return r, nil
}

// skipReason says why a job cannot run ("" when it can).
func (sw *sweeper) skipReason(j sweepJob) string {
	c := j.Component
	if err := j.Spec.Check(c.Cols); err != nil {
		return fmt.Sprintf("%s cannot take %s: %v", c.Name, j.Spec, err)
	}
	if _, err := j.Spec.MatrixBits(c.Rows, c.Cols); err != nil {
		return fmt.Sprintf("%s cannot take %s: %v", c.Name, j.Spec, err)
	}
	return ""
}

// job runs one (component, setting) and returns its row.
func (sw *sweeper) job(j sweepJob, text string) (SweepRow, error) {
	t0 := time.Now()
	c := j.Component
	row := SweepRow{Job: j.Index, Component: c.Name, Layer: c.Layer, Kind: c.Kind, Spec: j.Spec.String(), Params: c.Params()}
	if why := sw.skipReason(j); why != "" {
		row.Skipped = why
		row.Timing.Seconds = time.Since(t0).Seconds()
		return row, nil
	}
	bits, _ := j.Spec.MatrixBits(c.Rows, c.Cols)
	row.Bits, row.BitsPerWeight = bits, float64(bits)/float64(c.Params())
	q, err := sw.matrix(c.Name, j.Spec, false)
	if err != nil {
		return row, fmt.Errorf("sweep: %s %s: %w", c.Name, j.Spec, err)
	}
	v, err := sw.e.Model.With(map[string]*kernels.Matrix{c.Name: q})
	if err != nil {
		return row, fmt.Errorf("sweep: %s %s: %w", c.Name, j.Spec, err)
	}
	defer v.Close()
	d, err := sw.compare(v, sw.startLayer(c))
	if err != nil {
		return row, fmt.Errorf("sweep: %s %s: %w", c.Name, j.Spec, err)
	}
	row.Divergence = &d
	if text != "" {
		p, _ := metrics.ParseProtocol(sw.run.PPL)
		t, err := CompareText(sw.e, v, text, TextOptions{Protocol: p, Ctx: sw.run.PPLCtx, Chunks: sw.run.PPLChunks, KL: sw.o.KL})
		if err != nil {
			return row, fmt.Errorf("sweep: %s %s: corpus perplexity: %w", c.Name, j.Spec, err)
		}
		row.Text, row.PPLBase, row.PPL = t, &t.PPLBase, &t.PPL
	}
	row.Timing.Seconds = time.Since(t0).Seconds()
	return row, nil
}

func sortRows(rows []SweepRow) {
	sort.Slice(rows, func(a, b int) bool { return rows[a].Job < rows[b].Job })
}
