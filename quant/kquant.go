package quant

import "math"

// Ports of ggml's reference k-quant quantizers (quantize_row_q2_K_ref …
// quantize_row_q6_K_ref and their search helpers make_qkx2_quants,
// make_qx_quants, make_q3_quants in ggml/src/ggml-quants.c), the path
// llama-quantize takes without an importance matrix. Float32 arithmetic in
// ggml's order; see ggml.go on the float32(…) conversions.

const qkK = 256 // values per k-quant super-block

// groupMaxEps is ggml's GROUP_MAX_EPS: a group below it counts as all zero.
const groupMaxEps = 1e-15

// nearestInt rounds to the nearest integer, ties to even, with ggml's
// trick of adding 1.5·2^23 (valid for |x| ≤ 2^22, as in ggml).
func nearestInt(x float32) int {
	v := float32(x) + 12582912
	return int(int32(math.Float32bits(v))&0x007fffff) - 0x00400000
}

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// makeQKX2 is make_qkx2_quants: an affine fit x ≈ scale·L − min with L in
// 0…nmax, trying nstep+1 scales around nmax/(max−min) and keeping the one
// of least weighted error (absolute error when useMad). It returns the
// scale and the min (≥ 0, to be subtracted).
func makeQKX2(nmax int, x, weights []float32, L, Laux []uint8, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	n := len(x)
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < lo {
			lo = x[i]
		}
		if x[i] > hi {
			hi = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0, -lo
	}
	iscale := float32(nmax) / (hi - lo)
	scale = 1 / iscale
	var bestError float32
	for i := 0; i < n; i++ {
		l := nearestInt(float32(iscale * (x[i] - lo)))
		L[i] = uint8(clampInt(l, 0, nmax))
		diff := float32(scale*float32(L[i])) + lo - x[i]
		if useMad {
			diff = abs32(diff)
		} else {
			diff = float32(diff * diff)
		}
		bestError += float32(weights[i] * diff)
	}
	if nstep < 1 {
		return scale, -lo
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + float32(nmax)) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			l := clampInt(nearestInt(float32(iscale*(x[i]-lo))), 0, nmax)
			Laux[i] = uint8(l)
			w := weights[i]
			wl := float32(w * float32(l))
			sumL += wl
			sumL2 += float32(wl * float32(l))
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curError float32
			for i := 0; i < n; i++ {
				diff := float32(thisScale*float32(Laux[i])) + thisMin - x[i]
				if useMad {
					diff = abs32(diff)
				} else {
					diff = float32(diff * diff)
				}
				curError += float32(weights[i] * diff)
			}
			if curError < bestError {
				copy(L[:n], Laux[:n])
				bestError = curError
				scale = thisScale
				lo = thisMin
			}
		}
	}
	return scale, -lo
}

// makeQX is make_qx_quants with rmse_type 1 and no importance weights
// (weights x²): a symmetric fit x ≈ scale·(L − nmax), L in 0…2·nmax−1,
// searching 18 scales around nmax/max.
func makeQX(nmax int, x []float32, L []int8) float32 {
	n := len(x)
	var mx, amax float32
	for i := 0; i < n; i++ {
		if ax := abs32(x[i]); ax > amax {
			amax, mx = ax, x[i]
		}
	}
	if amax < groupMaxEps {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0
	}
	sums := func(iscale float32, store bool) (sumlx, suml2 float32) {
		for i := 0; i < n; i++ {
			l := clampInt(nearestInt(float32(iscale*x[i])), -nmax, nmax-1)
			if store {
				L[i] = int8(l + nmax)
			}
			w := float32(x[i] * x[i])
			sumlx += float32(float32(w*x[i]) * float32(l))
			suml2 += float32(float32(w*float32(l)) * float32(l))
		}
		return sumlx, suml2
	}
	iscale := float32(-nmax) / mx
	sumlx, suml2 := sums(iscale, true)
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := float32(scale * sumlx)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(float32(0.1)*float32(is))) / mx
		sumlx, suml2 = sums(iscale, false)
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i := 0; i < n; i++ {
				l := nearestInt(float32(iscale * x[i]))
				L[i] = int8(nmax + clampInt(l, -nmax, nmax-1))
			}
			scale = sumlx / suml2
			best = float32(scale * sumlx)
		}
	}
	return scale
}

// makeQ3 is make_q3_quants with do_rmse: a symmetric fit with L in
// −nmax…nmax−1 (stored + nmax), refined by coordinate descent on the
// x²-weighted error.
func makeQ3(nmax int, x []float32, L []int8) float32 {
	n := len(x)
	var mx, amax float32
	for i := 0; i < n; i++ {
		if ax := abs32(x[i]); ax > amax {
			amax, mx = ax, x[i]
		}
	}
	if amax < groupMaxEps {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0
	}
	iscale := float32(-nmax) / mx
	var sumlx, suml2 float32
	for i := 0; i < n; i++ {
		l := clampInt(nearestInt(float32(iscale*x[i])), -nmax, nmax-1)
		L[i] = int8(l)
		w := float32(x[i] * x[i])
		sumlx += float32(float32(w*x[i]) * float32(l))
		suml2 += float32(float32(w*float32(l)) * float32(l))
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i := 0; i < n; i++ {
			w := float32(x[i] * x[i])
			li := float32(L[i])
			slx := sumlx - float32(float32(w*x[i])*li)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*li)*li)
				newL := clampInt(nearestInt(float32(x[i]*sl2)/slx), -nmax, nmax-1)
				if newL != int(L[i]) {
					nl := float32(newL)
					slx += float32(float32(w*x[i]) * nl)
					sl2 += float32(float32(w*nl) * nl)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = int8(newL)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := 0; i < n; i++ {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// scaleMinK4 is get_scale_min_k4: the 6-bit scale and min of sub-block j
// from the 12-byte packing of q4_K/q5_K.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// packScalesK4 stores eight 6-bit scales and mins in 12 bytes (the inverse
// of scaleMinK4).
func packScalesK4(dst []byte, ls, lm *[8]uint8) {
	for j := 0; j < 8; j++ {
		if j < 4 {
			dst[j] = ls[j]
			dst[j+4] = lm[j]
		} else {
			dst[j+4] = ls[j]&0xf | (lm[j]&0xf)<<4
			dst[j-4] |= (ls[j] >> 4) << 6
			dst[j] |= (lm[j] >> 4) << 6
		}
	}
}

// affineK quantizes one 256-value super-block of q4_K (nmax 15) or q5_K
// (nmax 31): eight 32-value sub-blocks fitted with makeQKX2, their scales
// and mins quantized to 6 bits against fp16 super-scales d and dmin, then
// every value re-quantized against the stored scales. It fills the
// d, dmin, scales[12] header (16 bytes) and returns the levels in L.
func affineK(hdr []byte, x []float32, L *[qkK]uint8, nmax int, rmin, rdelta float32, nstep int) {
	var (
		weights      [32]float32
		Laux         [32]uint8
		scales, mins [8]float32
	)
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2(nmax, xs, weights[:], L[32*j:32*j+32], Laux[:], rmin, rdelta, nstep, false)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	var ls, lm [8]uint8
	for j := 0; j < 8; j++ {
		ls[j] = min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm[j] = min(63, uint8(nearestInt(float32(invMin*mins[j]))))
	}
	sc := hdr[4:16]
	clear(sc)
	packScalesK4(sc, &ls, &lm)
	putF16(hdr, maxScale/63)
	putF16(hdr[2:], maxMin/63)
	d := getF16(hdr)
	dmin := getF16(hdr[2:])
	for j := 0; j < 8; j++ {
		s, m := scaleMinK4(j, sc)
		dj := float32(d * float32(s))
		if dj == 0 {
			continue
		}
		dm := float32(dmin * float32(m))
		for ii := 0; ii < 32; ii++ {
			l := nearestInt((x[32*j+ii] + dm) / dj)
			L[32*j+ii] = uint8(clampInt(l, 0, nmax))
		}
	}
}

// quantRowQ4K is quantize_row_q4_K_ref. Block: d, dmin (fp16), scales[12], qs[128].
func quantRowQ4K(dst []byte, x []float32) {
	var L [qkK]uint8
	for i := 0; i < len(x)/qkK; i++ {
		xb, b := x[i*qkK:(i+1)*qkK], dst[i*144:(i+1)*144]
		affineK(b[:16], xb, &L, 15, -1, 0.1, 20)
		q := b[16:]
		for j := 0; j < qkK; j += 64 {
			for l := 0; l < 32; l++ {
				q[l] = L[j+l] | L[j+l+32]<<4
			}
			q = q[32:]
		}
	}
}

// quantRowQ5K is quantize_row_q5_K_ref. Block: d, dmin, scales[12], qh[32], qs[128].
func quantRowQ5K(dst []byte, x []float32) {
	var L [qkK]uint8
	for i := 0; i < len(x)/qkK; i++ {
		xb, b := x[i*qkK:(i+1)*qkK], dst[i*176:(i+1)*176]
		affineK(b[:16], xb, &L, 31, -0.5, 0.1, 15)
		qh, ql := b[16:48], b[48:176]
		clear(qh)
		m1, m2 := uint8(1), uint8(2)
		for n := 0; n < qkK; n += 64 {
			for j := 0; j < 32; j++ {
				l1, l2 := L[n+j], L[n+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[j] = l1 | l2<<4
			}
			m1 <<= 2
			m2 <<= 2
			ql = ql[32:]
		}
	}
}

// quantRowQ6K is quantize_row_q6_K_ref. Block: ql[128], qh[64], scales[16] int8, d (fp16).
func quantRowQ6K(dst []byte, x []float32) {
	var (
		L      [qkK]int8
		scales [16]float32
	)
	for i := 0; i < len(x)/qkK; i++ {
		xb, b := x[i*qkK:(i+1)*qkK], dst[i*210:(i+1)*210]
		var maxScale, maxAbsScale float32
		for ib := 0; ib < 16; ib++ {
			s := makeQX(32, xb[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if as := abs32(s); as > maxAbsScale {
				maxAbsScale, maxScale = as, s
			}
		}
		clear(b)
		if maxAbsScale < groupMaxEps {
			continue
		}
		iscale := -128 / maxScale
		putF16(b[208:], 1/iscale)
		sc := b[192:208]
		for ib := 0; ib < 16; ib++ {
			sc[ib] = byte(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
		}
		d0 := getF16(b[208:])
		for j := 0; j < 16; j++ {
			d := float32(d0 * float32(int8(sc[j])))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := clampInt(nearestInt(xb[16*j+ii]/d), -32, 31)
				L[16*j+ii] = int8(l + 32)
			}
		}
		ql, qh := b[0:128], b[128:192]
		for j := 0; j < qkK; j += 128 {
			for l := 0; l < 32; l++ {
				q1, q2 := uint8(L[j+l]), uint8(L[j+l+32])
				q3, q4 := uint8(L[j+l+64]), uint8(L[j+l+96])
				ql[l] = q1&0xf | (q3&0xf)<<4
				ql[l+32] = q2&0xf | (q4&0xf)<<4
				qh[l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
			}
			ql = ql[64:]
			qh = qh[32:]
		}
	}
}

// pack2 stores 2-bit levels as q2_K and q3_K do: byte l of each 32-byte
// chunk holds values l, l+32, l+64, l+96 of a 128-value half.
func pack2(qs []byte, L []uint8) {
	for j := 0; j < qkK; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

// quantRowQ2K is quantize_row_q2_K_ref. Block: scales[16] (4-bit scale |
// 4-bit min << 4), qs[64], d, dmin (fp16).
func quantRowQ2K(dst []byte, x []float32) {
	var (
		L            [qkK]uint8
		Laux         [16]uint8
		weights      [16]float32
		scales, mins [16]float32
	)
	for i := 0; i < len(x)/qkK; i++ {
		xb, b := x[i*qkK:(i+1)*qkK], dst[i*84:(i+1)*84]
		var maxScale, maxMin float32
		for j := 0; j < 16; j++ {
			xs := xb[16*j : 16*j+16]
			for l, v := range xs {
				weights[l] = abs32(v)
			}
			scales[j], mins[j] = makeQKX2(3, xs, weights[:], L[16*j:16*j+16], Laux[:], -0.5, 0.1, 15, true)
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		sc := b[0:16]
		if maxScale > 0 {
			iscale := 15 / maxScale
			for j := 0; j < 16; j++ {
				sc[j] = uint8(nearestInt(float32(iscale * scales[j])))
			}
			putF16(b[80:], maxScale/15)
		} else {
			clear(sc)
			putF16(b[80:], 0)
		}
		if maxMin > 0 {
			iscale := 15 / maxMin
			for j := 0; j < 16; j++ {
				sc[j] |= uint8(nearestInt(float32(iscale*mins[j])) << 4)
			}
			putF16(b[82:], maxMin/15)
		} else {
			putF16(b[82:], 0)
		}
		d0 := getF16(b[80:])
		m0 := getF16(b[82:])
		for j := 0; j < 16; j++ {
			d := float32(d0 * float32(sc[j]&0xf))
			if d == 0 {
				continue
			}
			dm := float32(m0 * float32(sc[j]>>4))
			for ii := 0; ii < 16; ii++ {
				l := nearestInt((xb[16*j+ii] + dm) / d)
				L[16*j+ii] = uint8(clampInt(l, 0, 3))
			}
		}
		pack2(b[16:80], L[:])
	}
}

// quantRowQ3K is quantize_row_q3_K_ref. Block: hmask[32], qs[64],
// scales[12] (sixteen 6-bit scales), d (fp16).
func quantRowQ3K(dst []byte, x []float32) {
	var (
		L      [qkK]int8
		scales [16]float32
		U      [qkK]uint8
	)
	for i := 0; i < len(x)/qkK; i++ {
		xb, b := x[i*qkK:(i+1)*qkK], dst[i*110:(i+1)*110]
		var maxScale, amax float32
		for j := 0; j < 16; j++ {
			scales[j] = makeQ3(4, xb[16*j:16*j+16], L[16*j:16*j+16])
			if s := abs32(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		sc := b[96:108]
		clear(sc)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < 16; j++ {
				l := int8(nearestInt(float32(iscale * scales[j])))
				l = int8(clampInt(int(l), -32, 31) + 32)
				if j < 8 {
					sc[j] = byte(l) & 0xf
				} else {
					sc[j-8] |= (byte(l) & 0xf) << 4
				}
				l >>= 4
				sc[j%4+8] |= byte(l) << (2 * (j / 4))
			}
			putF16(b[108:], 1/iscale)
		} else {
			putF16(b[108:], 0)
		}
		d0 := getF16(b[108:])
		for j := 0; j < 16; j++ {
			var s int8
			if j < 8 {
				s = int8(sc[j] & 0xf)
			} else {
				s = int8(sc[j-8] >> 4)
			}
			s = int8(uint8(s)|((sc[8+j%4]>>(2*(j/4)))&3)<<4) - 32
			d := float32(d0 * float32(s))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := clampInt(nearestInt(xb[16*j+ii]/d), -4, 3)
				L[16*j+ii] = int8(l + 4)
			}
		}
		hmask := b[0:32]
		clear(hmask)
		m, hm := 0, uint8(1)
		for j := 0; j < qkK; j++ {
			U[j] = uint8(L[j])
			if U[j] > 3 {
				hmask[m] |= hm
				U[j] -= 4
			}
			if m++; m == qkK/8 {
				m, hm = 0, hm<<1
			}
		}
		pack2(b[32:96], U[:])
	}
}
