//go:build !noasm

package kernels

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// withoutDotProd runs fn with the NEON path installed with its SMULL/SADALP
// int8 kernels, as on a CPU without dotprod.
func withoutDotProd(t *testing.T, fn func()) {
	t.Helper()
	orig, saved := CurrentISA(), neonDotProd
	defer func() {
		neonDotProd = saved
		if err := SetISA(orig); err != nil {
			t.Fatal(err)
		}
	}()
	neonDotProd = false
	if err := SetISA(NEON); err != nil {
		t.Fatal(err)
	}
	fn()
}

// TestNEONWithoutDotProd checks the SMULL/SADALP W·A8 kernels against the
// generic bodies when the CPU has SDOT (qemu -cpu max); on a CPU without it
// the other tests already run them.
func TestNEONWithoutDotProd(t *testing.T) {
	if !hasDotProd() {
		t.Skip("no dotprod: the fallback kernels are the installed ones")
	}
	withoutDotProd(t, func() {
		if neonDotProd {
			t.Fatal("hook did not take")
		}
		rng := rand.New(rand.NewPCG(41, 42))
		var cases []hcase
		for _, c := range formatCases(rng) {
			if len(c.name) > 4 && c.name[:4] == "Act." {
				cases = append(cases, c)
			}
		}
		for _, msg := range compareISAs(t, cases, 20) {
			t.Error(msg)
		}
		// compareISAs reinstalls NEON with the hook still cleared.
		TestA8BitExact(t)
		TestGemmActTiles(t)
		t.Logf("%d W·A8 cases with SMULL/SADALP", len(cases))
	})
}

// TestNEONExp measures the vector exp (Softmax, SiLUMul) against the
// correctly rounded expf over its whole range: at most 3 ulp for normal
// results, within one unit of the smallest subnormal below them, and the
// same zeros, infinities and NaN.
func TestNEONExp(t *testing.T) {
	var xs []float32
	for v := float32(-110); v < 92; v += 0.0137 {
		xs = append(xs, v)
	}
	xs = append(xs, -104, -103.97, -103.972, -87.33, -87.34, 88.72, 88.7228, 88.73, 0, float32(math.Copysign(0, -1)),
		float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN()), 1e-30, -1e-30)
	n := len(xs) &^ 3
	got := append([]float32(nil), xs[:n]...)
	expSumNEON(&got[0], n, 0)
	worst := 0.0
	for i, x := range xs[:n] {
		want := expf(x)
		g := got[i]
		switch {
		case want != want:
			if g == g {
				t.Errorf("exp(%g) = %g, want NaN", x, g)
			}
		case want == 0 || math.IsInf(float64(want), 0):
			if g != want {
				t.Errorf("exp(%g) = %g, want %g", x, g, want)
			}
		case want < 0x1p-126:
			if math.Abs(float64(g-want)) > 0x1p-149 {
				t.Errorf("exp(%g) = %g, want %g (subnormal)", x, g, want)
			}
		default:
			ulp := math.Abs(float64(g)-float64(want)) / (float64(math.Nextafter32(want, float32(math.Inf(1)))) - float64(want))
			worst = max(worst, ulp)
			if ulp > 3 {
				t.Errorf("exp(%g) = %g, want %g (%.1f ulp)", x, g, want, ulp)
			}
		}
	}
	t.Logf("%d values, worst %.2f ulp", n, worst)
}

// TestNEONBodiesInstalled guards against a registration that silently
// leaves the generic body in place (a misspelled family, say): with NEON
// installed, every op and every row kernel of the formats with NEON bodies
// must be another function than the generic one.
func TestNEONBodiesInstalled(t *testing.T) {
	orig := CurrentISA()
	defer SetISA(orig)
	if err := SetISA(NEON); err != nil {
		t.Fatal(err)
	}
	ptr := func(f any) uintptr { return reflect.ValueOf(f).Pointer() }
	g := genericOps()
	for _, c := range []struct {
		name      string
		neon, gen any
	}{
		{"dot", active.dot, g.dot}, {"axpy", active.axpy, g.axpy}, {"scale", active.scale, g.scale},
		{"add", active.add, g.add}, {"mul", active.mul, g.mul}, {"rmsNorm", active.rmsNorm, g.rmsNorm},
		{"softmax", active.softmax, g.softmax}, {"siluMul", active.siluMul, g.siluMul},
		{"ropePairs", active.ropePairs, g.ropePairs}, {"ropeHalves", active.ropeHalves, g.ropeHalves},
		{"f16ToF32", active.f16ToF32, g.f16ToF32}, {"bf16ToF32", active.bf16ToF32, g.bf16ToF32},
		{"f32ToF16", active.f32ToF16, g.f32ToF16}, {"f32ToBF16", active.f32ToBF16, g.f32ToBF16},
		{"gemm.micro", active.gemm.micro, g.gemm.micro},
	} {
		if ptr(c.neon) == ptr(c.gen) {
			t.Errorf("op %s: NEON runs the generic body", c.name)
		}
	}
	for _, f := range append(Formats(), IntFormat(8, 0, false), IntFormat(4, 128, true)) {
		if f.family == "q2_k" || f.family == "q3_k" {
			continue // no NEON bodies
		}
		// The float formats decode through the installed conversion ops.
		if f.Block != 1 && ptr(f.body.dequant) == ptr(f.generic.dequant) {
			t.Errorf("%s: NEON runs the generic Dequant", f.Name)
		}
		if ptr(f.body.dot) == ptr(f.generic.dot) {
			t.Errorf("%s: NEON runs the generic Dot", f.Name)
		}
		if f.Act != nil && ptr(f.body.dotAct) == ptr(f.generic.dotAct) {
			t.Errorf("%s: NEON runs the generic DotAct", f.Name)
		}
		if f.Act != nil && ptr(f.Act.Quantize) == ptr(f.Act.generic) {
			t.Errorf("%s: NEON runs the generic %s quantizer", f.Name, f.Act.Name)
		}
	}
}
