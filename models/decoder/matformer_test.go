package decoder_test

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
)

func matformerConfig(ffn string) *decoder.Config {
	return decodertest.TinyConfig(func(c *decoder.Config) {
		c.Loom.FFN = ffn
		c.Loom.MatFormer = &decoder.MatFormer{Factor: 8}
		if ffn == "mlp" {
			c.HiddenAct = "gelu"
		}
	})
}

func TestMatFormerAtFullWidthIsDense(t *testing.T) {
	for _, ffn := range []string{"gated", "mlp"} {
		mc := matformerConfig(ffn)
		dc := *mc
		dc.Loom.MatFormer = nil
		mat, err := decoder.New(mc, 21)
		if err != nil {
			t.Fatal(err)
		}
		dense, _ := decoder.New(&dc, 21)
		if len(mat.Params()) != len(dense.Params()) {
			t.Fatalf("%s: %d params vs %d", ffn, len(mat.Params()), len(dense.Params()))
		}
		for i, p := range mat.Params() {
			if p.Name != dense.Params()[i].Name {
				t.Fatalf("%s: parameter %s named %s in the dense model", ffn, p.Name, dense.Params()[i].Name)
			}
		}
		decodertest.EqualLogits(t, ffn+" full width", decodertest.Logits(t, mat, decodertest.IDs(16, 50)), decodertest.Logits(t, dense, decodertest.IDs(16, 50)))
	}
}

func TestExtractEqualsMixNMatch(t *testing.T) {
	for _, ffn := range []string{"gated", "mlp"} {
		m, _ := decoder.New(matformerConfig(ffn), 22)
		for _, widths := range [][]int{{16, 64}, {8, 8}, {64, 32}} {
			if err := m.SetFFNWidths(widths); err != nil {
				t.Fatal(err)
			}
			mix := decodertest.Logits(t, m, decodertest.IDs(16, 50))
			sub, err := decoder.Extract(m, widths)
			if err != nil {
				t.Fatal(err)
			}
			decodertest.EqualLogits(t, "extracted", decodertest.Logits(t, sub, decodertest.IDs(16, 50)), mix)
			// The extracted model is ordinary: it saves and loads as one.
			dir := filepath.Join(t.TempDir(), "sub")
			if err := convert.Save(sub, dir); err != nil {
				t.Fatal(err)
			}
			back, err := convert.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if back.Config.Loom.MatFormer != nil {
				t.Fatal("extracted config still says matformer")
			}
			decodertest.EqualLogits(t, "reloaded extraction", decodertest.Logits(t, back, decodertest.IDs(16, 50)), mix)
			uniform := widths[0] == widths[1]
			if uniform != (back.Config.Loom.IntermediateSizes == nil) || (uniform && back.Config.IntermediateSize != widths[0]) {
				t.Fatalf("widths %v: intermediate_size %d, loom.intermediate_sizes %v", widths, back.Config.IntermediateSize, back.Config.Loom.IntermediateSizes)
			}
			if uniform && ffn == "gated" && len(back.Config.Unexportable(decoder.HF)) != 0 {
				t.Fatalf("uniform extraction flagged for HF: %v", back.Config.Unexportable(decoder.HF))
			}
			if mixed := back.Config.Unexportable(decoder.HF); !uniform && (len(mixed) == 0 || !strings.Contains(strings.Join(mixed, " "), "intermediate_sizes")) {
				t.Fatalf("per-layer widths not flagged for HF: %v", mixed)
			}
		}
		if err := m.SetFFNWidths([]int{64, 64}); err != nil {
			t.Fatal(err)
		}
	}
}

// The training objective sums the losses of d_ff, d_ff/2, d_ff/4 and
// d_ff/8, and hidden units beyond d_ff/2 get gradient only from the
// full-width pass.
func TestMatFormerTrainingLoss(t *testing.T) {
	m, _ := decoder.New(matformerConfig("gated"), 23)
	x, y := decodertest.IDs(16, 50), decodertest.IDs(17, 50)[1:]
	var want float64
	for _, w := range []int{64, 32, 16, 8} {
		m.SetFFNWidths([]int{w, w})
		autograd.NoGrad(func() { want += m.Loss(nil, batch1(x, y)).Item() })
	}
	m.SetFFNWidths([]int{64, 64})
	l := m.Loss(&nn.Ctx{Train: true}, batch1(x, y))
	if math.Abs(l.Item()-want) > 1e-5 {
		t.Fatalf("training loss %v, sum of the four losses %v", l.Item(), want)
	}
	if got := m.FFNWidths(); got[0] != 64 || got[1] != 64 {
		t.Fatalf("widths after the training loss: %v", got)
	}
	l.Backward()
	// Reference: only the full-width loss.
	ref, _ := decoder.New(matformerConfig("gated"), 23)
	ref.Loss(nil, batch1(x, y)).Backward()
	pm, _ := nn.ParamMap(m.Params())
	for _, p := range ref.Params() {
		if !strings.HasSuffix(p.Name, "layers.0.mlp.up_proj.weight") {
			continue
		}
		g, rg := pm[p.Name].Grad, p.Grad
		// Rows 32…63 of up_proj: full width only → equal gradients.
		for r := 32; r < 64; r++ {
			for c := range 32 {
				if g.At(r, c) != rg.At(r, c) {
					t.Fatalf("row %d: gradient %v, full-width-only %v", r, g.At(r, c), rg.At(r, c))
				}
			}
		}
		// Row 0 is in every granularity: it must differ.
		if g.At(0, 0) == rg.At(0, 0) {
			t.Fatal("row 0 got no gradient from the smaller granularities")
		}
	}
}

func TestMatFormerConfigErrors(t *testing.T) {
	for _, c := range []struct {
		mod  func(*decoder.Config)
		want string
	}{
		{func(c *decoder.Config) { c.Loom.MatFormer = &decoder.MatFormer{Factor: 3} }, "power of two"},
		{func(c *decoder.Config) { c.Loom.MatFormer = &decoder.MatFormer{Factor: 128} }, "does not divide"},
		{func(c *decoder.Config) { c.Loom.IntermediateSizes = []int{8} }, "one per layer"},
		{func(c *decoder.Config) { c.Loom.IntermediateSizes = []int{8, 0} }, "intermediate_sizes[1]"},
	} {
		if err := decodertest.TinyConfig(c.mod).Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, have %v", c.want, err)
		}
	}
	m, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	if err := m.SetFFNWidths([]int{8, 8}); err == nil || !strings.Contains(err.Error(), "matformer") {
		t.Errorf("Mix'n'Match on a dense model: %v", err)
	}
	mf, _ := decoder.New(matformerConfig("gated"), 1)
	if err := mf.SetFFNWidths([]int{8, 65}); err == nil || !strings.Contains(err.Error(), "layer 1") {
		t.Errorf("too wide: %v", err)
	}
	if _, err := decoder.Extract(m, []int{8, 100}); err == nil {
		t.Error("extracting a wider FFN than the model has")
	}
}

// batch1 is a batch of one row.
func batch1(x, y []int) data.Batch { return data.Batch{IDs: x, Targets: y, B: 1, T: len(x)} }
