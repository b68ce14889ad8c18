package forecast

import (
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
)

// The fixtures come from testdata/gen_parity.py (PyTorch 1.13, float32):
// iTransformer and DLinear forecasting written from the official code, and
// PatchTST forecasting and the reconstruction and classification heads of
// the Transformer, iTransformer, DLinear and PatchTST written from
// Time-Series-Library, the Transformer also with TSLib's convolutional
// TokenEmbedding (TokenConv) and PatchTST's imputation (Impute, normalised
// by the observed entries), all in eval mode (PatchTST's BatchNorm on
// random running statistics). Each case's weights and buffers are stored
// under its name; every one of them must be one of the loom model's.
func TestParityWithPyTorch(t *testing.T) {
	f, err := safetensors.Open("testdata/parity.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	get := func(name string) *tensor.Tensor {
		data, shape, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		return tensor.FromFloat32(data, shape...)
	}
	x, mark := get("x"), get("mark")
	xCls, mask := get("x_cls"), get("mask")        // zero-padded series and their padding mask
	xImp, maskImp := get("x_imp"), get("mask_imp") // x with ~30 % of its entries missing (zeroed), mask 1 where observed
	const L, S, N, C = 24, 8, 5, 3
	enc := Config{Lookback: L, Horizon: S, Variates: N, DModel: 16, DFF: 32, Heads: 4, Layers: 2}
	with := func(arch string, edit func(c *Config)) Config {
		c := enc
		c.Arch = arch
		edit(&c)
		return c
	}
	rec := func(c *Config) { c.Task, c.Horizon = TaskReconstruction, L }
	cls := func(c *Config) { c.Task, c.Classes = TaskClassification, C }
	patches := func(c *Config) { c.PatchLen, c.Stride = 8, 4 }
	conv := func(c *Config) { c.TokenConv, c.Marks = true, 4 }
	for _, c := range []struct {
		name  string // the fixture's prefix
		cfg   Config
		marks bool           // Forward with the time features
		in    *tensor.Tensor // Forward's input (nil: x)
		// impute: Impute x_imp with mask_imp (the model is an Imputer).
		impute bool
	}{
		{"itransformer", with("itransformer", func(c *Config) { c.Marks, c.UseNorm = 4, true }), true, nil, false},
		{"dlinear", Config{Arch: "dlinear", Lookback: L, Horizon: S, Kernel: 25}, false, nil, false},
		{"patchtst", with("patchtst", patches), false, nil, false},
		{"patchtst_long", with("patchtst", func(c *Config) { c.PatchLen, c.Stride = 26, 4 }), false, nil, false},
		// Reconstruction: the Transformer as TSLib's imputation (time
		// marks, no normalisation), the others as its anomaly_detection.
		{"transformer_rec", with("transformer", func(c *Config) { c.Marks = 4; rec(c) }), true, nil, false},
		{"itransformer_rec", with("itransformer", func(c *Config) { c.UseNorm = true; rec(c) }), false, nil, false},
		{"dlinear_rec", Config{Arch: "dlinear", Lookback: L, Horizon: L, Kernel: 25, Task: TaskReconstruction}, false, nil, false},
		{"patchtst_rec", with("patchtst", func(c *Config) { patches(c); rec(c) }), false, nil, false},
		// Classification of x_cls with its padding mask (only the
		// Transformer uses it, as in TSLib).
		{"transformer_cls", with("transformer", func(c *Config) { c.Marks = 4; cls(c) }), false, nil, false},
		{"itransformer_cls", with("itransformer", cls), false, nil, false},
		{"dlinear_cls", Config{Arch: "dlinear", Lookback: L, Horizon: S, Variates: N, Kernel: 25, Task: TaskClassification, Classes: C}, false, nil, false},
		{"patchtst_cls", with("patchtst", func(c *Config) { patches(c); cls(c) }), false, nil, false},
		// The Transformer with TSLib's TokenEmbedding (TokenConv):
		// forecasting on loom's encoder-only structure (TSLib's has a
		// decoder), with marks, and with UseNorm and no marks; TSLib's
		// imputation (the zero-filled input, marks), anomaly_detection (no
		// marks) and classification.
		{"transformer_conv", with("transformer", conv), true, nil, false},
		{"transformer_conv_norm", with("transformer", func(c *Config) { conv(c); c.UseNorm = true }), false, nil, false},
		{"transformer_conv_rec", with("transformer", func(c *Config) { conv(c); rec(c) }), true, xImp, false},
		{"transformer_conv_ad", with("transformer", func(c *Config) { conv(c); rec(c) }), false, nil, false},
		{"transformer_conv_cls", with("transformer", func(c *Config) { conv(c); cls(c) }), false, nil, false},
		// TSLib PatchTST's imputation, normalised by the observed entries.
		{"patchtst_imp", with("patchtst", func(c *Config) { patches(c); rec(c) }), false, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			st := State(m) // parameters, then buffers (PatchTST's running statistics)
			for _, p := range st {
				want := get(c.name + "." + p.Name)
				if !tensor.EqualShape(want.Shape(), p.Shape()) {
					t.Fatalf("%s is %v, PyTorch %v", p.Name, p.Shape(), want.Shape())
				}
				p.Value = want
			}
			stored := 0
			for _, name := range f.Names() {
				if strings.HasPrefix(name, c.name+".") && name != c.name+".out" {
					stored++
				}
			}
			if stored != len(st) {
				t.Fatalf("the fixture holds %d tensors, the loom model %d", stored, len(st))
			}
			in := x
			if c.in != nil {
				in = c.in
			}
			var got *tensor.Tensor
			switch {
			case c.cfg.Task == TaskClassification:
				autograd.NoGrad(func() {
					got = m.(Classifier).Classify(nil, autograd.Const(xCls), mask).Value.Contiguous()
				})
			case c.impute:
				autograd.NoGrad(func() {
					got = m.(Imputer).Impute(nil, autograd.Const(xImp), nil, maskImp).Value.Contiguous()
				})
			case c.marks:
				got = forward(t, m, in, mark)
			default:
				got = forward(t, m, in, nil)
			}
			want := get(c.name + ".out")
			if !tensor.EqualShape(got.Shape(), want.Shape()) {
				t.Fatalf("output %v, PyTorch %v", got.Shape(), want.Shape())
			}
			d := maxDiff(got, want)
			t.Logf("max |Δ| %.3g (max |y| %.3g)", d, maxAbs(want))
			if d > 2e-5*(1+maxAbs(want)) {
				t.Errorf("max |Δ| %.3g against PyTorch", d)
			}
		})
	}
}

func maxAbs(t *tensor.Tensor) float64 {
	var m float64
	for _, v := range t.Float64s() {
		m = max(m, v, -v)
	}
	return m
}
