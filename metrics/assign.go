package metrics

import (
	"fmt"
	"math"
)

// Assign solves the linear assignment problem on a dense square cost
// matrix: it returns the permutation perm minimising Σ_i cost[i·n + perm[i]]
// (perm[i] is the column assigned to row i; for model tracing, the neuron
// of the second model matched to neuron i of the first, METRICS.md §5.2)
// and that minimal total, summed in float64.
//
// cost is row-major n×n and is only read, never copied: at n = 11 008 a
// float64 matrix is 970 MB, a float32 one 485 MB. float32 costs halve the
// memory and are widened to float64 as they are read; the potentials and
// path lengths are float64 either way. The solver is Jonker and Volgenant's
// (LAPJV, 1987): column reduction, reduction transfer, two rounds of
// augmenting row reduction, then shortest augmenting paths by Dijkstra's
// method for the rows still free — O(n³) in the worst case, far less on
// typical inputs; extra memory is O(n). To maximise a profit matrix (such
// as Match's cross-products), negate it first.
//
// Among several optimal assignments any one may be returned. n = 0 gives an
// empty permutation. It fails when len(cost) ≠ n·n or a cost is NaN or
// ±Inf.
func Assign[F float32 | float64](cost []F, n int) (perm []int, total float64, err error) {
	if n < 0 || (n > 0 && (n > math.MaxInt/n || len(cost) != n*n)) || (n == 0 && len(cost) != 0) {
		return nil, 0, fmt.Errorf("metrics: assign: %d costs do not form a %d×%d matrix", len(cost), n, n)
	}
	if n == 0 {
		return []int{}, 0, nil
	}
	s := newLAP(cost, n)
	if err := s.solve(); err != nil {
		return nil, 0, err
	}
	perm = make([]int, n)
	for i, j := range s.x {
		perm[i] = int(j)
		total += float64(cost[i*n+int(j)])
	}
	return perm, total, nil
}

// lap is the state of one LAPJV solve. Row and column indices are int32
// to keep the O(n) arrays small and the inner loops cache-friendly.
type lap[F float32 | float64] struct {
	c    []F
	n    int
	x    []int32   // x[i]: column of row i, −1 when free
	y    []int32   // y[j]: row of column j, −1 when free
	v    []float64 // column potentials
	free []int32   // free rows
	// shortest-path scratch
	cols []int32
	d    []float64
	pred []int32
}

func newLAP[F float32 | float64](c []F, n int) *lap[F] {
	return &lap[F]{
		c: c, n: n,
		x: make([]int32, n), y: make([]int32, n), v: make([]float64, n),
		free: make([]int32, 0, n),
		cols: make([]int32, n), d: make([]float64, n), pred: make([]int32, n),
	}
}

func (s *lap[F]) row(i int32) []F {
	o := int(i) * s.n
	return s.c[o : o+s.n : o+s.n]
}

func (s *lap[F]) solve() error {
	if s.n == 1 {
		if f := float64(s.c[0]); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("metrics: assign: cost[0][0] is %v", f)
		}
		s.x[0], s.y[0] = 0, 0
		return nil
	}
	if err := s.reduceColumns(); err != nil {
		return err
	}
	for range 2 {
		if len(s.free) == 0 {
			break
		}
		s.augmentingRowReduction()
	}
	for _, i := range s.free {
		s.augment(i)
	}
	return nil
}

// reduceColumns is JV's column reduction and reduction transfer: v[j] is
// the column minimum, each column goes to its minimum row unless that row
// is taken, and rows assigned exactly once pass their slack to their
// column. Rows left unassigned are collected in s.free. It also rejects
// non-finite costs, in the one pass that reads every entry.
func (s *lap[F]) reduceColumns() error {
	n := s.n
	v, y, x := s.v[:n], s.y[:n], s.x[:n]
	for j := range v {
		v[j] = math.Inf(1)
		y[j] = 0
	}
	for i := range int32(n) {
		row := s.row(i)
		for j, c := range row[:n] {
			f := float64(c)
			if f-f != 0 {
				return fmt.Errorf("metrics: assign: cost[%d][%d] is %v", i, j, f)
			}
			if f < v[j] {
				v[j] = f
				y[j] = i
			}
		}
	}
	for i := range x {
		x[i] = -1
	}
	unique := make([]bool, n)
	for i := range unique {
		unique[i] = true
	}
	for j := n - 1; j >= 0; j-- {
		i := y[j]
		if x[i] < 0 {
			x[i] = int32(j)
		} else {
			unique[i] = false
			y[j] = -1
		}
	}
	s.free = s.free[:0]
	for i := range int32(n) {
		switch {
		case x[i] < 0:
			s.free = append(s.free, i)
		case unique[i]:
			j := x[i]
			row := s.row(i)
			m := math.Inf(1)
			for j2, c := range row[:n] {
				if int32(j2) != j {
					m = min(m, float64(c)-v[j2])
				}
			}
			v[j] -= m
		}
	}
	return nil
}

// augmentingRowReduction is one round of JV's augmenting row reduction:
// each free row takes the column of its smallest reduced cost, lowering
// that column's potential by the gap to the second smallest and evicting
// the previous owner, which becomes free again. The round is bounded
// (after rows·n steps, as in the reference implementation) so ties cannot
// make it cycle. The rows still free at the end are left in s.free.
func (s *lap[F]) augmentingRowReduction() {
	n := s.n
	v, x, y := s.v[:n], s.x[:n], s.y[:n]
	free := s.free
	current, newFree, steps := 0, 0, 0
	for current < len(free) {
		steps++
		i := free[current]
		current++
		row := s.row(i)[:n] // len(row) = len(v) = n: no bounds checks below
		// Smallest (u1 at j1) and second smallest (u2 at j2) reduced cost.
		j1, j2 := int32(0), int32(-1)
		u1, u2 := float64(row[0])-v[0], math.Inf(1)
		for j := 1; j < n; j++ {
			h := float64(row[j]) - v[j]
			if h < u2 {
				if h >= u1 {
					u2, j2 = h, int32(j)
				} else {
					u2, j2 = u1, j1
					u1, j1 = h, int32(j)
				}
			}
		}
		i0 := y[j1]
		v1New := v[j1] - (u2 - u1)
		lowers := v1New < v[j1]
		if steps < current*n {
			if lowers {
				v[j1] = v1New
			} else if i0 >= 0 && j2 >= 0 {
				j1 = j2
				i0 = y[j2]
			}
			if i0 >= 0 {
				if lowers {
					current--
					free[current] = i0
				} else {
					free[newFree] = i0
					newFree++
				}
			}
		} else if i0 >= 0 {
			free[newFree] = i0
			newFree++
		}
		x[i] = j1
		y[j1] = i
	}
	s.free = free[:newFree]
}

// augment assigns the free row start along a shortest augmenting path.
func (s *lap[F]) augment(start int32) {
	j := s.shortestPath(start)
	for {
		i := s.pred[j]
		s.y[j] = i
		j, s.x[i] = s.x[i], j
		if i == start {
			return
		}
	}
}

// shortestPath runs Dijkstra's method over reduced costs from row start
// until it reaches a free column, updates the potentials of the columns it
// finalised, and returns the free column; s.pred then holds the path.
//
// cols is partitioned as [0, lo) finalised ("ready"), [lo, hi) at the
// current minimum distance, waiting to be scanned, [hi, n) not yet reached
// at the minimum ("todo").
func (s *lap[F]) shortestPath(start int32) int32 {
	n := s.n
	cols, d, pred, v, y := s.cols[:n], s.d[:n], s.pred[:n], s.v[:n], s.y[:n]
	row := s.row(start)
	for j := range cols {
		cols[j] = int32(j)
		pred[j] = start
		d[j] = float64(row[j]) - v[j]
	}
	lo, hi, ready := 0, 0, 0
	final := int32(-1)
	for final < 0 {
		if lo == hi {
			// Move the columns at the smallest distance to [lo, hi).
			ready = lo
			hi = lo + 1
			mind := d[cols[lo]]
			for k := hi; k < n; k++ {
				j := cols[k]
				if dj := d[j]; dj <= mind {
					if dj < mind {
						hi = lo
						mind = dj
					}
					cols[k] = cols[hi]
					cols[hi] = j
					hi++
				}
			}
			for k := lo; k < hi; k++ {
				if j := cols[k]; y[j] < 0 {
					final = j
					break
				}
			}
			if final >= 0 {
				break
			}
		}
		final, lo, hi = s.scan(lo, hi)
	}
	mind := d[cols[lo]]
	for _, j := range cols[:ready] {
		v[j] += d[j] - mind
	}
	return final
}

// scan relaxes the columns in todo through the rows assigned to the
// columns in [lo, hi), moving newly minimal columns into the scan list. It
// returns a free column reached at the minimum distance, or −1 with the
// updated bounds when the scan list is exhausted.
func (s *lap[F]) scan(lo, hi int) (final int32, newLo, newHi int) {
	n := s.n
	cols, d, pred, v, y := s.cols[:n], s.d[:n], s.pred[:n], s.v[:n], s.y[:n]
	for lo != hi {
		j := cols[lo]
		lo++
		i := y[j]
		mind := d[j]
		row := s.row(i)[:n]
		h := float64(row[j]) - v[j] - mind
		for k := hi; k < n; k++ {
			j := cols[k]
			if uint(j) >= uint(n) { // never: lets the compiler drop four bounds checks
				panic("metrics: assign: column index out of range")
			}
			cred := float64(row[j]) - v[j] - h
			if cred < d[j] {
				d[j] = cred
				pred[j] = i
				if cred == mind {
					if y[j] < 0 {
						// lo stays where the caller's potential update expects it:
						// at a column of distance mind.
						return j, lo - 1, hi
					}
					cols[k] = cols[hi]
					cols[hi] = j
					hi++
				}
			}
		}
	}
	return -1, lo, hi
}
