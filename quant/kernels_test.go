package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divergo/divergo/kernels"
)

var allSpecs = []string{
	"f32", "f16", "bf16",
	"int8", "int8:asym", "int8:g32", "int8:g7:asym", "int4", "int4:g32", "int4:g33:asym", "int4:row", "int4:row:asym",
	"int3", "int3:g64:asym", "int2", "int2:g16:asym", "int4:g2",
	"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k",
	"prune:0.5", "prune:2:4",
}

// TestKernelsDecode holds kernels' Dequant for every format to this
// package's reference decoders, bit for bit, on random and adversarial
// rows (ragged tails included).
func TestKernelsDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, spec := range allSpecs {
		sp := mustSpec(t, spec)
		cols := 768
		if lookupFormat(sp.Format).block != 256 {
			cols = 800
		}
		dec := referenceDecoder(sp)
		for kind, w := range rowKinds(cols, rng) {
			if kind == "huge" && (lookupFormat(sp.Format).kind == kindGGML || sp.Format == "f16") {
				continue
			}
			rows := 1
			m, err := Quantize(sp, "", rows, cols, w)
			if err != nil {
				t.Fatalf("%s %s: %v", spec, kind, err)
			}
			if sp.Format != "prune" && lookupFormat(sp.Format).kind != kindCast {
				if rb := codecFor(sp).rowBytes(cols); rb != m.Format.RowBytes(cols) {
					t.Fatalf("%s: kernels RowBytes(%d) = %d, quant writes %d", spec, cols, m.Format.RowBytes(cols), rb)
				}
			}
			got, err := Dequantize(m)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, cols)
			dec(want, m.Data)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s %s[%d]: kernels decodes %g, reference %g", spec, kind, i, got[i], want[i])
				}
			}
		}
		if b := mustSpec(t, spec).Bits(); sp.Format != "prune" && sp.Group != 0 && b != m0(t, sp).Format.Bits {
			t.Errorf("%s: Bits() = %v, kernels format says %v", spec, b, m0(t, sp).Format.Bits)
		}
	}
}

func m0(t *testing.T, sp Spec) *kernels.Matrix {
	m, err := Quantize(sp, "", 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestKernelsHalf checks that kernels' float16/bfloat16 conversions agree
// with the ones the ggml quantizers use.
func TestKernelsHalf(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	src := make([]float32, 1<<16)
	for i := range src {
		src[i] = math.Float32frombits(rng.Uint32())
	}
	src[0], src[1] = 65520, 0x1p-25
	h := make([]uint16, len(src))
	b := make([]uint16, len(src))
	kernels.F32ToF16(h, src)
	kernels.F32ToBF16(b, src)
	for i, v := range src {
		if h[i] != f32ToF16(v) {
			t.Fatalf("F32ToF16(%g) = %#04x, quant has %#04x", v, h[i], f32ToF16(v))
		}
		if b[i] != f32ToBF16(v) {
			t.Fatalf("F32ToBF16(%g) = %#04x, quant has %#04x", v, b[i], f32ToBF16(v))
		}
	}
}
