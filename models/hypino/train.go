package hypino

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/sciml/pde"
	"github.com/loomml/loom/tensor"
)

// Instance is one PDE problem with what training and evaluation need: its
// rasterised specification, interior collocation points (with the source
// f there, and the exact solution and derivatives when it is a
// manufactured one), boundary points with the Dirichlet data, and a
// reference solution on an Eval×Eval grid.
type Instance struct {
	Problem pde.Problem
	Raster  [][]float64
	XYIn    [][2]float64
	FIn     []float64
	DIn     []pde.Derivs // nil without a closed-form solution
	XYB     [][2]float64
	GB      []float64
	Eval    int
	Ref     []float64 // reference u on the Eval grid (pde.Grid layout)
}

// Sizes of an instance's point sets and grids.
type Sizes struct {
	Grid     int // raster nodes per side (the model's Config.Grid)
	Interior int // interior collocation points
	Boundary int // boundary points
	Eval     int // evaluation grid nodes per side
	FDGrid   int // finite-difference grid for references without a closed form (2·(Eval−1)+1 keeps Eval nodes on it)
}

// SampleManufactured draws a manufactured-solution instance of the family:
// a random operator and solution, redrawn while max |u| > 3 or max |f| >
// 100 on the raster (HyPINO rejects samples beyond fixed magnitudes too).
func SampleManufactured(family string, r *rand.Rand, s Sizes) (*Instance, error) {
	for range 1000 {
		op, err := pde.SampleOperator(family, r)
		if err != nil {
			return nil, err
		}
		sol := pde.SampleSolution(r)
		p := pde.Manufactured(family, op, sol)
		ok := true
		for _, v := range pde.Grid(p.Exact, s.Grid) {
			ok = ok && math.Abs(v) <= 3
		}
		for _, v := range pde.Grid(p.F, s.Grid) {
			ok = ok && math.Abs(v) <= 100
		}
		if !ok {
			continue
		}
		in, err := newInstance(p, r, s)
		if err != nil {
			return nil, err
		}
		for _, xy := range in.XYIn {
			in.DIn = append(in.DIn, sol.Eval(xy[0], xy[1]))
		}
		in.Ref = pde.Grid(p.Exact, s.Eval)
		return in, nil
	}
	return nil, fmt.Errorf("hypino: no %s instance within the magnitude limits in 1000 draws", family)
}

// SampleBumps draws an instance with a Gaussian-bump source and zero
// boundary data, whose reference is the finite-difference solution on an
// FDGrid grid.
func SampleBumps(family string, r *rand.Rand, s Sizes) (*Instance, error) {
	op, err := pde.SampleOperator(family, r)
	if err != nil {
		return nil, err
	}
	p := pde.Bumps(family, op, r)
	in, err := newInstance(p, r, s)
	if err != nil {
		return nil, err
	}
	if (s.FDGrid-1)%(s.Eval-1) != 0 {
		return nil, fmt.Errorf("hypino: finite-difference grid %d does not contain the %d-node evaluation grid", s.FDGrid, s.Eval)
	}
	fd, err := pde.SolveFD(p, s.FDGrid)
	if err != nil {
		return nil, err
	}
	st := (s.FDGrid - 1) / (s.Eval - 1)
	in.Ref = make([]float64, s.Eval*s.Eval)
	for j := range s.Eval {
		for i := range s.Eval {
			in.Ref[j*s.Eval+i] = fd[j*st*s.FDGrid+i*st]
		}
	}
	return in, nil
}

func newInstance(p pde.Problem, r *rand.Rand, s Sizes) (*Instance, error) {
	ras, err := pde.Raster(p, s.Grid)
	if err != nil {
		return nil, err
	}
	in := &Instance{Problem: p, Raster: ras, Eval: s.Eval}
	for range s.Interior {
		x, y := 2*r.Float64()-1, 2*r.Float64()-1
		in.XYIn = append(in.XYIn, [2]float64{x, y})
		in.FIn = append(in.FIn, p.F(x, y))
	}
	for range s.Boundary {
		t := 2*r.Float64() - 1
		var xy [2]float64
		switch r.IntN(4) {
		case 0:
			xy = [2]float64{-1, t}
		case 1:
			xy = [2]float64{1, t}
		case 2:
			xy = [2]float64{t, -1}
		default:
			xy = [2]float64{t, 1}
		}
		in.XYB = append(in.XYB, xy)
		in.GB = append(in.GB, p.G(xy[0], xy[1]))
	}
	return in, nil
}

// points stacks the instances' interior then boundary points as [B, N, 2].
func points(ins []*Instance) *tensor.Tensor {
	var v []float32
	for _, in := range ins {
		for _, xy := range append(append([][2]float64(nil), in.XYIn...), in.XYB...) {
			v = append(v, float32(xy[0]), float32(xy[1]))
		}
	}
	return tensor.FromFloat32(v, len(ins), len(ins[0].XYIn)+len(ins[0].XYB), 2)
}

func column(ins []*Instance, f func(*Instance) []float64) *tensor.Tensor {
	var v []float64
	for _, in := range ins {
		v = append(v, f(in)...)
	}
	return tensor.FromFloat64(v, len(ins), len(v)/len(ins)).To(tensor.Float32)
}

// huber is the mean Huber loss (δ = 1, PyTorch's huber_loss default) of r.
func huber(r *autograd.Var) *autograd.Var {
	c := autograd.Clamp(r, -1, 1)
	return autograd.Mean(autograd.Add(autograd.MulScalar(autograd.Mul(c, c), 0.5), autograd.Sub(autograd.Abs(r), autograd.Abs(c))), false)
}

// Loss weights, as rbischof/hypino's _step: f 0.25, derivatives 0.25,
// u 1, Dirichlet 10.
const (
	WeightF   = 0.25
	WeightDer = 0.25
	WeightU   = 1
	WeightDir = 10
)

// Losses are the terms of the training loss.
type Losses struct {
	Total, F, Der, U, Dir float64
}

// Loss is HyPINO's training loss on manufactured instances (all with the
// same point counts and a closed-form solution): Huber losses on the
// PDE residual, the first and second derivatives and u at the interior
// points and on u − g at the boundary, mixed by the Weight constants.
func (m *Model) Loss(ins []*Instance) (*autograd.Var, Losses, error) {
	ras := make([][][]float64, len(ins))
	ops := make([]pde.Operator, len(ins))
	for i, in := range ins {
		if in.DIn == nil {
			return nil, Losses{}, fmt.Errorf("hypino: training instance %d has no closed-form solution", i)
		}
		ras[i], ops[i] = in.Raster, in.Problem.Op
	}
	theta, err := m.Theta(ras)
	if err != nil {
		return nil, Losses{}, err
	}
	j, err := m.PINN.Jet(theta, points(ins))
	if err != nil {
		return nil, Losses{}, err
	}
	nIn, nB := len(ins[0].XYIn), len(ins[0].XYB)
	in := func(v *autograd.Var) *autograd.Var { return autograd.Slice(v, 1, 0, nIn) }
	ji := Jet{in(j.U), in(j.UX), in(j.UY), in(j.UXX), in(j.UYY)}
	ub := autograd.Slice(j.U, 1, nIn, nIn+nB)
	fL := huber(Residual(ops, ji, column(ins, func(x *Instance) []float64 { return x.FIn })))
	d := func(k int) *tensor.Tensor {
		return column(ins, func(x *Instance) []float64 {
			v := make([]float64, len(x.DIn))
			for i, dd := range x.DIn {
				v[i] = [5]float64{dd.U, dd.UX, dd.UY, dd.UXX, dd.UYY}[k]
			}
			return v
		})
	}
	terms := ji.Terms()
	uL := huber(autograd.Sub(terms[0], autograd.Const(d(0))))
	var derL *autograd.Var
	for k := 1; k < 5; k++ {
		h := huber(autograd.Sub(terms[k], autograd.Const(d(k))))
		if derL == nil {
			derL = h
		} else {
			derL = autograd.Add(derL, h)
		}
	}
	derL = autograd.MulScalar(derL, 0.25)
	dirL := huber(autograd.Sub(ub, autograd.Const(column(ins, func(x *Instance) []float64 { return x.GB }))))
	total := autograd.Add(autograd.Add(autograd.MulScalar(fL, WeightF), autograd.MulScalar(derL, WeightDer)),
		autograd.Add(autograd.MulScalar(uL, WeightU), autograd.MulScalar(dirL, WeightDir)))
	return total, Losses{total.Item(), fL.Item(), derL.Item(), uL.Item(), dirL.Item()}, nil
}

// TrainConfig configures Train.
type TrainConfig struct {
	Steps, Batch int
	LR           float64
	WeightDecay  float64
	Sizes        Sizes
	Families     []string
	Seed         uint64 // draws the training instances
}

// Train fits the model on freshly drawn manufactured instances (a new
// batch every step, families in turn), AdamW with warm-up and cosine
// decay and gradient clipping at 1. report, when not nil, sees every
// step's losses.
func (m *Model) Train(c TrainConfig, report func(step int, l Losses)) error {
	if c.Steps < 1 || c.Batch < 1 {
		return fmt.Errorf("hypino: %d steps of batch %d, want at least 1 of each", c.Steps, c.Batch)
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		return fmt.Errorf("hypino: learning rate %g, want a finite number > 0", c.LR)
	}
	if len(c.Families) == 0 {
		return fmt.Errorf("hypino: no PDE family to train on, want some of %v", pde.Families)
	}
	for _, f := range c.Families {
		if err := pde.CheckFamily(f); err != nil {
			return err
		}
	}
	r := rand.New(rand.NewPCG(c.Seed, 0x4879))
	params := m.Params()
	opt := optim.NewAdamW([]*optim.Group{{Params: params, LR: c.LR, WeightDecay: c.WeightDecay}})
	sched := optim.WarmupCosine{Warmup: max(1, c.Steps/50), Total: c.Steps, MinFactor: 0.01}
	k := 0
	for step := range c.Steps {
		batch := make([]*Instance, c.Batch)
		for i := range batch {
			in, err := SampleManufactured(c.Families[k%len(c.Families)], r, c.Sizes)
			if err != nil {
				return err
			}
			batch[i] = in
			k++
		}
		autograd.ZeroGrads(params)
		loss, ls, err := m.Loss(batch)
		if err != nil {
			return err
		}
		if math.IsNaN(ls.Total) || math.IsInf(ls.Total, 0) {
			return fmt.Errorf("hypino: training loss %g at step %d", ls.Total, step)
		}
		loss.Backward()
		optim.ClipGradNorm(params, 1)
		opt.SetLRScale(sched.Factor(step))
		opt.Step()
		if report != nil {
			report(step, ls)
		}
	}
	return nil
}

// Ensemble is a sum of PINNs, w_i·u_i (HyPINO's delta-PINN ensemble).
type Ensemble struct {
	Thetas  [][]*autograd.Var // each in Specs order with batch 1
	Weights []float64
}

// jetOn evaluates the ensemble's jet at points (x, y) (batch 1).
func (m *Model) jetOn(e *Ensemble, xy [][2]float64) (Jet, error) {
	v := make([]float32, 0, 2*len(xy))
	for _, p := range xy {
		v = append(v, float32(p[0]), float32(p[1]))
	}
	pts := tensor.FromFloat32(v, 1, len(xy), 2)
	var sum Jet
	for i, th := range e.Thetas {
		j, err := m.PINN.Jet(th, pts)
		if err != nil {
			return Jet{}, err
		}
		t, s := j.Terms(), sum.Terms()
		for k := range t {
			t[k] = autograd.MulScalar(t[k], e.Weights[i])
			if s[k] != nil {
				t[k] = autograd.Add(s[k], t[k])
			}
		}
		sum = Jet{t[0], t[1], t[2], t[3], t[4]}
	}
	return sum, nil
}

func gridPoints(n int) [][2]float64 {
	out := make([][2]float64, 0, n*n)
	for j := range n {
		for i := range n {
			out = append(out, [2]float64{pde.Node(i, n), pde.Node(j, n)})
		}
	}
	return out
}

// RelL2 returns the ensemble's relative L2 error against the instance's
// reference on its evaluation grid.
func (m *Model) RelL2(e *Ensemble, in *Instance) (float64, error) {
	var err error
	var j Jet
	autograd.NoGrad(func() { j, err = m.jetOn(e, gridPoints(in.Eval)) })
	if err != nil {
		return 0, err
	}
	return relL2(j.U.Value.Float64s(), in.Ref), nil
}

func relL2(u, ref []float64) float64 {
	var num, den float64
	for i := range u {
		num += (u[i] - ref[i]) * (u[i] - ref[i])
		den += ref[i] * ref[i]
	}
	return math.Sqrt(num / math.Max(den, 1e-300))
}

// Predict returns the zero-shot PINN for one instance (constants: no
// gradient reaches the model).
func (m *Model) Predict(in *Instance) (*Ensemble, error) {
	var th []*autograd.Var
	var err error
	autograd.NoGrad(func() { th, err = m.Theta([][][]float64{in.Raster}) })
	if err != nil {
		return nil, err
	}
	return &Ensemble{Thetas: [][]*autograd.Var{th}, Weights: []float64{1}}, nil
}

// Refine adds iters delta PINNs to e (HyPINO's iterative refinement): the
// current solution's residuals on the raster grid — g − u on the boundary,
// f − L u inside — make a new specification of the same operator, whose
// emitted PINN is added to the ensemble. Without normalise, as the
// paper's iterative_refinement, the residuals enter as they are and the
// new PINN with weight 1. With normalise the residual specification is
// divided by its largest magnitude s and the new PINN enters with weight s
// (the problem is linear); that also multiplies the new PINN's own error
// by s, which is large when the source residual is, and in the quick run
// made the error several times worse, so the reproduction uses the
// paper's form.
func (m *Model) Refine(e *Ensemble, in *Instance, iters int, normalise bool) error {
	n := m.Config.Grid
	pts := gridPoints(n)
	op := in.Problem.Op
	for range iters {
		var j Jet
		var err error
		autograd.NoGrad(func() { j, err = m.jetOn(e, pts) })
		if err != nil {
			return err
		}
		t := j.Terms()
		vals := make([][]float64, 5)
		for k := range t {
			vals[k] = t[k].Value.Float64s()
		}
		g, f := make([]float64, n*n), make([]float64, n*n)
		s := 0.0
		for i, p := range pts {
			g[i] = in.Problem.G(p[0], p[1]) - vals[0][i]
			f[i] = in.Problem.F(p[0], p[1]) - op.Apply(pde.Derivs{U: vals[0][i], UX: vals[1][i], UY: vals[2][i], UXX: vals[3][i], UYY: vals[4][i]})
			s = math.Max(s, math.Max(math.Abs(g[i]), math.Abs(f[i])))
		}
		w := 1.0
		if normalise && s > 0 {
			w = s
			for i := range g {
				g[i] /= s
				f[i] /= s
			}
		}
		ras, err := pde.RasterGrid(op, g, f, n)
		if err != nil {
			return err
		}
		var th []*autograd.Var
		autograd.NoGrad(func() { th, err = m.Theta([][][]float64{ras}) })
		if err != nil {
			return err
		}
		e.Thetas = append(e.Thetas, th)
		e.Weights = append(e.Weights, w)
	}
	return nil
}

// FitOptions configures FitPINN.
type FitOptions struct {
	Steps     int           // maximum steps
	Budget    time.Duration // stop when this much wall-clock time has passed (0: no limit)
	LR        float64
	EvalEvery int // record the error every this many steps (and at 0 and the end)
}

// Point is an error after a number of steps.
type Point struct {
	Step int
	Err  float64
}

// FitPINN trains one PINN (parameters theta, batch 1, trainable leaves)
// on the instance with the plain physics-informed loss — mean squared
// residual at the interior points plus 10 × mean squared boundary error —
// by Adam, and returns the relative L2 error curve.
func (m *Model) FitPINN(theta []*autograd.Var, in *Instance, o FitOptions) ([]Point, error) {
	if o.Steps < 0 || !(o.LR > 0) {
		return nil, fmt.Errorf("hypino: fit with %d steps and learning rate %g, want steps ≥ 0 and a rate > 0", o.Steps, o.LR)
	}
	e := &Ensemble{Thetas: [][]*autograd.Var{theta}, Weights: []float64{1}}
	opt := optim.NewAdam([]*optim.Group{{Params: theta, LR: o.LR}})
	pts := points([]*Instance{in})
	nIn, nB := len(in.XYIn), len(in.XYB)
	f := column([]*Instance{in}, func(x *Instance) []float64 { return x.FIn })
	g := column([]*Instance{in}, func(x *Instance) []float64 { return x.GB })
	var curve []Point
	record := func(step int) error {
		err, e2 := m.RelL2(e, in)
		if e2 != nil {
			return e2
		}
		curve = append(curve, Point{step, err})
		return nil
	}
	if err := record(0); err != nil {
		return nil, err
	}
	op := in.Problem.Op
	start := time.Now()
	step := 0
	for step < o.Steps && (o.Budget == 0 || time.Since(start) < o.Budget) {
		autograd.ZeroGrads(theta)
		j, err := m.PINN.Jet(theta, pts)
		if err != nil {
			return nil, err
		}
		inner := func(v *autograd.Var) *autograd.Var { return autograd.Slice(v, 1, 0, nIn) }
		r := Residual([]pde.Operator{op}, Jet{inner(j.U), inner(j.UX), inner(j.UY), inner(j.UXX), inner(j.UYY)}, f)
		b := autograd.Sub(autograd.Slice(j.U, 1, nIn, nIn+nB), autograd.Const(g))
		loss := autograd.Add(autograd.Mean(autograd.Mul(r, r), false), autograd.MulScalar(autograd.Mean(autograd.Mul(b, b), false), WeightDir))
		loss.Backward()
		opt.Step()
		step++
		if o.EvalEvery > 0 && step%o.EvalEvery == 0 {
			if err := record(step); err != nil {
				return nil, err
			}
		}
	}
	if curve[len(curve)-1].Step != step {
		if err := record(step); err != nil {
			return nil, err
		}
	}
	return curve, nil
}

// Leaves returns trainable copies of an emitted PINN's parameters (the
// HyPINO initialisation for fine-tuning).
func Leaves(theta []*autograd.Var) []*autograd.Var {
	out := make([]*autograd.Var, len(theta))
	for i, t := range theta {
		out[i] = autograd.Leaf(t.Value.Contiguous().Clone())
	}
	return out
}
