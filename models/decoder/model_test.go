package decoder

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
)

func tinyConfig(mod func(*Config)) *Config {
	c := &Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4,
		NumKeyValueHeads: 2, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 50,
		MaxPositionEmbeddings: 64, InitializerRange: 0.05}
	if mod != nil {
		mod(c)
	}
	return c
}

func gpt2Config() *Config {
	return tinyConfig(func(c *Config) {
		c.NumKeyValueHeads = 0
		c.HiddenAct = "gelu_pytorch_tanh"
		c.AttentionBias, c.MLPBias = true, true
		c.Loom = Options{Norm: "layernorm", NormBias: true, Positions: "learned", FFN: "mlp"}
		c.RMSNormEps = 1e-5
	})
}

func ids(n, vocab int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = (i*7 + 3) % vocab
	}
	return out
}

func TestParamNamesAreHFLlama(t *testing.T) {
	m, err := New(tinyConfig(nil), 1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	want := []string{
		"model.embed_tokens.weight",
		"model.layers.0.input_layernorm.weight",
		"model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
		"model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
		"model.layers.0.post_attention_layernorm.weight",
		"model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
	}
	for i, w := range want {
		if names[i] != w {
			t.Fatalf("param %d is %q, want %q (all: %v)", i, names[i], w, names)
		}
	}
	if last := names[len(names)-1]; last != "lm_head.weight" {
		t.Fatalf("last param %q", last)
	}
	if p := m.Params()[2]; p.Dim(0) != 4*8 || p.Dim(1) != 32 {
		t.Fatalf("q_proj shape %v", p.Shape())
	}
}

// TestKVCacheMatchesFullForward decodes token by token with the cache and
// compares every step's logits with a full forward pass.
func TestKVCacheMatchesFullForward(t *testing.T) {
	for name, c := range map[string]*Config{"llama": tinyConfig(nil), "gpt2": gpt2Config()} {
		t.Run(name, func(t *testing.T) {
			m, err := New(c, 2)
			if err != nil {
				t.Fatal(err)
			}
			const B, T = 2, 9
			x := ids(B*T, c.VocabSize)
			var full *autograd.Var
			autograd.NoGrad(func() { full = m.Forward(nil, x, B, T) })
			caches := m.NewCache(B, T)
			// a prompt of 4 tokens, then one token at a time
			steps := [][2]int{{0, 4}, {4, 5}, {5, 6}, {6, 7}, {7, 8}, {8, 9}}
			for _, s := range steps {
				chunk := make([]int, 0, B*(s[1]-s[0]))
				for b := range B {
					chunk = append(chunk, x[b*T+s[0]:b*T+s[1]]...)
				}
				var got *autograd.Var
				autograd.NoGrad(func() { got = m.Forward(&nn.Ctx{Cache: caches, Pos: s[0]}, chunk, B, s[1]-s[0]) })
				want := full.Value.Slice(1, s[0], s[1]).Contiguous()
				g, w := got.Value.Float64s(), want.Float64s()
				for i := range w {
					if math.Abs(g[i]-w[i]) > 1e-5 {
						t.Fatalf("positions %v: logit %d = %v, full forward %v", s, i, g[i], w[i])
					}
				}
			}
		})
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m, _ := New(gpt2Config(), 3)
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	x := ids(10, 50)
	var a, b *autograd.Var
	autograd.NoGrad(func() { a, b = m.Forward(nil, x, 1, 10), m2.Forward(nil, x, 1, 10) })
	for i, v := range a.Value.F32() {
		if b.Value.F32()[i] != v {
			t.Fatal("reloaded model differs")
		}
	}
	// A truncated weights file names the file.
	w := filepath.Join(dir, WeightsFile)
	data, _ := os.ReadFile(w)
	os.WriteFile(w, data[:len(data)/2], 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), WeightsFile) {
		t.Fatalf("truncated checkpoint: %v", err)
	}
}

func TestConfigRejectsImpossibleShapes(t *testing.T) {
	cases := []struct {
		mod   func(*Config)
		field string
	}{
		{func(c *Config) { c.NumAttentionHeads = 5 }, "num_attention_heads"},
		{func(c *Config) { c.NumKeyValueHeads = 3 }, "num_key_value_heads"},
		{func(c *Config) { c.HiddenSize = 0 }, "hidden_size"},
		{func(c *Config) { c.HiddenAct = "swoosh" }, "hidden_act"},
		{func(c *Config) { c.HeadDim = 7 }, "head_dim"},
		{func(c *Config) { c.Loom.Norm = "batchnorm" }, "loom.norm"},
		{func(c *Config) { c.Loom.Positions = "alibi" }, "loom.positions"},
		{func(c *Config) { c.RopeTheta = 0 }, "rope_theta"},
		{func(c *Config) { c.Loom.Attention = "linear" }, "loom.attention"},
		{func(c *Config) { c.Loom.Layout = "postnorm" }, "loom.layout"},
		{func(c *Config) { c.Loom.FFN = "moe" }, "loom.ffn"},
	}
	for _, c := range cases {
		cfg := tinyConfig(c.mod)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("want an error naming %s, got %v", c.field, err)
		}
		if _, err := New(cfg, 1); err == nil {
			t.Errorf("New accepted a config with a bad %s", c.field)
		}
	}
	if _, err := ParseConfig("config.json", []byte(`{"hidden_size": "wide"}`)); err == nil || !strings.Contains(err.Error(), "config.json") || !strings.Contains(err.Error(), "hidden_size") {
		t.Errorf("bad JSON type: %v", err)
	}
}

func TestHFIncompatible(t *testing.T) {
	if got := tinyConfig(nil).HFIncompatible(); len(got) != 0 {
		t.Fatalf("llama config flagged: %v", got)
	}
	if got := gpt2Config().HFIncompatible(); len(got) != 3 {
		t.Fatalf("gpt2 options flagged as %v", got)
	}
}

// TestRemovedSublayerIsSkipped: with a block's attention removed, its output
// equals the residual stream passed through the FFN branch only.
func TestRemovedSublayerIsSkipped(t *testing.T) {
	m, _ := New(tinyConfig(nil), 4)
	b := m.Layers[0].(*PreNorm)
	b.Attn, b.FFN = nil, nil
	x := autograd.Const(m.Embed.Weight.Value.Slice(0, 0, 3).Contiguous().Reshape(1, 3, 32))
	y := b.Forward(nil, x)
	if y != x {
		t.Fatal("a block with both sublayers removed changed its input")
	}
	if n := len(b.Params()); n != 0 {
		t.Fatalf("removed sublayers still report %d params", n)
	}
}

// TestPartsSwapByConfig: a variant registered from outside the family
// (here in a test) is chosen by name in the config, with no change to the
// decoder's forward code.
func TestPartsSwapByConfig(t *testing.T) {
	nn.RegisterActivation("test_cube", func(nn.ActivationConfig) (nn.Activation, error) {
		return nn.Func(func(x *autograd.Var) *autograd.Var { return autograd.PowScalar(x, 3) }), nil
	})
	calls := 0
	RegisterLayout("test_attn_only", func(p Parts) (Block, error) {
		calls++
		an, _ := p.Norm("input_layernorm")
		at, err := p.Attention()
		return &PreNorm{AttnNorm: an, Attn: at}, err
	})
	base, _ := New(tinyConfig(nil), 5)
	swapped, err := New(tinyConfig(func(c *Config) { c.HiddenAct = "test_cube"; c.Loom.Layout = "test_attn_only" }), 5)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || len(swapped.Params()) >= len(base.Params()) {
		t.Fatalf("layout built %d blocks; params %d vs %d", calls, len(swapped.Params()), len(base.Params()))
	}
	x := ids(8, 50)
	var a, b *autograd.Var
	autograd.NoGrad(func() { a, b = base.Forward(nil, x, 1, 8), swapped.Forward(nil, x, 1, 8) })
	if a.Value.At(0, 7, 3) == b.Value.At(0, 7, 3) {
		t.Fatal("swapped parts gave the same logits")
	}
	if got := swapped.Config.HFIncompatible(); len(got) != 2 || got[0] != "loom.layout=test_attn_only" || got[1] != "hidden_act=test_cube" {
		t.Fatalf("HFIncompatible = %v", got)
	}
}
