package petl_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// tinyBERT is a small random BertForSequenceClassification.
func tinyBERT(t *testing.T) *encoder.Model {
	t.Helper()
	pad := 0
	c := &encoder.Config{Architectures: []string{encoder.BertForSequenceClassification}, ModelType: encoder.TypeBERT,
		HiddenSize: 16, NumHiddenLayers: 2, NumAttentionHeads: 2, IntermediateSize: 32, HiddenAct: "gelu",
		InitializerRange: 0.2, LayerNormEps: 1e-12, VocabSize: 30, MaxPositionEmbeddings: 16, TypeVocabSize: 2,
		PositionEmbeddingType: "absolute", PadTokenID: &pad}
	c.SetLabels([]string{"a", "b", "c"})
	m, err := encoder.New(c, 7)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// textBatch is two rows, the second padded after 5 tokens.
func textBatch() encoder.Batch {
	ids := []int{2, 5, 9, 11, 3, 4, 7, 8, 1, 6, 12, 13, 14, 15, 0, 0, 0, 0}
	return encoder.Batch{B: 2, T: 9, IDs: ids, Lengths: []int{9, 5}, Labels: []int{1, 2}}
}

func logits(m *encoder.Model, b encoder.Batch) []float32 {
	var out []float32
	autograd.NoGrad(func() { out = m.Logits(nil, &b).Value.Float32s() })
	return out
}

// TestEncoderMethods injects every method into a BERT classifier: each
// starts at (or, for near-identity adapters, near) the base model, trains
// only its own parameters (the frozen ones stay bit-identical, and the
// optimizer holds state for the trainable ones alone) and changes the
// logits when trained.
func TestEncoderMethods(t *testing.T) {
	b := textBatch()
	for _, tc := range []struct {
		name    string
		apply   func(m *encoder.Model) error
		exact   bool // starts exactly at the base model
		trained string
	}{
		{"lora", func(m *encoder.Model) error {
			_, err := petl.Apply(m, petl.LoRAConfig{Rank: 2, Alpha: 4, Targets: []string{"query", "value"}}, 1)
			return err
		}, true, "bert.encoder.layer.1.attention.self.value.lora_B.weight"},
		{"houlsby", func(m *encoder.Model) error {
			_, err := petl.ApplyAdapters(m, 16, petl.AdapterConfig{Bottleneck: 4, Attention: true}, 1)
			return err
		}, false, "bert.encoder.layer.0.attention.adapter.down.weight"},
		{"pfeiffer-par", func(m *encoder.Model) error {
			_, err := petl.ApplyAdapters(m, 16, petl.AdapterConfig{Bottleneck: 4, Parallel: true}, 1)
			return err
		}, false, "bert.encoder.layer.1.adapter.up.bias"},
		{"conformer", func(m *encoder.Model) error {
			_, err := petl.ApplyConformer(m, 16, petl.ConformerConfig{Bottleneck: 4, Kernel: 5, Parallel: true}, 1)
			return err
		}, false, "bert.encoder.layer.0.conformer.dw.weight"},
		{"snnk", func(m *encoder.Model) error {
			_, err := petl.ApplySNNK(m, 16, petl.SNNKConfig{Features: 6, Bottleneck: 4, Orthogonal: true, FeatureSeed: 2}, 1)
			return err
		}, true, "bert.encoder.layer.1.snnk.psi"},
		{"snnk-scale", func(m *encoder.Model) error {
			_, err := petl.ApplySNNK(m, 16, petl.SNNKConfig{Features: 5, Orthogonal: true}, 1)
			return err
		}, true, "bert.encoder.layer.0.snnk.scale"},
		{"snnk-par", func(m *encoder.Model) error {
			_, err := petl.ApplySNNK(m, 16, petl.SNNKConfig{Features: 20, Bottleneck: 4, Parallel: true}, 1)
			return err
		}, true, "bert.encoder.layer.0.snnk.up.weight"},
		{"prefix", func(m *encoder.Model) error {
			_, err := petl.ApplyPrefix(m, 3, 1)
			return err
		}, false, "bert.encoder.layer.1.attention.prefix_v"},
		{"prompt", func(m *encoder.Model) error {
			_, err := petl.ApplyPrompts(m, 16, 3, 1)
			return err
		}, false, "bert.encoder.layer.0.prompt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyBERT(t)
			base := logits(m, b)
			frozen := decodertest.ParamValues(m)
			if err := tc.apply(m); err != nil {
				t.Fatal(err)
			}
			d := maxDiff(logits(m, b), base)
			switch {
			case tc.exact && d != 0:
				t.Fatalf("a fresh %s moves the logits by %.3g, want 0", tc.name, d)
			case !tc.exact && tc.name != "prefix" && tc.name != "prompt" && d > 1e-3:
				t.Fatalf("a fresh %s moves the logits by %.3g, want near 0", tc.name, d)
			}
			// The task head trains with every method (modules_to_save).
			for _, p := range m.Head.Params() {
				p.SetRequiresGrad(true)
			}
			var names []string
			for _, p := range nn.Trainable(m.Params()) {
				names = append(names, p.Name)
			}
			if !slices.Contains(names, tc.trained) {
				t.Fatalf("trainable %v lacks %s", names, tc.trained)
			}
			loop := &train.Loop[encoder.Batch]{Model: m, Data: train.Repeat[encoder.Batch]{Batch: b}, Hyper: train.Hyper{Steps: 3, LR: 0.05}}
			if err := loop.Train(); err != nil {
				t.Fatal(err)
			}
			if st := loop.Opt().State(); len(st) != 2*len(names)+1 && len(st) != 2*len(names) {
				keys := make([]string, 0, len(st))
				for k := range st {
					keys = append(keys, k)
				}
				t.Errorf("optimizer state %v for %d trainable parameters", keys, len(names))
			}
			after := decodertest.ParamValues(m)
			for name, v := range frozen {
				if strings.HasPrefix(name, "classifier") {
					continue
				}
				if maxDiff(after[name], v) != 0 || math.IsNaN(maxDiff(after[name], v)) {
					t.Fatalf("frozen %s changed in training", name)
				}
			}
			if maxDiff(logits(m, b), base) == 0 {
				t.Fatal("training did not change the logits")
			}
		})
	}
}

// TestDepthwiseConv1d checks the fused convolution and its gradients
// against the same convolution composed of autograd's sliced products.
func TestDepthwiseConv1d(t *testing.T) {
	r := tensor.NewRNG(3)
	for _, causal := range []bool{false, true} {
		for _, K := range []int{1, 3, 5} {
			t.Run(fmt.Sprintf("K=%d,causal=%v", K, causal), func(t *testing.T) {
				x := autograd.Leaf(tensor.RandN(r, 2, 7, 3))
				w := autograd.Leaf(tensor.RandN(r, 3, K))
				b := autograd.Leaf(tensor.RandN(r, 3))
				got := petl.DepthwiseConv1d(x, w, b, causal)
				left := (K - 1) / 2
				if causal {
					left = K - 1
				}
				x2, w2, b2 := autograd.Leaf(x.Value.Clone()), autograd.Leaf(w.Value.Clone()), autograd.Leaf(b.Value.Clone())
				pad := autograd.Concat(1, autograd.Const(tensor.Zeros(2, left, 3)), x2, autograd.Const(tensor.Zeros(2, K-1-left, 3)))
				want := autograd.Expand(b2, 2, 7, 3)
				for j := range K {
					wj := autograd.Reshape(autograd.Slice(w2, 1, j, j+1), 3)
					want = autograd.Add(want, autograd.Mul(autograd.Slice(pad, 1, j, j+7), wj))
				}
				if d := maxDiff(got.Value.Float32s(), want.Value.Float32s()); d > 1e-5 {
					t.Fatalf("values differ by %.3g", d)
				}
				g := tensor.RandN(r, 2, 7, 3)
				got.BackwardWith(g)
				want.BackwardWith(g)
				for i, pair := range [][2]*autograd.Var{{x, x2}, {w, w2}, {b, b2}} {
					if d := maxDiff(pair[0].Grad.Float32s(), pair[1].Grad.Float32s()); d > 1e-5 {
						t.Fatalf("gradient %d differs by %.3g", i, d)
					}
				}
			})
		}
	}
}

// TestPrefixMatchesPrependedTokens: prefixes set to the key and value
// projections of extra tokens z give, for x, what the attention gives on
// the sequence z then x (bidirectional and causal), and a causal layer
// decoding token by token with a cache gives what the whole sequence does.
func TestPrefixMatchesPrependedTokens(t *testing.T) {
	r := tensor.NewRNG(9)
	for _, kind := range []nn.MaskKind{nn.Bidirectional, nn.Causal} {
		a, err := nn.NewAttention(nn.AttentionConfig{Dim: 8, Heads: 4, KVHeads: 2, Bias: true, Kind: kind, Init: nn.Init{RNG: r, Std: 0.5}})
		if err != nil {
			t.Fatal(err)
		}
		z := autograd.Const(tensor.RandN(r, 1, 3, 8))
		x := autograd.Const(tensor.RandN(r, 1, 5, 8))
		var want, got []float32
		autograd.NoGrad(func() {
			full := a.Forward(nil, autograd.Concat(1, z, x))
			want = autograd.Slice(full, 1, 3, 8).Value.Float32s()
			p := &petl.PrefixAttention{Inner: a, K: autograd.Reshape(a.K.Forward(z), 3, 4), V: autograd.Reshape(a.V.Forward(z), 3, 4)}
			got = p.Forward(nil, x).Value.Float32s()
			if d := maxDiff(got, want); d > 1e-5 {
				t.Fatalf("%v: prefix output differs from the prepended tokens' by %.3g", kind, d)
			}
			if kind == nn.Causal {
				cache := nn.KVCaches{a.NewKVCache(1, 5)}
				var steps []float32
				for i := range 5 {
					ctx := &nn.Ctx{Cache: cache, Pos: i}
					steps = append(steps, p.Forward(ctx, autograd.Slice(x, 1, i, i+1)).Value.Float32s()...)
				}
				if d := maxDiff(steps, want); d > 1e-5 {
					t.Fatalf("decoding with a cache differs by %.3g", d)
				}
			}
		})
	}
}

// TestPromptPadding: a padded row gets the same logits as the row alone,
// with prompts in every layer.
func TestPromptPadding(t *testing.T) {
	m := tinyBERT(t)
	if _, err := petl.ApplyPrompts(m, 16, 3, 2); err != nil {
		t.Fatal(err)
	}
	b := textBatch()
	both := logits(m, b)
	alone := logits(m, encoder.Batch{B: 1, T: 5, IDs: b.IDs[9:14]})
	if d := maxDiff(both[3:], alone); d > 1e-5 {
		t.Fatalf("the padded row's logits differ from the row alone by %.3g", d)
	}
}

// TestPromptRefusesDecoders: deep prompts need an encoder.
func TestPromptRefusesDecoders(t *testing.T) {
	m, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	if _, err := petl.ApplyPrompts(m, 16, 3, 1); err == nil || !strings.Contains(err.Error(), "prefix tuning") {
		t.Fatalf("err = %v, want a refusal pointing to prefix tuning", err)
	}
	if _, err := petl.ApplyPrefix(m, 2, 1); err != nil {
		t.Fatalf("prefix tuning of a decoder: %v", err)
	}
}

// TestAdapterRoundTrip saves what each method trained on a BERT classifier
// (the task head with it) and applies it to a fresh copy of the base
// model: the logits are identical. A merged LoRA model matches the adapted
// one within 1e-5.
func TestAdapterRoundTrip(t *testing.T) {
	b := textBatch()
	for _, s := range []petl.Spec{
		{Method: "lora", Rank: 2, Alpha: 4, Targets: []string{"query", "value"}},
		{Method: "houlsby", Bottleneck: 4},
		{Method: "pfeiffer", Bottleneck: 4, Parallel: true},
		{Method: "conformer", Bottleneck: 4, Kernel: 3, Parallel: true},
		{Method: "snnk", Bottleneck: 4, Features: 6, Orthogonal: true, FeatureSeed: 9},
		{Method: "snnk", Features: 6, FeatureSeed: 9},
		{Method: "prompt", Tokens: 2},
		{Method: "prefix", Tokens: 2},
		{Method: "bitfit"},
		{Method: "linear"},
	} {
		t.Run(s.Method, func(t *testing.T) {
			m := tinyBERT(t)
			if err := s.Apply(m, 16, 3); err != nil {
				t.Fatal(err)
			}
			loop := &train.Loop[encoder.Batch]{Model: m, Data: train.Repeat[encoder.Batch]{Batch: b}, Hyper: train.Hyper{Steps: 2, LR: 0.05}}
			if err := loop.Train(); err != nil {
				t.Fatal(err)
			}
			want := logits(m, b)
			dir := t.TempDir()
			if err := petl.SaveAdapter(dir, m, s, "tiny"); err != nil {
				t.Fatal(err)
			}
			m2 := tinyBERT(t)
			got, err := petl.LoadAdapter(dir, m2, 16)
			if err != nil {
				t.Fatal(err)
			}
			if got.Method != s.Method {
				t.Fatalf("loaded method %q", got.Method)
			}
			if d := maxDiff(logits(m2, b), want); d != 0 {
				t.Fatalf("reloaded adapter's logits differ by %.3g", d)
			}
			if s.Method == "lora" {
				if _, err := petl.Merge(m2); err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(logits(m2, b), want); d > 1e-5 {
					t.Fatalf("merged model differs from the adapted one by %.3g", d)
				}
			}
		})
	}
}

// TestTrainNormsRoundTrip: an adapter trained with the norms saves them
// and loads them back (loom layout and PEFT's modules_to_save).
func TestTrainNormsRoundTrip(t *testing.T) {
	b := textBatch()
	for _, s := range []petl.Spec{{Method: "pfeiffer", Bottleneck: 4}, {Method: "lora", Rank: 2, Alpha: 2, Targets: []string{"query"}}} {
		m := tinyBERT(t)
		if err := s.Apply(m, 16, 1); err != nil {
			t.Fatal(err)
		}
		if n := petl.TrainNorms(m); n != 2*16*5 {
			t.Fatalf("%s: %d norm values unfrozen, want %d", s.Method, n, 2*16*5)
		}
		s.TrainNorms = true
		loop := &train.Loop[encoder.Batch]{Model: m, Data: train.Repeat[encoder.Batch]{Batch: b}, Hyper: train.Hyper{Steps: 2, LR: 0.05}}
		if err := loop.Train(); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := petl.SaveAdapter(dir, m, s, "tiny"); err != nil {
			t.Fatal(err)
		}
		m2 := tinyBERT(t)
		if _, err := petl.LoadAdapter(dir, m2, 16); err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(logits(m2, b), logits(m, b)); d != 0 {
			t.Fatalf("%s: reloaded logits differ by %.3g", s.Method, d)
		}
	}
}

// TestPEFTSeqClsImplicitHead: PEFT's SEQ_CLS adapters save the classifier
// without listing it in modules_to_save; loom loads it all the same.
func TestPEFTSeqClsImplicitHead(t *testing.T) {
	m := tinyBERT(t)
	s := petl.Spec{Method: "lora", Rank: 2, Alpha: 2, Targets: []string{"query"}}
	if err := s.Apply(m, 16, 1); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Pooler.Params() {
		p.Freeze() // as PEFT leaves the pooler
	}
	m.Head.Params()[0].Value.F32()[0] = 0.5
	dir := t.TempDir()
	if err := petl.SavePEFT(dir, m, "tiny"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, petl.PEFTConfigFile))
	raw = []byte(strings.Replace(string(raw), `"modules_to_save": [
    "classifier"
  ]`, `"modules_to_save": null`, 1))
	if !strings.Contains(string(raw), `"modules_to_save": null`) {
		t.Fatalf("config %s", raw)
	}
	os.WriteFile(filepath.Join(dir, petl.PEFTConfigFile), raw, 0o644)
	m2 := tinyBERT(t)
	for _, p := range m2.Pooler.Params() {
		p.Freeze()
	}
	if _, err := petl.LoadPEFT(dir, m2); err != nil {
		t.Fatal(err)
	}
	if m2.Head.Params()[0].Value.F32()[0] != 0.5 {
		t.Fatal("the classifier was not loaded")
	}
}

// TestSNNKAdapter: an SNNK adapter has k·m + d·k + d parameters per FFN,
// its Ψ starts at the ReLU-SNNK features of a Kaiming-uniform W (so that
// Ψ φ(x) estimates the arc-cosine kernel of x and W's rows), and bad
// settings are refused naming the flag.
func TestSNNKAdapter(t *testing.T) {
	m := tinyBERT(t)
	s := petl.Spec{Method: "snnk", Features: 6, Bottleneck: 4}
	if err := s.Apply(m, 16, 1); err != nil {
		t.Fatal(err)
	}
	adapter := 0
	for _, p := range nn.Trainable(m.Params()) {
		if strings.Contains(p.Name, ".snnk.") {
			adapter += p.Value.Numel()
		}
	}
	if want := 2 * (4*6 + 16*4 + 16); adapter != want {
		t.Fatalf("%d adapter parameters, want %d", adapter, want)
	}
	m = tinyBERT(t)
	if err := (petl.Spec{Method: "snnk", Features: 6}).Apply(m, 16, 1); err != nil {
		t.Fatal(err)
	}
	if n := autograd.NumParams(nn.Trainable(m.Params())) - autograd.NumParams(m.TaskHeadParams()); n != 2*(16*6+16) {
		t.Fatalf("modulating-vector variant: %d adapter parameters, want %d", n, 2*(16*6+16))
	}
	for _, tc := range []struct {
		s    petl.Spec
		want string
	}{
		{petl.Spec{Method: "snnk", Features: 0, Bottleneck: 4}, "--method snnk (--features 0, --bottleneck 4): petl: SNNK random features 0: want at least 1"},
		{petl.Spec{Method: "snnk", Features: 4, Bottleneck: 17}, "bottleneck 17 (width 16): want 1 … 16, or 0 for the modulating vector"},
	} {
		if err := tc.s.Apply(tinyBERT(t), 16, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%+v: err %v, want %q", tc.s, err, tc.want)
		}
	}
}
