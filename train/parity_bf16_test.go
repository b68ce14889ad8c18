package train

import (
	"math"
	"testing"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
)

// TestTrainingParityBF16WithPyTorch trains the decoders of the fp32 parity
// test with bf16 products and compares every step's loss with PyTorch's
// CPU autocast to bfloat16 (testdata/gen_train_parity_bf16.py), from the
// same weights on the same batches.
//
// The two are not the same arithmetic: autocast also rounds the products'
// results to bfloat16 (and runs elementwise work on them in bf16), loom
// keeps them float32. Both are float32 training perturbed by bf16
// rounding, so the tolerance is derived from the size of that perturbation
// as PyTorch's own runs show it: with D the mean over steps of
// |autocast − fp32| (PyTorch's two losses), loom's bf16 losses must stay
// within 2·D of autocast's on average (each run at most D from fp32, by
// the triangle inequality, if loom's rounding perturbs no more than
// PyTorch's), every step within 4·max|autocast − fp32| + 1e-3·loss (the
// fp32 parity test's tolerance), and loom's bf16 run must be at least
// D/10 from PyTorch's fp32 run on average (loom's fp32 run is within ~1e-6
// of it, so this holds only if bf16 was really used).
func TestTrainingParityBF16WithPyTorch(t *testing.T) {
	f, err := safetensors.Open("testdata/train_parity.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fb, err := safetensors.Open("testdata/train_parity_bf16.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	for name, cfg := range parityConfigs(f) {
		t.Run(name, func(t *testing.T) {
			fp32, _, err := f.Float32(name + ".losses")
			if err != nil {
				t.Fatal(err)
			}
			auto, _, err := fb.Float32(name + ".losses")
			if err != nil {
				t.Fatal(err)
			}
			bf := parityLosses(t, f, name, cfg, tensor.BF16)
			var dMean, dMax, gap, ownGap float64
			for s := range bf {
				d := math.Abs(float64(auto[s]) - float64(fp32[s]))
				dMean += d / float64(len(bf))
				dMax = math.Max(dMax, d)
				gap += math.Abs(bf[s]-float64(auto[s])) / float64(len(bf))
				ownGap += math.Abs(bf[s]-float64(fp32[s])) / float64(len(bf))
			}
			for s := range bf {
				if e, tol := math.Abs(bf[s]-float64(auto[s])), 4*dMax+1e-3*float64(auto[s]); e > tol {
					t.Fatalf("step %d: loom bf16 loss %.6f, autocast %.6f: difference %.3g > %.3g", s, bf[s], auto[s], e, tol)
				}
			}
			if gap > 2*dMean {
				t.Fatalf("mean |loom bf16 − autocast| %.3g > 2 × mean |autocast − fp32| = %.3g", gap, 2*dMean)
			}
			if ownGap < dMean/10 {
				t.Fatalf("mean |loom bf16 − PyTorch fp32| %.3g < %.3g: bf16 products not used", ownGap, dMean/10)
			}
			t.Logf("%s: mean |loom bf16 − autocast| %.3g, |loom bf16 − torch fp32| %.3g, |autocast − fp32| %.3g (max %.3g); final losses loom bf16 %.4f, autocast %.4f, fp32 %.4f",
				name, gap, ownGap, dMean, dMax, bf[len(bf)-1], auto[len(bf)-1], fp32[len(bf)-1])
		})
	}
}
