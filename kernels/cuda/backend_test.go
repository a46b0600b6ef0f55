package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"
	"weak"

	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/quant"
)

// matrix quantizes random N(0, 1) weights under spec.
func matrix(t testing.TB, spec string, rows, cols int, seed uint64) *kernels.Matrix {
	t.Helper()
	s, err := quant.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	vals := make([]float32, rows*cols)
	for i := range vals {
		vals[i] = float32(rng.NormFloat64())
	}
	w, err := quant.Quantize(s, "test", rows, cols, vals)
	if err != nil {
		t.Fatal(err)
	}
	w.A8 = s.A8 && w.Format.Act != nil
	return w
}

func randX(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 9))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// decoded returns w's values as float32.
func decoded(w *kernels.Matrix) []float32 {
	out := make([]float32, w.Rows*w.Cols)
	rb := w.RowBytes()
	for r := range w.Rows {
		w.Format.Dequant(out[r*w.Cols:(r+1)*w.Cols], w.Data[r*rb:(r+1)*rb])
	}
	return out
}

// checkProduct compares dst with the float64 product of w's decoded values
// and x, within rel·Σ|w·x| per output.
func checkProduct(t *testing.T, dst []float32, w *kernels.Matrix, x []float32, n int, rel float64) (worst float64) {
	t.Helper()
	wd := decoded(w)
	K, R := w.Cols, w.Rows
	for i := range n {
		for r := range R {
			var s, mag float64
			for c := range K {
				p := float64(wd[r*K+c]) * float64(x[i*K+c])
				s += p
				mag += math.Abs(p)
			}
			e := math.Abs(float64(dst[i*R+r])-s) / mag
			worst = max(worst, e)
			if !(e <= rel) {
				t.Fatalf("dst[%d][%d] = %g, want %g (error %.3g of Σ|w·x| = %g, allowed %.3g)", i, r, dst[i*R+r], s, e, mag, rel)
			}
		}
	}
	return worst
}

// TestMatMulAgainstCPU runs products of every kind of weight through the
// backend on the fake device and checks them against the exact product:
// the row-major ↔ column-major mapping, the device types and the
// activation terms. The bounds are the roundings the GPU path adds: none
// for float32 weights, the activations' (2⁻²² f16, 2⁻¹⁷ bf16 in two terms;
// 2⁻¹¹, 2⁻⁸ in one) and, for formats decoded to float16, the weights'
// (2⁻¹¹).
func TestMatMulAgainstCPU(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, c := range []struct {
		spec        string
		rows, cols  int
		n           int
		rel, fast   float64 // bounds with two terms and one
		deviceType  string
		wantGemmsEx int // GEMM calls per product (two terms)
	}{
		{"f32", 37, 64, 5, 1e-6, 1e-6, "f32", 0},
		{"f32", 1, 3, 2, 1e-6, 1e-6, "f32", 0},
		{"f16", 37, 64, 5, 1e-6, 1.0 / (1 << 11), "f16", 2},
		{"bf16", 37, 64, 3, 1.0 / (1 << 16), 1.0 / (1 << 8), "bf16", 2},
		{"q8_0", 33, 64, 4, 1.0 / (1 << 11), 1.0 / (1 << 11), "f16", 2},
		{"q4_0", 16, 96, 7, 1.0 / (1 << 11), 1.0 / (1 << 11), "f16", 2},
		{"q4_k", 9, 256, 3, 1.0 / (1 << 11), 1.0 / (1 << 11), "f16", 2},
		{"q6_k", 5, 512, 2, 1.0 / (1 << 11), 1.0 / (1 << 11), "f16", 2},
		{"int4:g32", 11, 80, 6, 1.0 / (1 << 11), 1.0 / (1 << 11), "f16", 2},
		{"int8:row:asym", 12, 50, 3, 1.0 / (1 << 11), 1.0 / (1 << 11), "f16", 2},
	} {
		for _, fast := range []bool{false, true} {
			name := fmt.Sprintf("%s/%dx%dx%d", c.spec, c.n, c.rows, c.cols)
			if fast {
				name += "/fast"
			}
			t.Run(name, func(t *testing.T) {
				f := newFake(t)
				b := fakeBackend(t, f, Options{MinWork: -1, FastActivations: fast})
				w := matrix(t, c.spec, c.rows, c.cols, 1)
				x := randX(c.n*c.cols, 2)
				dst := make([]float32, c.n*c.rows)
				if !b.MatMul(pool, dst, w, x, c.n) {
					t.Fatalf("declined: %v", b.Err())
				}
				rel := c.rel
				if fast {
					rel = max(rel, c.fast)
				}
				worst := checkProduct(t, dst, w, x, c.n, rel)
				t.Logf("worst error %.3g of Σ|w·x|", worst)

				e := b.cache[weak.Make(w)]
				if e == nil || e.typ.String() != c.deviceType {
					t.Fatalf("device copy %+v, want type %s", e, c.deviceType)
				}
				want := rowMajor(c.rows, c.cols, c.n)
				wantCalls := c.wantGemmsEx
				if fast && wantCalls > 0 {
					wantCalls = 1
				}
				if wantCalls == 0 {
					wantCalls = 1 // one Sgemm
				}
				if len(f.gemms) != wantCalls {
					t.Fatalf("%d GEMM calls, want %d", len(f.gemms), wantCalls)
				}
				for i, g := range f.gemms {
					if g.args != want || g.ex != (c.deviceType != "f32") || g.alpha != 1 || g.beta != float32(min(i, 1)) {
						t.Errorf("GEMM %d: %+v, want args %+v, alpha 1, beta %d", i, g, want, min(i, 1))
					}
				}
			})
		}
	}
}

// TestThroughKernelsMatMul installs the backend in kernels and checks that
// MatMul's prefill products reach it and decode products do not.
func TestThroughKernelsMatMul(t *testing.T) {
	f := newFake(t)
	b := fakeBackend(t, f, Options{MinWork: -1})
	prev := kernels.SetBackend(b)
	defer kernels.SetBackend(prev)
	pool := kernels.NewPool(2)
	defer pool.Close()
	w := matrix(t, "q8_0", 20, 64, 3)
	x := randX(4*64, 4)
	gpu := make([]float32, 4*20)
	kernels.MatMul(pool, gpu, w, x, 4)
	kernels.MatMul(pool, gpu[:20], w, x[:64], 1)
	if s := b.Stats(); s.Products != 1 || s.Declined != 0 {
		t.Fatalf("stats %+v: want one product (prefill) and nothing else offered", s)
	}
	checkProduct(t, gpu, w, x, 4, 1.0/(1<<10))
}

// TestDeclined: what the backend leaves to the CPU.
func TestDeclined(t *testing.T) {
	pool := kernels.NewPool(1)
	defer pool.Close()
	f := newFake(t)
	b := fakeBackend(t, f, Options{MinWork: 64 * 64 * 3})
	small := matrix(t, "f16", 64, 64, 5)
	dst := make([]float32, 4*64)
	if b.MatMul(pool, dst[:2*64], small, randX(2*64, 1), 2) {
		t.Error("a product below MinWork was taken")
	}
	if !b.MatMul(pool, dst, small, randX(4*64, 1), 4) {
		t.Error("a product above MinWork was declined")
	}
	a8 := matrix(t, "q4_0:a8", 64, 64, 6)
	if b.MatMul(pool, dst, a8, randX(4*64, 1), 4) {
		t.Error("a W·A8 product was taken")
	}
	big := randX(4*64, 1)
	big[77] = 1e5 // beyond float16
	if b.MatMul(pool, dst, small, big, 4) {
		t.Error("an activation beyond float16 was sent as float16")
	}
	f32 := matrix(t, "f32", 64, 64, 7)
	if !b.MatMul(pool, dst, f32, big, 4) {
		t.Error("float32 weights declined a large activation")
	}
	if s := b.Stats(); s.Products != 2 || s.Declined != 3 {
		t.Errorf("stats %+v, want 2 products and 3 declined", s)
	}
}

// TestWeightUploadExact checks the device copy of every format byte for
// byte: float formats as stored, the others decoded with Format.Dequant
// and rounded with kernels.F32ToF16 exactly as one whole-matrix pass
// would, across staging slices and worker tasks; bfloat16 on a pre-Ampere
// device as float32; and a matrix beyond float16's range as float32.
func TestWeightUploadExact(t *testing.T) {
	defer func(s int) { stagingBytes = s }(stagingBytes)
	pool := kernels.NewPool(3)
	defer pool.Close()
	for _, c := range []struct {
		spec  string
		major int32
		scale float32 // multiplies the weights
		want  dtype
	}{
		{"f32", 9, 1, devF32},
		{"f16", 9, 1, devF16},
		{"bf16", 9, 1, devBF16},
		{"bf16", 7, 1, devF32},
		{"q8_0", 9, 1, devF16},
		{"q4_1", 9, 1, devF16},
		{"q5_k", 9, 1, devF16},
		{"q3_k", 9, 1, devF16},
		{"int3:g64:asym", 9, 1, devF16},
		{"int2:row", 9, 1, devF16},
		{"int8:row", 9, 3e4, devF32}, // values to ~1e5: float16 overflows
	} {
		t.Run(c.spec+"/sm"+string(rune('0'+c.major)), func(t *testing.T) {
			const rows, cols = 45, 256
			stagingBytes = 7 * cols * 2 // 7 rows of float16 per slice
			s, _ := quant.ParseSpec(c.spec)
			rng := rand.New(rand.NewPCG(11, 12))
			vals := make([]float32, rows*cols)
			for i := range vals {
				vals[i] = c.scale * float32(rng.NormFloat64())
			}
			w, err := quant.Quantize(s, "test", rows, cols, vals)
			if err != nil {
				t.Fatal(err)
			}
			f := newFake(t)
			f.major = c.major
			b := fakeBackend(t, f, Options{MinWork: -1})
			b.clock++
			e, err := b.weight(pool, w)
			if err != nil || e.ptr == 0 {
				t.Fatalf("upload: %v, %+v", err, e)
			}
			if e.typ != c.want {
				t.Fatalf("stored as %s, want %s", e.typ, c.want)
			}
			got := f.mem(e.ptr, int(e.bytes))
			all := decoded(w) // one pass over the whole matrix
			var want []byte
			switch {
			case c.want == devF32:
				want = unsafe.Slice((*byte)(unsafe.Pointer(&all[0])), 4*len(all))
			case c.spec == "f16" || c.spec == "bf16":
				want = w.Data[:rows*w.RowBytes()]
			default:
				h := make([]uint16, len(all))
				kernels.F32ToF16(h, all)
				want = unsafe.Slice((*byte)(unsafe.Pointer(&h[0])), 2*len(h))
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("device byte %d (value %d) = %#x, want %#x", i, i/c.want.size(), got[i], want[i])
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// TestWeightCache: one upload per *Matrix while it lives; a changed
// matrix or a new one is uploaded; a collected one is freed; the least
// recently used copies make room; a matrix larger than the device stays on
// the CPU without emptying the cache.
func TestWeightCache(t *testing.T) {
	pool := kernels.NewPool(1)
	defer pool.Close()
	f := newFake(t)
	const rows, cols, n = 64, 128, 4
	wBytes := int64(rows * cols * 2)
	// Room for three weight copies and the activation and result buffers.
	f.capacity = 3*wBytes + 2*n*cols*2 + n*rows*4
	b := fakeBackend(t, f, Options{MinWork: -1})
	dst := make([]float32, n*rows)
	x := randX(n*cols, 1)
	run := func(w *kernels.Matrix) {
		t.Helper()
		if !b.MatMul(pool, dst, w, x, n) {
			t.Fatalf("declined: %v", b.Err())
		}
		checkProduct(t, dst, w, x, n, 1.0/(1<<10))
	}
	uploads := func(want int64) {
		t.Helper()
		if s := b.Stats(); s.Uploads != want {
			t.Fatalf("%d uploads, want %d (%+v)", s.Uploads, want, s)
		}
	}

	A := matrix(t, "q4_0", rows, cols, 1)
	run(A)
	run(A)
	uploads(1)

	B := *A // another *Matrix with the same bytes is another key
	run(&B)
	uploads(2)

	A.Data = matrix(t, "q4_0", rows, cols, 2).Data // changed in place
	run(A)
	uploads(3)
	if s := b.Stats(); s.Resident != 2 {
		t.Fatalf("%d resident, want 2: the old copy of A is freed", s.Resident)
	}

	// A collected matrix is freed at the next upload.
	func() {
		tmp := matrix(t, "q4_0", rows, cols, 3)
		run(tmp)
	}()
	runtime.GC()
	runtime.GC()
	C := matrix(t, "q4_0", rows, cols, 4)
	run(C)
	if s := b.Stats(); s.Resident != 3 {
		t.Fatalf("%+v: want 3 resident (A, B, C) after the collected matrix went", s)
	}

	// Full: D evicts the least recently used, B.
	run(A)
	run(C)
	D := matrix(t, "q4_0", rows, cols, 5)
	run(D)
	for _, m := range []*kernels.Matrix{A, C, D} {
		if e := b.cache[weak.Make(m)]; e == nil || e.ptr == 0 {
			t.Fatal("a recently used matrix was evicted")
		}
	}
	if e := b.cache[weak.Make(&B)]; e != nil {
		t.Fatal("the least recently used matrix was kept")
	}

	// Too large for the device: declined, nothing evicted.
	before := b.Stats()
	huge := matrix(t, "q4_0", 4*rows, cols, 6)
	if b.MatMul(pool, make([]float32, n*4*rows), huge, x, n) {
		t.Fatal("a matrix larger than the device was taken")
	}
	if s := b.Stats(); s.Resident != before.Resident || s.Evictions != before.Evictions {
		t.Fatalf("stats %+v after a matrix too large, want %+v", s, before)
	}
	run(D)
	uploads(before.Uploads)
	t.Logf("resident allocations %v", f.resident())
	runtime.KeepAlive(A) // reachable until here, so resident until here
	runtime.KeepAlive(C)
}

// TestActivationReuse: q, k and v multiply the same rows; they are copied
// to the device once.
func TestActivationReuse(t *testing.T) {
	pool := kernels.NewPool(1)
	defer pool.Close()
	f := newFake(t)
	b := fakeBackend(t, f, Options{MinWork: -1})
	const n, dim = 3, 64
	ws := []*kernels.Matrix{matrix(t, "f16", dim, dim, 1), matrix(t, "f16", dim, dim, 2), matrix(t, "f16", dim, dim, 3)}
	x := randX(n*dim, 5)
	actCopies := func() (c int) {
		for _, cp := range f.copies {
			if cp.dst == b.x[0].ptr || cp.dst == b.x[1].ptr {
				c++
			}
		}
		return c
	}
	dst := make([]float32, n*dim)
	for _, w := range ws {
		if !b.MatMul(pool, dst, w, x, n) {
			t.Fatal("declined")
		}
		checkProduct(t, dst, w, x, n, 1e-6)
	}
	if c := actCopies(); c != 2 { // hi and lo, once
		t.Fatalf("%d activation copies for three products of the same rows, want 2", c)
	}
	x[n*dim-1] += 1 // the engine reuses its buffers: same slice, new values
	if !b.MatMul(pool, dst, ws[0], x, n) {
		t.Fatal("declined")
	}
	checkProduct(t, dst, ws[0], x, n, 1e-6)
	if c := actCopies(); c != 4 {
		t.Fatalf("%d activation copies after the rows changed, want 4", c)
	}
}

// TestFailure: a GPU error is reported once, and the CPU computes every
// product from then on.
func TestFailure(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	f := newFake(t)
	var reported []error
	b := fakeBackend(t, f, Options{MinWork: -1, OnError: func(err error) { reported = append(reported, err) }})
	prev := kernels.SetBackend(b)
	defer kernels.SetBackend(prev)
	f.gemmStatus = 13 // CUBLAS_STATUS_EXECUTION_FAILED
	w := matrix(t, "f16", 16, 64, 1)
	x := randX(3*64, 1)
	dst := make([]float32, 3*16)
	for range 3 {
		kernels.MatMul(pool, dst, w, x, 3)
		checkProduct(t, dst, w, x, 3, 1e-5) // the CPU's result
	}
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), "CUBLAS_STATUS_EXECUTION_FAILED") {
		t.Fatalf("reported %v, want one CUBLAS_STATUS_EXECUTION_FAILED", reported)
	}
	if len(f.gemms) != 1 {
		t.Fatalf("%d GEMMs attempted, want 1: a failed backend declines without trying", len(f.gemms))
	}
	if b.Err() == nil {
		t.Fatal("Err is nil after a failure")
	}
}

// TestNewBackendErrors: a machine with the libraries but no usable GPU
// gets one line naming the libraries and the reason.
func TestNewBackendErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(f *fakeDevice)
		opt  Options
		want string
	}{
		{"no device", func(f *fakeDevice) { f.devices, f.countErr = 0, cudaErrorNoDevice }, Options{},
			"loaded libcudart.so.12 and libcublas.so.12, but cudaGetDeviceCount: fake error 100 (cudaError 100)"},
		{"zero devices", func(f *fakeDevice) { f.devices = 0 }, Options{}, "no CUDA device"},
		{"ordinal", func(f *fakeDevice) {}, Options{Device: 3}, "device 3 requested; 1 present"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			c.set(f)
			_, err := newBackend(f.api(), []string{"libcudart.so.12", "libcublas.so.12"}, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q, want one line containing %q", err, c.want)
			}
		})
	}
	f := newFake(t)
	b := fakeBackend(t, f, Options{})
	d := b.Device()
	if d.Name != "Fake GPU" || d.Major != 9 || d.MemoryBytes != 1<<30 || d.CUBLAS != 120405 ||
		!slices.Equal(d.Libraries, []string{"libcudart.so.12", "libcublas.so.12"}) {
		t.Fatalf("device %+v", d)
	}
	if s := d.String(); !strings.Contains(s, "Fake GPU (device 0, sm_90") || !strings.Contains(s, "CUDA runtime 12.4, driver 12.6") {
		t.Fatalf("device string %q", s)
	}
}

// TestTimeGEMM runs the benchmark path on the fake device.
func TestTimeGEMM(t *testing.T) {
	pool := kernels.NewPool(1)
	defer pool.Close()
	f := newFake(t)
	b := fakeBackend(t, f, Options{})
	w := matrix(t, "bf16", 16, 32, 1)
	sec, stored, err := b.TimeGEMM(pool, w, 8, 3)
	if err != nil || sec < 0 || stored != "bf16" {
		t.Fatalf("TimeGEMM = %g, %q, %v", sec, stored, err)
	}
	if len(f.gemms) != 4 || f.syncs != 2 {
		t.Fatalf("%d GEMMs and %d synchronizations, want 4 (warm-up + 3) and 2", len(f.gemms), f.syncs)
	}
}
