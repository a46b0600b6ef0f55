package quant

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// A Spec is one compression setting for a weight matrix, written
// FORMAT[:OPTION...] (DESIGN §3, docs/QUANT.md):
//
//	f32 f16 bf16                          casts (round to nearest even)
//	int8 int4 int3 int2 [:gN|:row] [:sym|:asym]
//	                                      divergo's round-to-nearest formats (docs/FORMATS.md);
//	                                      default group: the whole row for int8, 128 otherwise
//	q8_0 q4_0 q4_1 q5_0 q5_1              ggml 32-value block formats, bit-compatible
//	q2_k q3_k q4_k q5_k q6_k              ggml k-quants (256-value super-blocks)
//	prune:S                               zero the ⌊S·rows·cols⌋ smallest |w| (0 ≤ S ≤ 1)
//	prune:N:M                             keep the N largest |w| of every M along a row
//
// The option a8 (on int and ggml formats only) asks for int8 activations at
// run time (W·A8). Names are case-insensitive; String gives the canonical
// lower-case form, and ParseSpec(s.String()) == s.
//
// The zero Spec is not valid; make Specs with ParseSpec.
type Spec struct {
	// Format is the canonical format name: "f32", "int4", "q4_k", "prune", …
	Format string
	// Group is the group size of an int format; 0 means one group per row.
	Group int
	// Asym selects the asymmetric (scale + offset) variant of an int format.
	Asym bool
	// Sparsity is the share of zeros for prune:S.
	Sparsity float64
	// N and M are set for prune:N:M (M > 0); zero otherwise.
	N, M int
	// A8 asks for int8-quantized activations at run time.
	A8 bool
}

// formatInfo describes a spec format name.
type formatInfo struct {
	name  string
	kind  kind
	bits  int     // int formats: B; others unused
	nbits float64 // nominal bits per weight (ggml and casts)
	block int     // values per block (ggml formats)
	bytes int     // bytes per block (ggml formats; 4 and 2 for the casts)
}

type kind int

const (
	kindCast kind = iota
	kindInt
	kindGGML
	kindPrune
)

var formats = []formatInfo{
	{name: "f32", kind: kindCast, nbits: 32, block: 1, bytes: 4},
	{name: "f16", kind: kindCast, nbits: 16, block: 1, bytes: 2},
	{name: "bf16", kind: kindCast, nbits: 16, block: 1, bytes: 2},
	{name: "int8", kind: kindInt, bits: 8},
	{name: "int4", kind: kindInt, bits: 4},
	{name: "int3", kind: kindInt, bits: 3},
	{name: "int2", kind: kindInt, bits: 2},
	{name: "q8_0", kind: kindGGML, nbits: 8.5, block: 32, bytes: 34},
	{name: "q4_0", kind: kindGGML, nbits: 4.5, block: 32, bytes: 18},
	{name: "q4_1", kind: kindGGML, nbits: 5, block: 32, bytes: 20},
	{name: "q5_0", kind: kindGGML, nbits: 5.5, block: 32, bytes: 22},
	{name: "q5_1", kind: kindGGML, nbits: 6, block: 32, bytes: 24},
	{name: "q2_k", kind: kindGGML, nbits: 2.625, block: 256, bytes: 84},
	{name: "q3_k", kind: kindGGML, nbits: 3.4375, block: 256, bytes: 110},
	{name: "q4_k", kind: kindGGML, nbits: 4.5, block: 256, bytes: 144},
	{name: "q5_k", kind: kindGGML, nbits: 5.5, block: 256, bytes: 176},
	{name: "q6_k", kind: kindGGML, nbits: 6.5625, block: 256, bytes: 210},
	{name: "prune", kind: kindPrune},
}

func lookupFormat(name string) *formatInfo {
	for i := range formats {
		if formats[i].name == name {
			return &formats[i]
		}
	}
	return nil
}

func formatNames() string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// maxGroup bounds group sizes and N:M parameters so that size arithmetic
// stays far from overflow.
const maxGroup = 1 << 24

// A SyntaxError reports a malformed spec, selector or plan. Col is the
// 1-based column of the offending character in Input, so a command line
// tool can draw a caret under it.
type SyntaxError struct {
	What  string // "spec", "selector", "plan", "spec list"
	Input string // the whole text that was parsed
	Col   int    // 1-based column in Input
	Msg   string // what is wrong
	Token string // the offending piece of Input
}

func (e *SyntaxError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("quant: %s %q: %s at column %d", e.What, e.Input, e.Msg, e.Col)
	}
	return fmt.Sprintf("quant: %s %q: %s at column %d: %q", e.What, e.Input, e.Msg, e.Col, e.Token)
}

// ParseSpec parses one compression setting (see Spec).
func ParseSpec(s string) (Spec, error) {
	return parseSpec(s, "spec", s, 0)
}

// ParseSpecList parses a comma-separated list of specs, the settings of a
// sweep (`--quant int8,int4:g128,prune:0.5`). It is not a plan: items are
// bare specs, never `selector=spec` rules.
func ParseSpecList(s string) ([]Spec, error) {
	var out []Spec
	for _, f := range splitTop(s) {
		item := strings.TrimSpace(f.text)
		col := f.off + strings.Index(f.text, item)
		if item == "" {
			return nil, &SyntaxError{What: "spec list", Input: s, Col: f.off + 1, Msg: "empty item"}
		}
		if i := strings.IndexByte(item, '='); i >= 0 {
			return nil, &SyntaxError{What: "spec list", Input: s, Col: col + i + 1,
				Msg: "a list of settings takes bare specs, not selector=spec rules (that is a plan)", Token: item}
		}
		sp, err := parseSpec(item, "spec list", s, col)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// parseSpec parses text, which starts at byte offset off of input; errors
// point into input.
func parseSpec(text, what, input string, off int) (Spec, error) {
	errAt := func(i int, msg, tok string) error {
		return &SyntaxError{What: what, Input: input, Col: off + i + 1, Msg: msg, Token: tok}
	}
	if strings.TrimSpace(text) == "" {
		return Spec{}, errAt(0, "empty spec", "")
	}
	parts, starts := splitColon(text)
	name := strings.ToLower(parts[0])
	f := lookupFormat(name)
	if f == nil {
		msg := "unknown format (want " + formatNames() + ")"
		if strings.HasSuffix(name, "_k_m") || strings.HasSuffix(name, "_k_s") || strings.HasSuffix(name, "_k_l") {
			// Suggest the k-quant only when it is one (the name is the
			// user's text and may hold anything, newlines included).
			if stem := name[:len(name)-2]; lookupFormat(stem) != nil {
				msg = "llama.cpp mixtures are plans, not formats; use " + stem + " or a plan"
			}
		}
		return Spec{}, errAt(0, msg, parts[0])
	}
	sp := Spec{Format: f.name}
	opts, ostarts := parts[1:], starts[1:]

	if f.kind == kindPrune {
		return parsePrune(sp, text, opts, ostarts, errAt)
	}

	var groupSet, rowSet, symSet, asymSet bool
	seen := map[string]int{}
	for i, o := range opts {
		at := ostarts[i]
		lo := strings.ToLower(o)
		if o == "" {
			return Spec{}, errAt(at, "empty option", "")
		}
		key := lo
		if lo[0] == 'g' {
			key = "g"
		}
		if j, dup := seen[key]; dup {
			return Spec{}, errAt(at, "option repeated (first at column "+strconv.Itoa(off+ostarts[j]+1)+")", o)
		}
		seen[key] = i
		switch {
		case lo == "a8":
			if f.kind == kindCast {
				return Spec{}, errAt(at, "option a8 needs a quantized weight format, not "+f.name, o)
			}
			sp.A8 = true
		case f.kind == kindCast:
			return Spec{}, errAt(at, f.name+" takes no options", o)
		case f.kind == kindGGML:
			return Spec{}, errAt(at, "unknown option ("+f.name+" takes only a8)", o)
		case lo == "row":
			if groupSet {
				return Spec{}, errAt(at, "row conflicts with a group size", o)
			}
			rowSet = true
		case lo == "sym":
			if asymSet {
				return Spec{}, errAt(at, "sym conflicts with asym", o)
			}
			symSet = true
		case lo == "asym":
			if symSet {
				return Spec{}, errAt(at, "asym conflicts with sym", o)
			}
			asymSet = true
			sp.Asym = true
		case lo[0] == 'g':
			if rowSet {
				return Spec{}, errAt(at, "group size conflicts with row", o)
			}
			if len(o) == 1 {
				return Spec{}, errAt(at, "bad group size", o)
			}
			g, bad := parseUint(o[1:])
			if bad >= 0 {
				return Spec{}, errAt(at+1+bad, "bad group size", o)
			}
			if g < 2 {
				return Spec{}, errAt(at+1, "group size must be at least 2", o)
			}
			if g > maxGroup {
				return Spec{}, errAt(at+1, "group size too large (at most "+strconv.Itoa(maxGroup)+")", o)
			}
			groupSet = true
			sp.Group = g
		default:
			return Spec{}, errAt(at, "unknown option ("+f.name+" takes gN, row, sym, asym, a8)", o)
		}
	}
	if f.kind == kindInt && !groupSet && !rowSet && f.bits != 8 {
		sp.Group = 128
	}
	return sp, nil
}

func parsePrune(sp Spec, text string, opts []string, starts []int, errAt func(int, string, string) error) (Spec, error) {
	if len(opts) == 0 {
		return Spec{}, errAt(len(text), "prune needs a sparsity (prune:0.5) or N:M (prune:2:4)", "")
	}
	for i, o := range opts {
		if strings.EqualFold(o, "a8") {
			return Spec{}, errAt(starts[i], "option a8 needs a quantized weight format, not prune", o)
		}
	}
	switch len(opts) {
	case 1:
		o := opts[0]
		if bad := decimalBad(o); bad >= 0 {
			return Spec{}, errAt(starts[0]+bad, "bad sparsity (want a decimal number 0 ≤ S ≤ 1, e.g. 0.5)", o)
		}
		v, err := strconv.ParseFloat(o, 64)
		if err != nil || v < 0 || v > 1 {
			return Spec{}, errAt(starts[0], "sparsity out of range (want 0 ≤ S ≤ 1)", o)
		}
		sp.Sparsity = v
		return sp, nil
	case 2:
		n, bad := parseUint(opts[0])
		if bad >= 0 {
			return Spec{}, errAt(starts[0]+bad, "bad N in prune:N:M", opts[0])
		}
		m, bad := parseUint(opts[1])
		if bad >= 0 {
			return Spec{}, errAt(starts[1]+bad, "bad M in prune:N:M", opts[1])
		}
		if m > maxGroup {
			return Spec{}, errAt(starts[1], "M too large (at most "+strconv.Itoa(maxGroup)+")", opts[1])
		}
		if n < 1 || n >= m {
			return Spec{}, errAt(starts[0], "prune:N:M needs 1 ≤ N < M", opts[0]+":"+opts[1])
		}
		sp.N, sp.M = n, m
		return sp, nil
	default:
		return Spec{}, errAt(starts[2], "too many parts (want prune:S or prune:N:M)", opts[2])
	}
}

// parseUint parses a non-empty string of ASCII digits. bad is the index of
// the first offending byte, or -1.
func parseUint(s string) (v int, bad int) {
	if s == "" {
		return 0, 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, i
		}
		if v > maxGroup*10 {
			continue // keep scanning for bad bytes; the value is too large anyway
		}
		v = v*10 + int(c-'0')
	}
	return v, -1
}

// decimalBad checks s against digits[.digits] (or .digits) and returns the
// index of the first offending byte, or -1.
func decimalBad(s string) int {
	if s == "" {
		return 0
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return i
		}
	}
	if digits == 0 {
		return 0
	}
	return -1
}

// splitColon splits s at ':' and returns the parts and their start offsets.
func splitColon(s string) ([]string, []int) {
	parts := strings.Split(s, ":")
	starts := make([]int, len(parts))
	at := 0
	for i, p := range parts {
		starts[i] = at
		at += len(p) + 1
	}
	return parts, starts
}

// String returns the canonical form of s: lower case, the group size of
// int2–int4 explicit (int4 → int4:g128), per-row int8 written as plain
// int8, per-row int2–int4 as :row, sym omitted, options in the order
// group, asym, a8.
func (s Spec) String() string {
	f := lookupFormat(s.Format)
	if f == nil {
		return fmt.Sprintf("invalid(%q)", s.Format)
	}
	var b strings.Builder
	b.WriteString(f.name)
	switch f.kind {
	case kindPrune:
		if s.M > 0 {
			fmt.Fprintf(&b, ":%d:%d", s.N, s.M)
		} else {
			b.WriteString(":" + strconv.FormatFloat(s.Sparsity, 'f', -1, 64))
		}
		return b.String()
	case kindInt:
		switch {
		case s.Group > 0:
			fmt.Fprintf(&b, ":g%d", s.Group)
		case f.bits != 8:
			b.WriteString(":row")
		}
		if s.Asym {
			b.WriteString(":asym")
		}
	}
	if s.A8 {
		b.WriteString(":a8")
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler with the canonical form.
func (s Spec) MarshalText() ([]byte, error) {
	if lookupFormat(s.Format) == nil {
		return nil, fmt.Errorf("quant: invalid spec format %q", s.Format)
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseSpec.
func (s *Spec) UnmarshalText(b []byte) error {
	v, err := ParseSpec(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// IsPrune reports whether s is a pruning spec (the result keeps a float format).
func (s Spec) IsPrune() bool { return s.Format == "prune" }

// Bits returns the nominal storage cost of s in bits per weight, scales
// and offsets included (docs/FORMATS.md): 32 and 16 for the casts, the
// ggml figures (4.5 for q4_0 …), B + 32/G or B + 64/G for the int formats
// (int3 and int2 count 3 and 2 bits although they are stored in nibbles).
// A per-row int format returns B; its scale cost depends on the row length,
// see MatrixBits. A pruned matrix stays dense float32: 32.
func (s Spec) Bits() float64 {
	f := lookupFormat(s.Format)
	if f == nil {
		return 0
	}
	switch f.kind {
	case kindInt:
		if s.Group == 0 {
			return float64(f.bits)
		}
		return float64(f.bits) + float64(s.scaleBits())/float64(s.Group)
	case kindPrune:
		return 32
	}
	return f.nbits
}

func (s Spec) scaleBits() int {
	if s.Asym {
		return 64
	}
	return 32
}

// MatrixBits returns the nominal storage bits of a rows×cols matrix in s
// (as Bits, but exact for ragged tails and per-row groups), or an error
// when cols does not suit the format (ggml formats need whole blocks).
func (s Spec) MatrixBits(rows, cols int) (int64, error) {
	if err := s.Check(cols); err != nil {
		return 0, err
	}
	f := lookupFormat(s.Format)
	r, c := int64(rows), int64(cols)
	switch f.kind {
	case kindInt:
		g := int64(s.Group)
		if g == 0 {
			g = max(c, 1)
		}
		groups := (c + g - 1) / g
		return r * (c*int64(f.bits) + groups*int64(s.scaleBits())), nil
	case kindPrune:
		return r * c * 32, nil
	}
	return r * (c / int64(f.block)) * int64(f.bytes) * 8, nil
}

// Check reports whether rows of cols values can be stored in s: the ggml
// block formats need a multiple of 32 (256 for the k-quants); everything
// else takes any length.
func (s Spec) Check(cols int) error {
	if err := s.validate(); err != nil {
		return err
	}
	f := lookupFormat(s.Format)
	if cols < 0 {
		return fmt.Errorf("quant: %s: negative column count %d", s, cols)
	}
	if f.kind == kindGGML && cols%f.block != 0 {
		return fmt.Errorf("quant: %s needs rows of a multiple of %d values, have %d columns", s, f.block, cols)
	}
	return nil
}

// validate reports whether s is a spec ParseSpec can return (a Spec built
// by hand may not be).
func (s Spec) validate() error {
	if lookupFormat(s.Format) == nil {
		return fmt.Errorf("quant: invalid spec: unknown format %q", s.Format)
	}
	if v, err := ParseSpec(s.String()); err != nil || v != s {
		return fmt.Errorf("quant: invalid spec %+v", s)
	}
	return nil
}

// pruneCount returns ⌊S·n⌋ computed on the decimal value of S as written
// (so prune:0.29 of 100 values zeroes 29, not 28 as 0.29·100 in float64 would).
func pruneCount(sparsity float64, n int) int {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(sparsity, 'f', -1, 64))
	if !ok {
		return int(sparsity * float64(n))
	}
	r.Mul(r, new(big.Rat).SetInt64(int64(n)))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	return int(q.Int64())
}
