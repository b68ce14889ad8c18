package train

import (
	"math"
	"testing"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// TestMuPTrainingParityWithMicrosoftMup trains loom's μP decoder (width
// 128, loom.base_width 32: m = 4) from the initial weights of
// testdata/gen_mup_parity.py on its batches, through train.NewAdamW's
// parameter groups as `loom train` does, and requires every one of the 100
// losses and the final root mean square of every parameter within 1e-3
// relative of the same model parametrised by microsoft/mup itself
// (MuReadout, set_base_shapes, MuAdamW, 1/d attention): what μP decides --
// each parameter's learning rate and weight decay, the readout multiplier,
// the attention scale -- is mup's. The losses alone hardly see the weight
// decay (mup's rule for the hidden matrices moves them by 2e-4 in 100
// steps); the weights' sizes do (by 1 %). The control trains the same
// weights as the standard parametrisation and must miss the fixture's
// losses by far more than the tolerance.
func TestMuPTrainingParityWithMicrosoftMup(t *testing.T) {
	f, err := safetensors.Open("testdata/mup_parity.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, _, err := f.Float32("mup.losses")
	if err != nil {
		t.Fatal(err)
	}
	_, shape, err := f.Int64("batches")
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(param string, base int) *decoder.Config {
		return &decoder.Config{HiddenSize: 128, IntermediateSize: 256, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
			HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: shape[2] - 1, InitializerRange: 0.02,
			Loom: decoder.Options{Param: param, BaseWidth: base}}
	}
	rel := func(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }
	// worst returns the largest relative difference from the fixture's
	// losses and its step.
	worst := func(losses []float64) (float64, int) {
		w, at := 0.0, 0
		for s, loss := range losses {
			if r := rel(loss, float64(want[s])); r > w {
				w, at = r, s
			}
		}
		return w, at
	}

	losses, m := parityTrain(t, f, "mup", cfg(decoder.ParamMuP, 32), tensor.FP32)
	for s, loss := range losses {
		if r := rel(loss, float64(want[s])); r > 1e-3 {
			t.Fatalf("step %d: loss %.6f, microsoft/mup %.6f (relative difference %.2g)", s, loss, want[s], r)
		}
	}
	wl, _ := worst(losses)
	wr, wname := 0.0, ""
	for _, p := range m.Params() {
		ref, _, err := f.Float32("mup.final_rms." + p.Name)
		if err != nil {
			t.Fatal(err)
		}
		ss := 0.0
		for _, v := range p.Value.Float64s() {
			ss += v * v
		}
		got := math.Sqrt(ss / float64(p.Value.Numel()))
		r := rel(got, float64(ref[0]))
		if r > 1e-3 {
			t.Errorf("%s after %d steps: root mean square %.6g, microsoft/mup %.6g (relative difference %.2g)", p.Name, len(losses), got, ref[0], r)
		}
		if r > wr {
			wr, wname = r, p.Name
		}
	}
	t.Logf("μP: %d steps, worst relative loss difference %.2g (final loss %.4f); final weights' rms within %.2g (%s)",
		len(losses), wl, want[len(want)-1], wr, wname)

	t.Run("sp-control", func(t *testing.T) {
		w, at := worst(parityLosses(t, f, "mup", cfg("", 0), tensor.FP32))
		t.Logf("the same weights as SP: worst relative loss difference %.2g (step %d)", w, at)
		if w < 1e-2 {
			t.Errorf("SP misses microsoft/mup's losses by at most %.2g: the comparison does not see the μP rules", w)
		}
	})
}
