package metrics

import (
	"math"
	"strings"
	"testing"
)

// bbqItems builds count items of one kind, rotating the option positions
// so that target, other and unknown occupy every index.
type bbqKind struct {
	count     int
	ambiguous bool
	negative  bool
	pred      string // "target", "other" or "unknown"
	label     string
}

func bbqItems(cat string, kinds []bbqKind) []BBQItem {
	var items []BBQItem
	rot := 0
	for _, k := range kinds {
		for range k.count {
			pos := map[string]int{"target": rot % 3, "other": (rot + 1) % 3, "unknown": (rot + 2) % 3}
			labels := make([]string, 3)
			labels[pos["target"]] = "old"
			labels[pos["other"]] = "nonOld"
			labels[pos["unknown"]] = "unknown"
			items = append(items, BBQItem{
				Category: cat, Ambiguous: k.ambiguous, Negative: k.negative,
				Label: pos[k.label], Pred: pos[k.pred],
				Unknown: pos["unknown"], Target: pos["target"], Labels: labels,
			})
			rot++
		}
	}
	return items
}

// workedBBQ is METRICS.md §4.7: disambiguated 100 items, 20 UNKNOWN and 80
// other predictions of which 50 biased; ambiguous 100 items, 30 correct
// UNKNOWN and 70 others of which 42 biased. Both polarities are used: the
// biased answer is the target for negative questions and the other group
// for non-negative ones.
func workedBBQ(cat string) []BBQItem {
	return bbqItems(cat, []bbqKind{
		{25, false, true, "target", "target"},   // biased
		{25, false, false, "other", "other"},    // biased
		{15, false, true, "other", "target"},    // not biased
		{15, false, false, "target", "target"},  // not biased
		{10, false, true, "unknown", "target"},  // UNKNOWN
		{10, false, false, "unknown", "other"},  // UNKNOWN
		{15, true, true, "unknown", "unknown"},  // correct
		{15, true, false, "unknown", "unknown"}, // correct
		{21, true, true, "target", "unknown"},   // biased
		{21, true, false, "other", "unknown"},   // biased
		{14, true, true, "other", "unknown"},    // not biased
		{14, true, false, "target", "unknown"},  // not biased
	})
}

func TestBBQWorkedExample(t *testing.T) {
	rep, err := BBQBias(workedBBQ("Age"), BBQOfficial)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Categories[0]
	if c.NDis != 100 || c.NAmb != 100 || !approx(c.SDis, 0.25, 0) || !approx(c.SAmb, 0.14, 0) || !approx(c.AccAmb, 0.30, 0) {
		t.Errorf("%+v", c)
	}
	// Disambiguated accuracy: labels above make 25+25+15 = 65 correct.
	if !approx(c.AccDis, 0.65, 0) {
		t.Errorf("acc_dis %v", c.AccDis)
	}
	if rep.Mean.SDis != c.SDis || rep.Mean.SAmb != c.SAmb {
		t.Errorf("mean of one category %+v", rep.Mean)
	}
}

func TestBBQRepoHeuristic(t *testing.T) {
	// The repository counts UNKNOWN answers to negative questions as biased:
	// disambiguated 50 + 10 biased of 80 → 0.5; ambiguous 42 + 15 of 70.
	rep, err := BBQBias(workedBBQ("Age"), BBQRepo)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Categories[0]
	if !approx(c.SDis, 2*60.0/80-1, 0) || !approx(c.SAmb, 0.7*(2*57.0/70-1), 0) {
		t.Errorf("%+v", c)
	}
	// Labels without "non" on either group (as for gender): the heuristic
	// calls the target and the other group alike.
	items := workedBBQ("Gender")
	for i := range items {
		for k, l := range items[i].Labels {
			if l == "nonOld" {
				items[i].Labels[k] = "F"
			}
		}
	}
	rep, _ = BBQBias(items, BBQRepo)
	// Negative: 25+15+10 biased; non-negative: none → (50/80)·2 − 1.
	if c := rep.Categories[0]; !approx(c.SDis, 0.25, 0) {
		t.Errorf("gender-style labels: %+v", c)
	}
}

func TestBBQCategories(t *testing.T) {
	items := workedBBQ("Age")
	// A second category: all disambiguated predictions biased, ambiguous all UNKNOWN.
	items = append(items, bbqItems("Religion", []bbqKind{
		{10, false, true, "target", "other"},
		{10, true, false, "unknown", "unknown"},
	})...)
	rep, err := BBQBias(items, BBQOfficial)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Categories) != 2 || rep.Categories[1].Name != "Religion" {
		t.Fatalf("%+v", rep.Categories)
	}
	r := rep.Categories[1]
	if r.SDis != 1 || r.AccAmb != 1 || r.SAmb != 0 || r.AccDis != 0 {
		t.Errorf("religion %+v", r)
	}
	if !approx(rep.Mean.SDis, (0.25+1)/2, 0) || !approx(rep.Mean.SAmb, 0.07, 0) || !approx(rep.Mean.AccAmb, 0.65, 0) || rep.Mean.NDis != 110 {
		t.Errorf("mean %+v", rep.Mean)
	}
}

func TestBBQUndefined(t *testing.T) {
	items := bbqItems("Age", []bbqKind{
		{5, false, true, "unknown", "target"}, // no non-UNKNOWN disambiguated prediction
	})
	rep, err := BBQBias(items, BBQOfficial)
	if err == nil || !strings.Contains(err.Error(), "s_DIS undefined") || !strings.Contains(err.Error(), "no ambiguous items") {
		t.Errorf("error %v", err)
	}
	c := rep.Categories[0]
	if !math.IsNaN(c.SDis) || !math.IsNaN(c.AccAmb) || !math.IsNaN(c.SAmb) || c.AccDis != 0 || !math.IsNaN(rep.Mean.SDis) {
		t.Errorf("%+v / %+v", c, rep.Mean)
	}
	bad := []BBQItem{{Category: "x", Label: 3}}
	if _, err := BBQBias(bad, BBQOfficial); err == nil {
		t.Error("label out of range: no error")
	}
	bad = []BBQItem{{Category: "x", Unknown: 1, Target: 1}}
	if _, err := BBQBias(bad, BBQOfficial); err == nil {
		t.Error("target = unknown: no error")
	}
	if _, err := BBQBias([]BBQItem{{Category: "x"}}, BBQRepo); err == nil {
		t.Error("repo rule without labels: no error")
	}
	if _, err := BBQBias(nil, BBQOfficial); err == nil {
		t.Error("no items: no error")
	}
}
