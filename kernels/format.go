package kernels

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
)

// A Format describes how one weight row is stored and how the kernels use it:
// a row of n values is a sequence of blocks, each holding Block values in
// BlockBytes bytes (the last block of a row may be shorter for the int
// formats, see IntFormat). Adding a format is adding a Format value to the
// table, not a switch at call sites (STYLE.md, the ggml paragraph).
//
// Every function field has a plain-Go reference body; the ISA-specific
// bodies replace them when dispatch selects an assembly path (SetISA). The
// function fields must not be assigned outside this package.
type Format struct {
	// Name is the spec name: "f32", "f16", "bf16", "q8_0", "q4_k", "int4:g128", "int8:row:asym" …
	Name string
	// GGML is the ggml type id (ggml.h enum ggml_type), or -1 for divergo's own int formats.
	GGML int
	// Block is the number of values per block (1 for f32/f16/bf16, the group
	// size G for int formats, 0 for the per-row int formats).
	Block int
	// BlockBytes is the size in bytes of one full block (0 for the per-row int formats).
	BlockBytes int
	// Bits is the nominal storage cost in bits per weight including scales (e.g. 4.5 for q4_0).
	Bits float64

	// RowBytes returns the bytes of one row of n values (n must be valid for
	// the format, see CheckCols).
	RowBytes func(n int) int
	// Dequant writes len(dst) values decoded from the row src. len(dst) is
	// the row length, or for a prefix of the row a multiple of Block.
	Dequant func(dst []float32, src []byte)
	// Dot returns Σ_i w_i·x_i for the row w and float32 activations x (n = len(x)).
	Dot func(w []byte, x []float32) float32

	// Act is the activation format used in W·A8 mode (nil for f32/f16/bf16,
	// which always run with float32 activations).
	Act *ActFormat
	// DotAct returns Σ_i w_i·x_i for the row w and the row xq of n activations
	// quantized with Act.Quantize.
	DotAct func(w []byte, xq []byte, n int) float32

	family    string // key of ISA registrations (see registerFormat)
	bits      int    // int formats: bits per value B
	group     int    // int formats: group size G, 0 = one group per row
	asym      bool   // int formats: per-group offset
	checkCols func(n int) error
	generic   formatTable // the reference bodies
	body      formatTable // the installed bodies, hooks included
}

// A formatTable holds the bodies of one format for one ISA. The row kernels
// (dequant, dot, dotAct) are the exported Format fields; the hooks below let
// an ISA process several rows, or tiles of rows × tokens, per call. A nil
// hook is derived from the row kernels when a path is installed.
type formatTable struct {
	dequant func(dst []float32, src []byte)
	dot     func(w []byte, x []float32) float32
	dotAct  func(w, xq []byte, n int) float32

	// decode writes the values k0 … k0+len(dst)-1 of a row of n values into
	// dst. k0 is a multiple of Block for the block formats (any value for
	// the int formats); len(dst) is a multiple of Block or reaches the row's
	// end. The GEMM packing uses it to cut rows into K-blocks.
	decode func(dst []float32, row []byte, n, k0 int)
	// gemv writes dst[i] = Dot(w[i*stride:], x) for i < len(dst): a run of
	// consecutive rows against one activation row. A SIMD body may compute
	// 2–4 rows per pass over x; it must handle any len(dst), including 0.
	gemv func(dst []float32, w []byte, stride int, x []float32)
	// gemvAct is gemv for W·A8: dst[i] = DotAct(w[i*stride:], xq, n).
	gemvAct func(dst []float32, w []byte, stride int, xq []byte, n int)
	// gemmAct computes a tile of W·A8 products:
	// dst[t*ldd+i] = DotAct(w[i*stride:], xq[t*xqStride:], n) for t < nt,
	// i < rows. It is the hook for register-tiled int8 GEMM (VNNI, SDOT).
	gemmAct func(dst []float32, ldd int, w []byte, stride, rows int, xq []byte, xqStride, nt, n int)
	// gemmActRows, when positive, is the number of weight rows per gemmAct
	// call the body is built for (a packed-panel body wants whole panels
	// and enough rows to amortize its packing); 0 keeps the driver's L1
	// blocking, which suits bodies that reread the rows per token.
	gemmActRows int
}

// An ActFormat is the run-time int8 quantization of activation rows used by
// W·A8 execution (ggml's vec_dot_type: q8_0, q8_1, q8_K, or the per-group int8
// of the int formats).
type ActFormat struct {
	Name string
	// RowBytes returns the bytes of one quantized row of n values.
	RowBytes func(n int) int
	// Quantize writes the quantized form of x into dst (len(dst) >= RowBytes(len(x))).
	Quantize func(dst []byte, x []float32)

	family  string // key of ISA registrations (see registerAct)
	group   int    // act8: the weight group size the blocks align to (0 = row)
	generic func(dst []byte, x []float32)
	// dequant writes the n values a quantized row stands for (d·q), for
	// tests and reference products.
	dequant func(dst []float32, src []byte, n int)
}

// A Matrix is a weight matrix W of Rows×Cols stored row-major in Format:
// row r occupies Data[r*RowBytes : (r+1)*RowBytes]. Products compute x·Wᵀ,
// i.e. each output feature r is the dot of row r with an input row.
type Matrix struct {
	Format     *Format
	Rows, Cols int
	Data       []byte
	// A8 selects W·A8 execution: activations are quantized with Format.Act
	// before the product (ignored for formats without Act).
	A8 bool
}

// RowBytes returns the bytes of one row of m.
func (m *Matrix) RowBytes() int { return m.Format.RowBytes(m.Cols) }

// Check reports whether m is usable by MatMul: a format, non-negative
// dimensions, a row length the format allows and at least Rows·RowBytes
// bytes of data.
func (m *Matrix) Check() error {
	if m == nil || m.Format == nil {
		return errors.New("kernels: matrix has no format")
	}
	if m.Rows < 0 || m.Cols < 0 {
		return fmt.Errorf("kernels: %s matrix has negative shape %d×%d", m.Format.Name, m.Rows, m.Cols)
	}
	if err := m.Format.CheckCols(m.Cols); err != nil {
		return err
	}
	if rb := m.RowBytes(); m.Rows > 0 && rb > math.MaxInt/m.Rows {
		return fmt.Errorf("kernels: %s matrix %d×%d is too large", m.Format.Name, m.Rows, m.Cols)
	}
	if need := m.Rows * m.RowBytes(); len(m.Data) < need {
		return fmt.Errorf("kernels: %s matrix %d×%d needs %d bytes, has %d", m.Format.Name, m.Rows, m.Cols, need, len(m.Data))
	}
	return nil
}

// CheckCols reports whether rows of n values can be stored in f: the ggml
// block formats need a whole number of blocks per row; the float and int
// formats take any n ≥ 0.
func (f *Format) CheckCols(n int) error {
	if n < 0 {
		return fmt.Errorf("kernels: %s: negative row length %d", f.Name, n)
	}
	if f.checkCols != nil {
		return f.checkCols(n)
	}
	return nil
}

// String returns f.Name.
func (f *Format) String() string { return f.Name }

// wholeBlocks returns a CheckCols for a format with blocks of size block.
func wholeBlocks(name string, block int) func(n int) error {
	return func(n int) error {
		if n%block != 0 {
			return fmt.Errorf("kernels: %s: row length %d is not a multiple of the block size %d", name, n, block)
		}
		return nil
	}
}

// install sets f's function fields to the bodies of isa: the generic ones,
// overwritten by the registrations of each path of isa's chain, with the
// hooks the chain leaves nil derived from the row kernels.
func (f *Format) install(isa ISA) {
	t := f.generic
	for _, v := range isaChain(isa) {
		if s := registry[v]; s != nil {
			for _, fn := range s.formats[f.family] {
				fn(f, &t)
			}
		}
	}
	if t.decode == nil {
		dq, bb, blk := t.dequant, f.BlockBytes, f.Block
		t.decode = func(dst []float32, row []byte, n, k0 int) { dq(dst, row[k0/blk*bb:]) }
	}
	if t.gemv == nil {
		dot := t.dot
		t.gemv = func(dst []float32, w []byte, stride int, x []float32) {
			for i := range dst {
				dst[i] = dot(w[i*stride:], x)
			}
		}
	}
	if t.dotAct != nil && t.gemvAct == nil {
		dot := t.dotAct
		t.gemvAct = func(dst []float32, w []byte, stride int, xq []byte, n int) {
			for i := range dst {
				dst[i] = dot(w[i*stride:], xq, n)
			}
		}
	}
	if t.gemvAct != nil && t.gemmAct == nil {
		gemv := t.gemvAct
		t.gemmAct = func(dst []float32, ldd int, w []byte, stride, rows int, xq []byte, xqStride, nt, n int) {
			for k := 0; k < nt; k++ {
				gemv(dst[k*ldd:k*ldd+rows], w, stride, xq[k*xqStride:], n)
			}
		}
	}
	f.body = t
	f.Dequant, f.Dot, f.DotAct = t.dequant, t.dot, t.dotAct
}

// install sets a.Quantize to the quantizer of isa.
func (a *ActFormat) install(isa ISA) {
	q := a.generic
	for _, v := range isaChain(isa) {
		if s := registry[v]; s != nil {
			for _, fn := range s.acts[a.family] {
				fn(a, &q)
			}
		}
	}
	a.Quantize = q
}

// The fixed formats, in ggml id order of their families.
var fixedFormats = []*Format{
	formatF32, formatF16, formatBF16,
	formatQ8_0, formatQ4_0, formatQ4_1, formatQ5_0, formatQ5_1,
	formatQ2K, formatQ3K, formatQ4K, formatQ5K, formatQ6K,
}

var fixedActs = []*ActFormat{actQ8_0, actQ8_1, actQ8K}

// allFormats returns the fixed formats and every int format made so far.
func allFormats() []*Format {
	intMu.Lock()
	defer intMu.Unlock()
	l := append([]*Format(nil), fixedFormats...)
	for _, f := range intFormats {
		l = append(l, f)
	}
	return l
}

func allActFormats() []*ActFormat {
	intMu.Lock()
	defer intMu.Unlock()
	l := append([]*ActFormat(nil), fixedActs...)
	for _, a := range intActs {
		l = append(l, a)
	}
	return l
}

// Formats returns the fixed (non-int) formats: f32, f16, bf16 and the ggml
// block formats.
func Formats() []*Format { return append([]*Format(nil), fixedFormats...) }

// FormatByGGML returns the format of a ggml type id (GGUF tensor type).
func FormatByGGML(id int) (*Format, error) {
	for _, f := range fixedFormats {
		if f.GGML == id {
			return f, nil
		}
	}
	return nil, fmt.Errorf("kernels: ggml type %d is not a supported weight format", id)
}

// FormatByName returns the format of a spec name (DESIGN §3), case-insensitive:
// f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k,
// or intB[:gG|:row][:sym|:asym] with B ∈ {8, 4, 3, 2}; without a group option
// int8 is per row and the others use groups of 128.
func FormatByName(name string) (*Format, error) {
	s := strings.ToLower(strings.TrimSpace(name))
	for _, f := range fixedFormats {
		if f.Name == s {
			return f, nil
		}
	}
	if !strings.HasPrefix(s, "int") {
		return nil, fmt.Errorf("kernels: unknown weight format %q", name)
	}
	parts := strings.Split(s, ":")
	bits, err := strconv.Atoi(parts[0][3:])
	if err != nil || (bits != 8 && bits != 4 && bits != 3 && bits != 2) {
		return nil, fmt.Errorf("kernels: weight format %q: bits must be 8, 4, 3 or 2", name)
	}
	group := 128
	if bits == 8 {
		group = 0
	}
	asym, sawGroup, sawSym := false, false, false
	for _, opt := range parts[1:] {
		switch {
		case opt == "sym" || opt == "asym":
			if sawSym {
				return nil, fmt.Errorf("kernels: weight format %q: sym/asym given twice", name)
			}
			sawSym, asym = true, opt == "asym"
		case opt == "row" || (len(opt) > 1 && opt[0] == 'g'):
			if sawGroup {
				return nil, fmt.Errorf("kernels: weight format %q: group given twice", name)
			}
			sawGroup = true
			if opt == "row" {
				group = 0
				break
			}
			g, err := strconv.Atoi(opt[1:])
			if err != nil || g < 1 || g > 1<<24 || opt[1] == '+' {
				return nil, fmt.Errorf("kernels: weight format %q: bad group %q (want gN with 1 ≤ N ≤ 16777216, or row)", name, opt)
			}
			group = g
		default:
			return nil, fmt.Errorf("kernels: weight format %q: unknown option %q", name, opt)
		}
	}
	return IntFormat(bits, group, asym), nil
}

var (
	intMu      sync.Mutex
	intFormats = map[intKey]*Format{}
	intActs    = map[int]*ActFormat{}
)

type intKey struct {
	bits, group int
	asym        bool
}
