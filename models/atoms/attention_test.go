package atoms

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// The probabilities Attention reads out are the ones the blocks use: for
// the first block, P·V through the output projection equals the layer's
// own attention (the fused kernel), rows sum to 1 and padding keys get 0.
func TestAttentionIsTheLayers(t *testing.T) {
	mols := small(t, 3, 30)
	m := testModel(t, Config{Arch: ArchTransformer, Dim: 16, Layers: 2, Heads: 4, FFN: 32, Seed: 8})
	tf := m.Net.(*Transformer)
	b := Collate(mols)
	in := m.input(b, autograd.Const(tensor.FromFloat64(b.Pos, b.B, b.T, 3).To(tensor.Float32)))
	maps := tf.Attention(in)
	if len(maps) != 2 {
		t.Fatalf("%d maps for 2 blocks", len(maps))
	}
	P := maps[0]
	if s := P.Shape(); s[0] != b.B || s[1] != 4 || s[2] != b.T || s[3] != b.T {
		t.Fatalf("map shape %v", s)
	}
	w := P.Float64s()
	for i := range b.B {
		for h := range 4 {
			for q := range b.Lengths[i] {
				sum := 0.0
				for k := range b.T {
					v := w[((i*4+h)*b.T+q)*b.T+k]
					if k >= b.Lengths[i] && v != 0 {
						t.Fatalf("molecule %d head %d: atom %d attends to padding %d with %g", i, h, q, k, v)
					}
					sum += v
				}
				if math.Abs(sum-1) > 1e-5 {
					t.Fatalf("molecule %d head %d atom %d: weights sum to %v", i, h, q, sum)
				}
			}
		}
	}
	var want, got *autograd.Var
	autograd.NoGrad(func() {
		l := tf.Layers[0]
		a := l.Attn.(*nn.Attention)
		xn := l.AttnNorm.Forward(tf.embed(in))
		want = a.Forward(maskCtx(nil, in), xn)
		v := autograd.Permute(autograd.Reshape(a.V.Forward(xn), b.B, b.T, 4, 4), 0, 2, 1, 3) // [B, H, T, hd]
		o := autograd.MatMul(autograd.Const(P), v, false, false)
		got = a.O.Forward(autograd.Reshape(autograd.Contiguous(autograd.Permute(o, 0, 2, 1, 3)), b.B, b.T, 16))
	})
	gv, wv := got.Value.Float64s(), want.Value.Float64s()
	for i := range b.B {
		for k := range b.Lengths[i] * 16 {
			if d := math.Abs(gv[i*b.T*16+k] - wv[i*b.T*16+k]); d > 1e-5*(1+math.Abs(wv[i*b.T*16+k])) {
				t.Fatalf("molecule %d value %d: P·V gives %v, the layer %v", i, k, gv[i*b.T*16+k], wv[i*b.T*16+k])
			}
		}
	}
}

// AttentionPairs lists every ordered pair of distinct atoms per block with
// its distance; BinAttention averages them, and uniform attention is 1 in
// Relative.
func TestAttentionPairsAndBins(t *testing.T) {
	mols := small(t, 3, 30)
	m := testModel(t, Config{Arch: ArchTransformer, Dim: 16, Layers: 2, Heads: 2, FFN: 32, Seed: 9})
	pairs, err := AttentionPairs(m, mols, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, mol := range mols {
		want += 2 * mol.Len() * (mol.Len() - 1)
	}
	if len(pairs) != want {
		t.Fatalf("%d pairs, want %d", len(pairs), want)
	}
	for _, p := range pairs[:10] {
		mol := mols[p.Molecule]
		d := 0.0
		for c := range 3 {
			x := mol.Pos[3*p.I+c] - mol.Pos[3*p.J+c]
			d += x * x
		}
		if math.Abs(math.Sqrt(d)-p.Distance) > 1e-12 || p.Atoms != mol.Len() || p.Weight <= 0 || p.Weight >= 1 {
			t.Fatalf("pair %+v", p)
		}
	}
	bins := BinAttention(pairs, 0.5)
	n := 0
	for _, bn := range bins {
		n += bn.Pairs
		if bn.Hi-bn.Lo != 0.5 || bn.Mean <= 0 || bn.Relative <= 0 {
			t.Fatalf("bin %+v", bn)
		}
	}
	if n != len(pairs) {
		t.Fatalf("bins hold %d pairs of %d", n, len(pairs))
	}
	uniform := []AttentionPair{{Layer: 0, Distance: 1.2, Weight: 0.25, Atoms: 4}, {Layer: 0, Distance: 1.4, Weight: 0.5, Atoms: 2}, {Layer: 1, Distance: 0.1, Weight: 0.1, Atoms: 10}}
	got := BinAttention(uniform, 1)
	if len(got) != 2 || got[0].Layer != 0 || got[0].Lo != 1 || got[0].Pairs != 2 || got[0].Relative != 1 || got[0].Mean != 0.375 ||
		got[1].Layer != 1 || got[1].Lo != 0 || got[1].Relative != 1 {
		t.Fatalf("bins %+v", got)
	}
	if _, err := AttentionPairs(testModel(t, configs[2].c), mols, 2); err == nil {
		t.Error("AttentionPairs of a SchNet gave no error")
	}
}

func TestAttentionDecay(t *testing.T) {
	bins := []AttentionBin{
		{Layer: 0, Lo: 0, Hi: 1, Pairs: 10, Relative: 4},
		{Layer: 0, Lo: 1, Hi: 2, Pairs: 10, Relative: 2},
		{Layer: 0, Lo: 2, Hi: 3, Pairs: 10, Relative: 0.5},
		{Layer: 0, Lo: 3, Hi: 4, Pairs: 1, Relative: 9}, // too few pairs
		{Layer: 1, Lo: 0, Hi: 1, Pairs: 10, Relative: 1},
		{Layer: 1, Lo: 1, Hi: 2, Pairs: 10, Relative: 2},
		{Layer: 1, Lo: 2, Hi: 3, Pairs: 10, Relative: 2},
		{Layer: 1, Lo: 3, Hi: 4, Pairs: 10, Relative: 3},
		{Layer: 2, Lo: 0, Hi: 1, Pairs: 10, Relative: 1},
	}
	got := AttentionDecay(bins, 5)
	// Layer 1: ranks of y are 1, 2.5, 2.5, 4 against 1..4.
	want1 := 4.5 / math.Sqrt(5*4.5)
	if len(got) != 3 || got[0] != -1 || math.Abs(got[1]-want1) > 1e-12 || !math.IsNaN(got[2]) {
		t.Fatalf("decay %v, want [-1 %v NaN]", got, want1)
	}
	c := AttentionChart(bins, 5, "t")
	if len(c.Series) != 3 || len(c.Series[0].X) != 3 {
		t.Fatalf("chart series %+v", c.Series)
	}
}
