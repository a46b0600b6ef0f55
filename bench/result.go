package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// A Row is one measured figure.
type Row struct {
	// Name is the test: "pp512" and "tg128" (llama-bench's prompt
	// processing and text generation), "gemm" (n = 512 activation rows) or
	// "gemv" (one row).
	Name  string `json:"name"`
	Shape string `json:"shape"`
	DType string `json:"dtype"`
	// Matrix names the weight matrix of a kernel row ("mlp.up 5632×2048").
	Matrix  string `json:"matrix,omitempty"`
	ISA     string `json:"isa"`
	Threads int    `json:"threads"`
	// Unit is "tok/s", "GFLOP/s" (int8 operations for W·A8 rows), "GB/s"
	// (weight bytes read) or "TFLOP/s" (GPU rows).
	Unit string `json:"unit"`
	// Value and Std are the mean and standard deviation over Reps
	// repetitions.
	Value float64 `json:"value"`
	Std   float64 `json:"std"`
	Reps  int     `json:"reps"`
	// Best is the fastest repetition: on a machine shared with other work,
	// the steadiest estimate of what the code can do.
	Best float64 `json:"best"`
	// Limit is the development machine's bound on Value (ENGINE-NOTES §5):
	// compute peak for gemm and pp, streaming bandwidth for gemv and tg.
	// LimitShare = Value / Limit.
	Limit      float64 `json:"limit"`
	LimitShare float64 `json:"limit_share"`
	// LlamaCpp is llama.cpp's figure for the same test on the development
	// machine (ENGINE-NOTES §1.5), null when it was not measured.
	LlamaCpp *float64 `json:"llamacpp"`
	// Bytes is the weight bytes of the model or matrix.
	Bytes int64 `json:"bytes"`
	// CPUShare is the process CPU time over wall time × threads during the
	// repetitions: well below 1 means the machine was busy with other work
	// and Value understates the code.
	CPUShare float64 `json:"cpu_share"`
}

// Machine describes where a benchmark ran.
type Machine struct {
	CPU       string `json:"cpu"`
	GoVersion string `json:"go"`
	// LoadBefore and LoadAfter are the 1-, 5- and 15-minute load averages
	// (/proc/loadavg) before and after the run; null where unavailable.
	LoadBefore *[3]float64 `json:"load_before"`
	LoadAfter  *[3]float64 `json:"load_after"`
	// GPU describes the device of the cuda rows, if any.
	GPU string `json:"gpu,omitempty"`
}

// A Result is a benchmark table.
type Result struct {
	Rows    []Row   `json:"rows"`
	Machine Machine `json:"machine"`
	// Limits are the bounds the limit shares are taken against.
	Limits Limits `json:"limits"`
	Timing struct {
		TotalS float64 `json:"total_s"`
	} `json:"timing"`
}

// WriteJSON writes the result as one indented JSON document.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the result as a Markdown table, each figure beside
// its share of the machine limit and llama.cpp's figure.
func (r *Result) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "| test | shape | dtype | isa | t | value | best | unit | of limit | llama.cpp | vs llama.cpp | cpu |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|\n")
	for _, row := range r.Rows {
		test := row.Name
		if row.Matrix != "" {
			test += " " + row.Matrix
		}
		llama, ratio := "", ""
		if row.LlamaCpp != nil {
			llama = formatValue(*row.LlamaCpp)
			ratio = fmt.Sprintf("%.2f×", row.Value / *row.LlamaCpp)
		}
		limit := "" // no limit known (GPU rows)
		if row.Limit > 0 {
			limit = fmt.Sprintf("%.0f%% of %s", 100*row.LimitShare, formatValue(row.Limit))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s ± %s | %s | %s | %s | %s | %s | %.0f%% |\n",
			test, row.Shape, row.DType, row.ISA, row.Threads, formatValue(row.Value), formatValue(row.Std),
			formatValue(row.Best), row.Unit, limit, llama, ratio, 100*row.CPUShare)
	}
	m := r.Machine
	fmt.Fprintf(&b, "\n%s; %s", m.CPU, m.GoVersion)
	if m.GPU != "" {
		fmt.Fprintf(&b, "; GPU %s", m.GPU)
	}
	if m.LoadBefore != nil && m.LoadAfter != nil {
		fmt.Fprintf(&b, "; load average %.2f before, %.2f after", m.LoadBefore[0], m.LoadAfter[0])
	}
	fmt.Fprintf(&b, ".\nLimits per core: float32 %s GFLOP/s, int8 %s GOP/s; read bandwidth %s GB/s (1 core), %s (2 cores).\n",
		formatValue(r.Limits.FP32), formatValue(r.Limits.Int8), formatValue(r.Limits.Bandwidth[0]), formatValue(r.Limits.Bandwidth[1]))
	_, err := io.WriteString(w, b.String())
	return err
}

// formatValue prints three significant digits, at least the units.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
