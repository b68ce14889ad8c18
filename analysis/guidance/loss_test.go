package guidance

import (
	"math"
	"slices"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// The layer map against rep_sim's layer_supervision run in Python (the
// dict keyed by the target layer, so the last guide layer mapped to a
// target layer wins; Python's round takes halves to even: 7.5 → 8, 2.5 →
// 2, 5.5 → 6).
func TestLayerMap(t *testing.T) {
	for _, c := range []struct {
		nt, ng int
		want   [][2]int // (target, guide)
	}{
		{16, 9, [][2]int{{0, 0}, {2, 1}, {4, 2}, {6, 3}, {8, 4}, {9, 5}, {11, 6}, {13, 7}, {15, 8}}},
		{4, 3, [][2]int{{0, 0}, {2, 1}, {3, 2}}},
		{6, 3, [][2]int{{0, 0}, {2, 1}, {5, 2}}},
		{5, 1, [][2]int{{0, 0}}},
		{1, 1, [][2]int{{0, 0}}},
		{2, 4, [][2]int{{0, 1}, {1, 3}}},
		{3, 3, [][2]int{{0, 0}, {1, 1}, {2, 2}}},
		{12, 5, [][2]int{{0, 0}, {3, 1}, {6, 2}, {8, 3}, {11, 4}}},
	} {
		pairs, err := LayerMap(c.nt, c.ng)
		if err != nil {
			t.Fatal(err)
		}
		var got [][2]int
		for _, p := range pairs {
			got = append(got, [2]int{p.Target, p.Guide})
		}
		slices.SortFunc(got, func(a, b [2]int) int { return a[0] - b[0] })
		if !slices.Equal(got, c.want) {
			t.Errorf("LayerMap(%d, %d) = %v, want %v", c.nt, c.ng, got, c.want)
		}
	}
	for _, c := range [][2]int{{0, 3}, {3, 0}, {-1, 1}} {
		if _, err := LayerMap(c[0], c[1]); err == nil {
			t.Errorf("LayerMap(%d, %d): no error", c[0], c[1])
		}
	}
}

// Alignment is Σ (1 − CKA) over the mapped pairs, and Loss adds α times it.
func TestLossValue(t *testing.T) {
	r := tensor.NewRNG(5)
	n := 12
	var target, guide []*autograd.Var
	var tm, gm []Matrix
	for i := range 5 {
		x := randomMatrix(r, n, 3+i)
		target, tm = append(target, autograd.Const(tensor.FromFloat64(x.Data, n, x.Cols))), append(tm, x)
	}
	for i := range 3 {
		y := randomMatrix(r, n, 4+i)
		guide, gm = append(guide, autograd.Const(tensor.FromFloat64(y.Data, n, y.Cols))), append(gm, y)
	}
	pairs, _ := LayerMap(5, 3)
	for _, c := range []struct {
		est Estimator
		f   func(x, y Matrix) (float64, error)
	}{{EstimatorPlain, LinearCKA}, {EstimatorUnbiased, UnbiasedCKA}} {
		want := 0.0
		for _, p := range pairs {
			v, err := c.f(tm[p.Target], gm[p.Guide])
			if err != nil {
				t.Fatal(err)
			}
			want += 1 - v
		}
		ce := autograd.Const(tensor.FromFloat64([]float64{0.7}))
		for _, alpha := range []float64{0, 1, 2.5} {
			total, align, err := Loss(ce, target, guide, alpha, c.est)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(align.Item()-want) > 1e-9 || math.Abs(total.Item()-(0.7+alpha*want)) > 1e-9 {
				t.Errorf("%v α %g: total %.10f, align %.10f; want align %.10f", c.est, alpha, total.Item(), align.Item(), want)
			}
		}
	}
	ce := autograd.Const(tensor.FromFloat64([]float64{0}))
	if _, _, err := Loss(ce, target, guide, -1, EstimatorPlain); err == nil {
		t.Error("α = −1: no error")
	}
	if _, _, err := Loss(ce, target, nil, 1, EstimatorPlain); err == nil {
		t.Error("no guide layers: no error")
	}
	short := []*autograd.Var{autograd.Const(tensor.Zeros(3, 2))}
	if _, _, err := Loss(ce, short, guide[:1], 1, EstimatorPlain); err == nil {
		t.Error("mismatched examples: no error")
	}
}
