package kernels

// The cross-ISA harness: every body of every op and format, run under each
// ISA this machine can run (Available, forced one by one with SetISA), is
// compared with the generic body on lengths 0…257 (multiples of the block
// for the ggml formats), odd tails, starts offset by 0…3 elements (bytes for
// weight rows), and with guard values written before and after every output
// that must survive. With only the generic bodies installed the comparison
// is trivially equal; it becomes the acceptance test of each SIMD body.
//
// Tolerances (relative to the magnitude given per case):
//   - exact (bit for bit): Scale, Add, Mul, the f16/bf16 conversions, every
//     format's Dequant and decode, the activation quantizers, packA, packB.
//     Decoders and quantizers define values, so a SIMD body must reproduce
//     them exactly (no FMA in d·q + m, roundf semantics, ggml's f16 rounding).
//   - 1e-6 per element of |terms|: Axpy (FMA allowed), RMSNorm, Softmax,
//     SiLUMul, RoPE.
//   - 1e-5 of Σ|w·x|: Dot, every format's Dot and DotAct, the multi-row
//     hooks (gemv, gemvAct, gemmAct) and the GEMM microkernel.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

const guardBits = 0x7fa5a5a5 // a NaN pattern no kernel produces

var guardByte = byte(0xa5)

// A hresult is what one case observed under one ISA.
type hresult struct {
	f   []float32 // float outputs (scalar results appended)
	b   []byte    // byte outputs
	mag []float64 // per float output: the magnitude its tolerance scales with
	err string    // a guard violation
}

type hcase struct {
	name string
	rel  float64 // 0: bit-exact
	run  func() hresult
}

// guarded returns a buffer with n usable floats starting at element
// 4+off, everything else set to the guard NaN.
func guarded(n, off int) (buf, out []float32) {
	buf = make([]float32, 4+off+n+4)
	for i := range buf {
		buf[i] = math.Float32frombits(guardBits)
	}
	return buf, buf[4+off : 4+off+n]
}

func checkGuards(buf []float32, off, n int) string {
	for i, v := range buf {
		if i >= 4+off && i < 4+off+n {
			continue
		}
		if math.Float32bits(v) != guardBits {
			return fmt.Sprintf("guard at %d overwritten (%#08x)", i-4-off, math.Float32bits(v))
		}
	}
	return ""
}

func guardedBytes(n, off int) (buf, out []byte) {
	buf = make([]byte, 4+off+n+4)
	for i := range buf {
		buf[i] = guardByte
	}
	return buf, buf[4+off : 4+off+n]
}

func checkByteGuards(buf []byte, off, n int) string {
	for i, v := range buf {
		if (i < 4+off || i >= 4+off+n) && v != guardByte {
			return fmt.Sprintf("byte guard at %d overwritten (%#02x)", i-4-off, v)
		}
	}
	return ""
}

// shifted returns a copy of src starting off elements into a fresh slice.
func shifted[T any](src []T, off int) []T {
	s := make([]T, off+len(src))
	copy(s[off:], src)
	return s[off:]
}

func absMag(terms ...[]float32) []float64 {
	var m []float64
	for i := range terms[0] {
		var s float64
		for _, t := range terms {
			s += math.Abs(float64(t[i]))
		}
		m = append(m, s)
	}
	return m
}

// opCases builds the cases of the vector ops.
func opCases(rng *rand.Rand) []hcase {
	var cases []hcase
	for n := 0; n <= 257; n++ {
		off := n % 4
		a, b := randF32(rng, n), randF32(rng, n)
		alpha := float32(rng.NormFloat64())
		w := randF32(rng, n)
		h := make([]uint16, n)
		src := make([]float32, n)
		for i := range h {
			h[i] = uint16(rng.Uint32())
			src[i] = math.Float32frombits(rng.Uint32())
		}
		id := fmt.Sprintf("n=%d off=%d", n, off)
		cases = append(cases,
			hcase{"Dot " + id, 1e-5, func() hresult {
				_, mag := dot64(a, b)
				return hresult{f: []float32{Dot(shifted(a, off), shifted(b, off+1))}, mag: []float64{mag}}
			}},
			hcase{"Axpy " + id, 1e-6, func() hresult {
				buf, y := guarded(n, off)
				copy(y, b)
				Axpy(alpha, shifted(a, 3-off), y)
				ax := make([]float32, n)
				for i := range ax {
					ax[i] = alpha * a[i]
				}
				return hresult{f: append([]float32(nil), y...), mag: absMag(ax, b), err: checkGuards(buf, off, n)}
			}},
			hcase{"Scale " + id, 0, func() hresult {
				buf, y := guarded(n, off)
				copy(y, a)
				Scale(alpha, y)
				return hresult{f: append([]float32(nil), y...), err: checkGuards(buf, off, n)}
			}},
			hcase{"Add " + id, 0, func() hresult {
				buf, y := guarded(n, off)
				copy(y, a)
				Add(y, shifted(b, 1))
				return hresult{f: append([]float32(nil), y...), err: checkGuards(buf, off, n)}
			}},
			hcase{"Mul " + id, 0, func() hresult {
				buf, y := guarded(n, off)
				copy(y, a)
				Mul(y, shifted(b, 2))
				return hresult{f: append([]float32(nil), y...), err: checkGuards(buf, off, n)}
			}},
			hcase{"RMSNorm " + id, 1e-6, func() hresult {
				buf, y := guarded(n, off)
				RMSNorm(y, shifted(a, 1), shifted(w, 2), 1e-5)
				return hresult{f: append([]float32(nil), y...), mag: absMag(y), err: checkGuards(buf, off, n)}
			}},
			hcase{"RMSNorm/inplace " + id, 1e-6, func() hresult {
				buf, y := guarded(n, off)
				copy(y, a)
				RMSNorm(y, y, shifted(w, 3), 1e-6)
				return hresult{f: append([]float32(nil), y...), mag: absMag(y), err: checkGuards(buf, off, n)}
			}},
			hcase{"Softmax " + id, 1e-6, func() hresult {
				buf, y := guarded(n, off)
				copy(y, a)
				for i := range y {
					y[i] *= 4
				}
				Softmax(y)
				return hresult{f: append([]float32(nil), y...), mag: absMag(y), err: checkGuards(buf, off, n)}
			}},
			hcase{"SiLUMul " + id, 1e-6, func() hresult {
				buf, y := guarded(n, off)
				copy(y, a)
				SiLUMul(y, shifted(b, 1))
				return hresult{f: append([]float32(nil), y...), mag: absMag(y), err: checkGuards(buf, off, n)}
			}},
			hcase{"F16ToF32 " + id, 0, func() hresult {
				buf, y := guarded(n, off)
				F16ToF32(y, shifted(h, 1))
				return hresult{f: append([]float32(nil), y...), err: checkGuards(buf, off, n)}
			}},
			hcase{"BF16ToF32 " + id, 0, func() hresult {
				buf, y := guarded(n, off)
				BF16ToF32(y, shifted(h, 3))
				return hresult{f: append([]float32(nil), y...), err: checkGuards(buf, off, n)}
			}},
			hcase{"F32ToF16+BF16 " + id, 0, func() hresult {
				h := make([]uint16, n+off+2)
				F32ToF16(h[off:off+n], shifted(src, 1))
				g := make([]uint16, n+off+2)
				F32ToBF16(g[off:off+n], shifted(src, 2))
				var out []float32
				for i := range h {
					out = append(out, float32(h[i]), float32(g[i]))
				}
				return hresult{f: out}
			}},
		)
		if n%2 == 0 && n > 0 {
			tab, _ := NewRoPETable(n, 3, 10000, AnglesGGML)
			cases = append(cases, hcase{"RoPE " + id, 1e-6, func() hresult {
				buf, y := guarded(2*n, off)
				copy(y, a)
				copy(y[n:], b)
				RoPEInterleaved(y, tab, 2)
				buf2, z := guarded(2*n, off)
				copy(z, a)
				copy(z[n:], b)
				RoPENeoX(z, tab, 1)
				err := checkGuards(buf, off, 2*n) + checkGuards(buf2, off, 2*n)
				out := append(append([]float32(nil), y...), z...)
				return hresult{f: out, mag: absMag(out), err: err}
			}})
		}
	}
	return cases
}

// formatCases builds the cases of every format body, hooks included.
func formatCases(rng *rand.Rand) []hcase {
	var cases []hcase
	for _, f := range testFormats() {
		lens := colsFor(f, false)
		if f.GGML < 0 || f.Block == 1 {
			lens = nil
			for n := 0; n <= 257; n++ {
				lens = append(lens, n)
			}
		}
		for _, n := range lens {
			off := n % 4
			data := randRows(rng, f, 5, n)
			rb := f.RowBytes(n)
			x := randF32(rng, 3*n)
			id := fmt.Sprintf("%s n=%d off=%d", f.Name, n, off)
			cases = append(cases, hcase{"Dequant " + id, 0, func() hresult {
				buf, y := guarded(n, off)
				f.Dequant(y, shifted(data[:rb], off))
				out := append([]float32(nil), y...)
				err := checkGuards(buf, off, n)
				if n > 0 && f.Block > 0 {
					// decode of the second half (block-aligned), into an offset slice
					k0 := n / 2 / max(1, f.Block) * max(1, f.Block)
					buf2, z := guarded(n-k0, 3-off)
					f.body.decode(z, shifted(data[rb:2*rb], 3-off), n, k0)
					out = append(out, z...)
					err += checkGuards(buf2, 3-off, n-k0)
				}
				return hresult{f: out, err: err}
			}})
			cases = append(cases, hcase{"Dot " + id, 1e-5, func() hresult {
				got := f.Dot(shifted(data[:rb], off+1), shifted(x[:n], off))
				_, mag := dot64(dequantRows(f, data, 1, n), x[:n])
				// gemv over 5 rows against the second activation row
				buf, y := guarded(5, off)
				f.body.gemv(y, shifted(data, 3-off), rb, shifted(x[n:2*n], 1))
				out := append([]float32{got}, y...)
				mags := []float64{mag}
				wd := dequantRows(f, data, 5, n)
				for r := 0; r < 5; r++ {
					_, m := dot64(wd[r*n:(r+1)*n], x[n:2*n])
					mags = append(mags, m)
				}
				return hresult{f: out, mag: mags, err: checkGuards(buf, off, 5)}
			}})
			if f.Act == nil {
				continue
			}
			cases = append(cases, hcase{"Act.Quantize+DotAct " + id, 1e-5, func() hresult {
				xb := f.Act.RowBytes(n)
				bbuf, xq := guardedBytes(3*xb, off)
				for t := 0; t < 3; t++ {
					f.Act.Quantize(xq[t*xb:(t+1)*xb], shifted(x[t*n:(t+1)*n], t))
				}
				err := checkByteGuards(bbuf, off, 3*xb)
				xqs := shifted(xq, 1+off)
				got := f.DotAct(shifted(data[:rb], 3-off), xqs[:xb], n)
				// gemvAct: 5 rows × token 1; gemmAct: 5 rows × 3 tokens, ldd 7
				buf, y := guarded(5, off)
				f.body.gemvAct(y, shifted(data, off), rb, xqs[xb:], n)
				err += checkGuards(buf, off, 5)
				buf2, z := guarded(3*7, off)
				f.body.gemmAct(z, 7, shifted(data, 2), rb, 5, xqs, xb, 3, n)
				for t := 0; t < 3; t++ {
					for i := 5; i < 7; i++ {
						if math.Float32bits(z[t*7+i]) != guardBits {
							err += fmt.Sprintf("gemmAct wrote dst[%d][%d] outside rows", t, i)
						}
					}
					z[t*7+5], z[t*7+6] = 0, 0
				}
				err += checkGuards(buf2, off, 3*7)
				// Magnitudes: Σ|w·x̂| per product.
				wd := dequantRows(f, data, 5, n)
				xd := make([]float32, 3*n)
				for t := 0; t < 3; t++ {
					f.Act.dequant(xd[t*n:(t+1)*n], xq[t*xb:], n)
				}
				mags := []float64{}
				prod := func(r, t int) float64 {
					_, m := dot64(wd[r*n:(r+1)*n], xd[t*n:(t+1)*n])
					return m + 1e-3*float64(n) // q8_1's m·s term is outside Σ|w·x̂|
				}
				mags = append(mags, prod(0, 0))
				for r := 0; r < 5; r++ {
					mags = append(mags, prod(r, 1))
				}
				for t := 0; t < 3; t++ {
					for i := 0; i < 7; i++ {
						mags = append(mags, prod(min(i, 4), t))
					}
				}
				// The quantized bytes themselves must match exactly: compared
				// as floats of their byte values with zero magnitude.
				out := append([]float32{got}, y...)
				out = append(out, z...)
				for _, v := range xq {
					out = append(out, float32(v))
					mags = append(mags, 0)
				}
				return hresult{f: out, mag: mags, err: err}
			}})
		}
	}
	return cases
}

// gemmCases builds the cases of the GEMM kernel bodies.
func gemmCases(rng *rand.Rand) []hcase {
	var cases []hcase
	for _, k := range []int{1, 2, 3, 17, 64, 255, 256} {
		off := k % 4
		cases = append(cases, hcase{fmt.Sprintf("gemm.micro k=%d off=%d", k, off), 1e-5, func() hresult {
			// An M×N product of row-major A (M×k) and B (N×k) cut into the
			// kernel's mr×nr tiles (partial ones through a zero-padded
			// scratch tile, as the driver does), so that kernels of any tile
			// shape give the same, layout-independent result.
			const M, N = 84, 96
			g := active.gemm
			am := randF32(rand.New(rand.NewPCG(uint64(k), 1)), M*k)
			bm := randF32(rand.New(rand.NewPCG(uint64(k), 2)), N*k)
			ldc := N + 3
			buf, c := guarded((M-1)*ldc+N, off)
			c0 := randF32(rand.New(rand.NewPCG(uint64(k), 3)), len(c))
			copy(c, c0)
			a := make([]float32, g.mr*k)
			b := make([]float32, g.nr*k)
			tile := make([]float32, g.mr*g.nr)
			for i0 := 0; i0 < M; i0 += g.mr {
				mr := min(g.mr, M-i0)
				clear(a)
				for i := 0; i < mr; i++ {
					for p := 0; p < k; p++ {
						a[p*g.mr+i] = am[(i0+i)*k+p]
					}
				}
				for j0 := 0; j0 < N; j0 += g.nr {
					nr := min(g.nr, N-j0)
					clear(b)
					for j := 0; j < nr; j++ {
						for p := 0; p < k; p++ {
							b[p*g.nr+j] = bm[(j0+j)*k+p]
						}
					}
					if mr == g.mr && nr == g.nr {
						g.micro(k, shifted(a, 1), shifted(b, 2), c[i0*ldc+j0:], ldc, true)
						continue
					}
					g.micro(k, a, b, tile, g.nr, false)
					for i := 0; i < mr; i++ {
						for j := 0; j < nr; j++ {
							c[(i0+i)*ldc+j0+j] += tile[i*g.nr+j]
						}
					}
				}
			}
			var out []float32
			var mags []float64
			var err string
			for i := 0; i < M; i++ {
				for j := 0; j < ldc && i*ldc+j < len(c); j++ {
					if j >= N {
						if c[i*ldc+j] != c0[i*ldc+j] {
							err += fmt.Sprintf("micro wrote c[%d][%d] outside the tile", i, j)
						}
						continue
					}
					var mag float64
					for p := 0; p < k; p++ {
						mag += math.Abs(float64(am[i*k+p]) * float64(bm[j*k+p]))
					}
					out = append(out, c[i*ldc+j]-c0[i*ldc+j])
					mags = append(mags, mag+math.Abs(float64(c0[i*ldc+j])))
				}
			}
			return hresult{f: out, mag: mags, err: err + checkGuards(buf, off, len(c))}
		}})
	}
	for _, f := range []*Format{formatF32, formatF16, formatQ4_0, formatQ4K, IntFormat(4, 100, true)} {
		cols := 600
		if f.Block == qkK {
			cols = 768
		}
		data := randRows(rng, f, 9, cols)
		x := randF32(rng, 9*cols)
		cases = append(cases, hcase{"gemm.pack " + f.Name, 0, func() hresult {
			g := active.gemm
			m := &Matrix{Format: f, Rows: 9, Cols: cols, Data: data}
			kc := 256
			out := []float32{}
			for _, k0 := range []int{0, 256, 512} {
				kcur := min(kc, cols-k0)
				bp := make([]float32, ceilDiv(7, g.nr)*g.nr*kcur)
				g.packB(bp, m, 1, 7, k0, kcur, g.nr, make([]float32, kcur))
				ap := make([]float32, ceilDiv(5, g.mr)*g.mr*kcur)
				g.packA(ap, x[cols:], cols, 5, k0, kcur, g.mr)
				// Unpack to row-major so that layouts of any mr/nr compare.
				for r := 0; r < 7; r++ {
					for p := 0; p < kcur; p++ {
						out = append(out, bp[(r/g.nr)*g.nr*kcur+p*g.nr+r%g.nr])
					}
				}
				for r := 0; r < 5; r++ {
					for p := 0; p < kcur; p++ {
						out = append(out, ap[(r/g.mr)*g.mr*kcur+p*g.mr+r%g.mr])
					}
				}
			}
			return hresult{f: out}
		}})
	}
	return cases
}

func sameResult(c hcase, ref, got hresult) string {
	if got.err != "" {
		return got.err
	}
	if len(ref.f) != len(got.f) || len(ref.b) != len(got.b) {
		return fmt.Sprintf("output length %d/%d, generic %d/%d", len(got.f), len(got.b), len(ref.f), len(ref.b))
	}
	for i := range ref.b {
		if ref.b[i] != got.b[i] {
			return fmt.Sprintf("byte %d = %#02x, generic %#02x", i, got.b[i], ref.b[i])
		}
	}
	for i := range ref.f {
		r, g := ref.f[i], got.f[i]
		if math.Float32bits(r) == math.Float32bits(g) || (r != r && g != g) {
			continue
		}
		if c.rel == 0 || ref.mag == nil || ref.mag[i] == 0 {
			return fmt.Sprintf("value %d = %g (%#08x), generic %g (%#08x)", i, g, math.Float32bits(g), r, math.Float32bits(r))
		}
		if math.Abs(float64(r)-float64(g)) > c.rel*ref.mag[i]+1e-30 {
			return fmt.Sprintf("value %d = %g, generic %g: |Δ| > %g·%g", i, g, r, c.rel, ref.mag[i])
		}
	}
	return ""
}

// compareISAs runs every case under Generic, then under each available
// ISA, and returns the disagreements (at most limit per ISA).
func compareISAs(t *testing.T, cases []hcase, limit int) []string {
	t.Helper()
	orig := CurrentISA()
	defer SetISA(orig)
	if err := SetISA(Generic); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	ref := make([]hresult, len(cases))
	for i, c := range cases {
		ref[i] = c.run()
		if ref[i].err != "" {
			msgs = append(msgs, fmt.Sprintf("generic %s: %s", c.name, ref[i].err))
		}
	}
	for _, isa := range Available() {
		if err := SetISA(isa); err != nil {
			t.Fatal(err)
		}
		failed := 0
		for i, c := range cases {
			if msg := sameResult(c, ref[i], c.run()); msg != "" {
				msgs = append(msgs, fmt.Sprintf("%s %s: %s", isa, c.name, msg))
				if failed++; failed >= limit {
					break
				}
			}
		}
	}
	return msgs
}

// TestBodiesAgainstGeneric is the cross-ISA harness.
func TestBodiesAgainstGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	cases := append(append(opCases(rng), formatCases(rng)...), gemmCases(rng)...)
	for _, msg := range compareISAs(t, cases, 20) {
		t.Error(msg)
	}
	t.Logf("%d cases × ISAs %v", len(cases), Available())
}

// TestHarnessCatchesBrokenBodies registers deliberately broken bodies for
// the widest available ISA and checks that the harness reports each.
func TestHarnessCatchesBrokenBodies(t *testing.T) {
	av := Available()
	isa := av[len(av)-1]
	if isa == Generic {
		t.Skip("no ISA besides generic on this machine/build")
	}
	s := specFor(isa)
	savedOps, savedQ40, savedAct := s.ops, s.formats["q4_0"], s.acts["q8_1"]
	defer func() {
		s.ops, s.formats["q4_0"], s.acts["q8_1"] = savedOps, savedQ40, savedAct
		SetISA(CurrentISA())
	}()
	// dot drops the tail; add writes one element past the end; q4_0 Dequant
	// rounds through an FMA-free but wrong order; q8_1 rounds half to even.
	registerOps(isa, func(t *opTable) {
		t.dot = func(a, b []float32) float32 { return dotGeneric(a[:len(a)/8*8], b[:len(a)/8*8]) }
		t.add = func(dst, x []float32) {
			addGeneric(dst, x)
			if n := len(dst); n > 0 && cap(dst) > n {
				dst[:n+1][n] = 0
			}
		}
	})
	registerFormat(isa, "q4_0", func(f *Format, t *formatTable) {
		t.dequant = func(dst []float32, src []byte) {
			dequantQ4_0(dst, src)
			for i := range dst {
				dst[i] = dst[i] * (1 + 0x1p-23)
			}
		}
	})
	registerAct(isa, "q8_1", func(a *ActFormat, q *func([]byte, []float32)) {
		*q = func(dst []byte, x []float32) {
			quantizeQ8_1(dst, x)
			if len(dst) > 4 {
				dst[4]++
			}
		}
	})
	rng := rand.New(rand.NewPCG(23, 24))
	cases := append(opCases(rng), formatCases(rng)...)
	msgs := compareISAs(t, cases, 1<<30)
	for _, want := range []string{"Dot n=9", "Add n=5", "Dequant q4_0 n=32", "Act.Quantize+DotAct q4_1 n=32"} {
		found := false
		for _, m := range msgs {
			if strings.Contains(m, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("harness did not report the broken body %q (%d reports)", want, len(msgs))
		}
	}
}
