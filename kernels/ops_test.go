package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestRoPEHandWorked(t *testing.T) {
	// dim 4, base 10000: θ_0 = pos, θ_1 = pos·10000^(−1/2) = pos/100.
	for _, angles := range []RoPEAngles{AnglesGGML, AnglesHF} {
		tab, err := NewRoPETable(4, 2, 10000, angles)
		if err != nil {
			t.Fatal(err)
		}
		x := []float32{1, 2, 3, 4, 1, 2, 3, 4} // two heads
		RoPEInterleaved(x, tab, 1)
		// (1,2) by 1 rad, (3,4) by 0.01 rad.
		want := []float64{-1.1426396637476532, 1.922075596544176, 2.9598506679133294, 4.029799501669161}
		for i := range x {
			if math.Abs(float64(x[i])-want[i%4]) > 1e-6 {
				t.Errorf("angles %d: interleaved x[%d] = %.7f, want %.7f", angles, i, x[i], want[i%4])
			}
		}
		y := []float32{1, 2, 3, 4}
		RoPENeoX(y, tab, 1)
		// (x0,x2) = (1,3) by 1 rad, (x1,x3) = (2,4) by 0.01 rad.
		want = []float64{-1.9841106485555495, 1.959900667496664, 2.4623779024123156, 4.019799668334994}
		for i := range y {
			if math.Abs(float64(y[i])-want[i]) > 1e-6 {
				t.Errorf("angles %d: neox y[%d] = %.7f, want %.7f", angles, i, y[i], want[i])
			}
		}
		z := []float32{1, 2, 3, 4}
		RoPEInterleaved(z, tab, 0) // θ = 0: identity
		if z[0] != 1 || z[1] != 2 || z[2] != 3 || z[3] != 4 {
			t.Errorf("position 0 changed the vector: %v", z)
		}
	}
}

// TestRoPETableAngles checks both angle conventions against the float64
// formula θ_i = pos·base^(−2i/d), and the ggml convention's defining
// recurrence θ_{i+1} = θ_i·powf(base, −2/d) in float32.
func TestRoPETableAngles(t *testing.T) {
	const dim, maxPos, base = 128, 2048, 10000
	for _, angles := range []RoPEAngles{AnglesGGML, AnglesHF} {
		tab, err := NewRoPETable(dim, maxPos, base, angles)
		if err != nil {
			t.Fatal(err)
		}
		for _, pos := range []int{0, 1, 7, 100, 2047} {
			c, s := tab.At(pos)
			for i := range c {
				theta := float64(pos) * math.Pow(base, -2*float64(i)/dim)
				// The float32 angle carries a relative error of up to
				// ~i·2⁻²⁴ (ggml's repeated products) or 2⁻²³ (HF).
				tol := 1e-6 + theta*float64(i+2)*0x1p-23
				if math.Abs(float64(c[i])-math.Cos(theta)) > tol || math.Abs(float64(s[i])-math.Sin(theta)) > tol {
					t.Fatalf("angles %d pos %d i %d: (%g, %g), want (%g, %g)", angles, pos, i, c[i], s[i], math.Cos(theta), math.Sin(theta))
				}
			}
		}
		if angles == AnglesGGML {
			scale := float32(math.Pow(base, float64(float32(-2)/dim)))
			theta := float32(100)
			c, _ := tab.At(100)
			for i := range c {
				if want := float32(math.Cos(float64(theta))); c[i] != want {
					t.Fatalf("ggml angles pos 100 i %d: cos = %g, want %g", i, c[i], want)
				}
				theta *= scale
			}
		}
	}
	for _, bad := range []struct {
		dim, maxPos int
		base        float32
	}{{0, 1, 10000}, {3, 1, 10000}, {4, -1, 10000}, {4, 1, 1}, {4, 1, float32(math.NaN())}} {
		if _, err := NewRoPETable(bad.dim, bad.maxPos, bad.base, AnglesGGML); err == nil {
			t.Errorf("NewRoPETable%v succeeded", bad)
		}
	}
}

func TestRMSNorm(t *testing.T) {
	x := []float32{3, 4}
	w := []float32{1, 2}
	dst := make([]float32, 2)
	RMSNorm(dst, x, w, 0)
	if math.Abs(float64(dst[0])-0.848528137423857) > 1e-7 || math.Abs(float64(dst[1])-2*1.131370849898476) > 2e-7 {
		t.Errorf("RMSNorm([3 4], [1 2]) = %v", dst)
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{1, 5, 64, 4096} {
		x, w := randF32(rng, n), randF32(rng, n)
		dst := make([]float32, n)
		RMSNorm(dst, x, w, 1e-5)
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		s := 1 / math.Sqrt(ss/float64(n)+1e-5)
		for i := range x {
			want := float64(x[i]) * s * float64(w[i])
			if math.Abs(float64(dst[i])-want) > 1e-6*math.Abs(want)+1e-12 {
				t.Fatalf("n=%d: RMSNorm[%d] = %g, want %g", n, i, dst[i], want)
			}
		}
		RMSNorm(x, x, w, 1e-5) // in place gives the same
		if i, ok := bitsEqual(x, dst); !ok {
			t.Fatalf("n=%d: in-place RMSNorm differs at %d", n, i)
		}
	}
}

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for _, n := range []int{1, 2, 7, 100, 32000} {
		x := randF32(rng, n)
		for i := range x {
			x[i] *= 5
		}
		mx := math.Inf(-1)
		for _, v := range x {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		x0 := append([]float32(nil), x...)
		want := make([]float64, n)
		for i, v := range x {
			want[i] = math.Exp(float64(v) - mx)
			sum += want[i]
		}
		Softmax(x)
		var total float64
		for i := range x {
			want[i] /= sum
			total += float64(x[i])
			// x−max is rounded to float32 first (as in ggml): a relative
			// error of |x−max|·2⁻²⁴ in the exponent.
			tol := want[i] * (1e-6 + math.Abs(float64(x0[i])-mx)*0x1p-23)
			if math.Abs(float64(x[i])-want[i]) > tol+1e-30 {
				t.Fatalf("n=%d: softmax[%d] = %g, want %g", n, i, x[i], want[i])
			}
		}
		if math.Abs(total-1) > 1e-5 {
			t.Errorf("n=%d: softmax sums to %g", n, total)
		}
	}
	// Masked entries (−Inf) get probability 0; a large shift is harmless.
	x := []float32{float32(math.Inf(-1)), 1000, 1000}
	Softmax(x)
	if x[0] != 0 || x[1] != 0.5 || x[2] != 0.5 {
		t.Errorf("softmax(−Inf, 1000, 1000) = %v", x)
	}
}

func TestSiLUMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	g, u := randF32(rng, 1000), randF32(rng, 1000)
	g[0], g[1] = -200, 200 // exp overflow stays finite: silu(−200) = −0, silu(200) = 200
	want := make([]float64, len(g))
	for i := range g {
		v := float64(g[i])
		want[i] = v / (1 + math.Exp(-v)) * float64(u[i])
	}
	SiLUMul(g, u)
	for i := range g {
		if math.Abs(float64(g[i])-want[i]) > 1e-6*math.Abs(want[i])+1e-30 {
			t.Fatalf("SiLUMul[%d] = %g, want %g", i, g[i], want[i])
		}
	}
}

func TestOpsLengthPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"Dot":     func() { Dot(make([]float32, 2), make([]float32, 3)) },
		"Axpy":    func() { Axpy(1, make([]float32, 2), make([]float32, 3)) },
		"Add":     func() { Add(make([]float32, 2), make([]float32, 3)) },
		"RMSNorm": func() { RMSNorm(make([]float32, 2), make([]float32, 2), make([]float32, 1), 0) },
		"SiLUMul": func() { SiLUMul(make([]float32, 2), make([]float32, 1)) },
		"F16":     func() { F16ToF32(make([]float32, 2), make([]uint16, 1)) },
		"RoPE": func() {
			tab, _ := NewRoPETable(4, 2, 10000, AnglesGGML)
			RoPENeoX(make([]float32, 6), tab, 0)
		},
		"RoPEPos": func() {
			tab, _ := NewRoPETable(4, 2, 10000, AnglesGGML)
			RoPEInterleaved(make([]float32, 4), tab, 2)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic on bad lengths", name)
				}
			}()
			fn()
		}()
	}
}
