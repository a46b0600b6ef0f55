//go:build !noasm

package kernels

// Assembly bodies of the ggml 32-value block formats (q8_0, q4_0, q4_1,
// q5_0, q5_1) for amd64: q32_avx2_amd64.s (AVX2 + FMA + F16C: W·A8 and
// weight-only GEMV, decoders), q32_avx512_amd64.s (AVX-512 weight-only
// GEMV) and q32_vnni_amd64.s (AVX-512 VNNI: W·A8 GEMV and GEMM tiles).
//
// The row kernels work on four weight rows per pass over the activation
// row; the wrappers below check every length once, then hand the assembly
// raw pointers and a block count. A pass with fewer than four rows left
// repeats the last row (its results are dropped), so the assembly never
// reads outside the rows it is given.

// An actRows4 kernel writes dst[r] = DotAct(row r, xq, 32·nb) for the four
// rows w0…w3.
type actRows4 func(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

// An f32Rows4 kernel writes dst[r] = Dot(row r, x) for the four rows w0…w3
// and x of 32·nb values.
type f32Rows4 func(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

// A dequantBlocks kernel decodes nb blocks of src into dst.
type dequantBlocks func(dst *float32, src *byte, nb int)

//go:noescape
func gemvActQ8_0AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

//go:noescape
func gemvActQ4_0AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

//go:noescape
func gemvActQ4_1AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

//go:noescape
func gemvActQ5_0AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

//go:noescape
func gemvActQ5_1AVX2(dst *[4]float32, w0, w1, w2, w3, xq *byte, nb int)

//go:noescape
func gemvQ8_0AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ4_0AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ4_1AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ5_0AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ5_1AVX2(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func dequantQ8_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ4_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ4_1AVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ5_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func dequantQ5_1AVX2(dst *float32, src *byte, nb int)

// q32Kernels lists one format's AVX2 bodies.
type q32Kernels struct {
	family  string
	bb, ab  int // bytes per weight block, per activation block
	act     actRows4
	f32     f32Rows4
	dequant dequantBlocks
}

var q32AVX2 = []q32Kernels{
	{"q8_0", 34, 34, gemvActQ8_0AVX2, gemvQ8_0AVX2, dequantQ8_0AVX2},
	{"q4_0", 18, 34, gemvActQ4_0AVX2, gemvQ4_0AVX2, dequantQ4_0AVX2},
	{"q4_1", 20, 36, gemvActQ4_1AVX2, gemvQ4_1AVX2, dequantQ4_1AVX2},
	{"q5_0", 22, 34, gemvActQ5_0AVX2, gemvQ5_0AVX2, dequantQ5_0AVX2},
	{"q5_1", 24, 36, gemvActQ5_1AVX2, gemvQ5_1AVX2, dequantQ5_1AVX2},
}

var _ = registerQ32(AVX2, q32AVX2)

func registerQ32(isa ISA, ks []q32Kernels) bool {
	for _, k := range ks {
		registerFormat(isa, k.family, func(f *Format, t *formatTable) {
			t.dequant = blockDequant(k.dequant, qk, k.bb)
			t.gemv = gemvRows4(k.f32, qk, k.bb)
			t.dot = dotFromGemv(t.gemv)
			t.gemvAct = gemvActRows4(k.act, qk, k.bb, k.ab)
			t.dotAct = dotActFromGemv(t.gemvAct)
			t.decode, t.gemmAct = nil, nil // derived from the bodies above
		})
	}
	return true
}

// blockDequant wraps a block decoder: dst gets len(dst)/blk blocks of src.
func blockDequant(k dequantBlocks, blk, bb int) func(dst []float32, src []byte) {
	return func(dst []float32, src []byte) {
		nb := len(dst) / blk
		if nb == 0 {
			return
		}
		_ = src[nb*bb-1]
		k(&dst[0], &src[0], nb)
	}
}

// gemvActRows4 wraps a four-row W·A8 kernel as the gemvAct hook.
func gemvActRows4(k actRows4, blk, bb, ab int) func(dst []float32, w []byte, stride int, xq []byte, n int) {
	return func(dst []float32, w []byte, stride int, xq []byte, n int) {
		if len(dst) == 0 {
			return
		}
		nb := n / blk
		if nb == 0 {
			clear(dst)
			return
		}
		last := len(dst) - 1
		_ = xq[nb*ab-1]
		_ = w[last*stride+nb*bb-1]
		var out [4]float32
		for i := 0; i < len(dst); i += 4 {
			k(&out, &w[i*stride], &w[min(i+1, last)*stride], &w[min(i+2, last)*stride], &w[min(i+3, last)*stride], &xq[0], nb)
			copy(dst[i:], out[:])
		}
	}
}

// gemvRows4 wraps a four-row weight-only kernel as the gemv hook.
func gemvRows4(k f32Rows4, blk, bb int) func(dst []float32, w []byte, stride int, x []float32) {
	return func(dst []float32, w []byte, stride int, x []float32) {
		if len(dst) == 0 {
			return
		}
		nb := len(x) / blk
		if nb == 0 {
			clear(dst)
			return
		}
		last := len(dst) - 1
		_ = w[last*stride+nb*bb-1]
		var out [4]float32
		for i := 0; i < len(dst); i += 4 {
			k(&out, &w[i*stride], &w[min(i+1, last)*stride], &w[min(i+2, last)*stride], &w[min(i+3, last)*stride], &x[0], nb)
			copy(dst[i:], out[:])
		}
	}
}

// dotFromGemv is the single-row dot of a gemv hook.
func dotFromGemv(gemv func(dst []float32, w []byte, stride int, x []float32)) func(w []byte, x []float32) float32 {
	return func(w []byte, x []float32) float32 {
		var d [1]float32
		gemv(d[:], w, 0, x)
		return d[0]
	}
}

// dotActFromGemv is the single-row dot of a gemvAct hook.
func dotActFromGemv(gemv func(dst []float32, w []byte, stride int, xq []byte, n int)) func(w, xq []byte, n int) float32 {
	return func(w, xq []byte, n int) float32 {
		var d [1]float32
		gemv(d[:], w, 0, xq, n)
		return d[0]
	}
}

// AVX-512 + VNNI bodies (q32_vnni_amd64.s): the eight-row W·A8 GEMV and the
// packed-panel W·A8 GEMM tile. Rows left over by the eight-row passes go
// through the AVX2 four-row kernels, and the single-row DotAct stays
// AVX2's: both are bit-exact, so every path gives the same bits.

//go:noescape
func gemvQ8_0AVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ4_0AVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//lint:ignore U1000 left out of q32GemvAVX512 (slower than AVX2 on the development machine) but kept
//go:noescape
func gemvQ4_1AVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ5_0AVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

//go:noescape
func gemvQ5_1AVX512(dst *[4]float32, w0, w1, w2, w3 *byte, x *float32, nb int)

// q32GemvAVX512 lists the weight-only AVX-512 bodies (q32_avx512_amd64.s)
// that are installed. On the development machine (AMD, 512-bit ops issued
// as two 256-bit halves) they beat AVX2 by 0–40% (q5 most, from the 32-entry
// code table); gemvQ4_1AVX512 measured 8% slower than AVX2 there and is
// left out.
var q32GemvAVX512 = map[string]f32Rows4{
	"q8_0": gemvQ8_0AVX512, "q4_0": gemvQ4_0AVX512,
	"q5_0": gemvQ5_0AVX512, "q5_1": gemvQ5_1AVX512,
}

// An actRows8 kernel writes dst[r] = DotAct(w + r·stride, xq, 32·nb) for r < 8.
type actRows8 func(dst *[8]float32, w *byte, stride int, xq *byte, nb int)

// A gemmTile kernel computes eight tokens (xq + t·xqStride) against one
// packed panel: dst[t·ldd + lane] for the lanes set in mask.
type gemmTile func(dst *float32, ldd int, pw *byte, xq *byte, xqStride int, nb int, mask int)

//go:noescape
func gemvAct8Q8_0VNNI(dst *[8]float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvAct8Q4_0VNNI(dst *[8]float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvAct8Q4_1VNNI(dst *[8]float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvAct8Q5_0VNNI(dst *[8]float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func gemvAct8Q5_1VNNI(dst *[8]float32, w *byte, stride int, xq *byte, nb int)

//go:noescape
func packPanelQ8_0(dst *byte, w *byte, stride, nrows, nb int)

//go:noescape
func packPanelQ4_0(dst *byte, w *byte, stride, nrows, nb int)

//go:noescape
func packPanelQ4_1(dst *byte, w *byte, stride, nrows, nb int)

//go:noescape
func packPanelQ5_0(dst *byte, w *byte, stride, nrows, nb int)

//go:noescape
func packPanelQ5_1(dst *byte, w *byte, stride, nrows, nb int)

//go:noescape
func gemmActDDVNNI(dst *float32, ldd int, pw *byte, xq *byte, xqStride int, nb int, mask int)

//go:noescape
func gemmActSeqVNNI(dst *float32, ldd int, pw *byte, xq *byte, xqStride int, nb int, mask int)

//go:noescape
func gemmActMinVNNI(dst *float32, ldd int, pw *byte, xq *byte, xqStride int, nb int, mask int)

// A q32Panel describes how one format's rows are packed into eight-lane
// panels for its gemmTile.
type q32Panel struct {
	family string
	bb, ab int
	// offset is the code bias of the format (q = u − offset), carried by
	// lane 7 of every panel; 0 means no bias and eight rows per panel.
	offset byte
	hasMin bool                         // panel blocks carry m[8] after d[8]
	codes  func(b []byte, g int) uint32 // unsigned codes of values 4g…4g+3 of block b
	tile   gemmTile
	rows8  actRows8
	// packAsm packs up to lanes() rows of nb blocks into one panel: per
	// block the rows' scales d[8] (and m[8]) as float32, then the codes
	// of values 4g…4g+3 for g = 0…7 as [g][lane][4 bytes]; lanes past the
	// rows repeat the last row, lane 7 of the offset formats holds the
	// offset code. (q32Panel.pack in the tests is the Go reference.)
	packAsm func(dst *byte, w *byte, stride, nrows, nb int)
}

var q32VNNI = []q32Panel{
	{"q8_0", 34, 34, 0x80, false, codesQ8_0, gemmActDDVNNI, gemvAct8Q8_0VNNI, packPanelQ8_0},
	{"q4_0", 18, 34, 8, false, codesNib(2), gemmActSeqVNNI, gemvAct8Q4_0VNNI, packPanelQ4_0},
	{"q4_1", 20, 36, 0, true, codesNib(4), gemmActMinVNNI, gemvAct8Q4_1VNNI, packPanelQ4_1},
	{"q5_0", 22, 34, 16, false, codesQ5(2, 6), gemmActDDVNNI, gemvAct8Q5_0VNNI, packPanelQ5_0},
	{"q5_1", 24, 36, 0, true, codesQ5(4, 8), gemmActMinVNNI, gemvAct8Q5_1VNNI, packPanelQ5_1},
}

var (
	_ = registerFormat(AVX512, "q8_0", installQ32AVX512)
	_ = registerFormat(AVX512, "q4_0", installQ32AVX512)
	_ = registerFormat(AVX512, "q4_1", installQ32AVX512)
	_ = registerFormat(AVX512, "q5_0", installQ32AVX512)
	_ = registerFormat(AVX512, "q5_1", installQ32AVX512)
)

// installQ32AVX512 installs the weight-only AVX-512 GEMV and, with VNNI,
// the W·A8 GEMV and GEMM bodies.
func installQ32AVX512(f *Format, t *formatTable) {
	for _, k := range q32AVX2 {
		if g := q32GemvAVX512[f.family]; g != nil && k.family == f.family {
			t.gemv = gemvRows4(g, qk, k.bb)
			t.dot = dotFromGemv(t.gemv)
		}
	}
	if !hasVNNI() {
		return
	}
	for i := range q32VNNI {
		p := &q32VNNI[i]
		if p.family != f.family {
			continue
		}
		var k4 actRows4
		for _, k := range q32AVX2 {
			if k.family == f.family {
				k4 = k.act
			}
		}
		t.gemvAct = gemvActRows8(p.rows8, k4, qk, p.bb, p.ab)
		t.gemmAct = p.gemmAct
		// Four panels per call: whole panels, packing amortized over the
		// driver's token block, the packed rows (≤ 4·nb·320 bytes) in L2.
		t.gemmActRows = 4 * p.lanes()
	}
}

// gemvActRows8 runs the eight-row kernel over the rows and the four-row
// kernel k4 over the rest.
func gemvActRows8(k8 actRows8, k4 actRows4, blk, bb, ab int) func(dst []float32, w []byte, stride int, xq []byte, n int) {
	tail := gemvActRows4(k4, blk, bb, ab)
	return func(dst []float32, w []byte, stride int, xq []byte, n int) {
		nb := n / blk
		full := len(dst) / 8 * 8
		if nb == 0 || full == 0 {
			tail(dst, w, stride, xq, n)
			return
		}
		_ = xq[nb*ab-1]
		_ = w[(full-1)*stride+nb*bb-1]
		var out [8]float32
		for i := 0; i < full; i += 8 {
			k8(&out, &w[i*stride], stride, &xq[0], nb)
			copy(dst[i:i+8], out[:])
		}
		if full < len(dst) {
			tail(dst[full:], w[full*stride:], stride, xq, n)
		}
	}
}

func codesQ8_0(b []byte, g int) uint32 { return le32(b[2+4*g:]) ^ 0x80808080 }

// codesNib returns the code function of nibbles stored at qs: values 0–15
// are the low nibbles of bytes 0–15, values 16–31 the high nibbles.
func codesNib(qs int) func(b []byte, g int) uint32 {
	return func(b []byte, g int) uint32 {
		if g < 4 {
			return le32(b[qs+4*g:]) & 0x0f0f0f0f
		}
		return le32(b[qs+4*(g-4):]) >> 4 & 0x0f0f0f0f
	}
}

// bitBytes[v] has 0x10 in byte i where bit i of v is set.
var bitBytes = func() (t [16]uint32) {
	for v := range t {
		for i := 0; i < 4; i++ {
			if v>>i&1 != 0 {
				t[v] |= 0x10 << (8 * i)
			}
		}
	}
	return t
}()

// codesQ5 adds the fifth bits (32-bit qh at offset qh) to the nibbles at qs.
func codesQ5(qh, qs int) func(b []byte, g int) uint32 {
	nib := codesNib(qs)
	return func(b []byte, g int) uint32 {
		return nib(b, g) | bitBytes[le32(b[qh:])>>(4*g)&0xf]
	}
}

// blockBytes is the size of one packed panel block.
func (p *q32Panel) blockBytes() int {
	if p.hasMin {
		return 64 + 256
	}
	return 32 + 256
}

// lanes is the number of rows per panel.
func (p *q32Panel) lanes() int {
	if p.offset != 0 {
		return 7
	}
	return 8
}

// gemmAct is the gemmAct hook: pack the rows once, then run every panel
// against the tokens in groups of eight. A last group of fewer than eight
// tokens runs from a copy padded with its last token, into a scratch tile.
func (p *q32Panel) gemmAct(dst []float32, ldd int, w []byte, stride, rows int, xq []byte, xqStride, nt, n int) {
	if rows == 0 || nt == 0 {
		return
	}
	nb := n / qk
	_ = dst[(nt-1)*ldd+rows-1]
	if nb == 0 {
		for t := 0; t < nt; t++ {
			clear(dst[t*ldd : t*ldd+rows])
		}
		return
	}
	_ = xq[(nt-1)*xqStride+nb*p.ab-1]
	_ = w[(rows-1)*stride+nb*p.bb-1]
	lanes, pbb := p.lanes(), p.blockBytes()
	panels := ceilDiv(rows, lanes)
	bufp := getBytes(panels * nb * pbb)
	defer putBytes(bufp)
	pw := *bufp
	for pi := 0; pi < panels; pi++ {
		p.packAsm(&pw[pi*nb*pbb], &w[pi*lanes*stride], stride, min(lanes, rows-pi*lanes), nb)
	}
	xb := nb * p.ab
	for t0 := 0; t0 < nt; t0 += 8 {
		tn := min(8, nt-t0)
		if tn == 8 {
			for pi := 0; pi < panels; pi++ {
				nv := min(lanes, rows-pi*lanes)
				p.tile(&dst[t0*ldd+pi*lanes], ldd, &pw[pi*nb*pbb], &xq[t0*xqStride], xqStride, nb, 1<<nv-1)
			}
			continue
		}
		padp := getBytes(8 * xb)
		pad := *padp
		for t := 0; t < 8; t++ {
			copy(pad[t*xb:(t+1)*xb], xq[(t0+min(t, tn-1))*xqStride:])
		}
		var tile [8 * 8]float32
		for pi := 0; pi < panels; pi++ {
			nv := min(lanes, rows-pi*lanes)
			p.tile(&tile[0], 8, &pw[pi*nb*pbb], &pad[0], xb, nb, 1<<nv-1)
			for t := 0; t < tn; t++ {
				copy(dst[(t0+t)*ldd+pi*lanes:(t0+t)*ldd+pi*lanes+nv], tile[t*8:t*8+nv])
			}
		}
		putBytes(padp)
	}
}
