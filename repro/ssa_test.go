package repro

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
)

// TestSSAVerdict checks ssaRule's judgement on made-up numbers.
func TestSSAVerdict(t *testing.T) {
	for _, c := range []struct {
		name        string
		dense, ssa  []float64
		share       float64
		want        string
		quality, ok bool
	}{
		{"both", []float64{2.0, 2.1, 2.2}, []float64{2.0, 2.1, 2.2}, 0.26, "reproduced", true, true},
		{"within noise", []float64{2.0, 2.1, 2.2}, []float64{2.1, 2.2, 2.3}, 0.26, "reproduced", true, true},
		{"worse", []float64{2.0, 2.01, 2.02}, []float64{2.2, 2.21, 2.22}, 0.26, "partial", false, true},
		{"costly", []float64{2.0, 2.1, 2.2}, []float64{2.0, 2.1, 2.2}, 0.6, "partial", true, false},
		{"neither", []float64{2.0, 2.01, 2.02}, []float64{2.2, 2.21, 2.22}, 0.6, "not reproduced", false, false},
	} {
		v, q, ok, _ := ssaVerdict(c.dense, c.ssa, c.share)
		if v != c.want || q != c.quality || ok != c.ok {
			t.Errorf("%s: %s (quality %v, cost %v), want %s (%v, %v)", c.name, v, q, ok, c.want, c.quality, c.ok)
		}
	}
}

// TestSSAEval: one dense pass of ssaEval is the model's cross-entropy on
// the window; the ensemble of subsampled passes is a different, finite
// loss; ssaData refuses a corpus too short for a window.
func TestSSAEval(t *testing.T) {
	s := ssaSettings{Seq: 200, Width: 32, Layers: 1, Heads: 2, Ratio: 0.25, Locality: 1, EvalWindows: 2}
	m, err := decoder.New(s.config(true, 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	text := make([]byte, 4000)
	for i := range text {
		text[i] = byte('a' + i*7%26)
	}
	_, val, err := ssaData(text, s)
	if err != nil || len(val) != 1 {
		t.Fatalf("ssaData: %d windows, %v", len(val), err)
	}
	var ce float64
	autograd.NoGrad(func() {
		w := val[0]
		ce = m.Loss(&nn.Ctx{}, data.Batch{IDs: w[:s.Seq], Targets: w[1:], B: 1, T: s.Seq}).Item()
	})
	if got := ssaEval(m, val, 1); math.Abs(got-ce) > 1e-5 {
		t.Fatalf("dense eval %v, cross-entropy %v", got, ce)
	}
	m.SSA().Ensemble = true
	if got := ssaEval(m, val, 2); math.IsNaN(got) || got == ce {
		t.Fatalf("ensemble eval %v (dense %v)", got, ce)
	}
	if _, _, err := ssaData(text[:300], s); err == nil {
		t.Fatal("a 300-byte corpus accepted for windows of 201 bytes")
	}
}
