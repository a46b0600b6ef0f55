package eval

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// A SweepMetric is a number of a sweep row that a table is sorted by or a
// heatmap coloured by.
type SweepMetric struct {
	Name  string // fdtm, sdtm, kl, same_top, ppl
	Label string // axis and colour-bar label
	// HigherIsBetter says which end of the scale is the benign one.
	HigherIsBetter bool
	// Log asks for a logarithmic colour scale (KL spans decades).
	Log bool
	// Value returns the row's value; false for skipped rows.
	Value func(r *SweepRow) (float64, bool)
	// Format prints a value in a heatmap cell.
	Format func(v float64) string
}

// SweepMetricNames lists the metrics of ParseSweepMetric.
var SweepMetricNames = []string{"fdtm", "sdtm", "kl", "same_top", "ppl"}

// ParseSweepMetric returns the metric named by --metric. For "ppl" the
// rows decide: the corpus perplexity of the compressed model when the
// sweep measured it (--ppl), else the perplexity of the base model's
// continuation under the compressed one.
func ParseSweepMetric(name string, rows []SweepRow) (SweepMetric, error) {
	has := func(r *SweepRow) bool { return r.Divergence != nil }
	switch name {
	case "fdtm":
		return SweepMetric{Name: name, Label: "FDTM (mean first divergent token)", HigherIsBetter: true,
			Value:  func(r *SweepRow) (float64, bool) { return sweepIf(has(r), func() float64 { return r.FDTM.Mean }) },
			Format: func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }}, nil
	case "sdtm":
		return SweepMetric{Name: name, Label: "SDTM (share of divergent tokens)",
			Value:  func(r *SweepRow) (float64, bool) { return sweepIf(has(r), func() float64 { return r.SDTM.Mean }) },
			Format: func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }}, nil
	case "kl":
		return SweepMetric{Name: name, Label: "mean KL(base||compressed), nats", Log: true,
			Value:  func(r *SweepRow) (float64, bool) { return sweepIf(has(r), func() float64 { return r.KL.Mean }) },
			Format: func(v float64) string { return strconv.FormatFloat(v, 'g', 2, 64) }}, nil
	case "same_top":
		return SweepMetric{Name: name, Label: "same top (%)", HigherIsBetter: true,
			Value:  func(r *SweepRow) (float64, bool) { return sweepIf(has(r), func() float64 { return 100 * r.SameTop }) },
			Format: func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }}, nil
	case "ppl":
		corpus := len(rows) > 0
		any := false
		for i := range rows {
			if rows[i].Divergence != nil {
				any = true
				corpus = corpus && rows[i].PPL != nil
			}
		}
		corpus = corpus && any
		m := SweepMetric{Name: name, Format: func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }}
		if corpus {
			m.Label = "corpus perplexity of the compressed model"
			m.Value = func(r *SweepRow) (float64, bool) { return sweepIf(r.PPL != nil, func() float64 { return *r.PPL }) }
		} else {
			m.Label = "perplexity of the base continuation under the compressed model"
			m.Value = func(r *SweepRow) (float64, bool) {
				return sweepIf(has(r), func() float64 { return r.Continuation.PPL })
			}
		}
		return m, nil
	}
	return SweepMetric{}, fmt.Errorf("metric %q: want one of %s", name, strings.Join(SweepMetricNames, ", "))
}

func sweepIf(ok bool, v func() float64) (float64, bool) {
	if !ok {
		return 0, false
	}
	return v(), true
}

// SortByFDTM returns the rows ordered for the table: the most damaging
// component first (lowest FDTM; ties by higher mean KL, then job order),
// skipped rows last in job order.
func SortByFDTM(rows []SweepRow) []SweepRow {
	out := append([]SweepRow(nil), rows...)
	sort.SliceStable(out, func(a, b int) bool {
		ra, rb := &out[a], &out[b]
		if (ra.Divergence == nil) != (rb.Divergence == nil) {
			return ra.Divergence != nil
		}
		if ra.Divergence == nil {
			return ra.Job < rb.Job
		}
		if ra.FDTM.Mean != rb.FDTM.Mean {
			return ra.FDTM.Mean < rb.FDTM.Mean
		}
		if ra.KL.Mean != rb.KL.Mean {
			return ra.KL.Mean > rb.KL.Mean
		}
		return ra.Job < rb.Job
	})
	return out
}

// WriteMarkdown writes the rows as a Markdown table sorted by FDTM, most
// damaging first (SortByFDTM), under a short description of the run.
func WriteMarkdown(w io.Writer, h SweepHeader, rows []SweepRow) error {
	run := &h.Run
	var b strings.Builder
	fmt.Fprintf(&b, "Sweep of %s, settings %s, %d jobs", heatModelName(run), strings.Join(run.Specs, ", "), run.Jobs)
	if h.Shard != "" {
		fmt.Fprintf(&b, " (shard %s)", h.Shard)
	}
	fmt.Fprintf(&b, ".  \nCorpus %s; n = %d prompt tokens, G = %d compared tokens, S = %d prompts requested; KL over the %s; kernels %s.  \n",
		run.Corpus, run.PromptLen, run.Gen, run.Samples, run.KLSupport, run.ISA)
	b.WriteString("Sorted by FDTM, most damaging first. FDTM: mean first divergent token (of G, higher is better); SDTM: share of divergent tokens; ")
	b.WriteString("PPL ratio: perplexity of the base continuation, compressed/base.\n\n")
	corpus := false
	for i := range rows {
		corpus = corpus || rows[i].PPL != nil
	}
	b.WriteString("| # | component | spec | params | bits/w | FDTM | median | p10 | never diverged | SDTM | KL mean | KL p99 | same top | PPL ratio |")
	if corpus {
		b.WriteString(" corpus PPL |")
	}
	b.WriteString(" s |\n|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	if corpus {
		b.WriteString("---:|")
	}
	b.WriteString("---:|\n")
	for i, r := range SortByFDTM(rows) {
		fmt.Fprintf(&b, "| %d | %s | %s | %d |", i+1, r.Component, r.Spec, r.Params)
		if r.Divergence == nil {
			fmt.Fprintf(&b, " | skipped: %s |||||||||", mdEscape(r.Skipped))
			if corpus {
				b.WriteString("|")
			}
			fmt.Fprintf(&b, " %.2f |\n", r.Timing.Seconds)
			continue
		}
		fmt.Fprintf(&b, " %.3f | %.2f ± %.2f | %.1f | %.1f | %.1f %% | %.4f | %.3g | %.3g | %.2f %% | %.4f |",
			r.BitsPerWeight, r.FDTM.Mean, r.FDTM.Unc, r.FDTM.Median, r.FDTM.P10, 100*r.FDTM.FullShare,
			r.SDTM.Mean, r.KL.Mean, r.KL.P99, 100*r.SameTop, r.Continuation.Ratio)
		if corpus {
			if r.PPL != nil {
				fmt.Fprintf(&b, " %.4f |", *r.PPL)
			} else {
				b.WriteString(" |")
			}
		}
		fmt.Fprintf(&b, " %.2f |\n", r.Timing.Seconds)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// csvColumns are the columns of WriteCSV.
var csvColumns = []string{"job", "component", "layer", "kind", "spec", "params", "bits", "bits_per_weight", "skipped",
	"samples", "gen", "flagged", "fdtm_mean", "fdtm_unc", "fdtm_median", "fdtm_p10", "fdtm_min", "fdtm_full_share",
	"sdtm_mean", "sdtm_unc", "kl_mean", "kl_unc", "kl_median", "kl_p99", "kl_max", "same_top", "delta_p_rms",
	"nll_base", "nll", "ppl_ratio", "corpus_ppl_base", "corpus_ppl", "seconds"}

// WriteCSV writes one line per row in job order with the main numbers at
// full precision (empty cells for skipped rows and absent values).
func WriteCSV(w io.Writer, rows []SweepRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	fp := func(v *float64) string {
		if v == nil {
			return ""
		}
		return f(*v)
	}
	sorted := append([]SweepRow(nil), rows...)
	sortRows(sorted)
	for _, r := range sorted {
		rec := []string{strconv.Itoa(r.Job), r.Component, strconv.Itoa(r.Layer), r.Kind, r.Spec,
			strconv.FormatInt(r.Params, 10), "", "", r.Skipped}
		if r.Skipped == "" {
			rec[6], rec[7] = strconv.FormatInt(r.Bits, 10), f(r.BitsPerWeight)
		}
		if d := r.Divergence; d != nil {
			rec = append(rec, strconv.Itoa(d.Samples), strconv.Itoa(d.Gen), strconv.Itoa(d.Flagged),
				f(d.FDTM.Mean), f(d.FDTM.Unc), f(d.FDTM.Median), f(d.FDTM.P10), f(d.FDTM.Min), f(d.FDTM.FullShare),
				f(d.SDTM.Mean), f(d.SDTM.Unc), f(d.KL.Mean), f(d.KL.Unc), f(d.KL.Median), f(d.KL.P99), f(d.KL.Max),
				f(d.SameTop), f(d.DeltaP.RMS), f(d.Continuation.NLLBase), f(d.Continuation.NLL), f(d.Continuation.Ratio))
		} else {
			for range 21 {
				rec = append(rec, "")
			}
		}
		rec = append(rec, fp(r.PPLBase), fp(r.PPL), f(r.Timing.Seconds))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// sweepFinite reports whether v can be placed on a colour scale.
func sweepFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
