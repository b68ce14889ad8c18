// Package audio reads sound files and turns them into the features audio
// transformers take: 16-bit PCM WAV files (ReadWAV), resampling (Resample, as
// torchaudio.functional.resample) and Kaldi-style log-mel
// filterbanks (Fbank), the front end of the Audio Spectrogram Transformer
// (AST, arXiv 2104.01778), checked against torchaudio.compliance.kaldi.
package audio

import (
	"encoding/binary"
	"fmt"
	"os"
)

// WAV is a decoded sound: the channels averaged to one, as floats in
// [−1, 1) (sample / 32768, torchaudio's scale), at Rate samples per
// second.
type WAV struct {
	Samples  []float32
	Rate     int
	Channels int // in the file
}

// ReadWAV reads a RIFF/WAVE file of 16-bit PCM samples (any rate, any
// number of channels). Anything else — another encoding or sample size, a
// truncated or malformed file — is an error naming the file and what was
// found.
func ReadWAV(path string) (*WAV, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	fail := func(format string, args ...any) (*WAV, error) {
		return nil, fmt.Errorf("audio: %s: "+format, append([]any{path}, args...)...)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return fail("not a RIFF/WAVE file")
	}
	var (
		format, channels, bits int
		rate                   int
		fmtSeen                bool
		pcm                    []byte
	)
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := off + 8
		if size < 0 || body+size > len(b) {
			return fail("chunk %q of %d bytes runs past the end of the file (%d bytes)", id, size, len(b))
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return fail("fmt chunk of %d bytes, want at least 16", size)
			}
			format = int(binary.LittleEndian.Uint16(b[body:]))
			channels = int(binary.LittleEndian.Uint16(b[body+2:]))
			rate = int(binary.LittleEndian.Uint32(b[body+4:]))
			bits = int(binary.LittleEndian.Uint16(b[body+14:]))
			if format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes
				format = int(binary.LittleEndian.Uint16(b[body+24:]))
			}
			fmtSeen = true
		case "data":
			pcm = b[body : body+size]
		}
		off = body + size + size%2
	}
	switch {
	case !fmtSeen:
		return fail("no fmt chunk")
	case format != 1:
		return fail("audio format %d, want 1 (PCM)", format)
	case bits != 16:
		return fail("%d-bit samples, want 16-bit PCM", bits)
	case channels < 1 || rate < 1:
		return fail("%d channels at %d Hz", channels, rate)
	case pcm == nil:
		return fail("no data chunk")
	}
	frames := len(pcm) / (2 * channels)
	w := &WAV{Samples: make([]float32, frames), Rate: rate, Channels: channels}
	for i := range frames {
		var s float64
		for c := range channels {
			s += float64(int16(binary.LittleEndian.Uint16(pcm[2*(i*channels+c):]))) / 32768
		}
		w.Samples[i] = float32(s / float64(channels))
	}
	return w, nil
}
