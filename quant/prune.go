package quant

import (
	"math"
	"runtime"
	"slices"
	"sync"
)

// Magnitude pruning (docs/FORMATS.md, METRICS §1.5). Both functions write
// into out (len(out) == len(w)) a copy of w with the pruned entries zeroed.
// Weights are finite (checked by Quantize).

// magKey orders |w| exactly: the bits of a non-negative float32 sort like
// the float.
func magKey(v float32) uint32 { return math.Float32bits(v) &^ (1 << 31) }

// pruneGlobal zeroes the k entries of smallest |w| over the whole matrix,
// ties broken by lower flat index first. It finds the k-th smallest key by
// a two-pass radix select on the 32-bit magnitude (16 bits per pass), so it
// runs in a few linear passes instead of a sort.
func pruneGlobal(out, w []float32, k int) {
	n := len(w)
	switch {
	case k <= 0:
		copy(out, w)
		return
	case k >= n:
		clear(out)
		return
	}
	chunks := splitRange(n, runtime.GOMAXPROCS(0))

	// Pass 1: histogram of the high 16 bits.
	hi := histogram(w, chunks, func(u uint32) (int, bool) { return int(u >> 16), true })
	b1, below := crossing(hi, k)
	// Pass 2: histogram of the low 16 bits inside bucket b1.
	lo := histogram(w, chunks, func(u uint32) (int, bool) { return int(u & 0xffff), int(u>>16) == b1 })
	b2, below2 := crossing(lo, k-below)
	t := uint32(b1)<<16 | uint32(b2)
	below += below2 // keys < t
	ties := k - below

	// Pass 3: how many keys equal t in each chunk, so that the ties can be
	// zeroed in index order.
	eq := make([]int, len(chunks))
	parallel(chunks, func(c int, r [2]int) {
		for _, v := range w[r[0]:r[1]] {
			if magKey(v) == t {
				eq[c]++
			}
		}
	})
	quota := make([]int, len(chunks))
	for c := range chunks {
		quota[c] = min(ties, eq[c])
		ties -= quota[c]
	}
	// Pass 4: write the result.
	parallel(chunks, func(c int, r [2]int) {
		q := quota[c]
		for i := r[0]; i < r[1]; i++ {
			v := w[i]
			u := magKey(v)
			switch {
			case u < t:
				v = 0
			case u == t && q > 0:
				v = 0
				q--
			}
			out[i] = v
		}
	})
}

// histogram counts, per worker chunk, the bucket of every selected key
// and sums the counts.
func histogram(w []float32, chunks [][2]int, bucket func(uint32) (int, bool)) []int {
	hs := make([][]int, len(chunks))
	parallel(chunks, func(c int, r [2]int) {
		h := make([]int, 1<<16)
		for _, v := range w[r[0]:r[1]] {
			if b, ok := bucket(magKey(v)); ok {
				h[b]++
			}
		}
		hs[c] = h
	})
	total := hs[0]
	for _, h := range hs[1:] {
		for i, x := range h {
			total[i] += x
		}
	}
	return total
}

// crossing returns the bucket holding the k-th smallest key (1-based) and
// the number of keys in lower buckets.
func crossing(h []int, k int) (bucket, below int) {
	for b, c := range h {
		if below+c >= k {
			return b, below
		}
		below += c
	}
	return len(h) - 1, below // not reached for 1 ≤ k ≤ total
}

// pruneNM keeps, in every run of m consecutive values of a row, the n of
// largest |w| (the m−n smallest are zeroed, ties: lower index first); a
// ragged tail of t < m values keeps its ⌈n·t/m⌉ largest.
func pruneNM(out, w []float32, rows, cols, n, m int) {
	copy(out, w)
	parallel(splitRange(rows, runtime.GOMAXPROCS(0)), func(_ int, r [2]int) {
		idx := make([]int, m)
		for row := r[0]; row < r[1]; row++ {
			o := out[row*cols : (row+1)*cols]
			for start := 0; start < cols; start += m {
				g := o[start:min(start+m, cols)]
				keep := n
				if len(g) < m {
					keep = (n*len(g) + m - 1) / m
				}
				zeroSmallest(g, len(g)-keep, idx[:len(g)])
			}
		}
	})
}

// zeroSmallest zeroes the z entries of g of smallest magnitude, lower
// index first on ties; idx is scratch space of len(g).
func zeroSmallest(g []float32, z int, idx []int) {
	if z <= 0 {
		return
	}
	for i := range idx {
		idx[i] = i
	}
	less := func(a, b int) bool { return magKey(g[a]) < magKey(g[b]) }
	if len(idx) <= 32 {
		// Insertion sort: stable, so equal magnitudes stay in index order.
		for i := 1; i < len(idx); i++ {
			for j := i; j > 0 && less(idx[j], idx[j-1]); j-- {
				idx[j], idx[j-1] = idx[j-1], idx[j]
			}
		}
	} else {
		slices.SortStableFunc(idx, func(a, b int) int {
			ka, kb := magKey(g[a]), magKey(g[b])
			switch {
			case ka < kb:
				return -1
			case ka > kb:
				return 1
			}
			return 0
		})
	}
	for _, i := range idx[:z] {
		g[i] = 0
	}
}

// splitRange cuts [0, n) into at most parts contiguous ranges.
func splitRange(n, parts int) [][2]int {
	parts = max(1, min(parts, n))
	out := make([][2]int, 0, parts)
	for p := 0; p < parts; p++ {
		out = append(out, [2]int{n * p / parts, n * (p + 1) / parts})
	}
	return out
}

// parallel runs f on every range in its own goroutine and waits.
func parallel(ranges [][2]int, f func(i int, r [2]int)) {
	if len(ranges) == 1 {
		f(0, ranges[0])
		return
	}
	var wg sync.WaitGroup
	for i, r := range ranges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, r)
		}()
	}
	wg.Wait()
}
