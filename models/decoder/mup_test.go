package decoder_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

func mupConfig(width int, mod func(*decoder.Config)) *decoder.Config {
	return decodertest.TinyConfig(func(c *decoder.Config) {
		c.HiddenSize, c.IntermediateSize = width, 2*width
		c.Loom.Param, c.Loom.BaseWidth = decoder.ParamMuP, 32
		if mod != nil {
			mod(c)
		}
	})
}

// TestMuPMultipliers: at width multiplier m = 4, microsoft/mup's table for
// Adam: hidden matrices init std σ/√m and learning rate η/m; embeddings,
// readout, norms and biases at η; logits × 1/m; attention scores × √d_base/d.
func TestMuPMultipliers(t *testing.T) {
	c := mupConfig(128, nil)
	m, err := decoder.New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	byName, _ := nn.ParamMap(m.Params())
	for name, want := range map[string][2]float64{ // LR multiplier, init multiplier
		"model.layers.0.self_attn.q_proj.weight": {0.25, 0.5},
		"model.layers.1.mlp.down_proj.weight":    {0.25, 0.5},
		"model.embed_tokens.weight":              {1, 1},
		"lm_head.weight":                         {1, 1},
		"model.layers.0.input_layernorm.weight":  {1, 1},
	} {
		p := byName[name]
		if p.LRMult() != want[0] || p.InitMult() != want[1] {
			t.Errorf("%s: LR × %v, init × %v; want %v", name, p.LRMult(), p.InitMult(), want)
		}
	}
	// The drawn std follows: σ/√m for hidden matrices (σ = 0.05 here).
	w := byName["model.layers.0.mlp.up_proj.weight"].Value.F32()
	s := 0.0
	for _, v := range w {
		s += float64(v) * float64(v)
	}
	if sd := math.Sqrt(s / float64(len(w))); math.Abs(sd-0.025)/0.025 > 0.05 {
		t.Errorf("up_proj std %.4f, want ≈ 0.025", sd)
	}
	if got, want := c.AttentionScale(), math.Sqrt(8)/32; got != want {
		t.Errorf("attention scale %v, want √8/32 = %v", got, want)
	}
	h := autograd.Const(tensor.RandN(tensor.NewRNG(2), 1, 3, 128))
	var a, b []float32
	autograd.NoGrad(func() {
		a = m.Logits(h).Value.F32()
		b = m.Head.Forward(h).Value.F32()
	})
	for i := range a {
		if a[i] != b[i]/4 {
			t.Fatalf("logit %d is %v, the readout's %v / 4 = %v", i, a[i], b[i], b[i]/4)
		}
	}
	// Adam's groups: the hidden matrices at η/4 with weight decay 4λ (so
	// that lr·wd is η·λ, as microsoft/mup's MuAdamW).
	lrs := map[float64]bool{}
	for _, g := range train.ParamGroups(m.Params(), 1e-3, 0.1) {
		lrs[g.LR] = true
		if g.WeightDecay != 0 && g.LR*g.WeightDecay != 1e-3*0.1 {
			t.Errorf("group at lr %g has weight decay %g: lr·wd %g, want 1e-4", g.LR, g.WeightDecay, g.LR*g.WeightDecay)
		}
	}
	if !lrs[1e-3/4] || !lrs[1e-3] {
		t.Errorf("learning rates %v, want 1e-3 and 2.5e-4", lrs)
	}
}

// TestMuPAtBaseWidthIsSP: with the zero-init options off, a μP model at its
// base width is the standard-parametrisation model bit for bit; the
// zero-init options zero q_proj and lm_head.
func TestMuPAtBaseWidthIsSP(t *testing.T) {
	mp, err := decoder.New(mupConfig(32, nil), 7)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := decoder.New(mupConfig(32, func(c *decoder.Config) { c.Loom.Param, c.Loom.BaseWidth = "", 0 }), 7)
	if err != nil {
		t.Fatal(err)
	}
	a, b := decodertest.ParamValues(mp), decodertest.ParamValues(sp)
	for n, v := range a {
		if !slices.Equal(v, b[n]) {
			t.Fatalf("%s differs", n)
		}
	}
	ids := decodertest.IDs(10, 50)
	decodertest.EqualLogits(t, "μP at the base width", decodertest.Logits(t, mp, ids), decodertest.Logits(t, sp, ids))
	z, err := decoder.New(mupConfig(64, func(c *decoder.Config) { c.Loom.MuPZeroQuery, c.Loom.MuPZeroReadout = true, true }), 7)
	if err != nil {
		t.Fatal(err)
	}
	zv := decodertest.ParamValues(z)
	for _, n := range []string{"lm_head.weight", "model.layers.1.self_attn.q_proj.weight"} {
		for _, v := range zv[n] {
			if v != 0 {
				t.Fatalf("%s not zero", n)
			}
		}
	}
}

func TestMuPConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*decoder.Config)
		want string
	}{
		{func(c *decoder.Config) { c.Loom.BaseWidth = 0 }, "needs loom.base_width"},
		{func(c *decoder.Config) { c.TieWordEmbeddings = true }, "untie them"},
		{func(c *decoder.Config) { c.Loom.BaseWidth = 30 }, "the heads (4) must divide it"},
		{func(c *decoder.Config) { c.Loom.Param = "ntk" }, `loom.param is "ntk"`},
		{func(c *decoder.Config) { c.Loom.Param = "" }, "apply to loom.param"},
	} {
		err := mupConfig(64, tc.mod).Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
		}
	}
	if err := mupConfig(64, nil).CheckExport(decoder.HF); err == nil {
		t.Error("a μP model at width multiplier 2 exports as Hugging Face")
	}
	if err := mupConfig(32, nil).CheckExport(decoder.HF); err != nil {
		t.Errorf("at the base width: %v", err)
	}
}
