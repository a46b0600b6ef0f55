package quant

import (
	"fmt"

	"github.com/divergo/divergo/kernels"
)

// rowCodec is what this package needs to quantize into a format: the size
// of a row and a row quantizer. Decoding is the kernels format's Dequant.
type rowCodec struct {
	rowBytes func(n int) int
	quant    func(dst []byte, x []float32) error
}

// ggmlQuantizers are the row quantizers of the ggml block formats.
var ggmlQuantizers = map[string]func(dst []byte, x []float32){
	"q8_0": quantRowQ8_0, "q4_0": quantRowQ4_0, "q4_1": quantRowQ4_1, "q5_0": quantRowQ5_0, "q5_1": quantRowQ5_1,
	"q2_k": quantRowQ2K, "q3_k": quantRowQ3K, "q4_k": quantRowQ4K, "q5_k": quantRowQ5K, "q6_k": quantRowQ6K,
}

// codecFor returns the row codec of an int or ggml format (casts and
// pruning are element-wise in Quantize).
func codecFor(s Spec) rowCodec {
	f := lookupFormat(s.Format)
	if q, ok := ggmlQuantizers[s.Format]; ok {
		return rowCodec{
			rowBytes: func(n int) int { return n / f.block * f.bytes },
			quant:    func(dst []byte, x []float32) error { q(dst, x); return nil },
		}
	}
	l := intLayout{bits: f.bits, group: s.Group, asym: s.Asym}
	return rowCodec{rowBytes: l.rowBytes, quant: l.quantRow}
}

// formatName is the kernels format name of a weight spec: the spec
// without a8 (which is a property of the Matrix, not of its storage), f32
// for pruning.
func formatName(s Spec) string {
	s.A8 = false
	if s.IsPrune() {
		return "f32"
	}
	return s.String()
}

// formatFor returns the kernels format a spec stores into.
func formatFor(s Spec) (*kernels.Format, error) {
	f, err := kernels.FormatByName(formatName(s))
	if err != nil {
		return nil, fmt.Errorf("quant: %s: %w", s, err)
	}
	return f, nil
}
