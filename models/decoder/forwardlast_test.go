package decoder_test

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
)

// TestForwardLast: the logits of the last position of each row are
// Forward's, for B rows and for T = 1, with and without a cache.
func TestForwardLast(t *testing.T) {
	for name, c := range map[string]*decoder.Config{"llama": decodertest.TinyConfig(nil), "gpt2": decodertest.GPT2Config()} {
		m, err := decoder.New(c, 5)
		if err != nil {
			t.Fatal(err)
		}
		V := c.VocabSize
		for _, s := range []struct{ B, T int }{{1, 7}, {3, 4}, {2, 1}} {
			ids := decodertest.IDs(s.B*s.T, V)
			autograd.NoGrad(func() {
				full := m.Forward(nil, ids, s.B, s.T).Value.Contiguous().F32()
				last := m.ForwardLast(&nn.Ctx{Cache: m.NewCache(s.B, s.T)}, ids, s.B, s.T)
				if sh := last.Shape(); sh[0] != s.B || sh[1] != 1 || sh[2] != V {
					t.Fatalf("%s %+v: shape %v", name, s, sh)
				}
				got := last.Value.Contiguous().F32()
				for b := range s.B {
					for v := range V {
						want := full[(b*s.T+s.T-1)*V+v]
						if d := math.Abs(float64(got[b*V+v] - want)); d > 1e-5*(1+math.Abs(float64(want))) {
							t.Fatalf("%s %+v: row %d logit %d = %v, Forward's %v", name, s, b, v, got[b*V+v], want)
						}
					}
				}
			})
		}
	}
}
