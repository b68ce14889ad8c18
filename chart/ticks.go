package chart

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// linearTicks marks a linear axis with about n ticks (gonum's
// DefaultTicks aims at three, too few for a loss curve): every multiple in
// the range of a step of 1, 2 or 5 times a power of ten, the step chosen to
// bring the count closest to n, labelled compactly (formatTick).
type linearTicks struct{ n int }

func (t linearTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for _, v := range niceTicks(lo, hi, t.n) {
		ts = append(ts, plot.Tick{Value: v, Label: formatTick(v)})
	}
	return ts
}

// niceTicks returns the tick positions of linearTicks over [lo, hi]: for
// lo == hi just that value, for an empty or non-finite range none. The
// values are exact decimal multiples of the step (niceTicks(0, 1, 5) gives
// 0, 0.2, 0.4, 0.6, 0.8, 1 with no 0.6000000000000001).
func niceTicks(lo, hi float64, n int) []float64 {
	if !finite(lo) || !finite(hi) || lo > hi {
		return nil
	}
	if lo == hi {
		return []float64{lo}
	}
	n = max(n, 2)
	e := int(math.Floor(math.Log10((hi - lo) / float64(n))))
	bestM, bestE, bestScore := 0, 0, math.Inf(1)
	for k := e - 1; k <= e+1; k++ {
		for _, m := range [...]int{1, 2, 5} {
			step := float64(m) * math.Pow10(k)
			count := math.Floor(hi/step+1e-9) - math.Ceil(lo/step-1e-9) + 1
			// Prefer counts near n; on a tie, the smaller step.
			if score := math.Abs(count - float64(n)); score < bestScore {
				bestM, bestE, bestScore = m, k, score
			}
		}
	}
	step := float64(bestM) * math.Pow10(bestE)
	i0 := int64(math.Ceil(lo/step - 1e-9))
	i1 := int64(math.Floor(hi/step + 1e-9))
	ticks := make([]float64, 0, i1-i0+1)
	for i := i0; i <= i1; i++ {
		ticks = append(ticks, decimal(i*int64(bestM), bestE))
	}
	return ticks
}

// decimal returns m × 10^e, correctly rounded (dividing by an exact power
// of ten instead of multiplying by an inexact one).
func decimal(m int64, e int) float64 {
	if e >= 0 {
		return float64(m) * math.Pow10(e)
	}
	return float64(m) / math.Pow10(-e)
}

// logTicks marks a logarithmic axis: a label at every power of ten, minor
// ticks at 2..9 times them (as gonum's LogTicks, which misses the decade
// below a range starting under 1). Over a range too narrow to hold three
// labelled powers of ten the 2 and 5 (failing that, every) multiples are
// labelled too, and with fewer than two labels the axis gets linear ticks; over more than
// nine decades only every second, third, ... power of ten is labelled.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	const eps = 1e-9
	var ts []plot.Tick
	mant := []int{}
	for d := int(math.Floor(math.Log10(lo) + eps)); d <= int(math.Ceil(math.Log10(hi)-eps)); d++ {
		for m := 1; m <= 9; m++ {
			if v := decimal(int64(m), d); v >= lo*(1-eps) && v <= hi*(1+eps) {
				ts = append(ts, plot.Tick{Value: v})
				mant = append(mant, m)
			}
		}
	}
	labelled := 0
	for _, set := range [][]int{{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		labelled = 0
		for i, m := range mant {
			if slices.Contains(set, m) {
				ts[i].Label, labelled = "x", labelled+1
			}
		}
		if labelled >= 3 {
			break
		}
	}
	if labelled < 2 {
		return linearTicks{5}.Ticks(lo, hi)
	}
	if labelled > 9 { // only powers of ten are labelled
		k := (labelled + 8) / 9
		for i, t := range ts {
			if d := int(math.Round(math.Log10(t.Value))); !t.IsMinor() && d%k != 0 {
				ts[i].Label = ""
			}
		}
	}
	return relabel(ts)
}

// relabel writes the label of every major tick with formatTick.
func relabel(ts []plot.Tick) []plot.Tick {
	for i, t := range ts {
		if !t.IsMinor() {
			ts[i].Label = formatTick(t.Value)
		}
	}
	return ts
}

// formatTick formats an axis value compactly: SI-style suffixes for large
// magnitudes (1k, 2.5M, 1.3B for billions, 7T), plain decimals in between
// (0.001, 12.5), and a short exponent for tiny or huge values (5e-5, 1e15).
// It keeps at most six significant digits, so floating-point noise such as
// 0.30000000000000004 prints as 0.3.
func formatTick(v float64) string {
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
// digits in formatTick's style.
func formatValue(v float64) string {
	return formatTick(roundSig(v, 4))
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
