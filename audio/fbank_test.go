package audio

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/format/safetensors"
)

// TestFbankAgainstTorchaudio reads testdata's WAV files (mono 16 kHz, mono
// 8 kHz, stereo) and compares their samples and filterbanks, with AST's
// options and with Kaldi's defaults, against
// torchaudio.compliance.kaldi.fbank (testdata/gen_fbank.py). torchaudio
// works in float32, loom in float64: the log energies agree within 2e-3
// (a relative 0.2 % of the energy), the samples exactly.
func TestFbankAgainstTorchaudio(t *testing.T) {
	f, err := safetensors.Open("testdata/fbank.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, name := range []string{"chirp16k", "chirp8k", "stereo16k"} {
		w, err := ReadWAV(filepath.Join("testdata", name+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := f.Float32(name + ".samples")
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Samples) != len(want) {
			t.Fatalf("%s: %d samples, torchaudio %d", name, len(w.Samples), len(want))
		}
		for i := range want {
			if w.Samples[i] != want[i] {
				t.Fatalf("%s: sample %d = %v, torchaudio %v", name, i, w.Samples[i], want[i])
			}
		}
		for _, c := range []struct {
			key string
			o   FbankOptions
		}{{"ast", ASTFbank}, {"kaldi", FbankOptions{}}} {
			got, err := Fbank(w.Samples, w.Rate, c.o)
			if err != nil {
				t.Fatal(err)
			}
			ref, shape, err := f.Float32(name + "." + c.key)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != shape[0] || len(got[0]) != shape[1] {
				t.Fatalf("%s %s: %d×%d, torchaudio %v", name, c.key, len(got), len(got[0]), shape)
			}
			worst := 0.0
			for i, row := range got {
				for j, v := range row {
					worst = math.Max(worst, math.Abs(float64(v-ref[i*shape[1]+j])))
				}
			}
			if worst > 2e-3 {
				t.Errorf("%s %s: log energies differ from torchaudio's by up to %.3g", name, c.key, worst)
			}
			t.Logf("%s %s: %d frames × %d bins, largest difference %.2g", name, c.key, shape[0], shape[1], worst)
		}
	}
}

func TestReadWAVErrors(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile("testdata/chirp16k.wav")
	float := append([]byte(nil), good...)
	float[20] = 3 // IEEE float format
	bits := append([]byte(nil), good...)
	bits[34] = 24
	for _, c := range []struct {
		data []byte
		want string
	}{
		{[]byte("hello"), "not a RIFF/WAVE file"},
		{float, "audio format 3, want 1 (PCM)"},
		{bits, "24-bit samples, want 16-bit PCM"},
		{good[:100], "runs past the end of the file"},
	} {
		p := filepath.Join(dir, "x.wav")
		os.WriteFile(p, c.data, 0o644)
		if _, err := ReadWAV(p); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: %v", c.want, err)
		}
	}
	if _, err := Fbank(make([]float32, 100), 16000, ASTFbank); err == nil || !strings.Contains(err.Error(), "shorter than one 25 ms window") {
		t.Errorf("short signal: %v", err)
	}
}
