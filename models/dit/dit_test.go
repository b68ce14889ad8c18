package dit

import (
	"math"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

func tiny() Config {
	return Config{ImageSize: 8, Channels: 1, PatchSize: 2, Hidden: 32, Depth: 2, Heads: 4, MLPRatio: 4, Classes: 2,
		ClassDropout: 0.1, Diffusion: Schedule{Steps: 50}}
}

// TestPatchify: pixel (c, h, w) lands in token (h/P)·G + w/P at place
// ((h%P)·P + w%P)·C + c, as the official unpatchify reads it; Unpatchify
// inverts it.
func TestPatchify(t *testing.T) {
	c := tiny()
	c.Channels = 3
	m, err := New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandN(tensor.NewRNG(1), 2, 3, 8, 8)
	var p, back []float32
	autograd.NoGrad(func() {
		pv := m.Patchify(autograd.Const(x))
		p = pv.Value.Contiguous().F32()
		back = m.Unpatchify(pv).Value.Contiguous().F32()
	})
	xs := x.F32()
	for n := range 2 {
		for ch := range 3 {
			for h := range 8 {
				for w := range 8 {
					v := xs[((n*3+ch)*8+h)*8+w]
					tok, at := (h/2)*4+w/2, ((h%2)*2+w%2)*3+ch
					if p[(n*16+tok)*12+at] != v {
						t.Fatalf("pixel (%d, %d, %d, %d) not at token %d place %d", n, ch, h, w, tok, at)
					}
				}
			}
		}
	}
	for i := range xs {
		if back[i] != xs[i] {
			t.Fatal("Unpatchify does not invert Patchify")
		}
	}
}

// TestAdaLNZero: at initialisation every block is the identity and the
// model predicts 0, as adaLN-Zero makes it.
func TestAdaLNZero(t *testing.T) {
	m, err := New(tiny(), 2)
	if err != nil {
		t.Fatal(err)
	}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(3), 3, 1, 8, 8))
	autograd.NoGrad(func() {
		out := m.Forward(nil, x, []float64{0, 10, 49}, []int{0, 1, 2}).Value.F32()
		for _, v := range out {
			if v != 0 {
				t.Fatalf("output %v at initialisation, want 0", v)
			}
		}
	})
}

// TestTables: the position table and timestep frequencies follow
// models.py's formulas, and the linear schedule's ᾱ matches DDPM's.
func TestTables(t *testing.T) {
	pos := posEmbed2D(32, 4).F32()
	// token (row 1, column 2): first half from the column, second from the row.
	row := pos[(1*4+2)*32:]
	if math.Abs(float64(row[0])-math.Sin(2)) > 1e-6 || math.Abs(float64(row[8])-math.Cos(2)) > 1e-6 ||
		math.Abs(float64(row[16])-math.Sin(1)) > 1e-6 || math.Abs(float64(row[17])-math.Sin(1/math.Pow(10000, 1.0/8))) > 1e-6 {
		t.Errorf("position table row %v", row[:32])
	}
	f := timestepFreqs([]float64{7}).F32()
	if math.Abs(float64(f[0])-math.Cos(7)) > 1e-6 || math.Abs(float64(f[128])-math.Sin(7)) > 1e-6 ||
		math.Abs(float64(f[1])-math.Cos(7*math.Exp(-math.Log(10000)/128))) > 1e-6 {
		t.Errorf("timestep embedding %v … %v", f[:2], f[128:130])
	}
	ab := Schedule{Steps: 1000}.AlphaBars()
	// Π (1 − β_t) for β linear 1e-4 … 0.02: ᾱ_0 = 0.9999, ᾱ_999 ≈ 4.04e-5.
	if math.Abs(ab[0]-0.9999) > 1e-12 || math.Abs(ab[999]-4.04e-5) > 0.02e-5 {
		t.Errorf("ᾱ_0 %v, ᾱ_999 %v", ab[0], ab[999])
	}
	if b := (Schedule{Steps: 50}).Betas(); math.Abs(b[0]-2e-3) > 1e-12 || math.Abs(b[49]-0.4) > 1e-12 {
		t.Errorf("50-step betas %v … %v, want 1e-4·20 … 0.02·20", b[0], b[49])
	}
}

// TestTrains: on two classes of 8×8 images (a bright left or right
// half), the noise-prediction loss falls well below its value at
// initialisation (1, predicting 0), every parameter moves, and samples
// look like the data. (That the label steers the model is not asserted:
// after 800 steps the two label rows still barely differ — the loss with
// swapped labels equals the loss with the right ones to 4 digits — since
// the noisy image itself reveals its class at all but the highest noise.)
func TestTrains(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	m, err := New(tiny(), 4)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 16*64)
	y := make([]int, 16)
	for n := range 16 {
		y[n] = n % 2
		for h := range 8 {
			for w := range 8 {
				v := float32(-1)
				if (w < 4) == (y[n] == 0) {
					v = 1
				}
				x[n*64+h*8+w] = v
			}
		}
	}
	x0 := tensor.FromFloat32(x, 16, 1, 8, 8)
	before := map[*autograd.Var][]float32{}
	for _, p := range m.Params() {
		before[p] = append([]float32(nil), p.Value.F32()...)
	}
	opt := optim.NewAdam([]*optim.Group{{Params: m.Params(), LR: 1e-3}})
	rng := tensor.NewRNG(5)
	steps := 800
	var first, last float64
	for step := range steps {
		loss := m.Loss(&nn.Ctx{Train: true}, x0, y, rng)
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		if step < 20 {
			first += loss.Item() / 20
		}
		if step >= steps-20 {
			last += loss.Item() / 20
		}
	}
	if !(last < 0.6*first) {
		t.Errorf("loss %.3f → %.3f", first, last)
	}
	for p, b := range before {
		same := true
		for i, v := range p.Value.F32() {
			same = same && v == b[i]
		}
		if same {
			t.Errorf("%s did not train", p.Name)
		}
	}
	// Samples are images of the data's kind: pixels near ±1, the halves of
	// opposite signs.
	s := m.Sample([]int{0, 1, 0, 1}, 1, tensor.NewRNG(6)).F32()
	for n := range 4 {
		l, r, abs := 0.0, 0.0, 0.0
		for i := range 64 {
			v := float64(s[n*64+i])
			if math.IsNaN(v) {
				t.Fatal("NaN in a sample")
			}
			abs += math.Abs(v) / 64
			if i%8 < 4 {
				l += v
			} else {
				r += v
			}
		}
		if abs < 0.5 || abs > 1.5 || l*r >= 0 {
			t.Errorf("sample %d: mean |pixel| %.2f, halves %.1f and %.1f", n, abs, l, r)
		}
	}
}

// TestSamplerOracle: with the exact noise predictor of a one-image data
// set, ε*(x_t, t) = (x_t − √ᾱ_t·x*)/√(1−ᾱ_t), DDPM's sampler ends at x*.
func TestSamplerOracle(t *testing.T) {
	s := Schedule{Steps: 100}
	ab := s.AlphaBars()
	target := tensor.RandN(tensor.NewRNG(1), 2, 1, 4, 4).F32()
	got := s.Sample([]int{2, 1, 4, 4}, tensor.NewRNG(2), func(x *tensor.Tensor, step int) []float32 {
		xs := x.F32()
		e := make([]float32, len(xs))
		for i := range xs {
			e[i] = float32((float64(xs[i]) - math.Sqrt(ab[step])*float64(target[i])) / math.Sqrt(1-ab[step]))
		}
		return e
	}).F32()
	for i := range got {
		if math.Abs(float64(got[i]-target[i])) > 1e-3 {
			t.Fatalf("sample %v, the data point %v", got[:4], target[:4])
		}
	}
}
