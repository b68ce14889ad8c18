package decoder_test

import (
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
)

// TestShare: WideNet's sharing (attention and FFN of layer 0 in every
// layer, norms per layer) and ALBERT's (norms too) have the parameters
// they should, use layer 0's weights in every layer, decode with a
// cache per layer, and save and load as loom checkpoints.
func TestShare(t *testing.T) {
	base := decodertest.MixtralConfig(func(c *decoder.Config) { c.NumHiddenLayers = 3 })
	vanilla, err := decoder.New(base, 1)
	if err != nil {
		t.Fatal(err)
	}
	perLayer := func(m *decoder.Model) (attnFFN, norms int) {
		for _, p := range m.Params() {
			switch {
			case p.Role == autograd.RoleNorm && p.Name != "model.norm.weight":
				norms += p.Value.Numel()
			case p.Name != "model.embed_tokens.weight" && p.Name != "lm_head.weight" && p.Name != "model.norm.weight":
				attnFFN += p.Value.Numel()
			}
		}
		return
	}
	va, vn := perLayer(vanilla)
	for _, tc := range []struct {
		share        string
		attnFFN, nrm int // parameters of the blocks
	}{
		{decoder.ShareAttentionFFN, va / 3, vn},
		{decoder.ShareAll, va / 3, vn / 3},
	} {
		t.Run(tc.share, func(t *testing.T) {
			c := *base
			c.Loom.Share = tc.share
			m, err := decoder.New(&c, 1)
			if err != nil {
				t.Fatal(err)
			}
			if a, n := perLayer(m); a != tc.attnFFN || n != tc.nrm {
				t.Fatalf("block parameters %d + norms %d, want %d + %d", a, n, tc.attnFFN, tc.nrm)
			}
			// Layer 2 computes with layer 0's weights, which get a gradient.
			ids := decodertest.IDs(8, c.VocabSize)
			loss := autograd.Mean(m.Forward(nil, ids, 1, 8), false)
			loss.Backward()
			w := m.Layers[2].(*decoder.PreNorm).Attn.Params()[0]
			if w != m.Layers[0].(*decoder.PreNorm).Attn.Params()[0] || w.Grad == nil {
				t.Fatal("layer 2's attention is not layer 0's, or has no gradient")
			}
			decodertest.CachedMatchesFull(t, m, decodertest.IDs(12, c.VocabSize), 1e-5)
			dir := filepath.Join(t.TempDir(), "m")
			if err := convert.Save(m, dir); err != nil {
				t.Fatal(err)
			}
			back, err := convert.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			decodertest.EqualLogits(t, "reloaded", decodertest.Logits(t, m, ids), decodertest.Logits(t, back, ids))
			if err := c.CheckExport(decoder.HF); err == nil {
				t.Error("a shared model exports as Hugging Face")
			}
		})
	}
	c := *base
	c.Loom.Share, c.Loom.Layout = decoder.ShareAll, "macaron"
	if _, err := decoder.New(&c, 1); err == nil {
		t.Error("loom.share with the macaron layout was accepted")
	}
}
