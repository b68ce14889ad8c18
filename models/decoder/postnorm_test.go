package decoder_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

func layoutConfig(layout string) *decoder.Config {
	return decodertest.TinyConfig(func(c *decoder.Config) { c.Loom.Layout = layout })
}

// randomNormGains gives every norm of m gains drawn from [0.5, 1.5), so
// that where a norm sits shows in the output.
func randomNormGains(m *decoder.Model, seed uint64) {
	rng := tensor.NewRNG(seed)
	for _, p := range m.Params() {
		if p.Role == autograd.RoleNorm {
			p.Value = tensor.Uniform(rng, 0.5, 1.5, p.Shape()...)
		}
	}
}

// A decoder.PostNorm layer is Norm₂(h + FFN(h)) with h = Norm₁(x + Attn(x)),
// written out with the RMSNorm op and the checkpoint's norm weights.
func TestPostNormIsTheOriginalBlock(t *testing.T) {
	m, err := decoder.New(layoutConfig("postnorm"), 33)
	if err != nil {
		t.Fatal(err)
	}
	randomNormGains(m, 3)
	names, _ := nn.ParamMap(m.Params())
	b := m.Layers[1].(*decoder.PostNorm)
	x := autograd.Const(tensor.RandN(tensor.NewRNG(2), 2, 7, 32))
	eps := m.Config.RMSNormEps
	var got, want *autograd.Var
	autograd.NoGrad(func() {
		got = b.Forward(nil, x)
		h := autograd.RMSNorm(autograd.Add(x, b.Attn.Forward(nil, x)), names["model.layers.1.post_attention_layernorm.weight"], eps)
		want = autograd.RMSNorm(autograd.Add(h, b.FFN.Forward(h)), names["model.layers.1.post_feedforward_layernorm.weight"], eps)
	})
	decodertest.EqualLogits(t, "post-norm block vs its definition", want.Value.F32(), got.Value.F32())
}

// Both post-norm layouts: the parameters of their pre-norm twins (the same
// weights for the same seed), Llama's names where they apply, cached
// decoding equal to the full forward, a save/load round trip bit for bit,
// and exports and pruning refused with the option named.
func TestPostNormLayouts(t *testing.T) {
	for _, tc := range []struct{ layout, twin string }{{"postnorm", "prenorm"}, {"macaron_postnorm", "macaron"}} {
		t.Run(tc.layout, func(t *testing.T) {
			m, err := decoder.New(layoutConfig(tc.layout), 34)
			if err != nil {
				t.Fatal(err)
			}
			randomNormGains(m, 4)
			twin, _ := decoder.New(layoutConfig(tc.twin), 34)
			if got, want := m.NumParams(), twin.NumParams(); got != want {
				t.Fatalf("%d parameters, %s has %d", got, tc.twin, want)
			}
			names, _ := nn.ParamMap(m.Params())
			twinNames, _ := nn.ParamMap(twin.Params())
			for n, p := range twinNames {
				if p.Role == autograd.RoleNorm {
					continue
				}
				if q := names[n]; q == nil || decodertest.MaxDiff(q.Value.F32(), p.Value.F32()) != 0 {
					t.Errorf("%s differs from %s's or is missing", n, tc.twin)
				}
			}
			for _, n := range []string{"model.layers.1.post_attention_layernorm.weight", "model.layers.1.post_feedforward_layernorm.weight", "model.norm.weight"} {
				if names[n] == nil {
					t.Errorf("no parameter %s", n)
				}
			}
			if names["model.layers.1.input_layernorm.weight"] != nil {
				t.Error("a post-norm layer has an input_layernorm")
			}
			x := decodertest.IDs(9, 50)
			decodertest.CachedMatchesFull(t, m, x, 1e-5)
			decodertest.EqualLogits(t, "reloaded", decodertest.Logits(t, m, x), decodertest.Logits(t, reloaded(t, m), x))
			dir := t.TempDir()
			want := "loom.layout=" + tc.layout
			if err := convert.ExportHF(m, filepath.Join(dir, "hf"), nil, tensor.Float32); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ExportHF: %v, want a refusal naming %s", err, want)
			}
			if err := convert.ExportGGUF(m, filepath.Join(dir, "m.gguf"), nil, tensor.Float16, "m"); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ExportGGUF: %v, want a refusal naming %s", err, want)
			}
			if err := m.RemoveSublayer(0, decoder.SublayerAttention); err == nil {
				t.Error("RemoveSublayer accepted")
			}
			pruned := layoutConfig(tc.layout)
			pruned.Loom.Removed = &decoder.Removed{FFN: []int{1}}
			if _, err := decoder.New(pruned, 1); err == nil || !strings.Contains(err.Error(), "loom.removed") {
				t.Errorf("loom.removed: %v", err)
			}
		})
	}
}
