package audio

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// FbankOptions are Kaldi's compute-fbank-feats options that loom uses, with
// torchaudio.compliance.kaldi.fbank's defaults as the zero value's meaning
// where noted.
type FbankOptions struct {
	Bins          int     // mel bins (0: 23, Kaldi's default; AST uses 128)
	FrameLengthMS float64 // window length (0: 25 ms)
	FrameShiftMS  float64 // hop (0: 10 ms)
	LowFreq       float64 // lowest mel bin edge in Hz (0: 20 Hz, as Kaldi)
	// HighFreq is the highest edge: > 0 in Hz, ≤ 0 an offset from the
	// Nyquist frequency (Kaldi's convention; 0: Nyquist).
	HighFreq float64
	// Window is "povey" (Kaldi's default, Hann^0.85), "hanning" (AST) or
	// "hamming".
	Window string
	// Preemphasis coefficient (0: 0.97, Kaldi's default; use NoPreemphasis
	// to turn it off).
	Preemphasis float64
}

// NoPreemphasis turns pre-emphasis off in FbankOptions.Preemphasis.
const NoPreemphasis = -1

// ASTFbank are the options of the Audio Spectrogram Transformer's front end:
// 128 bins, 25 ms Hanning windows every 10 ms.
var ASTFbank = FbankOptions{Bins: 128, Window: "hanning"}

// Fbank returns the log-mel filterbank of samples at rate, one row of Bins
// values per 10 ms frame, as Kaldi's compute-fbank-feats (and torchaudio's
// compliance.kaldi.fbank) compute it without dither and energy: frames
// taken whole from the start (snip_edges), DC offset removed,
// pre-emphasised, windowed, zero-padded to a power of two, power spectrum,
// triangular mel filters on Kaldi's mel scale 1127·ln(1 + f/700), natural
// log floored at float32's epsilon. Too short a signal for one frame is an
// error.
func Fbank(samples []float32, rate int, o FbankOptions) ([][]float32, error) {
	bins := o.Bins
	if bins == 0 {
		bins = 23
	}
	lenMS, shiftMS := o.FrameLengthMS, o.FrameShiftMS
	if lenMS == 0 {
		lenMS = 25
	}
	if shiftMS == 0 {
		shiftMS = 10
	}
	pre := o.Preemphasis
	switch pre {
	case 0:
		pre = 0.97
	case NoPreemphasis:
		pre = 0
	}
	win := int(float64(rate) * lenMS / 1000)
	shift := int(float64(rate) * shiftMS / 1000)
	if win < 2 || shift < 1 || bins < 1 {
		return nil, fmt.Errorf("audio: fbank of %d bins, %d-sample windows every %d samples at %d Hz: want positive sizes", bins, win, shift, rate)
	}
	if len(samples) < win {
		return nil, fmt.Errorf("audio: %d samples at %d Hz is shorter than one %g ms window (%d samples)", len(samples), rate, lenMS, win)
	}
	window, err := windowFunc(o.Window, win)
	if err != nil {
		return nil, err
	}
	nfft := 1
	for nfft < win {
		nfft *= 2
	}
	nyquist := float64(rate) / 2
	lo, hi := o.LowFreq, o.HighFreq
	if lo == 0 {
		lo = 20
	}
	if hi <= 0 {
		hi += nyquist
	}
	if lo < 0 || hi > nyquist || lo >= hi {
		return nil, fmt.Errorf("audio: mel filters from %g to %g Hz: want 0 ≤ low < high ≤ %g (Nyquist at %d Hz)", lo, hi, nyquist, rate)
	}
	banks := melBanks(bins, nfft, float64(rate), lo, hi)
	frames := 1 + (len(samples)-win)/shift
	fft := fourier.NewFFT(nfft)
	buf := make([]float64, nfft)
	coef := make([]complex128, nfft/2+1)
	eps := float64(math.Nextafter32(1, 2) - 1)
	out := make([][]float32, frames)
	for f := range frames {
		x := buf[:win]
		mean := 0.0
		for i := range x {
			x[i] = float64(samples[f*shift+i])
			mean += x[i]
		}
		mean /= float64(win)
		for i := range x {
			x[i] -= mean
		}
		for i := win - 1; i > 0; i-- {
			x[i] -= pre * x[i-1]
		}
		x[0] -= pre * x[0]
		for i := range x {
			x[i] *= window[i]
		}
		clear(buf[win:])
		fft.Coefficients(coef, buf)
		row := make([]float32, bins)
		for b, bank := range banks {
			s := 0.0
			for k, w := range bank.weights {
				c := coef[bank.first+k]
				s += w * (real(c)*real(c) + imag(c)*imag(c))
			}
			row[b] = float32(math.Log(math.Max(s, eps)))
		}
		out[f] = row
	}
	return out, nil
}

// windowFunc returns Kaldi's window of n samples.
func windowFunc(name string, n int) ([]float64, error) {
	w := make([]float64, n)
	a := 2 * math.Pi / float64(n-1)
	for i := range w {
		hann := 0.5 - 0.5*math.Cos(a*float64(i))
		switch name {
		case "", "povey":
			w[i] = math.Pow(hann, 0.85)
		case "hanning":
			w[i] = hann
		case "hamming":
			w[i] = 0.54 - 0.46*math.Cos(a*float64(i))
		default:
			return nil, fmt.Errorf("audio: window %q: want povey, hanning or hamming", name)
		}
	}
	return w, nil
}

// melBank is one triangular filter: weights of FFT bins first, first+1, ….
type melBank struct {
	first   int
	weights []float64
}

// melBanks returns Kaldi's mel filters over the nfft/2 lowest FFT bins
// (the Nyquist bin gets no weight, as in Kaldi).
func melBanks(bins, nfft int, rate, lo, hi float64) []melBank {
	mel := func(f float64) float64 { return 1127 * math.Log(1+f/700) }
	mlo, mhi := mel(lo), mel(hi)
	delta := (mhi - mlo) / float64(bins+1)
	width := rate / float64(nfft)
	out := make([]melBank, bins)
	for b := range out {
		left, center, right := mlo+float64(b)*delta, mlo+float64(b+1)*delta, mlo+float64(b+2)*delta
		var bank melBank
		for k := range nfft / 2 {
			m := mel(width * float64(k))
			w := math.Max(0, math.Min((m-left)/(center-left), (right-m)/(right-center)))
			if w == 0 {
				continue
			}
			if bank.weights == nil {
				bank.first = k
			}
			for len(bank.weights) < k-bank.first {
				bank.weights = append(bank.weights, 0)
			}
			bank.weights = append(bank.weights, w)
		}
		out[b] = bank
	}
	return out
}
