package timeseries

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/tensor"
)

func sineFrame(T int) *series.Frame {
	f := &series.Frame{Name: "sines.csv", Columns: []string{"a", "b"}}
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range T {
		f.Dates = append(f.Dates, t0.Add(time.Duration(i)*time.Hour))
		f.Values = append(f.Values, []float64{math.Sin(2 * math.Pi * float64(i) / 24), math.Cos(2*math.Pi*float64(i)/12) + 0.01*float64(i%7)})
	}
	return f
}

// Interpolation is exact on a straight line and fills the ends with the
// nearest observed value.
func TestInterpolate(t *testing.T) {
	x := tensor.FromFloat64([]float64{0, 1, 2, 3, 4, 5}, 1, 6, 1)
	mask := tensor.FromFloat64([]float64{0, 1, 0, 0, 1, 0}, 1, 6, 1)
	got := interpolate(x, mask)
	want := []float64{1, 1, 2, 3, 4, 4}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("interpolated %v, want %v", got, want)
		}
	}
}

// RandomMask hides about the ratio asked, the same entries for the same
// seed.
func TestRandomMask(t *testing.T) {
	m := RandomMask(tensor.NewRNG(4), 0.25, 40, 96, 7)
	miss := 0
	for _, v := range m.Float64s() {
		if v == 0 {
			miss++
		}
	}
	frac := float64(miss) / float64(40*96*7)
	if math.Abs(frac-0.25) > 0.01 {
		t.Fatalf("%.4f of entries masked", frac)
	}
	if !slices.Equal(m.F32(), RandomMask(tensor.NewRNG(4), 0.25, 40, 96, 7).F32()) {
		t.Fatal("masks of one seed differ")
	}
}

// Every backbone learns to fill masked entries of two seasonal series
// within seconds: better than the training mean (0 after scaling, MSE
// about 1), and iTransformer, DLinear and PatchTST better than linear
// interpolation at half the entries masked (where gaps span several steps
// of a curve; the temporal-token Transformer, whose tokens see one step
// each, needs longer). The masked errors are computed on the same masks
// for every model.
func TestFitImputer(t *testing.T) {
	d, err := series.Prepare(sineFrame(1000), series.Spec{Lookback: 48, Horizon: 1, Split: "0.7,0.1,0.2"})
	if err != nil {
		t.Fatal(err)
	}
	lin, err := FitImputer(d, ImputeOptions{Arch: "linear", MaskRatio: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if lin.Test.Masked == 0 || lin.Test.MSE <= 0 {
		t.Fatalf("interpolation %+v", lin.Test)
	}
	for _, arch := range []string{"transformer", "itransformer", "dlinear", "patchtst"} {
		r, err := FitImputer(d, ImputeOptions{Arch: arch, MaskRatio: 0.5, DModel: 16, Heads: 2, Layers: 1, Epochs: 6, Batch: 32, LR: 3e-3, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: test MSE %.4f MAE %.4f (interpolation %.4f %.4f), %d masked, epoch %d", arch, r.Test.MSE, r.Test.MAE, lin.Test.MSE, lin.Test.MAE, r.Test.Masked, r.BestEpoch)
		if r.Test.Masked != lin.Test.Masked {
			t.Errorf("%s: %d masked entries, interpolation %d: the masks differ", arch, r.Test.Masked, lin.Test.Masked)
		}
		if !(r.Test.MSE < 0.5) {
			t.Errorf("%s: test MSE %.4f, not below half the mean-fill's", arch, r.Test.MSE)
		}
		if arch != "transformer" && !(r.Test.MSE < lin.Test.MSE) {
			t.Errorf("%s: test MSE %.4f, not below interpolation's %.4f", arch, r.Test.MSE, lin.Test.MSE)
		}
	}
	if _, err := FitImputer(d, ImputeOptions{Arch: "dlinear", MaskRatio: 1}); err == nil {
		t.Error("mask ratio 1 accepted")
	}
}
