package quant

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestComponents(t *testing.T) {
	c := Components(2)
	if len(c) != 2*7+2 || c[0] != "embed" || c[1] != "layers.0.attn.q" || c[7] != "layers.0.mlp.down" ||
		c[8] != "layers.1.attn.q" || c[15] != "lm_head" {
		t.Fatalf("Components(2) = %v", c)
	}
}

func TestSelectorMatch(t *testing.T) {
	all := Components(12)
	tests := []struct {
		sel  string
		want []string // nil: count only
		n    int
	}{
		{"lm_head", []string{"lm_head"}, 1},
		{"embed", []string{"embed"}, 1},
		{"*", nil, 12*7 + 2},
		{"layers", nil, 12 * 7},
		{"layers.*", nil, 12 * 7},
		{"layers.*.mlp.down", nil, 12},
		{"layers.*.mlp", nil, 36},
		{"layers.0-3.attn.*", nil, 16},
		{"layers.3", nil, 7},
		{"layers.1.attn.q", []string{"layers.1.attn.q"}, 1},
		{"layers.10-11.mlp.up", []string{"layers.10.mlp.up", "layers.11.mlp.up"}, 2},
		{"layers.{0,11}.mlp.{gate,up}", []string{"layers.0.mlp.gate", "layers.0.mlp.up", "layers.11.mlp.gate", "layers.11.mlp.up"}, 4},
		{"layers.{0-1,5}.attn.o", []string{"layers.0.attn.o", "layers.1.attn.o", "layers.5.attn.o"}, 3},
		{"layers.1?.attn.v", []string{"layers.10.attn.v", "layers.11.attn.v"}, 2},
		{"layers.*.attn.[qk]", nil, 24},
		{"layers.*.*.?", nil, 48},
		{"*_head", []string{"lm_head"}, 1},
		{"layers.007.attn.q", []string{"layers.7.attn.q"}, 1},
		{"layers.40", nil, 0},
	}
	for _, tt := range tests {
		sel, err := ParseSelector(tt.sel)
		if err != nil {
			t.Errorf("ParseSelector(%q): %v", tt.sel, err)
			continue
		}
		var got []string
		for _, c := range all {
			if sel.Match(c) {
				got = append(got, c)
			}
		}
		if len(got) != tt.n || (tt.want != nil && !slices.Equal(got, tt.want)) {
			t.Errorf("%q matches %v (%d), want %v (%d)", tt.sel, got, len(got), tt.want, tt.n)
		}
	}
	if ok, err := Match("layers.*.mlp.down", "layers.3.mlp.down"); !ok || err != nil {
		t.Errorf("Match: %v %v", ok, err)
	}
	if ok, err := Match("layers.*.mlp.down", "layers.3.mlp.up"); ok || err != nil {
		t.Errorf("Match: %v %v", ok, err)
	}
	if _, err := Match("layers..q", "x"); err == nil {
		t.Error("Match with a bad selector: no error")
	}
}

func TestSelectorErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"", `quant: selector "": empty selector at column 1`},
		{"layers..q", `quant: selector "layers..q": empty segment at column 8`},
		{"layer.0.attn.q", `quant: selector "layer.0.attn.q": matches no component (names start with layers, embed or lm_head) at column 1: "layer"`},
		{"layers.*.mlp.q", `quant: selector "layers.*.mlp.q": matches no matrix (attn has q, k, v, o; mlp has gate, up, down) at column 14: "q"`},
		{"layers.*.ffn", `quant: selector "layers.*.ffn": matches neither attn nor mlp at column 10: "ffn"`},
		{"layers.x.attn", `quant: selector "layers.x.attn": matches no layer index at column 8: "x"`},
		{"lm_head.q", `quant: selector "lm_head.q": embed and lm_head have no sub-components at column 9: "q"`},
		{"layers.0.attn.q.x", `quant: selector "layers.0.attn.q.x": component names have at most four segments at column 17: "x"`},
		{"layers.3-1", `quant: selector "layers.3-1": empty layer range (start after end) at column 8: "3-1"`},
		{"layers.-1", `quant: selector "layers.-1": bad layer range (want N or N-M) at column 8: "-1"`},
		{"layers.1-", `quant: selector "layers.1-": bad layer range (want N or N-M) at column 9: "1-"`},
		{"layers.1-2-3", `quant: selector "layers.1-2-3": bad layer range (want N or N-M) at column 11: "1-2-3"`},
		{"layers.{0,1", `quant: selector "layers.{0,1": unclosed { at column 8: "{0,1"`},
		{"layers.{0,,1}", `quant: selector "layers.{0,,1}": empty alternative at column 11: "{0,,1}"`},
		{"layers.[a", `quant: selector "layers.[a": bad glob pattern at column 8: "[a"`},
		{"layers.0.at tn", `quant: selector "layers.0.at tn": unexpected character in selector at column 12: "at tn"`},
	}
	for _, tt := range tests {
		_, err := ParseSelector(tt.in)
		if err == nil {
			t.Errorf("ParseSelector(%q): no error, want %s", tt.in, tt.msg)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("ParseSelector(%q):\n got %s\nwant %s", tt.in, err, tt.msg)
		}
	}
}

func TestParseSelectorList(t *testing.T) {
	sels, err := ParseSelectorList("layers.{0,1}.attn.*, lm_head")
	if err != nil || len(sels) != 2 || sels[0].String() != "layers.{0,1}.attn.*" || sels[1].String() != "lm_head" {
		t.Fatalf("ParseSelectorList: %v %v", sels, err)
	}
	_, err = ParseSelectorList("lm_head,,embed")
	if err == nil || err.Error() != `quant: selector list "lm_head,,embed": empty selector at column 9` {
		t.Errorf("empty item: %v", err)
	}
}

func TestParsePlan(t *testing.T) {
	p, err := ParsePlan(" layers.*.mlp.* = int4:g128 , lm_head=q8_0,layers.{0,1}.mlp.down=f16")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		comp string
		spec string // "" = not matched
	}{
		{"layers.5.mlp.up", "int4:g128"},
		{"layers.0.mlp.down", "f16"},
		{"layers.2.mlp.down", "int4:g128"},
		{"layers.2.attn.q", ""},
		{"lm_head", "q8_0"},
		{"embed", ""},
	}
	for _, tt := range tests {
		sp, ok := p.SpecFor(tt.comp)
		got := ""
		if ok {
			got = sp.String()
		}
		if got != tt.spec {
			t.Errorf("SpecFor(%q) = %q, want %q", tt.comp, got, tt.spec)
		}
	}
	if s := p.String(); s != "layers.*.mlp.*=int4:g128,lm_head=q8_0,layers.{0,1}.mlp.down=f16" {
		t.Errorf("String() = %q", s)
	}
}

func TestBarePlan(t *testing.T) {
	p, err := ParsePlan("q4_0")
	if err != nil {
		t.Fatal(err)
	}
	comps := Components(2)
	for _, c := range comps {
		sp, ok := p.SpecFor(c)
		linear := strings.HasPrefix(c, "layers.")
		if ok != linear || (ok && sp.String() != "q4_0") {
			t.Errorf("bare q4_0: SpecFor(%q) = %v, %v; want applied = %v", c, sp, ok, linear)
		}
	}
	if p.String() != "q4_0" {
		t.Errorf("String() = %q", p.String())
	}
	// A bare spec mixed with rules, in order: last match wins.
	p, err = ParsePlan("lm_head=q8_0,int8,layers.0=f16")
	if err != nil {
		t.Fatal(err)
	}
	for comp, want := range map[string]string{"lm_head": "q8_0", "layers.1.attn.q": "int8", "layers.0.mlp.up": "f16"} {
		if sp, _ := p.SpecFor(comp); sp.String() != want {
			t.Errorf("SpecFor(%q) = %s, want %s", comp, sp, want)
		}
	}
	if s := p.String(); s != "lm_head=q8_0,int8,layers.0=f16" {
		t.Errorf("String() = %q", s)
	}
	if q, err := ParsePlan(p.String()); err != nil || q.String() != p.String() {
		t.Errorf("round trip: %v %v", q, err)
	}
	// Everything, as llama-quantize --pure.
	p, _ = ParsePlan("*=q4_0")
	for _, c := range comps {
		if _, ok := p.SpecFor(c); !ok {
			t.Errorf("*=q4_0 misses %s", c)
		}
	}
}

func TestParsePlanErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"", `quant: plan "": empty plan at column 1`},
		{"int8,int4", `quant: plan "int8,int4": second bare spec (first at column 1): rules are selector=spec; a list of settings to compare belongs to a sweep at column 6: "int4"`},
		{"layers.*.mlp.*=int4:g12x,lm_head=q8_0", `quant: plan "layers.*.mlp.*=int4:g12x,lm_head=q8_0": bad group size at column 24: "g12x"`},
		{"lm_head=q8_0,,int8", `quant: plan "lm_head=q8_0,,int8": empty rule at column 14`},
		{"lm_head=", `quant: plan "lm_head=": missing spec after = at column 9`},
		{"=int8", `quant: plan "=int8": empty selector at column 1`},
		{"layers.*.mlp.q=int8", `quant: plan "layers.*.mlp.q=int8": matches no matrix (attn has q, k, v, o; mlp has gate, up, down) at column 14: "q"`},
		{"lm_head=q8_0, embed = int9", `quant: plan "lm_head=q8_0, embed = int9": unknown format (want f32, f16, bf16, int8, int4, int3, int2, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, prune) at column 23: "int9"`},
		{"layers.0=int8=int4", `quant: plan "layers.0=int8=int4": unknown format (want f32, f16, bf16, int8, int4, int3, int2, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, prune) at column 10: "int8=int4"`},
	}
	for _, tt := range tests {
		_, err := ParsePlan(tt.in)
		if err == nil {
			t.Errorf("ParsePlan(%q): no error, want %s", tt.in, tt.msg)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("ParsePlan(%q):\n got %s\nwant %s", tt.in, err, tt.msg)
		}
	}
}

func TestUnused(t *testing.T) {
	p, err := ParsePlan("layers.*.mlp.*=int4,layers.40=int8,layers.0.mlp.up=q8_0,layers.*.mlp=f16,lm_head=q8_0")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Unused(Components(4)) {
		got = append(got, r.String())
	}
	// layers.40 matches nothing; the first and third rules are overridden by layers.*.mlp.
	want := []string{"layers.*.mlp.*=int4:g128", "layers.40=int8", "layers.0.mlp.up=q8_0"}
	if !slices.Equal(got, want) {
		t.Errorf("Unused = %v, want %v", got, want)
	}
}

func TestPlanJSON(t *testing.T) {
	doc := `{
  "bits_per_weight": 4.7,
  "model": {"name": "x", "layers": [1, 2]},
  "rules": [
    {"select": "layers.*.mlp.*", "spec": "int4:g128", "fdtm": 0.9},
    {"select": "lm_head", "spec": "q8_0"}
  ]
}`
	p, err := ParsePlan(doc)
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != "layers.*.mlp.*=int4:g128,lm_head=q8_0" {
		t.Errorf("String() = %q", p.String())
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"rules":[{"select":"layers.*.mlp.*","spec":"int4:g128"},{"select":"lm_head","spec":"q8_0"}]}` {
		t.Errorf("Marshal = %s", b)
	}
	// A planner embeds Plan in its own document.
	type planFile struct {
		Plan
		BitsPerWeight float64 `json:"bits_per_weight"`
	}
	b, err = json.Marshal(planFile{*p, 4.7})
	if err != nil {
		t.Fatal(err)
	}
	var back planFile
	if err := json.Unmarshal(b, &back); err != nil || back.String() != p.String() || back.BitsPerWeight != 4.7 {
		t.Errorf("embedded round trip: %s → %+v, %v", b, back, err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	q, err := ParsePlan("@" + path)
	if err != nil || q.String() != p.String() {
		t.Errorf("@file: %v %v", q, err)
	}
	if _, err := ParsePlan("@" + filepath.Join(dir, "missing.json")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	empty, err := ParsePlan(`{"rules": []}`)
	if err != nil || len(empty.Rules) != 0 {
		t.Errorf("empty rules: %v %v", empty, err)
	}
}

func TestPlanJSONErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{`{"rules": [`, `quant: plan:1:12: unexpected end of JSON input`},
		{"{\n  \"rules\": [\n    {\"select\": \"lm_head\", \"spec\": \"q8_0\"},,\n  ]\n}", `quant: plan:3:43: invalid character ',' looking for beginning of value`},
		{`{"rules": {"lm_head": "q8_0"}}`, `quant: plan:1:11: "rules" must be an array of {"select": …, "spec": …} objects`},
		{"{\"rules\": [\n {\"select\": \"lm_head\", \"spec\": \"q8_0\"},\n {\"select\": \"layers.*\", \"spec\": \"int4:g12x\"}\n]}", `quant: plan:3:2: rule 2: spec "int4:g12x": bad group size at column 9: "g12x"`},
		{`{"rules": [{"spec": "q8_0"}]}`, `quant: plan:1:12: rule 1: rule without "select"`},
		{`{"rules": [{"select": "lm_head"}]}`, `quant: plan:1:12: rule 1: rule without "spec"`},
		{`{"rules": [{"select": "lm_head", "spec": 8}]}`, `quant: plan:1:12: rule 1: want {"select": "…", "spec": "…"} with string values`},
		{`{"rules": [{"select": "layer", "spec": "q8_0"}]}`, `quant: plan:1:12: rule 1: selector "layer": matches no component (names start with layers, embed or lm_head) at column 1: "layer"`},
		{`{"plan": []}`, `quant: plan:1:1: missing "rules"`},
		{`{"rules": [], "rules": []}`, `quant: plan:1:15: "rules" given twice`},
		{`{"rules": []} x`, `quant: plan:1:15: invalid character 'x' after top-level value`},
		{`{"rules": []} {}`, `quant: plan:1:15: invalid character '{' after top-level value`},
		{`[]`, `quant: plan:1:1: a plan is a JSON object {"rules": [...]}`},
	}
	for _, tt := range tests {
		_, err := DecodePlanJSON("plan", []byte(tt.in))
		if err == nil {
			t.Errorf("ParsePlan(%q): no error, want %s", tt.in, tt.msg)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("ParsePlan(%q):\n got %s\nwant %s", tt.in, err, tt.msg)
		}
	}
}
