package kernels

// Elementwise, reduction and norm primitives on float32 slices: AVX-512
// assembly where the CPU has it, plain Go otherwise. Reductions sum in
// float32 (16 lanes, then across lanes), in a fixed order.

// Binary elementwise operations for Bin.
const (
	BinAdd = 0
	BinSub = 1
	BinMul = 2
)

// Bin sets dst[i] = a[i] op b[i] for op BinAdd, BinSub or BinMul.
func Bin(op int, dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	if n > 0 && useAVX512 {
		addAVX512(&dst[0], &a[0], &b[0], n, op)
		return
	}
	switch op {
	case BinAdd:
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case BinSub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	default:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	}
}

// Axpy sets dst[i] += alpha·x[i].
func Axpy(dst, x []float32, alpha float32) {
	x = x[:len(dst)]
	if len(dst) > 0 && useAVX512 {
		axpyAVX512(&dst[0], &x[0], len(dst), alpha)
		return
	}
	for i, v := range x {
		dst[i] += alpha * v
	}
}

// SumSqDev returns Σx and Σ(x−mean)².
func SumSqDev(x []float32, mean float32) (sum, sumsq float32) {
	if len(x) > 0 && useAVX512 {
		return sumSqDevAVX512(&x[0], len(x), mean)
	}
	for _, v := range x {
		sum += v
		d := v - mean
		sumsq += d * d
	}
	return sum, sumsq
}

// NormForward sets dst = (x−mean)·rstd·w + b (b may be nil).
func NormForward(dst, x, w, b []float32, mean, rstd float32) {
	n := len(x)
	dst, w = dst[:n], w[:n]
	if n > 0 && useAVX512 {
		var bp *float32
		if b != nil {
			bp = &b[:n][0]
		}
		normFwdAVX512(&dst[0], &x[0], &w[0], bp, n, mean, rstd)
		return
	}
	for i, v := range x {
		y := (v - mean) * rstd * w[i]
		if b != nil {
			y += b[i]
		}
		dst[i] = y
	}
}

// NormBackward1 returns, with x̂ = (x−mean)·rstd and ĝ = g·w, Σĝ and Σĝ·x̂,
// and adds g·x̂ into dw and g into db (db may be nil).
func NormBackward1(x, g, w, dw, db []float32, mean, rstd float32) (s1, s2 float32) {
	n := len(x)
	g, w, dw = g[:n], w[:n], dw[:n]
	if n > 0 && useAVX512 {
		var dbp *float32
		if db != nil {
			dbp = &db[:n][0]
		}
		return normBwd1AVX512(&x[0], &g[0], &w[0], &dw[0], dbp, n, mean, rstd)
	}
	for i, v := range x {
		xh := (v - mean) * rstd
		dw[i] += g[i] * xh
		if db != nil {
			db[i] += g[i]
		}
		gh := g[i] * w[i]
		s1 += gh
		s2 += gh * xh
	}
	return s1, s2
}

// NormBackward2 sets dx = rstd·(g·w − c1 − x̂·c2) with x̂ = (x−mean)·rstd.
func NormBackward2(dx, x, g, w []float32, mean, rstd, c1, c2 float32) {
	n := len(x)
	dx, g, w = dx[:n], g[:n], w[:n]
	if n > 0 && useAVX512 {
		normBwd2AVX512(&dx[0], &x[0], &g[0], &w[0], n, mean, rstd, c1, c2)
		return
	}
	for i, v := range x {
		xh := (v - mean) * rstd
		dx[i] = rstd * (g[i]*w[i] - c1 - xh*c2)
	}
}
