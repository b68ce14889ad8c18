package convert

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

func TestHFExportRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*decoder.Config)
		dt   tensor.DType
	}{
		{"f32", nil, tensor.Float32},
		{"tied-bias", func(c *decoder.Config) { c.TieWordEmbeddings, c.AttentionBias, c.MLPBias = true, true, true }, tensor.Float32},
		{"bf16", nil, tensor.BFloat16},
		{"f16", nil, tensor.Float16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decoder.New(decodertest.InteropConfig(tc.mod), 7)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "hf")
			if err := ExportHF(m, dir, tokenizer.Byte{}, tc.dt); err != nil {
				t.Fatal(err)
			}
			back, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := decodertest.ParamValues(m)
			for name, got := range decodertest.ParamValues(back) {
				w := want[name]
				for i := range w {
					r := w[i]
					switch tc.dt {
					case tensor.BFloat16:
						r = tensor.Float32FromBF16(tensor.BF16FromFloat32(r))
					case tensor.Float16:
						r = tensor.Float32FromF16(tensor.F16FromFloat32(r))
					}
					if got[i] != r {
						t.Fatalf("%s[%d] = %v after the round trip, want %v", name, i, got[i], r)
					}
				}
			}
			// The directory is what transformers expects.
			var cfg map[string]any
			b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
			json.Unmarshal(b, &cfg)
			if _, ok := cfg["loom"]; ok || cfg["architectures"].([]any)[0] != "LlamaForCausalLM" {
				t.Errorf("config.json: %s", b)
			}
			f, err := safetensors.Open(filepath.Join(dir, WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Metadata["format"] != "pt" {
				t.Errorf("__metadata__ = %v, want format pt", f.Metadata)
			}
			tok, err := LoadTokenizer(back.Config, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Encode("hello\xff"); len(got) != 6 || got[5] != 255 {
				t.Errorf("exported byte tokenizer encodes %v", got)
			}
			for _, f := range []string{GenerationConfigFile, TokenizerConfigFile} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestHFExportRefusesLoomOptions(t *testing.T) {
	m, err := decoder.New(decodertest.GPT2Config(), 1)
	if err != nil {
		t.Fatal(err)
	}
	err = ExportHF(m, filepath.Join(t.TempDir(), "x"), nil, tensor.Float32)
	if err == nil || !strings.Contains(err.Error(), "loom.norm=layernorm") || !strings.Contains(err.Error(), "loom.positions=learned") {
		t.Fatalf("ExportHF of a GPT-2-style model: %v", err)
	}
	err = ExportGGUF(m, filepath.Join(t.TempDir(), "x.gguf"), nil, tensor.Float16, "x")
	if err == nil || !strings.Contains(err.Error(), "loom.ffn=mlp") {
		t.Fatalf("ExportGGUF of a GPT-2-style model: %v", err)
	}
	w := 8
	m, _ = decoder.New(decodertest.InteropConfig(func(c *decoder.Config) { c.ModelType, c.SlidingWindow = "mistral", &w }), 1)
	if err := ExportGGUF(m, filepath.Join(t.TempDir(), "x.gguf"), nil, tensor.Float16, "x"); err == nil || !strings.Contains(err.Error(), "sliding_window=8") {
		t.Fatalf("ExportGGUF of a windowed model: %v", err)
	}
}

func mixtral(c *decoder.Config) { c.ModelType, c.NumExperts, c.NumExpertsPerTok = "mixtral", 4, 2 }

func TestGGUFRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*decoder.Config)
		typ  tensor.DType
	}{
		{"f32", nil, tensor.Float32},
		{"f32-tied-bias", func(c *decoder.Config) { c.TieWordEmbeddings, c.AttentionBias, c.MLPBias = true, true, true }, tensor.Float32},
		{"f32-headdim", func(c *decoder.Config) {
			c.HeadDim = 32
			c.RopeScaling = &decoder.RopeScaling{RopeType: "linear", Factor: 2}
		}, tensor.Float32},
		{"f16", nil, tensor.Float16},
		{"q8_0", nil, tensor.Q8_0},
		// Mixtral: the experts stacked in ffn_*_exps and split on import.
		{"mixtral-f32", mixtral, tensor.Float32},
		{"mixtral-q8_0", mixtral, tensor.Q8_0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decoder.New(decodertest.InteropConfig(tc.mod), 3)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := ExportGGUF(m, path, tokenizer.Byte{}, tc.typ, "tiny"); err != nil {
				t.Fatal(err)
			}
			for _, dt := range decoder.WeightDTypes {
				back, err := LoadWith(path, LoadOptions{DType: dt})
				if err != nil {
					t.Fatal(err)
				}
				if dt != tensor.Float32 {
					continue // precision checks below are on float32 loads
				}
				if back.Config.HeadDimOrDefault() != m.Config.HeadDimOrDefault() || back.Config.TieWordEmbeddings != m.Config.TieWordEmbeddings ||
					back.Config.ModelType != m.Config.ModelType && m.Config.ModelType != "" || back.Config.NumExperts != m.Config.NumExperts ||
					(m.Config.RopeScaling != nil) != (back.Config.RopeScaling != nil) {
					t.Fatalf("config after the round trip: %+v", back.Config)
				}
				want := decodertest.ParamValues(m)
				for name, got := range decodertest.ParamValues(back) {
					w := want[name]
					for i := range w {
						var ok bool
						switch {
						case tc.typ == tensor.Float32 || len(paramShape(m, name)) == 1:
							ok = got[i] == w[i]
						case tc.typ == tensor.Float16:
							ok = got[i] == tensor.Float32FromF16(tensor.F16FromFloat32(w[i]))
						case tc.typ == tensor.Q8_0:
							// within half a quantisation step of the block
							blk := w[i/32*32 : i/32*32+32]
							amax := 0.0
							for _, x := range blk {
								amax = math.Max(amax, math.Abs(float64(x)))
							}
							d := float64(tensor.Float32FromF16(tensor.F16FromFloat32(float32(amax / 127))))
							ok = math.Abs(float64(got[i]-w[i])) <= d/2+amax*1e-3
						}
						if !ok {
							t.Fatalf("%s[%d] = %v after the round trip, want %v (%v)", name, i, got[i], w[i], tc.typ)
						}
					}
				}
			}
			tok, err := LoadGGUFTokenizer(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Encode("ab\x00"); len(got) != 3 || got[0] != 'a' || got[2] != 0 {
				t.Errorf("tokenizer from GGUF encodes %v", got)
			}
		})
	}
}

func paramShape(m *decoder.Model, name string) []int {
	for _, p := range m.Params() {
		if p.Name == name {
			return p.Shape()
		}
	}
	return nil
}

// TestGGUFPermutation checks the q/k row order against llama.cpp's
// convert_hf_to_gguf.py permute(): w.reshape(heads, 2, hd/2, cols)
// .swapaxes(1, 2).
func TestGGUFPermutation(t *testing.T) {
	heads, hd, cols := 2, 6, 1
	rows := heads * hd
	data := make([]byte, rows)
	for i := range data {
		data[i] = byte(i)
	}
	got := permuteRows(data, rows, cols, heads, true)
	// [h][s][i] → [h][i][s]
	want := []byte{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}
	if string(got) != string(want) {
		t.Fatalf("permuted rows %v, want %v", got, want)
	}
	if back := permuteRows(got, rows, cols, heads, false); string(back) != string(data) {
		t.Fatalf("inverse gives %v", back)
	}
}

func TestLowPrecisionLogits(t *testing.T) {
	m, err := decoder.New(decodertest.InteropConfig(nil), 5)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Save(m, dir); err != nil {
		t.Fatal(err)
	}
	in := decodertest.IDs(20, m.Config.VocabSize)
	ref := decodertest.Logits(t, m, in)
	scale := 0.0
	for _, v := range ref {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for _, tc := range []struct {
		dt  tensor.DType
		tol float64 // relative to max |logit|
	}{
		{tensor.Float32, 0}, {tensor.BFloat16, 0.03}, {tensor.Float16, 0.004}, {tensor.Q8_0, 0.02},
	} {
		lm, err := LoadWith(dir, LoadOptions{DType: tc.dt})
		if err != nil {
			t.Fatal(err)
		}
		if tc.dt != tensor.Float32 && lm.Embed.Weight.Value.DType() != tc.dt {
			t.Fatalf("%v: embeddings held as %v", tc.dt, lm.Embed.Weight.Value.DType())
		}
		got := decodertest.Logits(t, lm, in)
		if d := decodertest.MaxDiff(got, ref) / scale; d > tc.tol {
			t.Errorf("%v: logits differ from float32 by %.4g of max |logit|, want ≤ %g", tc.dt, d, tc.tol)
		} else {
			t.Logf("%v: max logit difference %.3g of max |logit|", tc.dt, d)
		}
		// Decoding with the cache agrees with the full forward.
		caches := lm.NewCache(1, len(in))
		var last []float32
		autograd.NoGrad(func() {
			for i, id := range in {
				last = lm.Forward(&nn.Ctx{Cache: caches, Pos: i}, []int{id}, 1, 1).Value.Contiguous().F32()
			}
		})
		V := lm.Config.VocabSize
		if d := decodertest.MaxDiff(last, got[len(got)-V:]); d > 1e-4*scale {
			t.Errorf("%v: cached decoding differs from the full forward by %g", tc.dt, d)
		}
	}
}

func writeShards(t *testing.T, m *decoder.Model, dir string) map[string]string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), m.Config.JSON(), 0o644)
	params := m.Params()
	half := len(params) / 2
	wm := map[string]string{}
	for i, part := range [][]*autograd.Var{params[:half], params[half:]} {
		name := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]
		if err := nn.SaveParams(filepath.Join(dir, name), part, safetensors.BF16, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		for _, p := range part {
			wm[p.Name] = name
		}
	}
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": wm})
	os.WriteFile(filepath.Join(dir, IndexFile), b, 0o644)
	return wm
}

func TestShardedLoad(t *testing.T) {
	m, _ := decoder.New(decodertest.InteropConfig(nil), 9)
	dir := t.TempDir()
	writeShards(t, m, dir)
	for _, dt := range decoder.WeightDTypes {
		back, err := LoadWith(dir, LoadOptions{DType: dt})
		if err != nil {
			t.Fatalf("%v: %v", dt, err)
		}
		if dt == tensor.BFloat16 {
			// bf16 shards held as bf16: the very bytes of the file.
			want := decodertest.ParamValues(m)
			for name, got := range decodertest.ParamValues(back) {
				for i, w := range want[name] {
					if got[i] != tensor.Float32FromBF16(tensor.BF16FromFloat32(w)) {
						t.Fatalf("%s[%d] = %v, want bf16(%v)", name, i, got[i], w)
					}
				}
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	m, _ := decoder.New(decodertest.InteropConfig(nil), 9)
	for _, tc := range []struct {
		name  string
		setup func(dir string)
		want  []string
	}{
		{"missing shard", func(dir string) {
			writeShards(t, m, dir)
			os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
		}, []string{IndexFile, "shard model-00002-of-00002.safetensors", "is missing"}},
		{"shard escapes", func(dir string) {
			writeShards(t, m, dir)
			os.WriteFile(filepath.Join(dir, IndexFile), []byte(`{"weight_map":{"model.norm.weight":"../x.safetensors"}}`), 0o644)
		}, []string{IndexFile, `"../x.safetensors"`, "want a file name"}},
		{"no weights", func(dir string) {
			os.WriteFile(filepath.Join(dir, ConfigFile), m.Config.JSON(), 0o644)
		}, []string{"no weights", WeightsFile, IndexFile}},
		{"wrong shape", func(dir string) {
			c := *m.Config
			c.IntermediateSize = 128
			Save(m, dir)
			os.WriteFile(filepath.Join(dir, ConfigFile), c.JSON(), 0o644)
		}, []string{WeightsFile, `"model.layers.0.mlp.gate_proj.weight" has shape [96 64]`, "the config implies [128 64]"}},
		{"missing tensor", func(dir string) {
			c := *m.Config
			c.NumHiddenLayers = 3
			Save(m, dir)
			os.WriteFile(filepath.Join(dir, ConfigFile), c.JSON(), 0o644)
		}, []string{"missing model.layers.2."}},
		{"unknown architecture", func(dir string) {
			Save(m, dir)
			b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
			os.WriteFile(filepath.Join(dir, ConfigFile), []byte(strings.Replace(string(b), `"llama"`, `"falcon"`, 1)), 0o644)
		}, []string{ConfigFile, `model_type "falcon" is not supported`}},
		{"unsupported tokenizer", func(dir string) {
			Save(m, dir)
			os.WriteFile(filepath.Join(dir, TokenizerFile), []byte(`{"model":{"type":"Unigram","vocab":[]}}`), 0o644)
		}, []string{TokenizerFile, `"Unigram" is not supported`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(dir)
			_, err := Load(dir)
			if err == nil {
				var c *decoder.Config
				if c, err = decoder.LoadConfig(dir); err == nil {
					_, err = LoadTokenizer(c, dir)
				}
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestGGUFImportErrors(t *testing.T) {
	write := func(t *testing.T, mod func(w *gguf.Writer)) string {
		w := gguf.NewWriter()
		mod(w)
		path := filepath.Join(t.TempDir(), "bad.gguf")
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name string
		mod  func(w *gguf.Writer)
		want string
	}{
		{"architecture", func(w *gguf.Writer) { w.Add("general.architecture", "mamba") }, `general.architecture is "mamba"`},
		{"missing arch key", func(w *gguf.Writer) { w.Add("general.architecture", "gemma2") }, "gemma2.context_length"},
		{"missing key", func(w *gguf.Writer) { w.Add("general.architecture", "llama") }, "llama.context_length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, tc.mod)
			_, err := LoadWith(path, LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.gguf") {
				t.Fatalf("error %v, want one naming bad.gguf and %q", err, tc.want)
			}
		})
	}
	// A q4_K tensor loom cannot read is named.
	m, _ := decoder.New(decodertest.InteropConfig(nil), 1)
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := ExportGGUF(m, path, nil, tensor.Float32, "m"); err != nil {
		t.Fatal(err)
	}
	tok := &tokenizer.Vocab{Model: "llama", Tokens: []string{"<unk>", "a"}}
	if _, err := tokenizer.FromVocab(path, tok); err == nil || !strings.Contains(err.Error(), "tokenizer.ggml.scores") {
		t.Fatalf("SentencePiece GGUF vocabulary without scores: %v", err)
	}
}

func TestWriteRandom(t *testing.T) {
	c := decodertest.InteropConfig(func(c *decoder.Config) { c.ModelType = "qwen2" })
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	for _, d := range dirs {
		if err := WriteRandom(c, d, tensor.BFloat16, 42, 20000, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dirs[0], IndexFile)); err != nil {
		t.Fatal("no index for a sharded model:", err)
	}
	a, err := Load(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadWith(dirs[1], LoadOptions{DType: tensor.BFloat16})
	if err != nil {
		t.Fatal(err)
	}
	in := decodertest.IDs(10, c.VocabSize)
	if d := decodertest.MaxDiff(decodertest.Logits(t, a, in), decodertest.Logits(t, b, in)); d > 1e-4 {
		t.Fatalf("the same seed gives logits %g apart", d)
	}
	if err := WriteRandom(c, dirs[0], tensor.BFloat16, 42, 0, nil); err == nil || !strings.Contains(err.Error(), "is not empty (holds") {
		t.Fatalf("overwriting: %v", err)
	}
}

func TestMistralWindowDefault(t *testing.T) {
	base := `"model_type": "mistral", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 50, "max_position_embeddings": 8192`
	for _, tc := range []struct {
		extra string
		want  int
	}{
		{"", 4096},                       // absent: transformers' default
		{`, "sliding_window": null`, 0},  // explicit null: no window
		{`, "sliding_window": 128`, 128}, // set
	} {
		c, err := decoder.ParseConfig("config.json", []byte("{"+base+tc.extra+"}"))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Window(); got != tc.want {
			t.Errorf("config with %q: window %d, want %d", tc.extra, got, tc.want)
		}
	}
}

func TestMistralNoWindowRoundTrip(t *testing.T) {
	c, err := decoder.ParseConfig("config.json", []byte(`{"model_type": "mistral", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 50, "max_position_embeddings": 64, "sliding_window": null}`))
	if err != nil {
		t.Fatal(err)
	}
	back, err := decoder.ParseConfig("config.json", c.JSON())
	if err != nil {
		t.Fatalf("%v\n%s", err, c.JSON())
	}
	if back.Window() != 0 {
		t.Fatalf("no window became %d after writing and reading:\n%s", back.Window(), c.JSON())
	}
}
