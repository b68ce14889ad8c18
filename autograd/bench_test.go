package autograd

import (
	"testing"

	"github.com/loomml/loom/tensor"
)

// BenchmarkTrainStep times the forward and first-order backward pass of a
// one-layer pre-norm decoder (embedding, RMSNorm, GQA flash attention with
// rotary embeddings, SwiGLU feed-forward, cross-entropy) in float32: the
// ordinary training path, which higher-order support must not slow down.
func BenchmarkTrainStep(b *testing.B) {
	const B, T, D, H, Hkv, F, V = 2, 32, 64, 4, 2, 128, 128
	hd := D / H
	r := tensor.NewRNG(1)
	p := func(shape ...int) *Var { return Leaf(tensor.MulScalar(tensor.RandN(r, shape...), 0.1)) }
	emb, n1, n2 := p(V, D), p(D), p(D)
	wq, wk, wv, wo := p(D, D), p(Hkv*hd, D), p(Hkv*hd, D), p(D, D)
	wg, wu, wd, head := p(F, D), p(F, D), p(D, F), p(V, D)
	params := []*Var{emb, n1, n2, wq, wk, wv, wo, wg, wu, wd, head}
	pos := make([]int, T)
	for i := range pos {
		pos[i] = i
	}
	cos, sin := tensor.RopeTables(pos, hd, 10000)
	ids := make([]int, B*T)
	targets := make([]int, B*T)
	for i := range ids {
		ids[i], targets[i] = r.Intn(V), r.Intn(V)
	}
	heads := func(x *Var, n int) *Var { return Permute(Reshape(x, B, T, n, hd), 0, 2, 1, 3) }
	step := func() {
		x := Embedding(emb, ids, B, T)
		h := RMSNorm(x, n1, 1e-6)
		q := Rope(heads(Linear(h, wq, nil), H), cos, sin)
		k := Rope(heads(Linear(h, wk, nil), Hkv), cos, sin)
		v := heads(Linear(h, wv, nil), Hkv)
		a := Reshape(Permute(Attention(q, k, v, nil, true, 0.25), 0, 2, 1, 3), B, T, D)
		x = Add(x, Linear(a, wo, nil))
		h = RMSNorm(x, n2, 1e-6)
		x = Add(x, Linear(Mul(Silu(Linear(h, wg, nil)), Linear(h, wu, nil)), wd, nil))
		CrossEntropy(Linear(x, head, nil), targets, IgnoreIndex, 0).Backward()
		ZeroGrads(params)
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		step()
	}
}
