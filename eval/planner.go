package eval

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/quant"
)

// Ranking keys of the planner (PlanOptions.By).
const (
	PlanByFDTM = "fdtm" // individual FDTM, highest first (METRICS.md §1.6 reading A)
	PlanByPPL  = "ppl"  // individual perplexity increase, smallest first (the comparison of §1.6)
	PlanByKL   = "kl"   // individual mean KL, smallest first
)

// PlanOptions are the inputs of `divergo plan`: a mixed-precision plan
// chosen from per-component measurements (METRICS.md §1.6, reading A).
type PlanOptions struct {
	// Sweep holds the settings and samples. Its Specs are the candidate
	// settings of every component; with Sweep.Output set the sweep is
	// written there (and resumed) as by Sweep.
	Sweep SweepOptions
	// From, when set, supplies the individual measurements of a finished
	// sweep (ReadResults) instead of running one: its run must have the
	// model, corpus and sample settings of Sweep; its specs and components
	// replace Sweep's.
	From     *SweepHeader
	FromRows []SweepRow

	// By is the ranking key: PlanByFDTM (default), PlanByPPL or PlanByKL.
	By string
	// MinFDTM and MaxKL are the stopping rule (at least one): the plan is
	// the longest prefix of the ranking whose model-level FDTM stays at or
	// above MinFDTM and mean KL at or below MaxKL.
	MinFDTM, MaxKL *float64
	// Step is the number of components added between two measurements of
	// the whole model (default 1); larger steps cost fewer measurements and
	// may stop up to Step−1 components short.
	Step int

	// OnStep, when set, sees every measured step.
	OnStep func(PlanStep)
}

// A PlanRule is one rule of a plan file: the quant JSON form
// ({"select", "spec"}) with the component's numbers as metadata.
type PlanRule struct {
	Select string `json:"select"`
	Spec   string `json:"spec"`
	Params int64  `json:"params"`
	Bits   int64  `json:"bits"`
	// Rank is the position of this (component, spec) in the ranking, from 1,
	// and Key its value of the ranking metric.
	Rank int     `json:"rank"`
	Key  float64 `json:"key"`
}

// PlanStep is one measurement of the whole model with the components
// compressed so far.
type PlanStep struct {
	Step int `json:"step"`
	// Added lists the (component, spec) pairs this step compressed.
	Added      []string `json:"added"`
	Components int      `json:"components"` // compressed after this step
	// BitsPerWeight and CompressedShare are over the swept components.
	BitsPerWeight   float64 `json:"bits_per_weight"`
	CompressedShare float64 `json:"compressed_share"`
	FDTM            float64 `json:"fdtm"`
	SDTM            float64 `json:"sdtm"`
	KL              float64 `json:"kl"`
	SameTop         float64 `json:"same_top"`
	PPLRatio        float64 `json:"ppl_ratio"` // continuation perplexity, compressed/base
	// PredictedFDTM is what the individual measurements predict for this
	// set (PlanPrediction).
	PredictedFDTM float64 `json:"predicted_fdtm"`
	// Accepted is false for the step that broke the threshold (it is not
	// part of the plan).
	Accepted bool    `json:"accepted"`
	Seconds  float64 `json:"seconds"`
}

// PlanPrediction is what the components' individual measurements predict
// for the model with all of them compressed, assuming their effects add:
// KL is the sum of the individual mean KLs; SDTM the sum of the individual
// divergent-token shares (at most 1); FDTM the expected first divergence
// when every token diverges independently with probability p = SDTM,
// E[min(Geometric(p), G)] = (1−p)(1−(1−p)^G)/p (G when p = 0).
type PlanPrediction struct {
	KL   float64 `json:"kl"`
	SDTM float64 `json:"sdtm"`
	FDTM float64 `json:"fdtm"`
}

// PlanResult is a plan and how it was found. Marshalled, it is a plan file
// that `--quant @plan.json` reads: quant takes "rules" and ignores the rest.
type PlanResult struct {
	Rules []PlanRule `json:"rules"`

	Method   string   `json:"method"`
	RankedBy string   `json:"ranked_by"`
	MinFDTM  *float64 `json:"min_fdtm,omitempty"`
	MaxKL    *float64 `json:"max_kl,omitempty"`
	Step     int      `json:"step"`
	Stopped  string   `json:"stopped"`

	// BitsPerWeight is over the swept components (compressed ones at their
	// spec's storage, the others as stored in the model), and
	// BitsPerWeightModel over every parameter of the model (embeddings,
	// head and norms as stored). CompressedShare is the share of the swept
	// components' parameters the plan compresses, CompressedShareModel the
	// share of all parameters.
	BitsPerWeight        float64 `json:"bits_per_weight"`
	BitsPerWeightScope   string  `json:"bits_per_weight_scope"`
	BitsPerWeightModel   float64 `json:"bits_per_weight_model"`
	BaseBitsPerWeight    float64 `json:"base_bits_per_weight"`
	CompressedParams     int64   `json:"compressed_params"`
	SweptParams          int64   `json:"swept_params"`
	ModelParams          int64   `json:"model_params"`
	CompressedShare      float64 `json:"compressed_share"`
	CompressedShareModel float64 `json:"compressed_share_model"`
	Candidates           int     `json:"candidates"`

	// Predicted and Measured describe the model with the plan applied:
	// the additive prediction from the individual rows, and the
	// measurement on the sweep's samples (null for an empty plan).
	Predicted  PlanPrediction `json:"predicted"`
	Measured   *Divergence    `json:"measured"`
	Trajectory []PlanStep     `json:"trajectory"`

	// Run describes the measurements (model, corpus, n, G, S, specs).
	Run    SweepRun     `json:"sweep"`
	Notes  []string     `json:"notes,omitempty"`
	Sweep  *SweepResult `json:"-"`
	Timing PlanTiming   `json:"timing"`
}

// PlanTiming is the wall time of the planner's stages in seconds.
type PlanTiming struct {
	Sweep   float64 `json:"sweep_s"`   // the sweep (or reading it), references and the base pass
	Measure float64 `json:"measure_s"` // the whole-model measurements of the steps
	Total   float64 `json:"total_s"`
}

// planCandidate is one (component, spec) pair of the ranking.
type planCandidate struct {
	row  *SweepRow
	comp engine.Component
	spec quant.Spec
	key  float64
}

// Plan ranks every (component, setting) by its individual measurement and
// compresses them in that order, re-measuring the whole model after each
// step on the sweep's samples, until the next step would break the
// threshold (METRICS.md §1.6 reading A; docs/plan.md). A pair that would
// not lower its component's storage (a component already compressed to
// fewer bits) is passed over.
func Plan(e *Env, o PlanOptions) (PlanResult, error) {
	start := time.Now()
	if o.MinFDTM == nil && o.MaxKL == nil {
		return PlanResult{}, fmt.Errorf("plan: no threshold: give a minimum FDTM or a maximum KL")
	}
	if o.Step == 0 {
		o.Step = 1
	}
	if o.Step < 0 {
		return PlanResult{}, fmt.Errorf("plan: step %d must be ≥ 1", o.Step)
	}
	by := o.By
	if by == "" {
		by = PlanByFDTM
	}
	if by != PlanByFDTM && by != PlanByPPL && by != PlanByKL {
		return PlanResult{}, fmt.Errorf("plan: rank by %q: want fdtm, ppl or kl", by)
	}
	so := o.Sweep
	if so.Shard.N > 1 {
		return PlanResult{}, fmt.Errorf("plan: a plan needs the whole sweep, not shard %s", so.Shard)
	}
	if o.From != nil {
		var err error
		if so.Specs, err = quant.ParseSpecList(strings.Join(o.From.Run.Specs, ",")); err != nil {
			return PlanResult{}, fmt.Errorf("plan: sweep file: %w", err)
		}
		if so.Components, err = quant.ParseSelectorList(strings.Join(o.From.Run.Components, ",")); err != nil {
			return PlanResult{}, fmt.Errorf("plan: sweep file: %w", err)
		}
		so.Output = ""
	}
	sw, err := newSweeper(e, so)
	if err != nil {
		return PlanResult{}, fmt.Errorf("plan: %w", err)
	}
	defer sw.close()
	r := PlanResult{Method: "METRICS.md §1.6 reading A: rank (component, spec) pairs by their individual measurement, compress in that order, re-measure the whole model after each step, stop before the threshold is broken",
		Step: o.Step, MinFDTM: o.MinFDTM, MaxKL: o.MaxKL, Run: sw.run}

	var rows []SweepRow
	if o.From != nil {
		if err := planSameSamples(&o.From.Run, &sw.run); err != nil {
			return r, err
		}
		if o.From.Run.ISA != sw.run.ISA {
			r.Notes = append(r.Notes, fmt.Sprintf("the sweep ran on the %s kernel path, this plan measures on %s", o.From.Run.ISA, sw.run.ISA))
		}
		if len(o.FromRows) != o.From.Run.Jobs || o.From.Shard != "" {
			return r, fmt.Errorf("plan: the sweep file holds %d of its %d jobs; finish or merge it first", len(o.FromRows), o.From.Run.Jobs)
		}
		rows = o.FromRows
		r.Run = o.From.Run
	} else {
		sr, err := sw.sweep()
		if err != nil {
			return r, fmt.Errorf("plan: %w", err)
		}
		r.Sweep = &sr
		rows = sr.Rows
	}
	cands, label, err := planRank(sw, rows, by)
	if err != nil {
		return r, err
	}
	r.RankedBy, r.Candidates = label, len(cands)
	if sw.samples == nil {
		all := make([]int, e.Model.Config.Layers)
		for l := range all {
			all[l] = l
		}
		if err := sw.prepare(all); err != nil {
			return r, fmt.Errorf("plan: %w", err)
		}
	}
	r.Timing.Sweep = time.Since(start).Seconds()
	// Progress counts compared samples over the most steps there can be.
	units, total := 0, len(sw.samples)*((len(cands)+o.Step-1)/o.Step)
	sw.onSample = func() {
		units++
		if so.Progress != nil {
			so.Progress("plan", units, total)
		}
	}

	// Storage of every swept component as stored in the base model.
	stored := map[string]int64{}
	for _, c := range sw.comps {
		w, err := e.Model.Matrix(c.Name)
		if err != nil {
			return r, fmt.Errorf("plan: %w", err)
		}
		stored[c.Name] = int64(w.Rows) * int64(w.RowBytes()) * 8
		r.SweptParams += c.Params()
	}

	t0 := time.Now()
	assign := map[string]*planCandidate{}
	accepted := map[string]*planCandidate{}
	bits := func(a map[string]*planCandidate) (int64, int64) {
		var b, p int64
		for _, c := range sw.comps {
			if x, ok := a[c.Name]; ok {
				b += x.row.Bits
				p += x.comp.Params()
			} else {
				b += stored[c.Name]
			}
		}
		return b, p
	}
	var measured *Divergence
	r.Stopped = "every candidate compressed within the threshold"
	next := 0
	for step := 1; next < len(cands); step++ {
		ts := time.Now()
		var added []string
		for len(added) < o.Step && next < len(cands) {
			c := &cands[next]
			next++
			if cur, ok := assign[c.comp.Name]; ok && cur.row.Bits <= c.row.Bits {
				continue // would not lower the component's storage
			}
			assign[c.comp.Name] = c
			added = append(added, c.comp.Name+"="+c.spec.String())
		}
		if len(added) == 0 {
			break
		}
		d, err := sw.measure(assign)
		if err != nil {
			return r, fmt.Errorf("plan: step %d: %w", step, err)
		}
		b, p := bits(assign)
		ps := PlanStep{Step: step, Added: added, Components: len(assign),
			BitsPerWeight: float64(b) / float64(r.SweptParams), CompressedShare: float64(p) / float64(r.SweptParams),
			FDTM: d.FDTM.Mean, SDTM: d.SDTM.Mean, KL: d.KL.Mean, SameTop: d.SameTop, PPLRatio: d.Continuation.Ratio,
			PredictedFDTM: planPredict(assign, sw.G).FDTM}
		ps.Accepted = (o.MinFDTM == nil || d.FDTM.Mean >= *o.MinFDTM) && (o.MaxKL == nil || d.KL.Mean <= *o.MaxKL)
		ps.Seconds = time.Since(ts).Seconds()
		r.Trajectory = append(r.Trajectory, ps)
		if o.OnStep != nil {
			o.OnStep(ps)
		}
		if !ps.Accepted {
			var why []string
			if o.MinFDTM != nil && d.FDTM.Mean < *o.MinFDTM {
				why = append(why, fmt.Sprintf("FDTM %.3f < %g", d.FDTM.Mean, *o.MinFDTM))
			}
			if o.MaxKL != nil && d.KL.Mean > *o.MaxKL {
				why = append(why, fmt.Sprintf("KL %.4g > %g", d.KL.Mean, *o.MaxKL))
			}
			r.Stopped = fmt.Sprintf("step %d (%s) broke the threshold: %s; the plan is the state before it", step, strings.Join(added, ", "), strings.Join(why, ", "))
			break
		}
		accepted = make(map[string]*planCandidate, len(assign))
		for k, v := range assign {
			accepted[k] = v
		}
		dd := d
		measured = &dd
	}
	r.Timing.Measure = time.Since(t0).Seconds()

	// The plan: one rule per compressed component, in model order.
	r.Rules = []PlanRule{}
	for _, c := range sw.comps {
		x, ok := accepted[c.Name]
		if !ok {
			continue
		}
		r.Rules = append(r.Rules, PlanRule{Select: c.Name, Spec: x.spec.String(), Params: c.Params(), Bits: x.row.Bits,
			Rank: planIndex(cands, x) + 1, Key: x.key})
		r.CompressedParams += c.Params()
	}
	b, _ := bits(accepted)
	var base int64
	for _, c := range sw.comps {
		base += stored[c.Name]
	}
	r.BitsPerWeight = float64(b) / float64(r.SweptParams)
	r.BaseBitsPerWeight = float64(base) / float64(r.SweptParams)
	r.BitsPerWeightScope = fmt.Sprintf("the %d swept components (%d parameters), uncompressed ones as stored", len(sw.comps), r.SweptParams)
	r.CompressedShare = float64(r.CompressedParams) / float64(r.SweptParams)
	if r.ModelParams, r.BitsPerWeightModel, err = planModelBits(e.Model, accepted); err != nil {
		return r, fmt.Errorf("plan: %w", err)
	}
	r.CompressedShareModel = float64(r.CompressedParams) / float64(r.ModelParams)
	r.Predicted = planPredict(accepted, sw.G)
	r.Measured = measured
	r.Timing.Total = time.Since(start).Seconds()
	return r, nil
}

// planSameSamples checks that a sweep file measured on the samples this
// plan measures on.
func planSameSamples(file, mine *SweepRun) error {
	a, b := *file, *mine
	// Settings that do not change which samples are compared, or that the
	// file supplies.
	for _, r := range []*SweepRun{&a, &b} {
		r.ISA, r.Residual, r.PPL, r.PPLCtx, r.PPLChunks = "", "", "", 0, 0
		r.Specs, r.Components, r.Jobs = nil, nil, 0
	}
	if ok, why := a.Same(&b); !ok {
		return fmt.Errorf("plan: the sweep file was measured differently from this plan (%s); give the same model, corpus, --prompt-len, --gen, --samples, --kl-cut and --a8", why)
	}
	return nil
}

// planRank orders the candidates by the ranking key, most benign first.
func planRank(sw *sweeper, rows []SweepRow, by string) ([]planCandidate, string, error) {
	comps := map[string]engine.Component{}
	for _, c := range sw.comps {
		comps[c.Name] = c
	}
	corpus := by == PlanByPPL
	for i := range rows {
		if rows[i].Divergence != nil && rows[i].PPL == nil {
			corpus = false
		}
	}
	var out []planCandidate
	for i := range rows {
		row := &rows[i]
		if row.Divergence == nil {
			continue
		}
		c, ok := comps[row.Component]
		if !ok {
			return nil, "", fmt.Errorf("plan: sweep row %s is not a component of this model", row.Component)
		}
		spec, err := quant.ParseSpec(row.Spec)
		if err != nil {
			return nil, "", fmt.Errorf("plan: sweep row %d: %w", row.Job, err)
		}
		pc := planCandidate{row: row, comp: c, spec: spec}
		switch {
		case by == PlanByFDTM:
			pc.key = row.FDTM.Mean
		case by == PlanByKL:
			pc.key = row.KL.Mean
		case corpus:
			pc.key = *row.PPL / *row.PPLBase
		default:
			pc.key = row.Continuation.Ratio
		}
		out = append(out, pc)
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("plan: no component could take any of the settings")
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.key != b.key {
			if by == PlanByFDTM {
				return a.key > b.key
			}
			return a.key < b.key
		}
		if by == PlanByFDTM && a.row.KL.Mean != b.row.KL.Mean {
			return a.row.KL.Mean < b.row.KL.Mean
		}
		return a.row.Job < b.row.Job
	})
	label := map[string]string{
		PlanByFDTM: "fdtm: individual FDTM (mean first divergent token), highest first; ties by lower KL",
		PlanByKL:   "kl: individual mean KL(base||compressed), lowest first",
	}[by]
	if by == PlanByPPL {
		if corpus {
			label = "ppl: individual corpus perplexity ratio (compressed/base), lowest first"
		} else {
			label = "ppl: individual perplexity ratio of the base continuation (compressed/base), lowest first"
		}
	}
	return out, label, nil
}

func planIndex(cands []planCandidate, x *planCandidate) int {
	for i := range cands {
		if &cands[i] == x {
			return i
		}
	}
	return -1
}

// measure compares the base model with every assigned component
// compressed, starting each pass at the earliest layer a change affects.
func (sw *sweeper) measure(assign map[string]*planCandidate) (Divergence, error) {
	repl := map[string]*kernels.Matrix{}
	start := sw.e.Model.Config.Layers
	for name, c := range assign {
		q, err := sw.matrix(name, c.spec, true)
		if err != nil {
			return Divergence{}, err
		}
		repl[name] = q
		start = min(start, sw.startLayer(c.comp))
	}
	v, err := sw.e.Model.With(repl)
	if err != nil {
		return Divergence{}, err
	}
	defer v.Close()
	return sw.compare(v, start)
}

// planPredict is the additive prediction of PlanPrediction.
func planPredict(a map[string]*planCandidate, G int) PlanPrediction {
	var p PlanPrediction
	for _, c := range a {
		p.KL += c.row.KL.Mean
		p.SDTM += c.row.SDTM.Mean
	}
	p.SDTM = min(p.SDTM, 1)
	q := p.SDTM
	switch {
	case q <= 0:
		p.FDTM = float64(G)
	case q >= 1:
		p.FDTM = 0
	default:
		p.FDTM = (1 - q) * (1 - math.Pow(1-q, float64(G))) / q
	}
	return p
}

// planModelBits returns the model's parameter count and its bits per
// weight with the plan applied: every stored matrix (a tied embedding
// once, unless the plan gives the head its own matrix), the norms at 32
// bits.
func planModelBits(m *engine.Model, a map[string]*planCandidate) (int64, float64, error) {
	var bits, params int64
	for _, c := range m.Components() {
		x, ok := a[c.Name]
		if c.Name == "lm_head" && m.Tied() && !ok {
			continue
		}
		params += c.Params()
		if ok {
			bits += x.row.Bits
			continue
		}
		w, err := m.Matrix(c.Name)
		if err != nil {
			return 0, 0, err
		}
		bits += int64(w.Rows) * int64(w.RowBytes()) * 8
	}
	norms := int64(m.Config.Dim) * int64(2*m.Config.Layers+1)
	params += norms
	bits += 32 * norms
	return params, float64(bits) / float64(params), nil
}
