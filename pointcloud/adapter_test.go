package pointcloud

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

const (
	tB, tG, tD = 2, 5, 4 // batch, point tokens, width of the adapter tests
	tOff       = 1       // a CLS token
)

// toyBlock is a block holding an FFN under a Hugging-Face-style name.
type toyBlock struct{ MLP nn.FFN }

func (b *toyBlock) Params() []*autograd.Var { return b.MLP.Params() }

type toyModel struct{ Layers []*toyBlock }

func (m *toyModel) Params() []*autograd.Var {
	var ps []*autograd.Var
	for _, l := range m.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

func newToyModel(t *testing.T, layers int, r *tensor.RNG) *toyModel {
	t.Helper()
	m := &toyModel{}
	for i := range layers {
		f, err := nn.NewFFN("mlp", nn.FFNConfig{Prefix: fmt.Sprintf("layers.%d.mlp", i), Dim: tD, Hidden: 6, Act: "gelu", Bias: true, Init: nn.Init{RNG: r, Std: 0.5}})
		if err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, &toyBlock{MLP: f})
	}
	return m
}

// testGeometry groups a random batch of tB clouds of tG tokens.
func testGeometry(r *tensor.RNG, c GeometryConfig) *Geometry {
	centres := tensor.RandN(r, tB, tG, 3)
	_, lines := NewVirtualProjection(tensor.RandN(r, 8, tD), AxisModelNet).Encode(centres)
	geo := NewGeometry(c)
	geo.Set(centres, lines)
	return geo
}

func newTestAdapter(t *testing.T, r *tensor.RNG, geo *Geometry, c AdapterConfig) (*GuidedAdapter, *ViewAttention) {
	t.Helper()
	views, err := NewViewAttention(ViewAttentionConfig{Dim: tD, Views: 6, Width: 4, Heads: 2}, nn.Init{RNG: r, Std: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	m := newToyModel(t, 1, r)
	a, err := NewGuidedAdapter("layers.0.mlp", m.Layers[0].MLP, tD, geo, views, c, r)
	if err != nil {
		t.Fatal(err)
	}
	return a, views
}

// The default initialisation is the identity: the wrapped FFN's output,
// exactly; the official one is not. Training can start: the up-projection
// and the 1-D out-transforms get gradients at once.
func TestGuidedAdapterStartsAtIdentity(t *testing.T) {
	for _, official := range []bool{false, true} {
		r := tensor.NewRNG(1)
		geo := testGeometry(r, GeometryConfig{Offset: tOff, VoxelSize: 1, LineCells: 2})
		a, _ := newTestAdapter(t, r, geo, AdapterConfig{Bottleneck: 2, Scale: 0.3, Guide: 0.5, Official: official})
		x := autograd.Const(tensor.RandN(r, tB, tOff+tG, tD))
		out := a.Forward(x)
		d := maxDiff(out.Value.Float64s(), a.Inner.Forward(x).Value.Float64s())
		if !official && d != 0 {
			t.Fatalf("default init: adapter changes the FFN's output by %g", d)
		}
		if official && d < 1e-3 {
			t.Fatalf("official init: adapter changes the FFN's output by only %g", d)
		}
		if official {
			continue
		}
		autograd.Sum(autograd.Mul(out, autograd.Const(tensor.RandN(r, out.Shape()...))), false).Backward()
		for _, p := range []*autograd.Var{a.Up.Weight, a.Out1D[0].Weight, a.Out1D[5].Bias} {
			if p.Grad == nil || maxDiff(p.Grad.Float64s(), make([]float64, p.Grad.Numel())) == 0 {
				t.Fatalf("%s has no gradient at the identity", p.Name)
			}
		}
	}
}

func TestGuidedAdapterGradCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		geo  GeometryConfig
		cfg  AdapterConfig
	}{
		{"voxels", GeometryConfig{Offset: tOff, VoxelSize: 1.5, LineCells: 2}, AdapterConfig{Bottleneck: 2, Scale: 0.3, Guide: 0.5, Official: true}},
		{"knn-maxmean-noCLS", GeometryConfig{KNN: 3, LineCells: 3}, AdapterConfig{Bottleneck: 3, Scale: 0.7, Guide: 0.3, MaxMean1D: true, Official: true}},
	} {
		r := tensor.NewRNG(2)
		geo := testGeometry(r, tc.geo)
		if geo.Local.Size < 2 || geo.Lines[0].Size < 2 {
			t.Fatalf("%s: groups of one token do not exercise the pooling", tc.name)
		}
		a, views := newTestAdapter(t, r, geo, tc.cfg)
		params := append(a.Params(), views.Params()...)
		perturbNorms(r, params)
		f, inputs := checkParams(tensor.RandN(r, tB, tc.geo.Offset+tG, tD), params, []any{a, views}, a.Forward)
		if err := autograd.GradCheck(f, inputs, autograd.CheckOptions{Float32Tol: 1e-4}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
}

// The guided part leaves the CLS token to the bottleneck: changing a point
// token does not change the CLS row's output, and the output is the same
// with the CLS token's row changed except at that row.
func TestGuidedAdapterOffset(t *testing.T) {
	r := tensor.NewRNG(3)
	geo := testGeometry(r, GeometryConfig{Offset: tOff, VoxelSize: 1.5, LineCells: 2})
	a, _ := newTestAdapter(t, r, geo, AdapterConfig{Bottleneck: 2, Scale: 0.3, Guide: 0.5, Official: true})
	x := tensor.RandN(r, tB, tOff+tG, tD)
	y := a.Forward(autograd.Const(x)).Value
	x2 := x.Clone()
	x2.Set(x.At(0, 0, 0)+1, 0, 0, 0) // the CLS token of cloud 0
	y2 := a.Forward(autograd.Const(x2)).Value
	for g := tOff; g < tOff+tG; g++ {
		for d := range tD {
			if y.At(0, g, d) != y2.At(0, g, d) {
				t.Fatalf("the CLS token changes point token %d", g)
			}
		}
	}
}

func TestApplyGuidedAdapters(t *testing.T) {
	r := tensor.NewRNG(4)
	m := newToyModel(t, 3, r)
	base := len(m.Params())
	geo := NewGeometry(GeometryConfig{Offset: 1, VoxelSize: 0.16})
	views, err := NewViewAttention(ViewAttentionConfig{Dim: tD, Views: 6, Width: 4, Heads: 2}, nn.Init{RNG: r, Std: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	n, err := ApplyGuidedAdapters(m, tD, geo, views, AdapterConfig{Bottleneck: 2, Scale: 0.3, Guide: 0.5}, 9)
	if err != nil || n != 3 {
		t.Fatalf("wrapped %d: %v", n, err)
	}
	ps := m.Params()
	trainable := nn.Trainable(ps)
	if len(ps)-len(trainable) != base {
		t.Fatalf("%d frozen parameters, want the model's %d", len(ps)-len(trainable), base)
	}
	for _, p := range trainable {
		if !strings.HasPrefix(p.Name, "layers.") || !strings.Contains(p.Name, ".mlp.guided_adapter.") {
			t.Fatalf("trainable parameter %q", p.Name)
		}
	}
	if _, err := nn.ParamMap(append(ps, views.Params()...)); err != nil {
		t.Fatal(err)
	}
	if got := nn.ModuleName(m.Layers[1].MLP); got != "layers.1.mlp" {
		t.Fatalf("wrapped module named %q", got)
	}
	wantViews := []string{"norm3.0.weight", "norm3.0.bias", "attn1.0.qkv.weight", "attn1.0.qkv.bias", "attn1.0.proj.weight", "attn1.0.proj.bias"}
	if got := names(views.Params()); !slices.Equal(got[:6], wantViews) || len(got) != 36 {
		t.Fatalf("view attention names %v", got)
	}
	// Without a batch set, the adapters are plain bottlenecks (the
	// identity at first).
	x := autograd.Const(tensor.RandN(r, 1, 3, tD))
	if d := maxDiff(m.Layers[0].MLP.Forward(x).Value.Float64s(), m.Layers[0].MLP.(*GuidedAdapter).Inner.Forward(x).Value.Float64s()); d != 0 {
		t.Fatalf("no geometry: output changed by %g", d)
	}
	if _, err := ApplyGuidedAdapters(m, tD, geo, views, AdapterConfig{Bottleneck: 2, FFNName: "ffn"}, 9); err == nil {
		t.Fatal("no error for a name that matches nothing")
	}
}
