package forecast

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/tensor"
)

func smallConfig(arch string, n int) Config {
	return Config{Arch: arch, Lookback: 24, Horizon: 8, Variates: n, Marks: 4, DModel: 16, DFF: 32, Heads: 4, Layers: 2,
		Dropout: 0.1, UseNorm: true, Seed: 3}
}

func forward(t *testing.T, m Model, x, marks *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	var y *autograd.Var
	autograd.NoGrad(func() {
		var mk *autograd.Var
		if marks != nil {
			mk = autograd.Const(marks)
		}
		y = m.Forward(nil, autograd.Const(x), mk)
	})
	return y.Value.Contiguous()
}

// permute returns x [B, L, N] with its variates reordered by perm.
func permute(x *tensor.Tensor, perm []int) *tensor.Tensor {
	B, L, N := x.Dim(0), x.Dim(1), x.Dim(2)
	out := tensor.New(tensor.Float32, B, L, N)
	for b := range B {
		for l := range L {
			for j, p := range perm {
				out.Set(x.At(b, l, p), b, l, j)
			}
		}
	}
	return out
}

// Permuting the input variates permutes iTransformer's forecast the same way.
func TestITransformerPermutationEquivariant(t *testing.T) {
	m, err := New(smallConfig("itransformer", 5))
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(1)
	x, marks := tensor.RandN(rng, 2, 24, 5), tensor.Uniform(rng, -0.5, 0.5, 2, 24, 4)
	perm := []int{3, 0, 4, 1, 2}
	y, yp := forward(t, m, x, marks), forward(t, m, permute(x, perm), marks)
	if d := maxDiff(permute(y, perm), yp); d > 1e-5 {
		t.Fatalf("permuted forecast differs by %g", d)
	}
}

// A model built for 5 variates forecasts 3 or 9 (variates are tokens).
func TestITransformerAnyVariateCount(t *testing.T) {
	m, _ := New(smallConfig("itransformer", 5))
	for _, n := range []int{1, 3, 9} {
		y := forward(t, m, tensor.RandN(tensor.NewRNG(uint64(n)), 2, 24, n), nil)
		if s := y.Shape(); s[0] != 2 || s[1] != 8 || s[2] != n {
			t.Fatalf("%d variates: forecast %v", n, s)
		}
	}
}

// With use_norm, scaling and shifting a variate scales and shifts its forecast.
func TestNormalisationIsAffineEquivariant(t *testing.T) {
	for _, arch := range []string{"itransformer", "transformer"} {
		m, _ := New(smallConfig(arch, 3))
		x := tensor.RandN(tensor.NewRNG(5), 1, 24, 3)
		y := forward(t, m, x, nil)
		x2 := x.Clone()
		for l := range 24 {
			x2.Set(x.At(0, l, 1)*7+100, 0, l, 1)
		}
		y2 := forward(t, m, x2, nil)
		for s := range 8 {
			if d := math.Abs(y2.At(0, s, 1) - (y.At(0, s, 1)*7 + 100)); d > 1e-3 {
				t.Fatalf("%s step %d: %v, want %v", arch, s, y2.At(0, s, 1), y.At(0, s, 1)*7+100)
			}
		}
	}
}

func TestDLinearAndNaive(t *testing.T) {
	c := smallConfig("dlinear", 2)
	c.Kernel = 5
	m, _ := New(c)
	dl := m.(*DLinear)
	x := tensor.RandN(tensor.NewRNG(6), 1, 24, 2)
	// Reference: seasonal and trend by hand.
	y := forward(t, m, x, nil)
	for v := range 2 {
		trend := make([]float64, 24)
		for tt := range 24 {
			for j := tt - 2; j <= tt+2; j++ {
				trend[tt] += x.At(0, min(max(j, 0), 23), v) / 5
			}
		}
		for s := range 8 {
			want := dl.Seasonal.Bias.Value.At(s) + dl.Trend.Bias.Value.At(s)
			for tt := range 24 {
				want += dl.Seasonal.Weight.Value.At(s, tt)*(x.At(0, tt, v)-trend[tt]) + dl.Trend.Weight.Value.At(s, tt)*trend[tt]
			}
			if math.Abs(y.At(0, s, v)-want) > 1e-5 {
				t.Fatalf("DLinear step %d variate %d: %v, want %v", s, v, y.At(0, s, v), want)
			}
		}
	}
	n, _ := New(smallConfig("naive", 2))
	yn := forward(t, n, x, nil)
	for s := range 8 {
		if yn.At(0, s, 1) != x.At(0, 23, 1) {
			t.Fatal("naive does not repeat the last value")
		}
	}
}

// sines is a synthetic hourly CSV of two noisy sine waves.
func sines(rows int) string {
	var b strings.Builder
	b.WriteString("date,a,OT\n")
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	r := tensor.NewRNG(9)
	for i := range rows {
		a := math.Sin(float64(i)*2*math.Pi/24) + 0.1*r.Normal()
		o := math.Cos(float64(i)*2*math.Pi/12) + 0.1*r.Normal()
		b.WriteString(start.Add(time.Duration(i)*time.Hour).Format(time.DateTime) + "," + ftoa(a) + "," + ftoa(o) + "\n")
	}
	return b.String()
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

// Every architecture learns the sines better than repeating the last value.
func TestFitLearnsSines(t *testing.T) {
	f, err := series.ReadCSV(strings.NewReader(sines(1200)), "sines.csv")
	if err != nil {
		t.Fatal(err)
	}
	d, err := series.Prepare(f, series.Spec{Lookback: 24, Horizon: 8})
	if err != nil {
		t.Fatal(err)
	}
	naive, _ := New(Defaults("naive", d))
	base, _ := Fit(naive, d, FitOptions{})
	for _, arch := range []string{"itransformer", "transformer", "dlinear"} {
		c := Defaults(arch, d)
		if arch != "dlinear" {
			c.DModel, c.DFF, c.Heads = 16, 32, 4
		}
		m, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		lr := DefaultLR(arch) * 10
		res, err := Fit(m, d, FitOptions{Epochs: 4, LR: lr})
		if err != nil {
			t.Fatal(err)
		}
		if !(res.Test.MSE < 0.5*base.Test.MSE) || res.BestEpoch < 1 {
			t.Errorf("%s: test MSE %.4f vs naive %.4f (best epoch %d, val %v)", arch, res.Test.MSE, base.Test.MSE, res.BestEpoch, res.ValLoss)
		}
	}
}

func maxDiff(a, b *tensor.Tensor) float64 {
	var m float64
	bv := b.Float64s()
	for i, v := range a.Float64s() {
		m = math.Max(m, math.Abs(v-bv[i]))
	}
	return m
}
