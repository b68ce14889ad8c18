package quant

import (
	"encoding/binary"
	"math"

	"github.com/loomml/loom/internal/kernels"
)

// The k-quant super-blocks of ggml-common.h, 256 values each:
//
//	Q2_K (84 B):  scales[16] (low nibble scale, high nibble min, per 16 values), qs[64] (2 bits), d f16, dmin f16
//	Q3_K (110 B): hmask[32] (high bit), qs[64] (low 2 bits), scales[12] (16 6-bit scales), d f16
//	Q4_K (144 B): d f16, dmin f16, scales[12] (8 6-bit scales and 8 6-bit mins), qs[128] (nibbles)
//	Q5_K (176 B): d f16, dmin f16, scales[12], qh[32] (fifth bits), qs[128]
//	Q6_K (210 B): ql[128] (low nibbles), qh[64] (high 2 bits), scales[16] int8, d f16
//	Q8_K (292 B): d float32, qs[256] int8, bsums[16] int16 (sums of 16 qs)

// groupMaxEps is ggml-quants.c's GROUP_MAX_EPS: groups whose largest
// magnitude is below it quantise to zero.
const groupMaxEps = 1e-15

// signedMax is the start of make_qx_quants and make_q3_quants: the value of
// x[:n] with the largest magnitude (the first of equals), or false, with
// L[:n] zeroed, when that magnitude is below GROUP_MAX_EPS.
func signedMax(n int, x []float32, L []int8) (float32, bool) {
	var mx, amax float32
	for i := 0; i < n; i++ {
		if ax := absf(x[i]); ax > amax {
			amax, mx = ax, x[i]
		}
	}
	if amax < groupMaxEps {
		for i := 0; i < n; i++ {
			L[i] = 0
		}
		return 0, false
	}
	return mx, true
}

// makeQXQuants is ggml's make_qx_quants with rmse_type 1 and no importance
// weights (the only way the _ref quantisers call it): L gets values in
// [0, 2·nmax) and the return value is the scale, chosen among 19 trial
// inverse scales −(nmax+0.1·is)/max by weighted (w = x²) least squares.
func makeQXQuants(n, nmax int, x []float32, L []int8) float32 {
	mx, ok := signedMax(n, x, L)
	if !ok {
		return 0
	}
	iscale := float32(-nmax) / mx
	var sumlx, suml2 float32
	for i := 0; i < n; i++ {
		l := clampInt(nearestInt(float32(iscale*x[i])), -nmax, nmax-1)
		L[i] = int8(l + nmax)
		w := float32(x[i] * x[i])
		fl := float32(l)
		sumlx += float32(float32(w*x[i]) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := float32(scale * sumlx)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / mx
		sumlx, suml2 = 0, 0
		for i := 0; i < n; i++ {
			l := clampInt(nearestInt(float32(iscale*x[i])), -nmax, nmax-1)
			w := float32(x[i] * x[i])
			fl := float32(l)
			sumlx += float32(float32(w*x[i]) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
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

// makeQ3Quants is ggml's make_q3_quants with do_rmse (as quantize_row_q3_K_ref
// calls it): start from the nearest levels of −nmax/max, then up to 5 passes
// moving single values to the level that raises (Σw·x·l)²/Σw·l² (w = x²).
// L gets values in [0, 2·nmax); the return value is the scale.
func makeQ3Quants(n, nmax int, x []float32, L []int8) float32 {
	mx, ok := signedMax(n, x, L)
	if !ok {
		return 0
	}
	iscale := float32(-nmax) / mx
	var sumlx, suml2 float32
	for i := 0; i < n; i++ {
		l := clampInt(nearestInt(float32(iscale*x[i])), -nmax, nmax-1)
		L[i] = int8(l)
		w := float32(x[i] * x[i])
		fl := float32(l)
		sumlx += float32(float32(w*x[i]) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i := 0; i < n; i++ {
			w := float32(x[i] * x[i])
			li := float32(L[i])
			slx := sumlx - float32(float32(w*x[i])*li)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*li)*li)
				nl := clampInt(nearestInt(float32(x[i]*sl2)/slx), -nmax, nmax-1)
				if nl != int(L[i]) {
					fn := float32(nl)
					slx += float32(float32(w*x[i]) * fn)
					sl2 += float32(float32(w*fn) * fn)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = int8(nl)
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

// makeQKX2Quants is ggml's make_qkx2_quants: an asymmetric quantisation
// x ≈ scale·L − theMin with L in [0, nmax], min clamped to ≤ 0, searching
// nstep+1 inverse scales (rmin + rdelta·is + nmax)/(max − min) for the least
// weighted error (absolute if useMAD, else squared), each with the
// least-squares scale and min for its levels.
func makeQKX2Quants(n, nmax int, x, weights []float32, L, Laux []uint8, rmin, rdelta float32, nstep int, useMAD bool) (scale, theMin float32) {
	mn, mx := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < mn {
			mn = x[i]
		}
		if x[i] > mx {
			mx = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if mn > 0 {
		mn = 0
	}
	if mx == mn {
		for i := 0; i < n; i++ {
			L[i] = 0
		}
		return 0, -mn
	}
	errOf := func(diff float32) float32 {
		if useMAD {
			return absf(diff)
		}
		return float32(diff * diff)
	}
	iscale := float32(nmax) / (mx - mn)
	scale = 1 / iscale
	var bestErr float32
	for i := 0; i < n; i++ {
		l := nearestInt(float32(iscale * (x[i] - mn)))
		L[i] = uint8(clampInt(l, 0, nmax))
		diff := float32(float32(scale*float32(L[i]))+mn) - x[i]
		bestErr += float32(weights[i] * errOf(diff))
	}
	if nstep < 1 {
		return scale, -mn
	}
	for is := 0; is <= nstep; is++ {
		iscale = (float32(rmin+float32(rdelta*float32(is))) + float32(nmax)) / (mx - mn)
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			l := clampInt(nearestInt(float32(iscale*(x[i]-mn))), 0, nmax)
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
			var cur float32
			for i := 0; i < n; i++ {
				diff := float32(float32(thisScale*float32(Laux[i]))+thisMin) - x[i]
				cur += float32(weights[i] * errOf(diff))
			}
			if cur < bestErr {
				copy(L[:n], Laux[:n])
				bestErr = cur
				scale = thisScale
				mn = thisMin
			}
		}
	}
	return scale, -mn
}

// pack2 stores 2-bit levels L[0:256] the way Q2_K and Q3_K do: byte l of
// each 32-byte half holds values l, l+32, l+64, l+96 of its 128.
func pack2(L []uint8, qs []byte) {
	for j := 0; j < QK; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

// quantQ2K is quantize_row_q2_K_ref for one super-block.
func quantQ2K(x []float32, b []byte) {
	var L [QK]uint8
	var weights [16]float32
	var laux [16]uint8
	var mins, scales [16]float32
	const q4scale = 15
	var maxScale, maxMin float32
	for j := 0; j < 16; j++ {
		for l := 0; l < 16; l++ {
			weights[l] = absf(x[16*j+l])
		}
		scales[j], mins[j] = makeQKX2Quants(16, 3, x[16*j:], weights[:], L[16*j:], laux[:], -0.5, 0.1, 15, true)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	sc := b[0:16]
	if maxScale > 0 {
		iscale := q4scale / maxScale
		for j := 0; j < 16; j++ {
			sc[j] = uint8(nearestInt(float32(iscale * scales[j])))
		}
		putF16(b[80:], maxScale/q4scale)
	} else {
		clear(sc)
		putF16(b[80:], 0)
	}
	if maxMin > 0 {
		iscale := q4scale / maxMin
		for j := 0; j < 16; j++ {
			sc[j] |= uint8(nearestInt(float32(iscale*mins[j])) << 4)
		}
		putF16(b[82:], maxMin/q4scale)
	} else {
		putF16(b[82:], 0)
	}
	dAll, dMin := f16(b[80:]), f16(b[82:])
	for j := 0; j < 16; j++ {
		d := float32(dAll * float32(sc[j]&0xF))
		if d == 0 {
			continue
		}
		dm := float32(dMin * float32(sc[j]>>4))
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = uint8(clampInt(nearestInt((x[16*j+ii]+dm)/d), 0, 3))
		}
	}
	pack2(L[:], b[16:80])
}

// dequantQ2K is dequantize_row_q2_K for one super-block.
func dequantQ2K(b []byte, y []float32) {
	sc, q := b[0:16], b[16:80]
	d, dmin := f16(b[80:]), f16(b[82:])
	is, o := 0, 0
	for n := 0; n < QK; n += 128 {
		for shift := 0; shift < 8; shift += 2 {
			for half := 0; half < 2; half++ {
				s := sc[is]
				is++
				dl, ml := float32(d*float32(s&0xF)), float32(dmin*float32(s>>4))
				for l := 0; l < 16; l++ {
					y[o] = float32(dl*float32(q[16*half+l]>>shift&3)) - ml
					o++
				}
			}
		}
		q = q[32:]
	}
}

// q3Scales unpacks Q3_K's twelve scale bytes into 16 6-bit values (0…63;
// the scale is the value − 32), as dequantize_row_q3_K's kmask shuffle does.
func q3Scales(p []byte) (s [16]int) {
	for j := 0; j < 16; j++ {
		var lo byte
		if j < 8 {
			lo = p[j] & 0xF
		} else {
			lo = p[j-8] >> 4
		}
		s[j] = int(lo | (p[8+j%4]>>(2*(j/4))&3)<<4)
	}
	return s
}

// quantQ3K is quantize_row_q3_K_ref for one super-block.
func quantQ3K(x []float32, b []byte) {
	var L [QK]int8
	var scales [16]float32
	var maxScale, amax float32
	for j := 0; j < 16; j++ {
		scales[j] = makeQ3Quants(16, 4, x[16*j:], L[16*j:])
		if s := absf(scales[j]); s > amax {
			amax, maxScale = s, scales[j]
		}
	}
	hmask, qs, sc := b[0:32], b[32:96], b[96:108]
	clear(sc)
	if maxScale != 0 {
		iscale := -32 / maxScale
		for j := 0; j < 16; j++ {
			l := int8(nearestInt(float32(iscale * scales[j])))
			l = int8(clampInt(int(l), -32, 31) + 32)
			if j < 8 {
				sc[j] = byte(l) & 0xF
			} else {
				sc[j-8] |= (byte(l) & 0xF) << 4
			}
			l >>= 4
			sc[j%4+8] |= byte(l) << (2 * (j / 4))
		}
		putF16(b[108:], 1/iscale)
	} else {
		putF16(b[108:], 0)
	}
	dAll := f16(b[108:])
	s := q3Scales(sc)
	for j := 0; j < 16; j++ {
		d := float32(dAll * float32(int8(s[j]-32)))
		if d == 0 {
			continue
		}
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = int8(clampInt(nearestInt(x[16*j+ii]/d), -4, 3) + 4)
		}
	}
	clear(hmask)
	m, hm := 0, byte(1)
	var U [QK]uint8
	for j := 0; j < QK; j++ {
		if L[j] > 3 {
			hmask[m] |= hm
			L[j] -= 4
		}
		U[j] = uint8(L[j])
		if m++; m == QK/8 {
			m, hm = 0, hm<<1
		}
	}
	pack2(U[:], qs)
}

// dequantQ3K is dequantize_row_q3_K for one super-block.
func dequantQ3K(b []byte, y []float32) {
	hm, q := b[0:32], b[32:96]
	s := q3Scales(b[96:108])
	dAll := f16(b[108:])
	is, o := 0, 0
	m := byte(1)
	for n := 0; n < QK; n += 128 {
		for shift := 0; shift < 8; shift += 2 {
			for half := 0; half < 2; half++ {
				dl := float32(dAll * float32(s[is]-32))
				is++
				for l := 0; l < 16; l++ {
					v := int(q[16*half+l] >> shift & 3)
					if hm[16*half+l]&m == 0 {
						v -= 4
					}
					y[o] = dl * float32(v)
					o++
				}
			}
			m <<= 1
		}
		q = q[32:]
	}
}

// quantQ45K is the common body of quantize_row_q4_K_ref (nmax 15) and
// quantize_row_q5_K_ref (nmax 31): per 32 values make_qkx2_quants with
// weights av_x + |x| (av_x = rms of the 32), then 6-bit scales and mins
// relative to their maxima; it returns the final levels.
func quantQ45K(x []float32, b []byte, nmax int, rmin float32, nstep int) (L [QK]uint8) {
	var laux [32]uint8
	var weights [32]float32
	var mins, scales [8]float32
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		var sumX2 float32
		for l := 0; l < 32; l++ {
			sumX2 += float32(x[32*j+l] * x[32*j+l])
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l := 0; l < 32; l++ {
			weights[l] = avX + absf(x[32*j+l])
		}
		scales[j], mins[j] = makeQKX2Quants(32, nmax, x[32*j:], weights[:], L[32*j:], laux[:], rmin, 0.1, nstep, false)
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
	sc := b[4:16]
	for j := 0; j < 8; j++ {
		ls := min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(nearestInt(float32(invMin*mins[j]))))
		if j < 4 {
			sc[j], sc[j+4] = ls, lm
		} else {
			sc[j+4] = ls&0xF | (lm&0xF)<<4
			sc[j-4] |= (ls >> 4) << 6
			sc[j] |= (lm >> 4) << 6
		}
	}
	putF16(b[0:], maxScale/63)
	putF16(b[2:], maxMin/63)
	dAll, dMin := f16(b[0:]), f16(b[2:])
	for j := 0; j < 8; j++ {
		s, m := kernels.ScaleMinK4(j, sc)
		d := float32(dAll * float32(s))
		if d == 0 {
			continue
		}
		dm := float32(dMin * float32(m))
		for ii := 0; ii < 32; ii++ {
			L[32*j+ii] = uint8(clampInt(nearestInt((x[32*j+ii]+dm)/d), 0, nmax))
		}
	}
	return L
}

// quantQ4K is quantize_row_q4_K_ref for one super-block.
func quantQ4K(x []float32, b []byte) {
	L := quantQ45K(x, b, 15, -1, 20)
	q := b[16:144]
	for j := 0; j < QK; j += 64 {
		for l := 0; l < 32; l++ {
			q[l] = L[j+l] | L[j+l+32]<<4
		}
		q = q[32:]
	}
}

// quantQ5K is quantize_row_q5_K_ref for one super-block.
func quantQ5K(x []float32, b []byte) {
	L := quantQ45K(x, b, 31, -0.5, 15)
	qh, ql := b[16:48], b[48:176]
	clear(qh)
	m1, m2 := byte(1), byte(2)
	for n := 0; n < QK; n += 64 {
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
		m1, m2 = m1<<2, m2<<2
		ql = ql[32:]
	}
}

// quantQ6K is quantize_row_q6_K_ref for one super-block.
func quantQ6K(x []float32, b []byte) {
	var L [QK]int8
	var scales [16]float32
	var maxScale, maxAbs float32
	for ib := 0; ib < 16; ib++ {
		s := makeQXQuants(16, 32, x[16*ib:], L[16*ib:])
		scales[ib] = s
		if absf(s) > maxAbs {
			maxAbs, maxScale = absf(s), s
		}
	}
	if maxAbs < groupMaxEps {
		clear(b) // d = f16(0) = 0 too
		return
	}
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	iscale := -128 / maxScale
	putF16(b[208:], 1/iscale)
	for ib := 0; ib < 16; ib++ {
		sc[ib] = byte(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
	}
	dAll := f16(b[208:])
	for j := 0; j < 16; j++ {
		d := float32(dAll * float32(int8(sc[j])))
		if d == 0 {
			continue
		}
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = int8(clampInt(nearestInt(x[16*j+ii]/d), -32, 31) + 32)
		}
	}
	for j := 0; j < QK; j += 128 {
		for l := 0; l < 32; l++ {
			q1, q2 := byte(L[j+l])&0xF, byte(L[j+l+32])&0xF
			q3, q4 := byte(L[j+l+64])&0xF, byte(L[j+l+96])&0xF
			ql[l] = q1 | q3<<4
			ql[l+32] = q2 | q4<<4
			qh[l] = byte(L[j+l])>>4 | (byte(L[j+l+32])>>4)<<2 | (byte(L[j+l+64])>>4)<<4 | (byte(L[j+l+96])>>4)<<6
		}
		ql, qh = ql[64:], qh[32:]
	}
}

// q6Values unpacks a Q6_K super-block's 256 levels minus 32 (−32…31), in
// value order.
func q6Values(b []byte) (a [QK]int8) {
	ql, qh := b[0:128], b[128:192]
	for n := 0; n < QK; n += 128 {
		for l := 0; l < 32; l++ {
			a[n+l] = int8(ql[l]&0xF|(qh[l]>>0&3)<<4) - 32
			a[n+l+32] = int8(ql[l+32]&0xF|(qh[l]>>2&3)<<4) - 32
			a[n+l+64] = int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			a[n+l+96] = int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
		}
		ql, qh = ql[64:], qh[32:]
	}
	return a
}

// quantQ8K is quantize_row_q8_K_ref for one super-block: d = max/−127
// (float32, not f16), q = min(127, nearest(x/d)), bsums = sums of 16 q.
func quantQ8K(x []float32, b []byte) {
	var qs [QK]int8
	d := kernels.QuantizeQ8K(qs[:], x)
	for j, q := range qs {
		b[4+j] = byte(q)
	}
	for j := 0; j < 16; j++ {
		var sum int
		for _, q := range qs[16*j : 16*j+16] {
			sum += int(q)
		}
		binary.LittleEndian.PutUint16(b[260+2*j:], uint16(int16(sum)))
	}
	binary.LittleEndian.PutUint32(b, math.Float32bits(d))
}

// dequantQ8K is dequantize_row_q8_K for one super-block.
func dequantQ8K(b []byte, y []float32) {
	d := math.Float32frombits(binary.LittleEndian.Uint32(b))
	for j := 0; j < QK; j++ {
		y[j] = d * float32(int8(b[4+j]))
	}
}
