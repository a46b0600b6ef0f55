//go:build !noasm

package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPackPanels holds the assembly panel packers to the Go reference
// (q32Panel.pack) on the lanes that carry rows, and lane 7 of the offset
// formats to the offset code, for every row count of a panel.
func TestPackPanels(t *testing.T) {
	if !hasVNNI() {
		t.Skip("no AVX512-VNNI")
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for i := range q32VNNI {
		p := &q32VNNI[i]
		const nb = 5
		stride := nb*p.bb + 3
		w := make([]byte, 8*stride)
		for j := range w {
			w[j] = byte(rng.Uint32())
		}
		for r := 0; r < 8; r++ {
			for b := 0; b < nb; b++ {
				putHalf(w[r*stride+b*p.bb:], randScale(rng, true))
				if p.hasMin {
					putHalf(w[r*stride+b*p.bb+2:], randScale(rng, true))
				}
			}
		}
		pbb := p.blockBytes()
		hdr := pbb - 256
		for rows := 1; rows <= p.lanes(); rows++ {
			want := make([]byte, nb*pbb)
			p.pack(want, w, stride, rows, nb)
			got := make([]byte, nb*pbb+1)
			got[nb*pbb] = 0xa5
			p.packAsm(&got[0], &w[0], stride, rows, nb)
			if got[nb*pbb] != 0xa5 {
				t.Fatalf("%s rows=%d: packer wrote past the panel", p.family, rows)
			}
			lanes := rows
			if p.offset != 0 {
				lanes = 8 // lane 7 is the offset code in both
			}
			for b := 0; b < nb; b++ {
				for lane := 0; lane < 8; lane++ {
					if lane >= rows && lane < 7 || lane >= lanes {
						continue
					}
					var fields [][2]int // [offset, len]
					if lane < rows {
						fields = append(fields, [2]int{b*pbb + 4*lane, 4})
						if p.hasMin {
							fields = append(fields, [2]int{b*pbb + 32 + 4*lane, 4})
						}
					}
					for g := 0; g < 8; g++ {
						fields = append(fields, [2]int{b*pbb + hdr + 32*g + 4*lane, 4})
					}
					for _, fl := range fields {
						o, n := fl[0], fl[1]
						if !bytes.Equal(got[o:o+n], want[o:o+n]) {
							t.Fatalf("%s rows=%d block %d lane %d: bytes %d… = % x, want % x", p.family, rows, b, lane, o, got[o:o+n], want[o:o+n])
						}
					}
				}
			}
		}
	}
}

// pack is the reference of the assembly packers: it writes the panels of rows rows (w + r·stride) of nb blocks into buf.
func (p *q32Panel) pack(buf []byte, w []byte, stride, rows, nb int) {
	lanes, pbb := p.lanes(), p.blockBytes()
	hdr := pbb - 256
	off := uint32(p.offset) * 0x01010101
	for pi := 0; pi*lanes < rows; pi++ {
		pan := buf[pi*nb*pbb : (pi+1)*nb*pbb]
		for lane := 0; lane < 8; lane++ {
			r := pi*lanes + lane
			switch {
			case lane >= lanes:
				for b := 0; b < nb; b++ {
					o := b * pbb
					putF32LE(pan[o+4*lane:], 0)
					for g := 0; g < 8; g++ {
						putLE32(pan[o+hdr+32*g+4*lane:], off)
					}
				}
			case r >= rows:
				for b := 0; b < nb; b++ {
					o := b * pbb
					putF32LE(pan[o+4*lane:], 0)
					if p.hasMin {
						putF32LE(pan[o+32+4*lane:], 0)
					}
					for g := 0; g < 8; g++ {
						putLE32(pan[o+hdr+32*g+4*lane:], 0)
					}
				}
			default:
				row := w[r*stride : r*stride+nb*p.bb]
				for b := 0; b < nb; b++ {
					blk := row[b*p.bb : (b+1)*p.bb]
					o := b * pbb
					putF32LE(pan[o+4*lane:], half(blk))
					if p.hasMin {
						putF32LE(pan[o+32+4*lane:], half(blk[2:]))
					}
					for g := 0; g < 8; g++ {
						putLE32(pan[o+hdr+32*g+4*lane:], p.codes(blk, g))
					}
				}
			}
		}
	}
}

func putLE32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func putF32LE(b []byte, v float32) { putLE32(b, math.Float32bits(v)) }
