package enumgeom

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

// The model is the paper's DynamicFormer (model/TR_ABCD2seq.py, ampTR) cut
// to what trains in a minute on a CPU core: its partition branch only
// (the d_i as a set of tokens, (g, n) mixed into every token as the
// official perm_embedding does with modulation "+", no positional encoding),
// a pre-norm Transformer encoder with RMSNorm, the chosen activation in
// the token MLP, in every feed-forward block (the official ff_dra) and in
// the head, mean pooling in place of the official LePNA aggregator, and an
// L1 loss on the logarithm as the official training loop. The official
// model's second branch (the quantum Airy structure's B and C tensors),
// its memory tokens, dropout and Barlow-twins term are left out.

// ModelConfig sizes the model.
type ModelConfig struct {
	Act    string // activation of every non-linear slot: "dra", "relu", "gelu", "snake", … (nn.NewActivation)
	Dim    int    // token width
	Heads  int    // attention heads (Dim must divide)
	Layers int    // encoder blocks
	Hidden int    // feed-forward width (0: 4·Dim)
}

// Validate checks the sizes.
func (c ModelConfig) Validate() error {
	switch {
	case c.Dim < 1:
		return fmt.Errorf("enumgeom: model width %d, want ≥ 1", c.Dim)
	case c.Heads < 1 || c.Dim%c.Heads != 0:
		return fmt.Errorf("enumgeom: %d heads, want a divisor of the width %d", c.Heads, c.Dim)
	case c.Layers < 1:
		return fmt.Errorf("enumgeom: %d layers, want ≥ 1", c.Layers)
	case c.Hidden < 0:
		return fmt.Errorf("enumgeom: feed-forward width %d, want ≥ 0 (0: 4·width)", c.Hidden)
	}
	return nil
}

type block struct {
	n1, n2 nn.Norm
	attn   *nn.Attention
	w1, w2 *nn.Linear
	act    nn.Activation
}

// Model regresses ln⟨τ_{d1}…τ_{dn}⟩_g.
type Model struct {
	cfg            ModelConfig
	in1, in2       *nn.Linear
	inAct          nn.Activation
	blocks         []block
	headNorm       nn.Norm
	head1, head2   *nn.Linear
	headAct        nn.Activation
	dS, gS, nS     float64 // input scales (the training set's largest d, g, n)
	yMean, yStd    float64 // target standardisation (training set)
	fitted         bool
	activationName string
}

// NewModel builds a model with weights drawn from seed.
func NewModel(c ModelConfig, seed uint64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Hidden == 0 {
		c.Hidden = 4 * c.Dim
	}
	rng := tensor.NewRNG(seed)
	act := func(prefix string, dim int) (nn.Activation, error) {
		a, err := nn.NewActivation(c.Act, nn.ActivationConfig{Prefix: prefix, Dim: dim, Init: nn.Init{RNG: rng, Std: 1}})
		if err != nil {
			return nil, fmt.Errorf("enumgeom: activation %q: %w", c.Act, err)
		}
		return a, nil
	}
	m := &Model{cfg: c, activationName: c.Act, dS: 1, gS: 1, nS: 1, yStd: 1}
	var err error
	m.in1 = nn.NewTorchLinear("in1", 3, c.Dim, true, rng)
	if m.inAct, err = act("in_act", c.Dim); err != nil {
		return nil, err
	}
	m.in2 = nn.NewTorchLinear("in2", c.Dim, c.Dim, true, rng)
	for l := range c.Layers {
		p := fmt.Sprintf("blocks.%d.", l)
		var b block
		if b.n1, err = nn.NewNorm("rmsnorm", nn.NormConfig{Prefix: p + "norm1", Dim: c.Dim, Eps: 1e-6}); err != nil {
			return nil, err
		}
		if b.n2, err = nn.NewNorm("rmsnorm", nn.NormConfig{Prefix: p + "norm2", Dim: c.Dim, Eps: 1e-6}); err != nil {
			return nil, err
		}
		if b.attn, err = nn.NewAttention(nn.AttentionConfig{Prefix: p + "attn", Dim: c.Dim, Heads: c.Heads, Kind: nn.Bidirectional,
			Init: nn.Init{RNG: rng, Std: 1 / math.Sqrt(float64(c.Dim))}}); err != nil {
			return nil, err
		}
		b.w1 = nn.NewTorchLinear(p+"ffn.w1", c.Dim, c.Hidden, true, rng)
		if b.act, err = act(p+"ffn.act", c.Hidden); err != nil {
			return nil, err
		}
		b.w2 = nn.NewTorchLinear(p+"ffn.w2", c.Hidden, c.Dim, true, rng)
		m.blocks = append(m.blocks, b)
	}
	if m.headNorm, err = nn.NewNorm("rmsnorm", nn.NormConfig{Prefix: "head_norm", Dim: c.Dim, Eps: 1e-6}); err != nil {
		return nil, err
	}
	m.head1 = nn.NewTorchLinear("head1", c.Dim, c.Dim, true, rng)
	if m.headAct, err = act("head_act", c.Dim); err != nil {
		return nil, err
	}
	m.head2 = nn.NewTorchLinear("head2", c.Dim, 1, true, rng)
	return m, nil
}

// Params returns every trainable parameter.
func (m *Model) Params() []*autograd.Var {
	mods := []nn.Module{m.in1, m.inAct, m.in2}
	for _, b := range m.blocks {
		mods = append(mods, b.n1, b.attn, b.n2, b.w1, b.act, b.w2)
	}
	mods = append(mods, m.headNorm, m.head1, m.headAct, m.head2)
	return nn.Collect(mods...)
}

// forward maps a batch of points with the same n to standardised
// predictions [B].
func (m *Model) forward(ps []Point) *autograd.Var {
	B, n := len(ps), ps[0].N()
	x := tensor.New(tensor.Float32, B, n, 3)
	f := x.F32()
	for b, p := range ps {
		for i, d := range p.D {
			o := (b*n + i) * 3
			f[o] = float32(float64(d) / m.dS)
			f[o+1] = float32(float64(p.G) / m.gS)
			f[o+2] = float32(float64(n) / m.nS)
		}
	}
	h := m.in2.Forward(m.inAct.Apply(m.in1.Forward(autograd.Const(x)))) // [B, n, D]
	for _, b := range m.blocks {
		h = autograd.Add(h, b.attn.Forward(nil, b.n1.Forward(h)))
		h = autograd.Add(h, b.w2.Forward(b.act.Apply(b.w1.Forward(b.n2.Forward(h)))))
	}
	pooled := autograd.Mean(h, false, 1) // [B, D]
	out := m.head2.Forward(m.headAct.Apply(m.head1.Forward(m.headNorm.Forward(pooled))))
	return autograd.Reshape(out, B)
}

// TrainConfig sets the optimisation.
type TrainConfig struct {
	Epochs      int
	Batch       int
	LR          float64 // AdamW's peak rate (cosine decay to 0 after 5 % warm-up)
	WeightDecay float64
	Clip        float64 // gradient-norm clip (0: none)
	Seed        uint64  // batch order
	// Progress, when set, is called after every epoch with its mean loss.
	Progress func(epoch int, loss float64)
}

// Validate checks the settings.
func (c TrainConfig) Validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("enumgeom: %d epochs, want ≥ 1", c.Epochs)
	case c.Batch < 1:
		return fmt.Errorf("enumgeom: batch %d, want ≥ 1", c.Batch)
	case !(c.LR > 0):
		return fmt.Errorf("enumgeom: learning rate %v, want > 0", c.LR)
	case c.WeightDecay < 0 || c.Clip < 0:
		return fmt.Errorf("enumgeom: weight decay %v and clip %v, want ≥ 0", c.WeightDecay, c.Clip)
	}
	return nil
}

// byN groups point indices by n (ascending n).
func byN(ps []Point) [][]int {
	idx := map[int][]int{}
	var ns []int
	for i, p := range ps {
		if _, ok := idx[p.N()]; !ok {
			ns = append(ns, p.N())
		}
		idx[p.N()] = append(idx[p.N()], i)
	}
	slices.Sort(ns)
	out := make([][]int, len(ns))
	for i, n := range ns {
		out[i] = idx[n]
	}
	return out
}

// Fit trains the model on ps (batches hold points of equal n, so no
// padding is needed) and returns the last epoch's mean L1 loss on the
// standardised targets. The input scales and the target standardisation
// come from ps.
func (m *Model) Fit(ps []Point, c TrainConfig) (float64, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	if len(ps) == 0 {
		return 0, errors.New("enumgeom: no training points")
	}
	var ys []float64
	m.dS, m.gS, m.nS = 1, 1, 1
	for _, p := range ps {
		if p.N() == 0 || math.IsNaN(p.Log) || math.IsInf(p.Log, 0) {
			return 0, fmt.Errorf("enumgeom: training point ⟨%v⟩_%d has no points or a non-finite log", p.D, p.G)
		}
		m.gS = max(m.gS, float64(p.G))
		m.nS = max(m.nS, float64(p.N()))
		m.dS = max(m.dS, float64(slices.Max(p.D)))
		ys = append(ys, p.Log)
	}
	mu, sd := meanStd(ys)
	m.yMean, m.yStd = mu, max(sd, 1e-9)
	m.fitted = true

	params := m.Params()
	opt := optim.NewAdamW([]*optim.Group{{Params: params, LR: c.LR, WeightDecay: c.WeightDecay}})
	groups := byN(ps)
	rng := tensor.NewRNG(c.Seed)
	perEpoch := 0
	for _, g := range groups {
		perEpoch += (len(g) + c.Batch - 1) / c.Batch
	}
	total, warm := c.Epochs*perEpoch, max(1, c.Epochs*perEpoch/20)
	step := 0
	var last float64
	for e := range c.Epochs {
		var batches [][]int
		for _, g := range groups {
			order := rng.Perm(len(g))
			for lo := 0; lo < len(g); lo += c.Batch {
				var b []int
				for _, j := range order[lo:min(len(g), lo+c.Batch)] {
					b = append(b, g[j])
				}
				batches = append(batches, b)
			}
		}
		perm := rng.Perm(len(batches))
		sum, cnt := 0.0, 0
		for _, bi := range perm {
			b := batches[bi]
			bp := make([]Point, len(b))
			tgt := tensor.New(tensor.Float32, len(b))
			for i, j := range b {
				bp[i] = ps[j]
				tgt.F32()[i] = float32((ps[j].Log - m.yMean) / m.yStd)
			}
			scale := 1.0
			if step < warm {
				scale = float64(step+1) / float64(warm)
			} else {
				scale = 0.5 * (1 + math.Cos(math.Pi*float64(step-warm)/float64(max(1, total-warm))))
			}
			opt.SetLRScale(scale)
			opt.ZeroGrad()
			loss := autograd.L1Loss(m.forward(bp), autograd.Const(tgt))
			l := loss.Item()
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return l, fmt.Errorf("enumgeom: %s: loss is %v at epoch %d", m.activationName, l, e+1)
			}
			loss.Backward()
			if c.Clip > 0 {
				optim.ClipGradNorm(params, c.Clip)
			}
			opt.Step()
			step++
			sum += l * float64(len(b))
			cnt += len(b)
		}
		last = sum / float64(cnt)
		if c.Progress != nil {
			c.Progress(e+1, last)
		}
	}
	return last, nil
}

// Predict returns the model's ln⟨…⟩ for each point, in the order of ps.
func (m *Model) Predict(ps []Point) []float64 {
	out := make([]float64, len(ps))
	autograd.NoGrad(func() {
		for _, g := range byN(ps) {
			for lo := 0; lo < len(g); lo += 256 {
				idx := g[lo:min(len(g), lo+256)]
				bp := make([]Point, len(idx))
				for i, j := range idx {
					bp[i] = ps[j]
				}
				v := m.forward(bp).Value.Float64s()
				for i, j := range idx {
					out[j] = v[i]*m.yStd + m.yMean
				}
			}
		}
	})
	return out
}

func meanStd(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	mu := s / float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - mu) * (x - mu)
	}
	if len(xs) > 1 {
		v /= float64(len(xs) - 1)
	}
	return mu, math.Sqrt(v)
}

// Errors are a prediction's errors against the truth, in natural-log units.
type Errors struct {
	MAE, RMSE, R2 float64
	N             int
}

// Score compares predictions of ln⟨…⟩ with the points' true logs.
func Score(ps []Point, pred []float64) Errors {
	var e Errors
	e.N = len(ps)
	if e.N == 0 || len(pred) != len(ps) {
		return Errors{MAE: math.NaN(), RMSE: math.NaN(), R2: math.NaN()}
	}
	ys := make([]float64, len(ps))
	for i, p := range ps {
		ys[i] = p.Log
	}
	mu, _ := meanStd(ys)
	var ss, st float64
	for i, y := range ys {
		r := pred[i] - y
		e.MAE += math.Abs(r)
		ss += r * r
		st += (y - mu) * (y - mu)
	}
	e.MAE /= float64(e.N)
	e.RMSE = math.Sqrt(ss / float64(e.N))
	e.R2 = 1 - ss/st
	return e
}
