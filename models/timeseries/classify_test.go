package timeseries

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/loomml/loom/data/series"
)

func TestFillMissing(t *testing.T) {
	nan := math.NaN()
	got, err := FillMissing([]float64{nan, 1, nan, nan, 4, nan})
	if err != nil || !slices.Equal(got, []float64{1, 1, 2, 3, 4, 4}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := FillMissing([]float64{nan, nan}); err == nil {
		t.Fatal("all missing accepted")
	}
}

func TestStratifiedSplit(t *testing.T) {
	y := []int{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2}
	tr, va := stratifiedSplit(y, 3, 0.2, 1)
	if len(tr)+len(va) != len(y) || len(va) != 3 {
		t.Fatalf("train %v val %v", tr, va)
	}
	count := map[int]int{}
	for _, i := range va {
		count[y[i]]++
	}
	if count[0] != 1 || count[1] != 1 || count[2] != 1 {
		t.Fatalf("validation classes %v", count)
	}
	if tr2, _ := stratifiedSplit(y, 3, -1, 1); len(tr2) != len(y) {
		t.Fatal("no validation should keep every case")
	}
}

// toyTS writes n cases per class of two classes: a sine and a square wave
// of random phase, some of different lengths.
func toyTS(n int, seed int, ramps bool) string {
	var b strings.Builder
	b.WriteString("@problemName toy\n@univariate true\n@equalLength false\n@classLabel true sine square\n@data\n")
	for i := range 2 * n {
		L := 20 + (i+seed)%5
		phase := float64((i*7+seed*13)%17) / 17 * 2 * math.Pi
		for t := range L {
			v := math.Sin(2*math.Pi*float64(t)/10 + phase)
			switch {
			case ramps && i%2 == 1: // falling
				v = 0.3*v - float64(t)/10
			case ramps:
				v = 0.3*v + float64(t)/10
			case i%2 == 1:
				v = math.Copysign(1, v)
			}
			if t > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(v, 'g', 6, 64))
		}
		b.WriteString(map[bool]string{false: ":sine\n", true: ":square\n"}[i%2 == 1])
	}
	return b.String()
}

func TestClassSetsErrors(t *testing.T) {
	tr, _ := series.ReadTS(strings.NewReader("@problemName a\n@classLabel true x y\n@data\n1,2:x\n3,4:y\n"), "train.ts")
	te, _ := series.ReadTS(strings.NewReader("@problemName a\n@classLabel true x z\n@data\n1,2:z\n"), "test.ts")
	if _, _, err := ClassSets(tr, te); err == nil || !strings.Contains(err.Error(), `test.ts:4: class "z" is not one of the training file's [x y]`) {
		t.Fatalf("unknown class: %v", err)
	}
	te2, _ := series.ReadTS(strings.NewReader("@problemName a\n@classLabel true x\n@data\n1,2:3,4:x\n"), "test2.ts")
	if _, _, err := ClassSets(tr, te2); err == nil || !strings.Contains(err.Error(), "test2.ts has 2 dimensions, the training file train.ts 1") {
		t.Fatalf("dimensions: %v", err)
	}
}

func toySets(t *testing.T, ramps bool) (tr, te *ClassSet) {
	trF, err := series.ReadTS(strings.NewReader(toyTS(20, 1, ramps)), "train.ts")
	if err != nil {
		t.Fatal(err)
	}
	teF, err := series.ReadTS(strings.NewReader(toyTS(15, 2, ramps)), "test.ts")
	if err != nil {
		t.Fatal(err)
	}
	tr, te, err = ClassSets(trF, teF)
	if err != nil {
		t.Fatal(err)
	}
	return tr, te
}

// Every architecture learns rising against falling ramps (variable
// lengths, padded), and the nonlinear ones sine against square waves of
// random phase (DLinear, linear in its input, cannot), within a few
// seconds; 1-NN-DTW gets them; a saved classifier predicts the same after
// loading.
func TestClassifiersLearnToy(t *testing.T) {
	for _, ramps := range []bool{true, false} {
		tr, te := toySets(t, ramps)
		nn, p := NearestNeighbourFor(tr, DTWD, 0, 20)
		if acc := Accuracy(nn.PredictAll(te), te.Y); acc < 0.9 {
			t.Errorf("ramps %v: 1-NN-DTW (window %d%%): accuracy %.2f", ramps, p, acc)
		}
		for _, arch := range []string{"transformer", "itransformer", "dlinear", "patchtst"} {
			if arch == "dlinear" && !ramps {
				continue
			}
			testClassifierLearns(t, arch, ramps, tr, te)
		}
	}
}

func testClassifierLearns(t *testing.T, arch string, ramps bool, tr, te *ClassSet) {
	L := max(tr.MaxLen(), te.MaxLen())
	t.Run(fmt.Sprintf("%s-ramps-%v", arch, ramps), func(t *testing.T) {
		cl, res, err := FitClassifier(tr, L, ClassOptions{Arch: arch, DModel: 16, Heads: 2, Layers: 1, Epochs: 30, Batch: 8, LR: 3e-3, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		pred, err := cl.Predict(te)
		if err != nil {
			t.Fatal(err)
		}
		acc := Accuracy(pred, te.Y)
		t.Logf("%s: %d parameters, test accuracy %.2f (train %.2f, val %.2f, best epoch %d)", arch, res.Params, acc, res.TrainAcc, res.ValAcc, res.BestEpoch)
		if acc < 0.7 {
			t.Errorf("test accuracy %.2f, want ≥ 0.7", acc)
		}
		dir := filepath.Join(t.TempDir(), "m")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := cl.Save(dir, "train.ts"); err != nil {
			t.Fatal(err)
		}
		back, err := LoadClassifier(dir)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := back.Predict(te)
		if !slices.Equal(pred, again) {
			t.Fatal("loaded classifier predicts otherwise")
		}
	})
}
