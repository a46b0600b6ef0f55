package kernels

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// FuzzFormatByName: any string either names a format whose canonical name
// resolves to the same format, or is rejected with an error — no panic.
func FuzzFormatByName(f *testing.F) {
	for _, s := range []string{"q4_k", "Q6_K", "f16", "int8", "int4:g128:asym", "int3:row", "int2:g7:sym",
		"int4:g0", "int4:g", "int4::", "int4:g99999999999999999999", "int16", "q8_k", "\x00", "int4:g-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 64 {
			return
		}
		fm, err := FormatByName(s)
		if err != nil {
			if fm != nil {
				t.Fatalf("FormatByName(%q) returned a format and an error", s)
			}
			return
		}
		if !strings.EqualFold(strings.TrimSpace(s), fm.Name) && fm.GGML >= 0 {
			t.Fatalf("FormatByName(%q) = %s", s, fm.Name)
		}
		if g, err := FormatByName(fm.Name); err != nil || g != fm {
			t.Fatalf("canonical name %q of %q does not resolve to itself: %v", fm.Name, s, err)
		}
	})
}

// FuzzDequant decodes arbitrary bytes as rows of every format: no panic,
// range decoding agrees with whole-row decoding, and where every decoded
// value is finite the weight-only dot agrees with the float64 dot.
func FuzzDequant(f *testing.F) {
	// Seeds: real blocks from the llama.cpp fixture rows, and hostile ones.
	for _, r := range fixtureSeedRows(f) {
		f.Add(uint8(r.format), uint16(r.cols), r.raw)
	}
	f.Add(uint8(0), uint16(3), []byte{0xff, 0xff, 0x7f, 0x7f, 0, 0, 0xc0, 0x7f, 1, 2, 3, 4})
	f.Add(uint8(9), uint16(256), make([]byte, 300))
	f.Add(uint8(12), uint16(256), []byte(strings.Repeat("\xff", 210)))
	f.Add(uint8(14), uint16(37), []byte(strings.Repeat("\x7f", 64)))
	formats := testFormats()
	f.Fuzz(func(t *testing.T, idx uint8, cols uint16, data []byte) {
		fm := formats[int(idx)%len(formats)]
		n := int(cols) % 1025
		if fm.CheckCols(n) != nil {
			n -= n % max(1, fm.Block)
		}
		rb := fm.RowBytes(n)
		if len(data) < rb {
			return
		}
		row := data[:rb]
		got := make([]float32, n)
		fm.Dequant(got, row)
		if n > 0 {
			k0 := n / 2 / max(1, fm.Block) * max(1, fm.Block)
			part := make([]float32, n-k0)
			fm.body.decode(part, row, n, k0)
			for i, v := range part {
				if math.Float32bits(v) != math.Float32bits(got[k0+i]) && !(v != v && got[k0+i] != got[k0+i]) {
					t.Fatalf("%s n=%d: decode from %d differs at %d", fm.Name, n, k0, k0+i)
				}
			}
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		d := fm.Dot(row, x)
		want, mag := dot64(got, x)
		if !math.IsInf(mag, 0) && !math.IsNaN(mag) && mag < 1e30 && !near(float64(d), want, mag, 1e-5) {
			t.Fatalf("%s n=%d: Dot = %g, want %g", fm.Name, n, d, want)
		}
		if fm.Act != nil {
			xq := make([]byte, fm.Act.RowBytes(n))
			fm.Act.Quantize(xq, x)
			_ = fm.DotAct(row, xq, n)
		}
	})
}

type seedRow struct {
	format, cols int
	raw          []byte
}

// fixtureSeedRows returns one row of each block format from the llama.cpp
// fixture copy in testdata (format as an index into testFormats()).
func fixtureSeedRows(tb testing.TB) []seedRow {
	b, err := os.ReadFile("testdata/ggml_rows.json.gz")
	if err != nil {
		tb.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	var fx struct {
		Rows []struct {
			Type int    `json:"ggml_type"`
			Cols int    `json:"cols"`
			Raw  []byte `json:"raw"`
		} `json:"rows"`
	}
	if err := json.NewDecoder(zr).Decode(&fx); err != nil {
		tb.Fatal(err)
	}
	var out []seedRow
	seen := map[int]bool{}
	for i, fm := range testFormats() {
		for _, r := range fx.Rows {
			if r.Type == fm.GGML && !seen[r.Type] && r.Cols <= 256 {
				seen[r.Type] = true
				out = append(out, seedRow{i, r.Cols, r.Raw})
			}
		}
	}
	return out
}
