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

func blockCodec(block, bytes int, q func([]byte, []float32)) rowCodec {
	return rowCodec{
		rowBytes: func(n int) int { return n / block * bytes },
		quant:    func(dst []byte, x []float32) error { q(dst, x); return nil },
	}
}

var ggmlCodecs = map[string]rowCodec{
	"q8_0": blockCodec(32, 34, quantRowQ8_0),
	"q4_0": blockCodec(32, 18, quantRowQ4_0),
	"q4_1": blockCodec(32, 20, quantRowQ4_1),
	"q5_0": blockCodec(32, 22, quantRowQ5_0),
	"q5_1": blockCodec(32, 24, quantRowQ5_1),
	"q2_k": blockCodec(256, 84, quantRowQ2K),
	"q3_k": blockCodec(256, 110, quantRowQ3K),
	"q4_k": blockCodec(256, 144, quantRowQ4K),
	"q5_k": blockCodec(256, 176, quantRowQ5K),
	"q6_k": blockCodec(256, 210, quantRowQ6K),
}

// codecFor returns the row codec of an int or ggml format (casts and
// pruning are element-wise in Quantize).
func codecFor(s Spec) rowCodec {
	if c, ok := ggmlCodecs[s.Format]; ok {
		return c
	}
	f := lookupFormat(s.Format)
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
