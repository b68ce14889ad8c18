package convert

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// smallVocab is a SentencePiece ("llama") vocabulary of n pieces, for
// the tiny fixtures whose vocab_size is below a byte-level vocabulary's
// 256.
func smallVocab(t testing.TB, n int) tokenizer.Tokenizer {
	t.Helper()
	v := &tokenizer.Vocab{Model: "llama", Pre: "default", BOS: 1, EOS: 2, UNK: 0, PAD: -1}
	for i := range n {
		piece, typ := "\u2581"+string(rune('a'+i)), int32(tokenizer.TokenNormal)
		switch i {
		case 0, 1, 2:
			piece, typ = []string{"<unk>", "<s>", "</s>"}[i], tokenizer.TokenControl
			if i == 0 {
				typ = tokenizer.TokenUnknown
			}
		}
		v.Tokens = append(v.Tokens, piece)
		v.Types = append(v.Types, typ)
		v.Scores = append(v.Scores, -float32(i))
	}
	tok, err := tokenizer.FromVocab("small", v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fixtureWith copies the HF fixture dir to a temporary directory with
// config.json's keys changed by edit (nil: unchanged).
func fixtureWith(t *testing.T, dir string, edit map[string]any) string {
	t.Helper()
	if edit == nil {
		return dir
	}
	out := t.TempDir()
	for _, f := range []string{"model.safetensors", "config.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "config.json" {
			var cfg map[string]any
			json.Unmarshal(b, &cfg)
			for k, v := range edit {
				cfg[k] = v
			}
			b, _ = json.Marshal(cfg)
		}
		os.WriteFile(filepath.Join(out, f), b, 0o644)
	}
	return out
}

// TestGGUFArchRoundTrip exports each architecture's HF fixture as GGUF
// (f32 and f16) and reads it back: the architecture, keys and tensor
// names are llama.cpp's, and the logits equal the HF-loaded model's (f32:
// bit for bit, except where a float32 metadata value rounds the model's
// float64 one; f16: the HF model with its matrices rounded to f16).
func TestGGUFArchRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		edit    map[string]any
		arch    string
		keys    []string // keys and tensors the file must hold
		tol     float64  // f32 logits tolerance (0: bit for bit)
	}{
		{"qwen3-f32", nil, "qwen3", []string{"qwen3.attention.key_length", "blk.1.attn_q_norm.weight", "blk.0.ffn_gate.weight"}, 0},
		{"gpt2-f32", nil, "gpt2", []string{"gpt2.attention.layer_norm_epsilon", "position_embd.weight", "blk.0.attn_qkv.bias", "output_norm.bias"}, 0},
		{"phi3-f32", nil, "phi3", []string{"phi3.attention.sliding_window", "phi3.rope.dimension_count", "blk.0.attn_qkv.weight", "blk.1.ffn_up.weight", "output.weight"}, 0},
		{"phi3-longrope", nil, "phi3", []string{"rope_factors_long.weight", "rope_factors_short.weight", "phi3.rope.scaling.attn_factor", "phi3.rope.scaling.original_context_length"}, 1e-5},
		// llama.cpp scales Gemma's scores by head_dim^-0.5: the fixtures'
		// query_pre_attn_scalar (20) is set to head_dim (8).
		{"gemma2-f32", map[string]any{"query_pre_attn_scalar": 8}, "gemma2", []string{"gemma2.attn_logit_softcapping", "gemma2.final_logit_softcapping", "gemma2.attention.sliding_window", "blk.0.post_attention_norm.weight", "blk.0.post_ffw_norm.weight"}, 0},
		{"gemma3-f32", map[string]any{"query_pre_attn_scalar": 8}, "gemma3", []string{"gemma3.rope.freq_base_swa", "gemma3.rope.scaling.factor", "gemma3.attention.sliding_window_pattern", "blk.1.attn_k_norm.weight"}, 0},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			dir := fixtureWith(t, filepath.Join("testdata", "hf", tc.fixture), tc.edit)
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			ids := decodertest.IDs(12, m.Config.VocabSize)
			want := decodertest.Logits(t, m, ids)
			tok := smallVocab(t, m.Config.VocabSize)
			for _, typ := range []tensor.DType{tensor.Float32, tensor.Float16} {
				path := filepath.Join(t.TempDir(), "m.gguf")
				if err := ExportGGUF(m, path, tok, typ, tc.fixture); err != nil {
					t.Fatal(err)
				}
				f, err := gguf.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				if a, _ := f.String("general.architecture"); a != tc.arch {
					t.Errorf("general.architecture %q, want %q", a, tc.arch)
				}
				for _, k := range tc.keys {
					_, isKey := f.Get(k)
					_, isTensor := f.Tensor(k)
					if !isKey && !isTensor {
						t.Errorf("%s: no key or tensor %s", typ, k)
					}
				}
				for _, ti := range f.Tensors {
					if strings.Contains(ti.Name, "norm") && strings.HasPrefix(tc.arch, "gemma") {
						// Stored as 1+w: Gemma's zero-centred gains near 1.
						v, _ := f.Float32s(ti.Name)
						if math.Abs(float64(v[0])-1) > 0.5 {
							t.Errorf("%s[0] = %v, want 1+w", ti.Name, v[0])
						}
					}
				}
				f.Close()
				back, err := LoadWith(path, LoadOptions{DType: tensor.Float32})
				if err != nil {
					t.Fatal(err)
				}
				if back.Config.ModelType != m.Config.ModelType {
					t.Fatalf("model_type %q, want %q", back.Config.ModelType, m.Config.ModelType)
				}
				got := decodertest.Logits(t, back, ids)
				ref := want
				tol := tc.tol
				if typ == tensor.Float16 {
					hf16, _ := Load(dir)
					if err := hf16.CastWeights(tensor.Float16); err != nil {
						t.Fatal(err)
					}
					hf16.CastWeights(tensor.Float32)
					if m.Positions != nil { // position_embd is float32 in f16 files
						hf16.Positions.Weight.Value = m.Positions.Weight.Value
					}
					ref = decodertest.Logits(t, hf16, ids)
					tol = max(tol, 1e-5)
				}
				if d := decodertest.MaxDiff(ref, got); d > tol {
					t.Errorf("%s: logits differ from the HF model's by %.3g (tolerance %g)", typ, d, tol)
				}
			}
		})
	}
}

// TestGGUFArchRefusals: what llama.cpp's architecture cannot express is
// refused by name on export, and a file with a key or tensor loom does not
// read is refused naming the file and the key.
func TestGGUFArchRefusals(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		edit    map[string]any
		want    string
	}{
		{"gemma2-f32", nil, "query_pre_attn_scalar"},
		{"gemma2-f32", map[string]any{"query_pre_attn_scalar": 8, "hidden_activation": "gelu"}, "hidden_act"},
		{"gemma3-f32", map[string]any{"query_pre_attn_scalar": 8, "rope_scaling": map[string]any{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16}}, "rope_scaling \"llama3\""},
		{"qwen3-bias-window", nil, "attention_bias"},
		{"qwen3-f32", map[string]any{"use_sliding_window": true, "sliding_window": 4, "max_window_layers": 0}, "sliding_window"},
	} {
		t.Run(tc.fixture+"-"+tc.want, func(t *testing.T) {
			m, err := Load(fixtureWith(t, filepath.Join("testdata", "hf", tc.fixture), tc.edit))
			if err != nil {
				t.Fatal(err)
			}
			err = ExportGGUF(m, filepath.Join(t.TempDir(), "m.gguf"), smallVocab(t, m.Config.VocabSize), tensor.Float32, "m")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ExportGGUF: %v, want a refusal naming %s", err, tc.want)
			}
		})
	}

	// A file with a key loom's import does not read, and one of an
	// architecture loom does not read.
	m, err := Load(filepath.Join("testdata", "hf", "qwen3-f32"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := ExportGGUF(m, path, smallVocab(t, m.Config.VocabSize), tensor.Float32, "m"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	// u32 replaces the uint32 value of key k (its name, its type, then
	// the value).
	u32 := func(k string, v uint32) (string, string) {
		start := strings.Index(string(raw), k+"\x04\x00\x00\x00") // a uint32 value follows
		end := start + len(k) + 4
		return string(raw[start : end+4]), string(raw[start:end]) + string(binary.LittleEndian.AppendUint32(nil, v))
	}
	zeroHeads, zeroHeads2 := u32("qwen3.attention.head_count", 0)
	manyLayers, manyLayers2 := u32("qwen3.block_count", 1<<30)
	for _, tc := range []struct{ from, to, want string }{
		{"qwen3.rope.freq_base", "qwen3.rope.freq_basX", "key qwen3.rope.freq_basX is not supported"},
		{"\x05\x00\x00\x00\x00\x00\x00\x00qwen3", "\x05\x00\x00\x00\x00\x00\x00\x00qwen9", `general.architecture is "qwen9"`},
		{zeroHeads, zeroHeads2, "qwen3.attention.head_count is 0"},
		{manyLayers, manyLayers2, "qwen3.block_count is 1073741824"},
	} {
		bad := filepath.Join(t.TempDir(), "bad.gguf")
		os.WriteFile(bad, []byte(strings.Replace(string(raw), tc.from, tc.to, 1)), 0o644)
		_, err := LoadWith(bad, LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s → %s: %v, want an error naming %s and %q", tc.from, tc.to, err, bad, tc.want)
		}
	}
}

// TestGGUFArchConfig: the config read back from an export is the model's
// (the fields llama.cpp's metadata carries).
func TestGGUFArchConfig(t *testing.T) {
	dir := fixtureWith(t, filepath.Join("testdata", "hf", "gemma3-f32"), map[string]any{"query_pre_attn_scalar": 8})
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := ExportGGUF(m, path, smallVocab(t, m.Config.VocabSize), tensor.Float32, "m"); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	w := m.Config
	for i := range w.NumHiddenLayers {
		if c.WindowAt(i) != w.WindowAt(i) || c.RopeThetaAt(i) != w.RopeThetaAt(i) {
			t.Errorf("layer %d: window %d, rope base %g; want %d, %g", i, c.WindowAt(i), c.RopeThetaAt(i), w.WindowAt(i), w.RopeThetaAt(i))
		}
	}
	if c.QueryPreAttnScalar != 8 || c.HeadDim != w.HeadDim || c.RopeScaling == nil || c.RopeScaling.Factor != 2 || !c.TieWordEmbeddings {
		t.Errorf("config %s, want %s", c.JSON(), w.JSON())
	}
}

// TestGGUFArchLlamaCpp reads the files llama.cpp's own converter
// (convert_hf_to_gguf.py, testdata/gguf/gen_llamacpp.py) made from the HF
// fixtures, f16: loom's f16 export of the same model holds every key of
// the converter's file under the architecture with the same value, and the
// same tensors (names, shapes, types and bytes), and loom computes the
// same logits from either file. Where the converter's file says
// something else than the HF config, the model compared is the one
// llama.cpp reads from the file: Gemma's scores scaled by head_dim^-0.5
// (not the fixtures' query_pre_attn_scalar 20), Gemma 2's rotary base
// llama.cpp's default 10000 (Gemma2Model writes no rope.freq_base; the
// fixture has 1e6), Gemma 3's sliding-window pattern llama.cpp's default 6
// (Gemma3Model writes none; the fixture has 2).
func TestGGUFArchLlamaCpp(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		edit    map[string]any
	}{
		{"qwen3-f32", nil},
		{"gpt2-f32", nil},
		{"phi3-f32", nil},
		{"phi3-longrope", nil},
		{"gemma2-f32", map[string]any{"query_pre_attn_scalar": 8, "rope_theta": 10000}},
		{"gemma3-f32", map[string]any{"query_pre_attn_scalar": 8, "sliding_window_pattern": 6}},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			theirs := filepath.Join("testdata", "gguf", tc.fixture+".gguf")
			m, err := Load(fixtureWith(t, filepath.Join("testdata", "hf", tc.fixture), tc.edit))
			if err != nil {
				t.Fatal(err)
			}
			ours := filepath.Join(t.TempDir(), "ours.gguf")
			if err := ExportGGUF(m, ours, smallVocab(t, m.Config.VocabSize), tensor.Float16, tc.fixture); err != nil {
				t.Fatal(err)
			}
			ft, err := gguf.Open(theirs)
			if err != nil {
				t.Fatal(err)
			}
			defer ft.Close()
			fo, err := gguf.Open(ours)
			if err != nil {
				t.Fatal(err)
			}
			defer fo.Close()
			arch, _ := ft.String("general.architecture")
			if a, _ := fo.String("general.architecture"); a != arch {
				t.Fatalf("general.architecture %q, llama.cpp's converter writes %q", a, arch)
			}
			for _, kv := range ft.KV {
				if !strings.HasPrefix(kv.Key, arch+".") {
					continue
				}
				v, ok := fo.Get(kv.Key)
				if !ok || fmt.Sprint(v) != fmt.Sprint(kv.Value) {
					t.Errorf("key %s: loom writes %v (present %v), the converter %v", kv.Key, v, ok, kv.Value)
				}
			}
			if len(fo.Tensors) != len(ft.Tensors) {
				t.Errorf("loom writes %d tensors, the converter %d", len(fo.Tensors), len(ft.Tensors))
			}
			for _, ti := range ft.Tensors {
				oi, ok := fo.Tensor(ti.Name)
				if !ok {
					t.Errorf("tensor %s: loom does not write it", ti.Name)
					continue
				}
				if !slices.Equal(oi.Shape, ti.Shape) || oi.Type != ti.Type {
					t.Errorf("tensor %s: loom writes %v %v, the converter %v %v", ti.Name, oi.Type, oi.Shape, ti.Type, ti.Shape)
					continue
				}
				a, _ := ft.TensorBytes(ti.Name)
				b, _ := fo.TensorBytes(ti.Name)
				if !bytes.Equal(a, b) {
					t.Errorf("tensor %s: loom's bytes differ from the converter's", ti.Name)
				}
			}
			ids := decodertest.IDs(12, m.Config.VocabSize)
			mt, err := LoadWith(theirs, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			mo, err := LoadWith(ours, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			decodertest.EqualLogits(t, "the converter's file", decodertest.Logits(t, mo, ids), decodertest.Logits(t, mt, ids))
		})
	}
}
