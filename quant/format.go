package quant

import (
	"sync"

	"github.com/divergo/divergo/kernels"
)

// rowCodec is what this package knows about storing a row in a format: its
// size, a quantizer and a decoder.
type rowCodec struct {
	rowBytes func(n int) int
	quant    func(dst []byte, x []float32) error
	decode   func(dst []float32, src []byte)
}

func blockCodec(block, bytes int, q func([]byte, []float32), dec func([]float32, []byte)) rowCodec {
	return rowCodec{
		rowBytes: func(n int) int { return n / block * bytes },
		quant:    func(dst []byte, x []float32) error { q(dst, x); return nil },
		decode:   dec,
	}
}

var ggmlCodecs = map[string]rowCodec{
	"q8_0": blockCodec(32, 34, quantRowQ8_0, decodeQ8_0),
	"q4_0": blockCodec(32, 18, quantRowQ4_0, decodeQ4_0),
	"q4_1": blockCodec(32, 20, quantRowQ4_1, decodeQ4_1),
	"q5_0": blockCodec(32, 22, quantRowQ5_0, decodeQ5_0),
	"q5_1": blockCodec(32, 24, quantRowQ5_1, decodeQ5_1),
	"q2_k": blockCodec(256, 84, quantRowQ2K, decodeQ2K),
	"q3_k": blockCodec(256, 110, quantRowQ3K, decodeQ3K),
	"q4_k": blockCodec(256, 144, quantRowQ4K, decodeQ4K),
	"q5_k": blockCodec(256, 176, quantRowQ5K, decodeQ5K),
	"q6_k": blockCodec(256, 210, quantRowQ6K, decodeQ6K),
	"f32":  {rowBytes: func(n int) int { return 4 * n }, decode: decodeF32},
	"f16":  {rowBytes: func(n int) int { return 2 * n }, decode: decodeF16},
	"bf16": {rowBytes: func(n int) int { return 2 * n }, decode: decodeBF16},
}

// codecFor returns the row codec of a weight format (casts have no row
// quantizer: they are done element-wise in Quantize).
func codecFor(s Spec) rowCodec {
	if c, ok := ggmlCodecs[s.Format]; ok {
		return c
	}
	f := lookupFormat(s.Format)
	l := intLayout{bits: f.bits, group: s.Group, asym: s.Asym}
	return rowCodec{rowBytes: l.rowBytes, quant: l.quantRow, decode: l.dequantRow}
}

// formatName is the kernels format name of a weight spec: the spec
// without a8 (which is a property of the Matrix, not of its storage).
func formatName(s Spec) string {
	s.A8 = false
	if s.IsPrune() {
		return "f32"
	}
	return s.String()
}

var localFormats sync.Map // format name → *kernels.Format

// formatFor returns the kernels format a spec stores into (f32 for pruning).
//
// Workaround until kernels has its format table (FormatByName, IntFormat):
// the formats are built here with this package's row decoders, without
// Dot/DotAct; switch to kernels' table once it lands.
func formatFor(s Spec) *kernels.Format {
	name := formatName(s)
	if f, ok := localFormats.Load(name); ok {
		return f.(*kernels.Format)
	}
	if s.IsPrune() {
		s = Spec{Format: "f32"}
	}
	info := lookupFormat(s.Format)
	c := codecFor(s)
	f := &kernels.Format{
		Name:       name,
		GGML:       info.ggml,
		Block:      info.block,
		BlockBytes: info.bytes,
		Bits:       s.Bits(),
		RowBytes:   c.rowBytes,
		Dequant:    c.decode,
	}
	if info.kind == kindInt {
		l := intLayout{bits: info.bits, group: s.Group, asym: s.Asym}
		f.Block = s.Group
		if s.Group > 0 {
			f.BlockBytes = l.blockBytes(s.Group)
		}
	}
	v, _ := localFormats.LoadOrStore(name, f)
	return v.(*kernels.Format)
}
