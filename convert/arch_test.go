package convert

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// archFixtures are the fixtures under testdata/hf of the architectures
// beyond Llama, Mistral and Qwen2 (TestHFReference checks their logits).
var archFixtures = []string{"qwen3-f32", "qwen3-bias-window"}

// readCheckpoint returns every tensor of a safetensors checkpoint in dir,
// by its name in the files, as float32.
func readCheckpoint(t *testing.T, dir string) map[string]*tensor.Tensor {
	t.Helper()
	src, err := openSafetensors(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := map[string]*tensor.Tensor{}
	for _, n := range src.names() {
		v, err := src.load(n, tensor.Float32)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = v
	}
	return out
}

// TestArchHFRoundTrip: a fixture loaded and exported to Hugging Face gives
// back the checkpoint's tensors (names, shapes, values: the export of
// float32 weights is exact) and a config.json that loads to the same
// model, whose logits equal the first load's.
func TestArchHFRoundTrip(t *testing.T) {
	for _, name := range archFixtures {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "hf", name)
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			if err := ExportHF(m, out, smallTokenizer(t), tensor.Float32); err != nil {
				t.Fatal(err)
			}
			want, got := readCheckpoint(t, dir), readCheckpoint(t, out)
			if !slices.Equal(slices.Sorted(mapKeys(want)), slices.Sorted(mapKeys(got))) {
				t.Fatalf("exported tensors %v, the checkpoint has %v", slices.Sorted(mapKeys(got)), slices.Sorted(mapKeys(want)))
			}
			for n, w := range want {
				g := got[n]
				if !tensor.EqualShape(g.Shape(), w.Shape()) || !slices.Equal(g.F32(), w.F32()) {
					t.Errorf("tensor %s: exported %v differs from the checkpoint's %v", n, g.Shape(), w.Shape())
				}
			}
			m2, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			c1, c2 := *m.Config, *m2.Config
			c1.Architectures, c2.Architectures, c1.TorchDtype, c2.TorchDtype = nil, nil, "", ""
			if string(c1.JSON()) != string(c2.JSON()) {
				t.Errorf("config after the round trip:\n%s\nwant\n%s", c2.JSON(), c1.JSON())
			}
			ids := []int{3, 1, 4, 1, 5, 9, 2, 6}
			var a, b *autograd.Var
			autograd.NoGrad(func() { a, b = m.Forward(nil, ids, 1, len(ids)), m2.Forward(nil, ids, 1, len(ids)) })
			if !slices.Equal(a.Value.F32(), b.Value.F32()) {
				t.Error("logits differ after the round trip")
			}
		})
	}
}

// TestArchIncremental: decoding one token at a time with the cache gives
// the logits of the whole sequence at once (q/k norms and the rest are
// applied before the keys enter the cache).
func TestArchIncremental(t *testing.T) {
	for _, name := range archFixtures {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join("testdata", "hf", name))
			if err != nil {
				t.Fatal(err)
			}
			ids := []int{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}
			V := m.Config.VocabSize
			autograd.NoGrad(func() {
				full := m.Forward(nil, ids, 1, len(ids)).Value.Contiguous().F32()
				ctx := &nn.Ctx{Cache: m.NewCache(1, len(ids))}
				for i, id := range ids {
					ctx.Pos = i
					step := m.Forward(ctx, []int{id}, 1, 1).Value.Contiguous().F32()
					for v := range V {
						if d := step[v] - full[i*V+v]; d > 1e-4 || d < -1e-4 {
							t.Fatalf("position %d token %d: incremental %v, whole %v", i, v, step[v], full[i*V+v])
						}
					}
				}
			})
		})
	}
}

// TestArchRefusals: configs of the new architectures with a feature loom
// does not implement are refused naming the key, and exports llama.cpp's
// llama architecture cannot hold are refused naming the model type.
func TestArchRefusals(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "hf", "qwen3-f32"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ExportGGUF(m, filepath.Join(t.TempDir(), "x.gguf"), nil, tensor.Float16, "x"); err == nil || !strings.Contains(err.Error(), "model_type=qwen3") {
		t.Errorf("ExportGGUF of a Qwen3 model: %v, want a refusal naming model_type=qwen3", err)
	}
	for _, tc := range []struct{ name, config, want string }{
		{"qwen3 yarn", `{"model_type": "qwen3", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
			"num_attention_heads": 4, "head_dim": 8, "vocab_size": 16, "max_position_embeddings": 32,
			"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}`, `rope_type "yarn"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decoder.ParseConfig("config.json", []byte(tc.config))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseConfig: %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// smallTokenizer is a character-level BPE tokenizer of 16 ids (the
// fixtures' vocabularies are smaller than the byte tokenizer's 256).
func smallTokenizer(t *testing.T) tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.ParseHF("small.json", []byte(`{"model": {"type": "BPE", "merges": [],
		"vocab": {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4, "f": 5, "g": 6, "h": 7, "i": 8, "j": 9, "k": 10, "l": 11, "m": 12, "n": 13, "o": 14, "p": 15}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
