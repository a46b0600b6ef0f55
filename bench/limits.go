package bench

// Limits are what the development machine can do at best (ENGINE-NOTES §5,
// measured there with C/OpenMP microbenchmarks): per-core compute peaks and
// streaming read bandwidth. Every row prints its value as a share of the
// limit that bounds it. The machine has two cores; more threads get the
// two-core figures.
type Limits struct {
	// FP32 is the float32 FMA peak of one core in GFLOP/s (AVX-512, 16
	// independent zmm chains).
	FP32 float64
	// Int8 is the int8 dot peak of one core in GOP/s (VNNI-512 VPDPBUSD).
	Int8 float64
	// Bandwidth is the DRAM streaming read in GB/s of 1 and 2 cores (2 GiB
	// buffer).
	Bandwidth [2]float64
}

// DevMachine returns the limits of the development machine (ENGINE-NOTES §5).
func DevMachine() Limits {
	return Limits{FP32: 227, Int8: 853, Bandwidth: [2]float64{15.8, 30.1}}
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
