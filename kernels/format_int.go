package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
)

// divergo's int formats (docs/FORMATS.md §int): a row of n values splits
// into groups of G consecutive values (the last group holds n mod G when G
// does not divide n; G = 0 means one group per row). A group of m values is
//
//	d float32 LE, [lo float32 LE if asym], payload
//
// with an int8 (sym) or uint8 (asym) per value for 8 bits, and for 4, 3 and
// 2 bits h = ⌈m/2⌉ bytes of nibbles u: byte j holds value j in its low
// nibble and value j+h in its high nibble. sym decodes x = d·(u−8) (int8:
// d·q), asym x = d·u + lo.
//
// W·A8 activations for the int formats ("act8"): each weight group is cut
// into blocks of 32 values from its start (the last block of a group may be
// shorter), so every block lies inside one weight group. A block of l values
// is
//
//	d float32 LE, s int32 LE (= Σq), q[l] int8
//
// with d = max|x|/127 and q = roundf(x·(1/d)) as ggml's q8_0 but with a
// float32 scale. The dot of a group is then
// d_w·Σ_b d_b·Σ q_w·q_x (+ lo·Σ_b d_b·s_b for asym), every inner sum an
// integer.

// intLayout holds the parameters of one int format.
type intLayout struct {
	bits  int  // 8, 4, 3 or 2
	group int  // G, 0 = per row
	asym  bool // per-group offset
}

// IntFormat returns divergo's int format with bits ∈ {8, 4, 3, 2} per value,
// groups of group values along a row (0 = one group per row; a group of at
// least the row length is the same) and symmetric or asymmetric (offset)
// rounding. Formats are made once per parameter set and shared. IntFormat
// panics on other parameters; FormatByName validates user input.
func IntFormat(bits, group int, asym bool) *Format {
	if bits != 8 && bits != 4 && bits != 3 && bits != 2 {
		panic(fmt.Sprintf("kernels: IntFormat: bits %d not in {8, 4, 3, 2}", bits))
	}
	if group < 0 {
		panic(fmt.Sprintf("kernels: IntFormat: negative group %d", group))
	}
	key := intKey{bits, group, asym}
	isaMu.Lock()
	defer isaMu.Unlock()
	intMu.Lock()
	f := intFormats[key]
	if f != nil {
		intMu.Unlock()
		return f
	}
	act, newAct := intActs[group], false
	if act == nil {
		act, newAct = newAct8(group), true
		intActs[group] = act
	}
	f = newIntFormat(intLayout{bits, group, asym}, act)
	intFormats[key] = f
	intMu.Unlock()
	if newAct {
		act.install(currentISA)
	}
	f.install(currentISA)
	return f
}

func newIntFormat(l intLayout, act *ActFormat) *Format {
	name := fmt.Sprintf("int%d:g%d", l.bits, l.group)
	if l.group == 0 {
		name = fmt.Sprintf("int%d:row", l.bits)
	}
	bitsPer := float64(l.bits)
	if l.group > 0 {
		bitsPer += float64(8*l.hdr()) / float64(l.group)
	}
	if l.asym {
		name += ":asym"
	}
	family := "int4"
	if l.bits == 8 {
		family = "int8"
	}
	f := &Format{
		Name: name, GGML: -1, Block: l.group, Bits: bitsPer,
		RowBytes: l.rowBytes,
		Act:      act,
		family:   family, bits: l.bits, group: l.group, asym: l.asym,
		generic: formatTable{
			dequant: func(dst []float32, src []byte) { l.decode(dst, src, len(dst), 0) },
			decode:  l.decode,
			dot:     l.dot,
			dotAct:  l.dotAct,
		},
	}
	if l.group > 0 {
		f.BlockBytes = l.groupBytes(l.group)
	}
	return f
}

// hdr is the bytes of a group header: d, and lo for asym.
func (l intLayout) hdr() int {
	if l.asym {
		return 8
	}
	return 4
}

// groupBytes is the size of a group of m values.
func (l intLayout) groupBytes(m int) int {
	if l.bits == 8 {
		return l.hdr() + m
	}
	return l.hdr() + (m+1)/2
}

// gsize is the group size used for rows of n values.
func (l intLayout) gsize(n int) int {
	if l.group == 0 || l.group > n {
		return n
	}
	return l.group
}

func (l intLayout) rowBytes(n int) int {
	if n == 0 {
		return 0
	}
	g := l.gsize(n)
	b := n / g * l.groupBytes(g)
	if t := n % g; t > 0 {
		b += l.groupBytes(t)
	}
	return b
}

// value returns the stored integer of value j of a group of m values with
// payload p: q (int8, sym), u (uint8, asym), or the nibble u.
func (l intLayout) value(p []byte, m, j int) int32 {
	if l.bits == 8 {
		if l.asym {
			return int32(p[j])
		}
		return int32(int8(p[j]))
	}
	h := (m + 1) / 2
	if j < h {
		return int32(p[j] & 0x0f)
	}
	return int32(p[j-h] >> 4)
}

// weight returns the integer w_j with x̂_j = d·w_j (+ lo): q for sym
// (nibbles: u−8), u for asym.
func (l intLayout) weight(p []byte, m, j int) int32 {
	v := l.value(p, m, j)
	if l.bits != 8 && !l.asym {
		v -= 8
	}
	return v
}

// decode writes values k0 … k0+len(dst)-1 of a row of n values.
func (l intLayout) decode(dst []float32, row []byte, n, k0 int) {
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
		for i := range dst[:cnt] {
			w := float32(l.weight(p, m, off+i))
			if l.asym {
				dst[i] = float32(d*w) + lo
			} else {
				dst[i] = d * w
			}
		}
		dst = dst[cnt:]
		k0 += cnt
	}
}

// dot is the reference int·f32 dot: per group, s = Σ w_j·x_j (and Σ x_j for
// asym) in float32 in value order, then sum += d·s (+ lo·Σx).
func (l intLayout) dot(w []byte, x []float32) float32 {
	n := len(x)
	if n == 0 {
		return 0
	}
	g := l.gsize(n)
	var sum float32
	for k0 := 0; k0 < n; k0 += g {
		m := min(g, n-k0)
		b := w[k0/g*l.groupBytes(g):]
		p := b[l.hdr():]
		xg := x[k0 : k0+m]
		var s, sx float32
		for j, v := range xg {
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

// dotAct is the reference int·act8 dot (see the package comment of this file).
func (l intLayout) dotAct(w, xq []byte, n int) float32 {
	if n == 0 {
		return 0
	}
	g := l.gsize(n)
	var sum float32
	xo := 0
	for k0 := 0; k0 < n; k0 += g {
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

// newAct8 makes the activation format of the int formats with group size G.
func newAct8(group int) *ActFormat {
	l := intLayout{bits: 8, group: group}
	name := fmt.Sprintf("act8:g%d", group)
	if group == 0 {
		name = "act8:row"
	}
	return &ActFormat{
		Name:     name,
		RowBytes: l.actRowBytes,
		family:   "act8",
		group:    group,
		generic:  l.actQuantize,
		dequant:  l.actDequant,
	}
}

func (l intLayout) actRowBytes(n int) int {
	if n == 0 {
		return 0
	}
	g := l.gsize(n)
	grp := func(m int) int { return 8*((m+31)/32) + m }
	b := n / g * grp(g)
	if t := n % g; t > 0 {
		b += grp(t)
	}
	return b
}

// actQuantize writes the act8 form of x (see the file comment).
func (l intLayout) actQuantize(dst []byte, x []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	g := l.gsize(n)
	o := 0
	for k0 := 0; k0 < n; k0 += g {
		m := min(g, n-k0)
		for b0 := 0; b0 < m; b0 += 32 {
			xb := x[k0+b0 : k0+b0+min(32, m-b0)]
			y := dst[o : o+8+len(xb)]
			o += 8 + len(xb)
			d := amax32(xb) / 127
			var id float32
			if d != 0 {
				id = 1 / d
			}
			var s int32
			for i, v := range xb {
				q := int8(roundAway(v * id))
				y[8+i] = byte(q)
				s += int32(q)
			}
			binary.LittleEndian.PutUint32(y, math.Float32bits(d))
			binary.LittleEndian.PutUint32(y[4:], uint32(s))
		}
	}
}

func (l intLayout) actDequant(dst []float32, src []byte, n int) {
	if n == 0 {
		return
	}
	g := l.gsize(n)
	o := 0
	for k0 := 0; k0 < n; k0 += g {
		m := min(g, n-k0)
		for b0 := 0; b0 < m; b0 += 32 {
			bl := min(32, m-b0)
			d := f32le(src[o:])
			for i := 0; i < bl; i++ {
				dst[k0+b0+i] = float32(int8(src[o+8+i])) * d
			}
			o += 8 + bl
		}
	}
}
