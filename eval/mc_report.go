package eval

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/metrics"
)

// MCResult is what `divergo mc` reports. Without a plan, Acc and AccNorm
// are the model's and equal BaseAcc and BaseAccNorm, and Flips is nil. With
// a plan, Acc and AccNorm are the compressed model's, Base* the original's,
// and Flips the mcShare of items whose correctness changed under Rule.
// Fractions, not percent. Everything but Timing is deterministic.
type MCResult struct {
	Task          string     `json:"task"`
	File          string     `json:"file"`
	Model         string     `json:"model"`
	Plan          string     `json:"plan,omitempty"`
	Changed       int        `json:"changed_matrices,omitempty"`
	BitsPerWeight float64    `json:"bits_per_weight,omitempty"` // of the compressed matrices
	A8            bool       `json:"a8,omitempty"`              // compressed matrices run with int8 activations
	UnusedRules   []string   `json:"unused_rules,omitempty"`    // plan rules that select no component
	Shots         int        `json:"shots"`
	N             int        `json:"n"`    // items scored
	Rule          string     `json:"rule"` // decision rule of flips and BBQ: acc or acc_norm
	Acc           float64    `json:"acc"`
	AccNorm       float64    `json:"acc_norm"`
	AccStderr     float64    `json:"acc_stderr"` // sqrt(acc(1−acc)/(n−1)), as lm-eval reports it
	BaseAcc       float64    `json:"base_acc"`
	BaseAccNorm   float64    `json:"base_acc_norm"`
	Flips         *float64   `json:"flips"`             // (C→I + I→C)/N under Rule; null without a plan
	Compare       *MCCompare `json:"compare,omitempty"` // with a plan
	Subsets       []MCSubset `json:"subsets,omitempty"` // MMLU subjects, BBQ categories
	BBQ           *MCBBQ     `json:"bbq,omitempty"`
	MaxLen        int        `json:"max_len"`   // token window; longer requests are cut from the left
	BOS           bool       `json:"bos"`       // contexts start with BOS
	Truncated     int        `json:"truncated"` // items with a request cut from the left
	// Skipped lists the items left out because an option alone is longer
	// than the window (lm-eval cannot score them either); N excludes them.
	Skipped   []string `json:"skipped,omitempty"`
	Requests  int      `json:"requests"`  // (context, continuation) pairs scored per model
	Positions int      `json:"positions"` // token positions run per model (after KV reuse)
	Timing    MCTiming `json:"timing"`
	// Items holds one row per item when MCOptions.Items is set (written to
	// a JSONL file, not part of the JSON document).
	Items []MCItem `json:"-"`
}

// MCTiming is the only part of MCResult that varies between runs.
type MCTiming struct {
	Seconds        float64 `json:"seconds"`          // scoring, both models with a plan
	ItemsPerSecond float64 `json:"items_per_second"` // items per second of scoring (each item on every model)
	Threads        int     `json:"threads"`
	Workers        int     `json:"workers"` // items scored at once
	// Resumed is the number of items whose scores were read from a
	// checkpoint (--resume) rather than computed by this run; the rate
	// counts only the others.
	Resumed int `json:"resumed_items,omitempty"`
}

// MCCompare compares the base and compressed models' answers under both
// decision rules (METRICS.md §2.2–§2.4).
type MCCompare struct {
	Acc     MCFlips `json:"acc"`
	AccNorm MCFlips `json:"acc_norm"`
}

// MCFlips is the comparison under one decision rule.
type MCFlips struct {
	Flips          float64 `json:"flips"`            // (C→I + I→C)/N
	CorrectToWrong int     `json:"correct_to_wrong"` // C→I
	WrongToCorrect int     `json:"wrong_to_correct"` // I→C
	WrongToWrong   int     `json:"wrong_to_wrong"`   // W→W′: a different wrong answer
	AllChanges     float64 `json:"all_changes"`      // (C→I + I→C + W→W′)/N
	DeltaAcc       float64 `json:"delta_acc"`        // compressed − base accuracy
	// Option distributions P = softmax over the options of the rule's
	// scores (log-likelihoods, or per-character log-likelihoods for
	// acc_norm); means over items.
	OptionKL         float64  `json:"option_kl"`          // KL(P_base ‖ P_comp), nats
	OptionKLMax      float64  `json:"option_kl_max"`      // largest per-item KL
	OptionKLReverse  float64  `json:"option_kl_reverse"`  // KL(P_comp ‖ P_base)
	ProbShift        float64  `json:"prob_shift"`         // Σ_i |P_comp(i) − P_base(i)|
	TopMargin        float64  `json:"top_margin"`         // P_base(1st) − P_base(2nd)
	TopMarginFlipped *float64 `json:"top_margin_flipped"` // mean top margin of the flipped items; null if none
	NearTies         int      `json:"near_ties"`          // items with base top margin < 1e-6 (§2.2)
}

// MCSubset is the result on one MMLU subject or BBQ category.
type MCSubset struct {
	Name        string   `json:"name"`
	N           int      `json:"n"` // items scored
	Acc         float64  `json:"acc"`
	AccNorm     float64  `json:"acc_norm"`
	BaseAcc     float64  `json:"base_acc"`
	BaseAccNorm float64  `json:"base_acc_norm"`
	Flips       *float64 `json:"flips"`
}

// MCBBQ holds BBQ's accuracy and bias scores per category (METRICS.md §4.3)
// for the model (the compressed one with a plan) and, with a plan, the base.
type MCBBQ struct {
	Rule string `json:"rule"` // "official" or "repo"
	// Untargeted counts items whose stereotyped option could not be found;
	// the official rule leaves them out.
	Untargeted int         `json:"untargeted"`
	Model      MCBBQTable  `json:"model"`
	Base       *MCBBQTable `json:"base,omitempty"`
	Undefined  []string    `json:"undefined,omitempty"` // why a value is null
}

// MCBBQTable is a BBQ report: per category and the mean over categories.
// Undefined values (no items, no non-UNKNOWN answers) are null.
type MCBBQTable struct {
	Categories []MCBBQRow `json:"categories"`
	Mean       MCBBQRow   `json:"mean"`
}

// MCBBQRow is one category's BBQ values.
type MCBBQRow struct {
	Name   string   `json:"name"`
	NAmb   int      `json:"n_amb"`
	NDis   int      `json:"n_dis"`
	AccAmb *float64 `json:"acc_amb"`
	AccDis *float64 `json:"acc_dis"`
	SAmb   *float64 `json:"s_amb"`
	SDis   *float64 `json:"s_dis"`
}

// MCItem is one item's row of `divergo mc --items`.
type MCItem struct {
	Index     int       `json:"i"`
	ID        string    `json:"id"`
	Subset    string    `json:"subset,omitempty"`
	Gold      int       `json:"gold"`
	Lengths   []int     `json:"lengths"` // option lengths in characters (acc_norm)
	Truncated bool      `json:"truncated,omitempty"`
	Model     MCAnswer  `json:"model"`
	Base      *MCAnswer `json:"base,omitempty"`
	// Change is the answer change under the rule: "c2i" (correct to
	// wrong), "i2c", "w2w" (another wrong answer), "" (none).
	Change   string   `json:"change,omitempty"`
	OptionKL *float64 `json:"option_kl,omitempty"` // under the rule
}

// MCAnswer is one model's scores and answers to an item.
type MCAnswer struct {
	LL          []float64 `json:"ll"` // log-likelihood of each option, nats
	Pred        int       `json:"pred"`
	PredNorm    int       `json:"pred_norm"`
	Correct     bool      `json:"correct"`
	CorrectNorm bool      `json:"correct_norm"`
}

// MC scores a multiple-choice task on e's model and, with o.Plan, on the
// model compressed under the plan, and compares them (METRICS.md §2, §4.3).
// Scoring follows lm-evaluation-harness: each option's log-likelihood is
// the sum over its continuation tokens; acc takes the argmax, acc_norm the
// argmax per character of the option text; ties go to the lowest option.
func MC(e *Env, t *Task, o MCOptions) (MCResult, error) {
	rule := o.Rule
	if rule == "" {
		rule = t.Rule
	}
	if rule != "acc" && rule != "acc_norm" {
		return MCResult{}, fmt.Errorf("mc: decision rule %q is not acc or acc_norm", rule)
	}
	if len(t.Items) == 0 {
		return MCResult{}, fmt.Errorf("mc: %s: no items", t.Name)
	}
	base := e.Model
	maxLen := o.MaxLen
	if maxLen <= 0 {
		maxLen = base.Config.MaxSeq
	}
	if maxLen < 2 {
		return MCResult{}, fmt.Errorf("mc: token window %d is too short", maxLen)
	}
	res := MCResult{Task: t.Name, File: t.Path, Model: base.Source.Path, Shots: t.Shots, N: len(t.Items),
		Rule: rule, MaxLen: maxLen}
	if res.Model == "" {
		res.Model = engine.EmbeddedName
	}
	models := []*engine.Model{base}
	if o.Plan != nil {
		comp, changes, err := base.ApplyPlan(o.Plan)
		if err != nil {
			return MCResult{}, fmt.Errorf("mc: %w", err)
		}
		if o.A8 {
			v, _, err := comp.WithA8()
			comp.Close()
			if err != nil {
				return MCResult{}, fmt.Errorf("mc: %w", err)
			}
			comp = v
		}
		defer comp.Close()
		models = append(models, comp)
		res.Plan, res.Changed, res.A8 = o.Plan.String(), len(changes), o.A8
		var params, bits int64
		for _, c := range changes {
			params += c.Params
			bits += c.Bits
		}
		if params > 0 {
			res.BitsPerWeight = float64(bits) / float64(params)
		}
		var names []string
		for _, c := range base.Components() {
			names = append(names, c.Name)
		}
		for _, r := range o.Plan.Unused(names) {
			res.UnusedRules = append(res.UnusedRules, r.String())
		}
	}
	var ck *mcCheckpoint
	if o.Checkpoint != "" {
		id, err := newMCRun(models, t, o, res.Plan, maxLen)
		if err != nil {
			return MCResult{}, fmt.Errorf("mc: %w", err)
		}
		if ck, err = openMCCheckpoint(o.Checkpoint, id, t.Items, len(models), o.Resume); err != nil {
			return MCResult{}, err // "checkpoint PATH: …"
		}
		defer ck.close()
	}
	run, err := scoreItems(e, models, t.Items, o, maxLen, ck)
	var ce checkpointError
	if errors.As(err, &ce) {
		return MCResult{}, ce.error
	}
	if err != nil {
		return MCResult{}, fmt.Errorf("mc: %w", err)
	}
	res.BOS = newMCEncoder(base.Tokenizer, o.NoBOS, maxLen).bos
	res.Requests = run.requests
	res.Positions = run.ran[0]
	res.Timing = MCTiming{Seconds: run.seconds, ItemsPerSecond: float64(len(t.Items)-run.resumed) / run.seconds,
		Threads: e.Pool.Threads(), Workers: run.workers, Resumed: run.resumed}

	// Leave out the items with an option longer than the window.
	var items []Item
	var index []int // task index of each item kept
	lls := make([][][]float64, len(models))
	for i, it := range t.Items {
		if run.skipped[i] {
			res.Skipped = append(res.Skipped, it.ID)
			continue
		}
		items, index = append(items, it), append(index, i)
		for m := range models {
			lls[m] = append(lls[m], run.ll[m][i])
		}
		if run.truncated[i] {
			res.Truncated++
		}
	}
	res.N = len(items)
	if res.N == 0 {
		return MCResult{}, fmt.Errorf("mc: %s: every item has an option longer than the %d-token window", t.Name, maxLen)
	}

	// Answers of each model under both rules.
	lengths := make([][]int, len(items))
	for i, it := range items {
		lengths[i] = make([]int, len(it.Choices))
		for k, c := range it.Choices {
			lengths[i][k] = max(1, utf8.RuneCountInString(c.Text))
		}
	}
	answers := make([]mcAnswers, len(models))
	for m := range models {
		if answers[m], err = mcAnswer(items, lls[m], lengths); err != nil {
			return MCResult{}, fmt.Errorf("mc: %w", err)
		}
	}
	model := answers[len(answers)-1] // the compressed model with a plan
	res.Acc, res.AccNorm = model.acc(), model.accNorm()
	res.BaseAcc, res.BaseAccNorm = answers[0].acc(), answers[0].accNorm()
	if n := float64(len(items)); n > 1 {
		res.AccStderr = math.Sqrt(res.Acc * (1 - res.Acc) / (n - 1))
	}
	var cmp *mcComparison
	if o.Plan != nil {
		if cmp, err = mcCompare(answers[0], model, rule); err != nil {
			return MCResult{}, fmt.Errorf("mc: %w", err)
		}
		res.Compare = &cmp.report
		f := cmp.rule().Flips
		res.Flips = &f
	}
	res.Subsets = mcSubsets(items, answers, rule)
	if t.Name == "bbq" {
		if res.BBQ, err = mcBBQ(items, answers, rule, o.BBQRule); err != nil {
			return MCResult{}, fmt.Errorf("mc: %w", err)
		}
	}
	if o.Items {
		res.Items = make([]MCItem, len(items))
		for i, it := range items {
			row := MCItem{Index: index[i], ID: it.ID, Subset: it.Subset, Gold: it.Gold, Lengths: lengths[i],
				Truncated: run.truncated[index[i]], Model: model.row(i)}
			if cmp != nil {
				b := answers[0].row(i)
				row.Base = &b
				row.Change = cmp.change[rule][i]
				kl := cmp.kl[rule][i]
				row.OptionKL = &kl
			}
			res.Items[i] = row
		}
	}
	return res, nil
}

// mcAnswers is one model's log-likelihoods and answers to every item.
type mcAnswers struct {
	ll, norm          [][]float64
	gold              []int
	pred, predNorm    []int
	correct, corrNorm []bool
}

func mcAnswer(items []Item, ll [][]float64, lengths [][]int) (mcAnswers, error) {
	a := mcAnswers{ll: ll, norm: make([][]float64, len(items)), gold: make([]int, len(items)),
		pred: make([]int, len(items)), predNorm: make([]int, len(items)),
		correct: make([]bool, len(items)), corrNorm: make([]bool, len(items))}
	for i, it := range items {
		norm, err := metrics.LengthNormalized(ll[i], lengths[i])
		if err != nil {
			return a, fmt.Errorf("%s: %w", it.ID, err)
		}
		a.norm[i] = norm
		a.gold[i] = it.Gold
		a.pred[i] = metrics.Choose(ll[i])
		a.predNorm[i] = metrics.Choose(norm)
		a.correct[i] = a.pred[i] == it.Gold
		a.corrNorm[i] = a.predNorm[i] == it.Gold
	}
	return a, nil
}

func mcShare(b []bool) float64 {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return float64(n) / float64(len(b))
}

func (a mcAnswers) acc() float64     { return mcShare(a.correct) }
func (a mcAnswers) accNorm() float64 { return mcShare(a.corrNorm) }

// scores returns the per-item scores and predictions of a rule.
func (a mcAnswers) scores(rule string) ([][]float64, []int) {
	if rule == "acc_norm" {
		return a.norm, a.predNorm
	}
	return a.ll, a.pred
}

func (a mcAnswers) row(i int) MCAnswer {
	return MCAnswer{LL: a.ll[i], Pred: a.pred[i], PredNorm: a.predNorm[i], Correct: a.correct[i], CorrectNorm: a.corrNorm[i]}
}

// mcComparison is the comparison under both rules, with per-item values.
type mcComparison struct {
	report MCCompare
	which  string
	change map[string][]string
	kl     map[string][]float64
}

func (c *mcComparison) rule() MCFlips {
	if c.which == "acc_norm" {
		return c.report.AccNorm
	}
	return c.report.Acc
}

func mcCompare(base, comp mcAnswers, rule string) (*mcComparison, error) {
	c := &mcComparison{which: rule, change: map[string][]string{}, kl: map[string][]float64{}}
	for _, r := range []string{"acc", "acc_norm"} {
		f, change, kl, err := mcFlips(base, comp, r)
		if err != nil {
			return nil, err
		}
		if r == "acc" {
			c.report.Acc = f
		} else {
			c.report.AccNorm = f
		}
		c.change[r], c.kl[r] = change, kl
	}
	return c, nil
}

// mcFlips compares two models' answers to the same items under one rule.
func mcFlips(base, comp mcAnswers, rule string) (MCFlips, []string, []float64, error) {
	bs, bp := base.scores(rule)
	cs, cp := comp.scores(rule)
	ba, err := metrics.Grade(base.gold, bp)
	if err != nil {
		return MCFlips{}, nil, nil, err
	}
	ca, err := metrics.Grade(comp.gold, cp)
	if err != nil {
		return MCFlips{}, nil, nil, err
	}
	fc, err := metrics.CountFlips(ba, ca)
	if err != nil {
		return MCFlips{}, nil, nil, err
	}
	f := MCFlips{Flips: fc.Flips(), CorrectToWrong: fc.CorrectToIncorrect, WrongToCorrect: fc.IncorrectToCorrect,
		WrongToWrong: fc.WrongToWrong, AllChanges: fc.AllChanges(), DeltaAcc: fc.DeltaAcc()}
	n := float64(len(bs))
	change := make([]string, len(bs))
	kls := make([]float64, len(bs))
	var flippedMargin float64
	var flipped int
	for i := range bs {
		st, err := metrics.CompareOptions(bs[i], cs[i])
		if err != nil {
			return MCFlips{}, nil, nil, fmt.Errorf("item %d: %w", i, err)
		}
		kl, rkl := st.KL, st.ReverseKL
		kls[i] = kl
		f.OptionKL += kl / n
		f.OptionKLMax = max(f.OptionKLMax, kl)
		f.OptionKLReverse += rkl / n
		f.ProbShift += st.Shift / n
		f.TopMargin += st.BaseMargin / n
		if st.BaseMargin < 1e-6 {
			f.NearTies++
		}
		switch {
		case ba[i].Correct && !ca[i].Correct:
			change[i] = "c2i"
		case !ba[i].Correct && ca[i].Correct:
			change[i] = "i2c"
		case !ba[i].Correct && ba[i].Pred != ca[i].Pred:
			change[i] = "w2w"
		}
		if change[i] == "c2i" || change[i] == "i2c" {
			flipped++
			flippedMargin += st.BaseMargin
		}
	}
	if flipped > 0 {
		m := flippedMargin / float64(flipped)
		f.TopMarginFlipped = &m
	}
	return f, change, kls, nil
}

// mcSubsets breaks the result down by MMLU subject or BBQ category, in
// order of first appearance; nil when the task has no subsets.
func mcSubsets(items []Item, answers []mcAnswers, rule string) []MCSubset {
	var order []string
	idx := map[string][]int{}
	for i, it := range items {
		if it.Subset == "" {
			continue
		}
		if _, ok := idx[it.Subset]; !ok {
			order = append(order, it.Subset)
		}
		idx[it.Subset] = append(idx[it.Subset], i)
	}
	if len(order) == 0 {
		return nil
	}
	model, base := answers[len(answers)-1], answers[0]
	out := make([]MCSubset, 0, len(order))
	for _, name := range order {
		s := MCSubset{Name: name, N: len(idx[name])}
		n := float64(s.N)
		flips := 0
		for _, i := range idx[name] {
			s.Acc += mcB2F(model.correct[i]) / n
			s.AccNorm += mcB2F(model.corrNorm[i]) / n
			s.BaseAcc += mcB2F(base.correct[i]) / n
			s.BaseAccNorm += mcB2F(base.corrNorm[i]) / n
			bc, mc := base.correct[i], model.correct[i]
			if rule == "acc_norm" {
				bc, mc = base.corrNorm[i], model.corrNorm[i]
			}
			if bc != mc {
				flips++
			}
		}
		if len(answers) > 1 {
			f := float64(flips) / n
			s.Flips = &f
		}
		out = append(out, s)
	}
	return out
}

func mcB2F(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// mcBBQ computes BBQ's accuracy and bias scores from each model's answers
// under the decision rule.
func mcBBQ(items []Item, answers []mcAnswers, rule string, bbqRule metrics.BBQRule) (*MCBBQ, error) {
	out := &MCBBQ{Rule: "official"}
	if bbqRule == metrics.BBQRepo {
		out.Rule = "repo"
	}
	table := func(a mcAnswers) (MCBBQTable, []string, error) {
		_, pred := a.scores(rule)
		var bi []metrics.BBQItem
		untargeted := 0
		for i, it := range items {
			if it.BBQ == nil {
				return MCBBQTable{}, nil, fmt.Errorf("%s: not a BBQ item", it.ID)
			}
			if bbqRule == metrics.BBQOfficial && it.BBQ.Target < 0 {
				untargeted++
				continue
			}
			bi = append(bi, metrics.BBQItem{Category: it.Subset, Ambiguous: it.BBQ.Ambiguous, Negative: it.BBQ.Negative,
				Label: it.Gold, Pred: pred[i], Unknown: it.BBQ.Unknown, Target: it.BBQ.Target, Labels: it.BBQ.Labels})
		}
		out.Untargeted = untargeted
		if len(bi) == 0 {
			return MCBBQTable{}, nil, fmt.Errorf("bbq: no item has a stereotyped option (official rule); try the repo rule")
		}
		rep, err := metrics.BBQBias(bi, bbqRule)
		var undefined []string
		if err != nil {
			// Undefined values are NaN in rep and become null; anything
			// else is a real error.
			if !mcBBQHasValues(rep) {
				return MCBBQTable{}, nil, err
			}
			undefined = append(undefined, err.Error())
		}
		t := MCBBQTable{Mean: mcBBQRow(rep.Mean)}
		for _, c := range rep.Categories {
			t.Categories = append(t.Categories, mcBBQRow(c))
		}
		return t, undefined, nil
	}
	var err error
	var und []string
	if out.Model, und, err = table(answers[len(answers)-1]); err != nil {
		return nil, err
	}
	out.Undefined = append(out.Undefined, und...)
	if len(answers) > 1 {
		b, und, err := table(answers[0])
		if err != nil {
			return nil, err
		}
		out.Base = &b
		for _, u := range und {
			out.Undefined = append(out.Undefined, "base: "+u)
		}
	}
	return out, nil
}

func mcBBQHasValues(r metrics.BBQReport) bool { return len(r.Categories) > 0 }

func mcBBQRow(c metrics.BBQCategory) MCBBQRow {
	return MCBBQRow{Name: c.Name, NAmb: c.NAmb, NDis: c.NDis, AccAmb: mcFinite(c.AccAmb), AccDis: mcFinite(c.AccDis),
		SAmb: mcFinite(c.SAmb), SDis: mcFinite(c.SDis)}
}

// mcFinite returns a pointer to v, or nil for NaN and ±Inf (JSON null).
func mcFinite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
