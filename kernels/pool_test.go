package kernels

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoolRun(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		if p.Threads() != threads {
			t.Fatalf("Threads() = %d, want %d", p.Threads(), threads)
		}
		for _, n := range []int{0, 1, 2, 3, 7, 100, 1000} {
			counts := make([]int32, n)
			var bad atomic.Int32
			busy := make([]atomic.Int32, threads)
			p.Run(n, func(worker, task int) {
				if worker < 0 || worker >= threads {
					bad.Add(1)
					return
				}
				if busy[worker].Add(1) != 1 {
					bad.Add(1) // two tasks on one worker id at once
				}
				atomic.AddInt32(&counts[task], 1)
				busy[worker].Add(-1)
			})
			if bad.Load() != 0 {
				t.Fatalf("threads %d n %d: bad worker ids", threads, n)
			}
			for i, c := range counts {
				if c != 1 {
					t.Fatalf("threads %d n %d: task %d ran %d times", threads, n, i, c)
				}
			}
		}
		// After idling past the spin window the workers park; Run still works.
		time.Sleep(2 * spinWait)
		var sum atomic.Int64
		p.Run(10, func(_, task int) { sum.Add(int64(task)) })
		if sum.Load() != 45 {
			t.Fatalf("threads %d after parking: sum %d", threads, sum.Load())
		}
		p.Close()
		p.Close()
		ran := 0
		p.Run(3, func(w, _ int) { ran++ })
		if ran != 3 {
			t.Fatalf("closed pool ran %d of 3 tasks", ran)
		}
	}
	var nilPool *Pool
	if nilPool.Threads() != 1 {
		t.Fatal("nil pool must have 1 thread")
	}
	ran := 0
	nilPool.Run(4, func(w, _ int) {
		if w != 0 {
			t.Error("nil pool worker id != 0")
		}
		ran++
	})
	if ran != 4 {
		t.Fatalf("nil pool ran %d of 4", ran)
	}
	nilPool.Close()
}

// TestPoolConcurrentCallers checks that Run calls from several goroutines
// are serialized and each completes its own tasks.
func TestPoolConcurrentCallers(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				var n atomic.Int32
				p.Run(5, func(_, _ int) { n.Add(1) })
				if n.Load() != 5 {
					t.Errorf("a Run completed %d of 5 tasks", n.Load())
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkPoolRun measures one Run of empty tasks (one per thread): the
// per-barrier cost of the pool.
func BenchmarkPoolRun(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(map[int]string{1: "threads=1", 2: "threads=2"}[threads], func(b *testing.B) {
			p := NewPool(threads)
			defer p.Close()
			fn := func(_, _ int) {}
			// Besides the mean (ns/op), report the median of individually
			// timed calls: on a shared machine the mean includes the
			// moments the OS took a core away.
			lat := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				t0 := time.Now()
				p.Run(threads, fn)
				if len(lat) < cap(lat) {
					lat = append(lat, time.Since(t0))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*9/10].Nanoseconds()), "p90-ns")
		})
	}
	b.Run("parked-threads=2", func(b *testing.B) {
		// Each Run finds the helper parked: the wake-up cost.
		p := NewPool(2)
		defer p.Close()
		fn := func(_, _ int) {}
		for b.Loop() {
			b.StopTimer()
			time.Sleep(3 * spinWait)
			b.StartTimer()
			p.Run(2, fn)
		}
	})
}
