package pointcloud

import (
	"slices"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

func tinyTokenizer(t *testing.T, seed uint64) *Tokenizer {
	t.Helper()
	tok, err := NewTokenizer(TokenizerConfig{Groups: 4, K: 5, Hidden1: 6, Feat1: 4, Hidden2: 7, Dim: 5}, nn.Init{RNG: tensor.NewRNG(seed), Std: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenizerForward(t *testing.T) {
	tok := tinyTokenizer(t, 1)
	clouds, _ := Generate(3, 40, 2)
	out := tok.Forward(clouds)
	if s := out.Tokens.Shape(); s[0] != 3 || s[1] != 4 || s[2] != 5 {
		t.Fatalf("tokens %v", s)
	}
	if s := out.Centres.Shape(); s[0] != 3 || s[1] != 4 || s[2] != 3 {
		t.Fatalf("centres %v", s)
	}
	for b, c := range clouds {
		if !slices.Equal(out.CentreIdx[b], FPS(c, 40, 4)) {
			t.Fatalf("cloud %d: centres are not FPS's", b)
		}
		for g, i := range out.CentreIdx[b] {
			for a := range 3 {
				if float32(out.Centres.At(b, g, a)) != c[3*i+a] {
					t.Fatalf("cloud %d centre %d: xyz differs from point %d", b, g, i)
				}
			}
			if nb := out.Neighbours[b][g]; len(nb) != 5 || nb[0] != i {
				t.Fatalf("cloud %d centre %d: neighbours %v", b, g, nb)
			}
		}
	}
	want := []string{
		"point_embed.first_conv.0.weight", "point_embed.first_conv.0.bias",
		"point_embed.first_conv.1.weight", "point_embed.first_conv.1.bias",
		"point_embed.first_conv.3.weight", "point_embed.first_conv.3.bias",
		"point_embed.second_conv.0.weight", "point_embed.second_conv.0.bias",
		"point_embed.second_conv.1.weight", "point_embed.second_conv.1.bias",
		"point_embed.second_conv.3.weight", "point_embed.second_conv.3.bias",
	}
	if got := names(tok.Params()); !slices.Equal(got, want) {
		t.Fatalf("names %v", got)
	}
}

// A patch's token does not depend on the order of its points (max pools).
func TestTokenizerPermutationInvariant(t *testing.T) {
	tok := tinyTokenizer(t, 3)
	r := tensor.NewRNG(4)
	patches := tensor.RandN(r, 1, 2, 5, 3)
	a := tok.Embed(autograd.Const(patches)).Value.Float64s()
	p := patches.Float64s()
	perm := []int{3, 0, 4, 2, 1}
	q := make([]float64, len(p))
	for g := range 2 {
		for j, k := range perm {
			copy(q[(g*5+j)*3:(g*5+j+1)*3], p[(g*5+k)*3:(g*5+k+1)*3])
		}
	}
	b := tok.Embed(autograd.Const(tensor.FromFloat64(q, 1, 2, 5, 3).To(tensor.Float32))).Value.Float64s()
	if d := maxDiff(a, b); d > 1e-6 {
		t.Fatalf("permuting a patch's points changes its token by %g", d)
	}
}

func TestTokenizerGradCheck(t *testing.T) {
	for _, seed := range []uint64{5, 6} {
		tok := tinyTokenizer(t, seed)
		r := tensor.NewRNG(seed + 10)
		perturbNorms(r, tok.Params())
		f, inputs := checkParams(tensor.RandN(r, 2, 4, 5, 3), tok.Params(), []any{tok}, tok.Embed)
		if err := autograd.GradCheck(f, inputs, autograd.CheckOptions{Float32Tol: 1e-4}); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}
