package audio

import (
	"fmt"
	"math"
	"testing"

	"github.com/loomml/loom/format/safetensors"
)

// TestResampleAgainstTorchaudio compares Resample with
// torchaudio.functional.resample (testdata/gen_fbank.py) up and down,
// between rates with small and large common divisors: lengths equal, and
// samples within float32 summation error of a convolution (torchaudio
// convolves in float32, loom sums in float64 with the same float32 kernel):
// taps·2⁻²⁴·Σ|w|·max|x|, with Σ|w| ≤ 2 for these kernels.
func TestResampleAgainstTorchaudio(t *testing.T) {
	f, err := safetensors.Open("testdata/fbank.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		key  string
		rate int
	}{{"chirp8k", 8000}, {"chirp16k", 16000}} {
		x, _, err := f.Float32(c.key + ".samples")
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range []int{8000, 16000, 22050, 44100} {
			if to == c.rate {
				continue
			}
			want, _, err := f.Float32(fmt.Sprintf("%s.resample%d", c.key, to))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Resample(x, c.rate, to)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s → %d Hz: %d samples, torchaudio %d", c.key, to, len(got), len(want))
			}
			worst, peak := 0.0, 0.0
			for i := range want {
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
			}
			for _, v := range x {
				peak = math.Max(peak, math.Abs(float64(v)))
			}
			g := gcd(c.rate, to)
			orig := c.rate / g
			taps := 2*int(math.Ceil(6*float64(orig)/(float64(min(c.rate, to)/g)*0.99))) + orig
			if bound := float64(taps) * math.Ldexp(1, -24) * 2 * peak; worst > bound {
				t.Errorf("%s → %d Hz: samples differ from torchaudio's by up to %.3g > %.3g", c.key, to, worst, bound)
			}
		}
	}
	if _, err := Resample([]float32{1}, 0, 16000); err == nil {
		t.Error("rate 0 accepted")
	}
}
