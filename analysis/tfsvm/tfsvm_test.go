package tfsvm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Problems with known solutions: one constraint ⟨A, W⟩ ≥ 1 has W = A/‖A‖²;
// a second, parallel constraint of twice the size is then slack; two
// orthogonal constraints add.
func TestSVMKnownSolutions(t *testing.T) {
	e := func(d, k int) []float64 { v := make([]float64, d); v[k] = 1; return v }
	// Tokens x0 = 2e0 (optimal), x1 = 0, x2 = e1, the last being the query
	// z. Constraints: (x0 − x1)ᵀWz = 2W01 ≥ 1 and (x0 − x2)ᵀWz = 2W01 − W11
	// ≥ 1; the least norm has W01 = 1/2, everything else 0 (both tight).
	in := &Instance{X: [][][]float64{{{2, 0}, {0, 0}, {0, 1}}}, Y: []float64{1}, V: e(2, 0)}
	w, _, err := in.SVM([]int{0}, 1e-10, 10000)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 0.5, 0, 0}
	for k := range want {
		if math.Abs(w.A[k]-want[k]) > 1e-8 {
			t.Fatalf("W %v, want %v", w.A, want)
		}
	}
	// Two inputs whose constraint matrices are orthogonal: the solution is
	// their sum, each scaled to margin 1.
	in = &Instance{X: [][][]float64{{{3, 0, 0}, {0, 0, 0}, {0, 0, 1}}, {{0, 0, 0}, {0, 2, 0}, {1, 0, 0}}}, Y: []float64{1, 1}, V: e(3, 0)}
	// Input 0: z = e2, opt 0: (x0 − x1) = 3e0 → 3 W02 ≥ 1; (x0 − x2) = 3e0 − e2 → 3W02 − W22 ≥ 1.
	// Input 1: z = e0, opt 1: (x1 − x0) = 2e1 → 2 W10 ≥ 1; (x1 − x2) = 2e1 − e0 → 2W10 − W00 ≥ 1.
	w, _, err = in.SVM([]int{0, 1}, 1e-10, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(w.A[0*3+2]-1.0/3) > 1e-8 || math.Abs(w.A[1*3+0]-0.5) > 1e-8 || math.Abs(w.Norm()-math.Hypot(1.0/3, 0.5)) > 1e-8 {
		t.Fatalf("W %v", w.A)
	}
	// An input whose optimal token equals another is infeasible.
	in = &Instance{X: [][][]float64{{{1, 0}, {1, 0}, {0, 1}}}, Y: []float64{1}, V: e(2, 0)}
	if _, _, err := in.SVM([]int{0}, 1e-10, 100); err == nil {
		t.Fatal("an inseparable input solved")
	}
}

// On random instances the solution satisfies the KKT conditions: every
// margin ≥ 1, and no feasible direction lowers the norm — checked by
// comparing with a perturbation search along random feasible directions.
func TestSVMOptimality(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := range 10 {
		in := Random(6, 8, 10, rng)
		ids := in.Optimal()
		w, _, err := in.SVM(ids, 1e-9, 200000)
		if err != nil {
			t.Fatal(err)
		}
		minMargin := math.Inf(1)
		for i, X := range in.X {
			for tk, x := range X {
				if tk != ids[i] {
					minMargin = min(minMargin, w.Bilinear(X[ids[i]], in.Query(i))-w.Bilinear(x, in.Query(i)))
				}
			}
		}
		if minMargin < 1-1e-6 {
			t.Fatalf("trial %d: margin %v", trial, minMargin)
		}
		// Any feasible point has a norm at least w's.
		for range 200 {
			p := NewMatrix(10)
			for k := range p.A {
				p.A[k] = w.A[k] + 0.05*rng.NormFloat64()
			}
			feasible := true
			for i, X := range in.X {
				for tk, x := range X {
					if tk != ids[i] && p.Bilinear(X[ids[i]], in.Query(i))-p.Bilinear(x, in.Query(i)) < 1 {
						feasible = false
					}
				}
			}
			if feasible && p.Norm() < w.Norm()-1e-9 {
				t.Fatalf("trial %d: a feasible W of norm %v below the solution's %v", trial, p.Norm(), w.Norm())
			}
		}
	}
}

// The loss's gradient equals central finite differences.
func TestLossGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	in := Random(4, 5, 6, rng)
	w := NewMatrix(6)
	for k := range w.A {
		w.A[k] = rng.NormFloat64()
	}
	_, g := in.Loss(w)
	const h = 1e-6
	for k := range w.A {
		w.A[k] += h
		lp, _ := in.Loss(w)
		w.A[k] -= 2 * h
		lm, _ := in.Loss(w)
		w.A[k] += h
		if fd := (lp - lm) / (2 * h); math.Abs(fd-g.A[k]) > 1e-7*(1+math.Abs(fd)) {
			t.Fatalf("∂L/∂W[%d] = %v, finite differences %v", k, g.A[k], fd)
		}
	}
}

// The paper's claim on one seeded instance of its size (n = 6, T = 8,
// d = 10, η = 0.1, 2,000 steps): W/‖W‖ aligns with the SVM direction.
func TestDirectionalConvergence(t *testing.T) {
	in := Random(6, 8, 10, rand.New(rand.NewPCG(3, 3)))
	svm, _, err := in.SVM(in.Optimal(), 1e-9, 200000)
	if err != nil {
		t.Fatal(err)
	}
	var early float64
	w := in.TrainNormalised(0.1, 2000, func(s int, w Matrix) {
		if s == 50 {
			early = Correlation(w, svm)
		}
	})
	late := Correlation(w, svm)
	t.Logf("correlation %.4f after 50 steps, %.4f after 2,000; ‖W‖ %.1f", early, late, w.Norm())
	if !(late > 0.95 && late > early) {
		t.Fatalf("correlation %.4f after 2,000 steps (%.4f after 50)", late, early)
	}
}

// The joint gradient's v part equals finite differences, and the head SVM
// has its known solution on orthogonal tokens.
func TestJoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	in := Random(3, 4, 5, rng)
	w := NewMatrix(5)
	for k := range w.A {
		w.A[k] = rng.NormFloat64()
	}
	_, _, gv := in.LossJoint(w)
	const h = 1e-6
	for k := range in.V {
		in.V[k] += h
		lp, _ := in.Loss(w)
		in.V[k] -= 2 * h
		lm, _ := in.Loss(w)
		in.V[k] += h
		if fd := (lp - lm) / (2 * h); math.Abs(fd-gv[k]) > 1e-7*(1+math.Abs(fd)) {
			t.Fatalf("∂L/∂v[%d] = %v, finite differences %v", k, gv[k], fd)
		}
	}
	// Selected tokens 2e0 (label +1) and −4e1 (label −1): v = e0/2 + e1/4.
	sv := &Instance{X: [][][]float64{{{2, 0}, {0, 1}}, {{0, -4}, {1, 1}}}, Y: []float64{1, -1}, V: []float64{0, 0}}
	v, err := sv.HeadSVM([]int{0, 0}, 1e-12, 1000)
	if err != nil || math.Abs(v[0]-0.5) > 1e-9 || math.Abs(v[1]-0.25) > 1e-9 {
		t.Fatalf("head SVM %v %v", v, err)
	}
}
