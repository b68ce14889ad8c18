package dit

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

func mupConfig(hidden int, param string, base int) Config {
	return Config{ImageSize: 8, Channels: 1, PatchSize: 2, Hidden: hidden, Depth: 2, Heads: 4, MLPRatio: 4, Classes: 3,
		Diffusion: Schedule{Steps: 50}, Param: param, BaseWidth: base}
}

// TestMuPBaseWidthIsSP: at the base width a μP DiT is the standard one bit
// for bit (weights and outputs, adaLN opened), and its multipliers are 1.
func TestMuPBaseWidthIsSP(t *testing.T) {
	sp, err := New(mupConfig(32, "", 0), 5)
	if err != nil {
		t.Fatal(err)
	}
	mu, err := New(mupConfig(32, ParamMuP, 32), 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range sp.Params() {
		q := mu.Params()[i]
		if p.Name != q.Name || q.LRScale != 1 && q.LRScale != 0 {
			t.Fatalf("%s / %s: lr multiplier %v", p.Name, q.Name, q.LRScale)
		}
		a, b := p.Value.F32(), q.Value.F32()
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("%s differs at the base width", p.Name)
			}
		}
	}
	for _, m := range []*Model{sp, mu} {
		for i, b := range m.Blocks {
			b.Ada.Weight.Value = tensor.RandN(tensor.NewRNG(uint64(10+i)), b.Ada.Weight.Shape()...)
		}
		m.FinalOut.Weight.Value = tensor.RandN(tensor.NewRNG(3), m.FinalOut.Weight.Shape()...)
	}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(4), 2, 1, 8, 8))
	var a, b []float32
	autograd.NoGrad(func() {
		a = sp.Forward(nil, x, []float64{3, 30}, []int{0, 2}).Value.F32()
		b = mu.Forward(nil, x, []float64{3, 30}, []int{0, 2}).Value.F32()
	})
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("output %d: μP %v, SP %v", i, b[i], a[i])
		}
	}
}

// TestMuPMultipliers: at 4× the base width the hidden matrices have
// learning rate ×1/4 and init ×1/2, the input weights and biases ×1, and
// bad settings are refused.
func TestMuPMultipliers(t *testing.T) {
	m, err := New(mupConfig(128, ParamMuP, 32), 5)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"blocks.0.attn.q_proj.weight": 0.25, "blocks.1.mlp.fc2.weight": 0.25, "blocks.0.adaLN_modulation.1.weight": 0.25,
		"t_embedder.mlp.2.weight": 0.25, "final_layer.adaLN_modulation.1.weight": 0.25,
		"x_embedder.proj.weight": 1, "t_embedder.mlp.0.weight": 1, "y_embedder.embedding_table.weight": 1,
		"final_layer.linear.weight": 1, "blocks.0.attn.q_proj.bias": 1,
	}
	seen := 0
	for _, p := range m.Params() {
		w, ok := want[p.Name]
		if !ok {
			continue
		}
		seen++
		lr := p.LRScale
		if lr == 0 {
			lr = 1
		}
		if lr != w {
			t.Errorf("%s: lr multiplier %v, want %v", p.Name, lr, w)
		}
		if w == 0.25 && p.InitScale != 0.5 {
			t.Errorf("%s: init multiplier %v, want 0.5", p.Name, p.InitScale)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of %d parameters", seen, len(want))
	}
	// The attention's score scale is √d_base/d = √8/32.
	if s := m.Cfg.attentionScale(); math.Abs(s-math.Sqrt(8)/32) > 1e-12 {
		t.Errorf("score scale %v", s)
	}
	for _, c := range []Config{mupConfig(64, ParamMuP, 0), mupConfig(64, ParamMuP, 30), mupConfig(64, "", 32), mupConfig(64, "mu", 32)} {
		if _, err := New(c, 1); err == nil || !strings.Contains(err.Error(), "param") && !strings.Contains(err.Error(), "base_width") {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestMuPReadoutBias: μP's readout divides its input by m, not its output
// (microsoft/mup's MuReadout computes W(x/m) + b): with the readout's
// weights at zero (adaLN-Zero) the prediction of a 4× model is its bias.
func TestMuPReadoutBias(t *testing.T) {
	m, err := New(mupConfig(128, ParamMuP, 32), 5)
	if err != nil {
		t.Fatal(err)
	}
	bias := m.FinalOut.Bias.Value.F32()
	for i := range bias {
		bias[i] = 0.25 * float32(i+1)
	}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(4), 2, 1, 8, 8))
	var got []float32
	autograd.NoGrad(func() { got = m.Forward(nil, x, []float64{3, 30}, []int{0, 2}).Value.F32() })
	// Every pixel of a 2×2 patch of the 1-channel image reads one output
	// unit; unit j's bias is 0.25·(j+1) with j = (row%2)·2 + col%2.
	for i, v := range got {
		r, c := (i%64)/8, i%8
		if want := 0.25 * float32((r%2)*2+c%2+1); v != want {
			t.Fatalf("pixel %d: %v, want the bias %v", i, v, want)
		}
	}
}
