package convert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// quantMixFixture is testdata/quantmix/llamacpp.json: a model config and
// seed, and the tensors llama.cpp's quantiser writes from it per mix
// (name, ggml type, sha256 of the bytes).
type quantMixFixture struct {
	Config json.RawMessage     `json:"config"`
	Seed   uint64              `json:"seed"`
	Mixes  map[string][][3]any `json:"mixes"`
}

// quantmixModel reads the fixture and writes its model (made as `loom
// init` makes it) to a temporary directory.
func quantmixModel(t *testing.T) (quantMixFixture, string) {
	t.Helper()
	var fx quantMixFixture
	b, err := os.ReadFile(filepath.Join("testdata", "quantmix", "llamacpp.json"))
	if err == nil {
		err = json.Unmarshal(b, &fx)
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := decoder.ParseConfig("llamacpp.json config", fx.Config) // as loom init reads it
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := WriteRandom(c, dir, tensor.Float32, fx.Seed, 2000e6, nil); err != nil {
		t.Fatal(err)
	}
	return fx, dir
}

// TestQuantMixMatchesLlamaCpp: for the model of testdata/quantmix (made as
// `loom init` makes it), every mix ExportGGUFMix writes holds the same
// tensors as llama.cpp's quantiser writes from the same weights: the same
// type for each, and the same bytes (testdata/quantmix/gen.py).
func TestQuantMixMatchesLlamaCpp(t *testing.T) {
	fx, dir := quantmixModel(t)
	l, err := Open(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.Mixes) != len(QuantMixes) {
		t.Fatalf("the fixture has %d mixes, loom writes %d", len(fx.Mixes), len(QuantMixes))
	}
	for _, mix := range QuantMixes {
		want := fx.Mixes[mix.Name]
		path := filepath.Join(t.TempDir(), mix.Name+".gguf")
		if err := ExportGGUFMix(l.Model, path, tokenizer.Byte{}, mix, "m", WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Tensors) != len(want) {
			t.Errorf("%s: %d tensors, llama.cpp's file %d", mix.Name, len(f.Tensors), len(want))
		}
		for _, w := range want {
			name, typ, sum := w[0].(string), int(w[1].(float64)), w[2].(string)
			info, ok := f.Tensor(name)
			if !ok {
				t.Errorf("%s: no tensor %s", mix.Name, name)
				continue
			}
			if int(info.Type) != typ {
				t.Errorf("%s: %s is %v, llama.cpp's %v", mix.Name, name, info.Type, gguf.Type(typ))
				continue
			}
			raw, err := f.TensorBytes(name)
			if err != nil {
				t.Fatal(err)
			}
			if h := sha256.Sum256(raw); hex.EncodeToString(h[:]) != sum {
				t.Errorf("%s: %s (%v) holds other bytes than llama.cpp's", mix.Name, name, info.Type)
			}
		}
		f.Close()
	}
}
