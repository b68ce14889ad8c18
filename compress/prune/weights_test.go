package prune

import (
	"strings"
	"testing"

	"github.com/loomml/loom/models/decoder"
)

// TestWeightJobRejects: bad requests fail before the model is measured
// (the bench here has no tokenizer, so reaching it would fail differently).
func TestWeightJobRejects(t *testing.T) {
	odd := &decoder.Config{HiddenSize: 30, IntermediateSize: 62, NumHiddenLayers: 2, NumAttentionHeads: 3,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 40, MaxPositionEmbeddings: 16, InitializerRange: 0.2}
	mOdd, err := decoder.New(odd, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		job  WeightJob
		want string
	}{
		{WeightJob{Model: model(t), Method: "magnitude", Ratio: 0}, "ratio 0: want a fraction strictly between 0 and 1"},
		{WeightJob{Model: model(t), Method: "magnitude", Ratio: 1.2}, "ratio 1.2"},
		{WeightJob{Model: model(t), Method: "finercut", Ratio: 0.5}, `weight pruning method "finercut": want magnitude or 2:4`},
		{WeightJob{Model: mOdd, Method: "2:4"}, "has 30 inputs, not a multiple of 4"},
	} {
		if _, err := tc.job.Run(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want an error with %q", tc.job.Method, tc.job.Ratio, err, tc.want)
		}
	}
	if !IsWeightMethod("2:4") || IsWeightMethod("lastn") {
		t.Fatal("IsWeightMethod")
	}
}
