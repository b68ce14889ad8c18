package hypino

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/sciml/pde"
	"github.com/loomml/loom/tensor"
)

func tinyConfig() Config {
	return Config{Grid: 8, Patch: 4, Dim: 16, Layers: 1, Heads: 2, MLP: 32, Head: []int{16},
		PINN: PINNConfig{Features: 4, Scale: 1.5, Hidden: []int{8}, Seed: 1}, Param: nn.HyperResidual, Seed: 2}
}

var tinySizes = Sizes{Grid: 8, Interior: 32, Boundary: 16, Eval: 9, FDGrid: 17}

// Training on manufactured instances lowers the loss, and the zero-shot
// error on held-out instances falls.
func TestTrainLowersLoss(t *testing.T) {
	m, err := New(tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 5))
	var test []*Instance
	for _, f := range pde.Families {
		in, err := SampleManufactured(f, r, tinySizes)
		if err != nil {
			t.Fatal(err)
		}
		test = append(test, in)
	}
	meanErr := func() float64 {
		s := 0.0
		for _, in := range test {
			e, err := m.Predict(in)
			if err != nil {
				t.Fatal(err)
			}
			v, err := m.RelL2(e, in)
			if err != nil {
				t.Fatal(err)
			}
			s += v
		}
		return s / float64(len(test))
	}
	before := meanErr()
	var losses []float64
	err = m.Train(TrainConfig{Steps: 60, Batch: 4, LR: 3e-3, Sizes: tinySizes, Families: pde.Families, Seed: 1}, func(_ int, l Losses) { losses = append(losses, l.Total) })
	if err != nil {
		t.Fatal(err)
	}
	first, last := 0.0, 0.0
	for i := range 10 {
		first += losses[i]
		last += losses[len(losses)-1-i]
	}
	if !(last < 0.7*first) {
		t.Errorf("loss of the last 10 steps %.3f, first 10 %.3f: want a drop of 30 %%", last/10, first/10)
	}
	after := meanErr()
	if !(after < before) {
		t.Errorf("zero-shot relative L2 %.3f before training, %.3f after", before, after)
	}
	// A refinement step runs and gives a finite error.
	e, _ := m.Predict(test[0])
	if err := m.Refine(e, test[0], 2, true); err != nil {
		t.Fatal(err)
	}
	if v, err := m.RelL2(e, test[0]); err != nil || math.IsNaN(v) || len(e.Thetas) != 3 {
		t.Errorf("refined: error %v (%v), %d networks", v, err, len(e.Thetas))
	}
}

// At initialisation the head's output bias θ₀ is a PINN initialisation
// (zero biases) and fitting a PINN from it lowers the error.
func TestInitAndFit(t *testing.T) {
	m, err := New(tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	t0 := m.Head.Theta0().Value.Float64s()
	if len(t0) != m.PINN.NumParams() {
		t.Fatalf("θ₀ has %d values, the PINN %d", len(t0), m.PINN.NumParams())
	}
	off := 0
	for _, s := range m.PINN.Specs() {
		if strings.HasSuffix(s.Name, "bias") {
			for _, v := range t0[off : off+s.Size()] {
				if v != 0 {
					t.Fatalf("θ₀ of %s is not zero", s.Name)
				}
			}
		}
		off += s.Size()
	}
	r := rand.New(rand.NewPCG(2, 2))
	in, err := SampleBumps(pde.Poisson, r, tinySizes)
	if err != nil {
		t.Fatal(err)
	}
	curve, err := m.FitPINN(m.PINN.Init(1, tensor.NewRNG(3), tensor.Float32), in, FitOptions{Steps: 150, LR: 1e-2, EvalEvery: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(curve) != 4 || !(curve[3].Err < curve[0].Err) {
		t.Errorf("fit curve %v: want 4 points and a falling error", curve)
	}
}

func TestModelErrors(t *testing.T) {
	m, _ := New(tinyConfig())
	err := m.Train(TrainConfig{Steps: 1, Batch: 1, LR: 1e-3, Sizes: tinySizes, Families: []string{"wave"}}, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown PDE family "wave"`) {
		t.Errorf("unknown family: %v", err)
	}
	err = m.Train(TrainConfig{Steps: 1, Batch: 1, LR: math.NaN(), Sizes: tinySizes, Families: pde.Families}, nil)
	if err == nil || !strings.Contains(err.Error(), "learning rate") {
		t.Errorf("NaN learning rate: %v", err)
	}
	c := tinyConfig()
	c.Patch = 3
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "patch 3") {
		t.Errorf("patch 3 on grid 8: %v", err)
	}
	c = tinyConfig()
	c.PINN.Scale = math.Inf(1)
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "Fourier scale") {
		t.Errorf("infinite Fourier scale: %v", err)
	}
	if _, err := SampleManufactured("heat", rand.New(rand.NewPCG(1, 1)), tinySizes); err == nil {
		t.Error("unknown family sampled")
	}
}

// TestTiming (HYPINO_TIME=1) prints the cost of a default-size step.
func TestTiming(t *testing.T) {
	if os.Getenv("HYPINO_TIME") == "" {
		t.Skip("HYPINO_TIME not set")
	}
	m, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := Sizes{Grid: 32, Interior: 128, Boundary: 64, Eval: 33, FDGrid: 65}
	start := time.Now()
	err = m.Train(TrainConfig{Steps: 20, Batch: 8, LR: 1e-3, Sizes: s, Families: pde.Families, Seed: 1}, func(i int, l Losses) { t.Logf("%d %+v", i, l) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("20 steps: %v; %d parameters", time.Since(start), len(m.Params()))
}
