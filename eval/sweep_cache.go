package eval

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/divergo/divergo/kernels"
)

// DefaultSweepMem is the default memory budget of a sweep for the cached
// residual streams and the base logit rows (--mem).
const DefaultSweepMem = 4 << 30

// Cache modes of SweepOptions.Cache.
const (
	CacheAuto = "auto" // float32 when one layer fits in the budget, else float16, else off
	CacheF32  = "f32"  // float32 residuals: rows identical to running the whole model
	CacheF16  = "f16"  // float16 residuals: half the memory, rows differ at the rounding level
	CacheOff  = "off"  // no prefix caching: every pass runs the whole model (--no-cache)
)

// CacheReport says how a sweep held its intermediate data.
type CacheReport struct {
	// Mode is "prefix" (a component in layer l runs layers l…L−1 from the
	// cached residual stream entering layer l) or "off" (whole-model passes).
	Mode string `json:"mode"`
	// Precision of the cached residual streams: "f32" or "f16" ("" when off).
	Precision string `json:"precision,omitempty"`
	// LayerBytes is the size of one layer's cache (all samples, T×dim each),
	// Window the number of layers held at once and Groups the number of
	// base passes that filled them (1: every layer cached by the first base
	// pass; more: memory was short, and each later group was recomputed
	// from the cached input of the previous group's last layer).
	LayerBytes int64 `json:"layer_bytes,omitempty"`
	Window     int   `json:"window,omitempty"`
	Groups     int   `json:"groups,omitempty"`
	// BaseRows is where the base model's logit rows (S×G×vocab float32,
	// for KL) are kept: "memory" or "disk" (a temporary file, read back
	// per sample), and BaseRowsBytes their size.
	BaseRows      string `json:"base_rows"`
	BaseRowsBytes int64  `json:"base_rows_bytes"`
	// Budget is the memory budget (--mem) and Note explains a fallback.
	Budget int64  `json:"budget"`
	Note   string `json:"note,omitempty"`
}

// sweepMemPlan decides where the base rows and the residual streams live
// (docs/sweep.md "Memory"). The precision depends only on the run's sizes
// and the budget, never on which jobs remain, so a resumed run decides the
// same.
func sweepMemPlan(mode string, budget int64, S, T, G, dim, vocab, needed int) (CacheReport, error) {
	r := CacheReport{Mode: "prefix", Budget: budget, BaseRows: "memory"}
	r.BaseRowsBytes = int64(S) * int64(G) * int64(vocab) * 4
	left := budget
	if r.BaseRowsBytes > budget/2 {
		r.BaseRows = "disk"
	} else {
		left -= r.BaseRowsBytes
	}
	l32 := int64(S) * int64(T) * int64(dim) * 4
	window := func(layerBytes int64) int {
		w := int(min(int64(max(needed, 1)), left/layerBytes))
		return max(w, 1)
	}
	switch mode {
	case "", CacheAuto:
		switch {
		case left >= l32:
			r.Precision, r.LayerBytes = "f32", l32
		case left >= l32/2:
			r.Precision, r.LayerBytes = "f16", l32/2
			r.Note = fmt.Sprintf("one layer's float32 cache (%s) exceeds the budget (%s left): residual streams cached as float16", sweepBytes(l32), sweepBytes(left))
		default:
			r.Mode = "off"
			r.Note = fmt.Sprintf("one layer's float16 cache (%s) exceeds the budget (%s left): no prefix caching", sweepBytes(l32/2), sweepBytes(left))
		}
	case CacheF32:
		r.Precision, r.LayerBytes = "f32", l32
	case CacheF16:
		r.Precision, r.LayerBytes = "f16", l32/2
	case CacheOff:
		r.Mode = "off"
	default:
		return r, fmt.Errorf("cache %q: want auto, f32, f16 or off", mode)
	}
	if r.Mode == "prefix" {
		r.Window = window(r.LayerBytes)
	}
	return r, nil
}

func sweepBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

// residualCache holds the residual stream entering some layers for every
// sample: a window of slots, one per layer of the current group.
type residualCache struct {
	f16    bool
	S, Tn  int // samples, values per sample (T·dim)
	groups [][]int
	cur    int         // current group, −1 before the first
	slot   map[int]int // layer → slot of the current group
	f32s   [][]float32
	f16s   [][]uint16
}

func newResidualCache(f16 bool, S, T, dim int, needed []int, window int) *residualCache {
	c := &residualCache{f16: f16, S: S, Tn: T * dim, cur: -1, slot: map[int]int{}}
	for i := 0; i < len(needed); i += window {
		c.groups = append(c.groups, needed[i:min(i+window, len(needed))])
	}
	w := min(window, len(needed))
	for i := 0; i < w; i++ {
		if f16 {
			c.f16s = append(c.f16s, make([]uint16, S*c.Tn))
		} else {
			c.f32s = append(c.f32s, make([]float32, S*c.Tn))
		}
	}
	return c
}

// groupOf returns the group holding layer l, or −1.
func (c *residualCache) groupOf(l int) int {
	for g, ls := range c.groups {
		for _, x := range ls {
			if x == l {
				return g
			}
		}
	}
	return -1
}

// use makes group g current (its slots are about to be filled).
func (c *residualCache) use(g int) {
	c.cur = g
	clear(c.slot)
	for i, l := range c.groups[g] {
		c.slot[l] = i
	}
}

// holds reports whether layer l's inputs are in the cache now.
func (c *residualCache) holds(l int) bool {
	_, ok := c.slot[l]
	return ok
}

// put stores the residual entering layer l of sample s, if l is cached.
func (c *residualCache) put(l, s int, x []float32) {
	i, ok := c.slot[l]
	if !ok {
		return
	}
	if c.f16 {
		kernels.F32ToF16(c.f16s[i][s*c.Tn:(s+1)*c.Tn], x)
	} else {
		copy(c.f32s[i][s*c.Tn:(s+1)*c.Tn], x)
	}
}

// get returns the residual entering layer l of sample s: a view of the cache
// (float32), or decoded into buf (float16).
func (c *residualCache) get(l, s int, buf []float32) []float32 {
	i := c.slot[l]
	if c.f16 {
		kernels.F16ToF32(buf[:c.Tn], c.f16s[i][s*c.Tn:(s+1)*c.Tn])
		return buf[:c.Tn]
	}
	return c.f32s[i][s*c.Tn : (s+1)*c.Tn]
}

// rowStore keeps the base model's G×vocab logit rows of every sample, in
// memory or in a temporary file.
type rowStore struct {
	n    int // floats per sample
	mem  []float32
	file *os.File
}

func newRowStore(disk bool, dir string, S, n int) (*rowStore, error) {
	r := &rowStore{n: n}
	if !disk {
		r.mem = make([]float32, S*n)
		return r, nil
	}
	f, err := os.CreateTemp(dir, ".divergo-baserows-*")
	if err != nil {
		return nil, fmt.Errorf("base rows: %w", err)
	}
	// Unlinked at once: the space is freed when the file is closed, even if
	// the process is killed.
	os.Remove(f.Name())
	r.file = f
	return r, nil
}

func (r *rowStore) put(s int, rows []float32) error {
	if r.file == nil {
		copy(r.mem[s*r.n:(s+1)*r.n], rows)
		return nil
	}
	b := make([]byte, 4*r.n)
	for i, v := range rows[:r.n] {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	if _, err := r.file.WriteAt(b, int64(s)*int64(len(b))); err != nil {
		return fmt.Errorf("base rows: %w", err)
	}
	return nil
}

// get returns sample s's rows: a view (memory) or decoded into buf (disk).
func (r *rowStore) get(s int, buf []float32, bytes []byte) ([]float32, error) {
	if r.file == nil {
		return r.mem[s*r.n : (s+1)*r.n], nil
	}
	if _, err := r.file.ReadAt(bytes[:4*r.n], int64(s)*int64(4*r.n)); err != nil {
		return nil, fmt.Errorf("base rows: %w", err)
	}
	for i := range buf[:r.n] {
		buf[i] = math.Float32frombits(binary.LittleEndian.Uint32(bytes[4*i:]))
	}
	return buf[:r.n], nil
}

func (r *rowStore) close() {
	if r.file != nil {
		r.file.Close()
	}
}
