package dit

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

func mobModel(t *testing.T, active int) *Model {
	t.Helper()
	c := Config{ImageSize: 8, Channels: 1, PatchSize: 2, Hidden: 32, Depth: 4, Heads: 4, MLPRatio: 2, Classes: 2,
		Diffusion: Schedule{Steps: 50}, MoB: &MoBConfig{Group: 2, Active: active}}
	m, err := New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range m.Blocks { // open adaLN-Zero's gates
		b.Ada.Weight.Value = tensor.Normal(tensor.NewRNG(uint64(10+i)), 0, 0.3, b.Ada.Weight.Shape()...)
	}
	m.FinalOut.Weight.Value = tensor.Normal(tensor.NewRNG(3), 0, 0.3, m.FinalOut.Weight.Shape()...)
	// A conditioning that varies with the timestep (DiT's init keeps it tiny).
	m.TEmb1.Weight.Value = tensor.Normal(tensor.NewRNG(5), 0, 0.3, m.TEmb1.Weight.Shape()...)
	m.TEmb2.Weight.Value = tensor.Normal(tensor.NewRNG(6), 0, 0.3, m.TEmb2.Weight.Shape()...)
	for g, r := range m.MoB { // routers that disagree between images
		r.X.Weight.Value = tensor.Normal(tensor.NewRNG(uint64(20+g)), 0, 3, r.X.Weight.Shape()...)
		r.C.Weight.Value = tensor.Normal(tensor.NewRNG(uint64(30+g)), 0, 3, r.C.Weight.Shape()...)
	}
	return m
}

// TestMoBRouting: each image runs exactly the blocks its group routers
// pick (checked image by image, by hand), the others skipped; with every
// block active the model is the plain DiT.
func TestMoBRouting(t *testing.T) {
	m := mobModel(t, 1)
	const N = 6
	x := tensor.RandN(tensor.NewRNG(4), N, 1, 8, 8)
	ts := []float64{1, 7, 13, 21, 30, 44}
	ys := []int{0, 1, 2, 0, 1, 2}
	var got []float32
	autograd.NoGrad(func() { got = m.Forward(nil, autograd.Const(x), ts, ys).Value.Contiguous().F32() })
	if m.MoBStats.Total != N*4 || m.MoBStats.Skipped != N*2 {
		t.Errorf("skipped %d of %d block runs, want %d of %d", m.MoBStats.Skipped, m.MoBStats.Total, N*2, N*4)
	}
	per := 64
	chosen := map[int]bool{}
	for n := range N {
		xn := autograd.Const(tensor.FromFloat32(x.F32()[n*per:(n+1)*per], 1, 1, 8, 8))
		var want []float32
		autograd.NoGrad(func() {
			H := m.Cfg.Hidden
			h := autograd.Add(m.Patch.Forward(m.Patchify(xn)), autograd.Const(m.pos))
			temb := m.TEmb2.Forward(autograd.Silu(m.TEmb1.Forward(autograd.Const(timestepFreqs(ts[n : n+1])))))
			cond := autograd.Add(temb, autograd.Reshape(m.YEmb.Forward(ys[n:n+1], 1, 1), 1, H))
			sc := autograd.Silu(cond)
			for g, r := range m.MoB {
				s := autograd.Add(r.X.Forward(autograd.Mean(h, false, 1)), r.C.Forward(cond)).Value.F32()
				j := 0
				if s[1] > s[0] {
					j = 1
				}
				chosen[g*2+j] = true
				h = m.block(nil, m.Blocks[g*2+j], h, sc)
			}
			fm := autograd.Split(m.FinalAda.Forward(sc), 1, H, H)
			want = m.Unpatchify(m.FinalOut.Forward(modulate(layerNorm(h), fm[0], fm[1]))).Value.Contiguous().F32()
		})
		for i := range want {
			if math.Abs(float64(want[i]-got[n*per+i])) > 1e-5 {
				t.Fatalf("image %d: output %d is %v, running its chosen blocks alone gives %v", n, i, got[n*per+i], want[i])
			}
		}
	}
	if len(chosen) < 3 {
		t.Errorf("the routers chose only blocks %v for every image: the test does not exercise routing", chosen)
	}
	// Every block active: the plain DiT.
	all := mobModel(t, 2)
	plain := *all
	plain.MoB = nil
	var a, b []float32
	autograd.NoGrad(func() {
		a = all.Forward(nil, autograd.Const(x), ts, ys).Value.Contiguous().F32()
		b = plain.Forward(nil, autograd.Const(x), ts, ys).Value.Contiguous().F32()
	})
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			t.Fatal("with every block active the output differs from the plain DiT's")
		}
	}
}

// TestMoBTrains: in training the routers get gradients through the
// straight-through scale, and a MoB model saves and loads.
func TestMoBTrains(t *testing.T) {
	m := mobModel(t, 1)
	for g, r := range m.MoB { // unsaturated routers (large scores leave p = 1 and no gradient)
		r.X.Weight.Value = tensor.Normal(tensor.NewRNG(uint64(40+g)), 0, 0.05, r.X.Weight.Shape()...)
		r.C.Weight.Value = tensor.Normal(tensor.NewRNG(uint64(50+g)), 0, 0.05, r.C.Weight.Shape()...)
	}
	loss := m.Loss(&nn.Ctx{Train: true}, tensor.RandN(tensor.NewRNG(5), 4, 1, 8, 8), []int{0, 1, 0, 1}, tensor.NewRNG(6))
	loss.Backward()
	for _, r := range m.MoB {
		nz := false
		if g := r.X.Weight.Grad; g != nil {
			for _, v := range g.F32() {
				nz = nz || v != 0
			}
		}
		if !nz {
			t.Fatalf("router %s got no gradient", r.X.Weight.Name)
		}
	}
	dir := filepath.Join(t.TempDir(), "mob")
	if err := Save(m, dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(7), 2, 1, 8, 8))
	var a, b []float32
	autograd.NoGrad(func() {
		a = m.Forward(nil, x, []float64{3, 9}, []int{0, 1}).Value.F32()
		b = back.Forward(nil, x, []float64{3, 9}, []int{0, 1}).Value.F32()
	})
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("the MoB model differs after saving and loading")
		}
	}
	if err := (MoBConfig{Group: 3, Active: 1}).Validate(4); err == nil {
		t.Error("groups of 3 over 4 blocks accepted")
	}
}
