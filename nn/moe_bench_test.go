package nn

import (
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// BenchmarkMoEStep times forward and backward of an E = 8, k = 2 mixture
// and of the dense gated FFN with the same active parameters (hidden
// 2·688) on 1,024 tokens of width 256:
//
//	go test ./nn -run - -bench MoEStep -count 5
func BenchmarkMoEStep(b *testing.B) {
	fc := FFNConfig{Dim: 256, Hidden: 688, Act: "silu", Init: Init{RNG: tensor.NewRNG(1), Std: 0.02}}
	moe, err := NewMoE("mlp", fc, "gated", MoEConfig{Experts: 8, TopK: 2, Renormalize: true}, 0, false)
	if err != nil {
		b.Fatal(err)
	}
	dc := fc
	dc.Hidden = 2 * 688
	dense, err := NewFFN("gated", dc)
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.RandN(tensor.NewRNG(2), 8, 128, 256)
	for _, c := range []struct {
		name string
		f    FFN
	}{{"dense", dense}, {"moe-e8k2", moe}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				y := c.f.Forward(autograd.Leaf(x))
				autograd.Sum(y, false).Backward()
				autograd.ZeroGrads(c.f.Params())
			}
		})
	}
}
