// Package hyper trains one hypernetwork over a range of a small
// classifier's hyperparameter, so that one model serves the whole sweep:
// for any value γ in the range the hypernetwork emits the weights of an
// MLP trained for that γ. The hypernetwork is nn.HyperNet, with magnitude
// invariant parametrisations (MIP; "Magnitude Invariant Parametrizations
// Improve Hypernetwork Learning", Ortiz, Guttag, Dalca, arXiv 2304.07645)
// or the default parametrisation. The hyperparameters: the L2 weight
// decay, the mix between cross-entropy and the Brier score, and label
// smoothing; the data: the embedded 8×8 digits or Fashion-MNIST.
package hyper

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/digits"
	"github.com/loomml/loom/data/fashion"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

// The hyperparameters a hypernetwork can range over.
const (
	WeightDecay    = "weight-decay"    // objective CE + γ/2·Σ‖W‖² over the primary weight matrices
	LossMix        = "loss-mix"        // objective (1−γ)·CE + γ·Brier, γ ∈ [0, 1]
	LabelSmoothing = "label-smoothing" // cross-entropy with label smoothing γ ∈ [0, 1)
)

// Params lists the hyperparameter names.
var Params = []string{WeightDecay, LossMix, LabelSmoothing}

// Data sets.
const (
	Digits  = "digits"  // the embedded 8×8 digits (1,797 images; 80 % train, 20 % test)
	Fashion = "fashion" // Fashion-MNIST from idx files (data/fashion)
)

// Config is a hypernetwork over one hyperparameter of an MLP classifier.
type Config struct {
	Data       string `json:"data"`
	FashionDir string `json:"fashion_dir,omitempty"` // "" for data/fashion's default
	// FashionTrain and FashionTest are the Fashion-MNIST images used (the
	// first of each split; 0: 10,000 and 2,000).
	FashionTrain int `json:"fashion_train,omitempty"`
	FashionTest  int `json:"fashion_test,omitempty"`

	Hidden []int   `json:"hidden"` // the classifier's hidden widths (ReLU)
	Param  string  `json:"param"`  // WeightDecay, LossMix or LabelSmoothing
	Lo     float64 `json:"lo"`     // the range of the hyperparameter, lo < hi
	Hi     float64 `json:"hi"`

	HyperHidden     []int  `json:"hyper_hidden"`    // the hypernetwork's hidden widths
	Parametrization string `json:"parametrization"` // nn.HyperMIP, nn.HyperDefault, …

	Steps int     `json:"steps"`
	Batch int     `json:"batch"`
	LR    float64 `json:"lr"` // Adam
	Seed  uint64  `json:"seed"`
}

// Defaults fills unset fields.
func (c Config) Defaults() Config {
	if c.Data == "" {
		c.Data = Digits
	}
	if c.Data == Fashion {
		if c.FashionTrain == 0 {
			c.FashionTrain = 10000
		}
		if c.FashionTest == 0 {
			c.FashionTest = 2000
		}
	}
	if c.Hidden == nil {
		c.Hidden = []int{32}
	}
	if c.Param == "" {
		c.Param = WeightDecay
	}
	if c.HyperHidden == nil {
		c.HyperHidden = []int{16, 64}
	}
	if c.Parametrization == "" {
		c.Parametrization = nn.HyperMIP
	}
	if c.Steps == 0 {
		c.Steps = 2000
	}
	if c.Batch == 0 {
		c.Batch = 64
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	return c
}

// Validate names the first problem with c (after Defaults).
func (c Config) Validate() error {
	switch c.Data {
	case Digits, Fashion:
	default:
		return fmt.Errorf("data %q: want %s or %s", c.Data, Digits, Fashion)
	}
	if c.FashionTrain < 0 || c.FashionTest < 0 {
		return fmt.Errorf("fashion sizes %d and %d: want positive counts", c.FashionTrain, c.FashionTest)
	}
	for _, h := range c.Hidden {
		if h < 1 {
			return fmt.Errorf("hidden width %d: want at least 1", h)
		}
	}
	for _, h := range c.HyperHidden {
		if h < 1 {
			return fmt.Errorf("hypernetwork hidden width %d: want at least 1", h)
		}
	}
	if err := CheckRange(c.Param, c.Lo, c.Hi); err != nil {
		return err
	}
	if err := (nn.HyperNetConfig{Inputs: 1, Outputs: []nn.ParamSpec{{Name: "w", Shape: []int{1}}}, Parametrization: c.Parametrization}).Validate(); err != nil {
		return err
	}
	if c.Steps < 1 || c.Batch < 1 {
		return fmt.Errorf("steps %d, batch %d: want at least 1", c.Steps, c.Batch)
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		return fmt.Errorf("lr %g: want a finite positive learning rate", c.LR)
	}
	return nil
}

// CheckRange names what is wrong with the range [lo, hi] of param: an
// unknown name, a bound that is not finite, an empty range (lo ≥ hi) or a
// bound outside the hyperparameter's domain.
func CheckRange(param string, lo, hi float64) error {
	var dlo, dhi float64
	hiOpen := false
	switch param {
	case WeightDecay:
		dlo, dhi = 0, math.Inf(1)
	case LossMix:
		dlo, dhi = 0, 1
	case LabelSmoothing:
		dlo, dhi, hiOpen = 0, 1, true
	default:
		return fmt.Errorf("unknown hyperparameter %q: want one of %s", param, strings.Join(Params, ", "))
	}
	if math.IsNaN(lo) || math.IsInf(lo, 0) || math.IsNaN(hi) || math.IsInf(hi, 0) {
		return fmt.Errorf("γ range [%g, %g]: the bounds must be finite", lo, hi)
	}
	if lo >= hi {
		return fmt.Errorf("γ range [%g, %g] is empty: want lo < hi", lo, hi)
	}
	if lo < dlo || hi > dhi || (hiOpen && hi == dhi) {
		end := "]"
		if hiOpen {
			end = ")"
		}
		return fmt.Errorf("γ range [%g, %g]: %s must lie in [%g, %g%s", lo, hi, param, dlo, dhi, end)
	}
	return nil
}

// Dataset is a set of flat images and labels.
type Dataset struct {
	X      *tensor.Tensor // [N, D] float32
	Y      []int
	Labels int
}

// N returns the number of examples.
func (d *Dataset) N() int { return len(d.Y) }

// LoadData returns c's training and test sets.
func LoadData(c Config) (train, test *Dataset, err error) {
	switch c.Data {
	case Digits:
		x, y, err := digits.Load()
		if err != nil {
			return nil, nil, err
		}
		n := len(y)
		x = x.Reshape(n, digits.Size*digits.Size)
		perm := tensor.NewRNG(1797).Perm(n) // a fixed split, whatever the seed
		nTrain := n * 4 / 5
		return subset(x, y, perm[:nTrain], digits.Classes), subset(x, y, perm[nTrain:], digits.Classes), nil
	case Fashion:
		tr, err := fashionSet(c.FashionDir, "train", c.FashionTrain)
		if err != nil {
			return nil, nil, err
		}
		te, err := fashionSet(c.FashionDir, "t10k", c.FashionTest)
		return tr, te, err
	}
	return nil, nil, fmt.Errorf("data %q: want %s or %s", c.Data, Digits, Fashion)
}

func fashionSet(dir, split string, n int) (*Dataset, error) {
	s, err := fashion.Load(dir, split)
	if err != nil {
		return nil, err
	}
	n = min(n, s.N)
	d := s.Rows * s.Cols
	x := tensor.New(tensor.Float32, n, d)
	xs := x.F32()
	for i := range n {
		for j, p := range s.Image(i) {
			xs[i*d+j] = float32(p) / 255
		}
	}
	return &Dataset{X: x, Y: append([]int(nil), s.Labels[:n]...), Labels: 10}, nil
}

func subset(x *tensor.Tensor, y []int, idx []int, labels int) *Dataset {
	d := x.Dim(1)
	out := tensor.New(tensor.Float32, len(idx), d)
	src, dst := x.Contiguous().F32(), out.F32()
	ys := make([]int, len(idx))
	for i, k := range idx {
		copy(dst[i*d:(i+1)*d], src[k*d:(k+1)*d])
		ys[i] = y[k]
	}
	return &Dataset{X: out, Y: ys, Labels: labels}
}

// Batch returns the examples idx as a new dataset.
func (d *Dataset) Batch(idx []int) *Dataset { return subset(d.X, d.Y, idx, d.Labels) }

// Model is a hypernetwork and the MLP classifier whose weights it emits.
type Model struct {
	Config  Config `json:"config"`
	In      int    `json:"in"`
	Classes int    `json:"classes"`
	Net     *nn.HyperNet
}

// Specs returns the classifier's parameters: layer.i.weight [out, in] and
// layer.i.bias [out], the last layer's out being classes.
func Specs(in int, hidden []int, classes int) []nn.ParamSpec {
	var s []nn.ParamSpec
	widths := append(append([]int(nil), hidden...), classes)
	for i, w := range widths {
		s = append(s, nn.ParamSpec{Name: fmt.Sprintf("layer.%d.weight", i), Shape: []int{w, in}},
			nn.ParamSpec{Name: fmt.Sprintf("layer.%d.bias", i), Shape: []int{w}})
		in = w
	}
	return s
}

// New returns a model for inputs of width in and classes labels, with
// weights drawn from c.Seed.
func New(c Config, in, classes int) (*Model, error) {
	c = c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if in < 1 || classes < 2 {
		return nil, fmt.Errorf("hyper: %d inputs and %d classes", in, classes)
	}
	net, err := nn.NewHyperNet("hyper", nn.HyperNetConfig{Inputs: 1, Hidden: c.HyperHidden, Outputs: Specs(in, c.Hidden, classes), Parametrization: c.Parametrization}, tensor.NewRNG(c.Seed))
	if err != nil {
		return nil, err
	}
	return &Model{Config: c, In: in, Classes: classes, Net: net}, nil
}

// Unit maps a hyperparameter value in [Lo, Hi] to the hypernetwork's input
// in [0, 1].
func (m *Model) Unit(v float64) float64 { return (v - m.Config.Lo) / (m.Config.Hi - m.Config.Lo) }

// Value maps the hypernetwork's input u ∈ [0, 1] to the hyperparameter.
func (m *Model) Value(u float64) float64 { return m.Config.Lo + u*(m.Config.Hi-m.Config.Lo) }

// CheckValue names a value outside the model's range.
func (m *Model) CheckValue(v float64) error {
	if math.IsNaN(v) || v < m.Config.Lo || v > m.Config.Hi {
		return fmt.Errorf("%s %g is outside the model's range [%g, %g]", m.Config.Param, v, m.Config.Lo, m.Config.Hi)
	}
	return nil
}

// Weights returns the classifier's parameters for hyperparameter value v
// (on the tape).
func (m *Model) Weights(v float64) ([]*autograd.Var, error) {
	if err := m.CheckValue(v); err != nil {
		return nil, err
	}
	return m.Net.Emit([]float64{min(1, max(0, m.Unit(v)))})
}

// Logits runs the classifier with parameters theta on x [B, In].
func Logits(theta []*autograd.Var, x *autograd.Var) *autograd.Var {
	for i := 0; i < len(theta); i += 2 {
		x = autograd.Linear(x, theta[i], theta[i+1])
		if i+2 < len(theta) {
			x = autograd.Relu(x)
		}
	}
	return x
}

// Terms is what the objective is made of on a batch.
type Terms struct {
	Objective float64 // the loss the hypernetwork minimises at this γ
	CE        float64 // plain cross-entropy
	Accuracy  float64
}

// objective returns the loss at hyperparameter value v.
func (m *Model) objective(theta []*autograd.Var, logits *autograd.Var, y []int, v float64) *autograd.Var {
	switch m.Config.Param {
	case WeightDecay:
		loss := autograd.CrossEntropy(logits, y, -1, 0)
		var sq *autograd.Var
		for i := 0; i < len(theta); i += 2 {
			s := autograd.Sum(autograd.Mul(theta[i], theta[i]), false)
			if sq == nil {
				sq = s
			} else {
				sq = autograd.Add(sq, s)
			}
		}
		return autograd.Add(loss, autograd.MulScalar(sq, v/2))
	case LossMix:
		ce := autograd.CrossEntropy(logits, y, -1, 0)
		p := autograd.Softmax(logits, -1)
		onehot := tensor.New(p.Value.DType(), p.Shape()...)
		oh := onehot.F32()
		for i, c := range y {
			oh[i*m.Classes+c] = 1
		}
		d := autograd.Sub(p, autograd.Const(onehot))
		brier := autograd.MulScalar(autograd.Sum(autograd.Mul(d, d), false), 1/float64(len(y)))
		return autograd.Add(autograd.MulScalar(ce, 1-v), autograd.MulScalar(brier, v))
	default: // LabelSmoothing
		return autograd.CrossEntropy(logits, y, -1, v)
	}
}

// Evaluate returns the objective, cross-entropy and accuracy at value v on
// d (without gradients).
func (m *Model) Evaluate(v float64, d *Dataset) (Terms, error) {
	var t Terms
	var err error
	autograd.NoGrad(func() {
		var theta []*autograd.Var
		if theta, err = m.Weights(v); err != nil {
			return
		}
		logits := Logits(theta, autograd.Const(d.X))
		t.Objective = m.objective(theta, logits, d.Y, v).Item()
		t.CE = autograd.CrossEntropy(logits, d.Y, -1, 0).Item()
		lv := logits.Value.Float64s()
		right := 0
		for i, y := range d.Y {
			row := lv[i*m.Classes : (i+1)*m.Classes]
			best := 0
			for c := range row {
				if row[c] > row[best] {
					best = c
				}
			}
			if best == y {
				right++
			}
		}
		t.Accuracy = float64(right) / float64(len(d.Y))
	})
	return t, err
}

// ThetaNorm returns ‖θ‖ (all emitted parameters) at value v.
func (m *Model) ThetaNorm(v float64) (float64, error) {
	var s float64
	var err error
	autograd.NoGrad(func() {
		var theta []*autograd.Var
		if theta, err = m.Weights(v); err != nil {
			return
		}
		for _, p := range theta {
			for _, x := range p.Value.Float64s() {
				s += x * x
			}
		}
	})
	return math.Sqrt(s), err
}

// TrainOptions controls Train.
type TrainOptions struct {
	// EvalEvery > 0 calls OnEval after step 0 (before training) and every
	// EvalEvery steps and after the last.
	EvalEvery int
	OnEval    func(step int) error
	Progress  io.Writer // a line every tenth of the run (nil: none)
}

// Train fits the hypernetwork on train: each step draws γ uniformly from
// the range (u ~ U[0, 1] at the hypernetwork's input), a batch of examples
// (epochs of a shuffled order), and takes one Adam step on the objective at
// γ. It returns the training objective of every step.
func (m *Model) Train(train *Dataset, o TrainOptions) ([]float64, error) {
	c := m.Config
	if train.N() == 0 {
		return nil, fmt.Errorf("hyper: no training examples")
	}
	params := m.Net.Params()
	opt := optim.NewAdam([]*optim.Group{{Params: params, LR: c.LR}})
	rng := tensor.NewRNG(c.Seed ^ 0x9e3779b97f4a7c15)
	var order []int
	at := 0
	losses := make([]float64, 0, c.Steps)
	eval := func(step int) error {
		if o.OnEval != nil && o.EvalEvery > 0 {
			return o.OnEval(step)
		}
		return nil
	}
	if err := eval(0); err != nil {
		return nil, err
	}
	for step := 1; step <= c.Steps; step++ {
		idx := make([]int, 0, c.Batch)
		for len(idx) < min(c.Batch, train.N()) {
			if at == len(order) {
				order, at = rng.Perm(train.N()), 0
			}
			idx = append(idx, order[at])
			at++
		}
		u := rng.Float64()
		v := m.Value(u)
		b := train.Batch(idx)
		theta, err := m.Net.Emit([]float64{u})
		if err != nil {
			return nil, err
		}
		loss := m.objective(theta, Logits(theta, autograd.Const(b.X)), b.Y, v)
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		l := loss.Item()
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return losses, fmt.Errorf("hyper: the loss is %g at step %d (γ = %g): lower the learning rate", l, step, v)
		}
		losses = append(losses, l)
		if o.Progress != nil && (step%max(1, c.Steps/10) == 0 || step == c.Steps) {
			fmt.Fprintf(o.Progress, "hyper: step %d/%d, loss %.4f (γ = %.4g)\n", step, c.Steps, l, v)
		}
		if o.EvalEvery > 0 && (step%o.EvalEvery == 0 || step == c.Steps) {
			if err := eval(step); err != nil {
				return losses, err
			}
		}
	}
	return losses, nil
}

// SaveConfig is what config.json holds.
type savedConfig struct {
	Config  Config `json:"config"`
	In      int    `json:"in"`
	Classes int    `json:"classes"`
}

// Save writes the model to the existing directory dir (config.json and
// model.safetensors).
func Save(m *Model, dir string) error {
	return nn.SaveModelDir(dir, savedConfig{m.Config, m.In, m.Classes}, m.Net.Params(), map[string]string{"format": "loom-hyper"})
}

// Load reads a model saved by Save.
func Load(dir string) (*Model, error) {
	var sc savedConfig
	file, d, err := nn.ReadModelConfig(dir, &sc)
	if err != nil {
		return nil, err
	}
	m, err := New(sc.Config, sc.In, sc.Classes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := nn.LoadModelWeights(d, m.Net.Params()); err != nil {
		return nil, err
	}
	return m, nil
}
