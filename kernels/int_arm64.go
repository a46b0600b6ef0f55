//go:build !noasm

package kernels

// NEON bodies of divergo's int formats (int_neon_arm64.s), by container
// ("int8"; "int4" for int4, int3 and int2).
//
// The W·A8 and weight-only row kernels (four rows or one per pass) take
// whole groups whose 32-value activation blocks are whole runs of payload
// bytes: int8 with groups of a multiple of 32 values, int4 with groups of
// 32 (low/high nibbles of 16 bytes, as q4_0) or of a multiple of 64 (low
// nibbles of the group's first half of bytes, then high nibbles). Those
// cover the default formats (int8 per row with rows of a multiple of 32,
// int4:g128) and every group size 32·k for int8, 32 and 64·k for int4. A
// last, shorter group of a row is finished here with the generic
// arithmetic, continuing the same sum, so the W·A8 results stay bit-exact;
// other layouts run the generic bodies. The W·A8 kernels use SDOT when the
// CPU has dotprod, SMULL/SADALP otherwise (int8 asym codes u enter SDOT as
// u−128 with 128·Σq added back). The run decoders serve every layout.

//go:noescape
func gemvActI8Sx4SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI8Sx4MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI8Sx4NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI8Sx1SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI8Sx1MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI8Sx1NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI8Ax4SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI8Ax4MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI8Ax4NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI8Ax1SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI8Ax1MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI8Ax1NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI4SPairx4SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI4SPairx4MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI4SPairx4NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI4SPairx1SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI4SPairx1MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI4SPairx1NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI4APairx4SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI4APairx4MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI4APairx4NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI4APairx1SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI4APairx1MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI4APairx1NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI4SHalvesx4SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI4SHalvesx4MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI4SHalvesx4NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI4SHalvesx1SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI4SHalvesx1MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI4SHalvesx1NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI4AHalvesx4SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI4AHalvesx4MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI4AHalvesx4NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func gemvActI4AHalvesx1SDOT(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvActI4AHalvesx1MULL(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

//go:noescape
func gemvI4AHalvesx1NEON(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

//go:noescape
func decodeI8SNEON(dst *float32, p *byte, n int, d float32, lo float32)

//go:noescape
func decodeI8ANEON(dst *float32, p *byte, n int, d float32, lo float32)

//go:noescape
func decodeI4SLoNEON(dst *float32, p *byte, n int, d float32, lo float32)

//go:noescape
func decodeI4SHiNEON(dst *float32, p *byte, n int, d float32, lo float32)

//go:noescape
func decodeI4ALoNEON(dst *float32, p *byte, n int, d float32, lo float32)

//go:noescape
func decodeI4AHiNEON(dst *float32, p *byte, n int, d float32, lo float32)

// An intRowsAct kernel writes dst[r] = the W·A8 dot of ng whole groups
// of 32·nbg values of row w + r·stride with the act8 blocks at xq.
type intRowsAct func(dst *float32, w *byte, stride int, xq *byte, ng int, nbg int)

// An intRowsF32 kernel is the weight-only counterpart.
type intRowsF32 func(dst *float32, w *byte, stride int, x *float32, ng int, nbg int)

// neonIntKernels holds one layout's kernels: act[variant][0] four rows,
// act[variant][1] one row, variant 0 SMULL, 1 SDOT.
type neonIntKernels struct {
	act        [2][2]intRowsAct
	dot4, dot1 intRowsF32
}

var (
	neonI8 = [2]neonIntKernels{
		{act: [2][2]intRowsAct{{gemvActI8Sx4MULL, gemvActI8Sx1MULL}, {gemvActI8Sx4SDOT, gemvActI8Sx1SDOT}},
			dot4: gemvI8Sx4NEON, dot1: gemvI8Sx1NEON},
		{act: [2][2]intRowsAct{{gemvActI8Ax4MULL, gemvActI8Ax1MULL}, {gemvActI8Ax4SDOT, gemvActI8Ax1SDOT}},
			dot4: gemvI8Ax4NEON, dot1: gemvI8Ax1NEON},
	}
	neonI4Pair = [2]neonIntKernels{
		{act: [2][2]intRowsAct{{gemvActI4SPairx4MULL, gemvActI4SPairx1MULL}, {gemvActI4SPairx4SDOT, gemvActI4SPairx1SDOT}},
			dot4: gemvI4SPairx4NEON, dot1: gemvI4SPairx1NEON},
		{act: [2][2]intRowsAct{{gemvActI4APairx4MULL, gemvActI4APairx1MULL}, {gemvActI4APairx4SDOT, gemvActI4APairx1SDOT}},
			dot4: gemvI4APairx4NEON, dot1: gemvI4APairx1NEON},
	}
	neonI4Halves = [2]neonIntKernels{
		{act: [2][2]intRowsAct{{gemvActI4SHalvesx4MULL, gemvActI4SHalvesx1MULL}, {gemvActI4SHalvesx4SDOT, gemvActI4SHalvesx1SDOT}},
			dot4: gemvI4SHalvesx4NEON, dot1: gemvI4SHalvesx1NEON},
		{act: [2][2]intRowsAct{{gemvActI4AHalvesx4MULL, gemvActI4AHalvesx1MULL}, {gemvActI4AHalvesx4SDOT, gemvActI4AHalvesx1SDOT}},
			dot4: gemvI4AHalvesx4NEON, dot1: gemvI4AHalvesx1NEON},
	}
)

var (
	_ = registerFormat(NEON, "int8", installIntNEON)
	_ = registerFormat(NEON, "int4", installIntNEON)
)

func installIntNEON(f *Format, t *formatTable) {
	l := intLayout{f.bits, f.group, f.asym}
	asym := 0
	if l.asym {
		asym = 1
	}
	// kernels returns the kernels for rows of n values split into groups
	// of g, or nil when the layout has none.
	kernels := func(g int) *neonIntKernels {
		switch {
		case l.bits == 8 && g%32 == 0:
			return &neonI8[asym]
		case l.bits != 8 && g == 32:
			return &neonI4Pair[asym]
		case l.bits != 8 && g%64 == 0:
			return &neonI4Halves[asym]
		}
		return nil
	}
	variant := 0
	if neonDotProd {
		variant = 1
	}
	t.gemvAct = func(dst []float32, w []byte, stride int, xq []byte, n int) {
		rows := len(dst)
		if rows == 0 {
			return
		}
		g := l.gsize(n)
		k := (*neonIntKernels)(nil)
		if n > 0 {
			k = kernels(g)
		}
		ng := 0
		if k != nil {
			ng = n / g
		}
		if ng == 0 {
			for i := range dst {
				dst[i] = l.dotAct(w[i*stride:], xq, n)
			}
			return
		}
		_ = w[(rows-1)*stride+l.rowBytes(n)-1]
		_ = xq[l.actRowBytes(n)-1]
		k4, k1 := k.act[variant][0], k.act[variant][1]
		i := 0
		for ; i+4 <= rows; i += 4 {
			k4(&dst[i], &w[i*stride], stride, &xq[0], ng, g/32)
		}
		for ; i < rows; i++ {
			k1(&dst[i], &w[i*stride], 0, &xq[0], ng, g/32)
		}
		if ng*g < n {
			xo := ng * (g / 32) * 40
			for i := range dst {
				dst[i] = intDotActFrom(l, w[i*stride:], xq, n, ng*g, xo, dst[i])
			}
		}
	}
	t.dotAct = func(w, xq []byte, n int) float32 {
		var d [1]float32
		t.gemvAct(d[:], w, 0, xq, n)
		return d[0]
	}
	t.gemv = func(dst []float32, w []byte, stride int, x []float32) {
		rows, n := len(dst), len(x)
		if rows == 0 {
			return
		}
		g := l.gsize(n)
		k := (*neonIntKernels)(nil)
		if n > 0 {
			k = kernels(g)
		}
		ng := 0
		if k != nil {
			ng = n / g
		}
		if ng == 0 {
			for i := range dst {
				dst[i] = l.dot(w[i*stride:], x)
			}
			return
		}
		_ = w[(rows-1)*stride+l.rowBytes(n)-1]
		i := 0
		for ; i+4 <= rows; i += 4 {
			k.dot4(&dst[i], &w[i*stride], stride, &x[0], ng, g/32)
		}
		for ; i < rows; i++ {
			k.dot1(&dst[i], &w[i*stride], 0, &x[0], ng, g/32)
		}
		if ng*g < n {
			for i := range dst {
				dst[i] += intDotFrom(l, w[i*stride:], x, ng*g)
			}
		}
	}
	t.dot = func(w []byte, x []float32) float32 {
		var d [1]float32
		t.gemv(d[:], w, 0, x)
		return d[0]
	}
	t.decode = func(dst []float32, row []byte, n, k0 int) { intDecodeNEON(l, dst, row, n, k0) }
	t.dequant = func(dst []float32, src []byte) { intDecodeNEON(l, dst, src, len(dst), 0) }
	t.gemmAct = nil // derived from gemvAct
}

// intDotActFrom continues the generic dotAct of l (format_int.go) from the
// group starting at value k0 (activation byte xo) with the running sum:
// the same operations in the same order.
func intDotActFrom(l intLayout, w, xq []byte, n, k0, xo int, sum float32) float32 {
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

// intDotFrom is the generic weight-only dot of l over the groups from value
// k0 on.
func intDotFrom(l intLayout, w []byte, x []float32, k0 int) float32 {
	n := len(x)
	g := l.gsize(n)
	var sum float32
	for ; k0 < n; k0 += g {
		m := min(g, n-k0)
		b := w[k0/g*l.groupBytes(g):]
		p := b[l.hdr():]
		var s, sx float32
		for j, v := range x[k0 : k0+m] {
			s += float32(l.weight(p, m, j)) * v
			sx += v
		}
		sum += float32(f32le(b) * s)
		if l.asym {
			sum += float32(f32le(b[4:]) * sx)
		}
	}
	return sum
}

// A decodeRun kernel decodes n (multiple of 16) values from consecutive
// payload bytes.
type decodeRun func(dst *float32, p *byte, n int, d float32, lo float32)

// intDecodeNEON is the decode hook: values k0 … k0+len(dst)−1 of a row of n
// values, as l.decode, each group's values taken as one or two runs of
// payload bytes (int8 bytes; the low then the high nibbles of int4).
func intDecodeNEON(l intLayout, dst []float32, row []byte, n, k0 int) {
	if len(dst) == 0 {
		return
	}
	g := l.gsize(n)
	full := l.groupBytes(g)
	for len(dst) > 0 {
		gi := k0 / g
		off := k0 - gi*g
		m := min(g, n-gi*g)
		b := row[gi*full:]
		d := f32le(b)
		var lo float32
		if l.asym {
			lo = f32le(b[4:])
		}
		p := b[l.hdr():]
		cnt := min(len(dst), m-off)
		if l.bits == 8 {
			l.decodeRun(dst[:cnt], p[off:off+cnt], 0, d, lo)
		} else {
			h := (m + 1) / 2
			if off < h {
				c := min(cnt, h-off)
				l.decodeRun(dst[:c], p[off:off+c], 1, d, lo)
			}
			if off+cnt > h {
				s := max(off, h)
				c := off + cnt - s
				l.decodeRun(dst[s-off:s-off+c], p[s-h:s-h+c], 2, d, lo)
			}
		}
		dst = dst[cnt:]
		k0 += cnt
	}
}

// decodeRun decodes len(dst) values from the bytes p: part 0 whole bytes
// (int8), 1 low nibbles, 2 high nibbles.
func (l intLayout) decodeRun(dst []float32, p []byte, part int, d, lo float32) {
	n := len(dst)
	p = p[:n]
	kernels := [2][3]decodeRun{
		{decodeI8SNEON, decodeI4SLoNEON, decodeI4SHiNEON},
		{decodeI8ANEON, decodeI4ALoNEON, decodeI4AHiNEON},
	}
	asym := 0
	if l.asym {
		asym = 1
	}
	m := n &^ 15
	if m > 0 {
		kernels[asym][part](&dst[0], &p[0], m, d, lo)
	}
	for i := m; i < n; i++ {
		var w int32
		switch {
		case part == 0 && l.asym:
			w = int32(p[i])
		case part == 0:
			w = int32(int8(p[i]))
		case part == 1:
			w = int32(p[i] & 0x0f)
		default:
			w = int32(p[i] >> 4)
		}
		if part != 0 && !l.asym {
			w -= 8
		}
		if l.asym {
			dst[i] = float32(d*float32(w)) + lo
		} else {
			dst[i] = d * float32(w)
		}
	}
}
