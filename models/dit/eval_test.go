package dit

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// TestNoiseMSE: fixed draws are the same for every model and every call,
// and NoiseMSE is the mean squared error of the model's predictions on
// them, whatever the batch size.
func TestNoiseMSE(t *testing.T) {
	m := mobModel(t, 2)
	x := tensor.RandN(tensor.NewRNG(1), 5, 1, 8, 8)
	y := []int{0, 1, 0, 1, 2}
	d := FixedDraws(m.Cfg.Diffusion, x, y, 3, 7)
	d2 := FixedDraws(m.Cfg.Diffusion, x, y, 3, 7)
	if len(d.Y) != 15 || d.Y[5] != 0 || d.Y[9] != 2 {
		t.Fatalf("labels %v", d.Y)
	}
	for i, v := range d.Eps.F32() {
		if v != d2.Eps.F32()[i] || d.Xt.F32()[i] != d2.Xt.F32()[i] {
			t.Fatal("the same seed drew different noisings")
		}
	}
	var want float64
	autograd.NoGrad(func() {
		out := m.Forward(nil, autograd.Const(d.Xt), d.T, d.Y).Value.F32()
		for i, v := range out {
			e := float64(v - d.Eps.F32()[i])
			want += e * e
		}
	})
	want /= float64(d.Eps.Numel())
	calls := 0
	for _, b := range []int{15, 4, 1} {
		calls = 0
		got := m.NoiseMSE(d, b, func() { calls++ })
		if math.Abs(got-want) > 1e-6*want {
			t.Errorf("batch %d: MSE %v, want %v", b, got, want)
		}
		if calls != (15+b-1)/b {
			t.Errorf("batch %d: %d passes reported", b, calls)
		}
	}
}

// TestWithMoB: the copy with block routers has every weight of the
// original, and with every block active it computes what the original
// does; a model that already routes is refused.
func TestWithMoB(t *testing.T) {
	m := mobModel(t, 2)
	m.Cfg.MoB, m.MoB = nil, nil
	r, err := WithMoB(m, MoBConfig{Group: 2, Active: 2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(4), 3, 1, 8, 8))
	ts, ys := []float64{2, 20, 40}, []int{0, 1, 2}
	var a, b []float32
	autograd.NoGrad(func() {
		a = m.Forward(nil, x, ts, ys).Value.F32()
		b = r.Forward(nil, x, ts, ys).Value.F32()
	})
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			t.Fatalf("output %d: %v with routers of every block, %v without", i, b[i], a[i])
		}
	}
	r.Blocks[0].Ada.Weight.Value.F32()[0] += 1
	if m.Blocks[0].Ada.Weight.Value.F32()[0] == r.Blocks[0].Ada.Weight.Value.F32()[0] {
		t.Error("the copy shares its weights with the original")
	}
	if _, err := WithMoB(r, MoBConfig{Group: 2, Active: 1}, 3); err == nil {
		t.Error("a model that routes its blocks accepted")
	}
	if _, err := WithMoB(m, MoBConfig{Group: 3, Active: 1}, 3); err == nil {
		t.Error("groups of 3 over 4 blocks accepted")
	}
}

// TestGrid: panels side by side, pixel values mapped −1…1 to black…white,
// mismatched panels refused; WriteGrid leaves a PNG.
func TestGrid(t *testing.T) {
	a := tensor.Full(-1, 4, 1, 8, 8)
	b := tensor.Full(1, 4, 1, 8, 8)
	img, err := Grid([]*tensor.Tensor{a, b}, 2, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	// panel width: 2 cells of 8+2, plus the 8-pixel panel gap
	if got := img.GrayAt(2, 2).Y; got != 0 {
		t.Errorf("first panel's pixel %d, want 0", got)
	}
	if got := img.GrayAt(2+28, 2).Y; got != 255 {
		t.Errorf("second panel's pixel %d, want 255", got)
	}
	if _, err := Grid([]*tensor.Tensor{a, tensor.Full(0, 2, 1, 8, 8)}, 2, 2, 1); err == nil {
		t.Error("panels of different shapes accepted")
	}
	if err := WriteGrid(filepath.Join(t.TempDir(), "g.png"), []*tensor.Tensor{a}, 2, 2); err != nil {
		t.Error(err)
	}
}
