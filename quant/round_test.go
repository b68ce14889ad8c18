package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/loomml/loom/dtype"
)

// RoundActivations leaves x as its activation format dequantises it:
// rounding again changes nothing, every value is within half a step of
// the original (and the f16 scale's error), and a type without an
// activation format leaves x alone.
func TestRoundActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, typ := range []dtype.DType{dtype.Q4_0, dtype.Q4_1, dtype.Q5_0, dtype.Q4_K, dtype.Q6_K} {
		x := make([]float32, 512)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		orig := append([]float32(nil), x...)
		if !RoundActivations(typ, x) {
			t.Fatalf("%v: not rounded", typ)
		}
		at, _ := Activation(typ)
		blk := at.Info().Block
		changed := 0
		for i, v := range x {
			if v != orig[i] {
				changed++
			}
			var amax float64 // the block's largest |x|: a step d is amax/127
			for _, o := range orig[i/blk*blk : (i/blk+1)*blk] {
				amax = math.Max(amax, math.Abs(float64(o)))
			}
			// Half a step, plus |q| ≤ 127 times the error of d stored as f16
			// (2⁻¹¹ of d) for Q8_0 and Q8_1.
			if d := math.Abs(float64(v - orig[i])); d > amax/127*(0.5+127*0x1p-11)*1.01 {
				t.Fatalf("%v: x[%d] %v rounded to %v (step %v)", typ, i, orig[i], v, amax/127)
			}
		}
		if changed == 0 {
			t.Fatalf("%v: nothing rounded", typ)
		}
		again := append([]float32(nil), x...)
		RoundActivations(typ, again)
		for i := range x {
			if again[i] != x[i] {
				t.Fatalf("%v: rounding twice moves x[%d] from %v to %v", typ, i, x[i], again[i])
			}
		}
	}
	x := []float32{1.5, 2}
	if RoundActivations(dtype.Float16, x) || x[0] != 1.5 {
		t.Fatal("f16 has no activation format")
	}
}
