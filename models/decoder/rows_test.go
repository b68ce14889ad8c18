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

// TestRowsDecodeMatchesAlone runs one decode step over a batch of separate
// sequences of different lengths (nn.Ctx.Positions with nn.SeqCaches) and
// checks each row's logits against the same sequence decoded alone, for
// rope and learned positions, grouped-query and sliding-window attention;
// then a second batched step, so the rows' stores grew by one each; with
// float32 and float16 caches.
func TestRowsDecodeMatchesAlone(t *testing.T) {
	window := 3
	configs := map[string]*decoder.Config{
		"llama": decodertest.TinyConfig(nil),
		"gpt2":  decodertest.GPT2Config(),
		"mistral_window": decodertest.TinyConfig(func(c *decoder.Config) {
			c.ModelType, c.SlidingWindow = "mistral", &window
		}),
	}
	for key, c := range configs {
		for _, cdt := range []tensor.DType{tensor.Float32, tensor.Float16} {
			name := key + "/" + cdt.String()
			t.Run(name, func(t *testing.T) {
				m, err := decoder.New(c, 3)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.SetCacheDType(cdt); err != nil {
					t.Fatal(err)
				}
				lengths := []int{1, 5, 2, 9}
				B, V := len(lengths), c.VocabSize
				prompts := make([][]int, B)
				for b, n := range lengths {
					prompts[b] = decodertest.IDs(n+b, V)[b:] // different contents per row
				}
				next := [][]int{{7, 11, 13, 17}, {19, 23, 29, 31}}
				// Alone: prefill, then the two decode steps.
				want := [][][]float32{make([][]float32, B), make([][]float32, B)}
				for b, p := range prompts {
					cache := m.NewCache(1, 32)
					autograd.NoGrad(func() { m.Forward(&nn.Ctx{Cache: cache}, p, 1, len(p)) })
					for s := range next {
						want[s][b] = decodertest.Logits1(m, next[s][b], len(p)+s, cache)
					}
				}
				// Batched: the same prefills, then one forward per step for all rows.
				caches := make(nn.SeqCaches, B)
				for b, p := range prompts {
					caches[b] = m.NewCache(1, 32)
					autograd.NoGrad(func() { m.Forward(&nn.Ctx{Cache: caches[b]}, p, 1, len(p)) })
				}
				for s := range next {
					pos := make([]int, B)
					for b, p := range prompts {
						pos[b] = len(p) + s
					}
					var got []float32
					autograd.NoGrad(func() {
						got = m.Forward(&nn.Ctx{Cache: caches, Positions: pos}, next[s], B, 1).Value.Contiguous().F32()
					})
					for b := range B {
						for i, w := range want[s][b] {
							g := got[b*V+i]
							if d := math.Abs(float64(g - w)); d > 1e-5*math.Max(1, math.Abs(float64(w))) {
								t.Fatalf("step %d row %d (length %d) logit %d: batched %v, alone %v", s, b, lengths[b], i, g, w)
							}
						}
					}
				}
			})
		}
	}
}

// TestRowsRefusedByOtherStores checks that a layer appending to a batch of
// separate sequences as one store fails with a message, not wrong numbers.
func TestRowsRefusedByOtherStores(t *testing.T) {
	m, err := decoder.New(decodertest.TinyConfig(nil), 1)
	if err != nil {
		t.Fatal(err)
	}
	kv := nn.SeqCaches{m.NewCache(1, 4)}.KV(0)
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("RowKV.Append did not panic")
		}
	}()
	kv.Append(nil, nil)
}
