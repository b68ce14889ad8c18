package decoder_test

import (
	"strings"
	"testing"

	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
)

func TestPHMDecoder(t *testing.T) {
	dense, _ := decoder.New(decodertest.TinyConfig(nil), 41)
	cfg := decodertest.TinyConfig(func(c *decoder.Config) { c.Loom.PHM = &decoder.PHMOptions{N: 4, Layers: []string{"attn", "ffn"}} })
	m, err := decoder.New(cfg, 41)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := nn.ParamMap(m.Params())
	for _, n := range []string{"model.layers.0.self_attn.q_proj.phm_rule", "model.layers.0.self_attn.o_proj.phm_weight", "model.layers.1.mlp.down_proj.phm_weight"} {
		if names[n] == nil {
			t.Errorf("no parameter %s", n)
		}
	}
	// Replaced layers shrink to ~1/4: D=32, FFN 64, 4 heads of 8, 2 KV heads.
	// Dense per layer: q 1024 + k 512 + v 512 + o 1024 + FFN 3·2048 = 9216.
	// PHM: each projection in·out/4 + 64.
	perLayer := (1024+512+512+1024+3*2048)/4 + 7*64
	if got, want := dense.NumParams()-m.NumParams(), 2*(9216-perLayer); got != want {
		t.Fatalf("PHM saves %d parameters, want %d", got, want)
	}
	// Incremental decoding (direct PHM path) matches the full forward
	// (assembled weights).
	x := decodertest.IDs(12, 50)
	decodertest.CachedMatchesFull(t, m, x, 1e-4)
	decodertest.EqualLogits(t, "reloaded PHM model", decodertest.Logits(t, reloaded(t, m), x), decodertest.Logits(t, m, x))
	if got := strings.Join(cfg.Unexportable(decoder.HF), " "); !strings.Contains(got, "loom.phm") {
		t.Errorf("Unexportable: %q", got)
	}
	for _, c := range []struct {
		o    *decoder.PHMOptions
		want string
	}{
		{&decoder.PHMOptions{N: 1, Layers: []string{"ffn"}}, "≥ 2"},
		{&decoder.PHMOptions{N: 4, Layers: []string{"head"}}, `"head"`},
		{&decoder.PHMOptions{N: 4}, "empty"},
	} {
		if err := decodertest.TinyConfig(func(cf *decoder.Config) { cf.Loom.PHM = c.o }).Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v", c.o, err)
		}
	}
	if _, err := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.Loom.PHM = &decoder.PHMOptions{N: 3, Layers: []string{"ffn"}} }), 1); err == nil || !strings.Contains(err.Error(), "mlp.gate_proj") {
		t.Errorf("n = 3 with width 32: %v", err)
	}
}
