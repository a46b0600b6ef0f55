package eval

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divergo/divergo/quant"
)

func planSmall(t *testing.T, specs string) (SweepOptions, SweepResult) {
	t.Helper()
	o := sweepSmall(t)
	o.Specs = sweepSpecs(t, specs)
	o.Components = sweepSel(t, "layers.{0,2,4}.attn.{q,v},layers.1.mlp.{up,down},layers.3.mlp.gate")
	o.Samples, o.Gen = 6, 24
	o.Output = filepath.Join(t.TempDir(), "sweep.jsonl")
	r, err := Sweep(embeddedEnv(t, 2), o)
	if err != nil {
		t.Fatal(err)
	}
	return o, r
}

// TestPlan: the planner follows the ranking, stops before the threshold
// breaks, and writes a plan that --quant @plan.json reads and that compare
// measures exactly as the planner did.
func TestPlan(t *testing.T) {
	so, sr := planSmall(t, "int4:g32")
	e := embeddedEnv(t, 2)
	// A threshold between the best and the worst prefix: stop half-way.
	min := 12.0
	so.Output = ""
	r, err := Plan(e, PlanOptions{Sweep: so, From: &sr.Header, FromRows: sr.Rows, MinFDTM: &min})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trajectory) == 0 {
		t.Fatal("no step measured")
	}
	for i, s := range r.Trajectory {
		last := i == len(r.Trajectory)-1
		if s.Accepted == (s.FDTM < min) || (!s.Accepted && !last) {
			t.Errorf("step %d: FDTM %.2f accepted %v (threshold %g)", s.Step, s.FDTM, s.Accepted, min)
		}
	}
	accepted := 0
	for _, s := range r.Trajectory {
		if s.Accepted {
			accepted = s.Components
		}
	}
	if len(r.Rules) != accepted {
		t.Errorf("%d rules, %d components accepted", len(r.Rules), accepted)
	}
	// The ranking is by individual FDTM, highest first.
	for i := 1; i < len(r.Rules); i++ {
		if r.Rules[i].Rank == r.Rules[i-1].Rank {
			t.Errorf("rank %d twice", r.Rules[i].Rank)
		}
	}
	keys := map[int]float64{}
	for _, rule := range r.Rules {
		keys[rule.Rank] = rule.Key
	}
	for rank := 2; rank <= len(r.Rules); rank++ {
		if keys[rank] > keys[rank-1] {
			t.Errorf("rank %d has FDTM %g above rank %d's %g", rank, keys[rank], rank-1, keys[rank-1])
		}
	}
	t.Logf("%d of %d components, %.3f bits/weight, FDTM %.2f; %s", len(r.Rules), r.Candidates, r.BitsPerWeight, r.Measured.FDTM.Mean, r.Stopped)

	// The file is a plan quant reads, and compare on the same samples
	// measures what the planner measured.
	path := filepath.Join(t.TempDir(), "plan.json")
	data, _ := json.Marshal(r)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := quant.ParsePlan("@" + path)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Rules) != len(r.Rules) {
		t.Fatalf("plan file has %d rules, want %d", len(plan.Rules), len(r.Rules))
	}
	c, err := Compare(e, CompareOptions{Plan: plan, Docs: so.Docs, Corpus: so.Corpus, PromptLen: so.PromptLen, Gen: so.Gen, Samples: so.Samples, PPLProtocol: "none"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(c.Divergence)
	want, _ := json.Marshal(r.Measured)
	if !bytes.Equal(got, want) {
		t.Errorf("compare with the plan\n%s\nplanner measured\n%s", got, want)
	}
	if c.BitsPerWeight*float64(c.CompressedParams) != float64(sumBits(r.Rules)) {
		t.Errorf("compare counts %.0f bits, the plan %d", c.BitsPerWeight*float64(c.CompressedParams), sumBits(r.Rules))
	}
}

func sumBits(rules []PlanRule) int64 {
	var b int64
	for _, r := range rules {
		b += r.Bits
	}
	return b
}

// TestPlanMixed: with two settings a component may first take the
// cheaper-to-keep setting and later the smaller one, never the reverse;
// --by ppl ranks by the perplexity ratio; an unreachable threshold gives
// an empty plan that still reads as a plan.
func TestPlanMixed(t *testing.T) {
	so, sr := planSmall(t, "int8,int4:g32")
	e := embeddedEnv(t, 2)
	so.Output = ""
	loose := 0.0
	r, err := Plan(e, PlanOptions{Sweep: so, From: &sr.Header, FromRows: sr.Rows, MinFDTM: &loose, Step: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rules) != len(sr.Header.Run.Components) {
		t.Errorf("threshold 0: %d rules, want every one of %d components", len(r.Rules), len(sr.Header.Run.Components))
	}
	for _, rule := range r.Rules {
		if rule.Spec != "int4:g32" {
			t.Errorf("%s ends at %s; with no threshold every component should reach int4:g32", rule.Select, rule.Spec)
		}
	}
	if !strings.Contains(r.Stopped, "every candidate") || r.BitsPerWeight >= r.BaseBitsPerWeight {
		t.Errorf("stopped %q at %.3f bits (base %.3f)", r.Stopped, r.BitsPerWeight, r.BaseBitsPerWeight)
	}

	kl := 1e-9
	r, err = Plan(e, PlanOptions{Sweep: so, From: &sr.Header, FromRows: sr.Rows, MaxKL: &kl, By: PlanByPPL})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rules) != 0 || r.Measured != nil || len(r.Trajectory) != 1 || !strings.HasPrefix(r.RankedBy, "ppl") {
		t.Errorf("unreachable threshold: %d rules, measured %v, %d steps, ranked by %q", len(r.Rules), r.Measured, len(r.Trajectory), r.RankedBy)
	}
	data, _ := json.Marshal(r)
	if p, err := quant.DecodePlanJSON("plan.json", data); err != nil || len(p.Rules) != 0 {
		t.Errorf("empty plan file: %v, %v", p, err)
	}

	// A sweep file measured on other samples is refused.
	so.Samples = 5
	if _, err := Plan(e, PlanOptions{Sweep: so, From: &sr.Header, FromRows: sr.Rows, MaxKL: &kl}); err == nil || !strings.Contains(err.Error(), "samples") {
		t.Errorf("plan from a sweep of other samples: %v", err)
	}
}
