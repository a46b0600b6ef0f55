package quant

import (
	"encoding/binary"
	"math"
)

// Reference row decoders, written from ggml's dequantize_row_* (float32
// arithmetic in the same order) and from docs/FORMATS.md for the int
// formats: the independent reference the tests hold kernels' decoders to,
// themselves checked against llama.cpp's dequantized fixtures.

func f16At(b []byte) float32 { return f16ToF32(binary.LittleEndian.Uint16(b)) }

// referenceDecoders are the row decoders by kernels format family.
var referenceDecoders = map[string]func(dst []float32, src []byte){
	"f32": decodeF32, "f16": decodeF16, "bf16": decodeBF16,
	"q8_0": decodeQ8_0, "q4_0": decodeQ4_0, "q4_1": decodeQ4_1, "q5_0": decodeQ5_0, "q5_1": decodeQ5_1,
	"q2_k": decodeQ2K, "q3_k": decodeQ3K, "q4_k": decodeQ4K, "q5_k": decodeQ5K, "q6_k": decodeQ6K,
}

// referenceDecoder returns the reference row decoder of a spec's storage.
func referenceDecoder(s Spec) func(dst []float32, src []byte) {
	if s.IsPrune() {
		return decodeF32
	}
	if dec, ok := referenceDecoders[s.Format]; ok {
		return dec
	}
	f := lookupFormat(s.Format)
	return intLayout{bits: f.bits, group: s.Group, asym: s.Asym}.dequantRow
}

func decodeF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func decodeF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = f16At(src[2*i:])
	}
}

func decodeBF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = bf16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

func decodeQ8_0(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*34:], dst[i*qk:(i+1)*qk]
		d := f16At(b)
		for j := range y {
			y[j] = float32(int8(b[2+j])) * d
		}
	}
}

func decodeQ4_0(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*18:], dst[i*qk:(i+1)*qk]
		d := f16At(b)
		for j := 0; j < qk/2; j++ {
			y[j] = float32(int(b[2+j]&0xf)-8) * d
			y[j+qk/2] = float32(int(b[2+j]>>4)-8) * d
		}
	}
}

func decodeQ4_1(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*20:], dst[i*qk:(i+1)*qk]
		d, m := f16At(b), f16At(b[2:])
		for j := 0; j < qk/2; j++ {
			y[j] = float32(float32(b[4+j]&0xf)*d) + m
			y[j+qk/2] = float32(float32(b[4+j]>>4)*d) + m
		}
	}
}

func decodeQ5_0(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*22:], dst[i*qk:(i+1)*qk]
		d := f16At(b)
		qh := binary.LittleEndian.Uint32(b[2:])
		for j := 0; j < qk/2; j++ {
			h0 := byte(qh>>j<<4) & 0x10
			h1 := byte(qh>>(j+12)) & 0x10
			y[j] = float32(int(b[6+j]&0xf|h0)-16) * d
			y[j+qk/2] = float32(int(b[6+j]>>4|h1)-16) * d
		}
	}
}

func decodeQ5_1(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*24:], dst[i*qk:(i+1)*qk]
		d, m := f16At(b), f16At(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:])
		for j := 0; j < qk/2; j++ {
			h0 := byte(qh>>j<<4) & 0x10
			h1 := byte(qh>>(j+12)) & 0x10
			y[j] = float32(float32(b[8+j]&0xf|h0)*d) + m
			y[j+qk/2] = float32(float32(b[8+j]>>4|h1)*d) + m
		}
	}
}

func decodeQ2K(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*84:], dst[i*qkK:(i+1)*qkK]
		d, mn := f16At(b[80:]), f16At(b[82:])
		q := b[16:80]
		is := 0
		for n := 0; n < qkK; n += 128 {
			shift := uint(0)
			for j := 0; j < 4; j++ {
				for half := 0; half < 2; half++ {
					sc := b[is]
					is++
					dl, ml := float32(d*float32(sc&0xf)), float32(mn*float32(sc>>4))
					for l := 0; l < 16; l++ {
						y[0] = float32(dl*float32((q[l+16*half]>>shift)&3)) - ml
						y = y[1:]
					}
				}
				shift += 2
			}
			q = q[32:]
		}
	}
}

func decodeQ3K(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*110:], dst[i*qkK:(i+1)*qkK]
		d := f16At(b[108:])
		hm, q, raw := b[0:32], b[32:96], b[96:108]
		var scales [16]int
		for j := 0; j < 16; j++ {
			var s byte
			if j < 8 {
				s = raw[j] & 0xf
			} else {
				s = raw[j-8] >> 4
			}
			scales[j] = int(s|((raw[8+j%4]>>(2*(j/4)))&3)<<4) - 32
		}
		is, m := 0, byte(1)
		for n := 0; n < qkK; n += 128 {
			shift := uint(0)
			for j := 0; j < 4; j++ {
				for half := 0; half < 2; half++ {
					dl := float32(d * float32(scales[is]))
					is++
					for l := 0; l < 16; l++ {
						v := int((q[l+16*half] >> shift) & 3)
						if hm[l+16*half]&m == 0 {
							v -= 4
						}
						y[0] = dl * float32(v)
						y = y[1:]
					}
				}
				shift += 2
				m <<= 1
			}
			q = q[32:]
		}
	}
}

func decodeQ4K(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*144:], dst[i*qkK:(i+1)*qkK]
		d, mn := f16At(b), f16At(b[2:])
		sc, q := b[4:16], b[16:144]
		for j, is := 0, 0; j < qkK; j, is = j+64, is+2 {
			s1, m1 := scaleMinK4(is, sc)
			s2, m2 := scaleMinK4(is+1, sc)
			d1, n1 := float32(d*float32(s1)), float32(mn*float32(m1))
			d2, n2 := float32(d*float32(s2)), float32(mn*float32(m2))
			for l := 0; l < 32; l++ {
				y[j+l] = float32(d1*float32(q[l]&0xf)) - n1
				y[j+32+l] = float32(d2*float32(q[l]>>4)) - n2
			}
			q = q[32:]
		}
	}
}

func decodeQ5K(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*176:], dst[i*qkK:(i+1)*qkK]
		d, mn := f16At(b), f16At(b[2:])
		sc, qh, ql := b[4:16], b[16:48], b[48:176]
		u1, u2 := byte(1), byte(2)
		for j, is := 0, 0; j < qkK; j, is = j+64, is+2 {
			s1, m1 := scaleMinK4(is, sc)
			s2, m2 := scaleMinK4(is+1, sc)
			d1, n1 := float32(d*float32(s1)), float32(mn*float32(m1))
			d2, n2 := float32(d*float32(s2)), float32(mn*float32(m2))
			for l := 0; l < 32; l++ {
				v1, v2 := int(ql[l]&0xf), int(ql[l]>>4)
				if qh[l]&u1 != 0 {
					v1 += 16
				}
				if qh[l]&u2 != 0 {
					v2 += 16
				}
				y[j+l] = float32(d1*float32(v1)) - n1
				y[j+32+l] = float32(d2*float32(v2)) - n2
			}
			ql = ql[32:]
			u1 <<= 2
			u2 <<= 2
		}
	}
}

func decodeQ6K(dst []float32, src []byte) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*210:], dst[i*qkK:(i+1)*qkK]
		d := f16At(b[208:])
		ql, qh, sc := b[0:128], b[128:192], b[192:208]
		for n := 0; n < qkK; n += 128 {
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int(ql[l]&0xf|((qh[l]>>0)&3)<<4) - 32
				q2 := int(ql[l+32]&0xf|((qh[l]>>2)&3)<<4) - 32
				q3 := int(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
				q4 := int(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
				y[n+l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				y[n+l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				y[n+l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				y[n+l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
			ql, qh, sc = ql[64:], qh[32:], sc[8:]
		}
	}
}

// dequantRow decodes one row of n = len(dst) values.
func (f intLayout) dequantRow(dst []float32, src []byte) {
	if len(dst) == 0 {
		return
	}
	g := f.groupOf(len(dst))
	for start := 0; start < len(dst); start += g {
		out := dst[start:min(start+g, len(dst))]
		m := len(out)
		b := src[:f.blockBytes(m)]
		src = src[len(b):]
		d := math.Float32frombits(binary.LittleEndian.Uint32(b))
		var lo float32
		p := b[4:]
		if f.asym {
			lo = math.Float32frombits(binary.LittleEndian.Uint32(b[4:]))
			p = b[8:]
		}
		h := (m + 1) / 2
		for i := range out {
			var u int
			switch {
			case f.bits == 8 && !f.asym:
				u = int(int8(p[i]))
			case f.bits == 8:
				u = int(p[i])
			case i < h:
				u = int(p[i] & 0xf)
			default:
				u = int(p[i-h] >> 4)
			}
			if f.asym {
				out[i] = float32(d*float32(u)) + lo
			} else {
				if f.bits != 8 {
					u -= 8
				}
				out[i] = d * float32(u)
			}
		}
	}
}
