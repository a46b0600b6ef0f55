//go:build !noasm

package kernels

// Assembly bodies of divergo's int formats (containers int8 and int4, the
// latter also holding int3 and int2) for amd64: int_avx2_amd64.s (W·A8
// GEMV four rows per pass, decoder runs), int_avx512_amd64.s (decoder and
// weight-only dot over whole groups, nibbles through a code table) and
// int_vnni_amd64.s (the W·A8 GEMM tile on packed panels).
//
// The kernels run the whole groups of a row whose size G is a multiple of
// 32 (per-row formats: rows whose length is): every act8 block is then a
// full 32-value block inside one group. An int4 block is two halves of 16
// values, each the low or the high nibbles of 16 consecutive payload bytes
// (value v of a group sits in byte v, or byte v − G/2 for v ≥ G/2); a
// per-G table (intHalves) gives each block's two byte offsets and shifts.
// A ragged last group and other group sizes run the generic code, which
// the wrappers below continue from the assembly's running sums so that
// the W·A8 results keep the generic order bit for bit.

// intArgs carries a four-row W·A8 pass to the assembly (field offsets from
// go_asm.h).
type intArgs struct {
	rows [4]*byte   // row starts
	xq   *byte      // act8 row
	tab  *intHalf   // int4: one entry per block of a group
	ng   int        // whole groups
	bpg  int        // blocks per group (G/32)
	gb   int        // bytes per group
	sum  [4]float32 // out: Σ over the ng groups, per row
}

// intHalf locates the codes of one 32-value block of an int4 group: the
// low 16 values are the nibbles of the 16 bytes at o0 (from the group
// start, header included) shifted right by sh[0], the high 16 those at o1
// shifted by sh[2] (sh holds per-qword counts for VPSRLVQ).
type intHalf struct {
	o0, o1 int64
	sh     [4]uint64
}

// intHalves returns the block table of int4 groups of g values (g a
// multiple of 32) with a header of hdr bytes.
func intHalves(g, hdr int) []intHalf {
	h := g / 2
	t := make([]intHalf, g/32)
	for b := range t {
		var o [2]int64
		var s [2]uint64
		for k := 0; k < 2; k++ {
			v := 32*b + 16*k
			if v < h {
				o[k], s[k] = int64(hdr+v), 0
			} else {
				o[k], s[k] = int64(hdr+v-h), 4
			}
		}
		t[b] = intHalf{o0: o[0], o1: o[1], sh: [4]uint64{s[0], s[0], s[1], s[1]}}
	}
	return t
}

//go:noescape
func gemvActInt8SymAVX2(a *intArgs)

//go:noescape
func gemvActInt8AsymAVX2(a *intArgs)

//go:noescape
func gemvActInt4SymAVX2(a *intArgs)

//go:noescape
func gemvActInt4AsymAVX2(a *intArgs)

func intActKernelAVX2(l intLayout) func(a *intArgs) {
	switch {
	case l.bits == 8 && !l.asym:
		return gemvActInt8SymAVX2
	case l.bits == 8:
		return gemvActInt8AsymAVX2
	case !l.asym:
		return gemvActInt4SymAVX2
	}
	return gemvActInt4AsymAVX2
}

var (
	_ = registerFormat(AVX2, "int8", installIntAVX2)
	_ = registerFormat(AVX2, "int4", installIntAVX2)
)

//go:noescape
func decGroupsI8SAVX2(dst *float32, src *byte, ng, gs int)

//go:noescape
func decGroupsI8AAVX2(dst *float32, src *byte, ng, gs int)

//go:noescape
func decGroupsI4SAVX2(dst *float32, src *byte, ng, gs int)

//go:noescape
func decGroupsI4AAVX2(dst *float32, src *byte, ng, gs int)

//go:noescape
func dotGroupsI8SAVX2(w *byte, x *float32, ng, gs int) float32

//go:noescape
func dotGroupsI8AAVX2(w *byte, x *float32, ng, gs int) float32

//go:noescape
func dotGroupsI4SAVX2(w *byte, x *float32, ng, gs int) float32

//go:noescape
func dotGroupsI4AAVX2(w *byte, x *float32, ng, gs int) float32

var intGroupsAVX2 = [4]intGroupKernels{
	{decGroupsI8SAVX2, dotGroupsI8SAVX2}, {decGroupsI8AAVX2, dotGroupsI8AAVX2},
	{decGroupsI4SAVX2, dotGroupsI4SAVX2}, {decGroupsI4AAVX2, dotGroupsI4AAVX2},
}

func installIntAVX2(f *Format, t *formatTable) {
	installIntGroups(f, t, intDecAVX2, intGroupsAVX2)
	l := intLayout{f.bits, f.group, f.asym}
	t.gemvAct = intGemvAct(l, intActKernelAVX2(l))
	t.dotAct = dotActFromGemv(t.gemvAct)
	t.gemmAct = nil
}

// intGemvAct wraps a four-row int kernel as the gemvAct hook.
func intGemvAct(l intLayout, k func(a *intArgs)) func(dst []float32, w []byte, stride int, xq []byte, n int) {
	var fixed []intHalf // the table of the format's own group size
	if l.bits != 8 && l.group > 0 && l.group%32 == 0 {
		fixed = intHalves(l.group, l.hdr())
	}
	return func(dst []float32, w []byte, stride int, xq []byte, n int) {
		if len(dst) == 0 {
			return
		}
		if n == 0 {
			clear(dst)
			return
		}
		g := l.gsize(n)
		rb := l.rowBytes(n)
		_ = w[(len(dst)-1)*stride+rb-1]
		_ = xq[l.actRowBytes(n)-1]
		if g%32 != 0 {
			for i := range dst {
				dst[i] = l.dotAct(w[i*stride:], xq, n)
			}
			return
		}
		a := intArgs{xq: &xq[0], ng: n / g, bpg: g / 32, gb: l.groupBytes(g)}
		if l.bits != 8 {
			tab := fixed
			if g != l.group {
				tab = intHalves(g, l.hdr())
			}
			a.tab = &tab[0]
		}
		k0 := a.ng * g
		last := len(dst) - 1
		for i := 0; i < len(dst); i += 4 {
			for r := range a.rows {
				a.rows[r] = &w[min(i+r, last)*stride]
			}
			k(&a)
			for r := 0; r < 4 && i+r < len(dst); r++ {
				s := a.sum[r]
				if k0 < n {
					s = l.dotActFrom(w[(i+r)*stride:], xq, n, k0, a.ng*(g/32)*40, s)
				}
				dst[i+r] = s
			}
		}
	}
}

// dotActFrom continues the generic int·act8 dot (intLayout.dotAct) at the
// group starting at value k0 (its act8 blocks at byte xo of xq) with the
// running sum of the groups before it.
func (l intLayout) dotActFrom(w, xq []byte, n, k0, xo int, sum float32) float32 {
	g := l.gsize(n)
	for ; k0 < n; k0 += g {
		m := min(g, n-k0)
		b := w[k0/g*l.groupBytes(g):]
		p := b[l.hdr():]
		var acc, accS float32
		for b0 := 0; b0 < m; b0 += 32 {
			bl := min(32, m-b0)
			y := xq[xo : xo+8+bl]
			xo += 8 + bl
			q := y[8:]
			var isum int32
			for i, v := range q {
				isum += l.weight(p, m, b0+i) * int32(int8(v))
			}
			db := f32le(y)
			acc += float32(db * float32(isum))
			if l.asym {
				accS += float32(db * float32(int32(le32(y[4:]))))
			}
		}
		sum += float32(f32le(b) * acc)
		if l.asym {
			sum += float32(f32le(b[4:]) * accS)
		}
	}
	return sum
}

// A decRun kernel decodes count values (a multiple of 16) of one group
// from a run of codes: count int8/uint8 codes, or the low (shift 0) or high
// (shift 4) nibbles of count bytes.
type decRun func(dst *float32, src *byte, count, shift int, d, lo float32)

//go:noescape
func decI8SAVX2(dst *float32, src *byte, count, shift int, d, lo float32)

//go:noescape
func decI8AAVX2(dst *float32, src *byte, count, shift int, d, lo float32)

//go:noescape
func decI4SAVX2(dst *float32, src *byte, count, shift int, d, lo float32)

//go:noescape
func decI4AAVX2(dst *float32, src *byte, count, shift int, d, lo float32)

//go:noescape
func decI8SAVX512(dst *float32, src *byte, count, shift int, d, lo float32)

//go:noescape
func decI8AAVX512(dst *float32, src *byte, count, shift int, d, lo float32)

//go:noescape
func decI4SAVX512(dst *float32, src *byte, count, shift int, d, lo float32)

//go:noescape
func decI4AAVX512(dst *float32, src *byte, count, shift int, d, lo float32)

var (
	intDecAVX2   = [4]decRun{decI8SAVX2, decI8AAVX2, decI4SAVX2, decI4AAVX2}
	intDecAVX512 = [4]decRun{decI8SAVX512, decI8AAVX512, decI4SAVX512, decI4AAVX512}
)

var (
	_ = registerFormat(AVX512, "int8", installIntAVX512)
	_ = registerFormat(AVX512, "int4", installIntAVX512)
)

//go:noescape
func decGroupsI8SAVX512(dst *float32, src *byte, ng, gs int)

//go:noescape
func decGroupsI8AAVX512(dst *float32, src *byte, ng, gs int)

//go:noescape
func decGroupsI4SAVX512(dst *float32, src *byte, ng, gs int)

//go:noescape
func decGroupsI4AAVX512(dst *float32, src *byte, ng, gs int)

//go:noescape
func dotGroupsI8SAVX512(w *byte, x *float32, ng, gs int) float32

//go:noescape
func dotGroupsI8AAVX512(w *byte, x *float32, ng, gs int) float32

//go:noescape
func dotGroupsI4SAVX512(w *byte, x *float32, ng, gs int) float32

//go:noescape
func dotGroupsI4AAVX512(w *byte, x *float32, ng, gs int) float32

// intGroupKernels are the whole-group AVX-512 kernels of one int layout.
type intGroupKernels struct {
	dec func(dst *float32, src *byte, ng, gs int)
	dot func(w *byte, x *float32, ng, gs int) float32
}

var intGroupsAVX512 = [4]intGroupKernels{
	{decGroupsI8SAVX512, dotGroupsI8SAVX512}, {decGroupsI8AAVX512, dotGroupsI8AAVX512},
	{decGroupsI4SAVX512, dotGroupsI4SAVX512}, {decGroupsI4AAVX512, dotGroupsI4AAVX512},
}

func installIntAVX512(f *Format, t *formatTable) {
	installIntGroups(f, t, intDecAVX512, intGroupsAVX512)
}

// installIntGroups installs an ISA's decoder (whole groups by gk, the rest
// by the run kernels rk) and the weight-only GEMV built on them.
func installIntGroups(f *Format, t *formatTable, rk [4]decRun, gk [4]intGroupKernels) {
	l := intLayout{f.bits, f.group, f.asym}
	i := 0
	if l.bits != 8 {
		i = 2
	}
	if l.asym {
		i++
	}
	k := gk[i]
	runs := intDecode(l, rk[i])
	t.decode = intDecodeGroups(l, k.dec, runs)
	dec := t.decode
	t.dequant = func(dst []float32, src []byte) { dec(dst, src, len(dst), 0) }
	t.gemv = intGemvGroups(l, k.dot, dec)
	t.dot = dotFromGemv(t.gemv)
}

// intDecodeGroups is the decode hook with a fast path for whole groups of
// a size G that 32 divides; the rest (a group entered or left midway, the
// ragged last group, other sizes) goes to runs.
func intDecodeGroups(l intLayout, gk func(dst *float32, src *byte, ng, g int), runs func(dst []float32, row []byte, n, k0 int)) func(dst []float32, row []byte, n, k0 int) {
	return func(dst []float32, row []byte, n, k0 int) {
		g := l.gsize(max(n, 1))
		if len(dst) == 0 || g%32 != 0 {
			runs(dst, row, n, k0)
			return
		}
		gb, whole := l.groupBytes(g), n/g
		for len(dst) > 0 {
			gi := k0 / g
			if k0 == gi*g && gi < whole && len(dst) >= g {
				cnt := min(len(dst)/g, whole-gi)
				_ = row[(gi+cnt)*gb-1]
				gk(&dst[0], &row[gi*gb], cnt, g)
				dst = dst[cnt*g:]
				k0 += cnt * g
				continue
			}
			c := min(len(dst), min(n, (gi+1)*g)-k0)
			runs(dst[:c], row, n, k0)
			dst = dst[c:]
			k0 += c
		}
	}
}

// intGemvGroups is the weight-only GEMV with the whole-group dot kernel;
// the ragged last group (and other group sizes) goes through the decoder.
func intGemvGroups(l intLayout, gdot func(w *byte, x *float32, ng, g int) float32, dec func(dst []float32, row []byte, n, k0 int)) func(dst []float32, w []byte, stride int, x []float32) {
	slow := intGemvDecode(l, dec)
	return func(dst []float32, w []byte, stride int, x []float32) {
		n := len(x)
		if len(dst) == 0 || n == 0 || l.gsize(n)%32 != 0 {
			slow(dst, w, stride, x)
			return
		}
		g := l.gsize(n)
		rb, whole := l.rowBytes(n), n/g
		_ = w[(len(dst)-1)*stride+rb-1]
		var buf [1024]float32
		for i := range dst {
			row := w[i*stride : i*stride+rb]
			sum := gdot(&row[0], &x[0], whole, g)
			for k0 := whole * g; k0 < n; k0 += len(buf) {
				c := min(len(buf), n-k0)
				dec(buf[:c], row, n, k0)
				sum += dotF32Tail(buf[:c], x[k0:k0+c])
			}
			dst[i] = sum
		}
	}
}

// intDecode is the decode hook: each group's requested values are cut into
// runs of contiguous codes (int4: the part below and the part above half
// the group), decoded 16 at a time by k, the last < 16 of a run by the
// generic formula.
func intDecode(l intLayout, k decRun) func(dst []float32, row []byte, n, k0 int) {
	return func(dst []float32, row []byte, n, k0 int) {
		if len(dst) == 0 {
			return
		}
		g := l.gsize(n)
		full := l.groupBytes(g)
		for len(dst) > 0 {
			gi := k0 / g
			off := k0 - gi*g
			m := min(g, n-gi*g)
			b := row[gi*full : gi*full+l.groupBytes(m)]
			cnt := min(len(dst), m-off)
			d := f32le(b)
			var lo float32
			if l.asym {
				lo = f32le(b[4:])
			}
			p := b[l.hdr():]
			if l.bits == 8 {
				l.decodeRun(dst[:cnt], p, m, off, off, 0, d, lo, k)
			} else {
				h := (m + 1) / 2
				if a, e := off, min(off+cnt, h); a < e {
					l.decodeRun(dst[:e-a], p, m, a, a, 0, d, lo, k)
				}
				if a, e := max(off, h), off+cnt; a < e {
					l.decodeRun(dst[a-off:e-off], p, m, a, a-h, 4, d, lo, k)
				}
			}
			dst = dst[cnt:]
			k0 += cnt
		}
	}
}

// decodeRun writes values v … v+len(dst)−1 of a group of m values whose
// codes are the bytes of p from byte o on (nibbles at shift).
func (l intLayout) decodeRun(dst []float32, p []byte, m, v, o, shift int, d, lo float32, k decRun) {
	n16 := len(dst) / 16 * 16
	if n16 > 0 {
		_ = p[o+n16-1]
		k(&dst[0], &p[o], n16, shift, d, lo)
	}
	for i := n16; i < len(dst); i++ {
		w := float32(l.weight(p, m, v+i))
		if l.asym {
			dst[i] = float32(d*w) + lo
		} else {
			dst[i] = d * w
		}
	}
}

// intGemvDecode is the weight-only GEMV through the decoder: each row is
// decoded 1024 values at a time into a stack buffer and multiplied with x.
func intGemvDecode(l intLayout, dec func(dst []float32, row []byte, n, k0 int)) func(dst []float32, w []byte, stride int, x []float32) {
	const step = 1024
	return func(dst []float32, w []byte, stride int, x []float32) {
		n := len(x)
		if len(dst) == 0 {
			return
		}
		if n == 0 {
			clear(dst)
			return
		}
		rb := l.rowBytes(n)
		_ = w[(len(dst)-1)*stride+rb-1]
		var buf [step]float32
		for i := range dst {
			row := w[i*stride : i*stride+rb]
			var sum float32
			for k0 := 0; k0 < n; k0 += step {
				c := min(step, n-k0)
				dec(buf[:c], row, n, k0)
				sum += dotF32Tail(buf[:c], x[k0:k0+c])
			}
			dst[i] = sum
		}
	}
}

// dotF32Tail is dotF32AVX2 for any length (the last < 32 products in Go).
func dotF32Tail(a, b []float32) float32 {
	n32 := len(a) / 32 * 32
	var s float32
	if n32 > 0 {
		s = dotF32AVX2(&a[0], &b[0], n32)
	}
	for i := n32; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

// AVX-512 VNNI W·A8 GEMM tile of the int formats (int_vnni_amd64.s).

// intTile carries one tile (eight tokens × one panel, the whole groups of
// the row) to gemmActIntVNNI.
type intTile struct {
	dst      *float32
	ldd      int
	pw       *byte    // packed panel
	xq       *byte    // token 0's act8 row
	xqStride int      // bytes between tokens
	accS     *float32 // asym: [ng][8] Σ_b float32(d_x·s_x) per group and token
	ng, bpg  int      // whole groups, blocks per group
	mask     int      // lanes to store
	sym      int      // 1: lane 7 carries the offset code
	asym     int      // 1: groups carry lo
}

// intPack carries one panel's packing to packIntPanel.
type intPack struct {
	dst, w      *byte
	tab         *intHalf // int4 block table
	stride      int
	nrows       int // rows packed (1…8, 1…7 for sym)
	ng, bpg, gb int
	hdr         int // group header bytes
	bits        int // 8 or 4
	sym, asym   int
	xor         int // int8: code transform (0x80808080 for sym: q + 128)
	lane7       int // sym: offset code of lane 7 in every byte
}

//go:noescape
func gemmActIntVNNI(a *intTile)

//go:noescape
func packIntPanel(a *intPack)

var (
	_ = registerFormat(AVX512, "int8", installIntVNNI)
	_ = registerFormat(AVX512, "int4", installIntVNNI)
)

func installIntVNNI(f *Format, t *formatTable) {
	if !hasVNNI() {
		return
	}
	l := intLayout{f.bits, f.group, f.asym}
	slow := t.gemvAct // the AVX2 four-row kernel, for the rest
	t.gemmAct = func(dst []float32, ldd int, w []byte, stride, rows int, xq []byte, xqStride, nt, n int) {
		intGemmAct(l, slow, dst, ldd, w, stride, rows, xq, xqStride, nt, n)
	}
	t.gemmActRows = 4 * intLanes(l)
}

// intLanes is the number of rows per panel: sym formats give lane 7 to
// the offset code.
func intLanes(l intLayout) int {
	if l.asym {
		return 8
	}
	return 7
}

// intGemmAct packs the rows' whole groups into panels and runs the VNNI
// tile over them; the ragged last group continues per row and token in Go
// from the tile's sums (generic order), and group sizes that 32 does not
// divide take the four-row GEMV per token.
func intGemmAct(l intLayout, gemvAct func(dst []float32, w []byte, stride int, xq []byte, n int),
	dst []float32, ldd int, w []byte, stride, rows int, xq []byte, xqStride, nt, n int) {
	if rows == 0 || nt == 0 {
		return
	}
	g := l.gsize(max(n, 1))
	if n == 0 || g%32 != 0 || n < g {
		for t := 0; t < nt; t++ {
			gemvAct(dst[t*ldd:t*ldd+rows], w, stride, xq[t*xqStride:], n)
		}
		return
	}
	ng, bpg, gb := n/g, g/32, l.groupBytes(g)
	_ = dst[(nt-1)*ldd+rows-1]
	_ = xq[(nt-1)*xqStride+l.actRowBytes(n)-1]
	_ = w[(rows-1)*stride+l.rowBytes(n)-1]
	lanes := intLanes(l)
	hdr := 32
	if l.asym {
		hdr = 64
	}
	pgb := hdr + 256*bpg // packed bytes per group
	panels := ceilDiv(rows, lanes)
	bufp := getBytes(panels * ng * pgb)
	defer putBytes(bufp)
	pw := *bufp
	pk := intPack{stride: stride, ng: ng, bpg: bpg, gb: gb, hdr: l.hdr(), bits: l.bits}
	if l.bits == 8 {
		pk.bits = 8
	} else {
		pk.bits = 4
		tab := intHalves(g, l.hdr())
		pk.tab = &tab[0]
	}
	if l.asym {
		pk.asym = 1
	} else {
		pk.sym = 1
		if l.bits == 8 {
			pk.xor, pk.lane7 = 0x80808080, 0x80808080
		} else {
			pk.lane7 = 0x08080808
		}
	}
	for pi := 0; pi < panels; pi++ {
		pk.dst, pk.w = &pw[pi*ng*pgb], &w[pi*lanes*stride]
		pk.nrows = min(lanes, rows-pi*lanes)
		packIntPanel(&pk)
	}
	xb := l.actRowBytes(n)
	var accS []float32
	if l.asym {
		accS = make([]float32, ng*8)
	}
	tile := intTile{ng: ng, bpg: bpg, sym: pk.sym, asym: pk.asym}
	var pad []byte
	var scratch [8 * 8]float32
	for t0 := 0; t0 < nt; t0 += 8 {
		tn := min(8, nt-t0)
		tile.xq, tile.xqStride = &xq[t0*xqStride], xqStride
		if tn < 8 {
			if pad == nil {
				padp := getBytes(8 * xb)
				defer putBytes(padp)
				pad = *padp
			}
			for t := 0; t < 8; t++ {
				copy(pad[t*xb:(t+1)*xb], xq[(t0+min(t, tn-1))*xqStride:])
			}
			tile.xq, tile.xqStride = &pad[0], xb
		}
		if l.asym {
			for t := 0; t < 8; t++ {
				y := xq[(t0+min(t, tn-1))*xqStride:]
				for gi := 0; gi < ng; gi++ {
					var s float32
					for b := 0; b < bpg; b++ {
						blk := y[(gi*bpg+b)*40:]
						s += float32(f32le(blk) * float32(int32(le32(blk[4:]))))
					}
					accS[gi*8+t] = s
				}
			}
			tile.accS = &accS[0]
		}
		for pi := 0; pi < panels; pi++ {
			nv := min(lanes, rows-pi*lanes)
			tile.pw, tile.mask = &pw[pi*ng*pgb], 1<<nv-1
			if tn == 8 {
				tile.dst, tile.ldd = &dst[t0*ldd+pi*lanes], ldd
				gemmActIntVNNI(&tile)
				continue
			}
			tile.dst, tile.ldd = &scratch[0], 8
			gemmActIntVNNI(&tile)
			for t := 0; t < tn; t++ {
				copy(dst[(t0+t)*ldd+pi*lanes:(t0+t)*ldd+pi*lanes+nv], scratch[t*8:t*8+nv])
			}
		}
	}
	if k0 := ng * g; k0 < n {
		for t := 0; t < nt; t++ {
			for r := 0; r < rows; r++ {
				d := &dst[t*ldd+r]
				*d = l.dotActFrom(w[r*stride:], xq[t*xqStride:], n, k0, ng*bpg*40, *d)
			}
		}
	}
}
