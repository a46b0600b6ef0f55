package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// intLayout is one of divergo's int formats (docs/FORMATS.md): B-bit
// round-to-nearest with a float32 scale (and, asym, a float32 offset) per
// group of G values of a row; G = 0 means one group per row. A ragged tail
// group holds the n mod G last values.
type intLayout struct {
	bits  int
	group int
	asym  bool
}

func (f intLayout) header() int {
	if f.asym {
		return 8
	}
	return 4
}

// blockBytes is the size of a group of m values.
func (f intLayout) blockBytes(m int) int {
	if f.bits == 8 {
		return f.header() + m
	}
	return f.header() + (m+1)/2
}

func (f intLayout) groupOf(n int) int {
	if f.group == 0 {
		return n
	}
	return f.group
}

// rowBytes is the size of a row of n values.
func (f intLayout) rowBytes(n int) int {
	if n == 0 {
		return 0
	}
	g := f.groupOf(n)
	b := n / g * f.blockBytes(g)
	if t := n % g; t > 0 {
		b += f.blockBytes(t)
	}
	return b
}

// roundAway rounds half away from zero.
func roundAway(x float32) int {
	return int(math.Round(float64(x)))
}

// quantRow quantizes one row. It fails only when an asymmetric group's
// range max−min overflows float32.
func (f intLayout) quantRow(dst []byte, x []float32) error {
	if len(x) == 0 {
		return nil
	}
	g := f.groupOf(len(x))
	for start := 0; start < len(x); start += g {
		xs := x[start:min(start+g, len(x))]
		n := f.blockBytes(len(xs))
		if err := f.quantGroup(dst[:n], xs); err != nil {
			return fmt.Errorf("column %d: %w", start, err)
		}
		dst = dst[n:]
	}
	return nil
}

func (f intLayout) quantGroup(b []byte, x []float32) error {
	// q holds the levels as stored: int8 q (sym B=8) or u (otherwise).
	var buf [256]int
	q := buf[:0]
	if len(x) > len(buf) {
		q = make([]int, len(x))
	}
	q = q[:len(x)]
	if !f.asym {
		qmax := 1<<(f.bits-1) - 1
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		d := amax / float32(qmax)
		binary.LittleEndian.PutUint32(b, math.Float32bits(d))
		for i, v := range x {
			l := 0
			if d != 0 {
				l = clampInt(roundAway(v/d), -qmax, qmax)
			}
			q[i] = l
		}
		if f.bits == 8 {
			for i, l := range q {
				b[4+i] = byte(int8(l))
			}
			return nil
		}
		for i := range q {
			q[i] += 8
		}
		packNibbles(b[4:], q)
		return nil
	}
	umax := 1<<f.bits - 1
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	d := (hi - lo) / float32(umax)
	if math.IsInf(float64(d), 0) {
		return fmt.Errorf("range %g…%g of an asymmetric group overflows float32", lo, hi)
	}
	binary.LittleEndian.PutUint32(b, math.Float32bits(d))
	binary.LittleEndian.PutUint32(b[4:], math.Float32bits(lo))
	for i, v := range x {
		u := 0
		if d != 0 {
			u = clampInt(roundAway((v-lo)/d), 0, umax)
		}
		q[i] = u
	}
	if f.bits == 8 {
		for i, u := range q {
			b[8+i] = byte(u)
		}
		return nil
	}
	packNibbles(b[8:], q)
	return nil
}

// packNibbles stores m 4-bit values in ⌈m/2⌉ bytes: byte j holds value j
// in its low nibble and value j+h in its high nibble (h = ⌈m/2⌉).
func packNibbles(dst []byte, u []int) {
	h := (len(u) + 1) / 2
	for j := 0; j < h; j++ {
		v := byte(u[j])
		if j+h < len(u) {
			v |= byte(u[j+h]) << 4
		}
		dst[j] = v
	}
}
