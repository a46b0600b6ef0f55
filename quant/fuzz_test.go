package quant

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// checkSyntaxError asserts that err is one line and, for a *SyntaxError,
// that its column lies inside the input (or just past its end).
func checkSyntaxError(t *testing.T, input string, err error) {
	t.Helper()
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error spans lines: %q", err)
	}
	var se *SyntaxError
	if errors.As(err, &se) && (se.Col < 1 || se.Col > len(se.Input)+1) {
		t.Fatalf("%q: column %d outside the input (%d bytes)", input, se.Col, len(se.Input))
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			checkSyntaxError(t, s, err)
			return
		}
		again, err := ParseSpec(sp.String())
		if err != nil || again != sp {
			t.Fatalf("%q → %q → %+v, %v", s, sp.String(), again, err)
		}
		if sp.Bits() <= 0 {
			t.Fatalf("%q: Bits() = %v", s, sp.Bits())
		}
	})
}

func FuzzParseSpecList(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		list, err := ParseSpecList(s)
		if err != nil {
			checkSyntaxError(t, s, err)
			return
		}
		parts := make([]string, len(list))
		for i, sp := range list {
			parts[i] = sp.String()
		}
		again, err := ParseSpecList(strings.Join(parts, ","))
		if err != nil || len(again) != len(list) {
			t.Fatalf("%q: round trip %v, %v", s, again, err)
		}
	})
}

func FuzzParseSelector(f *testing.F) {
	comps := Components(3)
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := ParseSelectorList(s); err != nil {
			checkSyntaxError(t, s, err)
		}
		sel, err := ParseSelector(s)
		if err != nil {
			checkSyntaxError(t, s, err)
			return
		}
		again, err := ParseSelector(sel.String())
		if err != nil {
			t.Fatalf("%q → %q: %v", s, sel.String(), err)
		}
		for _, c := range comps {
			if sel.Match(c) != again.Match(c) {
				t.Fatalf("%q and %q disagree on %s", s, sel.String(), c)
			}
		}
	})
}

func FuzzParsePlan(f *testing.F) {
	comps := Components(3)
	f.Fuzz(func(t *testing.T, s string) {
		if strings.HasPrefix(strings.TrimSpace(s), "@") {
			return // a file name: not this parser's input
		}
		p, err := ParsePlan(s)
		if err != nil {
			checkSyntaxError(t, s, err)
			return
		}
		text := p.String()
		q, err := ParsePlan(text)
		if len(p.Rules) == 0 {
			return // an empty JSON plan has no text form
		}
		if err != nil || q.String() != text {
			t.Fatalf("%q → %q → %v, %v", s, text, q, err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := DecodePlanJSON("plan", b)
		if err != nil || r.String() != text {
			t.Fatalf("JSON round trip of %q: %s → %v, %v", s, b, r, err)
		}
		for _, c := range comps {
			a, okA := p.SpecFor(c)
			b, okB := r.SpecFor(c)
			if okA != okB || a != b {
				t.Fatalf("%q: %s decided differently after the round trip", s, c)
			}
		}
		p.Unused(comps)
	})
}
