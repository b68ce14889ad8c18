package petl_test

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

var loraCfg = petl.LoRAConfig{Rank: 2, Alpha: 4, Targets: []string{"q_proj", "v_proj"}}

// TestLoRAMergeAndPEFT: injected LoRA starts as the base model; with a
// non-zero update, a PEFT-layout export loads back into a fresh model with
// the same logits bit for bit, and the merged model matches the adapted
// one within 1e-5.
func TestLoRAMergeAndPEFT(t *testing.T) {
	c := decodertest.TinyConfig(nil)
	m, _ := decoder.New(c, 1)
	ids := decodertest.IDs(12, c.VocabSize)
	base := decodertest.Logits(t, m, ids)
	ls, err := petl.Apply(m, loraCfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2*c.NumHiddenLayers {
		t.Fatalf("%d LoRA modules, want %d", len(ls), 2*c.NumHiddenLayers)
	}
	decodertest.EqualLogits(t, "LoRA with B = 0", base, decodertest.Logits(t, m, ids))
	r := tensor.NewRNG(3)
	for _, l := range ls {
		copy(l.B.Value.F32(), tensor.Normal(r, 0, 0.2, l.B.Shape()...).F32())
	}
	adapted := decodertest.Logits(t, m, ids)
	if maxDiff(adapted, base) < 1e-3 {
		t.Fatal("the update does not change the logits")
	}
	dir := t.TempDir()
	if err := petl.SavePEFT(dir, m, "tiny"); err != nil {
		t.Fatal(err)
	}
	cfgJSON, _ := os.ReadFile(filepath.Join(dir, petl.PEFTConfigFile))
	for _, want := range []string{`"peft_type": "LORA"`, `"r": 2`, `"lora_alpha": 4`, `"q_proj"`, `"v_proj"`} {
		if !strings.Contains(string(cfgJSON), want) {
			t.Errorf("adapter_config.json lacks %s:\n%s", want, cfgJSON)
		}
	}
	fresh, _ := decoder.New(c, 1)
	got, err := petl.LoadPEFT(dir, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rank != 2 || got.Alpha != 4 || !slices.Equal(got.Targets, []string{"q_proj", "v_proj"}) {
		t.Fatalf("loaded config %+v", got)
	}
	decodertest.EqualLogits(t, "PEFT adapter loaded back", adapted, decodertest.Logits(t, fresh, ids))
	n, err := petl.Merge(m)
	if err != nil || n != len(ls) {
		t.Fatalf("merged %d, %v", n, err)
	}
	if d := maxDiff(decodertest.Logits(t, m, ids), adapted); d > 1e-5 {
		t.Fatalf("merged model differs from the adapted one by %.3g", d)
	}
	if len(petl.Adapters(m)) != 0 || len(m.Params()) != len(fresh.Params())-2*len(ls) {
		t.Fatalf("after merging: %d adapters, %d parameters", len(petl.Adapters(m)), len(m.Params()))
	}
}

// TestLoRATrainsOnlyTheAdapter: frozen weights stay bit-identical through
// training, have no gradient buffers and no optimizer state.
func TestLoRATrainsOnlyTheAdapter(t *testing.T) {
	c := decodertest.TinyConfig(nil)
	m, _ := decoder.New(c, 1)
	frozen := decodertest.ParamValues(m)
	if _, err := petl.Apply(m, loraCfg, 7); err != nil {
		t.Fatal(err)
	}
	ids := decodertest.IDs(12, c.VocabSize)
	loop := &train.Loop[data.Batch]{Model: m, Data: train.Repeat[data.Batch]{Batch: data.Batch{IDs: ids[:11], Targets: ids[1:], B: 1, T: 11}}, Hyper: train.Hyper{Steps: 3, LR: 0.05}}
	if err := loop.Train(); err != nil {
		t.Fatal(err)
	}
	for name, v := range decodertest.ParamValues(m) {
		if old, ok := frozen[name]; ok && !slices.Equal(v, old) {
			t.Fatalf("frozen %s changed", name)
		}
		if strings.Contains(name, "lora_B") && !slices.ContainsFunc(v, func(x float32) bool { return x != 0 }) {
			t.Fatalf("%s did not train", name)
		}
	}
	for key := range loop.Opt().State() {
		if key != "step" && !strings.Contains(key, ".lora_") {
			t.Fatalf("optimizer state for frozen %s", key)
		}
	}
	for _, p := range m.Params() {
		if _, ok := frozen[p.Name]; ok && p.Grad != nil {
			t.Fatalf("frozen %s has a gradient buffer", p.Name)
		}
	}
	if got, want := len(nn.Trainable(m.Params())), 4*c.NumHiddenLayers; got != want {
		t.Fatalf("%d trainable parameters, want %d", got, want)
	}
}

func TestLoRAErrors(t *testing.T) {
	c := decodertest.TinyConfig(nil)
	for _, tc := range []struct {
		cfg  petl.LoRAConfig
		want string
	}{
		{petl.LoRAConfig{Rank: 1000, Alpha: 1, Targets: []string{"q_proj"}}, "LoRA rank 1000 for model.layers.0.self_attn.q_proj"},
		{petl.LoRAConfig{Rank: 2, Alpha: 1, Targets: []string{"qkv"}}, `target "qkv" matches no linear layer`},
		{petl.LoRAConfig{Rank: 2, Alpha: 1}, "needs target modules"},
	} {
		m, _ := decoder.New(c, 1)
		if _, err := petl.Apply(m, tc.cfg, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	// A PEFT directory whose tensors do not fit the model.
	m, _ := decoder.New(c, 1)
	if _, err := petl.Apply(m, loraCfg, 1); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := petl.SavePEFT(dir, m, "tiny"); err != nil {
		t.Fatal(err)
	}
	other, _ := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.HiddenSize *= 2 }), 1)
	if _, err := petl.LoadPEFT(dir, other); err == nil || !strings.Contains(err.Error(), "has shape") {
		t.Errorf("mismatched shapes: %v", err)
	}
	// A config without lora_alpha means PEFT's default, 8 (not 0, a silent no-op).
	os.WriteFile(filepath.Join(dir, petl.PEFTConfigFile), []byte(`{"peft_type": "LORA", "r": 2, "target_modules": ["q_proj", "v_proj"]}`), 0o644)
	if cfg, err := petl.LoadPEFT(dir, must(decoder.New(c, 1))); err != nil || cfg.Alpha != 8 {
		t.Errorf("no lora_alpha: %+v, %v; want alpha 8", cfg, err)
	}
	os.WriteFile(filepath.Join(dir, petl.PEFTConfigFile), []byte(`{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"], "use_dora": true}`), 0o644)
	fresh, _ := decoder.New(c, 1)
	if _, err := petl.LoadPEFT(dir, fresh); err == nil || !strings.Contains(err.Error(), "use_dora") {
		t.Errorf("DoRA config: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
