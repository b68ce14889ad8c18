package autograd

import (
	"fmt"
	"math"

	"github.com/loomml/loom/tensor"
)

// CheckOptions configures GradCheck. Zero values take the defaults shown.
type CheckOptions struct {
	Eps  float64 // finite-difference step (1e-6)
	Atol float64 // absolute tolerance (1e-5)
	Rtol float64 // relative tolerance (1e-3)
	// Float32Tol, when positive, also runs f in float32 and requires its
	// gradients and outputs to match the float64 ones within Float32Tol
	// (absolute, relative to the largest magnitude of each tensor).
	Float32Tol float64
	Seed       uint64 // seed of the random projection of the output
}

// GradCheck verifies the backward pass of f at inputs against central finite
// differences, evaluated entirely in float64 (the inputs are converted), as
// torch.autograd.gradcheck does. A non-scalar output y is reduced to the
// scalar Σ y⊙R with a fixed random R. f must be deterministic and is called
// once per perturbed element, so keep inputs small. It returns an error
// naming the first input and element that disagree.
func GradCheck(f func(xs []*Var) *Var, inputs []*tensor.Tensor, opt CheckOptions) error {
	opt = opt.withDefaults()
	xs := leaves64(inputs)
	y := f(xs)
	rng := tensor.NewRNG(opt.Seed + 1)
	R := tensor.RandN(rng, y.Shape()...).To(tensor.Float64)
	y.BackwardWith(R)
	project := func() float64 {
		var out *Var
		NoGrad(func() { out = f(xs) })
		var s float64
		for i, v := range out.Value.Float64s() {
			s += v * R.F64()[i]
		}
		return s
	}
	grads := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		grads[i] = x.Grad
	}
	if err := compareFD("gradcheck", "backward gives", xs, grads, project, opt); err != nil {
		return err
	}
	if opt.Float32Tol > 0 {
		return checkFloat32(f, xs, y, R, opt.Float32Tol)
	}
	return nil
}

func (opt CheckOptions) withDefaults() CheckOptions {
	if opt.Eps == 0 {
		opt.Eps = 1e-6
	}
	if opt.Atol == 0 {
		opt.Atol = 1e-5
	}
	if opt.Rtol == 0 {
		opt.Rtol = 1e-3
	}
	return opt
}

// leaves64 makes float64 leaf copies of inputs.
func leaves64(inputs []*tensor.Tensor) []*Var {
	xs := make([]*Var, len(inputs))
	for i, in := range inputs {
		xs[i] = Leaf(in.To(tensor.Float64).Clone())
	}
	return xs
}

// compareFD compares analytic[i] (nil for zeros), the gradient of project
// with respect to xs[i], with central differences of project, element by
// element.
func compareFD(check, method string, xs []*Var, analytic []*tensor.Tensor, project func() float64, opt CheckOptions) error {
	for i, x := range xs {
		data := x.Value.F64()
		an := make([]float64, len(data))
		if analytic[i] != nil {
			copy(an, analytic[i].Float64s())
		}
		for j := range data {
			orig := data[j]
			data[j] = orig + opt.Eps
			fp := project()
			data[j] = orig - opt.Eps
			fm := project()
			data[j] = orig
			num := (fp - fm) / (2 * opt.Eps)
			if d := math.Abs(an[j] - num); !(d <= opt.Atol+opt.Rtol*math.Abs(num)) {
				return fmt.Errorf("%s: input %d %v element %d: %s %.8g, finite differences %.8g", check, i, x.Shape(), j, method, an[j], num)
			}
		}
	}
	return nil
}

// GradGradCheck verifies the second derivatives of f at inputs, as
// torch.autograd.gradgradcheck: the first derivative F = R·∂f/∂(inputs)
// made by Grad with CreateGraph (R a fixed random seed for the output,
// itself treated as an input) is projected to the scalar Σ F⊙R₂ with a
// fixed random R₂, and that scalar's gradient with respect to the inputs
// and R is compared with central finite differences of the first
// derivative computed without CreateGraph (by the ops' ordinary backward).
// Everything runs in float64. It also requires F to equal the ordinary
// first derivative, and with Float32Tol the float32 second derivatives to
// match the float64 ones. f is called twice per perturbed element.
func GradGradCheck(f func(xs []*Var) *Var, inputs []*tensor.Tensor, opt CheckOptions) error {
	opt = opt.withDefaults()
	xs := leaves64(inputs)
	rng := tensor.NewRNG(opt.Seed + 1)
	seed := Leaf(tensor.RandN(rng, f(xs).Shape()...).To(tensor.Float64))
	first := func(xs []*Var, seed *Var, create bool) ([]*Var, error) {
		return Grad(f(xs), xs, GradOptions{Seed: seed, CreateGraph: create, AllowUnused: true})
	}
	F, err := first(xs, seed, true)
	R2 := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		R2[i] = tensor.RandN(rng, x.Shape()...).To(tensor.Float64)
	}
	second := func(xs []*Var, seed *Var, F []*Var) ([]*tensor.Tensor, error) {
		var s *Var
		for i, Fi := range F {
			if Fi != nil && Fi.requiresGrad {
				t := Sum(Mul(Fi, Const(R2[i].To(Fi.Value.DType()))), false)
				if s == nil {
					s = t
				} else {
					s = Add(s, t)
				}
			}
		}
		if s == nil { // the first derivative is constant
			return make([]*tensor.Tensor, len(xs)+1), nil
		}
		gs, err := Grad(s, append(xs[:len(xs):len(xs)], seed), GradOptions{AllowUnused: true})
		return values(gs), err
	}
	var analytic []*tensor.Tensor
	var F0 []*Var
	if err == nil {
		analytic, err = second(xs, seed, F)
	}
	if err == nil {
		F0, err = first(xs, seed, false)
	}
	if err != nil {
		return fmt.Errorf("gradgradcheck: %w", err)
	}
	if err := closeAll("first derivative with CreateGraph (against Backward's)", values(F), values(F0), 1e-9); err != nil {
		return err
	}
	project := func() float64 {
		F, err := first(xs, seed, false)
		if err != nil {
			panic(err)
		}
		var s float64
		for i, Fi := range F {
			if Fi != nil {
				for j, v := range Fi.Value.Float64s() {
					s += v * R2[i].F64()[j]
				}
			}
		}
		return s
	}
	if err := compareFD("gradgradcheck", "second derivative", append(xs, seed), analytic, project, opt); err != nil {
		return err
	}
	if opt.Float32Tol <= 0 {
		return nil
	}
	xs32 := make([]*Var, len(xs))
	for i, x := range xs {
		xs32[i] = Leaf(x.Value.To(tensor.Float32))
	}
	seed32 := Leaf(seed.Value.To(tensor.Float32))
	var got []*tensor.Tensor
	F32, err := first(xs32, seed32, true)
	if err == nil {
		got, err = second(xs32, seed32, F32)
	}
	if err != nil {
		return fmt.Errorf("gradgradcheck: float32: %w", err)
	}
	return closeAll("float32 second derivative (against float64)", got, analytic, opt.Float32Tol)
}

// values returns the tensors of vs (nil for nil).
func values(vs []*Var) []*tensor.Tensor {
	ts := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		if v != nil {
			ts[i] = v.Value
		}
	}
	return ts
}

// closeAll is closeTo for GradGradCheck over per-input lists of
// derivatives, nil where an input has none.
func closeAll(what string, got, want []*tensor.Tensor, tol float64) error {
	for i := range want {
		if (got[i] == nil) != (want[i] == nil) {
			return fmt.Errorf("gradgradcheck: %s: input %d has a derivative in one run only", what, i)
		}
		if want[i] != nil {
			if err := closeTo(fmt.Sprintf("%s of input %d", what, i), got[i], want[i], tol); err != nil {
				return fmt.Errorf("grad%w", err)
			}
		}
	}
	return nil
}

// checkFloat32 reruns f in float32 and compares outputs and gradients with
// the float64 run.
func checkFloat32(f func(xs []*Var) *Var, xs64 []*Var, y64 *Var, R *tensor.Tensor, tol float64) error {
	xs := make([]*Var, len(xs64))
	for i, x := range xs64 {
		xs[i] = Leaf(x.Value.To(tensor.Float32))
	}
	y := f(xs)
	if y.Value.DType() != tensor.Float32 {
		return fmt.Errorf("gradcheck: float32 inputs gave a %v output", y.Value.DType())
	}
	if err := closeTo("output", y.Value, y64.Value, tol); err != nil {
		return err
	}
	y.BackwardWith(R.To(tensor.Float32))
	for i, x := range xs {
		if (x.Grad == nil) != (xs64[i].Grad == nil) {
			return fmt.Errorf("gradcheck: float32 and float64 runs disagree on whether input %d has a gradient", i)
		}
		if x.Grad == nil {
			continue
		}
		if err := closeTo(fmt.Sprintf("float32 gradient of input %d", i), x.Grad, xs64[i].Grad, tol); err != nil {
			return err
		}
	}
	return nil
}

func closeTo(what string, got, want *tensor.Tensor, tol float64) error {
	g, w := got.Float64s(), want.Float64s()
	scale := 1.0
	for _, v := range w {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range w {
		if d := math.Abs(g[i] - w[i]); !(d <= tol*scale) {
			return fmt.Errorf("gradcheck: %s element %d: %.8g, float64 run %.8g", what, i, g[i], w[i])
		}
	}
	return nil
}
