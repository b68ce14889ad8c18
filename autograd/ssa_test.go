package autograd

import (
	"testing"

	"github.com/loomml/loom/tensor"
)

// TestFlashAttentionSSAComposed: with an SSA plan (tensor.SampleSSA,
// arXiv 2306.01705), the composed form Grad differentiates with
// CreateGraph attends to the plan's tiles only, so its gradients equal the
// subsampled kernel's backward (and not dense attention's).
func TestFlashAttentionSSAComposed(t *testing.T) {
	r := tensor.NewRNG(5)
	B, H, T, d := 1, 2, 200, 8
	qv, kv, vv := tensor.RandN(r, B, H, T, d).To(tensor.Float64), tensor.RandN(r, B, 1, T, d).To(tensor.Float64), tensor.RandN(r, B, 1, T, d).To(tensor.Float64)
	g := tensor.RandN(r, B, H, T, d).To(tensor.Float64)
	plan, err := tensor.SampleSSA(r, B, H, T, 0.3, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	o := tensor.FlashOptions{Causal: true, Scale: 0.35, SSA: plan}
	q, k, v := Param("q", qv), Param("k", kv), Param("v", vv)
	out := FlashAttention(q, k, v, o)
	grads, err := Grad(Sum(Mul(out, Const(g)), false), []*Var{q, k, v}, GradOptions{CreateGraph: true})
	if err != nil {
		t.Fatal(err)
	}
	outT, lse := tensor.FlashAttentionWith(qv, kv, vv, o)
	dq, dk, dv := tensor.FlashAttentionWithBackward(qv, kv, vv, outT, lse, g, o)
	for i, want := range []*tensor.Tensor{dq, dk, dv} {
		got, w := grads[i].Value.Float64s(), want.Float64s()
		for j := range got {
			if diff := got[j] - w[j]; diff > 1e-9 || diff < -1e-9 {
				t.Fatalf("gradient %d, entry %d: composed %v, kernel %v", i, j, got[j], w[j])
			}
		}
	}
}
