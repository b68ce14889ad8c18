package shortgpt

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/models/decoder"
)

func TestIdentityBlockGoesFirst(t *testing.T) {
	c := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 4, NumAttentionHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 50, MaxPositionEmbeddings: 32, InitializerRange: 0.2}
	m, err := decoder.New(c, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if p.Name == "model.layers.2.self_attn.o_proj.weight" || p.Name == "model.layers.2.mlp.down_proj.weight" {
			clear(p.Value.F32())
		}
	}
	calib := [][]int{{1, 2, 3, 4, 5, 6, 7, 8}, {9, 8, 7, 6, 5, 4, 3, 2}}
	in, err := Measure(m, calib)
	if err != nil {
		t.Fatal(err)
	}
	if in.Block[2] > 1e-6 || in.Sublayers[decoder.SublayerAttention][2] > 1e-6 {
		t.Fatalf("an identity block has influence %v (sublayers %v)", in.Block[2], in.Sublayers)
	}
	for l, b := range in.Block {
		if l != 2 && !(b > 0 && b <= 2) {
			t.Fatalf("block %d influence %v", l, b)
		}
	}
	plan := in.Plan(3)
	if len(plan) != 3 || plan[0] != (decoder.Sublayer{Layer: 2, Kind: decoder.SublayerAttention}) || plan[1] != (decoder.Sublayer{Layer: 2, Kind: decoder.SublayerFFN}) || plan[2].Layer == 2 {
		t.Fatalf("plan %v", plan)
	}
	// The odd one is the lowest sublayer influence outside block 2.
	best := math.Inf(1)
	for l := range 4 {
		for _, k := range decoder.SublayerKinds {
			if l != 2 {
				best = math.Min(best, in.Sublayers[k][l])
			}
		}
	}
	if in.Sublayers[plan[2].Kind][plan[2].Layer] != best {
		t.Fatalf("odd sublayer %v is not the least influential", plan[2])
	}
	if _, err := Measure(m, [][]int{{1, 2}, {3}}); err == nil || !strings.Contains(err.Error(), "window 1") {
		t.Fatalf("ragged calibration: %v", err)
	}
}
