//go:build !noasm

package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPackAVX2 checks the transposing packers against the generic ones bit
// for bit on shapes that reach every path: full groups of 8 rows, partial
// groups and panels, column tails (kc not a multiple of 8), K-blocks at an
// offset, and f16/bf16 rows holding every class of value (subnormals,
// infinities, NaNs with payloads).
func TestPackAVX2(t *testing.T) {
	if len(Available()) < 2 {
		t.Skip("no AVX2 on this machine")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, f := range []*Format{formatF32, formatF16, formatBF16, formatQ8_0} {
		cols := 7*64 + 32
		rows := 45
		data := randRows(rng, f, rows, cols)
		if f.family == "f16" || f.family == "bf16" {
			for i := 0; i < rows*cols; i++ {
				binary.LittleEndian.PutUint16(data[2*i:], uint16(rng.Uint32()))
			}
		}
		m := &Matrix{Format: f, Rows: rows, Cols: cols, Data: data}
		for _, nr := range []int{16, 32} {
			for _, c := range []struct{ r0, rows, k0, kc int }{
				{0, 45, 0, 256}, {3, 40, 256, 224}, {5, 8, 32, 64}, {0, 32, 0, 480}, {1, 17, 64, 96},
			} {
				if f.Block > 1 && (c.k0%f.Block != 0 || c.kc%f.Block != 0) {
					continue
				}
				n := ceilDiv(c.rows, nr) * nr * c.kc
				want, got := make([]float32, n), make([]float32, n)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				isa := CurrentISA()
				SetISA(Generic)
				packBGeneric(want, m, c.r0, c.rows, c.k0, c.kc, nr, make([]float32, c.kc))
				SetISA(isa)
				packBAVX2(got, m, c.r0, c.rows, c.k0, c.kc, nr, make([]float32, c.kc))
				if i, ok := bitsEqual(got, want); !ok {
					t.Errorf("packB %s nr=%d %+v: value %d = %#08x, generic %#08x",
						f.Name, nr, c, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
				}
			}
		}
	}
	for _, mr := range []int{6, 14} {
		ldx := 700
		x := randF32(rng, 60*ldx)
		for _, c := range []struct{ rows, k0, kc int }{{60, 0, 256}, {42, 256, 256}, {14, 3, 13}, {5, 0, 64}, {29, 600, 100}} {
			n := ceilDiv(c.rows, mr) * mr * c.kc
			want, got := make([]float32, n), make([]float32, n)
			for i := range got {
				got[i] = float32(math.NaN())
			}
			packAGeneric(want, x, ldx, c.rows, c.k0, c.kc, mr)
			packAAVX2(got, x, ldx, c.rows, c.k0, c.kc, mr)
			if i, ok := bitsEqual(got, want); !ok {
				t.Errorf("packA mr=%d %+v: value %d = %g, generic %g", mr, c, i, got[i], want[i])
			}
		}
	}
}

// TestGEMMLarge runs prefill-sized products (several weight-row tasks, token
// blocks and K-blocks with the kernels' own blocking) on 1 and 2 threads
// against a float64 reference, for each SIMD path.
func TestGEMMLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large shapes")
	}
	pool := NewPool(2)
	defer pool.Close()
	withISA(t, func(t *testing.T, isa ISA) {
		if isa == Generic {
			t.Skip("covered by TestMatMul")
		}
		rng := rand.New(rand.NewPCG(41, 42))
		for _, c := range []struct {
			f          *Format
			rows, cols int
			n          int
		}{
			{formatF32, 1100, 600, 300}, {formatF16, 530, 1030, 61}, {formatBF16, 77, 2050, 40}, {formatQ8_0, 300, 544, 33},
		} {
			data := randRows(rng, c.f, c.rows, c.cols)
			wd := dequantRows(c.f, data, c.rows, c.cols)
			m := &Matrix{Format: c.f, Rows: c.rows, Cols: c.cols, Data: data}
			x := randF32(rng, c.n*c.cols)
			got1, got2 := make([]float32, c.n*c.rows), make([]float32, c.n*c.rows)
			MatMul(nil, got1, m, x, c.n)
			MatMul(pool, got2, m, x, c.n)
			id := fmt.Sprintf("%s %d×%d n=%d", c.f.Name, c.rows, c.cols, c.n)
			if i, ok := bitsEqual(got1, got2); !ok {
				t.Fatalf("%s: 1 and 2 threads differ at %d", id, i)
			}
			want, mag := refMatMul(wd, c.rows, c.cols, x, c.n)
			for i := range want {
				if !near(float64(got1[i]), want[i], mag[i], 1e-5) {
					t.Fatalf("%s: out[%d] = %g, want %g (Σ|wx| %g)", id, i, got1[i], want[i], mag[i])
				}
			}
		}
	})
}

// TestMicroRows checks the short-tile kernel against the full one computed
// into a scratch tile, bit for bit (both sum each element over k in order),
// for every row count, k with and without a tail, add and store, and that
// it leaves the rows past its count alone.
func TestMicroRows(t *testing.T) {
	withISA(t, func(t *testing.T, isa ISA) {
		g := active.gemm
		if g.microRows == nil {
			t.Skip("no microRows on this path")
		}
		rng := rand.New(rand.NewPCG(51, 52))
		for _, k := range []int{1, 2, 3, 5, 64, 257} {
			a := make([]float32, g.mr*k)
			b := randF32(rng, g.nr*k)
			for rows := 1; rows < g.mr; rows++ {
				clear(a)
				for p := 0; p < k; p++ {
					for i := 0; i < rows; i++ {
						a[p*g.mr+i] = float32(rng.NormFloat64())
					}
				}
				tile := make([]float32, g.mr*g.nr)
				g.micro(k, a, b, tile, g.nr, false)
				for _, add := range []bool{false, true} {
					ldc := g.nr + 5
					c0 := randF32(rng, g.mr*ldc)
					c := append([]float32(nil), c0...)
					g.microRows(k, rows, a, b, c[:(rows-1)*ldc+g.nr], ldc, add)
					for i := 0; i < g.mr; i++ {
						for j := 0; j < ldc; j++ {
							want := c0[i*ldc+j]
							if i < rows && j < g.nr {
								if add {
									want += tile[i*g.nr+j]
								} else {
									want = tile[i*g.nr+j]
								}
							}
							if math.Float32bits(c[i*ldc+j]) != math.Float32bits(want) {
								t.Fatalf("k=%d rows=%d add=%v: c[%d][%d] = %g, want %g", k, rows, add, i, j, c[i*ldc+j], want)
							}
						}
					}
				}
			}
		}
	})
}
