package audio

import "fmt"

// Rate is the sample rate the AST front end works at.
const Rate = 16000

// ASTFeatures reads a WAV file and returns its AST input as
// ASTFeatureExtractor makes it, before normalisation: the clip resampled
// to 16 kHz, its 128-bin Kaldi filterbank (ASTFbank, one row per 10 ms),
// truncated or zero-padded to frames rows; [frames·128] row-major.
func ASTFeatures(path string, frames int) ([]float32, error) {
	w, err := ReadWAV(path)
	if err != nil {
		return nil, err
	}
	s := w.Samples
	if w.Rate != Rate {
		if s, err = Resample(s, w.Rate, Rate); err != nil {
			return nil, fmt.Errorf("audio: %s: %w", path, err)
		}
	}
	fb, err := Fbank(s, Rate, ASTFbank)
	if err != nil {
		return nil, fmt.Errorf("audio: %s: %w", path, err)
	}
	bins := ASTFbank.Bins
	out := make([]float32, frames*bins)
	for i := 0; i < frames && i < len(fb); i++ {
		copy(out[i*bins:(i+1)*bins], fb[i])
	}
	return out, nil
}
