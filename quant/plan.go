package quant

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// A Plan says how to compress each component of a model: a list of rules,
// the last matching rule wins (DESIGN §3). In text form, rules are
// `selector=spec` separated by commas:
//
//	layers.*.mlp.*=int4:g128,lm_head=q8_0
//
// A bare spec (no selector) stands for `layers=SPEC`: it applies to the
// seven linear matrices of every layer (attn.q/k/v/o, mlp.gate/up/down),
// the DTM notion of a component (METRICS §0.2). It does not touch embed or
// lm_head, which is also the default of GPTQ, AWQ, bitsandbytes and
// llm-compressor; name them to compress them (`q4_0,lm_head=q4_0,embed=q4_0`,
// or `*=q4_0` for everything, as llama-quantize --pure does). A plan holds at
// most one bare spec, so `int8,int4` is an error here: a list of settings
// for a sweep is parsed by ParseSpecList.
//
// The JSON form (a file given as @plan.json, or inline text starting with {)
// is
//
//	{"rules": [{"select": "layers.*.mlp.*", "spec": "int4:g128"},
//	           {"select": "lm_head", "spec": "q8_0"}]}
//
// Other keys, at the top level and inside rules, are metadata and ignored
// on load (the planner writes e.g. "bits_per_weight" and predicted metrics).
// Marshalling a Plan with encoding/json writes this form.
type Plan struct {
	Rules []Rule `json:"rules"`
}

// A Rule applies Spec to the components that Select picks.
type Rule struct {
	Select Selector
	Spec   Spec
}

// bareSelector is what a bare spec in a plan stands for.
const bareSelector = "layers"

// ParsePlan parses a plan from its command-line form: `@FILE` reads a JSON
// plan file, text starting with `{` is a JSON plan, anything else is the
// comma-separated text form.
func ParsePlan(s string) (*Plan, error) {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "@"):
		return ReadPlanFile(t[1:])
	case strings.HasPrefix(t, "{"):
		return DecodePlanJSON("plan", []byte(s))
	}
	return parsePlanText(s)
}

func parsePlanText(s string) (*Plan, error) {
	if strings.TrimSpace(s) == "" {
		return nil, &SyntaxError{What: "plan", Input: s, Col: 1, Msg: "empty plan"}
	}
	p := &Plan{}
	bareAt := -1
	for _, f := range splitTop(s) {
		if strings.TrimSpace(f.text) == "" {
			return nil, &SyntaxError{What: "plan", Input: s, Col: f.off + 1, Msg: "empty rule"}
		}
		eq := strings.IndexByte(f.text, '=')
		if eq < 0 {
			item := strings.TrimSpace(f.text)
			col := f.off + strings.Index(f.text, item)
			if bareAt >= 0 {
				return nil, &SyntaxError{What: "plan", Input: s, Col: col + 1, Token: item,
					Msg: fmt.Sprintf("second bare spec (first at column %d): rules are selector=spec; a list of settings to compare belongs to a sweep", bareAt+1)}
			}
			bareAt = col
			sp, err := parseSpec(item, "plan", s, col)
			if err != nil {
				return nil, err
			}
			sel, _ := ParseSelector(bareSelector)
			p.Rules = append(p.Rules, Rule{Select: sel, Spec: sp})
			continue
		}
		sel, err := parseSelector(f.text[:eq], "plan", s, f.off)
		if err != nil {
			return nil, err
		}
		rhs := f.text[eq+1:]
		item := strings.TrimSpace(rhs)
		col := f.off + eq + 1 + strings.Index(rhs, item)
		if item == "" {
			return nil, &SyntaxError{What: "plan", Input: s, Col: f.off + eq + 2, Msg: "missing spec after ="}
		}
		sp, err := parseSpec(item, "plan", s, col)
		if err != nil {
			return nil, err
		}
		p.Rules = append(p.Rules, Rule{Select: sel, Spec: sp})
	}
	return p, nil
}

// SpecFor returns the spec the plan gives component (the last matching
// rule), or false when no rule matches and the component stays as it is.
func (p *Plan) SpecFor(component string) (Spec, bool) {
	for i := len(p.Rules) - 1; i >= 0; i-- {
		if p.Rules[i].Select.Match(component) {
			return p.Rules[i].Spec, true
		}
	}
	return Spec{}, false
}

// Unused returns the rules that decide no component of the list: they
// match none of them (e.g. layers.40 in a 32-layer model), or every
// component they match is taken by a later rule. Each is worth a warning.
func (p *Plan) Unused(components []string) []Rule {
	used := make([]bool, len(p.Rules))
	for _, c := range components {
		for i := len(p.Rules) - 1; i >= 0; i-- {
			if p.Rules[i].Select.Match(c) {
				used[i] = true
				break
			}
		}
	}
	var out []Rule
	for i, u := range used {
		if !u {
			out = append(out, p.Rules[i])
		}
	}
	return out
}

// String returns the text form of the plan; ParsePlan(p.String()) gives the
// same plan. A single rule for all layers is written as a bare spec.
func (p *Plan) String() string {
	n := 0
	for _, r := range p.Rules {
		if r.Select.text == bareSelector {
			n++
		}
	}
	parts := make([]string, len(p.Rules))
	for i, r := range p.Rules {
		if n == 1 && r.Select.text == bareSelector {
			parts[i] = r.Spec.String()
		} else {
			parts[i] = r.String()
		}
	}
	return strings.Join(parts, ",")
}

// String returns the rule as selector=spec.
func (r Rule) String() string { return r.Select.String() + "=" + r.Spec.String() }

type ruleJSON struct {
	Select *string `json:"select"`
	Spec   *string `json:"spec"`
}

// MarshalJSON writes {"select": …, "spec": …}.
func (r Rule) MarshalJSON() ([]byte, error) {
	sel, sp := r.Select.String(), r.Spec.String()
	if sel == "" {
		return nil, errors.New("quant: rule without selector")
	}
	return json.Marshal(ruleJSON{Select: &sel, Spec: &sp})
}

// UnmarshalJSON reads {"select": …, "spec": …}, ignoring other keys.
func (r *Rule) UnmarshalJSON(b []byte) error {
	var v ruleJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	rule, err := v.rule()
	if err != nil {
		return err
	}
	*r = rule
	return nil
}

func (v ruleJSON) rule() (Rule, error) {
	if v.Select == nil {
		return Rule{}, errors.New(`quant: rule without "select"`)
	}
	if v.Spec == nil {
		return Rule{}, errors.New(`quant: rule without "spec"`)
	}
	sel, err := ParseSelector(*v.Select)
	if err != nil {
		return Rule{}, err
	}
	sp, err := ParseSpec(strings.TrimSpace(*v.Spec))
	if err != nil {
		return Rule{}, err
	}
	return Rule{Select: sel, Spec: sp}, nil
}

// ReadPlanFile reads a JSON plan file.
func ReadPlanFile(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("quant: reading plan: %w", err)
	}
	return DecodePlanJSON(path, data)
}

// A PlanError locates a problem in a JSON plan.
type PlanError struct {
	Name      string // file name, or "plan" for inline text
	Line, Col int    // 1-based position in the document
	Rule      int    // 1-based rule number, 0 when not about one rule
	Err       error
}

func (e *PlanError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "quant: ")
	if e.Rule > 0 {
		return fmt.Sprintf("quant: %s:%d:%d: rule %d: %s", e.Name, e.Line, e.Col, e.Rule, msg)
	}
	return fmt.Sprintf("quant: %s:%d:%d: %s", e.Name, e.Line, e.Col, msg)
}

func (e *PlanError) Unwrap() error { return e.Err }

// DecodePlanJSON parses a JSON plan document (see Plan); name is used in
// errors, which give the line and column.
func DecodePlanJSON(name string, data []byte) (*Plan, error) {
	fail := func(off int64, rule int, err error) error {
		line, col := lineCol(data, off)
		return &PlanError{Name: name, Line: line, Col: col, Rule: rule, Err: err}
	}
	jsonErr := func(dec *json.Decoder, err error) error {
		off := dec.InputOffset()
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			off = se.Offset
		case errors.As(err, &te):
			off = te.Offset
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			off = int64(len(data))
			err = errors.New("unexpected end of JSON")
		}
		return fail(off, 0, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	// json.Decoder reports syntax errors at offsets relative to its buffer,
	// so check the syntax of the whole document first.
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off := se.Offset - 1 // the offending byte
			if off >= int64(len(data))-1 && strings.Contains(se.Error(), "end of JSON") {
				off = int64(len(data))
			}
			return nil, fail(off, 0, err)
		}
		return nil, fail(int64(len(data)), 0, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fail(skipSpace(data, 0), 0, errors.New(`a plan is a JSON object {"rules": [...]}`))
	}
	var p *Plan
	for dec.More() {
		keyAt := skipSpace(data, dec.InputOffset())
		keyTok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(dec, err)
		}
		if key, _ := keyTok.(string); key != "rules" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, jsonErr(dec, err)
			}
			continue
		}
		if p != nil {
			return nil, fail(keyAt, 0, errors.New(`"rules" given twice`))
		}
		p = &Plan{Rules: []Rule{}}
		at := skipSpace(data, dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(dec, err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return nil, fail(at, 0, errors.New(`"rules" must be an array of {"select": …, "spec": …} objects`))
		}
		for dec.More() {
			start := skipSpace(data, dec.InputOffset())
			var v ruleJSON
			if err := dec.Decode(&v); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					return nil, fail(start, len(p.Rules)+1, errors.New(`want {"select": "…", "spec": "…"} with string values`))
				}
				return nil, jsonErr(dec, err)
			}
			r, err := v.rule()
			if err != nil {
				return nil, fail(start, len(p.Rules)+1, err)
			}
			p.Rules = append(p.Rules, r)
		}
		if _, err := dec.Token(); err != nil { // ]
			return nil, jsonErr(dec, err)
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, jsonErr(dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(int64(len(data)), 0, errors.New("data after the plan object"))
	}
	if p == nil {
		return nil, fail(0, 0, errors.New(`missing "rules"`))
	}
	return p, nil
}

// skipSpace returns the offset of the first byte at or after off that is
// not JSON white space or a comma or colon separator.
func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
