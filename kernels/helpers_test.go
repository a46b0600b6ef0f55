package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// testFormats returns every fixed format and a spread of int formats
// (each container, sym and asym, grouped, per row and a ragged group size).
func testFormats() []*Format {
	l := Formats()
	for _, spec := range []struct {
		bits, group int
		asym        bool
	}{
		{8, 0, false}, {8, 0, true}, {8, 32, false}, {8, 100, true},
		{4, 128, false}, {4, 128, true}, {4, 32, false}, {4, 0, true}, {4, 37, false},
		{3, 64, false}, {2, 64, true}, {2, 7, false},
	} {
		l = append(l, IntFormat(spec.bits, spec.group, spec.asym))
	}
	return l
}

// colsFor returns row lengths to test for f: multiples of the block for the
// block formats, any lengths (odd ones included) for the others.
func colsFor(f *Format, short bool) []int {
	switch {
	case f.GGML >= 0 && f.Block > 1:
		if f.Block == qkK {
			if short {
				return []int{256, 512}
			}
			return []int{0, 256, 512, 768}
		}
		if short {
			return []int{32, 96}
		}
		return []int{0, 32, 64, 96, 160, 256}
	default:
		if short {
			return []int{1, 37, 130}
		}
		return []int{0, 1, 2, 3, 5, 7, 31, 32, 33, 63, 64, 100, 129, 130, 257}
	}
}

// randF32 returns n values drawn from N(0, 1), with a few outliers.
func randF32(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		if rng.IntN(50) == 0 {
			x[i] *= 8
		}
	}
	return x
}

func putHalf(b []byte, v float32) { binary.LittleEndian.PutUint16(b, f32ToF16(v)) }

func putF32(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) }

// randScale returns a scale of magnitude ~1e-3…1e-1 with a random sign when signed.
func randScale(rng *rand.Rand, signed bool) float32 {
	v := float32(math.Pow(10, -1-2*rng.Float64()))
	if signed && rng.IntN(2) == 0 {
		v = -v
	}
	return v
}

// randRows returns rows×RowBytes(cols) bytes of valid data for f: random
// payload bits with finite, moderately sized scales.
func randRows(rng *rand.Rand, f *Format, rows, cols int) []byte {
	rb := f.RowBytes(cols)
	data := make([]byte, rows*rb)
	switch f.family {
	case "f32":
		for i := 0; i < rows*cols; i++ {
			putF32(data[4*i:], float32(rng.NormFloat64()))
		}
		return data
	case "f16", "bf16":
		for i := 0; i < rows*cols; i++ {
			v := float32(rng.NormFloat64())
			h := f32ToF16(v)
			if f.family == "bf16" {
				h = f32ToBF16(v)
			}
			binary.LittleEndian.PutUint16(data[2*i:], h)
		}
		return data
	}
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for r := 0; r < rows; r++ {
		row := data[r*rb : (r+1)*rb]
		if f.GGML < 0 {
			l := intLayout{f.bits, f.group, f.asym}
			g := l.gsize(cols)
			for k0, o := 0, 0; k0 < cols; k0 += g {
				m := min(g, cols-k0)
				putF32(row[o:], randScale(rng, false))
				if f.asym {
					putF32(row[o+4:], float32(rng.NormFloat64()))
				}
				o += l.groupBytes(m)
			}
			continue
		}
		for o := 0; o < rb; o += f.BlockBytes {
			b := row[o : o+f.BlockBytes]
			switch f.family {
			case "q8_0", "q4_0", "q5_0":
				putHalf(b, randScale(rng, true))
			case "q4_1", "q5_1":
				putHalf(b, randScale(rng, false))
				putHalf(b[2:], float32(-rng.Float64()))
			case "q2_k":
				putHalf(b[80:], randScale(rng, false))
				putHalf(b[82:], randScale(rng, false))
			case "q3_k":
				putHalf(b[108:], randScale(rng, true))
			case "q4_k", "q5_k":
				putHalf(b, randScale(rng, false))
				putHalf(b[2:], randScale(rng, false))
			case "q6_k":
				putHalf(b[208:], randScale(rng, true))
			default:
				panic("randRows: no generator for " + f.family)
			}
		}
	}
	return data
}

// dequantRows decodes rows×cols values of f with the generic decoder.
func dequantRows(f *Format, data []byte, rows, cols int) []float32 {
	out := make([]float32, rows*cols)
	rb := f.RowBytes(cols)
	for r := 0; r < rows; r++ {
		f.generic.dequant(out[r*cols:(r+1)*cols], data[r*rb:(r+1)*rb])
	}
	return out
}

// dot64 returns Σ a·b in float64 and Σ|a·b|.
func dot64(a, b []float32) (sum, mag float64) {
	for i := range a {
		p := float64(a[i]) * float64(b[i])
		sum += p
		mag += math.Abs(p)
	}
	return sum, mag
}

// near reports whether got is within rel·mag (+ a tiny absolute floor) of want.
func near(got, want, mag, rel float64) bool {
	return math.Abs(got-want) <= rel*mag+1e-30
}

func bitsEqual(a, b []float32) (int, bool) {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i, false
		}
	}
	return -1, len(a) == len(b)
}

// withISA runs fn with each available ISA installed, restoring the original.
func withISA(t *testing.T, fn func(t *testing.T, isa ISA)) {
	t.Helper()
	orig := CurrentISA()
	defer func() {
		if err := SetISA(orig); err != nil {
			t.Fatal(err)
		}
	}()
	for _, isa := range Available() {
		if err := SetISA(isa); err != nil {
			t.Fatal(err)
		}
		t.Run(string(isa), func(t *testing.T) { fn(t, isa) })
	}
}

func name(f *Format, cols int) string { return fmt.Sprintf("%s/%d", f.Name, cols) }
