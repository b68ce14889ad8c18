package decoder_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
)

func ssaConfig(ratio float64, layout string) *decoder.Config {
	return decodertest.TinyConfig(func(c *decoder.Config) {
		c.MaxPositionEmbeddings = 320
		c.Loom.Layout = layout
		if ratio > 0 {
			c.Loom.SSA = &decoder.SSAOptions{Ratio: ratio, Seed: 3}
		}
	})
}

// ssaStep returns a training step's loss and gradients on a fixed batch
// of 2 × 300 tokens, and the logits of an evaluation pass.
func ssaStep(t *testing.T, m *decoder.Model) (float64, [][]float64, []float32) {
	t.Helper()
	B, T := 2, 300
	ids := decodertest.IDs(B*T+1, m.Config.VocabSize)
	b := data.Batch{IDs: ids[:B*T], Targets: ids[1:], B: B, T: T}
	loss := m.Loss(&nn.Ctx{Train: true}, b)
	loss.Backward()
	var grads [][]float64
	for _, p := range m.Params() {
		grads = append(grads, p.Grad.Float64s())
		p.Grad = nil
	}
	return loss.Item(), grads, decodertest.Logits(t, m, ids[:T])
}

// TestSSADecoder: loom.ssa with ratio 1 trains exactly as the dense model;
// with ratio 0.25 training differs while evaluation stays dense, Ensemble
// subsamples evaluation and Off makes training dense again; every layout's
// attention layers get the sampler.
func TestSSADecoder(t *testing.T) {
	dense, err := decoder.New(ssaConfig(0, ""), 1)
	if err != nil {
		t.Fatal(err)
	}
	dl, dg, de := ssaStep(t, dense)
	for _, c := range []struct {
		ratio  float64
		layout string
	}{{1, ""}, {0.25, ""}, {0.25, "postnorm"}} {
		m, err := decoder.New(ssaConfig(c.ratio, c.layout), 1)
		if err != nil {
			t.Fatal(err)
		}
		if c.layout != "" {
			if m.SSA() == nil {
				t.Fatalf("layout %s: no sampler attached", c.layout)
			}
			continue
		}
		l, g, e := ssaStep(t, m)
		if !slices.Equal(e, de) {
			t.Fatalf("ratio %v: evaluation is not dense", c.ratio)
		}
		same := l == dl
		for i := range g {
			same = same && slices.Equal(g[i], dg[i])
		}
		if c.ratio == 1 {
			if !same {
				t.Fatalf("ratio 1: loss %v, dense %v, or gradients differ", l, dl)
			}
			continue
		}
		if same {
			t.Fatalf("ratio %v trains exactly as dense attention", c.ratio)
		}
		if s, d := m.SSA().Pairs(); s <= 0 || float64(s) > 0.6*float64(d) {
			t.Fatalf("ratio %v: %d of %d pairs computed", c.ratio, s, d)
		}
		m.SSA().Ensemble = true
		if _, _, e := ssaStep(t, m); slices.Equal(e, de) {
			t.Fatal("Ensemble: evaluation is still dense")
		}
		m.SSA().Ensemble, m.SSA().Off = false, true
		if l, _, _ := ssaStep(t, m); l != dl {
			t.Fatalf("Off: loss %v, dense %v", l, dl)
		}
	}
	for _, bad := range []float64{-1, 1.5} {
		c := ssaConfig(0, "")
		c.Loom.SSA = &decoder.SSAOptions{Ratio: bad}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "loom.ssa.ratio") {
			t.Fatalf("ratio %v: error %v, want one naming loom.ssa.ratio", bad, err)
		}
	}
}
