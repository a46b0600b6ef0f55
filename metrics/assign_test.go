package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bruteAssign returns the minimal total over all permutations (Heap's
// algorithm), for n ≤ 8.
func bruteAssign(c []float64, n int) float64 {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	best := math.Inf(1)
	eval := func() {
		var s float64
		for i, j := range p {
			s += c[i*n+j]
		}
		best = min(best, s)
	}
	eval()
	cnt := make([]int, n)
	for i := 1; i < n; {
		if cnt[i] < i {
			if i%2 == 0 {
				p[0], p[i] = p[i], p[0]
			} else {
				p[cnt[i]], p[i] = p[i], p[cnt[i]]
			}
			eval()
			cnt[i]++
			i = 1
		} else {
			cnt[i] = 0
			i++
		}
	}
	return best
}

func checkPermTotal(t *testing.T, c []float64, n int, perm []int, total float64) {
	t.Helper()
	if err := checkPerm(perm); err != nil || len(perm) != n {
		t.Fatalf("not a permutation of %d: %v (%v)", n, perm, err)
	}
	var s float64
	for i, j := range perm {
		s += c[i*n+j]
	}
	if s != total {
		t.Fatalf("reported total %v, permutation costs %v", total, s)
	}
}

func TestAssignWorkedExample(t *testing.T) {
	// METRICS.md §5.5: squared-distance costs, optimum π = (2, 0, 1), total 0.10.
	c := []float64{
		3.02, 17.46, 0.02,
		0.02, 14.06, 3.02,
		13.02, 0.06, 16.82,
	}
	perm, total, err := Assign(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{2, 0, 1}; fmt.Sprint(perm) != fmt.Sprint(want) {
		t.Errorf("π = %v, want %v", perm, want)
	}
	if !near(total, 0.10, 1e-12) {
		t.Errorf("total = %v, want 0.10", total)
	}
}

func TestAssignBruteForce(t *testing.T) {
	kinds := []struct {
		name string
		gen  func(r *rand.Rand) float64
		tol  float64
	}{
		{"uniform", func(r *rand.Rand) float64 { return r.Float64() }, 1e-12},
		{"normal", func(r *rand.Rand) float64 { return 1e3 * r.NormFloat64() }, 1e-12},
		{"int100", func(r *rand.Rand) float64 { return float64(r.IntN(101)) }, 0},
		{"ties", func(r *rand.Rand) float64 { return float64(r.IntN(3)) }, 0},
		{"binary", func(r *rand.Rand) float64 { return float64(r.IntN(2)) }, 0},
		{"negative", func(r *rand.Rand) float64 { return -float64(r.IntN(10)) }, 0},
	}
	cases := 0
	for _, k := range kinds {
		for seed := range uint64(60) {
			r := rand.New(rand.NewPCG(seed, 7))
			for n := 1; n <= 8; n++ {
				c := make([]float64, n*n)
				for i := range c {
					c[i] = k.gen(r)
				}
				perm, total, err := Assign(c, n)
				if err != nil {
					t.Fatalf("%s seed %d n %d: %v", k.name, seed, n, err)
				}
				checkPermTotal(t, c, n, perm, total)
				want := bruteAssign(c, n)
				if math.Abs(total-want) > k.tol*math.Max(1, math.Abs(want)) {
					t.Fatalf("%s seed %d n %d: total %v, brute force %v\ncost %v", k.name, seed, n, total, want, c)
				}
				cases++
			}
		}
	}
	t.Logf("%d random matrices matched brute force", cases)
}

func TestAssignStructured(t *testing.T) {
	const n = 300
	r := rand.New(rand.NewPCG(1, 2))
	sigma := r.Perm(n)

	t.Run("permuted diagonal", func(t *testing.T) {
		c := make([]float64, n*n)
		for i := range c {
			c[i] = 1 + r.Float64()
		}
		for i, j := range sigma {
			c[i*n+j] = 0
		}
		perm, total, err := Assign(c, n)
		if err != nil {
			t.Fatal(err)
		}
		if total != 0 || fmt.Sprint(perm) != fmt.Sprint(sigma) {
			t.Fatalf("total %v, permutation recovered: %v", total, fmt.Sprint(perm) == fmt.Sprint(sigma))
		}
	})
	t.Run("constant", func(t *testing.T) {
		c := make([]float64, n*n)
		for i := range c {
			c[i] = 2.5
		}
		perm, total, err := Assign(c, n)
		if err != nil {
			t.Fatal(err)
		}
		checkPermTotal(t, c, n, perm, total)
		if total != 2.5*n {
			t.Fatalf("total %v, want %v", total, 2.5*n)
		}
	})
	t.Run("rank one", func(t *testing.T) {
		// c_ij = a_i·b_j: by the rearrangement inequality the minimum pairs
		// the i-th largest a with the i-th smallest b.
		a, b := make([]float64, n), make([]float64, n)
		for i := range a {
			a[i], b[i] = r.Float64()+0.1, r.Float64()+0.1
		}
		c := make([]float64, n*n)
		for i := range a {
			for j := range b {
				c[i*n+j] = a[i] * b[j]
			}
		}
		as, bs := sortedCopy(a), sortedCopy(b)
		var want float64
		for i := range as {
			want += as[n-1-i] * bs[i]
		}
		perm, total, err := Assign(c, n)
		if err != nil {
			t.Fatal(err)
		}
		checkPermTotal(t, c, n, perm, total)
		if !near(total, want, 1e-12) {
			t.Fatalf("total %v, want %v", total, want)
		}
	})
}

func sortedCopy(x []float64) []float64 {
	s := Sample{}
	for _, v := range x {
		s.Add(v)
	}
	return s.ascending()
}

// certifyOptimal checks LP duality: with the solver's column potentials v
// and u_i = c[i][x_i] − v[x_i], every reduced cost c_ij − u_i − v_j must be
// ≥ 0 (up to rounding), which proves the assignment optimal.
func certifyOptimal[F float32 | float64](t *testing.T, s *lap[F]) {
	t.Helper()
	n := s.n
	worst := 0.0
	for i := range n {
		row := s.c[i*n : (i+1)*n]
		ui := float64(row[s.x[i]]) - s.v[s.x[i]]
		for j, c := range row {
			worst = min(worst, float64(c)-ui-s.v[j])
		}
	}
	if worst < -1e-9 {
		t.Fatalf("n = %d: reduced cost %v < 0: not certified optimal", n, worst)
	}
}

func TestAssignDualCertificate(t *testing.T) {
	sizes := []int{50, 200, 1000}
	if testing.Short() {
		sizes = sizes[:2]
	}
	for _, n := range sizes {
		for _, kind := range []string{"uniform", "int10", "correlated"} {
			r := rand.New(rand.NewPCG(uint64(n), 3))
			c := make([]float64, n*n)
			for i := range n {
				for j := range n {
					switch kind {
					case "uniform":
						c[i*n+j] = r.Float64()
					case "int10":
						c[i*n+j] = float64(r.IntN(10))
					case "correlated": // near-diagonal structure, as tracing costs have
						c[i*n+j] = math.Abs(float64(i-j)) + 5*r.Float64()
					}
				}
			}
			s := newLAP(c, n)
			if err := s.solve(); err != nil {
				t.Fatal(err)
			}
			perm := make([]int, n)
			for i, j := range s.x {
				perm[i] = int(j)
			}
			if err := checkPerm(perm); err != nil {
				t.Fatalf("%s n=%d: %v", kind, n, err)
			}
			certifyOptimal(t, s)
		}
	}
}

func TestAssignFloat32(t *testing.T) {
	const n = 120
	r := rand.New(rand.NewPCG(5, 5))
	c32 := make([]float32, n*n)
	c64 := make([]float64, n*n)
	for i := range c32 {
		c32[i] = float32(r.IntN(1000)) / 8 // exact in both precisions, with ties
		c64[i] = float64(c32[i])
	}
	p32, t32, err := Assign(c32, n)
	if err != nil {
		t.Fatal(err)
	}
	_, t64, err := Assign(c64, n)
	if err != nil {
		t.Fatal(err)
	}
	checkPermTotal(t, c64, n, p32, t32)
	if t32 != t64 {
		t.Fatalf("float32 total %v, float64 total %v", t32, t64)
	}
}

func TestAssignErrors(t *testing.T) {
	if _, _, err := Assign(make([]float64, 5), 2); err == nil {
		t.Error("5 costs for 2×2: no error")
	}
	if _, _, err := Assign(make([]float64, 4), -2); err == nil {
		t.Error("negative n: no error")
	}
	c := []float64{1, 2, 3, math.NaN()}
	if _, _, err := Assign(c, 2); err == nil {
		t.Error("NaN cost: no error")
	}
	c = []float64{1, math.Inf(1), 3, 4}
	if _, _, err := Assign(c, 2); err == nil {
		t.Error("Inf cost: no error")
	}
	if p, tot, err := Assign([]float64{}, 0); err != nil || len(p) != 0 || tot != 0 {
		t.Errorf("n = 0: %v %v %v", p, tot, err)
	}
	if p, tot, err := Assign([]float32{-3}, 1); err != nil || p[0] != 0 || tot != -3 {
		t.Errorf("n = 1: %v %v %v", p, tot, err)
	}
}

func uniformCost(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 11))
	c := make([]float64, n*n)
	for i := range c {
		c[i] = r.Float64()
	}
	return c
}

func BenchmarkAssign(b *testing.B) {
	sizes := []int{256, 1024}
	if os.Getenv("DIVERGO_BIG") != "" {
		sizes = append(sizes, 4096, 11008)
	}
	for _, n := range sizes {
		c := uniformCost(n, 1)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := Assign(c, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestAssignLarge solves seeded uniform random matrices of the sizes in
// $DIVERGO_ASSIGN_N (comma-separated, e.g. "4096,11008"), certifies the
// result optimal by duality and logs the time. Skipped unless set.
func TestAssignLarge(t *testing.T) {
	env := os.Getenv("DIVERGO_ASSIGN_N")
	if env == "" {
		t.Skip("set DIVERGO_ASSIGN_N=4096,11008 to run")
	}
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			t.Fatalf("bad size %q", f)
		}
		c := uniformCost(n, 1)
		s := newLAP(c, n)
		start := time.Now()
		if err := s.solve(); err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		var total float64
		for i, j := range s.x {
			total += c[i*n+int(j)]
		}
		certifyOptimal(t, s)
		t.Logf("n = %d: %v, total cost %.6f, certified optimal", n, el, total)
	}
}

// near reports whether got is within rel of want (relative, or absolute
// for |want| < 1).
func near(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(1, math.Abs(want))
}
