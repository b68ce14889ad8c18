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
	if opt.Eps == 0 {
		opt.Eps = 1e-6
	}
	if opt.Atol == 0 {
		opt.Atol = 1e-5
	}
	if opt.Rtol == 0 {
		opt.Rtol = 1e-3
	}
	xs := make([]*Var, len(inputs))
	for i, in := range inputs {
		xs[i] = Leaf(in.To(tensor.Float64).Clone())
	}
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
	for i, x := range xs {
		data := x.Value.F64()
		analytic := make([]float64, len(data))
		if x.Grad != nil {
			copy(analytic, x.Grad.F64())
		}
		for j := range data {
			orig := data[j]
			data[j] = orig + opt.Eps
			fp := project()
			data[j] = orig - opt.Eps
			fm := project()
			data[j] = orig
			num := (fp - fm) / (2 * opt.Eps)
			if d := math.Abs(analytic[j] - num); !(d <= opt.Atol+opt.Rtol*math.Abs(num)) {
				return fmt.Errorf("gradcheck: input %d %v element %d: backward gives %.8g, finite differences %.8g", i, x.Shape(), j, analytic[j], num)
			}
		}
	}
	if opt.Float32Tol > 0 {
		return checkFloat32(f, xs, y, R, opt.Float32Tol)
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
