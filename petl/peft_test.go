package petl_test

import (
	"math"
	"testing"

	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/petl"
)

// TestPEFTAdapterAgainstPyTorch loads a PEFT-layout LoRA adapter written
// by testdata/gen_lora.py onto the tiny Llama it was made for and compares
// the logits with PyTorch's (the base weights with W + (alpha/r)·B·A):
// PEFT's names, which factor is A and which B, their orientation and the
// scaling, adapted and merged.
func TestPEFTAdapterAgainstPyTorch(t *testing.T) {
	f, err := safetensors.Open("testdata/lora_logits.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := f.Bytes("ids")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := f.Float32("logits")
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, len(raw))
	for i, b := range raw {
		ids[i] = int(b)
	}
	c := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: len(ids), InitializerRange: 0.02}
	m, err := decoder.New(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.LoadParams("testdata/lora_base.safetensors", m.Params()); err != nil {
		t.Fatal(err)
	}
	cfg, err := petl.LoadPEFT("testdata/peft", m)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rank != 4 || cfg.Scale() != 2 || len(petl.Adapters(m)) != 4 {
		t.Fatalf("config %+v, %d adapters", cfg, len(petl.Adapters(m)))
	}
	check := func(what string, got []float32) {
		worst := 0.0
		for i := range want {
			worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > 1e-5 {
			t.Fatalf("%s: logits differ from PyTorch's by %.3g", what, worst)
		}
		t.Logf("%s: largest difference from PyTorch %.2g", what, worst)
	}
	check("adapted", decodertest.Logits(t, m, ids))
	if _, err := petl.Merge(m); err != nil {
		t.Fatal(err)
	}
	check("merged", decodertest.Logits(t, m, ids))
}
