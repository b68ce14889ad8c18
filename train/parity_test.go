package train

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TestTrainingParityWithPyTorch trains the two tiny decoders of
// testdata/gen_train_parity.py from PyTorch's initial weights on the same
// batches and requires every one of the 100 losses to agree within 1e-3
// relative.
func TestTrainingParityWithPyTorch(t *testing.T) {
	f, err := safetensors.Open("testdata/train_parity.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, cfg := range parityConfigs(f) {
		t.Run(name, func(t *testing.T) {
			want, _, err := f.Float32(name + ".losses")
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for s, loss := range parityLosses(t, f, name, cfg, tensor.FP32) {
				rel := math.Abs(loss-float64(want[s])) / float64(want[s])
				worst = math.Max(worst, rel)
				if rel > 1e-3 {
					t.Fatalf("step %d: loss %.6f, PyTorch %.6f (relative difference %.2g)", s, loss, want[s], rel)
				}
			}
			t.Logf("%s: 100 steps, worst relative loss difference %.2g (final loss %.4f)", name, worst, want[len(want)-1])
		})
	}
}

// parityConfigs returns the fixture's two decoders, sized to its batches.
func parityConfigs(f *safetensors.File) map[string]*decoder.Config {
	_, shape, err := f.Int64("batches")
	if err != nil {
		panic(err)
	}
	T := shape[2] - 1
	return map[string]*decoder.Config{
		"llama": {HiddenSize: 64, IntermediateSize: 128, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
			HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: T, InitializerRange: 0.02},
		"gpt2": {HiddenSize: 64, IntermediateSize: 128, NumHiddenLayers: 2, NumAttentionHeads: 4,
			HiddenAct: "gelu_pytorch_tanh", RMSNormEps: 1e-5, VocabSize: 256, MaxPositionEmbeddings: T, InitializerRange: 0.02,
			TieWordEmbeddings: true, AttentionBias: true, MLPBias: true,
			Loom: decoder.Options{Norm: "layernorm", NormBias: true, Positions: "learned", FFN: "mlp"}},
	}
}

// parityLosses trains the named decoder from PyTorch's initial weights on
// the fixture's batches, with matrix products in precision prec, and
// returns the loss of every step.
func parityLosses(t *testing.T, f *safetensors.File, name string, cfg *decoder.Config, prec tensor.Precision) []float64 {
	t.Helper()
	losses, _ := parityTrain(t, f, name, cfg, prec)
	return losses
}

// parityTrain is parityLosses that also returns the trained model.
func parityTrain(t *testing.T, f *safetensors.File, name string, cfg *decoder.Config, prec tensor.Precision) ([]float64, *decoder.Model) {
	t.Helper()
	raw, shape, err := f.Int64("batches")
	if err != nil {
		t.Fatal(err)
	}
	steps, B, T1 := shape[0], shape[1], shape[2]
	T := T1 - 1
	h := Hyper{Steps: steps, BatchSize: B, SeqLen: T, LR: 3e-3, MinLRFactor: 0.1, Warmup: 10,
		WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Clip: 1}
	m, err := decoder.New(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.LoadParams("testdata/"+name+"_init.safetensors", m.Params()); err != nil {
		t.Fatal(err)
	}
	defer autograd.SetPrecision(autograd.SetPrecision(prec))
	opt := NewAdamW(m.Params(), h)
	sched := h.Schedule()
	var losses []float64
	for s := range steps {
		x, y := make([]int, 0, B*T), make([]int, 0, B*T)
		for b := range B {
			row := raw[(s*B+b)*T1 : (s*B+b+1)*T1]
			for i := range T {
				x = append(x, int(row[i]))
				y = append(y, int(row[i+1]))
			}
		}
		loss, _ := Step(opt, sched, s, h, func() *autograd.Var { return m.Loss(nil, data.Batch{IDs: x, Targets: y, B: B, T: T}) })
		losses = append(losses, loss)
	}
	return losses, m
}
