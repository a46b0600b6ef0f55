package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/x448/float16"
)

func TestFormatTable(t *testing.T) {
	tests := []struct {
		name       string
		ggml       int
		block, bb  int
		bits       float64
		act        string
		rowBytes1k int // RowBytes(1024)
	}{
		{"f32", 0, 1, 4, 32, "", 4096},
		{"f16", 1, 1, 2, 16, "", 2048},
		{"bf16", 30, 1, 2, 16, "", 2048},
		{"q8_0", 8, 32, 34, 8.5, "q8_0", 32 * 34},
		{"q4_0", 2, 32, 18, 4.5, "q8_0", 32 * 18},
		{"q4_1", 3, 32, 20, 5, "q8_1", 32 * 20},
		{"q5_0", 6, 32, 22, 5.5, "q8_0", 32 * 22},
		{"q5_1", 7, 32, 24, 6, "q8_1", 32 * 24},
		{"q2_k", 10, 256, 84, 2.625, "q8_k", 4 * 84},
		{"q3_k", 11, 256, 110, 3.4375, "q8_k", 4 * 110},
		{"q4_k", 12, 256, 144, 4.5, "q8_k", 4 * 144},
		{"q5_k", 13, 256, 176, 5.5, "q8_k", 4 * 176},
		{"q6_k", 14, 256, 210, 6.5625, "q8_k", 4 * 210},
	}
	for _, tt := range tests {
		f, err := FormatByName(strings.ToUpper(tt.name))
		if err != nil {
			t.Fatalf("FormatByName(%q): %v", tt.name, err)
		}
		g, err := FormatByGGML(tt.ggml)
		if err != nil || g != f {
			t.Errorf("FormatByGGML(%d) = %v, %v; want %s", tt.ggml, g, err, tt.name)
		}
		if f.Name != tt.name || f.GGML != tt.ggml || f.Block != tt.block || f.BlockBytes != tt.bb || f.Bits != tt.bits {
			t.Errorf("%s: got %+v", tt.name, *f)
		}
		if got := f.RowBytes(1024); got != tt.rowBytes1k {
			t.Errorf("%s.RowBytes(1024) = %d, want %d", tt.name, got, tt.rowBytes1k)
		}
		if bpw := float64(8*f.BlockBytes) / float64(f.Block); bpw != f.Bits {
			t.Errorf("%s: BlockBytes/Block gives %v bits per weight, Bits = %v", tt.name, bpw, f.Bits)
		}
		if (f.Act == nil) != (tt.act == "") || (f.Act != nil && f.Act.Name != tt.act) {
			t.Errorf("%s: Act = %v, want %q", tt.name, f.Act, tt.act)
		}
	}
	for _, id := range []int{9, 15, 16, 31, -1, 1000} {
		if _, err := FormatByGGML(id); err == nil {
			t.Errorf("FormatByGGML(%d) succeeded", id)
		}
	}
	if err := formatQ4_0.CheckCols(48); err == nil {
		t.Error("q4_0 accepted rows of 48")
	}
	if err := formatQ4K.CheckCols(512); err != nil {
		t.Error(err)
	}
}

func TestFormatByNameInt(t *testing.T) {
	tests := []struct {
		spec, name  string
		bits, group int
		asym        bool
		bpw         float64
	}{
		{"int8", "int8:row", 8, 0, false, 8},
		{"int8:asym", "int8:row:asym", 8, 0, true, 8},
		{"int4", "int4:g128", 4, 128, false, 4.25},
		{"INT4:g128:sym", "int4:g128", 4, 128, false, 4.25},
		{"int4:asym:g64", "int4:g64:asym", 4, 64, true, 5},
		{"int3:g32", "int3:g32", 3, 32, false, 4},
		{"int2:row", "int2:row", 2, 0, false, 2},
		{"int8:g32", "int8:g32", 8, 32, false, 9},
	}
	for _, tt := range tests {
		f, err := FormatByName(tt.spec)
		if err != nil {
			t.Fatalf("FormatByName(%q): %v", tt.spec, err)
		}
		if f.Name != tt.name || f.bits != tt.bits || f.group != tt.group || f.asym != tt.asym || f.Bits != tt.bpw || f.GGML != -1 {
			t.Errorf("FormatByName(%q) = %s bits %d group %d asym %v bpw %v", tt.spec, f.Name, f.bits, f.group, f.asym, f.Bits)
		}
		if g := IntFormat(tt.bits, tt.group, tt.asym); g != f {
			t.Errorf("IntFormat(%d, %d, %v) is not the cached %s", tt.bits, tt.group, tt.asym, tt.name)
		}
		if g, _ := FormatByName(f.Name); g != f {
			t.Errorf("canonical name %q does not round-trip", f.Name)
		}
	}
	for _, bad := range []string{"", "q8_k", "q8_1", "int", "int5", "int4:g0", "int4:g-3", "int4:g+8", "int4:gx",
		"int4:g32:g64", "int4:sym:asym", "int4:row:g8", "int4:a8", "int4:", "float32", "int4:g99999999"} {
		if f, err := FormatByName(bad); err == nil {
			t.Errorf("FormatByName(%q) = %s, want an error", bad, f.Name)
		}
	}
}

func TestIntRowBytes(t *testing.T) {
	tests := []struct {
		bits, group int
		asym        bool
		n, want     int
	}{
		{8, 0, false, 10, 4 + 10},
		{8, 0, true, 10, 8 + 10},
		{4, 128, false, 256, 2 * (4 + 64)},
		{4, 128, false, 300, 2*(4+64) + 4 + 22},
		{4, 128, true, 301, 2*(8+64) + 8 + 23},
		{2, 7, false, 15, 2*(4+4) + 4 + 1},
		{4, 128, false, 100, 4 + 50},
		{4, 0, false, 0, 0},
	}
	for _, tt := range tests {
		f := IntFormat(tt.bits, tt.group, tt.asym)
		if got := f.RowBytes(tt.n); got != tt.want {
			t.Errorf("%s.RowBytes(%d) = %d, want %d", f.Name, tt.n, got, tt.want)
		}
	}
	// act8: blocks of 32 aligned to the groups: 8 header bytes per block.
	a := IntFormat(4, 100, false).Act
	if got, want := a.RowBytes(250), 2*(4*8+100)+(2*8+50); got != want {
		t.Errorf("act8:g100 RowBytes(250) = %d, want %d", got, want)
	}
}

func TestHalfConversion(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := f16ToF32(h)
		want := float16.Frombits(h).Float32()
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("f16ToF32(%#04x) = %#08x, want %#08x", h, math.Float32bits(got), math.Float32bits(want))
		}
		// Round trip of every non-NaN half is exact.
		if got == got && f32ToF16(got) != h {
			t.Fatalf("f32ToF16(f16ToF32(%#04x)) = %#04x", h, f32ToF16(got))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1_000_000; i++ {
		f := math.Float32frombits(rng.Uint32())
		got := f32ToF16(f)
		if f != f {
			if want := uint16(math.Float32bits(f)>>16)&0x8000 | 0x7e00; got != want {
				t.Fatalf("f32ToF16(NaN %#08x) = %#04x, want %#04x", math.Float32bits(f), got, want)
			}
			continue
		}
		if want := float16.Fromfloat32(f).Bits(); got != want {
			t.Fatalf("f32ToF16(%g = %#08x) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
		}
	}
	// Hand-checked roundings: ties to even, subnormals, overflow.
	for _, tt := range []struct {
		f float32
		h uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {65519.99, 0x7bff},
		{1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02}, {0x1p-24, 0x0001}, {0x1p-25, 0x0000},
		{0x1.8p-25, 0x0001}, {float32(math.Inf(-1)), 0xfc00}, {0x1p-14, 0x0400},
	} {
		if got := f32ToF16(tt.f); got != tt.h {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", tt.f, got, tt.h)
		}
	}
	for _, tt := range []struct {
		u uint32
		h uint16
	}{
		{0x3f800000, 0x3f80}, {0x3f808000, 0x3f80}, {0x3f818000, 0x3f82}, {0x3f80ffff, 0x3f81},
		{0x7f7fffff, 0x7f80}, {0x7fc00001, 0x7fc0}, {0x7f800001, 0x7fc0}, {0x80000000, 0x8000},
	} {
		if got := f32ToBF16(math.Float32frombits(tt.u)); got != tt.h {
			t.Errorf("f32ToBF16(%#08x) = %#04x, want %#04x", tt.u, got, tt.h)
		}
	}
}

// TestDequantInt checks the int decoders against the layout of
// docs/FORMATS.md written out independently here.
func TestDequantInt(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range testFormats() {
		if f.GGML >= 0 {
			continue
		}
		for _, n := range colsFor(f, false) {
			data := randRows(rng, f, 1, n)
			got := make([]float32, n)
			f.Dequant(got, data)
			g := n
			if f.group > 0 && f.group < n {
				g = f.group
			}
			o := 0
			for k0 := 0; k0 < n; k0 += g {
				m := min(g, n-k0)
				d := math.Float32frombits(binary.LittleEndian.Uint32(data[o:]))
				var lo float32
				hdr := 4
				if f.asym {
					lo = math.Float32frombits(binary.LittleEndian.Uint32(data[o+4:]))
					hdr = 8
				}
				p := data[o+hdr:]
				for j := 0; j < m; j++ {
					var want float32
					switch {
					case f.bits == 8 && !f.asym:
						want = d * float32(int8(p[j]))
					case f.bits == 8:
						want = float32(d*float32(p[j])) + lo
					default:
						h := (m + 1) / 2
						u := p[j%h] & 0xf
						if j >= h {
							u = p[j-h] >> 4
						}
						if f.asym {
							want = float32(d*float32(u)) + lo
						} else {
							want = d * float32(int(u)-8)
						}
					}
					if math.Float32bits(got[k0+j]) != math.Float32bits(want) {
						t.Fatalf("%s n=%d: value %d = %g, want %g", f.Name, n, k0+j, got[k0+j], want)
					}
				}
				if f.bits == 8 {
					o += hdr + m
				} else {
					o += hdr + (m+1)/2
				}
			}
			if o != len(data) {
				t.Fatalf("%s n=%d: layout walks %d bytes, RowBytes %d", f.Name, n, o, len(data))
			}
		}
	}
}

// TestDecodeRange checks that decoding any block-aligned range equals the
// same values of the whole-row Dequant (the GEMM packing relies on it).
func TestDecodeRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, f := range testFormats() {
		for _, n := range colsFor(f, false) {
			if n == 0 {
				continue
			}
			data := randRows(rng, f, 1, n)
			full := make([]float32, n)
			f.Dequant(full, data)
			step := max(1, f.Block)
			if f.GGML < 0 {
				step = 1 + rng.IntN(5)
			}
			for k0 := 0; k0 < n; k0 += step {
				for _, l := range []int{step, 2 * step, n - k0} {
					l = min(l, n-k0)
					got := make([]float32, l)
					f.body.decode(got, data, n, k0)
					if i, ok := bitsEqual(got, full[k0:k0+l]); !ok {
						t.Fatalf("%s n=%d decode(k0=%d, len %d): value %d = %g, want %g", f.Name, n, k0, l, i, got[i], full[k0+i])
					}
				}
			}
		}
	}
}

// TestDot checks every format's weight-only Dot against the float64 dot of
// its decoded row, for every ISA.
func TestDot(t *testing.T) {
	withISA(t, func(t *testing.T, _ ISA) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, f := range testFormats() {
			for _, n := range colsFor(f, false) {
				data := randRows(rng, f, 1, n)
				x := randF32(rng, n)
				w := dequantRows(f, data, 1, n)
				want, mag := dot64(w, x)
				got := f.Dot(data, x)
				if !near(float64(got), want, mag, 1e-5) {
					t.Errorf("%s: Dot = %g, want %g (Σ|wx| = %g)", name(f, n), got, want, mag)
				}
			}
		}
	})
}

// TestDotAct checks every W·A8 dot against the float64 dot of the decoded
// weights and the decoded quantized activations.
func TestDotAct(t *testing.T) {
	withISA(t, func(t *testing.T, _ ISA) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, f := range testFormats() {
			if f.Act == nil {
				continue
			}
			for _, n := range colsFor(f, false) {
				data := randRows(rng, f, 1, n)
				x := randF32(rng, n)
				xq := make([]byte, f.Act.RowBytes(n))
				f.Act.Quantize(xq, x)
				xd := make([]float32, n)
				f.Act.dequant(xd, xq, n)
				w := dequantRows(f, data, 1, n)
				want, mag := dot64(w, xd)
				if f.Act.family == "q8_1" {
					// ggml uses the stored s = f16(d·Σq) for the offset term:
					// Σ m·s instead of Σ m·Σx̂.
					for b := 0; b < n/32; b++ {
						m := float64(half(data[b*f.BlockBytes+2:]))
						s := float64(half(xq[b*36+2:]))
						var sx float64
						for _, v := range xd[32*b : 32*b+32] {
							sx += float64(v)
						}
						want += m * (s - sx)
					}
				}
				got := f.DotAct(data, xq, n)
				if !near(float64(got), want, mag, 1e-5) {
					t.Errorf("%s: DotAct = %g, want %g (Σ|wx| = %g)", name(f, n), got, want, mag)
				}
				// The quantized activations approximate x to half a step.
				xf := make([]float32, n)
				copy(xf, x)
				checkActError(t, f.Act, xf, xd)
			}
		}
	})
}

// checkActError checks |x − x̂| ≤ step/2 per value, with the step of the
// block the value falls in (recomputed from amax) and a margin for the f16
// rounding of ggml's block scales.
func checkActError(t *testing.T, a *ActFormat, x, xd []float32) {
	t.Helper()
	block := 32
	if a.family == "q8_k" {
		block = 256
	}
	for b0 := 0; b0 < len(x); b0 += block {
		xb := x[b0:min(len(x), b0+block)]
		if a.family == "act8" {
			break // blocks follow the groups; checked in TestAct8Layout
		}
		step := float64(amax32(xb)) / 127
		bound := step * 0.5 * (1 + 1e-6)
		if a.family == "q8_0" || a.family == "q8_1" {
			// The stored scale is f16(d): q·d moves by up to 127·d·2⁻¹¹.
			bound += step * 127 * 0x1p-11
		}
		for i, v := range xb {
			if e := math.Abs(float64(v) - float64(xd[b0+i])); e > bound+1e-30 {
				t.Fatalf("%s: value %d: |%g − %g| = %g > step/2 = %g", a.Name, b0+i, v, xd[b0+i], e, step/2)
			}
		}
	}
}

// TestActQuantizeVectors checks the activation quantizers on hand-worked
// blocks, ties included: q8_0/q8_1/act8 round half away from zero (roundf),
// q8_K rounds half to even (nearest_int) and stores d = −max/127.
func TestActQuantizeVectors(t *testing.T) {
	x := make([]float32, 256)
	for i := range x {
		x[i] = float32(i%32) - 15.5 // ±0.5 … ±15.5
	}
	x[0] = 127 // amax 127 → d = 1, id = 1 in every 32-block's first block
	x[32], x[64], x[96], x[128], x[160], x[192], x[224] = 127, 127, 127, 127, 127, 127, 127

	q := make([]byte, actQ8_0.RowBytes(256))
	actQ8_0.Quantize(q, x)
	if d := binary.LittleEndian.Uint16(q); d != 0x3c00 {
		t.Fatalf("q8_0 d = %#04x, want 0x3c00 (1.0)", d)
	}
	// x = j − 15.5 for j ≥ 1: roundf → away from zero: −14.5 → −15, 0.5 → 1, 15.5 → 16.
	for j := 1; j < 32; j++ {
		want := int8(math.Round(float64(j) - 15.5))
		if got := int8(q[2+j]); got != want {
			t.Errorf("q8_0 q[%d] = %d, want %d (x = %g)", j, got, want, x[j])
		}
	}
	if int8(q[2+15]) != -1 || int8(q[2+16]) != 1 {
		t.Errorf("q8_0 ties: q(−0.5) = %d, q(0.5) = %d; want −1, 1", int8(q[2+15]), int8(q[2+16]))
	}

	q1 := make([]byte, actQ8_1.RowBytes(256))
	actQ8_1.Quantize(q1, x)
	sum := 0
	for j := 0; j < 32; j++ {
		sum += int(int8(q1[4+j]))
	}
	if s := f16ToF32(binary.LittleEndian.Uint16(q1[2:])); s != float32(sum) {
		t.Errorf("q8_1 s = %g, want Σq·d = %d", s, sum)
	}

	qk := make([]byte, actQ8K.RowBytes(256))
	actQ8K.Quantize(qk, x)
	// max = +127 → iscale = −1, d = −1; q = nearest_int(−x), ties to even.
	if d := f32le(qk); d != -1 {
		t.Fatalf("q8_K d = %g, want −1", d)
	}
	for j := 1; j < 32; j++ {
		want := int8(math.RoundToEven(-(float64(j) - 15.5)))
		if got := int8(qk[4+j]); got != want {
			t.Errorf("q8_K q[%d] = %d, want %d (x = %g)", j, got, want, x[j])
		}
	}
	if int8(qk[4+15]) != 0 || int8(qk[4+16]) != 0 || int8(qk[4+14]) != 2 {
		t.Errorf("q8_K ties: q(−0.5)=%d q(0.5)=%d q(−1.5)=%d; want 0 0 2", int8(qk[4+15]), int8(qk[4+16]), int8(qk[4+14]))
	}
	for j := 0; j < 16; j++ {
		var s int
		for i := 0; i < 16; i++ {
			s += int(int8(qk[4+16*j+i]))
		}
		if got := int16(binary.LittleEndian.Uint16(qk[260+2*j:])); int(got) != s {
			t.Errorf("q8_K bsums[%d] = %d, want %d", j, got, s)
		}
	}
	// An all-zero block quantizes to zeros with d = 0.
	zero := make([]float32, 256)
	actQ8K.Quantize(qk, zero)
	for i, v := range qk[:292] {
		if v != 0 {
			t.Fatalf("q8_K of zeros: byte %d = %d", i, v)
		}
	}
}

// TestAct8Layout checks the int formats' activation layout (FORMATS.md §int):
// blocks of 32 cut at every group start, each d f32, s int32, q int8.
func TestAct8Layout(t *testing.T) {
	f := IntFormat(4, 40, false)
	a := f.Act
	n := 90 // groups of 40, 40, 10 → blocks 32+8, 32+8, 10
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i) - 45
	}
	q := make([]byte, a.RowBytes(n))
	if len(q) != 5*8+n {
		t.Fatalf("act8 RowBytes(%d) = %d, want %d", n, len(q), 5*8+n)
	}
	a.Quantize(q, x)
	o := 0
	for _, blk := range [][2]int{{0, 32}, {32, 40}, {40, 72}, {72, 80}, {80, 90}} {
		xb := x[blk[0]:blk[1]]
		d := f32le(q[o:])
		if want := amax32(xb) / 127; d != want {
			t.Errorf("block %v: d = %g, want %g", blk, d, want)
		}
		s := int32(binary.LittleEndian.Uint32(q[o+4:]))
		var sum int32
		for i, v := range xb {
			qi := int8(q[o+8+i])
			if want := int8(math.Round(float64(v * (1 / d)))); qi != want {
				t.Errorf("block %v value %d: q = %d, want %d", blk, i, qi, want)
			}
			sum += int32(qi)
		}
		if s != sum {
			t.Errorf("block %v: s = %d, want %d", blk, s, sum)
		}
		o += 8 + len(xb)
	}
}
