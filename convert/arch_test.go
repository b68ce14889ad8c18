package convert

import (
	"fmt"
	"github.com/loomml/loom/models/decoder/decodertest"
	"os"
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
// beyond Llama, Mistral and Qwen2, and the mixtures (TestHFReference checks
// their logits).
var archFixtures = []string{"qwen3-f32", "qwen3-bias-window", "phi3-f32", "phi3-longrope", "phi3-longrope-short", "gpt2-f32", "gemma3-f32", "gemma2-f32", "mixtral-f32", "qwen2moe-f32"}

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
			c1.HeadDim, c2.HeadDim = c1.HeadDimOrDefault(), c2.HeadDimOrDefault() // the export spells it out
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
// applied before the keys enter the cache). Not phi3-longrope: there, as
// in transformers, a call whose sequence passes the original context uses
// the long frequencies while the cached keys keep the short ones.
func TestArchIncremental(t *testing.T) {
	for _, name := range archFixtures {
		if name == "phi3-longrope" {
			continue
		}
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

// TestArchConfigs: a GPT-2 config.json read with GPT2Config's defaults
// (n_inner null is 4·n_embd, gelu_new, tied head, LayerNorm eps 1e-5) and
// written back with GPT-2's keys.
func TestArchConfigs(t *testing.T) {
	c, err := decoder.ParseConfig("config.json", []byte(`{"model_type": "gpt2", "n_embd": 16, "n_layer": 1, "n_head": 4,
		"vocab_size": 16, "n_positions": 32, "n_inner": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.IntermediateSize != 64 || c.HiddenAct != "gelu_new" || !c.TieWordEmbeddings || c.RMSNormEps != 1e-5 ||
		c.NormName() != "layernorm" || !c.Loom.NormBias || c.PositionsName() != "learned" || c.FFNName() != "mlp" || !c.AttentionBias || !c.MLPBias {
		t.Fatalf("GPT-2 config read as %+v", c)
	}
	out := string(c.JSON())
	for _, k := range []string{`"n_embd": 16`, `"n_inner": 64`, `"layer_norm_epsilon": 0.00001`, `"activation_function": "gelu_new"`, `"scale_attn_weights": true`} {
		if !strings.Contains(out, k) {
			t.Errorf("GPT-2 config.json lacks %s:\n%s", k, out)
		}
	}
	for _, k := range []string{"hidden_size", "rope_theta", "num_key_value_heads", "rms_norm_eps"} {
		if strings.Contains(out, `"`+k+`"`) {
			t.Errorf("GPT-2 config.json has Llama's %s:\n%s", k, out)
		}
	}
	q, err := decoder.ParseConfig("config.json", []byte(`{"model_type": "qwen3", "hidden_size": 16, "intermediate_size": 32,
		"num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 16, "max_position_embeddings": 32}`))
	if err != nil {
		t.Fatal(err)
	}
	if q.HeadDimOrDefault() != 128 || q.QKNorm() != "rmsnorm" {
		t.Errorf("Qwen3 without head_dim: head_dim %d (want Qwen3Config's 128), q/k norm %q", q.HeadDimOrDefault(), q.QKNorm())
	}
	g, err := decoder.ParseConfig("config.json", []byte(`{"model_type": "gemma3_text", "hidden_size": 16, "intermediate_size": 32,
		"num_hidden_layers": 12, "num_attention_heads": 4, "vocab_size": 16, "max_position_embeddings": 32,
		"attn_logit_softcapping": null, "final_logit_softcapping": null}`))
	if err != nil {
		t.Fatal(err)
	}
	var sliding []int
	for i := range g.NumHiddenLayers {
		if g.Sliding(i) {
			sliding = append(sliding, i)
		}
	}
	// Gemma3TextConfig: head_dim 256, gelu_pytorch_tanh, tied, 1e6 and 1e4
	// bases, query_pre_attn_scalar 256, window 4096, every 6th layer global.
	if g.HeadDimOrDefault() != 256 || g.HiddenAct != "gelu_pytorch_tanh" || !g.TieWordEmbeddings || g.RopeThetaAt(5) != 1e6 ||
		g.RopeThetaAt(0) != 1e4 || g.AttentionScale() != 1.0/16 || g.WindowAt(0) != 4096 || g.WindowAt(5) != 0 ||
		!slices.Equal(sliding, []int{0, 1, 2, 3, 4, 6, 7, 8, 9, 10}) || g.NormName() != "gemma_rmsnorm" || g.LayoutName() != "prepost" {
		t.Errorf("Gemma 3 defaults read as %+v (sliding layers %v)", g, sliding)
	}
	g2, err := decoder.ParseConfig("config.json", []byte(`{"model_type": "gemma2", "hidden_size": 16, "intermediate_size": 32,
		"num_hidden_layers": 4, "num_attention_heads": 4, "vocab_size": 16, "max_position_embeddings": 32}`))
	if err != nil {
		t.Fatal(err)
	}
	// Gemma2Config: caps 50 and 30, even layers sliding (window 4096).
	if *g2.AttnLogitSoftcapping != 50 || *g2.FinalLogitSoftcapping != 30 || g2.WindowAt(0) != 4096 || g2.WindowAt(1) != 0 ||
		g2.WindowAt(2) != 4096 || g2.QKNorm() != "" || g2.RopeThetaAt(0) != g2.RopeTheta {
		t.Errorf("Gemma 2 defaults read as %+v", g2)
	}
	if out := string(g.JSON()); !strings.Contains(out, `"hidden_activation": "gelu_pytorch_tanh"`) || strings.Contains(out, `"hidden_act"`) {
		t.Errorf("Gemma 3 config.json does not name hidden_activation as Gemma3TextConfig does:\n%s", out)
	}
}

// TestArchRefusals: configs of the new architectures with a feature loom
// does not implement are refused naming the key. (Their GGUF exports, to
// llama.cpp's architectures of the same names, and what those refuse:
// gguf_arch_test.go.)
func TestArchRefusals(t *testing.T) {
	const phi3 = `"model_type": "phi3", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
		"num_attention_heads": 4, "vocab_size": 16, "max_position_embeddings": 32`
	const gemma3 = `"model_type": "gemma3_text", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
		"num_attention_heads": 4, "head_dim": 8, "vocab_size": 16, "max_position_embeddings": 32`
	const gpt2 = `"model_type": "gpt2", "n_embd": 16, "n_layer": 1, "n_head": 4, "vocab_size": 16, "n_positions": 32`
	for _, tc := range []struct{ name, config, want string }{
		{"llama partial rotary", `{"model_type": "llama", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
			"num_attention_heads": 4, "vocab_size": 16, "max_position_embeddings": 32, "partial_rotary_factor": 0.5}`, `partial_rotary_factor 0.5: partial rotary embeddings are implemented for model_type phi3 (and loom.tokenformer) only`},
		{"llama longrope", `{"model_type": "llama", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
			"num_attention_heads": 4, "vocab_size": 16, "max_position_embeddings": 32,
			"rope_scaling": {"type": "longrope", "long_factor": [1, 1], "short_factor": [1, 1]}}`, `"longrope" is supported for model_type phi3 only`},
		{"phi3 odd rotary dim", `{` + phi3 + `, "partial_rotary_factor": 0.25}`, `partial_rotary_factor 0.25 gives a rotary dim of 1`},
		{"phi3 longrope factors", `{` + phi3 + `, "original_max_position_embeddings": 16,
			"rope_scaling": {"type": "longrope", "long_factor": [1, 1, 1], "short_factor": [1, 1]}}`, `has 3 long_factor and 2 short_factor values, want 2 each`},
		{"phi3 bias", `{` + phi3 + `, "attention_bias": true}`, `Phi-3 has no biases`},
		{"gemma3 attention soft-capping", `{` + gemma3 + `, "attn_logit_softcapping": 50.0}`, `"attn_logit_softcapping": attention logit soft-capping (Gemma 2) is not implemented for model_type gemma3_text`},
		{"gemma3 final soft-capping", `{` + gemma3 + `, "final_logit_softcapping": 30.0}`, `"final_logit_softcapping": final logit soft-capping (Gemma 2) is not implemented for model_type gemma3_text`},
		{"gemma2 negative cap", `{` + strings.Replace(gemma3, "gemma3_text", "gemma2", 1) + `, "final_logit_softcapping": -1}`, `final_logit_softcapping is -1, want a positive number or null`},
		{"gemma3 bidirectional", `{` + gemma3 + `, "use_bidirectional_attention": true}`, `"use_bidirectional_attention" is true`},
		{"gpt2 layer-index scaling", `{` + gpt2 + `, "scale_attn_by_inverse_layer_idx": true}`, `"scale_attn_by_inverse_layer_idx" is true`},
		{"gpt2 unscaled", `{` + gpt2 + `, "scale_attn_weights": false}`, `"scale_attn_weights" is false`},
		{"gpt2 llama key", `{` + gpt2 + `, "hidden_size": 16}`, `"hidden_size" is not a key of GPT2LMHeadModel (its name there is "n_embd")`},
		{"gpt2 unknown key", `{` + gpt2 + `, "n_experts": 4}`, `"n_experts" is not a key loom knows`},
		{"gpt2 other norm", `{` + gpt2 + `, "loom": {"norm": "rmsnorm"}}`, `loom.norm is "rmsnorm"; model_type gpt2 fixes it to "layernorm"`},
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

// TestArchLayoutErrors: a checkpoint in an architecture's layout with a
// fused or transposed tensor of the wrong shape, or without one, is
// refused naming the file, the tensor and the shape the config implies.
func TestArchLayoutErrors(t *testing.T) {
	for _, tc := range []struct {
		fixture, tensor string
		shape           []int // nil: leave the tensor out
		want            string
	}{
		{"phi3-f32", "model.layers.0.self_attn.qkv_proj.weight", []int{48, 16}, `"model.layers.0.self_attn.qkv_proj.weight" has shape [48 16], the config implies [32 16]`},
		{"phi3-f32", "model.layers.1.mlp.gate_up_proj.weight", []int{32, 16}, `"model.layers.1.mlp.gate_up_proj.weight" has shape [32 16], the config implies [64 16]`},
		{"gpt2-f32", "transformer.h.0.mlp.c_fc.weight", []int{64, 16}, `"transformer.h.0.mlp.c_fc.weight" has shape [64 16], the config implies [16 64]`},
		{"gpt2-f32", "transformer.h.1.attn.c_attn.bias", nil, "missing transformer.h.1.attn.c_attn.bias;"},
	} {
		t.Run(tc.fixture+" "+tc.tensor, func(t *testing.T) {
			src := filepath.Join("testdata", "hf", tc.fixture)
			m, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			params, err := toHFLayout(m.Config, m.Params())
			if err != nil {
				t.Fatal(err)
			}
			var kept []*autograd.Var
			for _, p := range params {
				switch {
				case p.Name != tc.tensor:
					kept = append(kept, p)
				case tc.shape != nil:
					kept = append(kept, autograd.NewParam(p.Name, p.Role, tensor.Zeros(tc.shape...)))
				}
			}
			if len(kept) != len(params)-1 && tc.shape == nil || tc.shape != nil && len(kept) != len(params) {
				t.Fatalf("no tensor %s in %s", tc.tensor, tc.fixture)
			}
			dir := t.TempDir()
			if err := copyFile(filepath.Join(src, ConfigFile), filepath.Join(dir, ConfigFile)); err != nil {
				t.Fatal(err)
			}
			if err := saveParams(t.Context(), filepath.Join(dir, WeightsFile), kept, "F32", nil); err != nil {
				t.Fatal(err)
			}
			_, err = Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Load: %v, want an error naming %s and %s", err, dir, tc.want)
			}
		})
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// TestGPT2BaseCheckpoint: a GPT-2 checkpoint saved from the base model
// (no "transformer." prefix, the causal-mask buffers attn.bias kept, as in
// openai-community/gpt2's files) loads to the same model as the full one.
func TestGPT2BaseCheckpoint(t *testing.T) {
	src := filepath.Join("testdata", "hf", "gpt2-f32")
	m, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	params, err := toHFLayout(m.Config, m.Params())
	if err != nil {
		t.Fatal(err)
	}
	var base []*autograd.Var
	for _, p := range params {
		name, ok := strings.CutPrefix(p.Name, "transformer.")
		if !ok {
			t.Fatalf("%s has no transformer. prefix", p.Name)
		}
		base = append(base, autograd.NewParam(name, p.Role, p.Value))
	}
	for i := range m.Config.NumHiddenLayers {
		base = append(base, autograd.NewParam(fmt.Sprintf("h.%d.attn.bias", i), autograd.RoleBias, tensor.Ones(1, 1, 64, 64)))
	}
	dir := t.TempDir()
	if err := copyFile(filepath.Join(src, ConfigFile), filepath.Join(dir, ConfigFile)); err != nil {
		t.Fatal(err)
	}
	if err := saveParams(t.Context(), filepath.Join(dir, WeightsFile), base, "F32", nil); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := nn.ParamMap(m.Params())
	for _, p := range b.Params() {
		if !slices.Equal(p.Value.F32(), want[p.Name].Value.F32()) {
			t.Errorf("%s differs from the full checkpoint's", p.Name)
		}
	}
}

// TestArchSaveLoad: loom's own Save (loom's tensor names, the class's
// config keys with loom's options) loads back to the same model.
func TestArchSaveLoad(t *testing.T) {
	for _, name := range archFixtures {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join("testdata", "hf", name))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := Save(m, dir); err != nil {
				t.Fatal(err)
			}
			b, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := nn.ParamMap(m.Params())
			got := b.Params()
			if len(got) != len(want) {
				t.Fatalf("%d parameters after Save and Load, %d before", len(got), len(want))
			}
			for _, p := range got {
				if w, ok := want[p.Name]; !ok || !slices.Equal(p.Value.F32(), w.Value.F32()) {
					t.Errorf("%s differs after Save and Load", p.Name)
				}
			}
		})
	}
}

// TestArchRowsDecode: one decode step over a batch of separate sequences
// (nn.Ctx.Positions, as the server runs) gives each row the logits of its
// sequence decoded alone, with q/k norms, partial rotary and LongRoPE's
// switch (the length-9 row of phi3-longrope decodes past its original
// context of 8).
func TestArchRowsDecode(t *testing.T) {
	for _, name := range archFixtures {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join("testdata", "hf", name))
			if err != nil {
				t.Fatal(err)
			}
			lengths := []int{1, 5, 2, 9}
			B, V := len(lengths), m.Config.VocabSize
			prompts := make([][]int, B)
			for b, n := range lengths {
				prompts[b] = decodertest.IDs(n+b, V)[b:]
			}
			next := []int{7, 11, 13, 17}
			want := make([][]float32, B)
			caches := make(nn.SeqCaches, B)
			pos := make([]int, B)
			for b, p := range prompts {
				alone := m.NewCache(1, 32)
				caches[b] = m.NewCache(1, 32)
				autograd.NoGrad(func() {
					m.Forward(&nn.Ctx{Cache: alone}, p, 1, len(p))
					m.Forward(&nn.Ctx{Cache: caches[b]}, p, 1, len(p))
				})
				want[b] = decodertest.Logits1(m, next[b], len(p), alone)
				pos[b] = len(p)
			}
			var got []float32
			autograd.NoGrad(func() {
				got = m.Forward(&nn.Ctx{Cache: caches, Positions: pos}, next, B, 1).Value.Contiguous().F32()
			})
			for b := range B {
				for i, w := range want[b] {
					if d := got[b*V+i] - w; d > 1e-5 || d < -1e-5 {
						t.Fatalf("row %d (length %d) logit %d: batched %v, alone %v", b, lengths[b], i, got[b*V+i], w)
					}
				}
			}
		})
	}
}

// TestArchLowPrecision: the fused and transposed tensors of the new
// layouts load packed as bf16 (and as q8_0, which rows of 16 cannot hold:
// f16, as WeightDType falls back), with logits near the float32 load's.
func TestArchLowPrecision(t *testing.T) {
	for _, name := range []string{"phi3-f32", "gpt2-f32"} {
		for _, dt := range []tensor.DType{tensor.BFloat16, tensor.Q8_0} {
			t.Run(name+" "+dt.String(), func(t *testing.T) {
				dir := filepath.Join("testdata", "hf", name)
				m, err := Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				lp, err := LoadWith(dir, LoadOptions{DType: dt})
				if err != nil {
					t.Fatal(err)
				}
				packed := 0
				for _, p := range lp.Params() {
					if p.Value.DType() != tensor.Float32 {
						packed++
					}
				}
				if packed == 0 {
					t.Fatal("no weight was packed")
				}
				ids := []int{3, 1, 4, 1, 5, 9, 2, 6}
				var a, b []float32
				autograd.NoGrad(func() {
					a = m.Forward(nil, ids, 1, len(ids)).Value.Contiguous().F32()
					b = lp.Forward(nil, ids, 1, len(ids)).Value.Contiguous().F32()
				})
				for i := range a {
					if d := a[i] - b[i]; d > 0.15 || d < -0.15 {
						t.Fatalf("logit %d: %v as %v, %v as float32", i, b[i], dt, a[i])
					}
				}
			})
		}
	}
}
