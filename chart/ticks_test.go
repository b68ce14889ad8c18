package chart

import (
	"math"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 1, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{0.013, 0.87, 5, []float64{0.2, 0.4, 0.6, 0.8}},
		{-1, 1, 5, []float64{-1, -0.5, 0, 0.5, 1}},
		{0, 5000, 6, []float64{0, 1000, 2000, 3000, 4000, 5000}},
		{2.8, 10.3, 4, []float64{4, 6, 8, 10}},
		{0.1, 0.3, 4, []float64{0.1, 0.15, 0.2, 0.25, 0.3}},
		{1e-4, 5e-4, 4, []float64{1e-4, 2e-4, 3e-4, 4e-4, 5e-4}},
		{3, 3, 5, []float64{3}},
		{1, 0, 5, nil},
		{math.NaN(), 1, 5, nil},
		{0, math.Inf(1), 5, nil},
	} {
		if got := niceTicks(tc.lo, tc.hi, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("niceTicks(%g, %g, %d) = %v, want %v", tc.lo, tc.hi, tc.n, got, tc.want)
		}
	}
}

// Every tick must be inside the range, evenly spaced, and exactly the
// decimal it prints as.
func TestNiceTicksProperties(t *testing.T) {
	for _, r := range [][2]float64{{0, 1}, {-3.7, 12.2}, {1e6, 1.3e6}, {0.0012, 0.0019}, {-1e-9, 1e-9}, {97, 103}, {0, 1e12}} {
		for n := 2; n <= 10; n++ {
			ts := niceTicks(r[0], r[1], n)
			if len(ts) < 1 {
				t.Fatalf("niceTicks(%g, %g, %d): no ticks", r[0], r[1], n)
			}
			span := r[1] - r[0]
			for i, v := range ts {
				if v < r[0]-1e-9*span || v > r[1]+1e-9*span {
					t.Errorf("niceTicks(%g, %g, %d): %g outside range", r[0], r[1], n, v)
				}
				if i > 1 {
					d0, d1 := ts[1]-ts[0], ts[i]-ts[i-1]
					if math.Abs(d1-d0) > 1e-9*math.Abs(d0) {
						t.Errorf("niceTicks(%g, %g, %d) = %v: uneven", r[0], r[1], n, ts)
					}
				}
			}
		}
	}
}

// labels returns the labelled ticks of ts inside [lo, hi].
func labels(ts []plot.Tick, lo, hi float64) []string {
	var out []string
	for _, t := range ts {
		if !t.IsMinor() && t.Value >= lo*(1-1e-9) && t.Value <= hi*(1+1e-9) {
			out = append(out, t.Label)
		}
	}
	return out
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{1, 1e6, "1 10 100 1k 10k 100k 1M"},
		{0.5, 2000, "1 10 100 1k"},
		{0.003, 0.5, "0.005 0.01 0.02 0.05 0.1 0.2 0.5"}, // two powers of ten: 2 and 5 times them too
		// 18 decades: every second power of ten, at even exponents.
		{1e-5, 1e12, "0.0001 0.01 1 100 10k 1M 100M 10B 1T"},
		{5, 150, "5 10 20 50 100"},
		{4.3e5, 1.1e6, "500k 600k 700k 800k 900k 1M"},
		{1.7, 6.1, "2 3 4 5 6"},
		{1e5, 3e8, "100k 1M 10M 100M"},
	} {
		got := strings.Join(labels(logTicks{}.Ticks(tc.lo, tc.hi), tc.lo, tc.hi), " ")
		if got != tc.want {
			t.Errorf("logTicks(%g, %g) labels %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
	// Minor ticks at 2..9 times the powers of ten.
	var minor []float64
	for _, tk := range (logTicks{}).Ticks(1, 100) {
		if tk.IsMinor() {
			minor = append(minor, tk.Value)
		}
	}
	if want := []float64{2, 3, 4, 5, 6, 7, 8, 9, 20, 30, 40, 50, 60, 70, 80, 90}; !slices.Equal(minor, want) {
		t.Errorf("minor ticks of [1, 100] = %v, want %v", minor, want)
	}
	// A range inside one step of 1..9 falls back to linear ticks.
	if got := labels(logTicks{}.Ticks(3.1, 3.9), 3.1, 3.9); len(got) < 3 {
		t.Errorf("logTicks(3.1, 3.9) labels %v", got)
	}
}

func TestLinearTickLabels(t *testing.T) {
	got := labels(linearTicks{6}.Ticks(0, 2.5e6), 0, 2.5e6)
	if want := []string{"0", "500k", "1M", "1.5M", "2M", "2.5M"}; !slices.Equal(got, want) {
		t.Errorf("labels of [0, 2.5M] = %v, want %v", got, want)
	}
}

func TestFormatTick(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {-2, "-2"}, {0.2, "0.2"}, {0.1 + 0.2, "0.3"}, {12.5, "12.5"},
		{0.001, "0.001"}, {0.0005, "0.0005"}, {1e-4, "0.0001"}, {5e-5, "5e-5"}, {2.5e-7, "2.5e-7"},
		{999, "999"}, {1000, "1k"}, {1500, "1.5k"}, {-1500, "-1.5k"}, {125000, "125k"}, {999999.9, "1M"},
		{2.5e6, "2.5M"}, {1.24e8, "124M"}, {1.3e9, "1.3B"}, {7e12, "7T"}, {1e15, "1e15"},
		{math.NaN(), "NaN"}, {math.Inf(-1), "-Inf"},
	} {
		if got := formatTick(tc.v); got != tc.want {
			t.Errorf("formatTick(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	if got := formatValue(3.28731); got != "3.287" {
		t.Errorf("formatValue(3.28731) = %q", got)
	}
}
