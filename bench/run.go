package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
)

// DefaultDTypes are the weight types measured by default: the types of
// ENGINE-NOTES §1.5, the quantized ones with int8 activations as llama.cpp
// runs them, so that each row compares with llama.cpp's figure.
const DefaultDTypes = "f32,f16,q8_0:a8,q4_0:a8,q4_k:a8"

// Options select what Run measures. The zero value of a field means its
// default.
type Options struct {
	// Shapes to run (default: stories110m).
	Shapes []Shape
	// DTypes of the weights (default: DefaultDTypes).
	DTypes []DType
	// ISAs are the kernel paths (default: the installed one).
	ISAs []kernels.ISA
	// Threads are the worker counts (default: 1 and 2).
	Threads []int
	// Reps is the number of timed repetitions after one warm-up, as
	// llama-bench's -r (default 3).
	Reps int
	// Prompt and Gen are the token counts of the pp and tg tests (default
	// 512 and 128, llama-bench's).
	Prompt, Gen int
	// Kernels and Models select kernel rows (GEMM, GEMV) and end-to-end
	// rows (pp, tg); both false means both.
	Kernels, Models bool
	// Seed seeds the random weights and token ids.
	Seed uint64
	// GEMVBytes is the least weight memory a gemv row cycles through, so
	// that it reads from DRAM as a decode step does (default 1 GiB).
	GEMVBytes int64
	// Limits are the machine's (default: DevMachine).
	Limits *Limits
	// Progress, when set, is told what is being measured and sees each row
	// as it is measured.
	Progress func(what string, row *Row)
}

func (o *Options) defaults() error {
	if len(o.Shapes) == 0 {
		s, _ := ShapeByName("stories110m")
		o.Shapes = []Shape{s}
	}
	if len(o.DTypes) == 0 {
		o.DTypes, _ = ParseDTypes(DefaultDTypes)
	}
	if len(o.ISAs) == 0 {
		o.ISAs = []kernels.ISA{kernels.CurrentISA()}
	}
	if len(o.Threads) == 0 {
		o.Threads = []int{1, 2}
	}
	if o.Reps == 0 {
		o.Reps = 3
	}
	if o.Prompt == 0 {
		o.Prompt = 512
	}
	if o.Gen == 0 {
		o.Gen = 128
	}
	if !o.Kernels && !o.Models {
		o.Kernels, o.Models = true, true
	}
	if o.GEMVBytes == 0 {
		o.GEMVBytes = 1 << 30
	}
	if o.Limits == nil {
		l := DevMachine()
		o.Limits = &l
	}
	for _, t := range o.Threads {
		if t < 1 {
			return fmt.Errorf("bench: %d threads", t)
		}
	}
	if o.Reps < 1 || o.Prompt < 1 || o.Gen < 1 {
		return fmt.Errorf("bench: %d repetitions, pp %d, tg %d: each must be at least 1", o.Reps, o.Prompt, o.Gen)
	}
	return nil
}

// Run measures the kernel and end-to-end rows that o selects, shape by
// shape, holding one shape's weights in memory at a time. It installs each
// ISA in turn (kernels.SetISA) and restores the original path at the end:
// nothing else may run kernels meanwhile.
func Run(o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	// The GPU rows (gpu.go) run with the installed GPU backend, every other
	// row on the CPU alone.
	backend := kernels.SetBackend(nil)
	defer kernels.SetBackend(backend)
	isas, gpu, err := takeGPU(o.ISAs, backend)
	if err != nil {
		return nil, err
	}
	o.ISAs = isas
	for _, isa := range o.ISAs {
		if !isaAvailable(isa) {
			return nil, fmt.Errorf("bench: ISA %q is not available here (have %s)", isa, availableList())
		}
	}
	orig := kernels.CurrentISA()
	defer kernels.SetISA(orig)
	start := time.Now()
	r := &Result{Machine: Machine{CPU: cpuName(), GoVersion: runtime.Version(), LoadBefore: loadAverage()}, Limits: *o.Limits}
	if gpu != nil {
		r.Machine.GPU = gpu.String()
	}
	add := func(row Row) {
		r.Rows = append(r.Rows, row)
		if o.Progress != nil {
			o.Progress("", &r.Rows[len(r.Rows)-1])
		}
	}
	for _, s := range o.Shapes {
		if o.Kernels && len(o.ISAs) > 0 {
			if err := kernelRows(s, &o, add); err != nil {
				return nil, err
			}
		}
		if o.Models && len(o.ISAs) > 0 {
			if err := modelRows(s, &o, add); err != nil {
				return nil, err
			}
		}
		if gpu != nil {
			if err := gpuRows(s, &o, gpu, add); err != nil {
				return nil, err
			}
		}
	}
	r.Machine.LoadAfter = loadAverage()
	r.Timing.TotalS = time.Since(start).Seconds()
	return r, nil
}

func (o *Options) progress(format string, a ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, a...), nil)
	}
}

// modelRows measures pp and tg of every dtype, ISA and thread count on
// one shape.
func modelRows(s Shape, o *Options, add func(Row)) error {
	o.progress("%s: random weights", s.Name)
	base, err := engine.NewRandom(s.Config, o.Seed)
	if err != nil {
		return fmt.Errorf("bench: %s: %w", s.Name, err)
	}
	defer base.Close()
	rng := rand.New(rand.NewPCG(o.Seed, 0x70c5))
	tokens := make([]int, max(o.Prompt, o.Gen))
	for i := range tokens {
		tokens[i] = rng.IntN(s.Config.Vocab)
	}
	for _, d := range o.DTypes {
		o.progress("%s: converting to %s", s.Name, d)
		m, err := convert(base, d)
		if err != nil {
			return err
		}
		err = measureModel(s, d, m, tokens, o, add)
		if m != base {
			m.Close()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// measureModel measures pp and tg of one model on every ISA and thread
// count.
func measureModel(s Shape, d DType, m *engine.Model, tokens []int, o *Options, add func(Row)) error {
	total, perToken := weightBytes(m)
	for _, isa := range o.ISAs {
		if err := kernels.SetISA(isa); err != nil {
			return err
		}
		for _, t := range o.Threads {
			row := func(name string, n int, limit float64) Row {
				r := Row{Name: fmt.Sprintf("%s%d", name, n), Shape: s.Name, DType: d.String(), ISA: string(isa),
					Threads: t, Unit: "tok/s", Reps: o.Reps, Limit: limit, Bytes: total}
				if v, ok := llamaFigure(s.Name, d, r.Name, t); ok {
					r.LlamaCpp = &v
				}
				return r
			}
			pp := row("pp", o.Prompt, o.Limits.prefill(m, o.Prompt, t))
			tg := row("tg", o.Gen, o.Limits.decode(m, perToken, o.Gen, t))
			pool := kernels.NewPool(t)
			st, err := engine.NewState(m, max(o.Prompt, o.Gen), pool)
			for _, test := range []struct {
				row *Row
				run func(timed bool) (time.Duration, float64, error)
			}{{&pp, prefill(st, tokens[:o.Prompt])}, {&tg, decode(st, tokens[:o.Gen])}} {
				if err != nil {
					break
				}
				o.progress("%s %s %s t=%d %s", s.Name, d, isa, t, test.row.Name)
				if err = measure(test.row, test.run); err == nil {
					add(*test.row)
				}
			}
			pool.Close()
			if err != nil {
				return fmt.Errorf("bench: %s %s: %w", s.Name, d, err)
			}
		}
	}
	return nil
}

// prefill is llama-bench's pp: one forward pass of the tokens from an
// empty cache, logits for the last position only.
func prefill(st *engine.State, tokens []int) func(bool) (time.Duration, float64, error) {
	return func(bool) (time.Duration, float64, error) {
		st.Reset()
		start := time.Now()
		_, err := st.Forward(tokens, 1)
		return time.Since(start), float64(len(tokens)), err
	}
}

// decode is llama-bench's tg: one token at a time from an empty cache,
// logits each time; the warm-up decodes one token, as llama-bench's does.
func decode(st *engine.State, tokens []int) func(bool) (time.Duration, float64, error) {
	return func(timed bool) (time.Duration, float64, error) {
		st.Reset()
		n := len(tokens)
		if !timed {
			n = 1
		}
		start := time.Now()
		for i := range n {
			if _, err := st.Forward(tokens[i:i+1], 1); err != nil {
				return 0, 0, err
			}
		}
		return time.Since(start), float64(n), nil
	}
}

// measure runs fn once untimed (warm-up), then row.Reps times; fn returns
// the time its timed part took and the work done in it (tokens, GFLOP,
// GB). measure fills row.Value and row.Std with the mean and sample
// standard deviation of work/second, row.Best with the highest,
// row.LimitShare and row.CPUShare.
func measure(row *Row, fn func(timed bool) (time.Duration, float64, error)) error {
	if _, _, err := fn(false); err != nil {
		return err
	}
	rates := make([]float64, row.Reps)
	cpu0, start := processCPU(), time.Now()
	for i := range rates {
		d, work, err := fn(true)
		if err != nil {
			return err
		}
		rates[i] = work / max(d.Seconds(), 1e-9)
	}
	wall := time.Since(start)
	cpu := processCPU() - cpu0
	row.Value, row.Std = meanStd(rates)
	row.Best = slices.Max(rates)
	if row.Limit > 0 {
		row.LimitShare = row.Value / row.Limit
	}
	if cpu > 0 {
		row.CPUShare = min(1, cpu.Seconds()/(wall.Seconds()*float64(row.Threads)))
	}
	return nil
}

func meanStd(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)-1))
}

// prefill returns the bound on pp tokens/s: each matrix's multiply-adds at
// the float32 or int8 peak (the LM head for the last row only, as pp
// computes one logit row), plus causal attention at the float32 peak.
func (l Limits) prefill(m *engine.Model, T, threads int) float64 {
	c := &m.Config
	var sec float64
	for _, comp := range m.Components() {
		if comp.Name == "embed" {
			continue
		}
		w, _ := m.Matrix(comp.Name)
		flops := 2 * float64(w.Rows) * float64(w.Cols)
		if comp.Name == "lm_head" {
			flops /= float64(T)
		}
		peak := l.fp32(threads)
		if w.A8 && w.Format.Act != nil {
			peak = l.int8(threads)
		}
		sec += flops / (peak * 1e9)
	}
	// q·k and p·v over (T+1)/2 positions on average, every layer.
	attn := 4 * float64(c.Dim) * float64(T+1) / 2 * float64(c.Layers)
	sec += attn / (l.fp32(threads) * 1e9)
	return 1 / sec
}

// decode returns the bound on tg tokens/s: the weight bytes of a token and
// the keys and values read, at the streaming bandwidth.
func (l Limits) decode(m *engine.Model, perToken int64, gen, threads int) float64 {
	c := &m.Config
	kv := 2 * 4 * float64(c.KVDim()) * float64(gen+1) / 2 * float64(c.Layers)
	return l.bandwidth(threads) * 1e9 / (float64(perToken) + kv)
}

func isaAvailable(isa kernels.ISA) bool {
	for _, a := range kernels.Available() {
		if a == isa {
			return true
		}
	}
	return false
}

func availableList() string {
	var s []string
	for _, a := range kernels.Available() {
		s = append(s, string(a))
	}
	return strings.Join(s, ", ")
}

// cpuName returns the CPU model from /proc/cpuinfo, or GOARCH.
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return fmt.Sprintf("%s, %d CPUs", strings.TrimSpace(v), runtime.NumCPU())
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs", runtime.GOARCH, runtime.NumCPU())
}

// loadAverage reads /proc/loadavg (nil where there is none).
func loadAverage() *[3]float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return nil
	}
	var l [3]float64
	for i := range l {
		if l[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return nil
		}
	}
	return &l
}
