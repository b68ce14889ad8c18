package structured

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

func config(mod func(c *decoder.Config)) *decoder.Config {
	return decodertest.TinyConfig(func(c *decoder.Config) {
		c.NumHiddenLayers, c.NumKeyValueHeads, c.InitializerRange = 3, 0, 0.2
		if mod != nil {
			mod(c)
		}
	})
}

func newModel(t *testing.T, c *decoder.Config, seed uint64) *decoder.Model {
	t.Helper()
	m, err := decoder.New(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randomMask drops each structure of the kinds with probability p.
func randomMask(t *testing.T, m Model, kinds string, p float64, seed uint64) *Mask {
	t.Helper()
	k, err := Full(m)
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(seed)
	drop := func(kind string) bool { return strings.Contains(kinds, kind) && rng.Float64() < p }
	for l := range k.Heads {
		for h := range k.Heads[l] {
			k.Heads[l][h] = k.Heads[l][h] && !drop("head")
		}
		for j := range k.Neurons[l] {
			k.Neurons[l][j] = k.Neurons[l][j] && !drop("neuron")
		}
		k.Layers[l] = k.Layers[l] && !drop("layer")
	}
	for j := range k.Hidden {
		k.Hidden[j] = !drop("hidden")
	}
	k.Hidden[0] = true
	// At least one structure of each kind asked for goes.
	for kind, drop := range map[string]func(){
		"head": func() { k.Heads[0][0] = false }, "neuron": func() { k.Neurons[0][0] = false },
		"hidden": func() { k.Hidden[1] = false }, "layer": func() { k.Layers[1] = false },
	} {
		if strings.Contains(kinds, kind) {
			drop()
		}
	}
	return k
}

func relDiff(a, b []float32) float64 {
	d, s := 0.0, 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		s = math.Max(s, math.Abs(float64(a[i])))
	}
	return d / math.Max(s, 1e-12)
}

// TestRemoveEqualsMasking: the pruned model is smaller, has the count
// Params predicts, and gives the logits of the masked model.
func TestRemoveEqualsMasking(t *testing.T) {
	gated := config(nil)
	mlp := config(func(c *decoder.Config) {
		c.Loom.FFN, c.HiddenAct, c.AttentionBias, c.MLPBias, c.TieWordEmbeddings = "mlp", "gelu_pytorch_tanh", true, true, true
	})
	qk := config(func(c *decoder.Config) { c.ModelType, c.HeadDim = "qwen3", 8 })
	for _, tc := range []struct {
		name  string
		c     *decoder.Config
		kinds string
		p     float64
	}{
		{"heads", gated, "head", 0.4},
		{"neurons", gated, "neuron", 0.5},
		{"hidden", gated, "hidden", 0.3},
		{"layers", gated, "layer", 0.4},
		{"all", gated, "head neuron hidden layer", 0.3},
		{"all mlp biases tied", mlp, "head neuron hidden layer", 0.3},
		{"all qwen3", qk, "head neuron hidden", 0.3},
		{"every head of a layer", gated, "head", 0.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 3; seed++ {
				m := newModel(t, tc.c, seed)
				k := randomMask(t, m, tc.kinds, tc.p, seed+10)
				pruned, err := Remove(m, k)
				if err != nil {
					t.Fatal(err)
				}
				want, err := Params(m, k)
				if err != nil {
					t.Fatal(err)
				}
				if n := NumParams(pruned); n != want || n >= NumParams(m) {
					t.Fatalf("pruned model has %d parameters, Params says %d, the model %d", n, want, NumParams(m))
				}
				if err := Apply(m, k); err != nil {
					t.Fatal(err)
				}
				ids := decodertest.IDs(12, tc.c.VocabSize)
				if d := relDiff(decodertest.Logits(t, m, ids), decodertest.Logits(t, pruned, ids)); d > 2e-5 {
					t.Fatalf("seed %d: pruned logits differ from masked by %g (relative)", seed, d)
				}
				decodertest.CachedMatchesFull(t, pruned, ids, 1e-4)
			}
		})
	}
}

// TestSaveLoadPruned: the pruned model saves and loads through its
// config.json (per-layer heads and widths) and computes the same.
func TestSaveLoadPruned(t *testing.T) {
	m := newModel(t, config(nil), 4)
	k := randomMask(t, m, "head neuron hidden", 0.4, 5)
	pruned, err := Remove(m, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(pruned.Config.Loom.AttentionHeads) != 3 || len(pruned.Config.Loom.IntermediateSizes) != 3 {
		t.Fatalf("pruned config: heads %v, widths %v", pruned.Config.Loom.AttentionHeads, pruned.Config.Loom.IntermediateSizes)
	}
	dir := filepath.Join(t.TempDir(), "pruned")
	if err := convert.Save(pruned, dir); err != nil {
		t.Fatal(err)
	}
	back, err := convert.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := decodertest.IDs(9, 50)
	decodertest.EqualLogits(t, "loaded", decodertest.Logits(t, pruned, ids), decodertest.Logits(t, back, ids))
}

// TestConfigStrict: loom.attention_heads is checked.
func TestConfigStrict(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(c *decoder.Config)
		want string
	}{
		{"length", func(c *decoder.Config) { c.HeadDim, c.Loom.AttentionHeads = 8, []int{1, 2} }, "one per layer"},
		{"zero", func(c *decoder.Config) { c.HeadDim, c.Loom.AttentionHeads = 8, []int{1, 0, 2} }, "attention_heads[1]"},
		{"too many", func(c *decoder.Config) { c.HeadDim, c.Loom.AttentionHeads = 8, []int{1, 5, 2} }, "attention_heads[1]"},
		{"no head_dim", func(c *decoder.Config) { c.Loom.AttentionHeads = []int{1, 2, 2} }, "head_dim"},
		{"gqa", func(c *decoder.Config) { c.HeadDim, c.NumKeyValueHeads, c.Loom.AttentionHeads = 8, 2, []int{1, 2, 2} }, "multi-head"},
	} {
		if err := config(tc.mod).Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}

// TestIncompatible: models this package cannot prune are refused by
// name.
func TestIncompatible(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *decoder.Config
		want string
	}{
		{"gqa", decodertest.TinyConfig(nil), "grouped-query"},
		{"layernorm", decodertest.GPT2Config(), "loom.norm"},
	} {
		if _, err := Full(newModel(t, tc.c, 1)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}

func backward(t *testing.T, m *decoder.Model) {
	t.Helper()
	ids := decodertest.IDs(17, m.Config.VocabSize)
	b := data.Batch{IDs: ids[:16], Targets: ids[1:], B: 1, T: 16}
	m.Loss(nil, b).Backward()
}

// TestTaylorByHand: a head's Taylor score is Σ|w·g| over its q, k, v rows
// and o_proj columns; a neuron's over its gate/up rows and down column.
func TestTaylorByHand(t *testing.T) {
	m := newModel(t, config(nil), 7)
	backward(t, m)
	sc, err := NewScores(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.AddTaylor(m); err != nil {
		t.Fatal(err)
	}
	ps, _ := nn.ParamMap(m.Params())
	tay := func(name string, rows, cols [2]int) float64 {
		p := ps[name]
		w, g := p.Value.Float32s(), p.Grad.Float32s()
		in := p.Shape()[1]
		s := 0.0
		for r := rows[0]; r < rows[1]; r++ {
			for c := cols[0]; c < cols[1]; c++ {
				s += math.Abs(float64(w[r*in+c] * g[r*in+c]))
			}
		}
		return s
	}
	const l, h, hd, D, F = 1, 2, 8, 32, 64
	pre := "model.layers.1."
	want := tay(pre+"self_attn.q_proj.weight", [2]int{h * hd, (h + 1) * hd}, [2]int{0, D}) +
		tay(pre+"self_attn.k_proj.weight", [2]int{h * hd, (h + 1) * hd}, [2]int{0, D}) +
		tay(pre+"self_attn.v_proj.weight", [2]int{h * hd, (h + 1) * hd}, [2]int{0, D}) +
		tay(pre+"self_attn.o_proj.weight", [2]int{0, D}, [2]int{h * hd, (h + 1) * hd})
	if got := sc.Heads[l][h]; math.Abs(got-want) > 1e-6*want || want == 0 {
		t.Fatalf("head Taylor score %g, by hand %g", got, want)
	}
	const j = 5
	want = tay(pre+"mlp.gate_proj.weight", [2]int{j, j + 1}, [2]int{0, D}) +
		tay(pre+"mlp.up_proj.weight", [2]int{j, j + 1}, [2]int{0, D}) +
		tay(pre+"mlp.down_proj.weight", [2]int{0, D}, [2]int{j, j + 1})
	if got := sc.Neurons[l][j]; math.Abs(got-want) > 1e-6*want || want == 0 {
		t.Fatalf("neuron Taylor score %g, by hand %g", got, want)
	}
	_ = F
}

// TestActivation: masked structures have zero activation importance, the
// others positive.
func TestActivation(t *testing.T) {
	m := newModel(t, config(nil), 8)
	k, _ := Full(m)
	k.Heads[0][1], k.Neurons[2][7] = false, false
	// Zero the head's v rows and the neuron's up row, so their
	// activations vanish (Apply zeroes every weight of them).
	if err := Apply(m, k); err != nil {
		t.Fatal(err)
	}
	sc, _ := NewScores(m)
	ids := decodertest.IDs(16, 50)
	if err := sc.AddActivation(m, func() { m.Forward(nil, ids, 1, 16) }); err != nil {
		t.Fatal(err)
	}
	if sc.Heads[0][1] != 0 || sc.Neurons[2][7] != 0 || sc.Heads[0][0] <= 0 || sc.Neurons[2][6] <= 0 {
		t.Fatalf("activation scores: masked head %g, neuron %g; kept %g, %g", sc.Heads[0][1], sc.Neurons[2][7], sc.Heads[0][0], sc.Neurons[2][6])
	}
	// The hooks are gone: the forward is unchanged afterwards.
	if _, ok := m.Layers[0].(*decoder.PreNorm).Attn.(*nn.Attention).O.(*recorder); ok {
		t.Fatal("a recorder was left in place")
	}
}

// TestSelect: the selection reaches the budget, removes the lowest scores
// first, and refuses ratios outside (0, 1).
func TestSelect(t *testing.T) {
	m := newModel(t, config(nil), 9)
	sc, _ := NewScores(m)
	if err := sc.AddMagnitude(m); err != nil {
		t.Fatal(err)
	}
	cands, err := Candidates(m, sc, Kinds, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, ratio := range []float64{0.5, 0.7, 0.9} {
		k, got, err := Select(m, cands, ratio)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := Params(m, k)
		if got < ratio || math.Abs(1-float64(n)/float64(NumParams(m))-got) > 1e-12 {
			t.Fatalf("ratio %v: removed %v (%d of %d left)", ratio, got, n, NumParams(m))
		}
		if _, err := Remove(m, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []float64{0, 1, -0.5, 1.5, math.NaN()} {
		if _, _, err := Select(m, cands, bad); err == nil || !strings.Contains(err.Error(), "ratio") {
			t.Errorf("ratio %v: error %v", bad, err)
		}
	}
	_ = autograd.NoGrad
}
