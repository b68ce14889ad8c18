package pointcloud

import (
	"math"
	"reflect"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

var varType = reflect.TypeFor[*autograd.Var]()

// rebind replaces, in the exported fields reachable from root (through
// pointers, interfaces, slices and structs), every *autograd.Var that is a
// key of m by its value: how a GradCheck swaps a module's parameters for
// its float64 leaves.
func rebind(root any, m map[*autograd.Var]*autograd.Var) {
	seen := map[uintptr]bool{}
	set := func(f reflect.Value) {
		if f.CanSet() && !f.IsNil() {
			if n, ok := m[f.Interface().(*autograd.Var)]; ok {
				f.Set(reflect.ValueOf(n))
			}
		}
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			walk(v.Elem())
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if !v.Type().Field(i).IsExported() {
					continue
				}
				if f := v.Field(i); f.Type() == varType {
					set(f)
				} else {
					walk(f)
				}
			}
		case reflect.Slice, reflect.Array:
			switch v.Type().Elem().Kind() {
			case reflect.Pointer, reflect.Interface, reflect.Struct, reflect.Slice:
			default:
				return
			}
			for i := range v.Len() {
				if e := v.Index(i); e.Type() == varType {
					set(e)
				} else {
					walk(e)
				}
			}
		}
	}
	walk(reflect.ValueOf(root))
}

// checkParams returns a GradCheck function of (input, params...) that binds
// the leaves to the modules' parameters (in params' order) and calls f,
// and the inputs: in, then the parameters' values. (GradCheck calls f with
// float64 leaves, and with Float32Tol with float32 ones: each call rebinds
// what the previous one bound.)
func checkParams(in *tensor.Tensor, params []*autograd.Var, roots []any, f func(x *autograd.Var) *autograd.Var) (func([]*autograd.Var) *autograd.Var, []*tensor.Tensor) {
	inputs := []*tensor.Tensor{in}
	for _, p := range params {
		inputs = append(inputs, p.Value)
	}
	bound := append([]*autograd.Var(nil), params...) // what the modules hold now
	return func(xs []*autograd.Var) *autograd.Var {
		m := map[*autograd.Var]*autograd.Var{}
		for i, p := range bound {
			m[p] = xs[i+1]
			bound[i] = xs[i+1]
		}
		for _, r := range roots {
			rebind(r, m)
		}
		return f(xs[0])
	}, inputs
}

// perturbNorms moves norm gains and biases away from 1 and 0 so their
// gradients are exercised.
func perturbNorms(r *tensor.RNG, ps []*autograd.Var) {
	for _, p := range ps {
		if p.Role == autograd.RoleNorm || p.Role == autograd.RoleBias {
			p.Value = tensor.Add(p.Value, tensor.MulScalar(tensor.RandN(r, p.Shape()...), 0.3))
		}
	}
}

func maxDiff(a, b []float64) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// names lists parameter names.
func names(ps []*autograd.Var) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}
