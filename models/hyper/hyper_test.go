package hyper

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
)

func TestCheckRange(t *testing.T) {
	cases := []struct {
		param  string
		lo, hi float64
		want   string // "" for no error
	}{
		{WeightDecay, 0, 0.01, ""},
		{LossMix, 0, 1, ""},
		{LabelSmoothing, 0, 0.3, ""},
		{"dropout", 0, 1, `unknown hyperparameter "dropout"`},
		{WeightDecay, 0.01, 0.01, "is empty"},
		{WeightDecay, 0.02, 0.01, "is empty"},
		{WeightDecay, math.NaN(), 1, "finite"},
		{WeightDecay, 0, math.Inf(1), "finite"},
		{WeightDecay, -1, 1, "must lie in [0, +Inf]"},
		{LossMix, 0, 1.5, "must lie in [0, 1]"},
		{LabelSmoothing, 0, 1, "must lie in [0, 1)"},
	}
	for _, c := range cases {
		err := CheckRange(c.param, c.lo, c.hi)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s [%g, %g]: %v", c.param, c.lo, c.hi, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s [%g, %g]: error %v, want %q", c.param, c.lo, c.hi, err, c.want)
		}
	}
}

func tinyData(t *testing.T) (*Dataset, *Dataset) {
	t.Helper()
	train, test, err := LoadData(Config{Data: Digits})
	if err != nil {
		t.Fatal(err)
	}
	if train.N() != 1437 || test.N() != 360 || train.X.Dim(1) != 64 {
		t.Fatalf("digits split %d/%d, width %d", train.N(), test.N(), train.X.Dim(1))
	}
	return train, test
}

// The objectives against their definitions, computed by hand from the
// emitted weights.
func TestObjectives(t *testing.T) {
	train, _ := tinyData(t)
	b := train.Batch([]int{0, 1, 2, 3, 4, 5, 6, 7})
	for _, c := range []struct {
		param string
		v     float64
	}{{WeightDecay, 0.03}, {LossMix, 0.4}, {LabelSmoothing, 0.2}} {
		m, err := New(Config{Param: c.param, Lo: 0, Hi: 0.5, Hidden: []int{8}, Seed: 2}, 64, 10)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Evaluate(c.v, b)
		if err != nil {
			t.Fatal(err)
		}
		theta, _ := m.Weights(c.v)
		logits := Logits(theta, autograd.Const(b.X)).Value.Float64s()
		var ce, brier, smooth float64
		for i, y := range b.Y {
			row := logits[i*10 : (i+1)*10]
			mx := row[0]
			for _, z := range row {
				mx = math.Max(mx, z)
			}
			var z float64
			for _, r := range row {
				z += math.Exp(r - mx)
			}
			lse := mx + math.Log(z)
			ce += lse - row[y]
			var meanNLL float64
			for k, r := range row {
				p := math.Exp(r - lse)
				d := p
				if k == y {
					d = p - 1
				}
				brier += d * d
				meanNLL += (lse - r) / 10
			}
			smooth += (1-c.v)*(lse-row[y]) + c.v*meanNLL
		}
		n := float64(len(b.Y))
		ce, brier, smooth = ce/n, brier/n, smooth/n
		var want float64
		switch c.param {
		case WeightDecay:
			var sq float64
			for i := 0; i < len(theta); i += 2 {
				for _, w := range theta[i].Value.Float64s() {
					sq += w * w
				}
			}
			want = ce + c.v/2*sq
		case LossMix:
			want = (1-c.v)*ce + c.v*brier
		case LabelSmoothing:
			want = smooth
		}
		if math.Abs(got.Objective-want) > 1e-4*math.Max(1, want) {
			t.Errorf("%s at %g: objective %.6f, want %.6f", c.param, c.v, got.Objective, want)
		}
		if math.Abs(got.CE-ce) > 1e-4 {
			t.Errorf("%s: CE %.6f, want %.6f", c.param, got.CE, ce)
		}
	}
}

// Training lowers the objective over the whole range, the model serves
// every value of it, the weight norm falls as the decay grows, and a saved
// model gives the same predictions.
func TestTrainSaveLoad(t *testing.T) {
	train, test := tinyData(t)
	steps := 400
	if testing.Short() {
		steps = 150
	}
	m, err := New(Config{Param: WeightDecay, Lo: 0, Hi: 0.05, Steps: steps, Batch: 32, LR: 3e-3, Seed: 1}, 64, 10)
	if err != nil {
		t.Fatal(err)
	}
	grid := []float64{0, 0.025, 0.05}
	before := make([]float64, len(grid))
	for i, v := range grid {
		r, _ := m.Evaluate(v, train)
		before[i] = r.Objective
	}
	evals := 0
	losses, err := m.Train(train, TrainOptions{EvalEvery: 100, OnEval: func(int) error { evals++; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if len(losses) != steps || evals != 1+(steps+99)/100 {
		t.Fatalf("%d losses, %d evaluations", len(losses), evals)
	}
	norms := make([]float64, len(grid))
	for i, v := range grid {
		r, _ := m.Evaluate(v, train)
		if r.Objective > 0.5*before[i] {
			t.Errorf("γ = %g: objective %.3f after training, %.3f before", v, r.Objective, before[i])
		}
		te, _ := m.Evaluate(v, test)
		if te.Accuracy < 0.8 {
			t.Errorf("γ = %g: test accuracy %.3f", v, te.Accuracy)
		}
		norms[i], _ = m.ThetaNorm(v)
	}
	if !(norms[0] > norms[2]) {
		t.Errorf("‖θ‖ over γ %v: %v, want it to fall as the decay grows", grid, norms)
	}
	dir := t.TempDir()
	if err := Save(m, dir); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range grid {
		a, _ := m.Evaluate(v, test)
		b, _ := m2.Evaluate(v, test)
		if a != b {
			t.Errorf("γ = %g: %+v before saving, %+v after loading", v, a, b)
		}
	}
	if _, err := m2.Weights(0.06); err == nil || !strings.Contains(err.Error(), "outside the model's range") {
		t.Errorf("value outside the range: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		c    Config
		want string
	}{
		{Config{Data: "mnist", Lo: 0, Hi: 1}, `data "mnist"`},
		{Config{Param: LossMix, Lo: 0.5, Hi: 0.5}, "is empty"},
		{Config{Lo: 0, Hi: 1, Parametrization: "x"}, "unknown parametrization"},
		{Config{Lo: 0, Hi: 1, Hidden: []int{0}}, "hidden width 0"},
		{Config{Lo: 0, Hi: 1, LR: math.Inf(1)}, "lr"},
	}
	for _, c := range cases {
		if _, err := New(c.c, 64, 10); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.c, err, c.want)
		}
	}
	if got := (Config{}).Defaults().Parametrization; got != nn.HyperMIP {
		t.Errorf("default parametrization %q", got)
	}
}
