package moefy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TestBalancedKMeans: four well-separated blobs of 8 points are found
// exactly; uneven blobs still give clusters of equal size, at a cost no
// higher than a random balanced assignment's.
func TestBalancedKMeans(t *testing.T) {
	rng := tensor.NewRNG(1)
	const n, d, k = 32, 3, 4
	x := make([]float32, n*d)
	for i := range n {
		for j := range d {
			x[i*d+j] = float32(10*((i%k)*(j+1)%7)) + float32(rng.Normal()*0.1)
		}
	}
	labels := BalancedKMeans(x, n, d, k, tensor.NewRNG(2), 100)
	for i := range n {
		if labels[i] != labels[i%k] {
			t.Fatalf("point %d in cluster %d, its blob's first point in %d", i, labels[i], labels[i%k])
		}
	}
	// Uneven: 20 points near 0, 12 near 100.
	for i := range n {
		c := float32(0)
		if i >= 20 {
			c = 100
		}
		for j := range d {
			x[i*d+j] = c + float32(rng.Normal())
		}
	}
	labels = BalancedKMeans(x, n, d, k, tensor.NewRNG(3), 100)
	sizes := make([]int, k)
	for _, c := range labels {
		sizes[c]++
	}
	if !slices.Equal(sizes, []int{8, 8, 8, 8}) {
		t.Fatalf("cluster sizes %v", sizes)
	}
	perm := tensor.NewRNG(4).Perm(n)
	rand := make([]int, n)
	for i, p := range perm {
		rand[p] = i % k
	}
	if a, b := clusterCost(x, n, d, k, labels), clusterCost(x, n, d, k, rand); a > b {
		t.Errorf("cost %v above a random partition's %v", a, b)
	}
}

// TestEMoEAllExpertsEqualsDense: EMoE at k = E computes the dense model
// (every expert with weight 1 sums the dense FFN), in every layer or some;
// a Mixtral saved and loaded back computes the same.
func TestEMoEAllExpertsEqualsDense(t *testing.T) {
	dense, err := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.NumHiddenLayers = 3 }), 5)
	if err != nil {
		t.Fatal(err)
	}
	ids := decodertest.IDs(12, dense.Config.VocabSize)
	want := decodertest.Logits(t, dense, ids)
	for _, layers := range [][]int{nil, {0, 1, 2}, {0, 2}} {
		for _, method := range []string{"emoe", "random"} {
			m, rep, err := Convert(dense, Options{Method: method, Experts: 4, TopK: 4, Layers: layers, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			got := decodertest.Logits(t, m, ids)
			if d := decodertest.MaxDiff(want, got); d > 1e-5 {
				t.Errorf("%s %v: logits differ from the dense model's by %g", method, layers, d)
			}
			if len(rep.Layers) != max(len(layers), 1) || rep.Router != nn.RouterKeys {
				t.Errorf("report %+v", rep)
			}
			dir := filepath.Join(t.TempDir(), "m")
			if err := convert.Save(m, dir); err != nil {
				t.Fatal(err)
			}
			back, err := convert.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			decodertest.EqualLogits(t, "reloaded", got, decodertest.Logits(t, back, ids))
		}
	}
	// At k < E the output changes, and the mixture exports only with a
	// learned router in every layer.
	m, _, err := Convert(dense, Options{Method: "emoe", Experts: 4, TopK: 1, Layers: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	if decodertest.MaxDiff(want, decodertest.Logits(t, m, ids)) == 0 {
		t.Error("k = 1 of 4 gives the dense logits")
	}
	if m.Config.CheckExport(decoder.HF) == nil {
		t.Error("EMoE's key-gated mixture exports as Mixtral")
	}
	m, _, err = Convert(dense, Options{Method: "emoe", Experts: 4, TopK: 2, Layers: []int{0, 1, 2}, Router: nn.RouterSoftmax})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Config.CheckExport(decoder.HF); err != nil {
		t.Errorf("a fully converted mixture with a learned router: %v", err)
	}
}

func TestConvertErrors(t *testing.T) {
	dense, _ := decoder.New(decodertest.TinyConfig(nil), 5)
	mix, _ := decoder.New(decodertest.MixtralConfig(nil), 5)
	for _, tc := range []struct {
		m    *decoder.Model
		o    Options
		want string
	}{
		{dense, Options{Method: "emoe", Experts: 4, TopK: 5}, "--top-k 5 with 4 experts"},
		{dense, Options{Method: "emoe", Experts: 0, TopK: 1}, "--experts 0"},
		{dense, Options{Method: "emoe", Experts: 5, TopK: 1}, "--experts 5 does not divide layer 0's 64 hidden units"},
		{dense, Options{Method: "emoe", Experts: 4, TopK: 1, Layers: []int{7}}, "--layers: layer 7 of a 2-layer model"},
		{dense, Options{Method: "kmedoids", Experts: 4, TopK: 1}, "--method"},
		{mix, Options{Method: "emoe", Experts: 4, TopK: 1}, "already a mixture"},
	} {
		if _, _, err := Convert(tc.m, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
	// A layer whose FFN was removed.
	c := decodertest.TinyConfig(func(c *decoder.Config) { c.Loom.Removed = &decoder.Removed{FFN: []int{1}} })
	pruned, err := decoder.New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Convert(pruned, Options{Method: "emoe", Experts: 4, TopK: 1, Layers: []int{1}}); err == nil || !strings.Contains(err.Error(), "layer 1 has no feed-forward network") {
		t.Errorf("removed FFN: %v", err)
	}
}
