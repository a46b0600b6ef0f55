package quant

import (
	"errors"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in    string
		want  Spec
		canon string
		bits  float64
	}{
		{"f32", Spec{Format: "f32"}, "f32", 32},
		{"F16", Spec{Format: "f16"}, "f16", 16},
		{"bf16", Spec{Format: "bf16"}, "bf16", 16},
		{"int8", Spec{Format: "int8"}, "int8", 8},
		{"int8:row", Spec{Format: "int8"}, "int8", 8},
		{"int8:sym", Spec{Format: "int8"}, "int8", 8},
		{"int8:asym", Spec{Format: "int8", Asym: true}, "int8:asym", 8},
		{"int8:g64", Spec{Format: "int8", Group: 64}, "int8:g64", 8.5},
		{"int4", Spec{Format: "int4", Group: 128}, "int4:g128", 4.25},
		{"int4:g128", Spec{Format: "int4", Group: 128}, "int4:g128", 4.25},
		{"int4:asym:g64", Spec{Format: "int4", Group: 64, Asym: true}, "int4:g64:asym", 5},
		{"INT4:G32:ASYM:A8", Spec{Format: "int4", Group: 32, Asym: true, A8: true}, "int4:g32:asym:a8", 6},
		{"int4:row", Spec{Format: "int4"}, "int4:row", 4},
		{"int3:g2", Spec{Format: "int3", Group: 2}, "int3:g2", 19},
		{"int2", Spec{Format: "int2", Group: 128}, "int2:g128", 2.25},
		{"int4:g0128", Spec{Format: "int4", Group: 128}, "int4:g128", 4.25},
		{"q8_0", Spec{Format: "q8_0"}, "q8_0", 8.5},
		{"Q4_0", Spec{Format: "q4_0"}, "q4_0", 4.5},
		{"q4_1:a8", Spec{Format: "q4_1", A8: true}, "q4_1:a8", 5},
		{"q5_0", Spec{Format: "q5_0"}, "q5_0", 5.5},
		{"q5_1", Spec{Format: "q5_1"}, "q5_1", 6},
		{"q2_k", Spec{Format: "q2_k"}, "q2_k", 2.625},
		{"q3_k", Spec{Format: "q3_k"}, "q3_k", 3.4375},
		{"Q4_K", Spec{Format: "q4_k"}, "q4_k", 4.5},
		{"q5_k:a8", Spec{Format: "q5_k", A8: true}, "q5_k:a8", 5.5},
		{"q6_k", Spec{Format: "q6_k"}, "q6_k", 6.5625},
		{"prune:0.5", Spec{Format: "prune", Sparsity: 0.5}, "prune:0.5", 32},
		{"prune:.25", Spec{Format: "prune", Sparsity: 0.25}, "prune:0.25", 32},
		{"prune:0", Spec{Format: "prune"}, "prune:0", 32},
		{"prune:1", Spec{Format: "prune", Sparsity: 1}, "prune:1", 32},
		{"prune:0.00001", Spec{Format: "prune", Sparsity: 0.00001}, "prune:0.00001", 32},
		{"prune:2:4", Spec{Format: "prune", N: 2, M: 4}, "prune:2:4", 32},
		{"PRUNE:1:8", Spec{Format: "prune", N: 1, M: 8}, "prune:1:8", 32},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.canon {
			t.Errorf("ParseSpec(%q).String() = %q, want %q", tt.in, s, tt.canon)
		}
		if again, err := ParseSpec(got.String()); err != nil || again != got {
			t.Errorf("round trip of %q: %+v, %v", tt.in, again, err)
		}
		if b := got.Bits(); b != tt.bits {
			t.Errorf("%q.Bits() = %v, want %v", tt.in, b, tt.bits)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct {
		in, msg string
	}{
		{"", `quant: spec "": empty spec at column 1`},
		{"int5", `quant: spec "int5": unknown format (want f32, f16, bf16, int8, int4, int3, int2, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, prune) at column 1: "int5"`},
		{"q4_k_m", `quant: spec "q4_k_m": llama.cpp mixtures are plans, not formats; use q4_k or a plan at column 1: "q4_k_m"`},
		{"int4:g12x", `quant: spec "int4:g12x": bad group size at column 9: "g12x"`},
		{"int4:g", `quant: spec "int4:g": bad group size at column 6: "g"`},
		{"int4:g-3", `quant: spec "int4:g-3": bad group size at column 7: "g-3"`},
		{"int4:g1", `quant: spec "int4:g1": group size must be at least 2 at column 7: "g1"`},
		{"int4:g99999999", `quant: spec "int4:g99999999": group size too large (at most 16777216) at column 7: "g99999999"`},
		{"int4:g64:row", `quant: spec "int4:g64:row": row conflicts with a group size at column 10: "row"`},
		{"int4:row:g64", `quant: spec "int4:row:g64": group size conflicts with row at column 10: "g64"`},
		{"int4:sym:asym", `quant: spec "int4:sym:asym": asym conflicts with sym at column 10: "asym"`},
		{"int4:g64:g32", `quant: spec "int4:g64:g32": option repeated (first at column 6) at column 10: "g32"`},
		{"int4::g64", `quant: spec "int4::g64": empty option at column 6`},
		{"int4:", `quant: spec "int4:": empty option at column 6`},
		{"int4:foo", `quant: spec "int4:foo": unknown option (int4 takes gN, row, sym, asym, a8) at column 6: "foo"`},
		{"f16:a8", `quant: spec "f16:a8": option a8 needs a quantized weight format, not f16 at column 5: "a8"`},
		{"f32:g32", `quant: spec "f32:g32": f32 takes no options at column 5: "g32"`},
		{"q4_0:g32", `quant: spec "q4_0:g32": unknown option (q4_0 takes only a8) at column 6: "g32"`},
		{"q8_0:a8:a8", `quant: spec "q8_0:a8:a8": option repeated (first at column 6) at column 9: "a8"`},
		{"prune", `quant: spec "prune": prune needs a sparsity (prune:0.5) or N:M (prune:2:4) at column 6`},
		{"prune:0.5:a8", `quant: spec "prune:0.5:a8": option a8 needs a quantized weight format, not prune at column 11: "a8"`},
		{"prune:1.5", `quant: spec "prune:1.5": sparsity out of range (want 0 ≤ S ≤ 1) at column 7: "1.5"`},
		{"prune:-0.5", `quant: spec "prune:-0.5": bad sparsity (want a decimal number 0 ≤ S ≤ 1, e.g. 0.5) at column 7: "-0.5"`},
		{"prune:1e-3", `quant: spec "prune:1e-3": bad sparsity (want a decimal number 0 ≤ S ≤ 1, e.g. 0.5) at column 8: "1e-3"`},
		{"prune:nan", `quant: spec "prune:nan": bad sparsity (want a decimal number 0 ≤ S ≤ 1, e.g. 0.5) at column 7: "nan"`},
		{"prune:.", `quant: spec "prune:.": bad sparsity (want a decimal number 0 ≤ S ≤ 1, e.g. 0.5) at column 7: "."`},
		{"prune:4:2", `quant: spec "prune:4:2": prune:N:M needs 1 ≤ N < M at column 7: "4:2"`},
		{"prune:0:4", `quant: spec "prune:0:4": prune:N:M needs 1 ≤ N < M at column 7: "0:4"`},
		{"prune:2:x", `quant: spec "prune:2:x": bad M in prune:N:M at column 9: "x"`},
		{"prune:2:4:8", `quant: spec "prune:2:4:8": too many parts (want prune:S or prune:N:M) at column 11: "8"`},
	}
	for _, tt := range tests {
		_, err := ParseSpec(tt.in)
		if err == nil {
			t.Errorf("ParseSpec(%q): no error, want %s", tt.in, tt.msg)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("ParseSpec(%q):\n got %s\nwant %s", tt.in, err, tt.msg)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseSpec(%q): error is %T, want *SyntaxError", tt.in, err)
		}
	}
}

func TestParseSpecList(t *testing.T) {
	got, err := ParseSpecList("int8, int4:g128 ,prune:0.5,prune:2:4,q4_k:a8")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"int8", "int4:g128", "prune:0.5", "prune:2:4", "q4_k:a8"}
	if len(got) != len(want) {
		t.Fatalf("got %d specs, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].String() != want[i] {
			t.Errorf("item %d = %s, want %s", i, got[i], want[i])
		}
	}
	for _, tt := range []struct{ in, msg string }{
		{"int8,,int4", `quant: spec list "int8,,int4": empty item at column 6`},
		{"int8,layers.*=int4", `quant: spec list "int8,layers.*=int4": a list of settings takes bare specs, not selector=spec rules (that is a plan) at column 14: "layers.*=int4"`},
		{"int8, int4:g12x", `quant: spec list "int8, int4:g12x": bad group size at column 15: "g12x"`},
	} {
		_, err := ParseSpecList(tt.in)
		if err == nil || err.Error() != tt.msg {
			t.Errorf("ParseSpecList(%q):\n got %v\nwant %s", tt.in, err, tt.msg)
		}
	}
}

func TestMatrixBits(t *testing.T) {
	tests := []struct {
		spec       string
		rows, cols int
		bits       int64
	}{
		{"f32", 2, 3, 2 * 3 * 32},
		{"f16", 4096, 4096, 4096 * 4096 * 16},
		{"q4_0", 2, 64, 2 * 2 * 18 * 8},
		{"q6_k", 1, 512, 2 * 210 * 8},
		{"int8", 3, 100, 3 * (100*8 + 32)},
		{"int8:asym", 3, 100, 3 * (100*8 + 64)},
		{"int4:g128", 1, 300, 300*4 + 3*32}, // groups 128, 128, 44
		{"int3:g64:asym", 2, 64, 2 * (64*3 + 64)},
		{"int2:row", 5, 7, 5 * (7*2 + 32)},
		{"prune:0.5", 10, 10, 100 * 32},
		{"int4:row", 3, 0, 0},
	}
	for _, tt := range tests {
		sp, err := ParseSpec(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sp.MatrixBits(tt.rows, tt.cols)
		if err != nil || got != tt.bits {
			t.Errorf("%s.MatrixBits(%d, %d) = %d, %v; want %d", tt.spec, tt.rows, tt.cols, got, err, tt.bits)
		}
	}
	q4k, _ := ParseSpec("q4_k")
	if _, err := q4k.MatrixBits(4, 172); err == nil || err.Error() != "quant: q4_k needs rows of a multiple of 256 values, have 172 columns" {
		t.Errorf("q4_k with 172 columns: %v", err)
	}
}

func TestPruneCount(t *testing.T) {
	tests := []struct {
		s    float64
		n    int
		want int
	}{
		{0.29, 100, 29}, // 0.29·100 = 28.999999999999996 in float64
		{0.5, 7, 3},
		{0, 10, 0},
		{1, 10, 10},
		{0.07, 100, 7},
		{0.3, 45088768, 13526630},
	}
	for _, tt := range tests {
		if got := pruneCount(tt.s, tt.n); got != tt.want {
			t.Errorf("pruneCount(%v, %d) = %d, want %d", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestSpecText(t *testing.T) {
	var s Spec
	if err := s.UnmarshalText([]byte("int4:g64")); err != nil || s.String() != "int4:g64" {
		t.Fatalf("UnmarshalText: %v %v", s, err)
	}
	b, err := s.MarshalText()
	if err != nil || string(b) != "int4:g64" {
		t.Fatalf("MarshalText: %s %v", b, err)
	}
	if _, err := (Spec{}).MarshalText(); err == nil {
		t.Error("MarshalText of the zero Spec: no error")
	}
}
