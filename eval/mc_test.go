package eval

import (
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/internal/assets"
	"github.com/divergo/divergo/metrics"
	"github.com/divergo/divergo/quant"
	"github.com/divergo/divergo/tokenizer"
)

// mcTinyTask is a hand-made task whose answers stories260K knows: the gold
// continuation is always option 0 and wins by more than 2 nats.
func mcTinyTask() *Task {
	cands := [][]string{
		{"Once upon a", " time", " banana", " computer"},
		{"Once upon a time, there was a little girl named", " Lily", " Table", " Seven"},
		{"One day, she went to the park to play on the", " swings", " moon", " quickly"},
		{"Tom and Sue were best", " friends", " cars", " blue"},
		{"She was very happy and gave her mom a big", " hug", " car", " walk"},
		{"Lily liked to play with her", " toys", " ran", " is"},
		{"The dog wagged its", " tail", " house", " sky"},
	}
	t := &Task{Name: "tiny", Rule: "acc"}
	for _, c := range cands {
		it := Item{ID: c[0]}
		for _, o := range c[1:] {
			it.Choices = append(it.Choices, Choice{Context: c[0], Continuation: o, Text: o[1:]})
		}
		t.Items = append(t.Items, it)
	}
	return t
}

func TestMCTinyTask(t *testing.T) {
	e := embeddedEnv(t, 1)
	r, err := MC(e, mcTinyTask(), MCOptions{Items: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Acc != 1 || r.AccNorm != 1 || r.BaseAcc != 1 || r.N != 7 || r.Flips != nil || r.Compare != nil {
		t.Errorf("acc %v acc_norm %v base %v n %d flips %v: want 1, 1, 1, 7, nil", r.Acc, r.AccNorm, r.BaseAcc, r.N, r.Flips)
	}
	for _, it := range r.Items {
		ll := it.Model.LL
		if ll[0] < ll[1]+2 || ll[0] < ll[2]+2 {
			t.Errorf("%q: gold log-likelihood %v not ahead by 2 nats", it.ID, ll)
		}
		for _, v := range ll {
			if v >= 0 || math.IsNaN(v) {
				t.Errorf("%q: log-likelihood %v not negative", it.ID, v)
			}
		}
	}
	// Swap the gold option: accuracy must drop to 0.
	bad := mcTinyTask()
	for i := range bad.Items {
		bad.Items[i].Gold = 1
	}
	r, err = MC(e, bad, MCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Acc != 0 {
		t.Errorf("acc with wrong gold answers = %v, want 0", r.Acc)
	}
}

func TestMCEncodePair(t *testing.T) {
	e := embeddedEnv(t, 1)
	tok := e.Model.Tokenizer
	enc := newMCEncoder(tok, false, 512)
	bos := tok.BOS()
	// Trailing spaces of the context move to the continuation.
	a, err := enc.encode("Once upon a ", "time")
	if err != nil {
		t.Fatal(err)
	}
	b, err := enc.encode("Once upon a", " time")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("trailing space not moved: %v vs %v", a, b)
	}
	whole := tok.Encode("Once upon a time", true, false)
	if got := append(slices.Clone(b.ctx), b.cont...); !slices.Equal(got, whole) {
		t.Errorf("ctx+cont = %v, want encode(whole) = %v", got, whole)
	}
	if b.ctx[0] != bos || !slices.Equal(b.ctx, tok.Encode("Once upon a", true, false)) {
		t.Errorf("context tokens %v do not start with BOS %d or differ from encode(context)", b.ctx, bos)
	}
	// Without BOS.
	nb, err := newMCEncoder(tok, true, 512).encode("Once upon a", " time")
	if err != nil {
		t.Fatal(err)
	}
	if nb.ctx[0] == bos || !slices.Equal(nb.cont, b.cont) {
		t.Errorf("no-BOS request %v", nb)
	}
	// Empty context: the prefix token alone, continuation encoded on its own.
	em, err := enc.encode("", "Once")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(em.ctx, []int{bos}) || !slices.Equal(em.cont, tok.Encode("Once", false, false)) {
		t.Errorf("empty context: %v", em)
	}
	// Left truncation keeps the last maxLen+1 tokens of ctx+cont.
	long := "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
	full, err := enc.encode(long, " One day")
	if err != nil {
		t.Fatal(err)
	}
	n := len(full.ctx) + len(full.cont)
	short, err := newMCEncoder(tok, false, n-6).encode(long, " One day")
	if err != nil {
		t.Fatal(err)
	}
	if !short.truncated || full.truncated || !slices.Equal(short.cont, full.cont) ||
		!slices.Equal(short.ctx, full.ctx[5:]) || len(short.ctx)+len(short.cont)-1 != n-6 {
		t.Errorf("truncation to %d: ctx %v cont %v (full ctx %v)", n-6, short.ctx, short.cont, full.ctx)
	}
	// A continuation longer than the window is an error.
	if _, err := newMCEncoder(tok, false, 2).encode("Once", " upon a time there"); err == nil {
		t.Error("continuation longer than the window accepted")
	}
}

// mcBruteLoglik scores a request without any reuse: one fresh pass over
// ctx + cont[:-1].
func mcBruteLoglik(t *testing.T, m *engine.Model, r mcRequest) float64 {
	t.Helper()
	in := append(slices.Clone(r.ctx), r.cont[:len(r.cont)-1]...)
	s, err := engine.NewState(m, len(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := s.Forward(in, len(r.cont))
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.Vocab
	var ll float64
	for k, id := range r.cont {
		nll, err := metrics.TokenNLL(logits[k*V:(k+1)*V], id)
		if err != nil {
			t.Fatal(err)
		}
		ll -= nll
	}
	return ll
}

// TestMCReuseMatchesFullPass checks the KV-prefix reuse against fresh
// passes on a sequence of requests that exercises every path: shared
// contexts, one-token continuations, contexts that differ after a shared
// prefix (WinoGrande), unrelated contexts, and left-truncated windows.
func TestMCReuseMatchesFullPass(t *testing.T) {
	e := embeddedEnv(t, 1)
	m := e.Model
	pairs := [][2]string{
		{"Once upon a time, there was a little girl named", " Lily"},
		{"Once upon a time, there was a little girl named", " Tim and a dog"},
		{"Once upon a time, there was a little girl named", " Sue."},
		{"Once upon a time, there was a little boy", " who liked to run"},
		{"Once upon a time, there was a little bird", " who liked to run"},
		{"The dog wagged its", " tail"},
		{"The dog wagged its", " t"},
		{"The dog wagged its", " tail happily"},
		{"Question: What color is the sky?\nAnswer:", " A"},
		{"Question: What color is the sky?\nAnswer:", " B"},
	}
	for _, maxLen := range []int{512, 14} {
		enc := newMCEncoder(m.Tokenizer, false, maxLen)
		sc, err := newMCScorer(m, maxLen, nil)
		if err != nil {
			t.Fatal(err)
		}
		truncated := 0
		for _, p := range pairs {
			r, err := enc.encode(p[0], p[1])
			if err != nil {
				t.Fatal(err)
			}
			if r.truncated {
				truncated++
			}
			got, err := sc.loglik(r)
			if err != nil {
				t.Fatal(err)
			}
			want := mcBruteLoglik(t, m, r)
			if math.Abs(got-want) > 1e-4*max(1, math.Abs(want)) {
				t.Errorf("maxLen %d %q+%q: reused %v, fresh pass %v", maxLen, p[0], p[1], got, want)
			}
		}
		if maxLen == 14 && truncated == 0 {
			t.Error("no request was truncated at maxLen 14")
		}
	}
}

func TestMCWorkersAgree(t *testing.T) {
	e := embeddedEnv(t, 2)
	task := mcTinyTask()
	// Many items so that several chunks exist.
	for len(task.Items) < 3*mcChunk {
		task.Items = append(task.Items, task.Items[len(task.Items)%7])
	}
	one, err := MC(e, task, MCOptions{Workers: 1, Items: true})
	if err != nil {
		t.Fatal(err)
	}
	two, err := MC(e, task, MCOptions{Workers: 2, Items: true})
	if err != nil {
		t.Fatal(err)
	}
	one.Timing, two.Timing = MCTiming{}, MCTiming{}
	if !reflect.DeepEqual(one, two) {
		t.Error("results differ between 1 and 2 workers")
	}
}

func TestMCWithPlan(t *testing.T) {
	e := embeddedEnv(t, 1)
	task := mcTinyTask()
	base, err := MC(e, task, MCOptions{Items: true})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := quant.ParsePlan("int2:g32")
	if err != nil {
		t.Fatal(err)
	}
	r, err := MC(e, task, MCOptions{Plan: plan, Items: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Flips == nil || r.Compare == nil || r.Changed == 0 || r.Plan == "" {
		t.Fatalf("plan run without a comparison: %+v", r)
	}
	if r.BaseAcc != base.Acc || r.BaseAccNorm != base.AccNorm {
		t.Errorf("base accuracy %v/%v with a plan, %v/%v without", r.BaseAcc, r.BaseAccNorm, base.Acc, base.AccNorm)
	}
	c := r.Compare.Acc
	n := float64(r.N)
	if got := float64(c.CorrectToWrong+c.WrongToCorrect) / n; got != c.Flips || *r.Flips != c.Flips {
		t.Errorf("flips %v, counts give %v", c.Flips, got)
	}
	if math.Abs(r.Acc-r.BaseAcc-c.DeltaAcc) > 1e-12 {
		t.Errorf("Δacc %v, accuracies give %v", c.DeltaAcc, r.Acc-r.BaseAcc)
	}
	var kl float64
	for i, it := range r.Items {
		if !slices.Equal(it.Base.LL, base.Items[i].Model.LL) {
			t.Errorf("item %d: base log-likelihoods differ with a plan", i)
		}
		kl += *it.OptionKL / n
	}
	if math.Abs(kl-c.OptionKL) > 1e-12 || c.OptionKL <= 0 {
		t.Errorf("mean option KL %v, items give %v (int2 must move the options)", c.OptionKL, kl)
	}
}

// mcAnswersOf builds one model's answers from log-likelihoods (all options of
// length 1, so acc_norm = acc).
func mcAnswersOf(t *testing.T, gold []int, ll [][]float64) mcAnswers {
	t.Helper()
	items := make([]Item, len(gold))
	lengths := make([][]int, len(gold))
	for i := range items {
		items[i].Gold = gold[i]
		lengths[i] = make([]int, len(ll[i]))
		for k := range lengths[i] {
			lengths[i][k] = 1
		}
	}
	a, err := mcAnswer(items, ll, lengths)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestMCFlipsArithmetic reproduces METRICS.md §2.6: 10 questions, gold A;
// baseline right on q1–q6; compressed wrong on q2, q5, right on q7, q9, and
// q8 changes from wrong B to wrong C.
func TestMCFlipsArithmetic(t *testing.T) {
	pick := func(k int) []float64 { // option k wins by 1 nat
		ll := []float64{-3, -3, -3}
		ll[k] = -2
		return ll
	}
	gold := make([]int, 10)
	basePred := []int{0, 0, 0, 0, 0, 0, 1, 1, 2, 1}
	compPred := []int{0, 1, 0, 0, 2, 0, 0, 2, 0, 1}
	var bl, cl [][]float64
	for i := range gold {
		bl = append(bl, pick(basePred[i]))
		cl = append(cl, pick(compPred[i]))
	}
	f, change, _, err := mcFlips(mcAnswersOf(t, gold, bl), mcAnswersOf(t, gold, cl), "acc")
	if err != nil {
		t.Fatal(err)
	}
	if f.CorrectToWrong != 2 || f.WrongToCorrect != 2 || f.WrongToWrong != 1 ||
		f.Flips != 0.4 || f.AllChanges != 0.5 || f.DeltaAcc != 0 {
		t.Errorf("got %+v, want C→I 2, I→C 2, W→W′ 1, flips 0.4, all 0.5, Δacc 0", f)
	}
	want := []string{"", "c2i", "", "", "c2i", "", "i2c", "w2w", "i2c", ""}
	if !slices.Equal(change, want) {
		t.Errorf("changes %q, want %q", change, want)
	}
	// Every base margin is the same: softmax(-2,-3,-3) top − second.
	p := metrics.OptionProbs([]float64{-2, -3, -3})
	if m := p[0] - p[1]; math.Abs(f.TopMargin-m) > 1e-12 || f.TopMarginFlipped == nil || math.Abs(*f.TopMarginFlipped-m) > 1e-12 {
		t.Errorf("top margin %v (flipped %v), want %v", f.TopMargin, f.TopMarginFlipped, m)
	}

	// The option-KL example of §2.6: LL_b = (−1.2, −2.5, −3.1),
	// LL_c = (−1.4, −2.2, −3.0) → KL 0.022010, base top margin 0.51155.
	b := mcAnswersOf(t, []int{0}, [][]float64{{-1.2, -2.5, -3.1}})
	c := mcAnswersOf(t, []int{0}, [][]float64{{-1.4, -2.2, -3.0}})
	f, _, kl, err := mcFlips(b, c, "acc")
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(f.OptionKL-0.022010) > 5e-7 || math.Abs(kl[0]-0.022010) > 5e-7 || math.Abs(f.TopMargin-0.51155) > 1e-5 {
		t.Errorf("option KL %v (item %v), top margin %v; want 0.022010, 0.51155", f.OptionKL, kl[0], f.TopMargin)
	}
	if f.Flips != 0 || f.NearTies != 0 || f.TopMarginFlipped != nil {
		t.Errorf("one unchanged item: %+v", f)
	}

	// Scores 1000 nats apart underflow a probability; KL stays finite.
	b = mcAnswersOf(t, []int{0}, [][]float64{{-1, -1001}})
	c = mcAnswersOf(t, []int{0}, [][]float64{{-1001, -1}})
	f, _, _, err = mcFlips(b, c, "acc")
	if err != nil {
		t.Fatal(err)
	}
	if math.IsInf(f.OptionKL, 0) || math.Abs(f.OptionKL-1000) > 1e-9 || f.Flips != 1 {
		t.Errorf("KL across an underflow = %v (flips %v), want 1000, 1", f.OptionKL, f.Flips)
	}
	// Exact ties: lowest option, and counted as a near tie.
	b = mcAnswersOf(t, []int{1}, [][]float64{{-2, -2}})
	f, _, _, err = mcFlips(b, b, "acc")
	if err != nil {
		t.Fatal(err)
	}
	if b.pred[0] != 0 || f.NearTies != 1 {
		t.Errorf("tie: pred %d near ties %d, want 0, 1", b.pred[0], f.NearTies)
	}
}

func TestMCNormRule(t *testing.T) {
	// acc picks the shorter option, acc_norm the one with the better
	// per-character log-likelihood.
	items := []Item{{Gold: 1, Choices: []Choice{{Text: "ab"}, {Text: "abcdefgh"}}}}
	a, err := mcAnswer(items, [][]float64{{-4, -8}}, [][]int{{2, 8}})
	if err != nil {
		t.Fatal(err)
	}
	if a.pred[0] != 0 || a.predNorm[0] != 1 || a.acc() != 0 || a.accNorm() != 1 {
		t.Errorf("pred %d pred_norm %d", a.pred[0], a.predNorm[0])
	}
}

func TestMCOrder(t *testing.T) {
	reqs := []mcRequest{{ctx: []int{1, 2, 3}}, {ctx: []int{2, 3}}, {ctx: []int{1, 2, 3}}, {ctx: []int{2, 3}}, {ctx: []int{9}}}
	if got := mcOrder(reqs); !slices.Equal(got, []int{0, 2, 1, 3, 4}) {
		t.Errorf("mcOrder = %v", got)
	}
	// 5-shot MMLU prompts cut to 64 tokens: the one-token option " B" and
	// the two-token " A", " C", " D" give two windows, each run once:
	// 63 context tokens and one continuation token for each of A, C, D,
	// 64 for B (without the grouping C would rerun its window: 193).
	e := embeddedEnv(t, 1)
	task, err := LoadTask("mmlu", mcTestdata+"mmlu/test/abstract_algebra_test.csv", TaskOptions{Shots: 5, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	r, err := MC(e, task, MCOptions{MaxLen: 64, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Truncated != 3 || r.Positions != 3*(63+3+64) {
		t.Errorf("truncated %d, positions %d; want 3 and %d", r.Truncated, r.Positions, 3*(63+3+64))
	}
}

// TestMCEncodeLlama checks the context/continuation split with the real
// Llama-2 tokenizer against ids from SentencePiece's spm_encode.
func TestMCEncodeLlama(t *testing.T) {
	tok, err := tokenizer.Load(assets.Path(t, "tokenizers/llama2/tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	enc := newMCEncoder(tok, false, 4096)
	for _, c := range []struct {
		ctx, cont     string
		wantCtx, want []int
	}{
		// MMLU's letters are one token each: options cost no forward pass.
		{"Answer:", " A", []int{1, 673, 29901}, []int{319}},
		{"Answer:", " B", []int{1, 673, 29901}, []int{350}},
		{"Answer:", " C", []int{1, 673, 29901}, []int{315}},
		{"Answer:", " D", []int{1, 673, 29901}, []int{360}},
		{"Roof shingle removal: A man is sitting on a roof. He", " is using wrap to wrap a pair of skis.",
			[]int{1, 1528, 974, 528, 292, 280, 28744, 29901, 319, 767, 338, 16246, 373, 263, 17526, 29889, 940},
			[]int{338, 773, 12244, 304, 12244, 263, 5101, 310, 2071, 275, 29889}},
	} {
		r, err := enc.encode(c.ctx, c.cont)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.ctx, c.wantCtx) || !slices.Equal(r.cont, c.want) {
			t.Errorf("%q + %q: ctx %v cont %v; want %v %v", c.ctx, c.cont, r.ctx, r.cont, c.wantCtx, c.want)
		}
	}
}

// TestMCBBQ checks the BBQ tables built from constructed answers.
func TestMCBBQ(t *testing.T) {
	labels := []string{"old", "nonOld", "unknown"}
	item := func(cat string, amb, neg bool, gold, target int) Item {
		return Item{Subset: cat, Gold: gold, Choices: make([]Choice, 3),
			BBQ: &BBQInfo{Ambiguous: amb, Negative: neg, Unknown: 2, Target: target, Labels: labels}}
	}
	items := []Item{
		// Age, disambiguated, negative questions: answers 0 (biased), 0, 1, 2.
		item("Age", false, true, 1, 0), item("Age", false, true, 1, 0), item("Age", false, true, 1, 0), item("Age", false, true, 1, 0),
		// Age, ambiguous: answers 2 (right), 0 (biased).
		item("Age", true, true, 2, 0), item("Age", true, true, 2, 0),
		// An item whose stereotyped option is unknown: out of the official table.
		item("Age", false, true, 1, -1),
		// Religion: only UNKNOWN answers on disambiguated items, s_DIS undefined.
		item("Religion", false, false, 0, 1), item("Religion", true, false, 2, 1),
	}
	preds := []int{0, 0, 1, 2, 2, 0, 0, 2, 2}
	ll := make([][]float64, len(items))
	for i, p := range preds {
		ll[i] = []float64{-3, -3, -3}
		ll[i][p] = -1
	}
	a := mcAnswersOf(t, []int{1, 1, 1, 1, 2, 2, 1, 0, 2}, ll)
	b, err := mcBBQ(items, []mcAnswers{a}, "acc", metrics.BBQOfficial)
	if err != nil {
		t.Fatal(err)
	}
	age := b.Model.Categories[0]
	f := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	if age.Name != "Age" || age.NDis != 4 || age.NAmb != 2 || math.Abs(f(age.SDis)-1.0/3) > 1e-12 ||
		f(age.AccDis) != 0.25 || f(age.AccAmb) != 0.5 || f(age.SAmb) != 0.5 {
		t.Errorf("Age: %+v (s_dis %v acc_dis %v acc_amb %v s_amb %v); want s_DIS 1/3, acc 0.25/0.5, s_AMB 0.5",
			age, f(age.SDis), f(age.AccDis), f(age.AccAmb), f(age.SAmb))
	}
	rel := b.Model.Categories[1]
	if b.Untargeted != 1 || rel.SDis != nil || len(b.Undefined) == 0 || b.Model.Mean.SDis != nil {
		t.Errorf("untargeted %d, Religion s_DIS %v, undefined %q", b.Untargeted, rel.SDis, b.Undefined)
	}
	// The repository's rule keeps the untargeted item (its label is "nonOld").
	r, err := mcBBQ(items, []mcAnswers{a}, "acc", metrics.BBQRepo)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rule != "repo" || r.Untargeted != 0 || r.Model.Categories[0].NDis != 5 {
		t.Errorf("repo rule: %+v", r)
	}
}

func TestMCSkipsTooLong(t *testing.T) {
	e := embeddedEnv(t, 1)
	task := mcTinyTask()
	long := Item{ID: "long", Choices: []Choice{
		{Context: "Once upon a", Continuation: " time", Text: "time"},
		{Context: "Once upon a", Continuation: " time there was a big dog who liked to run in the park", Text: "time there …"},
	}}
	task.Items = append(task.Items[:3], append([]Item{long}, task.Items[3:]...)...)
	r, err := MC(e, task, MCOptions{MaxLen: 12, Items: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 7 || !slices.Equal(r.Skipped, []string{"long"}) || r.Acc != 1 || len(r.Items) != 7 || r.Items[3].Index != 4 {
		t.Errorf("n %d skipped %q acc %v items %d (item 3 is task item %d)", r.N, r.Skipped, r.Acc, len(r.Items), r.Items[3].Index)
	}
	task.Items = []Item{long}
	if _, err := MC(e, task, MCOptions{MaxLen: 12}); err == nil {
		t.Error("a task with no item that fits gave no error")
	}
}
