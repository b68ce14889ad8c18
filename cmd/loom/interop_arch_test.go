package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// archOracleConfigs are small random models of the architectures loom
// exports to GGUF besides llama (and of llama's mixture, Mixtral), each using what makes the architecture
// (sliding windows shorter than the windows evaluated, soft-capping, both
// of Gemma 3's rotary bases, Phi-3's longrope factors and attention
// factor), with a 288-token vocabulary and weights of standard deviation 0.3
// so that the next-token distributions are far from uniform.
var archOracleConfigs = []struct {
	name   string
	gelu   bool // the FFN is GELU, which ggml computes from an f16 table
	config string
}{
	{"qwen3", false, `{"model_type": "qwen3", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-6, "rope_theta": 10000,
		"vocab_size": 288, "max_position_embeddings": 256, "tie_word_embeddings": true, "initializer_range": 0.3}`},
	{"gpt2", true, `{"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 256, "vocab_size": 288,
		"initializer_range": 0.3}`},
	{"phi3", false, `{"model_type": "phi3", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000,
		"vocab_size": 288, "max_position_embeddings": 1024, "original_max_position_embeddings": 256,
		"rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5, 3.1, 3.8], "long_factor": [1.0, 2, 4, 6, 8, 10, 12, 14]},
		"initializer_range": 0.3}`},
	// Phi-3 with the long factors: llama.cpp takes them when its context
	// (256) exceeds original_max_position_embeddings, loom (as
	// transformers) when the sequence does: the 64-token windows, each
	// evaluated in one call, are longer than 32.
	{"phi3-long", false, `{"model_type": "phi3", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000,
		"vocab_size": 288, "max_position_embeddings": 1024, "original_max_position_embeddings": 32,
		"rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5, 3.1, 3.8], "long_factor": [1.0, 2, 4, 6, 8, 10, 12, 14]},
		"initializer_range": 0.3}`},
	// Mixtral: llama's architecture with stacked experts (ffn_*_exps,
	// ffn_gate_inp), 4 experts, 2 per token.
	{"mixtral", false, `{"model_type": "mixtral", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000,
		"num_local_experts": 4, "num_experts_per_tok": 2,
		"vocab_size": 288, "max_position_embeddings": 256, "initializer_range": 0.3}`},
	{"gemma2", true, `{"model_type": "gemma2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "query_pre_attn_scalar": 16,
		"sliding_window": 8, "attn_logit_softcapping": 5.0, "final_logit_softcapping": 10.0, "rope_theta": 10000,
		"vocab_size": 288, "max_position_embeddings": 256, "initializer_range": 0.3}`},
	{"gemma3", true, `{"model_type": "gemma3_text", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "query_pre_attn_scalar": 16,
		"sliding_window": 8, "sliding_window_pattern": 2, "rope_theta": 1000000, "rope_local_base_freq": 10000,
		"rope_scaling": {"rope_type": "linear", "factor": 2.0},
		"vocab_size": 288, "max_position_embeddings": 256, "initializer_range": 0.3}`},
}

// TestLlamaCppArchs exports a small random model of each architecture of
// archOracleConfigs as f32, f16 and q8_0 GGUF, has llama.cpp
// (node-llama-cpp's prebuilt CPU build, testdata/llamacpp/probs.mjs, one
// process for all files) compute the next-token distribution after every
// position of two 64-token windows, and checks that loom computes the same
// distributions (for f32 the model exported, so that any mistake of the
// export shows; for f16 and q8_0 loom reading the file): the most probable
// token agrees at ≥ 99 % of the 128 positions (f32), and no probability
// differs by more than a tolerance. Comparing whole distributions compares the
// logits (softmax is one to one up to a constant), which top-1 alone on a
// random model would not: files written with a sliding window one longer,
// twice the rotary base or a 1 % larger longrope attention factor gave
// differences of 0.12, 0.46 and 0.027. llama.cpp runs with an f32 KV cache
// and without flash attention, so that f32 files agree to 2e-5 (SiLU
// models; observed ≤ 4.2e-6), GELU models to 1.5e-3 (ggml's GELU is read
// from an f16 table; observed ≤ 8e-5 for Gemma, 5.8e-4 for GPT-2); f16
// and q8_0 files, whose products llama.cpp computes on rounded
// activations, to 1e-2 and 0.05 with top-1 agreement ≥ 97 % (see below).
// It needs LOOM_NODE_MODULES (see TestLlamaCpp).
func TestLlamaCppArchs(t *testing.T) {
	mods := os.Getenv("LOOM_NODE_MODULES")
	if mods == "" {
		t.Skip("LOOM_NODE_MODULES is not set (see .ci/run)")
	}
	script, _ := filepath.Abs("testdata/llamacpp/probs.mjs")
	dir := t.TempDir()
	windows := [][]int{make([]int, 64), make([]int, 64)}
	rng := tensor.NewRNG(3)
	for _, w := range windows {
		for i := range w {
			w[i] = int(rng.Uint64() % 288)
		}
	}
	type run struct {
		name  string
		typ   string
		tol   float64
		agree float64 // the fraction of top-1 choices that must agree
		path  string
		m     *decoder.Model
	}
	var runs []run
	type reqModel struct {
		Path    string  `json:"path"`
		Vocab   int     `json:"vocab"`
		Windows [][]int `json:"windows"`
	}
	var req struct {
		Context int        `json:"context"`
		Models  []reqModel `json:"models"`
	}
	req.Context = 256
	for i, a := range archOracleConfigs {
		c, err := decoder.ParseConfig(a.name, []byte(a.config))
		if err != nil {
			t.Fatal(err)
		}
		m, err := decoder.New(c, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			typ string
			dt  tensor.DType
			tol float64
		}{{"f32", tensor.Float32, 2e-5}, {"f16", tensor.Float16, 1e-2}, {"q8_0", tensor.Q8_0, 0.05}} {
			tol := tc.tol
			if a.gelu && tc.dt == tensor.Float32 {
				// ggml_vec_gelu_f32 (GGML_GELU_FP16) rounds each input
				// to f16 and reads GELU from an f16 table.
				tol = 1.5e-3
			}
			path := filepath.Join(dir, a.name+"-"+tc.typ+".gguf")
			// general.name without "phi3": llama.cpp's vocabulary loader
			// then looks up Phi-3's <|endoftext|> token (llama_vocab::impl::load).
			if err := convert.ExportGGUF(m, path, pieceVocab(t, c.VocabSize), tc.dt, fmt.Sprintf("oracle-%d", i)); err != nil {
				t.Fatalf("%s: %v", a.name, err)
			}
			// f32: llama.cpp against the model exported, so that any
			// mistake of the export shows; f16: against loom reading the
			// file (the weights rounded as llama.cpp has them).
			back := m
			if tc.dt != tensor.Float32 {
				if back, err = convert.LoadWith(path, convert.LoadOptions{DType: tensor.Float32}); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
			}
			agree := 0.99
			switch tc.dt {
			case tensor.Float16:
				// llama.cpp rounds the activations to f16 for its
				// products with f16 weights (ggml_vec_dot_f16), loom
				// does not: near-ties of a random model move (observed
				// ≥ 126/128, ≤ 0.0076).
				agree = 0.97
			case tensor.Q8_0:
				// Both round the activations to q8_0 blocks (loom's
				// q8_0 kernels as ggml's); summation order and, for
				// GELU, ggml's f16 table move near-ties (observed
				// ≥ 126/128, ≤ 0.022).
				agree = 0.97
			}
			runs = append(runs, run{a.name, tc.typ, tol, agree, path, back})
			req.Models = append(req.Models, reqModel{path, c.VocabSize, windows})
		}
	}
	reqPath := filepath.Join(dir, "req.json")
	b, _ := json.Marshal(req)
	os.WriteFile(reqPath, b, 0o644)
	cmd := exec.Command("node", script, reqPath)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res struct {
		Models []struct {
			Probs [][][]float64 `json:"probs"`
		} `json:"models"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Models) != len(runs) {
		t.Fatalf("node output (%d bytes): %v, %d models for %d", len(out), err, len(res.Models), len(runs))
	}
	for k, r := range runs {
		t.Run(r.name+"-"+r.typ, func(t *testing.T) {
			agree, total, maxd := 0, 0, 0.0
			for wi, w := range windows {
				want := loomProbs(r.m, w)
				for i := range w {
					got := res.Models[k].Probs[wi][i]
					total++
					if argmax(got) == argmax(want[i]) {
						agree++
					}
					sum := 0.0
					for j := range got {
						sum += got[j]
						maxd = math.Max(maxd, math.Abs(got[j]-want[i][j]))
					}
					if math.Abs(sum-1) > 1e-3 {
						t.Fatalf("window %d position %d: llama.cpp's probabilities sum to %g", wi, i, sum)
					}
				}
			}
			t.Logf("%s %s: top-1 agreement %d/%d, max probability difference %.2g", r.name, r.typ, agree, total, maxd)
			if float64(agree) < r.agree*float64(total) {
				t.Errorf("top-1 agreement %d/%d, want ≥ %g %%", agree, total, 100*r.agree)
			}
			if maxd > r.tol {
				t.Errorf("probabilities differ by up to %.3g, tolerance %g", maxd, r.tol)
			}
		})
	}
}

// loomProbs returns m's next-token distribution after each position of
// ids, evaluated from an empty context.
func loomProbs(m *decoder.Model, ids []int) [][]float64 {
	var out [][]float64
	autograd.NoGrad(func() {
		logits := m.Forward(&nn.Ctx{}, ids, 1, len(ids)).Value.Contiguous().F32()
		V := m.Config.VocabSize
		for i := range ids {
			row := logits[i*V : (i+1)*V]
			best := row[argmax32(row)]
			p := make([]float64, V)
			sum := 0.0
			for j, v := range row {
				p[j] = math.Exp(float64(v - best))
				sum += p[j]
			}
			for j := range p {
				p[j] /= sum
			}
			out = append(out, p)
		}
	})
	return out
}

func argmax(v []float64) int {
	b := 0
	for i, x := range v {
		if x > v[b] {
			b = i
		}
	}
	return b
}

func argmax32(v []float32) int {
	b := 0
	for i, x := range v {
		if x > v[b] {
			b = i
		}
	}
	return b
}

// pieceVocab is a SentencePiece ("llama") vocabulary of n pieces: the
// models are fed ids, so only its size matters, and llama.cpp loads it
// (tokens <unk>, <s>, </s>, then one piece per id).
func pieceVocab(t testing.TB, n int) tokenizer.Tokenizer {
	t.Helper()
	v := &tokenizer.Vocab{Model: "llama", Pre: "default", BOS: 1, EOS: 2, UNK: 0, PAD: -1}
	for i := range n {
		piece, typ := fmt.Sprintf("\u2581p%d", i), int32(tokenizer.TokenNormal)
		switch {
		case i < 3:
			piece, typ = []string{"<unk>", "<s>", "</s>"}[i], []int32{tokenizer.TokenUnknown, tokenizer.TokenControl, tokenizer.TokenControl}[i]
		case i < 3+256: // byte fallback pieces, which llama.cpp's SentencePiece tokenizer needs
			piece, typ = fmt.Sprintf("<0x%02X>", i-3), int32(tokenizer.TokenByte)
		}
		v.Tokens = append(v.Tokens, piece)
		v.Types = append(v.Types, typ)
		v.Scores = append(v.Scores, -float32(i))
	}
	tok, err := tokenizer.FromVocab("pieces", v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
