package decoder_test

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TestHalfCache: with f16 keys and values, decoding token by token and in
// chunks gives the logits of the full forward pass within the rounding of
// the keys and values to f16 (relative 2⁻¹¹ each), the cache is an
// nn.HalfKV of half the bytes, and an f64 cache is refused.
func TestHalfCache(t *testing.T) {
	for name, c := range map[string]*decoder.Config{"llama": decodertest.TinyConfig(nil), "gpt2": decodertest.GPT2Config()} {
		m, err := decoder.New(c, 7)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetCacheDType(tensor.Float16); err != nil {
			t.Fatal(err)
		}
		ids := decodertest.IDs(12, c.VocabSize)
		V := c.VocabSize
		autograd.NoGrad(func() {
			full := m.Forward(nil, ids, 1, len(ids)).Value.Contiguous().F32()
			cache := m.NewCache(1, len(ids))
			if _, ok := cache.KV(0).(*nn.HalfKV); !ok {
				t.Fatalf("%s: layer 0 keeps a %T", name, cache.KV(0))
			}
			pos := 0
			for _, n := range []int{5, 1, 1, 3, 1, 1} {
				got := m.Forward(&nn.Ctx{Cache: cache, Pos: pos}, ids[pos:pos+n], 1, n).Value.Contiguous().F32()
				for i := range n * V {
					want := full[pos*V+i]
					if d := math.Abs(float64(got[i] - want)); d > 2e-3*(1+math.Abs(float64(want))) {
						t.Fatalf("%s: position %d logit %d = %v, full pass %v", name, pos+i/V, i%V, got[i], want)
					}
				}
				pos += n
			}
		})
	}
	m, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	if m.SetCacheDType(tensor.Float64) == nil {
		t.Error("an f64 cache was accepted")
	}
}
