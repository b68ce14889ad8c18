package mup

import (
	"testing"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// TestCoordCheck: after a few Adam steps, the standard parametrisation's
// activations grow with width (×8) while μP's stay nearly flat.
func TestCoordCheck(t *testing.T) {
	base := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 64, MaxPositionEmbeddings: 32, InitializerRange: 0.02}
	rng := tensor.NewRNG(1)
	batches := make([]data.Batch, 4)
	for i := range batches {
		ids := make([]int, 4*17)
		for j := range ids {
			ids[j] = rng.Intn(64)
		}
		var x, y []int
		for r := range 4 {
			x, y = append(x, ids[r*17:r*17+16]...), append(y, ids[r*17+1:r*17+17]...)
		}
		batches[i] = data.Batch{IDs: x, Targets: y, B: 4, T: 16}
	}
	r, err := CoordCheck(Options{Base: base, Mults: []int{1, 2, 4, 8}, Steps: 4, LR: 1e-2, Batch: func(s int) data.Batch { return batches[s] }, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	sp, mp := r.Growth(decoder.ParamSP, 3), r.Growth(decoder.ParamMuP, 3)
	t.Logf("growth ×1 → ×8 after 3 steps: SP %.2f, μP %.2f", sp, mp)
	if !(sp > 2) || !(mp < 1.5) {
		t.Errorf("SP grows %.2f×, μP %.2f× from width 32 to 256", sp, mp)
	}
}
