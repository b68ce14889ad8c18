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

// Tensors of the type asked for are used in place, from a GGUF file and
// from a Hugging Face directory's safetensors (the file stays mapped after
// loading, copy-on-write): loading allocates far less than the file holds,
// the weights stay readable once the loader has closed the file, writing
// to one changes the model and not the file, and a second load reads the
// file's values.
func TestWeightsInPlace(t *testing.T) {
	cases := []struct {
		name  string
		dt    tensor.DType
		write func(m *decoder.Model, dir string, dt tensor.DType) (file string, err error)
		load  func(dir string, dt tensor.DType) (*decoder.Model, error)
	}{
		{"gguf", tensor.Float32, writeInplaceGGUF, loadInplaceGGUF},
		{"gguf", tensor.Q8_0, writeInplaceGGUF, loadInplaceGGUF},
		{"hf", tensor.Float32, writeInplaceHF, loadInplaceHF},
		{"hf", tensor.BFloat16, writeInplaceHF, loadInplaceHF},
	}
	for _, c := range cases {
		t.Run(c.name+"-"+c.dt.String(), func(t *testing.T) {
			m, err := decoder.New(&decoder.Config{HiddenSize: 128, IntermediateSize: 512, NumHiddenLayers: 2, NumAttentionHeads: 4,
				HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 64, InitializerRange: 0.02}, 3)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			file, err := c.write(m, dir, c.dt)
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			load := func() *decoder.Model {
				back, err := c.load(dir, c.dt)
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
			if c.dt == tensor.Float32 {
				a.Embed.Weight.Value.F32()[0] = 12345 // written to the process's copy of the page
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

func writeInplaceGGUF(m *decoder.Model, dir string, dt tensor.DType) (string, error) {
	path := filepath.Join(dir, "m.gguf")
	return path, ExportGGUF(m, path, tokenizer.Byte{}, dt, "m")
}

func loadInplaceGGUF(dir string, dt tensor.DType) (*decoder.Model, error) {
	m, _, err := LoadGGUF(filepath.Join(dir, "m.gguf"), LoadOptions{DType: dt})
	return m, err
}

func writeInplaceHF(m *decoder.Model, dir string, dt tensor.DType) (string, error) {
	return filepath.Join(dir, "hf", "model.safetensors"), ExportHF(m, filepath.Join(dir, "hf"), tokenizer.Byte{}, dt)
}

func loadInplaceHF(dir string, dt tensor.DType) (*decoder.Model, error) {
	return LoadWith(filepath.Join(dir, "hf"), LoadOptions{DType: dt})
}
