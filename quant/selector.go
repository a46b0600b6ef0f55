package quant

import (
	"path"
	"strconv"
	"strings"
)

// Component names (DESIGN §3): layers.L.attn.q|k|v|o,
// layers.L.mlp.gate|up|down (L from 0), embed and lm_head.
var (
	attnMatrices = []string{"q", "k", "v", "o"}
	mlpMatrices  = []string{"gate", "up", "down"}
)

// Components returns the names of every component of a model with the given
// number of layers, in model order: embed, then per layer
// attn.q, attn.k, attn.v, attn.o, mlp.gate, mlp.up, mlp.down, then lm_head.
func Components(layers int) []string {
	out := []string{"embed"}
	for l := 0; l < layers; l++ {
		p := "layers." + strconv.Itoa(l) + "."
		for _, m := range attnMatrices {
			out = append(out, p+"attn."+m)
		}
		for _, m := range mlpMatrices {
			out = append(out, p+"mlp."+m)
		}
	}
	return append(out, "lm_head")
}

// A Selector picks components by name. It is a dot-separated list of
// segments matched against the leading segments of a component name, so
// `layers.3` selects all seven matrices of layer 3 and `*` selects
// everything. A segment is
//
//	a glob as in path.Match:      *, ?, [abc], mlp, d*
//	a layer index or range:       3, 0-3 (inclusive)
//	alternatives in braces:       {q,k}, {0-3,8,10-11}
//
// e.g. `layers.*.mlp.down`, `layers.0-3.attn.*`, `layers.{0,31}.mlp`, `lm_head`.
// ParseSelector rejects selectors that no component name can match
// (`layers.*.mlp.q`); Plan.Unused reports rules that match nothing in a
// particular model.
type Selector struct {
	text string
	segs [][]alt
}

// alt is one alternative of a segment: a glob, or an inclusive integer range.
type alt struct {
	glob    string
	lo, hi  int
	isRange bool
}

func (a alt) match(part string) bool {
	if a.isRange {
		v, bad := parseUint(part)
		if bad >= 0 || len(part) > 9 {
			return false
		}
		return v >= a.lo && v <= a.hi
	}
	ok, _ := path.Match(a.glob, part)
	return ok
}

func matchSeg(alts []alt, part string) bool {
	for _, a := range alts {
		if a.match(part) {
			return true
		}
	}
	return false
}

// String returns the selector as written (without surrounding space).
func (s Selector) String() string { return s.text }

// Match reports whether the selector picks the named component.
func (s Selector) Match(component string) bool {
	if len(s.segs) == 0 {
		return false
	}
	parts := strings.Split(component, ".")
	if len(parts) < len(s.segs) {
		return false
	}
	for i, seg := range s.segs {
		if !matchSeg(seg, parts[i]) {
			return false
		}
	}
	return true
}

// Match reports whether selector picks component; the error is non-nil
// when the selector is malformed (like path.Match).
func Match(selector, component string) (bool, error) {
	s, err := ParseSelector(selector)
	if err != nil {
		return false, err
	}
	return s.Match(component), nil
}

// ParseSelector parses a selector (see Selector).
func ParseSelector(s string) (Selector, error) {
	return parseSelector(s, "selector", s, 0)
}

// ParseSelectorList parses comma-separated selectors, such as the
// --components flag of a sweep (`layers.0-3.attn.*,lm_head`). Commas inside
// braces belong to their segment.
func ParseSelectorList(s string) ([]Selector, error) {
	var out []Selector
	for _, f := range splitTop(s) {
		sel, err := parseSelector(f.text, "selector list", s, f.off)
		if err != nil {
			return nil, err
		}
		out = append(out, sel)
	}
	return out, nil
}

// parseSelector parses text found at byte offset off of input.
func parseSelector(text, what, input string, off int) (Selector, error) {
	errAt := func(i int, msg, tok string) error {
		return &SyntaxError{What: what, Input: input, Col: off + i + 1, Msg: msg, Token: tok}
	}
	trimmed := strings.TrimSpace(text)
	lead := strings.Index(text, trimmed)
	if trimmed == "" {
		return Selector{}, errAt(0, "empty selector", "")
	}
	sel := Selector{text: trimmed}
	var starts []int
	at := lead
	for _, seg := range strings.Split(trimmed, ".") {
		starts = append(starts, at)
		alts, err := parseSegment(seg, at, errAt)
		if err != nil {
			return Selector{}, err
		}
		sel.segs = append(sel.segs, alts)
		at += len(seg) + 1
	}
	if i, msg := sel.impossible(); i >= 0 {
		seg := strings.Split(trimmed, ".")[i]
		return Selector{}, errAt(starts[i], msg, seg)
	}
	return sel, nil
}

func parseSegment(seg string, at int, errAt func(int, string, string) error) ([]alt, error) {
	if seg == "" {
		return nil, errAt(at, "empty segment", "")
	}
	items := []string{seg}
	itemAt := []int{at}
	if seg[0] == '{' {
		if seg[len(seg)-1] != '}' || len(seg) < 2 {
			return nil, errAt(at, "unclosed {", seg)
		}
		inner := seg[1 : len(seg)-1]
		items, itemAt = nil, nil
		p := at + 1
		for _, it := range strings.Split(inner, ",") {
			items = append(items, it)
			itemAt = append(itemAt, p)
			p += len(it) + 1
		}
	}
	var alts []alt
	for k, it := range items {
		p := itemAt[k]
		if it == "" {
			return nil, errAt(p, "empty alternative", seg)
		}
		if i := strings.IndexAny(it, "{}"); i >= 0 {
			return nil, errAt(p+i, "braces only around a whole segment, not nested", it)
		}
		if i := strings.IndexAny(it, " \t=,"); i >= 0 {
			return nil, errAt(p+i, "unexpected character in selector", it)
		}
		if strings.Trim(it, "0123456789-") == "" {
			a, bad, msg := parseRange(it)
			if bad >= 0 {
				return nil, errAt(p+bad, msg, it)
			}
			alts = append(alts, a)
			continue
		}
		if _, err := path.Match(it, ""); err != nil {
			return nil, errAt(p, "bad glob pattern", it)
		}
		alts = append(alts, alt{glob: it})
	}
	return alts, nil
}

// parseRange parses N or N-M (N ≤ M).
func parseRange(s string) (a alt, bad int, msg string) {
	lo, hi := s, s
	if i := strings.IndexByte(s, '-'); i >= 0 {
		lo, hi = s[:i], s[i+1:]
		if strings.IndexByte(hi, '-') >= 0 {
			return alt{}, i + 1 + strings.IndexByte(hi, '-'), "bad layer range (want N or N-M)"
		}
		if lo == "" {
			return alt{}, 0, "bad layer range (want N or N-M)"
		}
		if hi == "" {
			return alt{}, i, "bad layer range (want N or N-M)"
		}
	}
	if len(lo) > 9 || len(hi) > 9 {
		return alt{}, 0, "layer index too large"
	}
	a.lo, _ = parseUint(lo)
	a.hi, _ = parseUint(hi)
	if a.lo > a.hi {
		return alt{}, 0, "empty layer range (start after end)"
	}
	a.isRange = true
	return a, -1, ""
}

// impossible returns the index of the first segment that no component name
// can match, with a message, or -1.
func (s Selector) impossible() (int, string) {
	any := func(seg []alt, names []string) bool {
		for _, n := range names {
			if matchSeg(seg, n) {
				return true
			}
		}
		return false
	}
	top := []string{"layers", "embed", "lm_head"}
	if !any(s.segs[0], top) {
		return 0, "matches no component (names start with layers, embed or lm_head)"
	}
	layers := matchSeg(s.segs[0], "layers")
	if len(s.segs) == 1 {
		return -1, ""
	}
	if !layers {
		return 1, "embed and lm_head have no sub-components"
	}
	// Layer position: any index up to 4095 that the segment can match will do.
	ok := false
	for l := 0; l < 4096 && !ok; l++ {
		ok = matchSeg(s.segs[1], strconv.Itoa(l))
	}
	if !ok {
		return 1, "matches no layer index"
	}
	if len(s.segs) == 2 {
		return -1, ""
	}
	attn, mlp := matchSeg(s.segs[2], "attn"), matchSeg(s.segs[2], "mlp")
	if !attn && !mlp {
		return 2, "matches neither attn nor mlp"
	}
	if len(s.segs) == 3 {
		return -1, ""
	}
	if !(attn && any(s.segs[3], attnMatrices)) && !(mlp && any(s.segs[3], mlpMatrices)) {
		return 3, "matches no matrix (attn has q, k, v, o; mlp has gate, up, down)"
	}
	if len(s.segs) > 4 {
		return 4, "component names have at most four segments"
	}
	return -1, ""
}

// field is a piece of a comma-separated text and its byte offset.
type field struct {
	text string
	off  int
}

// splitTop splits s at commas that are not inside {…} or […].
func splitTop(s string) []field {
	var out []field
	depth, class, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
		case class:
			if c == ']' {
				class = false
			}
		case c == '[':
			class = true
		case c == '{':
			depth++
		case c == '}':
			if depth > 0 {
				depth--
			}
		case c == ',' && depth == 0:
			out = append(out, field{s[start:i], start})
			start = i + 1
		}
	}
	return append(out, field{s[start:], start})
}
