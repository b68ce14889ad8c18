package vtrans

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/compress/structured"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/tensor"
)

func model(t *testing.T, seed uint64, mod func(c *decoder.Config)) *decoder.Model {
	t.Helper()
	c := decodertest.TinyConfig(func(c *decoder.Config) {
		c.NumHiddenLayers, c.NumKeyValueHeads, c.InitializerRange = 3, 0, 0.2
		if mod != nil {
			mod(c)
		}
	})
	m, err := decoder.New(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fill(v *autograd.Var, rng *tensor.RNG, lo, hi float64) {
	w := v.Value.F32()
	for i := range w {
		w[i] = float32(lo + (hi-lo)*rng.Float64())
	}
}

// TestKLGradcheck: the gradients of Σ log(1 + μ²/σ²) with respect to μ
// and log σ² match central finite differences and the closed forms
// 2μ/σ²/(1+α) and −α/(1+α).
func TestKLGradcheck(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		rng := tensor.NewRNG(seed)
		g := newGate("g", 7)
		fill(g.Mu, rng, -1.5, 1.5)
		fill(g.LogVar, rng, -3, 1)
		g.KL().Backward()
		mu, lv := g.Mu.Value.F32(), g.LogVar.Value.F32()
		for i := range mu {
			a := float64(mu[i]) * float64(mu[i]) * math.Exp(-float64(lv[i]))
			wantMu := 2 * float64(mu[i]) * math.Exp(-float64(lv[i])) / (1 + a)
			wantLV := -a / (1 + a)
			for _, c := range []struct {
				name   string
				x      []float32
				grad   float64
				closed float64
			}{
				{"mu", mu, float64(g.Mu.Grad.F32()[i]), wantMu},
				{"logvar", lv, float64(g.LogVar.Grad.F32()[i]), wantLV},
			} {
				const h = 1e-2
				x0 := c.x[i]
				c.x[i] = x0 + h
				up := g.KL().Item()
				c.x[i] = x0 - h
				down := g.KL().Item()
				c.x[i] = x0
				fd := (up - down) / (2 * h)
				if math.Abs(c.grad-c.closed) > 1e-4*math.Max(1, math.Abs(c.closed)) || math.Abs(c.grad-fd) > 2e-3*math.Max(1, math.Abs(fd)) {
					t.Fatalf("seed %d %s[%d]: autograd %g, closed form %g, finite differences %g", seed, c.name, i, c.grad, c.closed, fd)
				}
			}
		}
	}
}

// TestFoldRemoveEqualsMasked: the masked model (z = μ on kept structures,
// 0 on pruned ones) and the folded, physically pruned model give the same
// logits.
func TestFoldRemoveEqualsMasked(t *testing.T) {
	for _, tied := range []bool{false, true} {
		for seed := uint64(1); seed <= 2; seed++ {
			m := model(t, seed, func(c *decoder.Config) { c.TieWordEmbeddings = tied })
			v, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			rng := tensor.NewRNG(seed + 100)
			for _, p := range v.Params() {
				fill(p, rng, 0.5, 1.5)
			}
			k, err := structured.Full(m)
			if err != nil {
				t.Fatal(err)
			}
			for l := range k.Heads {
				k.Heads[l][int(seed)%4] = false
				for j := range k.Neurons[l] {
					k.Neurons[l][j] = rng.Float64() > 0.4
				}
			}
			k.Layers[1] = seed == 2
			for j := 0; j < 32; j += 3 {
				k.Hidden[j] = false
			}
			ids := decodertest.IDs(10, 50)
			v.Sample(nil, k)
			masked := decodertest.Logits(t, m, ids)
			v.Detach()
			if err := v.Fold(); err != nil {
				t.Fatal(err)
			}
			pruned, err := structured.Remove(m, k)
			if err != nil {
				t.Fatal(err)
			}
			got := decodertest.Logits(t, pruned, ids)
			scale := 0.0
			for _, x := range masked {
				scale = math.Max(scale, math.Abs(float64(x)))
			}
			if d := decodertest.MaxDiff(masked, got); d > 2e-5*scale {
				t.Fatalf("tied %v seed %d: pruned logits differ from masked by %g (scale %g)", tied, seed, d, scale)
			}
		}
	}
}

func batches(n, T, vocab int) []data.Batch {
	var out []data.Batch
	for i := range n {
		ids := make([]int, T+1)
		for j := range ids {
			ids[j] = (i*13 + j*j*5 + j) % vocab
		}
		out = append(out, data.Batch{IDs: ids[:T], Targets: ids[1:], B: 1, T: T})
	}
	return out
}

// TestRun: every variant reaches the budget, shrinks the model and leaves
// the input model as it was.
func TestRun(t *testing.T) {
	m := model(t, 5, nil)
	ids := decodertest.IDs(8, 50)
	before := decodertest.Logits(t, m, ids)
	for _, variant := range Variants {
		r, err := Run(m, batches(6, 8, 50), Options{Ratio: 0.5, Variant: variant, Epochs: 1, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r.Removed < 0.5 || r.Params[1] >= r.Params[0] || structured.NumParams(r.Model) != r.Params[1] {
			t.Fatalf("%s: removed %v, params %v", variant, r.Removed, r.Params)
		}
		want := 6
		if variant == Fast {
			want = 1
		}
		if r.Steps != want {
			t.Fatalf("%s: %d steps, want %d", variant, r.Steps, want)
		}
		for _, x := range decodertest.Logits(t, r.Model, ids) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s: non-finite logits", variant)
			}
		}
	}
	decodertest.EqualLogits(t, "input model after Run", before, decodertest.Logits(t, m, ids))
}

// TestBadOptions: each bad option is refused by name.
func TestBadOptions(t *testing.T) {
	m := model(t, 1, nil)
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Ratio: 0}, "ratio"},
		{Options{Ratio: 1}, "ratio"},
		{Options{Ratio: 1.2}, "ratio"},
		{Options{Ratio: 0.5, Variant: "fastest"}, "variant"},
		{Options{Ratio: 0.5, Beta: -1}, "beta"},
	} {
		if _, err := Run(m, batches(2, 8, 50), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %q", tc.o, err, tc.want)
		}
	}
	gqa, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	if _, err := Run(gqa, batches(2, 8, 50), Options{Ratio: 0.5}); err == nil || !strings.Contains(err.Error(), "grouped-query") {
		t.Errorf("a grouped-query model: error %v", err)
	}
}
