package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/loomml/loom/dtype"
)

var allTypes = []dtype.DType{dtype.Q4_0, dtype.Q4_1, dtype.Q5_0, dtype.Q5_1, dtype.Q8_0, dtype.Q8_1,
	dtype.Q2_K, dtype.Q3_K, dtype.Q4_K, dtype.Q5_K, dtype.Q6_K, dtype.Q8_K}

// TestArbitraryInputNoPanic: non-finite and extreme values quantise without
// a panic, and arbitrary block bytes dequantise and multiply without one
// (seeded random bytes stand in for a corrupt file).
func TestArbitraryInputNoPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, -math.MaxFloat32, 1e-45, 0}
	for _, d := range allTypes {
		x := make([]float32, 512)
		for i := range x {
			if i%5 == 0 {
				x[i] = specials[rng.IntN(len(specials))]
			} else {
				x[i] = float32(rng.NormFloat64() * math.Exp(rng.Float64()*40-20))
			}
		}
		if _, err := Quantize(d, x); err != nil {
			t.Errorf("%v: %v", d, err)
		}
		raw := make([]byte, must(RowBytes(d, 512)))
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		y := make([]float32, 512)
		if err := Dequantize(d, raw, y); err != nil {
			t.Errorf("%v: %v", d, err)
		}
		if at, ok := Activation(d); ok {
			act := make([]byte, must(RowBytes(at, 512)))
			for i := range act {
				act[i] = byte(rng.Uint32())
			}
			if _, err := Dot(d, raw, act, 512); err != nil {
				t.Errorf("%v: %v", d, err)
			}
		}
	}
}

// TestRoundTripError: on seeded Gaussian rows, the reference quantisers'
// relative RMS error is within the bound each format's bit width allows
// (a check of the whole path independent of the fixtures).
func TestRoundTripError(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	// about 1.2× the errors measured for this seed
	bounds := map[dtype.DType]float64{
		dtype.Q2_K: 0.35, dtype.Q3_K: 0.18, dtype.Q4_0: 0.10, dtype.Q4_1: 0.095, dtype.Q4_K: 0.085,
		dtype.Q5_0: 0.05, dtype.Q5_1: 0.045, dtype.Q5_K: 0.043, dtype.Q6_K: 0.021,
		dtype.Q8_0: 0.0065, dtype.Q8_1: 0.0065, dtype.Q8_K: 0.0085,
	}
	for _, d := range allTypes {
		q, err := Quantize(d, x)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float32, len(x))
		if err := Dequantize(d, q, y); err != nil {
			t.Fatal(err)
		}
		var se, ss float64
		for i := range x {
			e := float64(y[i] - x[i])
			se += e * e
			ss += float64(x[i]) * float64(x[i])
		}
		if r := math.Sqrt(se / ss); r > bounds[d] {
			t.Errorf("%v: relative RMS error %.4f > %.4f", d, r, bounds[d])
		} else {
			t.Logf("%v: relative RMS error %.4f", d, r)
		}
	}
}

func must(n int, err error) int {
	if err != nil {
		panic(err)
	}
	return n
}
