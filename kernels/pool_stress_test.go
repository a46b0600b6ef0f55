package kernels

import "testing"

// TestPoolBackToBack runs many short calls back to back, as a decode step
// does, and checks that every task of a call has finished when Run
// returns. Under the race detector it also checks that a helper ending one
// call cannot wake the caller of the next before its helpers finish (a
// stale wake-up that made Run return early).
func TestPoolBackToBack(t *testing.T) {
	calls := 20000
	if testing.Short() {
		calls = 5000
	}
	for _, threads := range []int{2, 3, 4} {
		p := NewPool(threads)
		done := make([]int, 8)
		for c := 1; c <= calls; c++ {
			n := 2 + c%5
			p.Run(n, func(_, task int) { done[task] = c })
			for task := 0; task < n; task++ {
				if done[task] != c {
					t.Fatalf("%d threads, call %d: task %d of %d not finished when Run returned", threads, c, task, n)
				}
			}
		}
		p.Close()
	}
}
