// Package decodertest holds the small models and helpers that the tests of
// the decoder and of the packages that read and write decoders share.
package decodertest

import (
	"math"
	"slices"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TinyConfig is a 2-layer, 32-wide Llama with grouped-query attention and
// a 50-token vocabulary, changed by mod (may be nil).
func TinyConfig(mod func(*decoder.Config)) *decoder.Config {
	c := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4,
		NumKeyValueHeads: 2, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 50,
		MaxPositionEmbeddings: 64, InitializerRange: 0.05}
	if mod != nil {
		mod(c)
	}
	return c
}

// GPT2Config is TinyConfig with GPT-2's choices: LayerNorm with biases,
// learned positions, a GELU MLP, biases everywhere.
func GPT2Config() *decoder.Config {
	return TinyConfig(func(c *decoder.Config) {
		c.NumKeyValueHeads = 0
		c.HiddenAct = "gelu_pytorch_tanh"
		c.AttentionBias, c.MLPBias = true, true
		c.Loom = decoder.Options{Norm: "layernorm", NormBias: true, Positions: "learned", FFN: "mlp"}
		c.RMSNormEps = 1e-5
	})
}

// InteropConfig is HF- and llama.cpp-compatible, with rows of 32·k so q8_0
// applies to every matrix, changed by mod (may be nil).
func InteropConfig(mod func(*decoder.Config)) *decoder.Config {
	return TinyConfig(func(c *decoder.Config) {
		c.HiddenSize, c.IntermediateSize, c.VocabSize = 64, 96, 256
		if mod != nil {
			mod(c)
		}
	})
}

// IDs returns n deterministic token ids below vocab.
func IDs(n, vocab int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = (i*7 + 3) % vocab
	}
	return out
}

// Logits returns m's float32 logits [T·V] for ids (one row, position 0).
func Logits(t testing.TB, m *decoder.Model, ids []int) []float32 {
	t.Helper()
	var out []float32
	autograd.NoGrad(func() {
		out = m.Forward(nil, ids, 1, len(ids)).Value.To(tensor.Float32).Contiguous().F32()
	})
	return out
}

// Logits1 runs one cached decoding step of id at pos and returns its
// logits.
func Logits1(m *decoder.Model, id, pos int, cache nn.Cache) []float32 {
	var out []float32
	autograd.NoGrad(func() {
		out = m.Forward(&nn.Ctx{Cache: cache, Pos: pos}, []int{id}, 1, 1).Value.Contiguous().F32()
	})
	return out
}

// CachedMatchesFull fails t unless decoding ids one token at a time with
// m's KV cache gives, at every position, the logits of the full forward
// within tol.
func CachedMatchesFull(t testing.TB, m *decoder.Model, ids []int, tol float64) {
	t.Helper()
	full := Logits(t, m, ids)
	V := m.Config.VocabSize
	cache := m.NewCache(1, len(ids))
	for i, id := range ids {
		if d := MaxDiff(Logits1(m, id, i, cache), full[i*V:(i+1)*V]); d > tol {
			t.Fatalf("token %d: cached decode differs from the full forward by %g", i, d)
		}
	}
}

// MaxDiff returns max |a−b|.
func MaxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// EqualLogits fails t unless a and b are equal bit for bit.
func EqualLogits(t testing.TB, what string, a, b []float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d logits, want %d", what, len(b), len(a))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%s: logit %d is %v, want %v (bit for bit)", what, i, b[i], a[i])
		}
	}
}

// ParamValues returns m's parameters (of any model) as float32 values by
// name.
func ParamValues(m nn.Module) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range m.Params() {
		out[p.Name] = slices.Clone(p.Value.To(tensor.Float32).Contiguous().F32())
	}
	return out
}

// MixtralConfig is TinyConfig as a Mixtral of 4 experts, 2 per token.
func MixtralConfig(mod func(*decoder.Config)) *decoder.Config {
	return TinyConfig(func(c *decoder.Config) {
		c.ModelType, c.NumExperts, c.NumExpertsPerTok, c.RouterAuxLossCoef = "mixtral", 4, 2, 0.01
		if mod != nil {
			mod(c)
		}
	})
}
