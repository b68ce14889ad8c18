package audio

import (
	"fmt"
	"math"
)

// Resample converts samples from rate from to rate to with
// torchaudio.functional.resample's default method (windowed-sinc
// interpolation, Hann window, 6 zero crossings, roll-off 0.99 of the lower
// Nyquist frequency): the same kernel, padding and output length
// ⌈to·n/from⌉. The rates are first divided by their greatest common
// divisor, so 44.1 kHz → 16 kHz uses 441 phases of 160.
func Resample(samples []float32, from, to int) ([]float32, error) {
	if from < 1 || to < 1 {
		return nil, fmt.Errorf("audio: resampling from %d Hz to %d Hz: want positive rates", from, to)
	}
	if from == to {
		return append([]float32(nil), samples...), nil
	}
	g := gcd(from, to)
	orig, next := from/g, to/g
	const zeros, rolloff = 6, 0.99
	base := float64(min(orig, next)) * rolloff
	width := int(math.Ceil(zeros * float64(orig) / base))
	taps := 2*width + orig
	// kernel[p][k]: output phase p, input offset k (torchaudio's layout).
	kernel := make([][]float64, next)
	scale := base / float64(orig)
	for p := range kernel {
		row := make([]float64, taps)
		for k := range row {
			t := (-float64(p)/float64(next) + float64(k-width)/float64(orig)) * base
			t = math.Max(-zeros, math.Min(zeros, t))
			w := math.Cos(t * math.Pi / zeros / 2)
			w *= w
			t *= math.Pi
			s := 1.0
			if t != 0 {
				s = math.Sin(t) / t
			}
			// torchaudio builds the kernel in float64 and converts it to the
			// waveform's float32 before convolving.
			row[k] = float64(float32(s * w * scale))
		}
		kernel[p] = row
	}
	n := len(samples)
	outLen := int(math.Ceil(float64(next) * float64(n) / float64(orig)))
	out := make([]float32, outLen)
	at := func(i int) float64 { // the signal zero-padded by width on the left
		i -= width
		if i < 0 || i >= n {
			return 0
		}
		return float64(samples[i])
	}
	for j := range out {
		frame, p := j/next, j%next
		s := 0.0
		for k, w := range kernel[p] {
			s += w * at(frame*orig+k)
		}
		out[j] = float32(s)
	}
	return out, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
