//go:build !noasm

package kernels

// Assembly bodies of divergo's int formats (containers int8 and int4, the
// latter also holding int3 and int2) for amd64: int_avx2_amd64.s (W·A8,
// four rows per pass) and int_avx512_amd64.s (decoder and weight-only dot
// through a code table, VNNI W·A8).
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

func installIntAVX2(f *Format, t *formatTable) {
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
