package kernels

// The W·A8 path is bit-exact by contract: every ISA's activation quantizer
// must write the same bytes as the generic one, and every ISA's DotAct,
// gemvAct and gemmAct the same float32 bits as the generic DotAct — on
// ordinary data and on the edges (rounding ties, zero blocks, extreme
// codes, huge and tiny magnitudes). TestBodiesAgainstGeneric checks the
// products only to a tolerance; this file holds them to the bit.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// edgeActivations returns activation rows of n values that stress the
// quantizers: exact rounding ties, zeros, a single outlier, subnormals and
// huge values, besides plain random rows.
func edgeActivations(rng *rand.Rand, n int) [][]float32 {
	rows := [][]float32{randF32(rng, n)}
	ties := make([]float32, n)
	for i := range ties {
		// amax 127 per 32-block gives d = 1: x·(1/d) lands on k + 0.5.
		ties[i] = float32(i%64-32) + 0.5
		if i%32 == 0 {
			ties[i] = 127
		}
	}
	rows = append(rows, ties, make([]float32, n))
	outlier := make([]float32, n)
	for i := range outlier {
		outlier[i] = float32(rng.NormFloat64()) * 1e-3
		if i%97 == 5 {
			outlier[i] = -300
		}
	}
	tiny := make([]float32, n)
	huge := make([]float32, n)
	for i := range tiny {
		tiny[i] = float32(rng.NormFloat64()) * 1e-40
		huge[i] = float32(rng.NormFloat64()) * 1e36
	}
	return append(rows, outlier, tiny, huge)
}

// edgeRows returns weight rows of f with extreme payloads: all bits set,
// all clear, and random bytes (scales as randRows makes them).
func edgeRows(rng *rand.Rand, f *Format, rows, cols int) []byte {
	data := randRows(rng, f, rows, cols)
	rb := f.RowBytes(cols)
	if rows < 3 || rb == 0 {
		return data
	}
	ones := randRows(rng, f, 1, cols)
	zeros := randRows(rng, f, 1, cols)
	for i := range ones {
		if !isScaleByte(f, cols, i) {
			ones[i], zeros[i] = 0xff, 0x00
		}
	}
	copy(data[rb:], ones)
	copy(data[2*rb:], zeros)
	return data
}

// isScaleByte reports whether byte i of a row of cols values of f belongs to
// a block scale (d, m, dmin, or an int format's group header).
func isScaleByte(f *Format, cols, i int) bool {
	if f.GGML < 0 {
		l := intLayout{f.bits, f.group, f.asym}
		g := l.gsize(cols)
		o := i % l.groupBytes(g)
		return o < l.hdr()
	}
	o := i % f.BlockBytes
	switch f.family {
	case "q8_0", "q4_0", "q5_0":
		return o < 2
	case "q4_1", "q5_1", "q4_k", "q5_k":
		return o < 4
	case "q2_k":
		return o >= 80
	case "q3_k", "q6_k":
		return o >= f.BlockBytes-2
	}
	return false
}

func TestA8BitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	type tc struct {
		f    *Format
		cols int
		data []byte
		xs   [][]float32
	}
	var cases []tc
	for _, f := range testFormats() {
		if f.Act == nil {
			continue
		}
		for _, cols := range colsFor(f, false) {
			cases = append(cases, tc{f, cols, edgeRows(rng, f, 9, cols), edgeActivations(rng, cols)})
		}
	}
	// Generic reference: quantized bytes and products.
	orig := CurrentISA()
	defer SetISA(orig)
	if err := SetISA(Generic); err != nil {
		t.Fatal(err)
	}
	type ref struct {
		xq   [][]byte
		prod [][]float32 // [x][row]
	}
	refs := make([]ref, len(cases))
	for ci, c := range cases {
		rb := c.f.RowBytes(c.cols)
		xb := c.f.Act.RowBytes(c.cols)
		for _, x := range c.xs {
			q := make([]byte, xb)
			c.f.Act.Quantize(q, x)
			p := make([]float32, 9)
			for r := range p {
				p[r] = c.f.DotAct(c.data[r*rb:], q, c.cols)
			}
			refs[ci].xq = append(refs[ci].xq, q)
			refs[ci].prod = append(refs[ci].prod, p)
		}
	}
	for _, isa := range Available()[1:] {
		if err := SetISA(isa); err != nil {
			t.Fatal(err)
		}
		for ci, c := range cases {
			id := fmt.Sprintf("%s %s n=%d", isa, c.f.Name, c.cols)
			rb := c.f.RowBytes(c.cols)
			xb := c.f.Act.RowBytes(c.cols)
			rf := refs[ci]
			for xi, x := range c.xs {
				q := make([]byte, xb)
				c.f.Act.Quantize(q, x)
				for i := range q {
					if q[i] != rf.xq[xi][i] {
						t.Errorf("%s act %d: quantized byte %d = %#02x, generic %#02x", id, xi, i, q[i], rf.xq[xi][i])
						break
					}
				}
				q = rf.xq[xi]
				for r := 0; r < 9; r++ {
					if got, want := c.f.DotAct(c.data[r*rb:], q, c.cols), rf.prod[xi][r]; math.Float32bits(got) != math.Float32bits(want) {
						t.Errorf("%s act %d row %d: DotAct = %g (%#08x), generic %g (%#08x)", id, xi, r, got, math.Float32bits(got), want, math.Float32bits(want))
					}
				}
				for _, rows := range []int{1, 3, 4, 5, 9} {
					y := make([]float32, rows)
					c.f.body.gemvAct(y, c.data, rb, q, c.cols)
					for r, got := range y {
						if want := rf.prod[xi][r]; math.Float32bits(got) != math.Float32bits(want) {
							t.Errorf("%s act %d: gemvAct(%d rows)[%d] = %g, generic %g", id, xi, rows, r, got, want)
						}
					}
				}
			}
			// gemmAct: every activation row as a token, odd tile shapes.
			nt := len(c.xs)
			xq := make([]byte, 0, nt*xb)
			for _, q := range rf.xq {
				xq = append(xq, q...)
			}
			for _, rows := range []int{1, 2, 5, 8, 9} {
				ldd := rows + 3
				buf, z := guarded(nt*ldd, 1)
				c.f.body.gemmAct(z, ldd, c.data, rb, rows, xq, xb, nt, c.cols)
				for tk := 0; tk < nt; tk++ {
					for r := 0; r < ldd; r++ {
						got := z[tk*ldd+r]
						if r >= rows {
							if math.Float32bits(got) != guardBits {
								t.Errorf("%s gemmAct(%d rows): wrote dst[%d][%d] outside the tile", id, rows, tk, r)
							}
							continue
						}
						if want := rf.prod[tk][r]; math.Float32bits(got) != math.Float32bits(want) {
							t.Errorf("%s gemmAct(%d rows × %d tokens)[%d][%d] = %g, generic %g", id, rows, nt, tk, r, got, want)
						}
					}
				}
				for tk := 0; tk < nt; tk++ {
					for r := rows; r < ldd; r++ {
						z[tk*ldd+r] = 0
					}
				}
				if msg := checkGuards(buf, 1, len(z)); msg != "" {
					t.Errorf("%s gemmAct(%d rows): %s", id, rows, msg)
				}
			}
		}
	}
}

// TestGemmActTiles runs gemmAct on larger tiles than the harness (many rows
// and tokens, so that register-tiled bodies run their full tiles and every
// tail) against the generic DotAct, bit for bit, for every ISA.
func TestGemmActTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	formats := []*Format{formatQ8_0, formatQ4_0, formatQ4_1, formatQ5_0, formatQ5_1, formatQ4K, formatQ5K, formatQ6K,
		IntFormat(8, 0, false), IntFormat(8, 64, true), IntFormat(4, 128, false), IntFormat(4, 32, true), IntFormat(2, 96, false), IntFormat(4, 96, true), IntFormat(4, 50, false)}
	orig := CurrentISA()
	defer SetISA(orig)
	for _, f := range formats {
		cols := 320
		if f.Block == qkK {
			cols = 512
		}
		const rows, nt = 37, 21
		data := randRows(rng, f, rows, cols)
		rb, xb := f.RowBytes(cols), f.Act.RowBytes(cols)
		x := randF32(rng, nt*cols)
		if err := SetISA(Generic); err != nil {
			t.Fatal(err)
		}
		xq := make([]byte, nt*xb)
		for tk := 0; tk < nt; tk++ {
			f.Act.Quantize(xq[tk*xb:(tk+1)*xb], x[tk*cols:(tk+1)*cols])
		}
		want := make([]float32, nt*rows)
		for tk := 0; tk < nt; tk++ {
			for r := 0; r < rows; r++ {
				want[tk*rows+r] = f.DotAct(data[r*rb:], xq[tk*xb:], cols)
			}
		}
		for _, isa := range Available()[1:] {
			if err := SetISA(isa); err != nil {
				t.Fatal(err)
			}
			for _, sh := range [][2]int{{rows, nt}, {16, 8}, {15, 9}, {7, 1}, {33, 17}} {
				r0, t0 := rows-sh[0], nt-sh[1]
				got := make([]float32, sh[1]*rows)
				f.body.gemmAct(got, rows, data[r0*rb:], rb, sh[0], xq[t0*xb:], xb, sh[1], cols)
				for tk := 0; tk < sh[1]; tk++ {
					for r := 0; r < sh[0]; r++ {
						g, w := got[tk*rows+r], want[(t0+tk)*rows+r0+r]
						if math.Float32bits(g) != math.Float32bits(w) {
							t.Fatalf("%s %s tile %v: [%d][%d] = %g, generic %g", isa, f.Name, sh, tk, r, g, w)
						}
					}
				}
			}
		}
	}
}

// TestActQuantizeSpecials feeds NaN, ±Inf, signed zeros and the largest
// finite values to every activation quantizer: the bytes must equal the
// generic quantizer's under each ISA (Go's float-to-int8 conversion of NaN
// included, whatever it yields on this platform).
func TestActQuantizeSpecials(t *testing.T) {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)),
		math.MaxFloat32, -math.MaxFloat32, 1e-45, -3e-39}
	rng := rand.New(rand.NewPCG(35, 36))
	acts := []*ActFormat{actQ8_0, actQ8_1, actQ8K, IntFormat(8, 0, false).Act, IntFormat(4, 32, false).Act, IntFormat(4, 100, false).Act}
	var rows [][]float32
	for k := range specials {
		x := randF32(rng, 512)
		for i := range x {
			if (i+k)%(k+3) == 0 {
				x[i] = specials[(i+k)%len(specials)]
			}
		}
		rows = append(rows, x)
		only := make([]float32, 512)
		for i := range only {
			only[i] = specials[k]
		}
		rows = append(rows, only)
	}
	orig := CurrentISA()
	defer SetISA(orig)
	for _, a := range acts {
		for ri, x := range rows {
			for _, n := range []int{32, 256, 300, 512} {
				SetISA(Generic)
				want := make([]byte, a.RowBytes(n))
				a.Quantize(want, x[:n])
				for _, isa := range Available()[1:] {
					SetISA(isa)
					got := make([]byte, len(want))
					a.Quantize(got, x[:n])
					for i := range got {
						if got[i] != want[i] {
							t.Errorf("%s %s row %d n=%d: byte %d = %#02x, generic %#02x", isa, a.Name, ri, n, i, got[i], want[i])
							break
						}
					}
				}
			}
		}
	}
}
