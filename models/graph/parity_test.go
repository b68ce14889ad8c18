package graph

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// The PyTorch fixtures come from testdata/gen_gt.py (PyTorch 1.13,
// float32), written from the official Graph Transformer code.

// parityTol bounds |loom − PyTorch| relative to max(1, max |PyTorch|).
const parityTol = 1e-5

func openFixture(t *testing.T) *safetensors.File {
	t.Helper()
	f, err := safetensors.Open("testdata/gt.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func fixture(t *testing.T, f *safetensors.File, name string) *tensor.Tensor {
	t.Helper()
	data, shape, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return tensor.FromFloat32(data, shape...)
}

func ints(t *testing.T, f *safetensors.File, name string) []int {
	var out []int
	for _, v := range fixture(t, f, name).F32() {
		out = append(out, int(v))
	}
	return out
}

// fixtureBatch is the fixture's batch of three graphs (one without edges).
func fixtureBatch(t *testing.T, f *safetensors.File) *Batch {
	graphOf := ints(t, f, "graph.graph_of")
	b := &Batch{
		Nodes: len(graphOf), NodeFeat: ints(t, f, "graph.node_feat"), F: 1,
		Src: ints(t, f, "graph.src"), Dst: ints(t, f, "graph.dst"), EdgeFeat: ints(t, f, "graph.edge_feat"), Fe: 1,
		GraphOf: graphOf,
	}
	b.Graphs = graphOf[len(graphOf)-1] + 1
	b.Offsets = make([]int, b.Graphs+1)
	for _, g := range graphOf {
		b.Offsets[g+1]++
	}
	for g := range b.Graphs {
		b.Offsets[g+1] += b.Offsets[g]
	}
	return b
}

// compare checks got against the fixture want and logs the difference.
func compare(t *testing.T, what string, got, want *tensor.Tensor) {
	t.Helper()
	if got == nil {
		got = tensor.ZerosLike(want)
	}
	if !tensor.EqualShape(got.Shape(), want.Shape()) {
		t.Fatalf("%s: shape %v, PyTorch %v", what, got.Shape(), want.Shape())
	}
	scale := 1.0
	var worst float64
	w := want.Float64s()
	for i, v := range got.Float64s() {
		scale = max(scale, math.Abs(w[i]))
		worst = max(worst, math.Abs(v-w[i]))
	}
	if !(worst <= parityTol*scale) {
		t.Errorf("%s: max |diff| %.3g from PyTorch (scale %.3g)", what, worst, scale)
	}
	t.Logf("%-40s max |diff| %.2g (scale %.3g)", what, worst, scale)
}

// TestGTLayerMatchesPyTorch runs one GraphTransformerLayer (width 16, 4
// heads) with BatchNorm and with LayerNorm on the fixture's batch: the
// training forward pass, the gradients of its inputs and parameters, the
// running estimates after it, and the evaluation forward pass.
func TestGTLayerMatchesPyTorch(t *testing.T) {
	f := openFixture(t)
	b := fixtureBatch(t, f)
	for _, c := range []struct{ name, norm string }{{"layer_bn", NormBatch}, {"layer_ln", NormLayer}} {
		t.Run(c.name, func(t *testing.T) {
			l := newGTLayer("", Config{Dim: 16, Heads: 4, Norm: c.norm}, tensor.NewRNG(1))
			for _, p := range l.Params() {
				p.Value = fixture(t, f, c.name+"."+p.Name)
			}
			h := autograd.Leaf(fixture(t, f, c.name+".h"))
			e := autograd.Leaf(fixture(t, f, c.name+".e"))
			ho, eo := l.Forward(&nn.Ctx{Train: true}, b, h, e)
			compare(t, "h_out", ho.Value, fixture(t, f, c.name+".h_out"))
			compare(t, "e_out", eo.Value, fixture(t, f, c.name+".e_out"))
			loss := autograd.Add(autograd.Sum(autograd.Mul(ho, autograd.Const(fixture(t, f, c.name+".gout_h"))), false),
				autograd.Sum(autograd.Mul(eo, autograd.Const(fixture(t, f, c.name+".gout_e"))), false))
			loss.Backward()
			compare(t, "grad h", h.Grad, fixture(t, f, c.name+".grad.h"))
			compare(t, "grad e", e.Grad, fixture(t, f, c.name+".grad.e"))
			for _, p := range l.Params() {
				compare(t, "grad "+p.Name, p.Grad, fixture(t, f, c.name+".grad."+p.Name))
			}
			for _, buf := range buffers(l) {
				compare(t, buf.Name, buf.Value, fixture(t, f, c.name+".running."+buf.Name))
			}
			if c.norm == NormBatch && len(buffers(l)) != 8 {
				t.Fatalf("%d buffers, want 8", len(buffers(l)))
			}
			ho, eo = l.Forward(nil, b, h, e)
			compare(t, "eval h_out", ho.Value, fixture(t, f, c.name+".eval_h_out"))
			compare(t, "eval e_out", eo.Value, fixture(t, f, c.name+".eval_e_out"))
		})
	}
}

// torchName is the reference's name of a Net parameter: one embedding
// table per feature there is the single table.
func torchName(name string) string {
	for _, p := range []string{"embedding_h", "embedding_e"} {
		if strings.HasPrefix(name, p+".0.") {
			return p + name[len(p)+2:]
		}
	}
	return name
}

// TestGTNetMatchesPyTorch runs the whole GraphTransformerNet of the
// fixture (2 layers, LapPE k = 3 given, BatchNorm, mean readout, the MLP
// head): training forward and parameter gradients, running estimates,
// then evaluation.
func TestGTNetMatchesPyTorch(t *testing.T) {
	f := openFixture(t)
	b := fixtureBatch(t, f)
	b.PE = fixture(t, f, "net.pe")
	m, err := New(Config{Arch: "gt", NodeVocab: []int{5}, EdgeVocab: []int{3}, Dim: 16, Heads: 4, Layers: 2, PEDim: 3,
		Norm: NormBatch, Readout: ReadoutMean, Out: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		p.Value = fixture(t, f, "net."+torchName(p.Name))
	}
	y := m.Forward(&nn.Ctx{Train: true, RNG: tensor.NewRNG(1)}, withoutFlips(t, m, b))
	compare(t, "out", y.Value, fixture(t, f, "net.out"))
	y.BackwardWith(fixture(t, f, "net.gout"))
	for _, p := range m.Params() {
		compare(t, "grad "+p.Name, p.Grad, fixture(t, f, "net.grad."+torchName(p.Name)))
	}
	for _, buf := range m.Buffers() {
		compare(t, buf.Name, buf.Value, fixture(t, f, "net.running."+buf.Name))
	}
	compare(t, "eval out", m.Forward(nil, b).Value, fixture(t, f, "net.eval_out"))
}

// withoutFlips turns m's sign flips off for the reference (which takes
// its LapPE as given) and returns b.
func withoutFlips(t *testing.T, m Model, b *Batch) *Batch {
	t.Helper()
	m.(*Net).cfg.NoSignFlip = true
	return b
}
