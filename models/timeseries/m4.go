package timeseries

import (
	"fmt"
	"math"

	"github.com/loomml/loom/data/series"
)

// The M4 competition's evaluation (Makridakis, Spiliotis and
// Assimakopoulos, "The M4 Competition: 100,000 time series and 61
// forecasting methods", IJF 2020), as the organisers' R code
// (Mcompetitions/M4-methods, "Benchmarks and Evaluation.R") computes it:
// sMAPE and MASE per forecast step, averaged over every series and step of
// a frequency, and OWA, their ratios to the Naive2 benchmark's, averaged.

// SMAPE is the mean over steps of 200·|y − f|/(|y| + |f|), in percent.
func SMAPE(y, f []float64) float64 {
	s := 0.0
	for i := range y {
		s += 200 * math.Abs(y[i]-f[i]) / (math.Abs(y[i]) + math.Abs(f[i]))
	}
	return s / float64(len(y))
}

// MASEScale is the in-sample mean absolute seasonal difference at lag m,
// MASE's denominator.
func MASEScale(insample []float64, m int) float64 {
	s := 0.0
	for i := m; i < len(insample); i++ {
		s += math.Abs(insample[i] - insample[i-m])
	}
	return s / float64(len(insample)-m)
}

// MASE is the mean over steps of |y − f| over MASEScale(insample, m).
func MASE(insample, y, f []float64, m int) float64 {
	scale := MASEScale(insample, m)
	s := 0.0
	for i := range y {
		s += math.Abs(y[i]-f[i]) / scale
	}
	return s / float64(len(y))
}

// ACF is R's acf: r_k = Σ_{t<n−k} (x_t − x̄)(x_{t+k} − x̄) / Σ_t (x_t − x̄)²
// for k = 1 … maxLag.
func ACF(x []float64, maxLag int) []float64 {
	n := len(x)
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	den := 0.0
	for _, v := range x {
		den += (v - mean) * (v - mean)
	}
	out := make([]float64, maxLag)
	for k := 1; k <= maxLag && k < n; k++ {
		s := 0.0
		for t := 0; t+k < n; t++ {
			s += (x[t] - mean) * (x[t+k] - mean)
		}
		out[k-1] = s / den
	}
	return out
}

// SeasonalityTest is M4's 90 % autocorrelation test at lag m: seasonal
// when n ≥ 3m and |r_m| > 1.645·√((1 + 2 Σ_{k<m} r_k²)/n). As in R, r_m is
// only computed up to acf's default lag, ⌊10·log10 n⌋; beyond it the
// series is not seasonal.
func SeasonalityTest(x []float64, m int) bool {
	n := len(x)
	if m <= 1 || n < 3*m || int(math.Floor(10*math.Log10(float64(n)))) < m {
		return false
	}
	r := ACF(x, m)
	s := 1.0
	for k := 0; k < m-1; k++ {
		s += 2 * r[k] * r[k]
	}
	lim := 1.645 / math.Sqrt(float64(n)) * math.Sqrt(s)
	return math.Abs(r[m-1]) > lim
}

// SeasonalIndices is R's decompose(type = "multiplicative")'s seasonal
// figure: the series over its centred moving average (for even m the 2×m
// average, weights 1/2m, 1/m, …, 1/m, 1/2m), averaged by phase (phase 0 is
// the first value) where the average exists, and divided by the indices'
// mean.
func SeasonalIndices(x []float64, m int) []float64 {
	n := len(x)
	w := make([]float64, 0, m+1)
	if m%2 == 0 {
		w = append(w, 0.5/float64(m))
		for range m - 1 {
			w = append(w, 1/float64(m))
		}
		w = append(w, 0.5/float64(m))
	} else {
		for range m {
			w = append(w, 1/float64(m))
		}
	}
	half := len(w) / 2
	sum, cnt := make([]float64, m), make([]int, m)
	for t := half; t+len(w)-1-half < n; t++ {
		trend := 0.0
		for j, c := range w {
			trend += c * x[t-half+j]
		}
		sum[t%m] += x[t] / trend
		cnt[t%m]++
	}
	fig := make([]float64, m)
	mean := 0.0
	for i := range fig {
		fig[i] = sum[i] / float64(cnt[i])
		mean += fig[i] / float64(m)
	}
	for i := range fig {
		fig[i] /= mean
	}
	return fig
}

// Naive2 is M4's benchmark: when SeasonalityTest finds the series seasonal,
// its last value divided by its seasonal index, repeated and multiplied by
// the indices of the forecast steps' phases; otherwise the last value.
func Naive2(x []float64, m, h int) []float64 {
	out := make([]float64, h)
	if !SeasonalityTest(x, m) {
		for i := range out {
			out[i] = x[len(x)-1]
		}
		return out
	}
	fig := SeasonalIndices(x, m)
	n := len(x)
	last := x[n-1] / fig[(n-1)%m]
	for i := range out {
		out[i] = last * fig[(n+i)%m]
	}
	return out
}

// SeasonalNaive repeats the last m values.
func SeasonalNaive(x []float64, m, h int) []float64 {
	out := make([]float64, h)
	for i := range out {
		out[i] = x[len(x)-m+i%m]
	}
	return out
}

// M4Score is a method's score on a set of series.
type M4Score struct {
	SMAPE float64 `json:"smape"`
	MASE  float64 `json:"mase"`
	OWA   float64 `json:"owa"`
}

// ScoreM4 scores forecasts ([series][step]) of ss with period m: sMAPE and
// MASE averaged over every series and step, and OWA against Naive2's on
// the same series. It returns the method's and Naive2's scores.
func ScoreM4(ss []series.M4Series, forecasts [][]float64, m int) (method, naive2 M4Score, err error) {
	if len(forecasts) != len(ss) {
		return method, naive2, fmt.Errorf("timeseries: %d forecasts for %d series", len(forecasts), len(ss))
	}
	steps := 0
	for i, s := range ss {
		if len(forecasts[i]) != len(s.Test) {
			return method, naive2, fmt.Errorf("timeseries: %s: %d forecast steps for %d test values", s.ID, len(forecasts[i]), len(s.Test))
		}
		n2 := Naive2(s.Train, m, len(s.Test))
		h := float64(len(s.Test))
		method.SMAPE += SMAPE(s.Test, forecasts[i]) * h
		method.MASE += MASE(s.Train, s.Test, forecasts[i], m) * h
		naive2.SMAPE += SMAPE(s.Test, n2) * h
		naive2.MASE += MASE(s.Train, s.Test, n2, m) * h
		steps += len(s.Test)
	}
	for _, sc := range []*M4Score{&method, &naive2} {
		sc.SMAPE /= float64(steps)
		sc.MASE /= float64(steps)
	}
	naive2.OWA = 1
	method.OWA = (method.SMAPE/naive2.SMAPE + method.MASE/naive2.MASE) / 2
	return method, naive2, nil
}
