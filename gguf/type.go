package gguf

import (
	"fmt"
	"strings"
)

// Type is a ggml tensor type, numbered as ggml's enum ggml_type
// (ggml/include/ggml.h). Ids 4, 5, 31–33 and 36–38 belong to formats ggml
// has removed; they and ids above Q2_0 are unknown to this package.
type Type uint32

// The ggml tensor types.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
	NVFP4   Type = 40
	Q1_0    Type = 41
	Q2_0    Type = 42
)

// typeTraits describes one ggml type: its name and block geometry, as in
// ggml's type_traits table and the block structs of ggml-common.h.
type typeTraits struct {
	name      string
	blockSize int64 // values per block
	typeSize  int64 // bytes per block
}

const qkK = 256 // QK_K, the super-block size of the k-quants and i-quants

var traits = map[Type]typeTraits{
	F32:     {"f32", 1, 4},
	F16:     {"f16", 1, 2},
	Q4_0:    {"q4_0", 32, 2 + 16},
	Q4_1:    {"q4_1", 32, 2 + 2 + 16},
	Q5_0:    {"q5_0", 32, 2 + 4 + 16},
	Q5_1:    {"q5_1", 32, 2 + 2 + 4 + 16},
	Q8_0:    {"q8_0", 32, 2 + 32},
	Q8_1:    {"q8_1", 32, 2 + 2 + 32},
	Q2_K:    {"q2_K", qkK, qkK/16 + qkK/4 + 2 + 2},
	Q3_K:    {"q3_K", qkK, qkK/8 + qkK/4 + 12 + 2},
	Q4_K:    {"q4_K", qkK, 2 + 2 + 12 + qkK/2},
	Q5_K:    {"q5_K", qkK, 2 + 2 + 12 + qkK/8 + qkK/2},
	Q6_K:    {"q6_K", qkK, qkK/2 + qkK/4 + qkK/16 + 2},
	Q8_K:    {"q8_K", qkK, 4 + qkK + qkK/16*2},
	IQ2_XXS: {"iq2_xxs", qkK, 2 + qkK/8*2},
	IQ2_XS:  {"iq2_xs", qkK, 2 + qkK/8*2 + qkK/32},
	IQ3_XXS: {"iq3_xxs", qkK, 2 + 3*qkK/8},
	IQ1_S:   {"iq1_s", qkK, 2 + qkK/8 + qkK/32*2},
	IQ4_NL:  {"iq4_nl", 32, 2 + 16},
	IQ3_S:   {"iq3_s", qkK, 2 + qkK/4 + qkK/32 + qkK/8 + qkK/64},
	IQ2_S:   {"iq2_s", qkK, 2 + qkK/4 + qkK/32 + qkK/32},
	IQ4_XS:  {"iq4_xs", qkK, 2 + 2 + qkK/64 + qkK/2},
	I8:      {"i8", 1, 1},
	I16:     {"i16", 1, 2},
	I32:     {"i32", 1, 4},
	I64:     {"i64", 1, 8},
	F64:     {"f64", 1, 8},
	IQ1_M:   {"iq1_m", qkK, qkK/8 + qkK/16 + qkK/32},
	BF16:    {"bf16", 1, 2},
	TQ1_0:   {"tq1_0", qkK, (qkK-4*qkK/64)/5 + qkK/64 + 2},
	TQ2_0:   {"tq2_0", qkK, qkK/4 + 2},
	MXFP4:   {"mxfp4", 32, 1 + 16},
	NVFP4:   {"nvfp4", 64, 4 + 32},
	Q1_0:    {"q1_0", 128, 2 + 16},
	Q2_0:    {"q2_0", 64, 2 + 16},
}

// String returns ggml's name for the type (ggml_type_name): lower case,
// except the K of the k-quants, e.g. "f32", "q4_0", "q4_K", "iq2_xxs",
// "bf16". Unknown ids print as "type(N)".
func (t Type) String() string {
	if tr, ok := traits[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Known reports whether t is a ggml type this package knows the geometry of.
func (t Type) Known() bool {
	_, ok := traits[t]
	return ok
}

// BlockSize returns the number of values in one block of the type (1 for
// the plain types, 32 for Q4_0, 256 for the k-quants), or 0 when the type
// is unknown.
func (t Type) BlockSize() int64 { return traits[t].blockSize }

// TypeSize returns the number of bytes in one block of the type, or 0 when
// the type is unknown.
func (t Type) TypeSize() int64 { return traits[t].typeSize }

// RowBytes returns the number of bytes that n consecutive values of the type
// occupy. n must be a non-negative multiple of the block size.
func (t Type) RowBytes(n int64) (int64, error) {
	tr, ok := traits[t]
	if !ok {
		return 0, fmt.Errorf("unknown ggml type %d", uint32(t))
	}
	if n < 0 || n%tr.blockSize != 0 {
		return 0, fmt.Errorf("%d values of type %s: not a multiple of its block size %d", n, tr.name, tr.blockSize)
	}
	blocks := n / tr.blockSize
	if blocks > (1<<63-1)/tr.typeSize {
		return 0, fmt.Errorf("%d values of type %s: byte size overflows int64", n, tr.name)
	}
	return blocks * tr.typeSize, nil
}

// ParseType returns the type named s, compared without regard to case
// ("q4_k" and "Q4_K" both give Q4_K).
func ParseType(s string) (Type, error) {
	for t, tr := range traits {
		if strings.EqualFold(tr.name, s) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("gguf: unknown ggml type name %q", s)
}
