package plot

import (
	"math"
	"strconv"
	"strings"
)

// Ticks returns "nice" tick positions for a linear axis over [lo, hi]: every
// multiple of a step of 1, 2 or 5 times a power of ten that lies in the
// range, with the step chosen so that the count is as close to n as possible.
// For lo == hi it returns just that value; for an empty, reversed or
// non-finite range it returns nil.
//
// The values are exact decimal multiples of the step (Ticks(0, 1, 5) gives
// 0, 0.2, 0.4, 0.6, 0.8, 1 with no 0.6000000000000001).
func Ticks(lo, hi float64, n int) []float64 {
	if !finite(lo) || !finite(hi) || lo > hi {
		return nil
	}
	if lo == hi {
		return []float64{lo}
	}
	if n < 2 {
		n = 2
	}
	e := int(math.Floor(math.Log10((hi - lo) / float64(n))))
	bestM, bestE, bestScore := 0, 0, math.Inf(1)
	for k := e - 1; k <= e+1; k++ {
		for _, m := range [...]int{1, 2, 5} {
			step := float64(m) * math.Pow(10, float64(k))
			i0 := math.Ceil(lo/step - 1e-9)
			i1 := math.Floor(hi/step + 1e-9)
			count := i1 - i0 + 1
			// Prefer counts near n; on a tie, the smaller step (more ticks,
			// which reads better than too few).
			score := math.Abs(count - float64(n))
			if score < bestScore {
				bestM, bestE, bestScore = m, k, score
			}
		}
	}
	step := float64(bestM) * math.Pow(10, float64(bestE))
	i0 := int64(math.Ceil(lo/step - 1e-9))
	i1 := int64(math.Floor(hi/step + 1e-9))
	if i1-i0 > 1000 { // cannot happen for n <= ~300; guards absurd input
		return nil
	}
	ticks := make([]float64, 0, i1-i0+1)
	for i := i0; i <= i1; i++ {
		ticks = append(ticks, decimal(i*int64(bestM), bestE))
	}
	return ticks
}

// decimal returns m * 10^e, correctly rounded (dividing by an exact power of
// ten instead of multiplying by an inexact one).
func decimal(m int64, e int) float64 {
	if e >= 0 {
		return float64(m) * math.Pow10(e)
	}
	return float64(m) / math.Pow10(-e)
}

// LogTicks returns tick positions for a logarithmic axis over [lo, hi], which
// must satisfy 0 < lo <= hi. When the range spans three or more powers of ten
// the ticks are powers of ten (every k-th one if there would be more than
// nine); over a narrower range they are 1, 2 and 5 times powers of ten, or
// failing that 1..9 times powers of ten, or failing that linear nice ticks.
func LogTicks(lo, hi float64) []float64 {
	major, _ := logTicks(lo, hi)
	return major
}

// logTicks returns LogTicks plus minor ticks (2..9 times each power of ten)
// when the major ticks are consecutive powers of ten.
func logTicks(lo, hi float64) (major, minor []float64) {
	if !finite(lo) || !finite(hi) || lo <= 0 || lo > hi {
		return nil, nil
	}
	if lo == hi {
		return []float64{lo}, nil
	}
	const eps = 1e-9
	d0 := int(math.Ceil(math.Log10(lo) - eps))
	d1 := int(math.Floor(math.Log10(hi) + eps))
	if nd := d1 - d0 + 1; nd >= 3 {
		k := 1
		for _, c := range [...]int{1, 2, 3, 5, 10, 20, 50, 100} {
			k = c
			if (nd+c-1)/c <= 9 {
				break
			}
		}
		for d := d0; d <= d1; d++ {
			if d%k == 0 {
				major = append(major, math.Pow10(d))
			}
		}
		if k == 1 {
			for d := d0 - 1; d <= d1; d++ {
				for m := int64(2); m <= 9; m++ {
					if v := decimal(m, d); v >= lo*(1-eps) && v <= hi*(1+eps) {
						minor = append(minor, v)
					}
				}
			}
		}
		if len(major) >= 2 {
			return major, minor
		}
		major, minor = nil, nil
	}
	for _, set := range [][]int64{{1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		var t []float64
		for d := d0 - 1; d <= d1; d++ {
			for _, m := range set {
				if v := decimal(m, d); v >= lo*(1-eps) && v <= hi*(1+eps) {
					t = append(t, v)
				}
			}
		}
		if len(t) >= 3 {
			return t, nil
		}
	}
	return Ticks(lo, hi, 5), nil
}

// FormatTick formats an axis value compactly: SI-style suffixes for large
// magnitudes (1k, 2.5M, 1.3B for billions, 7T), plain decimals in between
// (0.001, 12.5), and a short exponent for tiny or huge values (5e-5, 1e15).
// It keeps at most six significant digits, so floating-point noise such as
// 0.30000000000000004 prints as 0.3.
func FormatTick(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	v = roundSig(v, 6)
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	switch {
	case a >= 1e15 || a < 1e-4:
		return shortExp(v)
	case a >= 1e12:
		return trimFloat(v/1e12) + "T"
	case a >= 1e9:
		return trimFloat(v/1e9) + "B"
	case a >= 1e6:
		return trimFloat(v/1e6) + "M"
	case a >= 1e3:
		return trimFloat(v/1e3) + "k"
	}
	return trimFloat(v)
}

// formatValue formats a data value (a bar's height) with four significant
// digits in FormatTick's style.
func formatValue(v float64) string {
	if !finite(v) {
		return FormatTick(v)
	}
	return FormatTick(roundSig(v, 4))
}

func trimFloat(v float64) string {
	return strconv.FormatFloat(roundSig(v, 6), 'f', -1, 64)
}

// shortExp formats v as 2.5e-5 or 1e15 (no exponent padding or plus sign).
func shortExp(v float64) string {
	s := strconv.FormatFloat(v, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "e" + exp
}

// roundSig rounds v to n significant decimal digits.
func roundSig(v float64, n int) float64 {
	if v == 0 || !finite(v) {
		return v
	}
	f, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', n, 64), 64)
	if err != nil {
		return v
	}
	return f
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
