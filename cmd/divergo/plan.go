package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/divergo/divergo/eval"
)

func init() {
	register("plan", "choose per-component precision from the sweep's measurements (FDTM-guided mixed precision)", runPlan)
}

func runPlan(args []string) error {
	fs, c := newFlags("plan", "--quant SPECS (--min-fdtm X | --max-kl Y) [-f CORPUS] [--by fdtm|ppl|kl] [--step k] [--from sweep.jsonl] -o plan.json")
	var sf sweepFlags
	addSweepFlags(fs, &sf, "int8")
	out := fs.String("o", "plan.json", "plan file to write (usable as --quant @FILE)")
	minFDTM := fs.Float64("min-fdtm", math.NaN(), "keep the model-level FDTM (mean first divergent token, of --gen) at or above X")
	maxKL := fs.Float64("max-kl", math.NaN(), "keep the model-level mean KL(base||compressed) in nats at or below Y")
	by := fs.String("by", eval.PlanByFDTM, "rank components by their individual fdtm (highest first), ppl (lowest perplexity ratio first) or kl (lowest first)")
	step := fs.Int("step", 1, "components added between two measurements of the whole model")
	from := fs.String("from", "", "take the individual measurements from this finished sweep file instead of running a sweep")
	sweepOut := fs.String("sweep-out", "", "also write the sweep's rows to this results file (resumed when it holds the same run)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var o eval.PlanOptions
	var err error
	if o.Sweep, err = sf.options(c); err != nil {
		return err
	}
	if !math.IsNaN(*minFDTM) {
		o.MinFDTM = minFDTM
	}
	if !math.IsNaN(*maxKL) {
		o.MaxKL = maxKL
	}
	if o.MinFDTM == nil && o.MaxKL == nil {
		return usageError{fmt.Errorf("give a threshold: --min-fdtm X (tokens of --gen) and/or --max-kl Y (nats)")}
	}
	if *step < 1 {
		return usageError{fmt.Errorf("--step %d must be ≥ 1", *step)}
	}
	o.By, o.Step = *by, *step
	if *from != "" {
		h, rows, err := eval.ReadResults(*from)
		if err != nil {
			return err
		}
		o.From, o.FromRows = &h, rows
	}
	if *sweepOut != "" {
		if *from != "" {
			return usageError{fmt.Errorf("--sweep-out with --from: the sweep is already in %s", *from)}
		}
		o.Sweep.Output, o.Sweep.Resume = *sweepOut, true
	}

	e, err := c.open(sf.context(&o.Sweep))
	if err != nil {
		return err
	}
	defer e.Close()
	sp := newSweepProgress(os.Stderr, sweepStderrTerminal())
	o.Sweep.Progress, o.Sweep.OnRow = sp.update, sp.row
	o.OnStep = func(s eval.PlanStep) {
		if sp.tty {
			sp.step()
			return
		}
		fmt.Fprintf(os.Stderr, "plan: step %d (+%s): %d components, %.3f bits/weight, FDTM %.2f, KL %.4g%s\n", s.Step, strings.Join(s.Added, " "), s.Components,
			s.BitsPerWeight, s.FDTM, s.KL, map[bool]string{true: "", false: " — threshold broken"}[s.Accepted])
	}
	r, err := eval.Plan(e, o)
	sp.finish()
	if err != nil {
		return err
	}
	err = eval.WriteFileAtomic(*out, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	})
	if err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(os.Stderr, "divergo plan: note: %s\n", n)
	}
	if c.json {
		return emit(r)
	}
	printPlan(&r, *out)
	return nil
}

func printPlan(r *eval.PlanResult, out string) {
	run := &r.Run
	th := []string{}
	if r.MinFDTM != nil {
		th = append(th, fmt.Sprintf("FDTM ≥ %g (of G = %d)", *r.MinFDTM, run.Gen))
	}
	if r.MaxKL != nil {
		th = append(th, fmt.Sprintf("mean KL ≤ %g nats", *r.MaxKL))
	}
	printf("plan        %s: %d of %d swept components compressed (settings %s)\n", out, len(r.Rules), len(run.Components), strings.Join(run.Specs, ", "))
	printf("threshold   %s, measured on the whole model after every %d component(s)\n", strings.Join(th, " and "), r.Step)
	printf("ranked by   %s (%d candidates)\n", r.RankedBy, r.Candidates)
	printf("stopped     %s\n", r.Stopped)
	printf("bits        %.3f bits/weight over %s (%.3f before); %.3f over all %d parameters\n",
		r.BitsPerWeight, r.BitsPerWeightScope, r.BaseBitsPerWeight, r.BitsPerWeightModel, r.ModelParams)
	printf("compressed  %.2f %% of the swept parameters, %.2f %% of all parameters\n", 100*r.CompressedShare, 100*r.CompressedShareModel)
	if m := r.Measured; m != nil {
		printf("measured    FDTM %.2f ± %.2f, SDTM %.4f, KL %.4g, same top %.2f %%, continuation PPL ratio %.4f (%d samples)\n",
			m.FDTM.Mean, m.FDTM.Unc, m.SDTM.Mean, m.KL.Mean, 100*m.SameTop, m.Continuation.Ratio, m.Samples)
	} else {
		printf("measured    nothing compressed: the first step already broke the threshold\n")
	}
	printf("predicted   FDTM %.2f, SDTM %.4f, KL %.4g (individual effects added)\n\n", r.Predicted.FDTM, r.Predicted.SDTM, r.Predicted.KL)
	printf("| step | added | components | bits/w | FDTM | predicted FDTM | KL | same top | |\n|---:|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, s := range r.Trajectory {
		mark := ""
		if !s.Accepted {
			mark = "threshold broken"
		}
		printf("| %d | %s | %d | %.3f | %.2f | %.2f | %.4g | %.2f %% | %s |\n", s.Step, strings.Join(s.Added, " "), s.Components, s.BitsPerWeight,
			s.FDTM, s.PredictedFDTM, s.KL, 100*s.SameTop, mark)
	}
	printf("\ntime        %.2f s: sweep %.2f, measurements %.2f\n", r.Timing.Total, r.Timing.Sweep, r.Timing.Measure)
}
