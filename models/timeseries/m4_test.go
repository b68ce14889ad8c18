package timeseries

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/tensor"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

// The M4 formulas on fixed numbers, worked by hand.
func TestM4Metrics(t *testing.T) {
	// sMAPE: (200·10/210 + 200·20/380)/2.
	if got, want := SMAPE([]float64{100, 200}, []float64{110, 180}), (2000.0/210+4000.0/380)/2; !near(got, want, 1e-12) {
		t.Fatalf("sMAPE %v, want %v", got, want)
	}
	// MASE: in-sample 1…6 at lag 2 differs by 2 everywhere; errors 1 and 3.
	in := []float64{1, 2, 3, 4, 5, 6}
	if s := MASEScale(in, 2); s != 2 {
		t.Fatalf("MASE scale %v", s)
	}
	if got := MASE(in, []float64{7, 8}, []float64{8, 5}, 2); got != (0.5+1.5)/2 {
		t.Fatalf("MASE %v", got)
	}
	// ACF of 1, 2, 3, 4: mean 2.5, deviations −1.5, −.5, .5, 1.5, Σd² = 5;
	// r1 = (.75 − .25 + .75)/5, r2 = (−.75 − .75)/5.
	r := ACF([]float64{1, 2, 3, 4}, 2)
	if !near(r[0], 0.25, 1e-12) || !near(r[1], -0.3, 1e-12) {
		t.Fatalf("ACF %v", r)
	}
	if got := SeasonalNaive([]float64{1, 2, 3, 4, 5}, 2, 5); got[0] != 4 || got[1] != 5 || got[2] != 4 || got[4] != 4 {
		t.Fatalf("seasonal naive %v", got)
	}
}

// A series with a constant level times a period-4 pattern: the seasonal
// indices are the pattern over its mean, and Naive2 continues it exactly;
// a series too short, or noise, is not seasonal and Naive2 repeats its
// last value.
func TestNaive2(t *testing.T) {
	pattern := []float64{0.5, 1, 1.5, 1}
	var x []float64
	for i := range 41 {
		x = append(x, 100*pattern[i%4])
	}
	fig := SeasonalIndices(x, 4)
	for i, p := range pattern {
		if !near(fig[i], p, 1e-12) {
			t.Fatalf("indices %v, want %v", fig, pattern)
		}
	}
	if !SeasonalityTest(x, 4) {
		t.Fatal("a strongly periodic series is not seasonal")
	}
	f := Naive2(x, 4, 6)
	for h, v := range f {
		if !near(v, 100*pattern[(41+h)%4], 1e-12) {
			t.Fatalf("Naive2 %v", f)
		}
	}
	if SeasonalityTest(x[:11], 4) {
		t.Fatal("fewer than 3 periods called seasonal")
	}
	r := rand.New(rand.NewPCG(7, 7))
	noise := make([]float64, 500)
	for i := range noise {
		noise[i] = 50 + r.NormFloat64()
	}
	if SeasonalityTest(noise, 24) {
		t.Fatal("white noise called seasonal")
	}
	if f := Naive2(noise, 24, 3); f[0] != noise[499] || f[2] != noise[499] {
		t.Fatalf("Naive2 of a non-seasonal series %v", f)
	}
}

// On M4 Hourly itself (an external data set; skipped without it), Naive2
// and the seasonal naive score what the organisers published (their
// "Evaluation and Ranks" workbook): sMAPE 18.383 and MASE 2.395, and
// 13.912 and 1.193 (OWA 0.627 there; 0.6275 from the unrounded scores);
// H272 is the only series the test finds non-seasonal.
func TestM4HourlyBenchmarks(t *testing.T) {
	ss, err := series.ReadM4Hourly()
	if err != nil {
		t.Skip(err)
	}
	if len(ss) != 414 {
		t.Fatalf("%d series", len(ss))
	}
	var sn [][]float64
	for _, s := range ss {
		sn = append(sn, SeasonalNaive(s.Train, 24, len(s.Test)))
		if !SeasonalityTest(s.Train, 24) && s.ID != "H272" {
			t.Errorf("%s found non-seasonal", s.ID)
		}
	}
	snaive, naive2, err := ScoreM4(ss, sn, 24)
	if err != nil {
		t.Fatal(err)
	}
	if math.Round(naive2.SMAPE*1000) != 18383 || math.Round(naive2.MASE*1000) != 2395 {
		t.Errorf("Naive2 sMAPE %.4f MASE %.4f, published 18.383 2.395", naive2.SMAPE, naive2.MASE)
	}
	if math.Round(snaive.SMAPE*1000) != 13912 || math.Round(snaive.MASE*1000) != 1193 || math.Abs(snaive.OWA-0.627) > 0.0006 {
		t.Errorf("sNaive sMAPE %.4f MASE %.4f OWA %.4f, published 13.912 1.193 0.627", snaive.SMAPE, snaive.MASE, snaive.OWA)
	}
}

// Short-term forecasting under the M4 protocol on seasonal series with a
// trend, which Naive2 cannot follow: trained models beat it (OWA < 1) and
// the sampler resumes where it stopped.
func TestFitM4(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	var ss []series.M4Series
	for i := range 48 {
		level, slope, phase := 50+10*r.Float64(), 0.3+0.3*r.Float64(), r.IntN(6)
		var v []float64
		for t := range 200 + 12 {
			v = append(v, (level+slope*float64(t))*(1+0.3*math.Sin(2*math.Pi*float64(t+phase)/6))+0.3*r.NormFloat64())
		}
		ss = append(ss, series.M4Series{ID: string(rune('A'+i%26)) + string(rune('a'+i/26)), Train: v[:200], Test: v[200:]})
	}
	for _, arch := range []string{"dlinear", "transformer"} {
		res, err := FitM4(ss, M4Options{Arch: arch, Horizon: 12, Period: 6, DModel: 16, Heads: 2, Layers: 1, Epochs: 30, Batch: 8, LR: 3e-3, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: sMAPE %.3f MASE %.3f OWA %.3f (Naive2 %.3f %.3f), epoch %d", arch, res.Test.SMAPE, res.Test.MASE, res.Test.OWA, res.Naive2.SMAPE, res.Naive2.MASE, res.BestEpoch)
		if len(res.Forecasts) != 48 || len(res.Forecasts[0]) != 12 {
			t.Fatalf("forecasts %d×%d", len(res.Forecasts), len(res.Forecasts[0]))
		}
		if !(res.Test.OWA < 1) {
			t.Errorf("%s: OWA %.3f against Naive2", arch, res.Test.OWA)
		}
	}
	w := &m4Windows{series: [][]float64{ss[0].Train, ss[1].Train}, L: 24, H: 12, limit: 120, rng: tensor.NewRNG(5), batch: 3}
	s := m4Sampler{w}
	s.Next()
	st, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	a := s.Next()
	w2 := &m4Windows{series: w.series, L: 24, H: 12, limit: 120, rng: tensor.NewRNG(9), batch: 3}
	if err := (m4Sampler{w2}).SetState(st); err != nil {
		t.Fatal(err)
	}
	if b := w2.next(); !slices.Equal(a.x.F32(), b.x.F32()) {
		t.Fatal("a resumed sampler draws other windows")
	}
}
