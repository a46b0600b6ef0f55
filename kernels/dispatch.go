package kernels

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/klauspost/cpuid/v2"
)

// An ISA names one set of kernel bodies: the plain-Go reference or an
// assembly path for a CPU extension. GPU execution is not an ISA of this
// package (see kernels/cuda).
type ISA string

// The instruction-set paths. AVX512 needs AVX-512 F, BW, VL and DQ as well as
// everything AVX2 needs (AVX2, FMA, F16C); NEON is arm64's Advanced SIMD.
const (
	Generic ISA = "generic"
	AVX2    ISA = "avx2"
	AVX512  ISA = "avx512"
	NEON    ISA = "neon"
)

// parentISA is the path an ISA falls back to for every body it does not
// provide itself: AVX512 inherits AVX2's bodies, AVX2 and NEON the generic
// ones.
var parentISA = map[ISA]ISA{AVX2: Generic, AVX512: AVX2, NEON: Generic}

// An isaSpec collects what the files of one ISA register: op bodies, and
// per format family the bodies that family has for that ISA.
type isaSpec struct {
	ops     []func(t *opTable)
	formats map[string][]func(f *Format, t *formatTable)
	acts    map[string][]func(a *ActFormat, quantize *func(dst []byte, x []float32))
}

var registry = map[ISA]*isaSpec{}

func specFor(isa ISA) *isaSpec {
	s := registry[isa]
	if s == nil {
		s = &isaSpec{
			formats: map[string][]func(*Format, *formatTable){},
			acts:    map[string][]func(*ActFormat, *func([]byte, []float32)){},
		}
		registry[isa] = s
	}
	return s
}

// registerOps records install as a contributor of op bodies for isa: when
// isa is selected, install is called with the table already holding the
// bodies of the parent ISA and overwrites the entries it implements. Call it
// from a package-level variable initializer of the ISA's file
// (var _ = registerOps(AVX2, func(t *opTable) { t.dot = dotAVX2 })), so that
// registration happens before init selects the ISA.
func registerOps(isa ISA, install func(t *opTable)) bool {
	s := specFor(isa)
	s.ops = append(s.ops, install)
	return true
}

// registerFormat records install as a contributor of bodies for the weight
// format family (Format.family: the ggml names "q4_0" … "q6_k", "f32",
// "f16", "bf16", and "int8" or "int4" for the int formats by container, so
// "int4" also covers int3 and int2). install receives the format, whose
// unexported fields (bits, group, asym) tell the parameters of an int format,
// and the table holding the parent ISA's bodies; it overwrites what it
// implements and may leave the rest. Derived hooks (gemv, gemvAct, gemmAct,
// decode) that it leaves nil are rebuilt from the row kernels.
func registerFormat(isa ISA, family string, install func(f *Format, t *formatTable)) bool {
	s := specFor(isa)
	s.formats[family] = append(s.formats[family], install)
	return true
}

// registerAct records install as a contributor of the activation quantizer
// of the activation family ("q8_0", "q8_1", "q8_k", or "act8" for the int
// formats' activations, whose group size ActFormat.group tells).
func registerAct(isa ISA, family string, install func(a *ActFormat, quantize *func(dst []byte, x []float32))) bool {
	s := specFor(isa)
	s.acts[family] = append(s.acts[family], install)
	return true
}

var (
	isaMu      sync.Mutex
	currentISA = Generic
	envErr     error
)

func init() {
	best := Generic
	if av := Available(); len(av) > 0 {
		best = av[len(av)-1]
	}
	want := strings.ToLower(strings.TrimSpace(os.Getenv("DIVERGO_ISA")))
	switch want {
	case "", "auto", "cuda":
		// cuda selects the GPU elsewhere; the CPU kernels take the best path.
	default:
		if err := checkISA(ISA(want)); err != nil {
			envErr = fmt.Errorf("DIVERGO_ISA=%s ignored: %w", want, err)
		} else {
			best = ISA(want)
		}
	}
	installISA(best)
}

// CurrentISA returns the path whose bodies are installed.
func CurrentISA() ISA {
	isaMu.Lock()
	defer isaMu.Unlock()
	return currentISA
}

// Available returns the paths this CPU and this build can run, from the
// plain-Go reference to the widest (generic first). A build with the noasm
// tag returns only Generic. A path may be listed before any assembly body
// has been written for it; it then runs its parent's bodies.
func Available() []ISA {
	return slices.Clone(hostISAs)
}

// SetISA installs the bodies of isa for every op and format, falling back to
// the parent path for bodies isa does not provide. It fails if the CPU or
// the build cannot run isa. SetISA must not run concurrently with any kernel
// of this package: call it at start-up (or between tests).
func SetISA(isa ISA) error {
	if err := checkISA(isa); err != nil {
		return err
	}
	installISA(isa)
	return nil
}

func checkISA(isa ISA) error {
	switch isa {
	case Generic, AVX2, AVX512, NEON:
	default:
		return fmt.Errorf("kernels: unknown ISA %q (want generic, avx2, avx512 or neon)", string(isa))
	}
	if !slices.Contains(hostISAs, isa) {
		return fmt.Errorf("kernels: ISA %s not available on this machine (available: %s)", isa, joinISAs(hostISAs))
	}
	return nil
}

func joinISAs(l []ISA) string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = string(v)
	}
	return strings.Join(s, " ")
}

// isaChain returns the paths whose registrations make up isa, parent first.
func isaChain(isa ISA) []ISA {
	var chain []ISA
	for v := isa; v != Generic; v = parentISA[v] {
		chain = append(chain, v)
	}
	slices.Reverse(chain)
	return chain
}

func installISA(isa ISA) {
	isaMu.Lock()
	defer isaMu.Unlock()
	currentISA = isa
	ops := genericOps()
	for _, v := range isaChain(isa) {
		if s := registry[v]; s != nil {
			for _, fn := range s.ops {
				fn(&ops)
			}
		}
	}
	active = ops
	for _, a := range allActFormats() {
		a.install(isa)
	}
	for _, f := range allFormats() {
		f.install(isa)
	}
}

// Features describes the CPU, the detected extensions, the available paths
// and the installed one, for `divergo info`.
func Features() string {
	c := &cpuid.CPU
	var b strings.Builder
	fmt.Fprintf(&b, "isa=%s available=[%s]", CurrentISA(), joinISAs(hostISAs))
	if envErr != nil {
		fmt.Fprintf(&b, " (%v)", envErr)
	}
	fmt.Fprintf(&b, "; cpu=%q cores=%d threads=%d", c.BrandName, c.PhysicalCores, c.LogicalCores)
	var have []string
	for _, f := range []struct {
		name string
		id   cpuid.FeatureID
	}{
		{"avx2", cpuid.AVX2}, {"fma", cpuid.FMA3}, {"f16c", cpuid.F16C},
		{"avx512f", cpuid.AVX512F}, {"avx512bw", cpuid.AVX512BW}, {"avx512vl", cpuid.AVX512VL},
		{"avx512dq", cpuid.AVX512DQ}, {"avx512vnni", cpuid.AVX512VNNI}, {"avx512bf16", cpuid.AVX512BF16},
		{"avxvnni", cpuid.AVXVNNI}, {"amx-int8", cpuid.AMXINT8},
		{"asimd", cpuid.ASIMD}, {"asimddp", cpuid.ASIMDDP}, {"i8mm", cpuid.I8MM}, {"sve", cpuid.SVE},
	} {
		if c.Supports(f.id) {
			have = append(have, f.name)
		}
	}
	fmt.Fprintf(&b, " features=[%s]", strings.Join(have, " "))
	if c.Cache.L1D > 0 || c.Cache.L2 > 0 {
		fmt.Fprintf(&b, " l1d=%dKiB l2=%dKiB", c.Cache.L1D>>10, c.Cache.L2>>10)
	}
	return b.String()
}

// hasVNNI reports whether the AVX-512 int8 dot instruction (VPDPBUSD) is
// present; int8 bodies of the avx512 path may use it only when it is, and
// must fall back to VPMADDUBSW/VPMADDWD otherwise.
func hasVNNI() bool { return cpuid.CPU.Supports(cpuid.AVX512VNNI) }

// hasDotProd reports whether arm64's SDOT/UDOT are present; NEON int8 bodies
// must fall back to SMULL/SADALP without them.
//
//lint:ignore U1000 used by the arm64 build (neon_arm64.go)
func hasDotProd() bool { return cpuid.CPU.Supports(cpuid.ASIMDDP) }
