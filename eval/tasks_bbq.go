package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// loadBBQ reads BBQ from one JSONL file or a directory of *.jsonl category
// files (taken in alphabetical order).
func loadBBQ(path string, limit int) ([]Item, error) {
	files := []string{path}
	if mcIsDir(path) {
		var err error
		if files, err = mcFiles(path, ".jsonl"); err != nil {
			return nil, fmt.Errorf("bbq: %w", err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("bbq: %s: no *.jsonl files", path)
		}
	}
	var items []Item
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("bbq: %w", err)
		}
		got, err := parseBBQ(f, data, limit-len(items))
		if err != nil {
			return nil, err
		}
		items = append(items, got...)
		if limit > 0 && len(items) >= limit {
			break
		}
	}
	return items, nil
}

// bbqRecord is one line of a BBQ JSONL file (nyu-mll/BBQ data/*.jsonl).
type bbqRecord struct {
	Polarity   *string             `json:"question_polarity"`
	Condition  *string             `json:"context_condition"`
	Category   *string             `json:"category"`
	AnswerInfo map[string][]string `json:"answer_info"`
	Meta       *bbqMeta            `json:"additional_metadata"`
	Context    *string             `json:"context"`
	Question   *string             `json:"question"`
	Ans0       *string             `json:"ans0"`
	Ans1       *string             `json:"ans1"`
	Ans2       *string             `json:"ans2"`
	Label      *int                `json:"label"`
}

type bbqMeta struct {
	StereotypedGroups []string `json:"stereotyped_groups"`
}

// parseBBQ builds BBQ items with the prompt of METRICS.md §4.3 (the
// Beyond-Perplexity code): "Context: {context}\nQuestion: {question}\nAnswer:"
// and continuations " " + ans0 … ans2.
func parseBBQ(name string, data []byte, limit int) ([]Item, error) {
	var items []Item
	lines := bytes.Split(data, []byte{'\n'})
	for i, raw := range lines {
		if limit > 0 && len(items) >= limit {
			break
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		it, err := bbqItem(raw)
		if err != nil {
			return nil, fmt.Errorf("bbq %s:%d: %w", name, i+1, err)
		}
		it.ID = fmt.Sprintf("%s:%d", name, i+1)
		items = append(items, it)
	}
	return items, nil
}

func bbqItem(raw []byte) (Item, error) {
	var r bbqRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return Item{}, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"context", r.Context}, {"question", r.Question}, {"ans0", r.Ans0}, {"ans1", r.Ans1}, {"ans2", r.Ans2},
		{"category", r.Category}, {"question_polarity", r.Polarity}, {"context_condition", r.Condition}} {
		if f.v == nil {
			return Item{}, fmt.Errorf("no %q field", f.name)
		}
		if !utf8.ValidString(*f.v) {
			return Item{}, fmt.Errorf("%q is not valid UTF-8", f.name)
		}
	}
	if r.Label == nil {
		return Item{}, errors.New(`no "label" field`)
	}
	if *r.Label < 0 || *r.Label > 2 {
		return Item{}, fmt.Errorf("label %d is not 0–2", *r.Label)
	}
	info := &BBQInfo{Unknown: -1, Target: -1}
	switch *r.Condition {
	case "ambig":
		info.Ambiguous = true
	case "disambig":
	default:
		return Item{}, fmt.Errorf("context_condition %q is not ambig or disambig", *r.Condition)
	}
	switch *r.Polarity {
	case "neg":
		info.Negative = true
	case "nonneg":
	default:
		return Item{}, fmt.Errorf("question_polarity %q is not neg or nonneg", *r.Polarity)
	}
	if strings.TrimSpace(*r.Category) == "" {
		return Item{}, errors.New("empty category")
	}
	if r.AnswerInfo == nil {
		return Item{}, errors.New(`no "answer_info" field`)
	}
	names := make([]string, 3)
	info.Labels = make([]string, 3)
	for k := range 3 {
		key := fmt.Sprintf("ans%d", k)
		v, ok := r.AnswerInfo[key]
		if !ok || len(v) != 2 {
			return Item{}, fmt.Errorf("answer_info.%s is not a [name, label] pair", key)
		}
		names[k], info.Labels[k] = v[0], v[1]
		if v[1] == "unknown" {
			if info.Unknown >= 0 {
				return Item{}, fmt.Errorf("answer_info has two unknown options (%d and %d)", info.Unknown, k)
			}
			info.Unknown = k
		}
	}
	if info.Unknown < 0 {
		return Item{}, errors.New(`answer_info has no "unknown" option`)
	}
	if r.Meta != nil {
		info.Target = bbqTarget(names, info.Labels, info.Unknown, r.Meta.StereotypedGroups)
	}
	ctx := "Context: " + *r.Context + "\nQuestion: " + *r.Question + "\nAnswer:"
	it := Item{Subset: *r.Category, Gold: *r.Label, BBQ: info}
	for _, a := range []string{*r.Ans0, *r.Ans1, *r.Ans2} {
		if strings.TrimSpace(a) == "" {
			return Item{}, errors.New("empty answer")
		}
		it.Choices = append(it.Choices, Choice{Context: ctx, Continuation: " " + a, Text: a})
	}
	return it, nil
}

// bbqTarget finds the option naming the stereotyped group: the non-UNKNOWN
// option whose answer_info label or name equals one of the stereotyped
// groups (compared case-insensitively, ignoring spaces and punctuation:
// "lowSES" matches "low SES"), or, failing that, whose label has a
// hyphen-separated part that does ("M-Black" matches "Black"). It returns −1
// unless exactly one option matches. This stands in for target_loc of the
// official analysis (additional_metadata.csv, not shipped); on the six
// categories shipped every item resolves.
func bbqTarget(names, labels []string, unknown int, groups []string) int {
	want := map[string]bool{}
	for _, g := range groups {
		want[bbqNorm(g)] = true
	}
	pick := func(match func(k int) bool) int {
		found := -1
		for k := range labels {
			if k == unknown || !match(k) {
				continue
			}
			if found >= 0 {
				return -2
			}
			found = k
		}
		return found
	}
	t := pick(func(k int) bool { return want[bbqNorm(labels[k])] || want[bbqNorm(names[k])] })
	if t == -1 {
		t = pick(func(k int) bool {
			for _, part := range strings.Split(labels[k], "-") {
				if want[bbqNorm(part)] {
					return true
				}
			}
			return false
		})
	}
	return max(t, -1)
}

func bbqNorm(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}
