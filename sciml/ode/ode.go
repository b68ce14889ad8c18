// Package ode integrates systems of ordinary differential equations
// y' = f(t, y): the classical fixed-step Runge–Kutta method (RK4) and the
// adaptive Dormand–Prince 5(4) pair (RK45, the method of scipy's
// solve_ivp(method="RK45") and MATLAB's ode45) for non-stiff systems, and a
// registry of named chaotic and classical systems with the parameter
// ranges of PROSE (Liu et al., arXiv 2309.16816), whose
// data generator solves them on t ∈ [0, 6] from initial states in [−2, 2]³
// with parameters drawn within ±10 % of their nominal values.
package ode

import (
	"errors"
	"fmt"
	"math"
)

// Func is the right-hand side f(t, y) of y' = f(t, y); it writes f into dy
// (len(dy) == len(y)) and must not keep y or dy.
type Func func(t float64, y, dy []float64)

// finite reports the index of the first non-finite value of y, or −1.
func finite(y []float64) int {
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return i
		}
	}
	return -1
}

// checkTimes validates an output grid: at least one time, finite and
// strictly increasing.
func checkTimes(ts []float64) error {
	if len(ts) == 0 {
		return errors.New("ode: no output times")
	}
	for i, t := range ts {
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return fmt.Errorf("ode: output time %d is %v, want a finite time", i, t)
		}
		if i > 0 && t <= ts[i-1] {
			return fmt.Errorf("ode: output times must increase strictly, have t[%d] = %g after t[%d] = %g", i, t, i-1, ts[i-1])
		}
	}
	return nil
}

func checkInitial(y0 []float64) error {
	if len(y0) == 0 {
		return errors.New("ode: empty initial state")
	}
	if i := finite(y0); i >= 0 {
		return fmt.Errorf("ode: initial state y0[%d] = %v, want a finite value", i, y0[i])
	}
	return nil
}

// RK4Step advances y by one classical Runge–Kutta step of size h from t,
// writing y(t+h) into out (which may alias y).
func RK4Step(f Func, t float64, y []float64, h float64, out []float64) {
	n := len(y)
	k1, k2, k3, k4, tmp := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	f(t, y, k1)
	for i := range tmp {
		tmp[i] = y[i] + h/2*k1[i]
	}
	f(t+h/2, tmp, k2)
	for i := range tmp {
		tmp[i] = y[i] + h/2*k2[i]
	}
	f(t+h/2, tmp, k3)
	for i := range tmp {
		tmp[i] = y[i] + h*k3[i]
	}
	f(t+h, tmp, k4)
	for i := range out {
		out[i] = y[i] + h/6*(k1[i]+2*k2[i]+2*k3[i]+k4[i])
	}
}

// RK4 integrates from (ts[0], y0) and returns the state at every time of
// ts, taking at least substeps equal steps between consecutive times. It
// returns an error naming the problem when y0 or ts is invalid or the state
// stops being finite.
func RK4(f Func, y0, ts []float64, substeps int) ([][]float64, error) {
	if err := checkInitial(y0); err != nil {
		return nil, err
	}
	if err := checkTimes(ts); err != nil {
		return nil, err
	}
	if substeps < 1 {
		return nil, fmt.Errorf("ode: substeps = %d, want at least 1", substeps)
	}
	y := append([]float64(nil), y0...)
	out := [][]float64{append([]float64(nil), y...)}
	for i := 1; i < len(ts); i++ {
		h := (ts[i] - ts[i-1]) / float64(substeps)
		for s := range substeps {
			RK4Step(f, ts[i-1]+float64(s)*h, y, h, y)
		}
		if j := finite(y); j >= 0 {
			return out, fmt.Errorf("ode: state component %d not finite at t = %g (the solution blew up)", j, ts[i])
		}
		out = append(out, append([]float64(nil), y...))
	}
	return out, nil
}

// Dormand–Prince 5(4) tableau (Dormand and Prince 1980; Hairer, Nørsett and
// Wanner, Solving ODEs I, table 5.2).
var (
	dpC = [7]float64{0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1}
	dpA = [7][6]float64{
		{},
		{1.0 / 5},
		{3.0 / 40, 9.0 / 40},
		{44.0 / 45, -56.0 / 15, 32.0 / 9},
		{19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
		{9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
		{35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
	}
	// dpE is the 5th-order weights minus the embedded 4th-order ones.
	dpE = [7]float64{71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40}
)

// DOPRI5Step takes one Dormand–Prince step of size h from (t, y): it writes
// the 5th-order solution into y5 and the difference between the 5th- and
// the embedded 4th-order solutions into errEst (an estimate of the local
// error of the 4th-order one). k0 = f(t, y) may be passed to save an
// evaluation (nil: computed); the returned slice is f(t+h, y5) (first same
// as last), which the next step can pass as its k0.
func DOPRI5Step(f Func, t float64, y []float64, h float64, k0, y5, errEst []float64) []float64 {
	n := len(y)
	var k [7][]float64
	for s := range k {
		k[s] = make([]float64, n)
	}
	if k0 != nil {
		copy(k[0], k0)
	} else {
		f(t, y, k[0])
	}
	tmp := make([]float64, n)
	for s := 1; s < 7; s++ {
		for i := range tmp {
			acc := 0.0
			for j := 0; j < s; j++ {
				acc += dpA[s][j] * k[j][i]
			}
			tmp[i] = y[i] + h*acc
		}
		f(t+dpC[s]*h, tmp, k[s])
	}
	// The last stage was evaluated at the 5th-order solution.
	copy(y5, tmp)
	for i := range errEst {
		acc := 0.0
		for s := range 7 {
			acc += dpE[s] * k[s][i]
		}
		errEst[i] = h * acc
	}
	return k[6]
}

// Options controls RK45.
type Options struct {
	RTol, ATol float64 // relative and absolute tolerances (0: 1e-6 and 1e-9)
	H0         float64 // first step (0: chosen from the problem's scale)
	MaxSteps   int     // bound on accepted plus rejected steps (0: 1,000,000)
}

// Stats counts RK45's work.
type Stats struct {
	Accepted, Rejected, Evals int
}

// RK45 integrates from (ts[0], y0) with the adaptive Dormand–Prince 5(4)
// pair and returns the state at every time of ts. The step is controlled
// by the scaled RMS norm of the embedded error estimate, each component
// scaled by ATol + RTol·max(|y|, |y_new|); a step with norm ≤ 1 is
// accepted and the next step is h·min(5, max(0.2, 0.9·err^(−1/5))) (the
// usual safety factor and limits). Steps end exactly on the output times.
func RK45(f Func, y0, ts []float64, o Options) ([][]float64, Stats, error) {
	var st Stats
	if err := checkInitial(y0); err != nil {
		return nil, st, err
	}
	if err := checkTimes(ts); err != nil {
		return nil, st, err
	}
	for _, v := range []struct {
		name string
		x    float64
	}{{"RTol", o.RTol}, {"ATol", o.ATol}, {"H0", o.H0}} {
		if math.IsNaN(v.x) || math.IsInf(v.x, 0) || v.x < 0 {
			return nil, st, fmt.Errorf("ode: %s = %v, want a finite value ≥ 0", v.name, v.x)
		}
	}
	if o.RTol == 0 {
		o.RTol = 1e-6
	}
	if o.ATol == 0 {
		o.ATol = 1e-9
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = 1000000
	}
	n := len(y0)
	y := append([]float64(nil), y0...)
	out := [][]float64{append([]float64(nil), y...)}
	if len(ts) == 1 {
		return out, st, nil
	}
	k0 := make([]float64, n)
	f(ts[0], y, k0)
	st.Evals++
	h := o.H0
	if h == 0 {
		h = initialStep(f, ts[0], y, k0, o, &st)
	}
	y5, e := make([]float64, n), make([]float64, n)
	t := ts[0]
	for next := 1; next < len(ts); {
		if st.Accepted+st.Rejected >= o.MaxSteps {
			return out, st, fmt.Errorf("ode: RK45 took %d steps and reached t = %g of %g (MaxSteps; the system may be stiff)", o.MaxSteps, t, ts[len(ts)-1])
		}
		end, hFull := false, h
		if t+h >= ts[next] || ts[next]-(t+h) < 1e-12*math.Max(1, math.Abs(ts[next])) {
			h, end = ts[next]-t, true
		}
		k7 := DOPRI5Step(f, t, y, h, k0, y5, e)
		st.Evals += 6
		errNorm := 0.0
		for i := range e {
			sc := o.ATol + o.RTol*math.Max(math.Abs(y[i]), math.Abs(y5[i]))
			errNorm += (e[i] / sc) * (e[i] / sc)
		}
		errNorm = math.Sqrt(errNorm / float64(n))
		if math.IsNaN(errNorm) || math.IsInf(errNorm, 0) {
			st.Rejected++
			h *= 0.2
			if h < 1e-14*math.Max(1, math.Abs(t)) {
				return out, st, fmt.Errorf("ode: state not finite near t = %g (the solution blew up)", t)
			}
			continue
		}
		factor := 5.0
		if errNorm > 0 {
			factor = math.Min(5, math.Max(0.2, 0.9*math.Pow(errNorm, -0.2)))
		}
		if errNorm > 1 {
			st.Rejected++
			h *= math.Min(1, factor)
			if h < 1e-14*math.Max(1, math.Abs(t)) {
				return out, st, fmt.Errorf("ode: step size underflow at t = %g", t)
			}
			continue
		}
		st.Accepted++
		copy(y, y5)
		copy(k0, k7)
		if end {
			t = ts[next]
			out = append(out, append([]float64(nil), y...))
			next++
			// A step shortened to land on ts[next] does not shrink the next.
			h = math.Max(hFull, h*factor)
		} else {
			t += h
			h *= factor
		}
	}
	return out, st, nil
}

// initialStep is Hairer, Nørsett and Wanner's starting step (II.4): from the
// scaled norms of y, f(y) and the second derivative estimate.
func initialStep(f Func, t float64, y, k0 []float64, o Options, st *Stats) float64 {
	n := len(y)
	norm := func(v []float64) float64 {
		s := 0.0
		for i := range v {
			sc := o.ATol + o.RTol*math.Abs(y[i])
			s += (v[i] / sc) * (v[i] / sc)
		}
		return math.Sqrt(s / float64(n))
	}
	d0, d1 := norm(y), norm(k0)
	h0 := 1e-6
	if d0 >= 1e-5 && d1 >= 1e-5 {
		h0 = 0.01 * d0 / d1
	}
	y1, k1 := make([]float64, n), make([]float64, n)
	for i := range y1 {
		y1[i] = y[i] + h0*k0[i]
	}
	f(t+h0, y1, k1)
	st.Evals++
	for i := range k1 {
		k1[i] -= k0[i]
	}
	d2 := norm(k1) / h0
	var h1 float64
	if math.Max(d1, d2) <= 1e-15 {
		h1 = math.Max(1e-6, h0*1e-3)
	} else {
		h1 = math.Pow(0.01/math.Max(d1, d2), 1.0/5)
	}
	return math.Min(100*h0, h1)
}
