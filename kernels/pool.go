package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A Pool is a set of persistent worker goroutines that run the parallel
// parts of the kernels. Run hands out tasks; the calling goroutine takes
// part as worker 0, so a Pool of n threads starts n−1 goroutines.
//
// Between calls the workers spin on an atomic generation counter for a
// short while (spinWait) and then park on a channel, so back-to-back calls —
// hundreds per decoded token — cost well under a microsecond of
// synchronisation, while an idle pool uses no CPU.
//
// A nil *Pool is valid and means single-threaded: Run executes every task
// on the caller's goroutine.
type Pool struct {
	threads int
	mu      sync.Mutex // serializes Run

	// state is generation<<16 | number of helpers taking part (0xffff: exit).
	state   atomic.Uint64
	fn      func(worker, task int)
	nTasks  int64
	next    atomic.Int64 // next task index
	pending atomic.Int32 // helpers still running the current generation

	// callerParked holds the generation the caller sleeps on in
	// waitHelpers (0: not parked). A helper that ends that generation
	// claims it and sends on done; tagging it with the generation keeps a
	// helper that ended the previous one, and is slow to get here, from
	// waking the caller of the next one early.
	callerParked atomic.Uint64
	done         chan struct{}
	workers      []poolWorker
	wg           sync.WaitGroup
	closed       bool
}

type poolWorker struct {
	parked atomic.Int32
	wake   chan struct{}
	_      [48]byte // keep workers' flags on separate cache lines
}

const (
	closeMark = 0xffff
	// spinWait is how long an idle worker (or a waiting caller) polls
	// before parking; it covers the gap between consecutive kernels of a
	// forward pass.
	spinWait = 50 * time.Microsecond
)

// NewPool starts a pool of threads workers (the caller counting as one).
// threads < 1 means runtime.GOMAXPROCS(0). Close stops the workers.
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	if threads > closeMark-1 {
		threads = closeMark - 1
	}
	p := &Pool{threads: threads, done: make(chan struct{}, 1), workers: make([]poolWorker, threads)}
	for i := 1; i < threads; i++ {
		p.workers[i].wake = make(chan struct{}, 1)
		p.wg.Add(1)
		go p.work(i)
	}
	return p
}

// Threads returns the number of workers, the caller included (1 for a nil Pool).
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// Run calls fn(worker, task) once for every task in [0, nTasks) and returns
// when all calls have returned. Tasks are handed out in increasing order to
// whichever worker is free; worker (0 ≤ worker < Threads()) identifies the
// goroutine, for per-worker scratch, and no two concurrent calls share a
// worker id. fn must not panic and must not call Run on the same Pool.
// Concurrent Run calls on one Pool are serialized. After Close, Run runs
// every task on the caller's goroutine.
func (p *Pool) Run(nTasks int, fn func(worker, task int)) {
	if nTasks <= 0 {
		return
	}
	if p == nil || p.threads == 1 || nTasks == 1 {
		for t := 0; t < nTasks; t++ {
			fn(0, t)
		}
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		for t := 0; t < nTasks; t++ {
			fn(0, t)
		}
		return
	}
	helpers := min(nTasks, p.threads) - 1
	p.fn, p.nTasks = fn, int64(nTasks)
	p.next.Store(0)
	p.pending.Store(int32(helpers))
	gen := p.state.Load()>>16 + 1
	p.state.Store(gen<<16 | uint64(helpers))
	for i := 1; i <= helpers; i++ {
		if w := &p.workers[i]; w.parked.CompareAndSwap(1, 0) {
			w.wake <- struct{}{}
		}
	}
	p.runTasks(0)
	p.waitHelpers(gen)
	p.fn = nil
	p.mu.Unlock()
}

// runTasks runs tasks of the current generation until none is left.
func (p *Pool) runTasks(worker int) {
	fn, n := p.fn, p.nTasks
	for {
		t := p.next.Add(1) - 1
		if t >= n {
			return
		}
		fn(worker, int(t))
	}
}

// waitHelpers spins, then parks, until every helper of generation gen
// finished.
func (p *Pool) waitHelpers(gen uint64) {
	var start time.Time
	for i := 0; p.pending.Load() != 0; i++ {
		if i&63 != 63 {
			continue
		}
		if start.IsZero() {
			start = time.Now()
		}
		if time.Since(start) < spinWait {
			runtime.Gosched()
			continue
		}
		p.callerParked.Store(gen)
		if p.pending.Load() == 0 {
			if p.callerParked.CompareAndSwap(gen, 0) {
				return
			}
			<-p.done // a helper claimed the flag and sends
			return
		}
		<-p.done
		return
	}
}

func (p *Pool) work(id int) {
	defer p.wg.Done()
	w := &p.workers[id]
	var seen uint64
	for {
		s := p.waitNext(w, seen)
		seen = s >> 16
		helpers := int(s & 0xffff)
		if helpers == closeMark {
			return
		}
		if id > helpers {
			continue
		}
		p.runTasks(id)
		if p.pending.Add(-1) == 0 && p.callerParked.CompareAndSwap(seen, 0) {
			p.done <- struct{}{}
		}
	}
}

// waitNext returns the state word once its generation differs from seen.
func (p *Pool) waitNext(w *poolWorker, seen uint64) uint64 {
	var start time.Time
	for i := 0; ; i++ {
		if s := p.state.Load(); s>>16 != seen {
			return s
		}
		if i&63 != 63 {
			continue
		}
		if start.IsZero() {
			start = time.Now()
		}
		if time.Since(start) < spinWait {
			runtime.Gosched()
			continue
		}
		// Park: announce it, re-check, then sleep until Run wakes us.
		w.parked.Store(1)
		if s := p.state.Load(); s>>16 != seen {
			if !w.parked.CompareAndSwap(1, 0) {
				<-w.wake // Run claimed the flag and sends a token
			}
			return s
		}
		<-w.wake
		start = time.Time{}
	}
}

// Close stops the workers and waits for them to exit. A closed Pool runs
// tasks on the caller's goroutine. Close is idempotent.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	gen := p.state.Load()>>16 + 1
	p.state.Store(gen<<16 | closeMark)
	for i := 1; i < p.threads; i++ {
		if w := &p.workers[i]; w.parked.CompareAndSwap(1, 0) {
			w.wake <- struct{}{}
		}
	}
	p.wg.Wait()
}
