package convert

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// A GGUF file's tensors of the type asked for are used in place (the file
// stays mapped after loading, copy-on-write): loading allocates far less
// than the file holds, the weights stay readable once the loader has
// closed the file, writing to one changes the model and not the file, and
// a second load reads the file's values.
func TestGGUFWeightsInPlace(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Q8_0} {
		t.Run(dt.String(), func(t *testing.T) {
			m, err := decoder.New(&decoder.Config{HiddenSize: 128, IntermediateSize: 512, NumHiddenLayers: 2, NumAttentionHeads: 4,
				HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 64, InitializerRange: 0.02}, 3)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := ExportGGUF(m, path, tokenizer.Byte{}, dt, "m"); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			load := func() *decoder.Model {
				back, _, err := LoadGGUF(path, LoadOptions{DType: dt})
				if err != nil {
					t.Fatal(err)
				}
				return back
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			a := load()
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(st.Size())/2 {
				t.Errorf("loading a %d-byte file allocated %d bytes: its weights were copied", st.Size(), alloc)
			}
			want := decodertest.ParamValues(a) // reads every weight after the file was closed
			if dt == tensor.Float32 {
				a.Embed.Weight.Value.F32()[0] = 12345 // written to the process's copy of the page
			}
			b := load()
			for name, got := range decodertest.ParamValues(b) {
				for i, v := range got {
					if v != want[name][i] {
						t.Fatalf("%s[%d]: %v on the second load, %v on the first", name, i, v, want[name][i])
					}
				}
			}
		})
	}
}

// The same for a Hugging Face directory: safetensors tensors of the type
// asked for are used in place.
func TestSafetensorsWeightsInPlace(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Float32, tensor.BFloat16} {
		t.Run(dt.String(), func(t *testing.T) {
			m, err := decoder.New(&decoder.Config{HiddenSize: 128, IntermediateSize: 512, NumHiddenLayers: 2, NumAttentionHeads: 4,
				HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 64, InitializerRange: 0.02}, 3)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "hf")
			if err := ExportHF(m, dir, tokenizer.Byte{}, dt); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			load := func() *decoder.Model {
				back, err := LoadWith(dir, LoadOptions{DType: dt})
				if err != nil {
					t.Fatal(err)
				}
				return back
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			a := load()
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(st.Size())/2 {
				t.Errorf("loading a %d-byte file allocated %d bytes: its weights were copied", st.Size(), alloc)
			}
			want := decodertest.ParamValues(a)
			if dt == tensor.Float32 {
				a.Embed.Weight.Value.F32()[0] = 12345
			}
			for name, got := range decodertest.ParamValues(load()) {
				for i, v := range got {
					if v != want[name][i] {
						t.Fatalf("%s[%d]: %v on the second load, %v on the first", name, i, v, want[name][i])
					}
				}
			}
		})
	}
}
