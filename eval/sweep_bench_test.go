package eval

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSweepPrefixCache measures what prefix caching saves: every job
// of an int8 sweep runs twice, from the cached residual stream and as a
// whole-model pass, alternating which goes first so that a changing machine
// load hits both alike. It reports the cached/uncached ratios of wall and
// process CPU time (the CPU ratio is the steadier one on a shared machine).
//
// The model, n, G and S come from DIVERGO_BENCH_MODEL (default: the
// embedded model), DIVERGO_BENCH_N, _G and _S (defaults 64, 128, 32); e.g.
// a synthetic stories110M shape written by `divergo synth --shape stories110m`;
// DIVERGO_BENCH_COMPONENTS selects fewer components (e.g. one kind in every
// layer, which keeps the layer mix of the whole sweep).
func BenchmarkSweepPrefixCache(b *testing.B) {
	env := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
			return v
		}
		return def
	}
	e, err := Open(ModelOptions{Path: os.Getenv("DIVERGO_BENCH_MODEL")})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	o := SweepOptions{Specs: sweepSpecs(b, "int8"), Docs: DefaultCorpus(), Corpus: DefaultCorpusName,
		PromptLen: env("DIVERGO_BENCH_N", 64), Gen: env("DIVERGO_BENCH_G", 128), Samples: env("DIVERGO_BENCH_S", 32)}
	if sel := os.Getenv("DIVERGO_BENCH_COMPONENTS"); sel != "" {
		o.Components = sweepSel(b, sel)
	}
	sw, err := newSweeper(e, o)
	if err != nil {
		b.Fatal(err)
	}
	defer sw.close()
	all := make([]int, e.Model.Config.Layers)
	for l := range all {
		all[l] = l
	}
	if err := sw.prepare(all); err != nil {
		b.Fatal(err)
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var wall, proc [2]time.Duration // [cached, uncached]
	cache := sw.cache
	for b.Loop() {
		for k, j := range sw.jobs() {
			for i := 0; i < 2; i++ {
				mode := (i + k) % 2
				sw.cache = cache
				if mode == 1 {
					sw.cache = nil
				}
				t0, c0 := time.Now(), cpu()
				if _, err := sw.job(j, ""); err != nil {
					b.Fatal(err)
				}
				wall[mode] += time.Since(t0)
				proc[mode] += cpu() - c0
			}
		}
	}
	b.ReportMetric(wall[0].Seconds()/wall[1].Seconds(), "wall-ratio")
	b.ReportMetric(proc[0].Seconds()/proc[1].Seconds(), "cpu-ratio")
	b.ReportMetric(proc[0].Seconds(), "cached-cpu-s")
	b.ReportMetric(proc[1].Seconds(), "uncached-cpu-s")
}
