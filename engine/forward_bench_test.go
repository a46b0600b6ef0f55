//go:build unix

package engine

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/divergo/divergo/kernels"
)

// benchConfig is one layer of a stories110M-like (MHA) or TinyLlama-like
// (GQA 32/4) shape: the per-layer costs of the forward pass outside the
// matrix products.
func benchConfig(gqa bool) Config {
	c := Config{Dim: 768, HiddenDim: 2048, Layers: 1, Heads: 12, KVHeads: 12, HeadDim: 64, Vocab: 256,
		MaxSeq: 2048, NormEps: 1e-5, RopeTheta: 10000}
	if gqa {
		c.Dim, c.HiddenDim, c.Heads, c.KVHeads = 2048, 5632, 32, 4
	}
	return c
}

// BenchmarkAttention measures causal attention of one layer: a 512-token
// prefill from an empty cache, and one decoded token after 256 positions.
func BenchmarkAttention(b *testing.B) {
	for _, gqa := range []bool{false, true} {
		c := benchConfig(gqa)
		m, err := NewRandom(c, 1)
		if err != nil {
			b.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			for _, tc := range []struct{ pos, T int }{{0, 512}, {256, 1}} {
				b.Run(fmt.Sprintf("heads=%d:%d,T=%d,pos=%d,t=%d", c.Heads, c.KVHeads, tc.T, tc.pos, threads), func(b *testing.B) {
					pool := kernels.NewPool(threads)
					defer pool.Close()
					s, _ := NewState(m, 1024, pool)
					ids := make([]int, tc.pos+tc.T)
					for i := range ids {
						ids[i] = (i*37 + 11) % c.Vocab
					}
					// Fill the cache and the query rows with a real pass.
					if _, err := s.Forward(ids, 0); err != nil {
						b.Fatal(err)
					}
					s.Truncate(tc.pos)
					cpu0 := processCPU()
					for b.Loop() {
						s.attention(0, tc.T)
					}
					cpu := (processCPU() - cpu0).Seconds() / float64(b.N)
					flops := 4 * float64(c.Dim) * float64(tc.T) * (float64(tc.pos) + float64(tc.T+1)/2)
					b.ReportMetric(flops/b.Elapsed().Seconds()*float64(b.N)/1e9, "GFLOP/s")
					b.ReportMetric(flops/cpu/1e9, "GFLOP/cpu-s")
				})
			}
		}
	}
}

// processCPU returns the CPU time the process has used: on a shared
// machine, work per CPU-second is steadier than per wall second.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
