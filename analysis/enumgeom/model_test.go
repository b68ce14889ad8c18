package enumgeom

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func smallSet(t *testing.T) []Point {
	t.Helper()
	ps, err := Enumerate(2, 4)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// No positional encoding: the prediction depends on the d_i as a set.
func TestModelSetInvariance(t *testing.T) {
	for _, act := range []string{"dra", "relu", "gelu", "snake"} {
		m, err := NewModel(ModelConfig{Act: act, Dim: 8, Heads: 2, Layers: 2}, 3)
		if err != nil {
			t.Fatal(err)
		}
		p := Point{G: 3, D: []int{0, 1, 2, 5, 4}}
		q := Point{G: 3, D: []int{4, 2, 5, 0, 1}}
		r := Point{G: 3, D: []int{0, 1, 2, 4, 6}}
		out := m.Predict([]Point{p, q, r})
		if math.Abs(out[0]-out[1]) > 1e-5*math.Max(1, math.Abs(out[0])) {
			t.Errorf("%s: %v and %v for the same multiset", act, out[0], out[1])
		}
		if out[0] == out[2] {
			t.Errorf("%s: different multisets give the same output %v", act, out[0])
		}
	}
}

// Training on a small set drives the error far below predicting the mean.
func TestModelFits(t *testing.T) {
	ps := smallSet(t)
	ys := make([]float64, len(ps))
	for i, p := range ps {
		ys[i] = p.Log
	}
	mu, _ := meanStd(ys)
	base := 0.0
	for _, y := range ys {
		base += math.Abs(y - mu)
	}
	base /= float64(len(ys))
	for _, act := range []string{"dra", "relu", "gelu", "snake"} {
		m, err := NewModel(ModelConfig{Act: act, Dim: 16, Heads: 2, Layers: 1}, 11)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Fit(ps, TrainConfig{Epochs: 150, Batch: 8, LR: 3e-3, Clip: 10, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		e := Score(ps, m.Predict(ps))
		if !(e.MAE < 0.25*base) {
			t.Errorf("%s: training MAE %.3f, predicting the mean gives %.3f", act, e.MAE, base)
		}
	}
}

func TestModelDeterministic(t *testing.T) {
	ps := smallSet(t)
	run := func() []float64 {
		m, err := NewModel(ModelConfig{Act: "dra", Dim: 8, Heads: 2, Layers: 1}, 5)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Fit(ps, TrainConfig{Epochs: 3, Batch: 4, LR: 1e-3, Seed: 9}); err != nil {
			t.Fatal(err)
		}
		return m.Predict(ps)
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Error("same seeds, different predictions")
	}
}

func TestModelErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  ModelConfig
		want string
	}{
		{ModelConfig{Act: "relu", Dim: 0, Heads: 1, Layers: 1}, "width"},
		{ModelConfig{Act: "relu", Dim: 6, Heads: 4, Layers: 1}, "heads"},
		{ModelConfig{Act: "relu", Dim: 8, Heads: 2, Layers: 0}, "layers"},
		{ModelConfig{Act: "relu", Dim: 8, Heads: 2, Layers: 1, Hidden: -1}, "feed-forward"},
		{ModelConfig{Act: "nope", Dim: 8, Heads: 2, Layers: 1}, "nope"},
	} {
		_, err := NewModel(c.cfg, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %q", c.cfg, err, c.want)
		}
	}
	m, err := NewModel(ModelConfig{Act: "relu", Dim: 8, Heads: 2, Layers: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ps := smallSet(t)
	for _, c := range []struct {
		ps   []Point
		cfg  TrainConfig
		want string
	}{
		{ps, TrainConfig{Epochs: 0, Batch: 1, LR: 1}, "epochs"},
		{ps, TrainConfig{Epochs: 1, Batch: 0, LR: 1}, "batch"},
		{ps, TrainConfig{Epochs: 1, Batch: 1, LR: 0}, "learning rate"},
		{ps, TrainConfig{Epochs: 1, Batch: 1, LR: 1, Clip: -1}, "clip"},
		{nil, TrainConfig{Epochs: 1, Batch: 1, LR: 1}, "no training points"},
		{[]Point{{G: 1, D: nil, Log: 0}}, TrainConfig{Epochs: 1, Batch: 1, LR: 1}, "no points"},
	} {
		if _, err := m.Fit(c.ps, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Fit(%+v): error %v, want one naming %q", c.cfg, err, c.want)
		}
	}
}

func TestScore(t *testing.T) {
	ps := []Point{{Log: 1}, {Log: 2}, {Log: 3}}
	e := Score(ps, []float64{1, 2, 5})
	if e.MAE != 2.0/3 || math.Abs(e.RMSE-math.Sqrt(4.0/3)) > 1e-12 || math.Abs(e.R2-(1-4.0/2)) > 1e-12 || e.N != 3 {
		t.Errorf("Score = %+v", e)
	}
	if e := Score(ps, []float64{1}); !math.IsNaN(e.MAE) {
		t.Errorf("mismatched lengths scored: %+v", e)
	}
}
