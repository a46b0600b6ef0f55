package quant

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/divergo/divergo/kernels"
)

func mustSpec(t testing.TB, s string) Spec {
	t.Helper()
	sp, err := ParseSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func roundTrip(t testing.TB, spec string, rows, cols int, w []float32) []float32 {
	t.Helper()
	m, err := Quantize(mustSpec(t, spec), "test", rows, cols, w)
	if err != nil {
		t.Fatalf("%s: %v", spec, err)
	}
	if m.Rows != rows || m.Cols != cols || len(m.Data) != rows*m.Format.RowBytes(cols) {
		t.Fatalf("%s: matrix %d×%d with %d bytes", spec, m.Rows, m.Cols, len(m.Data))
	}
	out, err := Dequantize(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestF16Conversion checks the reference conversion exhaustively, and
// kernels' (which the quantizers use) on the same inputs.
func TestF16Conversion(t *testing.T) {
	for name, conv := range map[string]func(float32) uint16{"reference": f32ToF16, "kernels": kernels.FloatToHalf} {
		t.Run(name, func(t *testing.T) { testF16Conversion(t, conv) })
	}
	for h := 0; h < 1<<16; h++ {
		a, b := f16ToF32(uint16(h)), kernels.HalfToFloat(uint16(h))
		if a != a && b != b {
			continue // NaN either way (kernels quiets signalling NaNs, as ggml does)
		}
		if math.Float32bits(a) != math.Float32bits(b) {
			t.Fatalf("HalfToFloat(%#04x) = %g, reference %g", h, b, a)
		}
	}
}

func testF16Conversion(t *testing.T, f32ToF16 func(float32) uint16) {
	// Every binary16 value converts to float32 and back unchanged (NaNs
	// become the quiet NaN 0x7e00 with their sign, as in ggml).
	for h := 0; h < 1<<16; h++ {
		f := f16ToF32(uint16(h))
		back := f32ToF16(f)
		want := uint16(h)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			want = uint16(h)&0x8000 | 0x7e00
		}
		if back != want {
			t.Fatalf("f16 %#04x → %g → %#04x", h, f, back)
		}
	}
	// Between two neighbours, the midpoint goes to the even one and
	// anything off the midpoint to the nearer one.
	for h := 0; h < 0x7bff; h++ {
		a, b := float64(f16ToF32(uint16(h))), float64(f16ToF32(uint16(h+1)))
		mid := float32((a + b) / 2)
		even := uint16(h)
		if h&1 == 1 {
			even = uint16(h + 1)
		}
		if got := f32ToF16(mid); got != even {
			t.Fatalf("midpoint of %#04x and %#04x → %#04x, want %#04x", h, h+1, got, even)
		}
		if got := f32ToF16(math.Nextafter32(mid, 0)); got != uint16(h) {
			t.Fatalf("just below the midpoint of %#04x: %#04x", h, got)
		}
		if got := f32ToF16(math.Nextafter32(mid, 1e9)); got != uint16(h+1) {
			t.Fatalf("just above the midpoint of %#04x: %#04x", h, got)
		}
		if got := f32ToF16(-mid); got != even|0x8000 {
			t.Fatalf("-midpoint of %#04x → %#04x", h, got)
		}
	}
	for _, tt := range []struct {
		in   float32
		want uint16
	}{
		{65504, 0x7bff}, {65519.99, 0x7bff}, {65520, 0x7c00}, {1e30, 0x7c00}, {-1e30, 0xfc00},
		{float32(math.Inf(1)), 0x7c00}, {0x1p-25, 0}, {math.Nextafter32(0x1p-25, 1), 1}, {0x1p-24, 1},
		{1e-45, 0}, {float32(math.Copysign(0, -1)), 0x8000},
	} {
		if got := f32ToF16(tt.in); got != tt.want {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
}

func TestBF16Conversion(t *testing.T) {
	one := func(f float32) uint16 {
		var h [1]uint16
		kernels.F32ToBF16(h[:], []float32{f})
		return h[0]
	}
	for name, conv := range map[string]func(float32) uint16{"reference": f32ToBF16, "kernels": one} {
		t.Run(name, func(t *testing.T) { testBF16Conversion(t, conv) })
	}
}

func testBF16Conversion(t *testing.T, f32ToBF16 func(float32) uint16) {
	for h := 0; h < 1<<16; h++ {
		f := bf16ToF32(uint16(h))
		back := f32ToBF16(f)
		want := uint16(h)
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
			want |= 0x40
		}
		if back != want {
			t.Fatalf("bf16 %#04x → %g → %#04x", h, f, back)
		}
	}
	for h := 0; h < 0x7f7f; h += 7 {
		lo := math.Float32bits(bf16ToF32(uint16(h)))
		mid := math.Float32frombits(lo + 0x8000)
		even := uint16(h)
		if h&1 == 1 {
			even++
		}
		if got := f32ToBF16(mid); got != even {
			t.Fatalf("bf16 midpoint above %#04x → %#04x, want %#04x", h, got, even)
		}
		if got := f32ToBF16(math.Float32frombits(lo + 0x7fff)); got != uint16(h) {
			t.Fatalf("bf16 below midpoint of %#04x → %#04x", h, got)
		}
	}
	if got := f32ToBF16(float32(math.NaN())); got&0x7f80 != 0x7f80 || got&0x7f == 0 {
		t.Errorf("NaN → %#04x", got)
	}
	if got := f32ToBF16(math.MaxFloat32); got != 0x7f80 {
		t.Errorf("MaxFloat32 → %#04x, want Inf", got)
	}
}

// Worked examples of the int formats, bytes computed by hand from docs/FORMATS.md.
func TestIntFormatBytes(t *testing.T) {
	f32 := func(v float32) []byte { return binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		spec string
		w    []float32
		data []byte
		back []float32
	}{
		{
			// naive int8: d = 1/127, round half away (63.5 → 64).
			"int8", []float32{0.5, -1, 0.25, 0},
			cat(f32(float32(1)/127), []byte{64, 0x81, 32, 0}),
			[]float32{64 * (float32(1) / 127), -1, 32 * (float32(1) / 127), 0},
		},
		{
			// int4:g4 with a ragged tail of 3: d = 4/7 then d = 1; u = q+8;
			// byte j = u_j | u_{j+h}<<4, h = ⌈m/2⌉. In float32, 4/7 rounds up,
			// so 2/d = 3.4999998 rounds to 3, not 4.
			"int4:g4", []float32{1, 2, 3, 4, 5, -6, 7},
			cat(f32(float32(4)/7), []byte{10 | 13<<4, 11 | 15<<4}, f32(1), []byte{13 | 15<<4, 2}),
			[]float32{2 * (float32(4) / 7), 3 * (float32(4) / 7), 5 * (float32(4) / 7), 7 * (float32(4) / 7), 5, -6, 7},
		},
		{
			// asym: d = (3.5−0)/15, offset 0, u = round(x/d).
			"int4:g4:asym", []float32{0, 1, 2, 3.5},
			cat(f32(float32(3.5)/15), f32(0), []byte{0 | 9<<4, 4 | 15<<4}),
			[]float32{0, 4 * (float32(3.5) / 15), 9 * (float32(3.5) / 15), 15 * (float32(3.5) / 15)},
		},
		{
			// int8 asym per row: d = 2/255, offset −1; (0+1)/d = 127.49999 in float32.
			"int8:asym", []float32{-1, 1, 0},
			cat(f32(float32(2)/255), f32(-1), []byte{0, 255, 127}),
			[]float32{-1, float32(255*(float32(2)/255)) - 1, float32(127*(float32(2)/255)) - 1},
		},
		{
			// int2 is ternary: qmax = 1, d = max|x|.
			"int2:row", []float32{-0.2, 0.05, 0.6},
			cat(f32(0.6), []byte{8 | 9<<4, 8}),
			[]float32{0, 0, 0.6},
		},
		{
			// a zero group: d = 0, q = 0 (u = 8).
			"int3:g2", []float32{0, 0, 3, -3},
			cat(f32(0), []byte{8 | 8<<4}, f32(1), []byte{11 | 5<<4}),
			[]float32{0, 0, 3, -3},
		},
	}
	for _, tt := range tests {
		m, err := Quantize(mustSpec(t, tt.spec), "", 1, len(tt.w), tt.w)
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		if !bytes.Equal(m.Data, tt.data) {
			t.Errorf("%s: bytes\n got % x\nwant % x", tt.spec, m.Data, tt.data)
		}
		back, err := Dequantize(m)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back, tt.back) {
			t.Errorf("%s: dequantized %v, want %v", tt.spec, back, tt.back)
		}
	}
}

// rowKinds are the test rows: random and adversarial.
func rowKinds(cols int, rng *rand.Rand) map[string][]float32 {
	fill := func(f func(i int) float32) []float32 {
		r := make([]float32, cols)
		for i := range r {
			r[i] = f(i)
		}
		return r
	}
	return map[string][]float32{
		"normal":  fill(func(int) float32 { return float32(rng.NormFloat64() * 0.05) }),
		"uniform": fill(func(int) float32 { return float32(rng.Float64()*2 - 1) }),
		"outlier": fill(func(i int) float32 {
			return map[bool]float32{true: 40, false: float32(rng.NormFloat64() * 0.01)}[i == cols/3]
		}),
		"zeros":       make([]float32, cols),
		"constant":    fill(func(int) float32 { return 0.3 }),
		"negconst":    fill(func(int) float32 { return -7 }),
		"alternating": fill(func(i int) float32 { return float32(1-2*(i&1)) * 0.5 }),
		"subnormal":   fill(func(i int) float32 { return math.Float32frombits(uint32(i*7919) % 0x7fffff) }),
		"tiny":        fill(func(int) float32 { return float32(rng.NormFloat64() * 1e-30) }),
		"f16max":      fill(func(i int) float32 { return float32(rng.Float64()*2-1) * 65504 }),
		"huge":        fill(func(i int) float32 { return float32(rng.Float64()*2-1) * 1e30 }),
	}
}

const eps32 = 1.0 / (1 << 23)

// TestIntErrorBound checks |x − x̂| ≤ d/2 (up to float32 rounding) for every
// int format on random and adversarial rows, with d read back from each group.
func TestIntErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, spec := range []string{"int8", "int8:g32", "int8:asym", "int8:g128:asym", "int4", "int4:g32", "int4:g7:asym",
		"int4:row", "int3", "int3:g64:asym", "int2", "int2:g16:asym", "int4:g2"} {
		sp := mustSpec(t, spec)
		l := intLayout{bits: lookupFormat(sp.Format).bits, group: sp.Group, asym: sp.Asym}
		for _, cols := range []int{1, 31, 256, 300} {
			for kind, w := range rowKinds(cols, rng) {
				m, err := Quantize(sp, "", 1, cols, w)
				if err != nil {
					t.Fatalf("%s %s: %v", spec, kind, err)
				}
				back, _ := Dequantize(m)
				g := l.groupOf(cols)
				data := m.Data
				for start := 0; start < cols; start += g {
					xs, ys := w[start:min(start+g, cols)], back[start:min(start+g, cols)]
					d := math.Float32frombits(binary.LittleEndian.Uint32(data))
					data = data[l.blockBytes(len(xs)):]
					var big float64
					for _, v := range xs {
						big = max(big, math.Abs(float64(v)))
					}
					levels := float64(int(1) << l.bits) // slack for d underflowing to 0
					bound := float64(d)/2 + 4*eps32*big + levels*0x1p-149
					for i := range xs {
						if e := math.Abs(float64(xs[i]) - float64(ys[i])); e > bound {
							t.Fatalf("%s %s cols %d: |%g − %g| = %g > d/2 = %g", spec, kind, cols, xs[i], ys[i], e, float64(d)/2)
						}
					}
				}
				if kind == "zeros" && slices.ContainsFunc(back, func(v float32) bool { return v != 0 }) {
					t.Errorf("%s: zero row not zero", spec)
				}
				if sp.Asym && (kind == "constant" || kind == "negconst") && !slices.Equal(back, w) {
					t.Errorf("%s: constant row not exact: %v", spec, back[:1])
				}
			}
		}
	}
}

// TestGGMLErrorBound checks the 32-block ggml formats against the bound
// their construction gives, recomputing the float32 scale from the block:
// |x − x̂| ≤ d/2 + (rounding of d and m to float16), where q4_0/q5_0 allow
// one step d for values clamped at +7d/+15d (opposite in sign to the
// block's extreme).
func TestGGMLErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range []string{"q8_0", "q4_0", "q4_1", "q5_0", "q5_1"} {
		for kind, w := range rowKinds(256, rng) {
			if kind == "huge" {
				continue // rejected, see TestQuantizeErrors
			}
			m, err := Quantize(mustSpec(t, typ), "", 1, 256, w)
			if err != nil {
				t.Fatalf("%s %s: %v", typ, kind, err)
			}
			back, _ := Dequantize(m)
			bb := lookupFormat(typ).bytes
			for b := 0; b < 8; b++ {
				xs, ys, blk := w[b*32:b*32+32], back[b*32:b*32+32], m.Data[b*bb:]
				d16 := float64(f16At(blk))
				var d32, mErr, qmax float64
				switch typ {
				case "q8_0":
					var amax float32
					for _, v := range xs {
						amax = max(amax, abs32(v))
					}
					d32, qmax = float64(amax/127), 127
				case "q4_0", "q5_0":
					div, top := float32(-8), 7.0
					if typ == "q5_0" {
						div, top = -16, 15
					}
					d32, qmax = float64(absMaxSigned(xs)/div), -float64(div)
					d32 = math.Abs(d32)
					_ = top
				case "q4_1", "q5_1":
					lo, hi := minMax(xs)
					n := float32(15)
					if typ == "q5_1" {
						n = 31
					}
					d32, qmax = float64((hi-lo)/n), float64(n)
					mErr = math.Abs(float64(lo) - float64(f16At(blk[2:])))
				}
				d16 = math.Abs(d16)
				bound := d32/2 + qmax*math.Abs(d32-d16) + mErr + 8*eps32*64 + 0x1p-24
				var big float64
				for _, v := range xs {
					big = max(big, math.Abs(float64(v)))
				}
				bound += 4 * eps32 * big
				for i := range xs {
					e := math.Abs(float64(xs[i]) - float64(ys[i]))
					lim := bound
					if (typ == "q4_0" || typ == "q5_0") && e > bound {
						lim = bound + d32/2 // clamped at the positive end
					}
					if e > lim {
						t.Fatalf("%s %s block %d: |%g − %g| = %g > %g (d = %g)", typ, kind, b, xs[i], ys[i], e, lim, d32)
					}
				}
			}
			if kind == "zeros" && slices.ContainsFunc(back, func(v float32) bool { return v != 0 }) {
				t.Errorf("%s: zero row not zero", typ)
			}
		}
	}
}

// TestKQuantError reports the max error and RMSE of the k-quants on random
// and adversarial rows (their search has no simple per-element bound) and
// checks them against loose ceilings relative to the row's spread.
func TestKQuantError(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ceiling := map[string]float64{"q2_k": 0.42, "q3_k": 0.21, "q4_k": 0.1, "q5_k": 0.05, "q6_k": 0.025} // RMSE / σ on normal rows
	for _, typ := range []string{"q2_k", "q3_k", "q4_k", "q5_k", "q6_k"} {
		for kind, w := range rowKinds(1024, rng) {
			if kind == "huge" {
				continue
			}
			back := roundTrip(t, typ, 1, 1024, w)
			var maxErr, se, ss, amax float64
			for i := range w {
				e := math.Abs(float64(w[i]) - float64(back[i]))
				maxErr = max(maxErr, e)
				se += e * e
				ss += float64(w[i]) * float64(w[i])
				amax = max(amax, math.Abs(float64(w[i])))
				if math.IsNaN(float64(back[i])) || math.IsInf(float64(back[i]), 0) {
					t.Fatalf("%s %s: non-finite output", typ, kind)
				}
			}
			rel := math.Sqrt(se / ss)
			if ss == 0 {
				rel = 0
			}
			if kind == "normal" || kind == "uniform" {
				t.Logf("%s %-8s max error %.4g (%.3f of max|x|), RMSE %.4g of RMS", typ, kind, maxErr, maxErr/amax, rel)
				if rel > ceiling[typ] {
					t.Errorf("%s %s: RMSE %.4g of RMS, ceiling %.4g", typ, kind, rel, ceiling[typ])
				}
			}
			if maxErr > amax*1.0001+1e-30 {
				t.Errorf("%s %s: max error %g exceeds max|x| %g", typ, kind, maxErr, amax)
			}
			if kind == "zeros" && maxErr != 0 {
				t.Errorf("%s: zero row not zero", typ)
			}
		}
	}
}

func TestCasts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for kind, w := range rowKinds(300, rng) {
		back := roundTrip(t, "f32", 1, 300, w)
		if !slices.Equal(back, w) {
			t.Errorf("f32 %s: not an identity", kind)
		}
		for _, typ := range []string{"f16", "bf16"} {
			if kind == "huge" && typ == "f16" {
				continue
			}
			m, err := Quantize(mustSpec(t, typ), "", 1, 300, w)
			if err != nil {
				t.Fatalf("%s %s: %v", typ, kind, err)
			}
			conv := f32ToF16
			if typ == "bf16" {
				conv = f32ToBF16
			}
			for i, v := range w {
				if got := binary.LittleEndian.Uint16(m.Data[2*i:]); got != conv(v) {
					t.Fatalf("%s %s[%d]: %#04x, want %#04x", typ, kind, i, got, conv(v))
				}
			}
		}
	}
}

func TestQuantizeErrors(t *testing.T) {
	w := make([]float32, 4*172)
	tests := []struct {
		spec       string
		rows, cols int
		w          []float32
		msg        string
	}{
		{"q4_0", 4, 172, w, "quant: layers.0.mlp.down: q4_0 needs rows of a multiple of 32 values, have 172 columns"},
		{"q4_k", 4, 172, w, "quant: layers.0.mlp.down: q4_k needs rows of a multiple of 256 values, have 172 columns"},
		{"int8", 4, 100, w, "quant: layers.0.mlp.down: have 688 weights for a 4×100 matrix"},
		{"int8", -1, 4, w, "quant: layers.0.mlp.down: bad shape -1×4"},
		{"int8", 1, 3, []float32{1, float32(math.NaN()), 2}, "quant: layers.0.mlp.down: non-finite weight NaN at row 0, column 1"},
		{"prune:0.5", 2, 2, []float32{1, 2, 3, float32(math.Inf(-1))}, "quant: layers.0.mlp.down: non-finite weight -Inf at row 1, column 1"},
		{"q8_0", 1, 32, append([]float32{1e30}, make([]float32, 31)...), "quant: layers.0.mlp.down: q8_0 stores float16 scales: weight 1e+30 at row 0, column 0 is beyond ±65504"},
		{"f16", 1, 2, []float32{1, 7e4}, "quant: layers.0.mlp.down: weight 70000 at row 0, column 1 overflows f16 (max 65504)"},
		{"bf16", 1, 2, []float32{1, math.MaxFloat32}, "quant: layers.0.mlp.down: weight 3.4028235e+38 at row 0, column 1 overflows bf16"},
		{"int4:g2:asym", 1, 2, []float32{-3e38, 3e38}, "quant: layers.0.mlp.down: int4:g2:asym: row 0, column 0: range -3e+38…3e+38 of an asymmetric group overflows float32"},
	}
	for _, tt := range tests {
		_, err := Quantize(mustSpec(t, tt.spec), "layers.0.mlp.down", tt.rows, tt.cols, tt.w)
		if err == nil || err.Error() != tt.msg {
			t.Errorf("%s:\n got %v\nwant %s", tt.spec, err, tt.msg)
		}
	}
	for _, bad := range []Spec{{}, {Format: "q4_0", Group: 32}, {Format: "int4", Group: -3}, {Format: "prune", Sparsity: 2},
		{Format: "prune", N: 4, M: 2}, {Format: "f16", A8: true}} {
		if _, err := Quantize(bad, "", 1, 1, []float32{1}); err == nil || !strings.HasPrefix(err.Error(), "quant: invalid spec") {
			t.Errorf("Quantize with %+v: %v", bad, err)
		}
	}
	if _, err := Quantize(mustSpec(t, "q4_0"), "", 1, 172, make([]float32, 172)); err == nil || !strings.HasPrefix(err.Error(), "quant: q4_0 needs") {
		t.Errorf("no name: %v", err)
	}
}

func TestQuantizeEmpty(t *testing.T) {
	for _, spec := range []string{"f32", "f16", "int8", "int4", "q4_0", "q6_k", "prune:0.5", "prune:2:4"} {
		for _, shape := range [][2]int{{0, 0}, {0, 256}, {3, 0}} {
			m, err := Quantize(mustSpec(t, spec), "", shape[0], shape[1], nil)
			if err != nil {
				t.Errorf("%s %v: %v", spec, shape, err)
				continue
			}
			if back, err := Dequantize(m); err != nil || len(back) != 0 {
				t.Errorf("%s %v: %v %v", spec, shape, back, err)
			}
		}
	}
}

// TestQuantizeThreads checks that the result does not depend on how rows
// are split between workers.
func TestQuantizeThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	rows, cols := 37, 512
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	for _, spec := range []string{"q4_k", "q8_0", "int4:g64:asym", "prune:0.37", "prune:2:4", "f16"} {
		var ref []byte
		for _, p := range []int{1, 2, 5} {
			old := runtime.GOMAXPROCS(p)
			m, err := Quantize(mustSpec(t, spec), "", rows, cols, w)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			if ref == nil {
				ref = m.Data
			} else if !bytes.Equal(ref, m.Data) {
				t.Errorf("%s: GOMAXPROCS %d gives different bytes", spec, p)
			}
		}
	}
}

func TestQuantizeMatrix(t *testing.T) {
	w := make([]float32, 2*64)
	for _, tt := range []struct {
		spec, format string
		a8           bool
	}{
		{"q4_0:a8", "q4_0", true}, {"int4:g32:asym", "int4:g32:asym", false}, {"prune:2:4", "f32", false}, {"bf16", "bf16", false},
	} {
		m, err := Quantize(mustSpec(t, tt.spec), "", 2, 64, w)
		if err != nil {
			t.Fatal(err)
		}
		if m.A8 != tt.a8 || !strings.HasPrefix(m.Format.Name, strings.Split(tt.format, ":")[0]) {
			t.Errorf("%s: format %s a8 %v", tt.spec, m.Format.Name, m.A8)
		}
	}
}

func TestDequantizeErrors(t *testing.T) {
	m, _ := Quantize(mustSpec(t, "q8_0"), "", 2, 32, make([]float32, 64))
	m.Data = m.Data[:50]
	if _, err := Dequantize(m); err == nil || !strings.Contains(err.Error(), "needs 68 bytes, has 50") {
		t.Errorf("short data: %v", err)
	}
	m.Format = nil
	if _, err := Dequantize(m); err == nil {
		t.Error("no format: no error")
	}
	if _, err := Dequantize(nil); err == nil {
		t.Error("nil: no error")
	}
}

func TestPruneExamples(t *testing.T) {
	w := []float32{3, -1, 2, 1, -2, 0.5}
	tests := []struct {
		spec string
		want []float32
	}{
		{"prune:0.5", []float32{3, 0, 2, 0, -2, 0}},  // ⌊3⌋: 0.5, then the tie |−1| = |1| in index order
		{"prune:0.34", []float32{3, 0, 2, 1, -2, 0}}, // ⌊2.04⌋ = 2: the tie goes to the lower index
		{"prune:0", w},
		{"prune:1", make([]float32, 6)},
		{"prune:1:3", []float32{3, 0, 0, 0, -2, 0}}, // rows of 3 below
	}
	for _, tt := range tests {
		got := roundTrip(t, tt.spec, 2, 3, w)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.spec, got, tt.want)
		}
	}
	if !slices.Equal(w, []float32{3, -1, 2, 1, -2, 0.5}) {
		t.Error("Quantize modified its input")
	}
	// 2:4 with ties and a ragged tail of 2 (keeps ⌈2·2/4⌉ = 1).
	row := []float32{1, -4, 3, 2, 0.5, 0.5, -0.5, 7, 9, 1}
	got := roundTrip(t, "prune:2:4", 1, len(row), row)
	want := []float32{0, -4, 3, 0, 0, 0, -0.5, 7, 9, 0}
	if !slices.Equal(got, want) {
		t.Errorf("prune:2:4 = %v, want %v", got, want)
	}
}

// pruneReference is the specification done the slow way: sort indices by
// (|w|, index) and zero the first k.
func pruneReference(w []float32, k int) []float32 {
	idx := make([]int, len(w))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmpFloat(abs32(w[a]), abs32(w[b]))
	})
	out := slices.Clone(w)
	for _, i := range idx[:k] {
		out[i] = 0
	}
	return out
}

func cmpFloat(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestPruneGlobalMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	trials := 40
	if testing.Short() {
		trials = 8
	}
	for trial := 0; trial < trials; trial++ {
		n := 1 + rng.IntN(5000)
		w := make([]float32, n)
		for i := range w {
			switch trial % 4 {
			case 0:
				w[i] = float32(rng.NormFloat64())
			case 1: // many ties, both signs, zeros
				w[i] = float32(rng.IntN(7) - 3)
			case 2: // ties in the low 16 bits only
				w[i] = math.Float32frombits(0x3f800000 | uint32(rng.IntN(3)))
			default:
				w[i] = float32(rng.NormFloat64()) * float32(math.Pow(10, float64(rng.IntN(60)-30)))
			}
		}
		for _, k := range []int{0, 1, n / 3, n / 2, n - 1, n} {
			got := make([]float32, n)
			old := runtime.GOMAXPROCS(1 + trial%4)
			pruneGlobal(got, w, k)
			runtime.GOMAXPROCS(old)
			want := pruneReference(w, k)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] == 0 && want[i] == 0) {
					t.Fatalf("trial %d n %d k %d: index %d = %g, want %g", trial, n, k, i, got[i], want[i])
				}
			}
		}
	}
}

func TestPruneNMMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, nm := range [][2]int{{2, 4}, {1, 4}, {3, 8}, {4, 7}, {17, 40}, {50, 100}} {
		n, m := nm[0], nm[1]
		rows, cols := 3, 1+rng.IntN(300)
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = float32(rng.IntN(9) - 4)
		}
		got := roundTrip(t, fmt.Sprintf("prune:%d:%d", n, m), rows, cols, w)
		for r := 0; r < rows; r++ {
			for s := 0; s < cols; s += m {
				g := w[r*cols+s : r*cols+min(s+m, cols)]
				keep := n
				if len(g) < m {
					keep = (n*len(g) + m - 1) / m
				}
				want := pruneReference(g, len(g)-keep)
				if !slices.Equal(got[r*cols+s:r*cols+s+len(g)], want) {
					t.Fatalf("%d:%d row %d group %d: %v, want %v", n, m, r, s, got[r*cols+s:r*cols+s+len(g)], want)
				}
			}
		}
	}
}

// The 4096×11008 benchmarks are the size of a Llama-2-7B MLP matrix.
func benchMatrix(b *testing.B, rows, cols int) []float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.02)
	}
	return w
}

func BenchmarkPrune4096x11008(b *testing.B) {
	w := benchMatrix(b, 4096, 11008)
	for _, spec := range []string{"prune:0.5", "prune:2:4"} {
		b.Run(spec, func(b *testing.B) {
			sp := mustSpec(b, spec)
			b.SetBytes(int64(4 * len(w)))
			for b.Loop() {
				if _, err := Quantize(sp, "", 4096, 11008, w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPruneSort1024x11008 is the full-sort alternative to the radix
// select, for comparison, on a quarter of the 4096×11008 matrix (sorting the
// whole one takes over a minute).
func BenchmarkPruneSort1024x11008(b *testing.B) {
	w := benchMatrix(b, 1024, 11008)
	for b.Loop() {
		pruneReference(w, len(w)/2)
	}
}

func BenchmarkQuantize4096x4096(b *testing.B) {
	w := benchMatrix(b, 4096, 4096)
	for _, spec := range []string{"int8", "int4", "q8_0", "q4_0", "q4_k", "q6_k", "f16"} {
		b.Run(spec, func(b *testing.B) {
			sp := mustSpec(b, spec)
			b.SetBytes(int64(4 * len(w)))
			for b.Loop() {
				if _, err := Quantize(sp, "", 4096, 4096, w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
