package petl_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/train"
)

// TestAdapters injects Houlsby and Pfeiffer adapters, sequential and
// parallel, into a decoder: they start near the identity (logits within
// 1e-3 of the base model's: the branch is ~σ²·√(d·m) = 1.6·10⁻⁵ of its
// input, amplified by the layers above), only adapter parameters train, frozen weights
// stay bit-identical, and the parameters are named after their sublayer.
func TestAdapters(t *testing.T) {
	c := decodertest.TinyConfig(nil)
	ids := decodertest.IDs(12, c.VocabSize)
	for _, cfg := range []petl.AdapterConfig{
		{Bottleneck: 4},
		{Bottleneck: 4, Parallel: true},
		{Bottleneck: 4, Attention: true},
		{Bottleneck: 4, Attention: true, Parallel: true},
	} {
		t.Run(fmt.Sprintf("attention=%v,parallel=%v", cfg.Attention, cfg.Parallel), func(t *testing.T) {
			m, _ := decoder.New(c, 1)
			base := decodertest.Logits(t, m, ids)
			frozen := decodertest.ParamValues(m)
			n, err := petl.ApplyAdapters(m, c.HiddenSize, cfg, 5)
			if err != nil {
				t.Fatal(err)
			}
			want := c.NumHiddenLayers
			if cfg.Attention {
				want *= 2
			}
			if n != want {
				t.Fatalf("%d adapters, want %d", n, want)
			}
			if d := maxDiff(decodertest.Logits(t, m, ids), base); d > 1e-3 || d == 0 {
				t.Fatalf("fresh adapters move the logits by %.3g, want near but not exactly 0", d)
			}
			var added []string
			for _, p := range nn.Trainable(m.Params()) {
				added = append(added, p.Name)
			}
			if len(added) != 4*want || !slices.Contains(added, "model.layers.1.mlp.adapter.up.bias") {
				t.Fatalf("trainable parameters %v", added)
			}
			loop := trainLoop(m, ids)
			if err := loop.Train(); err != nil {
				t.Fatal(err)
			}
			for name, v := range decodertest.ParamValues(m) {
				if old, ok := frozen[name]; ok && !slices.Equal(v, old) {
					t.Fatalf("frozen %s changed", name)
				}
			}
			for key := range loop.Opt().State() {
				if key != "step" && !strings.Contains(key, ".adapter.") {
					t.Fatalf("optimizer state for frozen %s", key)
				}
			}
		})
	}
	m, _ := decoder.New(c, 1)
	if _, err := petl.ApplyAdapters(m, c.HiddenSize, petl.AdapterConfig{Bottleneck: 10 * c.HiddenSize}, 1); err == nil || !strings.Contains(err.Error(), "bottleneck") {
		t.Fatalf("too wide a bottleneck: %v", err)
	}
}

func trainLoop(m *decoder.Model, ids []int) *train.Loop[data.Batch] {
	return &train.Loop[data.Batch]{Model: m, Data: train.Repeat[data.Batch]{Batch: data.Batch{IDs: ids[:11], Targets: ids[1:], B: 1, T: 11}}, Hyper: train.Hyper{Steps: 3, LR: 0.05}}
}
