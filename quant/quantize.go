package quant

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/divergo/divergo/kernels"
)

// f16Max is the largest finite float16. The ggml block formats store their
// scales (and q4_1/q5_1/k-quant offsets) as float16, so they accept weights
// up to this magnitude.
const f16Max = 65504

// Quantize compresses the rows×cols matrix w (row-major: one row per output
// feature, as kernels.Matrix) under s and returns it in the kernels format
// of s; a pruned matrix comes back as f32 with zeros in place. name is the
// component ("layers.3.mlp.down") and only labels errors; it may be empty.
// Sources stored as f16/bf16 are converted to float32 by the caller.
//
// Errors: a row length the format cannot take (ggml blocks need multiples
// of 32, k-quants of 256), a non-finite weight, a weight beyond ±65504 for
// the ggml formats (float16 scales) or beyond the range of f16/bf16 for a
// cast. Rows are quantized in parallel; the result does not depend on the
// number of threads. w is not modified.
func Quantize(s Spec, name string, rows, cols int, w []float32) (*kernels.Matrix, error) {
	prefix := "quant: "
	if name != "" {
		prefix += name + ": "
	}
	if err := s.validate(); err != nil {
		return nil, errors.New(prefix + trimQuant(err))
	}
	info := lookupFormat(s.Format)
	if rows < 0 || cols < 0 || (cols > 0 && rows > math.MaxInt/cols) {
		return nil, fmt.Errorf("%sbad shape %d×%d", prefix, rows, cols)
	}
	if len(w) != rows*cols {
		return nil, fmt.Errorf("%shave %d weights for a %d×%d matrix", prefix, len(w), rows, cols)
	}
	if err := s.Check(cols); err != nil {
		return nil, errors.New(prefix + trimQuant(err))
	}
	limit := float32(math.Inf(1))
	if info.kind == kindGGML {
		limit = f16Max
	}
	if err := checkWeights(w, rows, cols, limit, s); err != nil {
		return nil, fmt.Errorf("%s%w", prefix, err)
	}

	format, err := formatFor(s)
	if err != nil {
		return nil, err
	}
	m := &kernels.Matrix{Format: format, Rows: rows, Cols: cols, A8: s.A8}
	switch info.kind {
	case kindPrune:
		out := make([]float32, len(w))
		if s.M > 0 {
			pruneNM(out, w, rows, cols, s.N, s.M)
		} else {
			pruneGlobal(out, w, pruneCount(s.Sparsity, len(w)))
		}
		m.Data = f32Bytes(out)
		return m, nil
	case kindCast:
		data, err := cast(s.Format, w, cols)
		if err != nil {
			return nil, fmt.Errorf("%s%w", prefix, err)
		}
		m.Data = data
		return m, nil
	}

	c := codecFor(s)
	rb := c.rowBytes(cols)
	m.Data = make([]byte, rows*rb)
	errs := make([]error, runtime.GOMAXPROCS(0))
	parallel(splitRange(rows, len(errs)), func(i int, r [2]int) {
		for row := r[0]; row < r[1]; row++ {
			if err := c.quant(m.Data[row*rb:(row+1)*rb], w[row*cols:(row+1)*cols]); err != nil {
				errs[i] = fmt.Errorf("%s%s: row %d, %w", prefix, s, row, err)
				return
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

func trimQuant(err error) string {
	msg := err.Error()
	if len(msg) > 7 && msg[:7] == "quant: " {
		return msg[7:]
	}
	return msg
}

// checkWeights reports the first weight (in row-major order) that is not
// finite or whose magnitude exceeds limit.
func checkWeights(w []float32, rows, cols int, limit float32, s Spec) error {
	type bad struct {
		at int
		v  float32
	}
	ranges := splitRange(len(w), runtime.GOMAXPROCS(0))
	found := make([]*bad, len(ranges))
	parallel(ranges, func(i int, r [2]int) {
		for j := r[0]; j < r[1]; j++ {
			v := w[j]
			if a := abs32(v); !(a <= limit) || a > math.MaxFloat32 { // NaN fails a <= limit
				found[i] = &bad{j, v}
				return
			}
		}
	})
	for _, b := range found {
		if b == nil {
			continue
		}
		row, col := b.at/cols, b.at%cols
		if math.IsNaN(float64(b.v)) || math.IsInf(float64(b.v), 0) {
			return fmt.Errorf("non-finite weight %v at row %d, column %d", b.v, row, col)
		}
		return fmt.Errorf("%s stores float16 scales: weight %g at row %d, column %d is beyond ±%d", s, b.v, row, col, f16Max)
	}
	return nil
}

// cast converts w to f32, f16 or bf16 bytes with kernels' conversions
// (round to nearest even), failing on a finite weight that overflows the
// target.
func cast(format string, w []float32, cols int) ([]byte, error) {
	if format == "f32" {
		return f32Bytes(w), nil
	}
	conv, inf, maxName := kernels.F32ToF16, uint16(0x7c00), "f16 (max 65504)"
	if format == "bf16" {
		conv, inf, maxName = kernels.F32ToBF16, 0x7f80, "bf16"
	}
	out := make([]byte, 2*len(w))
	ranges := splitRange(len(w), runtime.GOMAXPROCS(0))
	firstBad := make([]int, len(ranges))
	parallel(ranges, func(i int, r [2]int) {
		firstBad[i] = -1
		h := make([]uint16, min(4096, r[1]-r[0]))
		for j := r[0]; j < r[1]; j += len(h) {
			h := h[:min(len(h), r[1]-j)]
			conv(h, w[j:j+len(h)])
			for k, v := range h {
				if v&0x7fff == inf { // finite input (checked before): overflow
					firstBad[i] = j + k
					return
				}
				binary.LittleEndian.PutUint16(out[2*(j+k):], v)
			}
		}
	})
	for _, j := range firstBad {
		if j >= 0 {
			return nil, fmt.Errorf("weight %g at row %d, column %d overflows %s", w[j], j/cols, j%cols, maxName)
		}
	}
	return out, nil
}

// f32Bytes returns the little-endian bytes of w.
func f32Bytes(w []float32) []byte {
	out := make([]byte, 4*len(w))
	parallel(splitRange(len(w), runtime.GOMAXPROCS(0)), func(_ int, r [2]int) {
		for j := r[0]; j < r[1]; j++ {
			binary.LittleEndian.PutUint32(out[4*j:], math.Float32bits(w[j]))
		}
	})
	return out
}

// Dequantize decodes m into a new rows×cols row-major float32 slice with
// its format's Dequant.
func Dequantize(m *kernels.Matrix) ([]float32, error) {
	if m == nil || m.Format == nil || m.Format.Dequant == nil || m.Format.RowBytes == nil {
		return nil, errors.New("quant: dequantize: matrix without a format decoder")
	}
	if m.Rows < 0 || m.Cols < 0 || (m.Cols > 0 && m.Rows > math.MaxInt/m.Cols) {
		return nil, fmt.Errorf("quant: dequantize: bad shape %d×%d", m.Rows, m.Cols)
	}
	rb := m.Format.RowBytes(m.Cols)
	if rb < 0 || (rb > 0 && m.Rows > math.MaxInt/rb) || len(m.Data) != m.Rows*rb {
		return nil, fmt.Errorf("quant: dequantize: %s matrix %d×%d needs %d bytes, has %d",
			m.Format.Name, m.Rows, m.Cols, m.Rows*rb, len(m.Data))
	}
	out := make([]float32, m.Rows*m.Cols)
	parallel(splitRange(m.Rows, runtime.GOMAXPROCS(0)), func(_ int, r [2]int) {
		for row := r[0]; row < r[1]; row++ {
			m.Format.Dequant(out[row*m.Cols:(row+1)*m.Cols], m.Data[row*rb:(row+1)*rb])
		}
	})
	return out, nil
}
