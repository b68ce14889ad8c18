package plot

import (
	"math"
	"slices"
	"testing"
)

func TestTicks(t *testing.T) {
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
		got := Ticks(tc.lo, tc.hi, tc.n)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Ticks(%g, %g, %d) = %v, want %v", tc.lo, tc.hi, tc.n, got, tc.want)
		}
	}
}

// Every tick must be inside the range, evenly spaced, and exactly the
// decimal it prints as.
func TestTicksProperties(t *testing.T) {
	for _, r := range [][2]float64{{0, 1}, {-3.7, 12.2}, {1e6, 1.3e6}, {0.0012, 0.0019}, {-1e-9, 1e-9}, {97, 103}, {0, 1e12}} {
		for n := 2; n <= 10; n++ {
			ts := Ticks(r[0], r[1], n)
			if len(ts) < 1 {
				t.Fatalf("Ticks(%g, %g, %d): no ticks", r[0], r[1], n)
			}
			span := r[1] - r[0]
			for i, v := range ts {
				if v < r[0]-1e-9*span || v > r[1]+1e-9*span {
					t.Errorf("Ticks(%g, %g, %d): %g outside range", r[0], r[1], n, v)
				}
				if i > 1 {
					d0, d1 := ts[1]-ts[0], ts[i]-ts[i-1]
					if math.Abs(d1-d0) > 1e-9*math.Abs(d0) {
						t.Errorf("Ticks(%g, %g, %d) = %v: uneven", r[0], r[1], n, ts)
					}
				}
			}
		}
	}
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   []float64
	}{
		{1, 1e6, []float64{1, 10, 100, 1e3, 1e4, 1e5, 1e6}},
		{0.5, 2000, []float64{1, 10, 100, 1000}},
		// 18 decades: every second power of ten, at even exponents.
		{1e-5, 1e12, []float64{1e-4, 1e-2, 1, 1e2, 1e4, 1e6, 1e8, 1e10, 1e12}},
		{5, 150, []float64{5, 10, 20, 50, 100}},
		{2.8, 11, []float64{3, 4, 5, 6, 7, 8, 9, 10}},
		{1e5, 3e8, []float64{1e5, 1e6, 1e7, 1e8}},
	} {
		got := LogTicks(tc.lo, tc.hi)
		if !slices.Equal(got, tc.want) {
			t.Errorf("LogTicks(%g, %g) = %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
	if got := LogTicks(0, 10); got != nil {
		t.Errorf("LogTicks(0, 10) = %v, want nil", got)
	}
	// A range inside one step of 1..9 falls back to linear nice ticks.
	if got := LogTicks(3.1, 3.9); len(got) < 3 || got[0] < 3.1 || got[len(got)-1] > 3.9 {
		t.Errorf("LogTicks(3.1, 3.9) = %v", got)
	}
	_, minor := logTicks(1, 100)
	if want := []float64{2, 3, 4, 5, 6, 7, 8, 9, 20, 30, 40, 50, 60, 70, 80, 90}; !slices.Equal(minor, want) {
		t.Errorf("minor ticks of [1, 100] = %v, want %v", minor, want)
	}
}

func TestFormatTick(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{1, "1"},
		{-2, "-2"},
		{0.2, "0.2"},
		{0.1 + 0.2, "0.3"},
		{3 * 0.1, "0.3"},
		{12.5, "12.5"},
		{0.001, "0.001"},
		{0.0005, "0.0005"},
		{1e-4, "0.0001"},
		{5e-5, "5e-5"},
		{2.5e-7, "2.5e-7"},
		{999, "999"},
		{1000, "1k"},
		{1500, "1.5k"},
		{-1500, "-1.5k"},
		{125000, "125k"},
		{999999.9, "1M"},
		{2.5e6, "2.5M"},
		{1.24e8, "124M"},
		{1.3e9, "1.3B"},
		{7e12, "7T"},
		{1e15, "1e15"},
		{math.NaN(), "NaN"},
		{math.Inf(-1), "-Inf"},
	} {
		if got := FormatTick(tc.v); got != tc.want {
			t.Errorf("FormatTick(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	if got := formatValue(3.28731); got != "3.287" {
		t.Errorf("formatValue(3.28731) = %q", got)
	}
}

func TestSpan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		e      extent
		r      Range
		log    bool
		lo, hi float64
	}{
		{"single value", extent{3, 3, true}, Range{}, false, 2.7, 3.3},
		{"single zero", extent{0, 0, true}, Range{}, false, -1, 1},
		{"single negative", extent{-10, -10, true}, Range{}, false, -11, -9},
		{"padded", extent{0, 10, true}, Range{}, false, -0.5, 10.5},
		{"fixed", extent{0, 10, true}, Range{2, 4}, false, 2, 4},
		{"log single", extent{100, 100, true}, Range{}, true, 100 / math.Sqrt(10), 100 * math.Sqrt(10)},
		{"log padded", extent{1, 1e4, true}, Range{}, true, math.Pow(10, -0.2), math.Pow(10, 4.2)},
	} {
		lo, hi := span(tc.e, tc.r, tc.log, 0.05)
		if math.Abs(lo-tc.lo) > 1e-9*math.Abs(tc.lo)+1e-12 || math.Abs(hi-tc.hi) > 1e-9*math.Abs(tc.hi)+1e-12 {
			t.Errorf("%s: span = [%g, %g], want [%g, %g]", tc.name, lo, hi, tc.lo, tc.hi)
		}
	}
}
