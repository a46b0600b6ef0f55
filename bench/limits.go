package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits are what the development machine can do at best (ENGINE-NOTES §5,
// measured there with C/OpenMP microbenchmarks): per-core compute peaks and
// streaming read bandwidth. Every row prints its value as a share of the
// limit that bounds it. The machine has two cores; more threads get the
// two-core figures.
type Limits struct {
	// FP32 is the float32 FMA peak of one core in GFLOP/s (AVX-512, 16
	// independent zmm chains).
	FP32 float64 `json:"fp32_gflops"`
	// Int8 is the int8 dot peak of one core in GOP/s (VNNI-512 VPDPBUSD).
	Int8 float64 `json:"int8_gops"`
	// Bandwidth is the DRAM streaming read in GB/s of 1 and 2 cores (2 GiB
	// buffer).
	Bandwidth [2]float64 `json:"bandwidth_gbs"`
}

// DevMachine returns the limits of the development machine (ENGINE-NOTES §5).
func DevMachine() Limits {
	return Limits{FP32: 227, Int8: 853, Bandwidth: [2]float64{15.8, 30.1}}
}

// ParseLimits reads limits for another machine, starting from DevMachine:
// comma-separated fp32=GFLOP/s per core, int8=GOP/s per core, bw=GB/s of
// one core or bw=ONE/TWO for one and two cores ("fp32=105,bw=19/30").
func ParseLimits(s string) (Limits, error) {
	l := DevMachine()
	for _, f := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return l, fmt.Errorf("bench: limits: %q is not key=value", f)
		}
		var vals []float64
		for _, x := range strings.Split(v, "/") {
			x, err := strconv.ParseFloat(x, 64)
			if err != nil || !(x > 0) || x > 1e9 {
				return l, fmt.Errorf("bench: limits: %s=%q is not a positive number", k, v)
			}
			vals = append(vals, x)
		}
		switch {
		case k == "fp32" && len(vals) == 1:
			l.FP32 = vals[0]
		case k == "int8" && len(vals) == 1:
			l.Int8 = vals[0]
		case k == "bw" && len(vals) == 1:
			l.Bandwidth = [2]float64{vals[0], 2 * vals[0]}
		case k == "bw" && len(vals) == 2:
			l.Bandwidth = [2]float64{vals[0], vals[1]}
		default:
			return l, fmt.Errorf("bench: limits: unknown %q (want fp32=G, int8=G, bw=B or bw=B1/B2)", f)
		}
	}
	return l, nil
}

func (l Limits) cores(threads int) float64 { return float64(min(max(threads, 1), 2)) }

func (l Limits) fp32(threads int) float64 { return l.FP32 * l.cores(threads) }

func (l Limits) int8(threads int) float64 { return l.Int8 * l.cores(threads) }

func (l Limits) bandwidth(threads int) float64 { return l.Bandwidth[min(max(threads, 1), 2)-1] }

// llamaCpp holds llama.cpp's figures on the development machine
// (ENGINE-NOTES §1.5: llama-bench -p 512 -n 128 -r 3, random-weight GGUFs),
// tokens/s by shape, llama.cpp type, test and threads.
var llamaCpp = map[llamaKey]float64{}

type llamaKey struct {
	shape, typ, test string
	threads          int
}

func init() {
	for _, r := range []struct {
		shape, typ         string
		pp1, pp2, tg1, tg2 float64
	}{
		{"stories110m", "F16", 442, 862, 45.0, 75.8},
		{"stories110m", "Q8_0", 453, 836, 67.2, 115.6},
		{"stories110m", "Q4_0", 565, 1057, 83.0, 198.6},
		{"stories110m", "Q4_K_M", 530, 977, 96.5, 198.6},
		{"tinyllama-1.1b", "F16", 46.6, 90.2, 5.78, 10.07},
		{"tinyllama-1.1b", "Q8_0", 45.2, 88.7, 8.49, 14.54},
		{"tinyllama-1.1b", "Q4_0", 58.7, 112.9, 13.61, 22.86},
		{"tinyllama-1.1b", "Q4_K_M", 55.5, 109.8, 14.52, 25.12},
	} {
		llamaCpp[llamaKey{r.shape, r.typ, "pp512", 1}] = r.pp1
		llamaCpp[llamaKey{r.shape, r.typ, "pp512", 2}] = r.pp2
		llamaCpp[llamaKey{r.shape, r.typ, "tg128", 1}] = r.tg1
		llamaCpp[llamaKey{r.shape, r.typ, "tg128", 2}] = r.tg2
	}
}

// llamaFigure returns llama.cpp's tokens/s for a model row, if measured.
func llamaFigure(shape string, d DType, test string, threads int) (float64, bool) {
	v, ok := llamaCpp[llamaKey{shape, d.llamaName(), test, threads}]
	return v, ok
}
