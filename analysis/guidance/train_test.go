package guidance

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// blobs is a seeded two-feature-cluster problem of k classes in dim
// dimensions: class c's mean is a random point, noise 0.3.
func blobs(n, dim, k int, seed uint64) Dataset {
	r := tensor.NewRNG(seed)
	means := make([][]float64, k)
	for c := range means {
		for range dim {
			means[c] = append(means[c], r.Normal())
		}
	}
	d := Dataset{Dim: dim}
	for i := range n {
		c := i % k
		for j := range dim {
			d.X = append(d.X, float32(means[c][j]+0.3*r.Normal()))
		}
		d.Labels = append(d.Labels, c)
	}
	return d
}

func cycle(bs []Batch) func(int, int) Batch {
	return func(ep, s int) Batch { return bs[(ep*1000+s)%len(bs)] }
}

// Training with a guide leaves the guide untouched (no gradients, no
// updates) and moves the target.
func TestGuideFrozen(t *testing.T) {
	d := blobs(64, 10, 3, 1)
	target, _ := NewPlainMLP(10, 8, 3, 3, MLPOptions{BatchNorm: true, Dropout: 0.1}, 2)
	guide, _ := NewResidualMLP(10, 8, 1, 3, 3)
	before := func(m Model) [][]float64 {
		var out [][]float64
		for _, p := range m.Params() {
			out = append(out, slices.Clone(p.Value.Float64s()))
		}
		return out
	}
	g0, t0 := before(guide), before(target)
	bs := d.Batches(16, tensor.NewRNG(4), true)
	if _, err := Train(target, guide, Config{Epochs: 1, StepsPerEpoch: 6, LR: 1e-2, Alpha: 1}, cycle(bs), bs); err != nil {
		t.Fatal(err)
	}
	for i, p := range guide.Params() {
		if !slices.Equal(p.Value.Float64s(), g0[i]) || p.Grad != nil {
			t.Fatalf("guide parameter %s changed or holds a gradient", p.Name)
		}
	}
	moved := 0
	for i, p := range target.Params() {
		if !slices.Equal(p.Value.Float64s(), t0[i]) {
			moved++
		}
	}
	if moved == 0 {
		t.Error("no target parameter moved")
	}
}

// Guidance raises the alignment: after training with a large α the target's
// Σ(1 − CKA) to the guide on held-out inputs is lower than unguided
// training's from the same start.
func TestGuidanceAligns(t *testing.T) {
	d := blobs(256, 12, 4, 5)
	bs := d.Batches(32, tensor.NewRNG(6), true)
	guide, _ := NewResidualMLP(12, 16, 2, 4, 7)
	held := blobs(64, 12, 4, 8).Batches(64, nil, false)[0]
	align := func(m Model) float64 {
		var v float64
		autograd.NoGrad(func() {
			_, tr, _ := m.Forward(held.In)
			_, gr, _ := guide.Forward(held.In)
			a, err := Alignment(tr, gr, EstimatorPlain)
			if err != nil {
				t.Fatal(err)
			}
			v = a.Item()
		})
		return v
	}
	var got []float64
	for _, alpha := range []float64{0, 5} {
		target, _ := NewPlainMLP(12, 16, 4, 4, MLPOptions{BatchNorm: true}, 9)
		var g Model = guide
		if alpha == 0 {
			g = nil
		}
		h, err := Train(target, g, Config{Epochs: 2, StepsPerEpoch: 30, LR: 3e-3, Alpha: alpha}, cycle(bs), bs)
		if err != nil {
			t.Fatal(err)
		}
		if alpha > 0 && !(h.Epochs[1].TrainAlign < h.Epochs[0].TrainAlign) {
			t.Errorf("alignment term did not fall during guided training: %v → %v", h.Epochs[0].TrainAlign, h.Epochs[1].TrainAlign)
		}
		got = append(got, align(target))
	}
	if !(got[1] < got[0]-0.1) {
		t.Errorf("held-out Σ(1 − CKA): unguided %.4f, guided %.4f; want guided clearly lower", got[0], got[1])
	} else {
		t.Logf("held-out Σ(1 − CKA): unguided %.4f, guided %.4f", got[0], got[1])
	}
}

// Unguided training solves an easy problem, and Evaluate's loss and
// accuracy agree with a direct computation.
func TestTrainAndEvaluate(t *testing.T) {
	d := blobs(300, 6, 3, 11)
	bs := d.Batches(30, tensor.NewRNG(12), true)
	m, _ := NewResidualMLP(6, 16, 1, 3, 13)
	h, err := Train(m, nil, Config{Epochs: 3, StepsPerEpoch: 10, LR: 1e-2}, cycle(bs), bs)
	if err != nil {
		t.Fatal(err)
	}
	if f := h.Final(); f.TestAcc < 0.95 || !(f.TestLoss < h.Initial.Loss) {
		t.Errorf("after training: %+v (initial %+v)", f, h.Initial)
	}
	// A direct computation on one batch with an ignored target.
	b := bs[0]
	b.Targets = slices.Clone(b.Targets)
	b.Targets[0] = Ignore
	ev, err := Evaluate(m, []Batch{b})
	if err != nil {
		t.Fatal(err)
	}
	logits, _, _ := m.Forward(b.In)
	lv := logits.Value.Float64s()
	var loss float64
	var n, correct int
	for i, tg := range b.Targets {
		if tg == Ignore {
			continue
		}
		row := lv[i*3 : i*3+3]
		lse := math.Log(math.Exp(row[0]) + math.Exp(row[1]) + math.Exp(row[2]))
		loss += lse - row[tg]
		n++
		if slices.Index(row, slices.Max(row)) == tg {
			correct++
		}
	}
	if math.Abs(ev.Loss-loss/float64(n)) > 1e-6 || ev.Acc != float64(correct)/float64(n) {
		t.Errorf("Evaluate %+v, direct loss %v acc %v", ev, loss/float64(n), float64(correct)/float64(n))
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{Epochs: 1, StepsPerEpoch: 1, LR: 1e-3, Alpha: 1}
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Epochs = 0 }, "epochs"},
		{func(c *Config) { c.StepsPerEpoch = -1 }, "steps per epoch"},
		{func(c *Config) { c.LR = 0 }, "learning rate"},
		{func(c *Config) { c.LR = math.NaN() }, "learning rate"},
		{func(c *Config) { c.WeightDecay = -1 }, "weight decay"},
		{func(c *Config) { c.Alpha = math.Inf(1) }, "α"},
	} {
		cfg := ok
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %q", cfg, err, c.want)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
	if err := (Dataset{Dim: 2, X: []float32{1}, Labels: []int{0}}).Validate(); err == nil {
		t.Error("bad dataset: no error")
	}
}
