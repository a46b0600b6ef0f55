package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDecodeRanges holds every ISA's decode hook to the generic one, bit
// for bit, on many (k0, length) windows of a row: windows that start and end
// inside a group, span whole groups, or reach the ragged last group, as the
// GEMM packing asks for them. Guard values around the output must survive.
func TestDecodeRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	type tc struct {
		f *Format
		n int
	}
	var cases []tc
	for _, spec := range []struct {
		bits, group int
		asym        bool
	}{
		{8, 0, false}, {8, 0, true}, {8, 64, true}, {8, 96, false}, {8, 50, false},
		{4, 128, false}, {4, 128, true}, {4, 32, false}, {4, 96, true}, {4, 0, false}, {4, 0, true}, {4, 37, false},
		{3, 64, false}, {2, 256, true},
	} {
		for _, n := range []int{1000, 1024, 333} {
			cases = append(cases, tc{IntFormat(spec.bits, spec.group, spec.asym), n})
		}
	}
	for _, f := range []*Format{formatQ8_0, formatQ4_0, formatQ4_1, formatQ5_0, formatQ5_1, formatQ4K, formatQ5K, formatQ6K} {
		cases = append(cases, tc{f, 2048})
	}
	orig := CurrentISA()
	defer SetISA(orig)
	for _, c := range cases {
		data := randRows(rng, c.f, 1, c.n)
		step := 1
		if c.f.GGML >= 0 {
			step = c.f.Block
		}
		var windows [][2]int
		for _, k0 := range []int{0, 1, 16, 31, 32, 33, 100, 128, 256, 500, 512, 768, 999} {
			k0 = k0 / step * step
			for _, l := range []int{1, 15, 16, 17, 64, 100, 256, 1000, 1024} {
				l = max(step, l/step*step)
				if k0+l <= c.n {
					windows = append(windows, [2]int{k0, l})
				}
			}
			if k0 < c.n {
				windows = append(windows, [2]int{k0, c.n - k0})
			}
		}
		SetISA(Generic)
		want := make([][]float32, len(windows))
		for i, w := range windows {
			want[i] = make([]float32, w[1])
			c.f.body.decode(want[i], data, c.n, w[0])
		}
		for _, isa := range Available()[1:] {
			SetISA(isa)
			for i, w := range windows {
				buf, got := guarded(w[1], 1)
				c.f.body.decode(got, data, c.n, w[0])
				id := fmt.Sprintf("%s %s n=%d k0=%d len=%d", isa, c.f.Name, c.n, w[0], w[1])
				if msg := checkGuards(buf, 1, w[1]); msg != "" {
					t.Fatalf("%s: %s", id, msg)
				}
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(want[i][j]) {
						t.Fatalf("%s: value %d = %g, generic %g", id, w[0]+j, got[j], want[i][j])
					}
				}
			}
		}
	}
}
