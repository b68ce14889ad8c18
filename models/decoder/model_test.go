package decoder_test

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
)

func TestParamNamesAreHFLlama(t *testing.T) {
	m, err := decoder.New(decodertest.TinyConfig(nil), 1)
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
	for name, c := range map[string]*decoder.Config{"llama": decodertest.TinyConfig(nil), "gpt2": decodertest.GPT2Config()} {
		t.Run(name, func(t *testing.T) {
			m, err := decoder.New(c, 2)
			if err != nil {
				t.Fatal(err)
			}
			const B, T = 2, 9
			x := decodertest.IDs(B*T, c.VocabSize)
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

// reloaded saves m with convert.Save and loads it back.
func reloaded(t *testing.T, m *decoder.Model) *decoder.Model {
	t.Helper()
	dir := t.TempDir()
	if err := convert.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	back, err := convert.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m, _ := decoder.New(decodertest.GPT2Config(), 3)
	if err := convert.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	m2, err := convert.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	x := decodertest.IDs(10, 50)
	var a, b *autograd.Var
	autograd.NoGrad(func() { a, b = m.Forward(nil, x, 1, 10), m2.Forward(nil, x, 1, 10) })
	for i, v := range a.Value.F32() {
		if b.Value.F32()[i] != v {
			t.Fatal("reloaded model differs")
		}
	}
	// A truncated weights file names the file.
	w := filepath.Join(dir, convert.WeightsFile)
	data, _ := os.ReadFile(w)
	os.WriteFile(w, data[:len(data)/2], 0o644)
	if _, err := convert.Load(dir); err == nil || !strings.Contains(err.Error(), convert.WeightsFile) {
		t.Fatalf("truncated checkpoint: %v", err)
	}
}

func TestConfigRejectsImpossibleShapes(t *testing.T) {
	cases := []struct {
		mod   func(*decoder.Config)
		field string
	}{
		{func(c *decoder.Config) { c.NumAttentionHeads = 5 }, "num_attention_heads"},
		{func(c *decoder.Config) { c.NumKeyValueHeads = 3 }, "num_key_value_heads"},
		{func(c *decoder.Config) { c.HiddenSize = 0 }, "hidden_size"},
		{func(c *decoder.Config) { c.HiddenAct = "swoosh" }, "hidden_act"},
		{func(c *decoder.Config) { c.HeadDim = 7 }, "head_dim"},
		{func(c *decoder.Config) { c.Loom.Norm = "batchnorm" }, "loom.norm"},
		{func(c *decoder.Config) { c.Loom.Positions = "alibi" }, "loom.positions"},
		{func(c *decoder.Config) { c.RopeTheta = 0 }, "rope_theta"},
		{func(c *decoder.Config) { c.Loom.Attention = "linear" }, "loom.attention"},
		{func(c *decoder.Config) { c.Loom.Layout = "sandwich" }, "loom.layout"},
		{func(c *decoder.Config) { c.Loom.FFN = "moe" }, "loom.ffn"},
		{func(c *decoder.Config) { c.Loom.FFN = "kan" }, "loom.ffn"},
		{func(c *decoder.Config) { c.NumExperts = 4 }, "num_experts"},
	}
	for _, c := range cases {
		cfg := decodertest.TinyConfig(c.mod)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("want an error naming %s, got %v", c.field, err)
		}
		if _, err := decoder.New(cfg, 1); err == nil {
			t.Errorf("New accepted a config with a bad %s", c.field)
		}
	}
	if _, err := decoder.ParseConfig("config.json", []byte(`{"hidden_size": "wide"}`)); err == nil || !strings.Contains(err.Error(), "config.json") || !strings.Contains(err.Error(), "hidden_size") {
		t.Errorf("bad JSON type: %v", err)
	}
}

func TestUnexportable(t *testing.T) {
	if got := decodertest.TinyConfig(nil).Unexportable(decoder.HF); len(got) != 0 {
		t.Fatalf("llama config flagged: %v", got)
	}
	if got := decodertest.GPT2Config().Unexportable(decoder.HF); len(got) != 3 {
		t.Fatalf("gpt2 options flagged as %v", got)
	}
}

// TestRemovedSublayerIsSkipped: with a block's attention removed, its output
// equals the residual stream passed through the FFN branch only.
func TestRemovedSublayerIsSkipped(t *testing.T) {
	m, _ := decoder.New(decodertest.TinyConfig(nil), 4)
	b := m.Layers[0].(*decoder.PreNorm)
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
	decoder.RegisterLayout("test_attn_only", func(p decoder.Parts) (decoder.Block, error) {
		calls++
		an, _ := p.Norm("input_layernorm")
		at, err := p.Attention()
		return &decoder.PreNorm{AttnNorm: an, Attn: at}, err
	})
	base, _ := decoder.New(decodertest.TinyConfig(nil), 5)
	swapped, err := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.HiddenAct = "test_cube"; c.Loom.Layout = "test_attn_only" }), 5)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || len(swapped.Params()) >= len(base.Params()) {
		t.Fatalf("layout built %d blocks; params %d vs %d", calls, len(swapped.Params()), len(base.Params()))
	}
	x := decodertest.IDs(8, 50)
	var a, b *autograd.Var
	autograd.NoGrad(func() { a, b = base.Forward(nil, x, 1, 8), swapped.Forward(nil, x, 1, 8) })
	if a.Value.At(0, 7, 3) == b.Value.At(0, 7, 3) {
		t.Fatal("swapped parts gave the same logits")
	}
	if got := swapped.Config.Unexportable(decoder.HF); len(got) != 2 || got[0] != "hidden_act=test_cube" || got[1] != "loom.layout=test_attn_only" {
		t.Fatalf("Unexportable = %v", got)
	}
}

// Every loom option in Options is registered with its validation and its
// answer for each export format, so a new field cannot reach an exporter
// unnoticed.
func TestEveryOptionIsRegistered(t *testing.T) {
	keys := decoder.OptionKeys()
	typ := reflect.TypeFor[decoder.Options]()
	for i := range typ.NumField() {
		tag := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
		if !slices.Contains(keys, "loom."+tag) {
			t.Errorf("Options.%s (loom.%s) has no registered option (decoder.RegisterOption)", typ.Field(i).Name, tag)
		}
	}
	for _, f := range decoder.Formats {
		if got := decodertest.TinyConfig(nil).Unexportable(f); len(got) != 0 {
			t.Errorf("plain Llama flagged for %s: %v", f, got)
		}
	}
}
