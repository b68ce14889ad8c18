package prose

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/sciml/ode"
)

// PROSE's data protocol (environment.py: t_range = 6, t_num = 192,
// input_len = 64): each trajectory is sampled at 192 equispaced times on
// [0, 6]; the first 64 (t < 2) are the input, the last 128 the target.
const (
	TMax   = 6.0
	NTimes = 192
	NIn    = 64
	NOut   = NTimes - NIn
)

// Sample is one trajectory with its equations.
type Sample struct {
	System string
	Params []float64
	Times  []float64   // NTimes
	U      [][]float64 // [NTimes][dim]
	Expr   *Expr
}

// Generate draws parameters within ±gamma of the system's nominal values
// and an initial state uniform in [−2, 2]^dim, and solves the system with
// RK45 (rtol 1e-5, atol 1e-6, as PROSE's solve_ivp calls); trajectories
// that fail or leave |u| < 1e3 are redrawn (up to 20 times).
func Generate(rng *rand.Rand, system string, gamma float64) (*Sample, error) {
	s, err := ode.Lookup(system)
	if err != nil {
		return nil, err
	}
	ts := make([]float64, NTimes)
	for i := range ts {
		ts[i] = TMax * float64(i) / float64(NTimes-1)
	}
	for range 20 {
		p, err := s.Sample(rng, gamma)
		if err != nil {
			return nil, err
		}
		f, err := s.Func(p)
		if err != nil {
			return nil, err
		}
		y0 := make([]float64, s.Dim)
		for i := range y0 {
			y0[i] = 4*rng.Float64() - 2
		}
		u, _, err := ode.RK45(f, y0, ts, ode.Options{RTol: 1e-5, ATol: 1e-6, MaxSteps: 200000})
		if err != nil || maxAbs(u) >= 1e3 {
			continue
		}
		e, err := NewExpr(system, p)
		if err != nil {
			return nil, err
		}
		return &Sample{System: system, Params: p, Times: ts, U: u, Expr: e}, nil
	}
	return nil, fmt.Errorf("prose: no bounded trajectory of %s in 20 draws", system)
}

func maxAbs(u [][]float64) float64 {
	m := 0.0
	for _, r := range u {
		for _, v := range r {
			m = math.Max(m, math.Abs(v))
		}
	}
	return m
}

// Dataset draws perSystem samples of each system, interleaved.
func Dataset(rng *rand.Rand, systems []string, perSystem int, gamma float64) ([]*Sample, error) {
	var out []*Sample
	for range perSystem {
		for _, name := range systems {
			s, err := Generate(rng, name, gamma)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// norm returns the per-component means of the input window and one scale
// for the sample (the root-mean-square deviation over all components plus
// 0.1): the model sees (u − mean)/scale and predicts in the same units. One
// scale, not one per component, keeps a component that is nearly constant
// in the input window (Rössler's u_2) from blowing up later.
func (s *Sample) norm() (mu, sd []float64) {
	d := len(s.U[0])
	mu, sd = make([]float64, d), make([]float64, d)
	v := 0.0
	for j := range d {
		for i := range NIn {
			mu[j] += s.U[i][j] / NIn
		}
		for i := range NIn {
			v += (s.U[i][j] - mu[j]) * (s.U[i][j] - mu[j]) / (NIn * float64(d))
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(v) + 0.1
	}
	return mu, sd
}

// SymbolMode is what a model is shown of the equations.
type SymbolMode int

const (
	NoSymbols    SymbolMode = iota // data only
	CleanSymbols                   // the exact skeleton
	NoisySymbols                   // the skeleton with terms added/removed (Noisy)
)

// NoiseMiss and NoiseAdd are PROSE's miss_term_prob and add_term_prob.
const NoiseMiss, NoiseAdd = 0.15, 0.15

// makeBatch builds the model input, the normalised targets [B·NOut·d] and
// the symbolic decoder's input/target ids (BOS + tokens, tokens + EOS).
func (m *Model) makeBatch(ss []*Sample, mode SymbolMode, rng *rand.Rand) (*Batch, []float32, []int, []int, int, error) {
	d := m.Cfg.StateDim
	B := len(ss)
	in := &Batch{B: B, NIn: NIn, NOut: NOut, Data: make([]float32, 0, B*NIn*(1+d)), Queries: make([]float32, 0, B*NOut)}
	tgt := make([]float32, 0, B*NOut*d)
	for _, s := range ss {
		mu, sd := s.norm()
		for i := range NIn {
			in.Data = append(in.Data, float32(s.Times[i]/TMax))
			for j := range d {
				in.Data = append(in.Data, float32((s.U[i][j]-mu[j])/sd[j]))
			}
		}
		for i := NIn; i < NTimes; i++ {
			in.Queries = append(in.Queries, float32(s.Times[i]/TMax))
			for j := range d {
				tgt = append(tgt, float32((s.U[i][j]-mu[j])/sd[j]))
			}
		}
	}
	if mode == NoSymbols || !m.Cfg.Symbols {
		return in, tgt, nil, nil, 0, nil
	}
	skel := make([][]int, B)
	var outs [][]int
	maxS, maxO := 0, 0
	for b, s := range ss {
		e := s.Expr
		if mode == NoisySymbols {
			e = e.Noisy(rng, NoiseMiss, NoiseAdd)
		}
		ids, err := m.Vocab.Encode(e.Skeleton())
		if err != nil {
			return nil, nil, nil, nil, 0, err
		}
		if len(ids) > m.Cfg.MaxSymbol {
			ids = ids[:m.Cfg.MaxSymbol]
		}
		skel[b] = ids
		maxS = max(maxS, len(ids))
		o, err := m.Vocab.Encode(s.Expr.Tokens())
		if err != nil {
			return nil, nil, nil, nil, 0, err
		}
		if len(o) > m.Cfg.MaxSymbol {
			return nil, nil, nil, nil, 0, fmt.Errorf("prose: %s's expression has %d tokens, more than MaxSymbol = %d", s.System, len(o), m.Cfg.MaxSymbol)
		}
		outs = append(outs, o)
		maxO = max(maxO, len(o)+1)
	}
	in.SymLen, in.SymLens = maxS, make([]int, B)
	in.Symbols = make([]int, B*maxS)
	for b, ids := range skel {
		copy(in.Symbols[b*maxS:], ids)
		in.SymLens[b] = len(ids)
	}
	decIn, decTgt := make([]int, B*maxO), make([]int, B*maxO)
	for i := range decTgt {
		decTgt[i] = -1
	}
	for b, o := range outs {
		decIn[b*maxO] = m.Vocab.ID[BOS]
		copy(decIn[b*maxO+1:], o)
		copy(decTgt[b*maxO:], o)
		decTgt[b*maxO+len(o)] = m.Vocab.ID[EOS]
	}
	return in, tgt, decIn, decTgt, maxO, nil
}

// TrainOptions controls Train.
type TrainOptions struct {
	Steps, Batch int
	LR           float64
	Warmup       int
	SymbolWeight float64 // weight of the symbolic cross-entropy (PROSE: 1)
	Seed         uint64
	// Noisy trains on noisy skeletons (PROSE's noisy_text_input = true).
	Noisy bool
}

// Train fits m on the samples with AdamW (linear warm-up, cosine decay,
// gradient clipping at 1) on MSE of the normalised target trajectory plus
// SymbolWeight × the symbolic decoder's cross-entropy; it calls log every
// 50 steps and returns the loss of every step.
func Train(m *Model, data []*Sample, o TrainOptions, log func(step int, data, sym float64)) ([]float64, error) {
	if o.Steps < 1 || o.Batch < 1 || !(o.LR > 0) || math.IsInf(o.LR, 0) {
		return nil, fmt.Errorf("prose: steps %d, batch %d, lr %v: want steps ≥ 1, batch ≥ 1 and a finite lr > 0", o.Steps, o.Batch, o.LR)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("prose: no training samples")
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e05e))
	opt := optim.NewAdamW([]*optim.Group{{Params: m.Params(), LR: o.LR, WeightDecay: 1e-4}})
	mode := CleanSymbols
	if o.Noisy {
		mode = NoisySymbols
	}
	var losses []float64
	for step := range o.Steps {
		scale := 1.0
		if step < o.Warmup {
			scale = float64(step+1) / float64(o.Warmup)
		} else {
			scale = 0.5 * (1 + math.Cos(math.Pi*float64(step-o.Warmup)/float64(max(1, o.Steps-o.Warmup))))
		}
		opt.SetLRScale(scale)
		ss := make([]*Sample, o.Batch)
		for i := range ss {
			ss[i] = data[rng.IntN(len(data))]
		}
		in, tgt, decIn, decTgt, T, err := m.makeBatch(ss, mode, rng)
		if err != nil {
			return nil, err
		}
		ctx := &nn.Ctx{Train: true}
		pred, fused, lens := m.Forward(ctx, in)
		dl := autograd.MSELoss(pred, autograd.Const(tensorOf(tgt, pred.Shape())))
		loss := dl
		sl := 0.0
		if m.Cfg.Symbols {
			logits := m.SymbolLogits(ctx, fused, lens, decIn, o.Batch, T)
			ce := autograd.CrossEntropy(autograd.Reshape(logits, o.Batch*T, -1), decTgt, -1, 0)
			sl = ce.Item()
			loss = autograd.Add(loss, autograd.MulScalar(ce, o.SymbolWeight))
		}
		opt.ZeroGrad()
		loss.Backward()
		optim.ClipGradNorm(m.Params(), 1)
		opt.Step()
		l := loss.Item()
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return losses, fmt.Errorf("prose: loss not finite at step %d", step)
		}
		losses = append(losses, l)
		if log != nil && (step%50 == 0 || step == o.Steps-1) {
			log(step, dl.Item(), sl)
		}
	}
	return losses, nil
}

// Result is a model's prediction for one test sample.
type Result struct {
	RelL2 float64 // ‖û − u‖₂ / ‖u‖₂ over the 128 target times and all components
	// Symbolic output (PROSE models only).
	Tokens []string
	Valid  bool    // parses to one finite expression per component
	R2     float64 // of the predicted right-hand side on the held-out states (valid only)
}

// Evaluate predicts every sample with the given symbol input (noise drawn
// from rng), decoding expressions when decode is set.
func Evaluate(m *Model, test []*Sample, mode SymbolMode, rng *rand.Rand, batch int, decode bool) ([]Result, error) {
	if batch < 1 {
		return nil, fmt.Errorf("prose: evaluation batch %d, want at least 1", batch)
	}
	var out []Result
	d := m.Cfg.StateDim
	var err error
	autograd.NoGrad(func() {
		for lo := 0; lo < len(test); lo += batch {
			ss := test[lo:min(lo+batch, len(test))]
			var in *Batch
			in, _, _, _, _, err = m.makeBatch(ss, mode, rng)
			if err != nil {
				return
			}
			pred, fused, lens := m.Forward(&nn.Ctx{}, in)
			p := pred.Value.Contiguous().F32()
			var toks [][]string
			if decode && m.Cfg.Symbols && mode != NoSymbols {
				toks = m.Greedy(fused, lens, len(ss), m.Cfg.MaxSymbol+1)
			}
			for b, s := range ss {
				mu, sd := s.norm()
				num, den := 0.0, 0.0
				for i := range NOut {
					for j := range d {
						u := s.U[NIn+i][j]
						uh := float64(p[(b*NOut+i)*d+j])*sd[j] + mu[j]
						num += (uh - u) * (uh - u)
						den += u * u
					}
				}
				r := Result{RelL2: math.Sqrt(num / den)}
				if toks != nil {
					r.Tokens = toks[b]
					r.Valid, r.R2 = scoreExpr(toks[b], s)
				}
				out = append(out, r)
			}
		}
	})
	return out, err
}

// scoreExpr parses tokens and returns whether they form a valid system for
// s (one finite expression per component at every held-out state) and the
// R² of its right-hand side against the true one on the held-out states
// (the 128 target-window states the encoder never saw), pooled over
// components: 1 − Σ(f̂ − f)² / Σ(f − mean_component f)².
func scoreExpr(toks []string, s *Sample) (bool, float64) {
	nodes, err := Parse(toks)
	d := len(s.U[0])
	if err != nil || len(nodes) != d {
		return false, math.NaN()
	}
	sys, _ := ode.Lookup(s.System)
	f, _ := sys.Func(s.Params)
	truth := make([][]float64, NOut)
	mean := make([]float64, d)
	for i := range NOut {
		truth[i] = make([]float64, d)
		f(0, s.U[NIn+i], truth[i])
		for j := range d {
			mean[j] += truth[i][j] / NOut
		}
	}
	res, tot := 0.0, 0.0
	for i := range NOut {
		got := System(nodes, s.U[NIn+i])
		for j := range d {
			if math.IsNaN(got[j]) || math.IsInf(got[j], 0) {
				return false, math.NaN()
			}
			res += (got[j] - truth[i][j]) * (got[j] - truth[i][j])
			tot += (truth[i][j] - mean[j]) * (truth[i][j] - mean[j])
		}
	}
	return true, 1 - res/tot
}
