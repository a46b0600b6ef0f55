package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refMatMul is the float64 product of the decoded weights and x, with the
// magnitude Σ|w·x| of every output for the tolerance.
func refMatMul(w []float32, rows, cols int, x []float32, n int) (out, mag []float64) {
	out, mag = make([]float64, n*rows), make([]float64, n*rows)
	for t := 0; t < n; t++ {
		for r := 0; r < rows; r++ {
			out[t*rows+r], mag[t*rows+r] = dot64(w[r*cols:(r+1)*cols], x[t*cols:(t+1)*cols])
		}
	}
	return out, mag
}

type matCase struct {
	f          *Format
	rows, cols int
}

func matCases(short bool) []matCase {
	var l []matCase
	for _, f := range testFormats() {
		for _, c := range colsFor(f, true) {
			for _, r := range []int{1, 7, 37} {
				if short && r == 7 {
					continue
				}
				l = append(l, matCase{f, r, c})
			}
		}
	}
	return l
}

// checkMatMul runs MatMul for n = each of ns on 1 and 2 threads and checks
// the weight-only results against float64, the A8 results bit for bit
// against DotAct, and the two thread counts against each other bit for bit.
func checkMatMul(t *testing.T, pool *Pool, c matCase, ns []int, rng *rand.Rand) {
	t.Helper()
	f := c.f
	data := randRows(rng, f, c.rows, c.cols)
	wd := dequantRows(f, data, c.rows, c.cols)
	for _, a8 := range []bool{false, true} {
		if a8 && f.Act == nil {
			continue
		}
		m := &Matrix{Format: f, Rows: c.rows, Cols: c.cols, Data: data, A8: a8}
		for _, n := range ns {
			x := randF32(rng, n*c.cols)
			got1 := make([]float32, n*c.rows)
			got2 := make([]float32, n*c.rows)
			for i := range got1 {
				got1[i], got2[i] = float32(math.NaN()), float32(math.NaN())
			}
			MatMul(nil, got1, m, x, n)
			MatMul(pool, got2, m, x, n)
			id := fmt.Sprintf("%s %d×%d a8=%v n=%d", f.Name, c.rows, c.cols, a8, n)
			if i, ok := bitsEqual(got1, got2); !ok {
				t.Fatalf("%s: 1 and 2 threads differ at %d: %g vs %g", id, i, got1[i], got2[i])
			}
			if a8 {
				xq := make([]byte, f.Act.RowBytes(c.cols))
				rb := f.RowBytes(c.cols)
				for tok := 0; tok < n; tok++ {
					f.Act.Quantize(xq, x[tok*c.cols:(tok+1)*c.cols])
					for r := 0; r < c.rows; r++ {
						want := f.DotAct(data[r*rb:], xq, c.cols)
						if got := got1[tok*c.rows+r]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s: out[%d][%d] = %g, DotAct gives %g", id, tok, r, got, want)
						}
					}
				}
				continue
			}
			want, mag := refMatMul(wd, c.rows, c.cols, x, n)
			for i := range want {
				if !near(float64(got1[i]), want[i], mag[i], 1e-5) {
					t.Fatalf("%s: out[%d] = %g, want %g (Σ|wx| %g)", id, i, got1[i], want[i], mag[i])
				}
			}
		}
	}
}

func TestMatMul(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	ns := []int{1, 2, 3, 4, 5, 8, 13, 37}
	if testing.Short() {
		ns = []int{1, 2, 5, 37}
	}
	withISA(t, func(t *testing.T, _ ISA) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, c := range matCases(testing.Short()) {
			checkMatMul(t, pool, c, ns, rng)
		}
	})
}

// TestMatMulBlocking shrinks the GEMM cache blocks so that small shapes run
// through every loop of the driver: several K-blocks (with a ragged last
// one), token blocks, weight chunks and partial tiles.
func TestMatMulBlocking(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	withISA(t, func(t *testing.T, _ ISA) {
		saved := active.gemm
		defer func() { active.gemm = saved }()
		g := &active.gemm
		g.kc, g.mc, g.nc = 256, 2*g.mr, 2*g.nr
		g.a8L1Bytes, g.a8L2Bytes = 512, 4096
		rng := rand.New(rand.NewPCG(13, 14))
		cases := []matCase{
			{formatF32, 19, 600}, {formatF16, 9, 513}, {formatBF16, 10, 300},
			{formatQ4_0, 11, 288}, {formatQ8_0, 17, 544}, {formatQ5_1, 6, 320},
			{formatQ4K, 9, 768}, {formatQ6K, 5, 512}, {formatQ2K, 3, 256}, {formatQ3K, 4, 512}, {formatQ5K, 7, 512},
			{IntFormat(4, 100, true), 13, 650}, {IntFormat(8, 0, false), 9, 700}, {IntFormat(3, 64, false), 8, 300},
		}
		for _, c := range cases {
			checkMatMul(t, pool, c, []int{1, 3, 9, 21}, rng)
		}
	})
}

func TestMatMulEdges(t *testing.T) {
	m := &Matrix{Format: formatF32, Rows: 3, Cols: 0}
	dst := []float32{1, 2, 3, 4, 5, 6}
	MatMul(nil, dst, m, nil, 2)
	for _, v := range dst {
		if v != 0 {
			t.Fatalf("Cols = 0 must give zeros, got %v", dst)
		}
	}
	MatMul(nil, nil, &Matrix{Format: formatQ4_0, Rows: 4, Cols: 32, Data: make([]byte, 72)}, nil, 0)

	mustPanic := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		fn()
	}
	good := &Matrix{Format: formatQ4_0, Rows: 2, Cols: 32, Data: make([]byte, 36)}
	mustPanic("short x", func() { MatMul(nil, make([]float32, 2), good, make([]float32, 31), 1) })
	mustPanic("long dst", func() { MatMul(nil, make([]float32, 3), good, make([]float32, 32), 1) })
	mustPanic("short data", func() {
		MatMul(nil, make([]float32, 2), &Matrix{Format: formatQ4_0, Rows: 2, Cols: 32, Data: make([]byte, 35)}, make([]float32, 32), 1)
	})
	mustPanic("bad cols", func() {
		MatMul(nil, make([]float32, 2), &Matrix{Format: formatQ4_0, Rows: 2, Cols: 48, Data: make([]byte, 100)}, make([]float32, 48), 1)
	})
	mustPanic("no format", func() { MatMul(nil, nil, &Matrix{}, nil, 0) })
	mustPanic("foreign format", func() {
		MatMul(nil, make([]float32, 1), &Matrix{Format: &Format{Name: "x", RowBytes: func(n int) int { return n }}, Rows: 1, Cols: 1, Data: []byte{1}}, []float32{1}, 1)
	})
}

func TestSplitRows(t *testing.T) {
	for _, tt := range []struct{ rows, threads, align, maxChunk int }{
		{768, 2, 4, 256}, {5632, 2, 4, 1000}, {1, 2, 4, 16}, {37, 3, 4, 8}, {100, 1, 4, 1000}, {7, 2, 16, 4},
	} {
		chunk, tasks := splitRows(tt.rows, tt.threads, tt.align, tt.maxChunk)
		if chunk%tt.align != 0 || chunk*tasks < tt.rows || chunk*(tasks-1) >= tt.rows {
			t.Errorf("splitRows%v = %d, %d", tt, chunk, tasks)
		}
	}
}
