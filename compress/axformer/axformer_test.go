package axformer

import (
	"math"
	"slices"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

func tinyBERT(t *testing.T, pre bool) *encoder.Model {
	t.Helper()
	pad := 0
	c := &encoder.Config{Architectures: []string{encoder.BertForSequenceClassification}, ModelType: encoder.TypeBERT,
		HiddenSize: 16, NumHiddenLayers: 3, NumAttentionHeads: 2, IntermediateSize: 32, HiddenAct: "gelu",
		InitializerRange: 0.2, LayerNormEps: 1e-12, VocabSize: 30, MaxPositionEmbeddings: 16, TypeVocabSize: 2,
		PositionEmbeddingType: "absolute", PadTokenID: &pad}
	c.SetLabels([]string{"a", "b", "c"})
	m, err := encoder.New(c, 7)
	if err != nil {
		t.Fatal(err)
	}
	if pre {
		for _, l := range m.Layers {
			l.(*encoder.Layer).Pre = true
		}
	}
	return m
}

func textBatch() encoder.Batch {
	ids := []int{2, 5, 9, 11, 3, 4, 7, 8, 1, 6, 12, 13, 14, 15, 0, 0, 0, 0}
	return encoder.Batch{B: 2, T: 9, IDs: ids, Lengths: []int{9, 5}, Labels: []int{1, 2}}
}

func logits(m *encoder.Model, b encoder.Batch) []float32 {
	var out []float32
	autograd.NoGrad(func() { out = m.Logits(nil, &b).Value.Float32s() })
	return out
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// The wrapped layers compute what encoder.Layer does; removing a whole
// layer equals deleting it; removing blocks drops their parameters.
func TestEncoderTarget(t *testing.T) {
	for _, pre := range []bool{false, true} {
		m := tinyBERT(t, pre)
		b := textBatch()
		want := logits(m, b)
		n0 := autograd.NumParams(m.Params())
		tg, err := NewEncoder(m)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(logits(m, b), want); d > 1e-6 {
			t.Fatalf("pre=%v: wrapped model differs by %g", pre, d)
		}
		restore, err := tg.Remove(Unit{WholeLayer, 1})
		if err != nil {
			t.Fatal(err)
		}
		got := logits(m, b)
		ref := tinyBERT(t, pre)
		ref.Layers = slices.Delete(ref.Layers, 1, 2)
		if d := maxDiff(got, logits(ref, b)); d > 1e-6 {
			t.Fatalf("pre=%v: removed layer differs from a deleted one by %g", pre, d)
		}
		if n := autograd.NumParams(m.Params()); n != autograd.NumParams(ref.Params()) {
			t.Fatalf("pre=%v: %d parameters with the layer removed, want %d", pre, n, autograd.NumParams(ref.Params()))
		}
		restore()
		if d := maxDiff(logits(m, b), want); d > 1e-6 || autograd.NumParams(m.Params()) != n0 {
			t.Fatalf("pre=%v: restore did not restore", pre)
		}
		if _, err := tg.Remove(Unit{FFNBlock, 0}); err != nil {
			t.Fatal(err)
		}
		ffn := 16*32 + 32 + 32*16 + 16 + 2*16 // up, down, norm
		if n := autograd.NumParams(m.Params()); n != n0-ffn {
			t.Fatalf("pre=%v: %d parameters without FFN 0, want %d", pre, n, n0-ffn)
		}
		if Sublayers(tg) != 5 {
			t.Fatalf("pre=%v: %d sublayers, want 5", pre, Sublayers(tg))
		}
	}
}

// Top-k attention equals dense attention when k covers every visible key,
// and keeps exactly k keys per query otherwise.
func TestTopK(t *testing.T) {
	cases := []struct {
		name    string
		kind    nn.MaskKind
		kvHeads int
		lens    []int
		rope    float64
	}{
		{"bidirectional padded", nn.Bidirectional, 0, []int{7, 4}, 0},
		{"causal GQA rotary", nn.Causal, 1, nil, 10000},
	}
	for _, c := range cases {
		init := nn.Init{RNG: tensor.NewRNG(3), Std: 0.3}
		a, err := nn.NewAttention(nn.AttentionConfig{Prefix: "a", Dim: 16, Heads: 2, KVHeads: c.kvHeads, Bias: true, Kind: c.kind, RopeTheta: c.rope, Init: init})
		if err != nil {
			t.Fatal(err)
		}
		x := autograd.Const(tensor.RandN(tensor.NewRNG(4), 2, 7, 16))
		ctx := &nn.Ctx{Mask: nn.Mask{KeyLengths: c.lens}}
		var dense, top []float32
		tk, err := NewTopK(a, 7)
		if err != nil {
			t.Fatal(err)
		}
		autograd.NoGrad(func() {
			dense = a.Forward(ctx, x).Value.Float32s()
			top = tk.Forward(ctx, x).Value.Float32s()
		})
		if d := maxDiff(dense, top); d > 1e-5 {
			t.Fatalf("%s: top-7 of 7 differs from dense by %g", c.name, d)
		}
		// Exactly min(k, visible) kept per query.
		q := tensor.RandN(tensor.NewRNG(5), 2, 2, 7, 8)
		k := tensor.RandN(tensor.NewRNG(6), 2, 2, 7, 8)
		for _, kk := range []int{1, 3} {
			m := TopKMask(q, k, c.lens, c.kind == nn.Causal, 0.3, kk).F32()
			for row := range 2 * 2 * 7 {
				b, ti := row/14, row%7
				vis := 7
				if c.lens != nil {
					vis = c.lens[b]
				}
				if c.kind == nn.Causal {
					vis = min(vis, ti+1)
				}
				kept := 0
				for _, v := range m[row*7 : row*7+7] {
					if v == 0 {
						kept++
					}
				}
				if kept != min(kk, vis) {
					t.Fatalf("%s: k=%d row %d keeps %d, want %d", c.name, kk, row, kept, min(kk, vis))
				}
			}
		}
	}
	if _, err := NewTopK(nil, 1); err == nil {
		t.Fatal("nil attention accepted")
	}
}

// toy is a Target whose validation score is a sum of per-element effects.
type toy struct {
	n       int
	removed map[Unit]bool
	effect  map[Unit]float64
	topk    []int
	kCost   func(k int) float64
}

func (y *toy) NumLayers() int { return y.n }
func (y *toy) Present(u Unit) bool {
	if u.Kind == WholeLayer {
		return !y.removed[Unit{AttentionBlock, u.Layer}] || !y.removed[Unit{FFNBlock, u.Layer}]
	}
	return !y.removed[u]
}
func (y *toy) Remove(u Unit) (func(), error) {
	us := []Unit{u}
	if u.Kind == WholeLayer {
		us = []Unit{{AttentionBlock, u.Layer}, {FFNBlock, u.Layer}}
	}
	old := map[Unit]bool{}
	for _, v := range us {
		old[v] = y.removed[v]
		y.removed[v] = true
	}
	return func() {
		for v, o := range old {
			y.removed[v] = o
		}
	}, nil
}
func (y *toy) SetTopK(l, k int) error { y.topk[l] = k; return nil }
func (y *toy) score() (float64, error) {
	s := 0.8
	for l := range y.n {
		a, f := y.removed[Unit{AttentionBlock, l}], y.removed[Unit{FFNBlock, l}]
		if a && f {
			s += y.effect[Unit{WholeLayer, l}]
			continue
		}
		if a {
			s += y.effect[Unit{AttentionBlock, l}]
		}
		if f {
			s += y.effect[Unit{FFNBlock, l}]
		}
	}
	for _, k := range y.topk {
		if k > 0 {
			s += y.kCost(k)
		}
	}
	return s, nil
}

// The accept rule: a removal is kept when the score does not drop.
func TestAcceptRule(t *testing.T) {
	cases := []struct {
		name    string
		effect  map[Unit]float64
		tol     float64
		removed []Unit
		topk    []int
	}{
		{"harmful layer and blocks", map[Unit]float64{
			{WholeLayer, 0}: -0.3, {WholeLayer, 1}: 0.02, {WholeLayer, 2}: -0.1,
			{AttentionBlock, 0}: 0.01, {FFNBlock, 0}: -0.05, {AttentionBlock, 2}: 0, {FFNBlock, 2}: -0.2},
			0, []Unit{{WholeLayer, 1}, {AttentionBlock, 0}, {AttentionBlock, 2}}, []int{0, 0, 0}},
		{"tolerance admits small drops", map[Unit]float64{
			{WholeLayer, 0}: -0.3, {WholeLayer, 1}: -0.005, {WholeLayer, 2}: -0.3,
			{AttentionBlock, 0}: -0.2, {FFNBlock, 0}: -0.2, {AttentionBlock, 2}: -0.2, {FFNBlock, 2}: -0.2},
			0.01, []Unit{{WholeLayer, 1}}, []int{4, 0, 4}},
	}
	for _, c := range cases {
		y := &toy{n: 3, removed: map[Unit]bool{}, effect: c.effect, topk: make([]int, 3), kCost: func(k int) float64 {
			if k >= 4 {
				return 0
			}
			return -0.05
		}}
		res, err := Prune(y, y.score, Options{Tolerance: c.tol, Ks: []int{4, 1, 2}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Removed, c.removed) {
			t.Fatalf("%s: removed %v, want %v", c.name, res.Removed, c.removed)
		}
		// Top-k: k = 4 is free, smaller k cost 0.05 (more than either
		// tolerance), so 4 is chosen wherever the attention remains.
		want := c.topk
		if c.tol == 0 {
			want = []int{0, 0, 0}
			for l := range 3 {
				if y.Present(Unit{AttentionBlock, l}) {
					want[l] = 4
				}
			}
		}
		if !slices.Equal(res.TopK, want) {
			t.Fatalf("%s: top-k %v, want %v", c.name, res.TopK, want)
		}
		if s, _ := y.score(); s != res.Final || res.Final < res.Base-c.tol*float64(len(res.Removed)+3) {
			t.Fatalf("%s: final %g, model scores %g, base %g", c.name, res.Final, s, res.Base)
		}
	}
	if _, err := Prune(&toy{n: 1}, func() (float64, error) { return 0, nil }, Options{Ks: []int{0}}); err == nil {
		t.Fatal("k = 0 accepted")
	}
	if _, err := Prune(&toy{n: 1}, func() (float64, error) { return 0, nil }, Options{Tolerance: -1}); err == nil {
		t.Fatal("negative tolerance accepted")
	}
}

// Run reads the test split once, after the last validation evaluation,
// on a real encoder.
func TestTestSplitUntouchedWhileChoosing(t *testing.T) {
	m := tinyBERT(t, false)
	tg, err := NewEncoder(m)
	if err != nil {
		t.Fatal(err)
	}
	b := textBatch()
	valReads, testReads, valAtTest := 0, 0, -1
	acc := func() float64 {
		l := logits(m, b)
		right := 0
		for i, y := range b.Labels {
			row := l[i*3 : i*3+3]
			if slices.Index(row, slices.Max(row)) == y {
				right++
			}
		}
		return float64(right) / float64(len(b.Labels))
	}
	val := func() (float64, error) {
		if testReads > 0 {
			t.Fatal("validation read after the test split")
		}
		valReads++
		return acc(), nil
	}
	test := func() (float64, error) {
		if valAtTest < 0 {
			valAtTest = valReads
		}
		testReads++
		return acc(), nil
	}
	res, err := Run(tg, val, test, Options{Ks: []int{1, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if testReads != 1 || valAtTest != valReads || res.Evals != valReads {
		t.Fatalf("test read %d times after %d of %d validation reads (%d evals)", testReads, valAtTest, valReads, res.Evals)
	}
	if res.Final < res.Base {
		t.Fatalf("validation score dropped: %g → %g", res.Base, res.Final)
	}
}

// On a decoder the score is minus the validation loss; removals drop the
// parameter count, and other layouts are refused.
func TestDecoder(t *testing.T) {
	m, err := decoder.New(decodertest.TinyConfig(nil), 5)
	if err != nil {
		t.Fatal(err)
	}
	r := tensor.NewRNG(9)
	ids := make([]int, 2*9)
	for i := range ids {
		ids[i] = r.Intn(m.Config.VocabSize)
	}
	b := data.Batch{IDs: ids[:16], Targets: ids[1:17], B: 2, T: 8}
	val := func() (float64, error) {
		var l float64
		autograd.NoGrad(func() { l = float64(m.Loss(nil, b).Value.Item()) })
		return -l, nil
	}
	tg, err := NewDecoder(m)
	if err != nil {
		t.Fatal(err)
	}
	dense, _ := val()
	for l := range tg.NumLayers() {
		if err := tg.SetTopK(l, 8); err != nil {
			t.Fatal(err)
		}
	}
	if s, _ := val(); math.Abs(s-dense) > 1e-5 {
		t.Fatalf("top-8 of 8 tokens: loss %g, dense %g", -s, -dense)
	}
	for l := range tg.NumLayers() {
		if err := tg.SetTopK(l, 0); err != nil {
			t.Fatal(err)
		}
	}
	n0 := autograd.NumParams(m.Params())
	res, err := Prune(tg, val, Options{Ks: []int{2, 8}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Final < res.Base {
		t.Fatalf("loss rose: %g → %g", -res.Base, -res.Final)
	}
	if len(res.Removed) > 0 && autograd.NumParams(m.Params()) >= n0 {
		t.Fatalf("removed %v but parameters %d ≥ %d", res.Removed, autograd.NumParams(m.Params()), n0)
	}
	if s, _ := val(); s != res.Final {
		t.Fatalf("model left at %g, result says %g", s, res.Final)
	}
	mac, err := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.Loom.Layout = "macaron" }), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewDecoder(mac); err == nil {
		t.Fatal("macaron layout accepted")
	}
}
