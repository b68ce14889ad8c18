package sparse

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/decoder"
)

func model(t *testing.T, seed uint64) *decoder.Model {
	t.Helper()
	c := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 3, NumAttentionHeads: 4,
		NumKeyValueHeads: 2, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 64,
		MaxPositionEmbeddings: 32, InitializerRange: 0.2}
	m, err := decoder.New(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func snapshot(ts []Target) [][]float32 {
	out := make([][]float32, len(ts))
	for i, t := range ts {
		out[i] = slices.Clone(t.W)
	}
	return out
}

func abs32(v float32) float64 { return math.Abs(float64(v)) }

func TestPrune24(t *testing.T) {
	for _, tc := range []struct{ in, want []float32 }{
		{[]float32{1, -3, 2, 0.5}, []float32{0, -3, 2, 0}},
		{[]float32{1, 1, 1, 1}, []float32{0, 0, 1, 1}},
		{[]float32{0, 0, 0, 5}, []float32{0, 0, 0, 5}},
		{[]float32{-4, 3, 0, 0, 1, 2, 3, 4}, []float32{-4, 3, 0, 0, 0, 0, 3, 4}},
	} {
		w := slices.Clone(tc.in)
		Prune24(w)
		if !slices.Equal(w, tc.want) {
			t.Errorf("Prune24(%v) = %v, want %v", tc.in, w, tc.want)
		}
	}
}

func TestMagnitude(t *testing.T) {
	for _, tc := range []struct {
		scope string
		ratio float64
	}{{ScopeLayer, 0.5}, {ScopeLayer, 0.3}, {ScopeGlobal, 0.5}, {ScopeGlobal, 0.9}} {
		m := model(t, 7)
		ts, err := Targets(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 3*7 { // q, k, v, o, gate, up, down per layer
			t.Fatalf("%d targets, want 21", len(ts))
		}
		before := snapshot(ts)
		s, err := Magnitude(ts, tc.ratio, tc.scope)
		if err != nil {
			t.Fatal(err)
		}
		// Pruned |w| never exceed kept |w| within each group the
		// threshold is shared by, and the count is exact.
		groups := [][]int{}
		if tc.scope == ScopeLayer {
			for i := range ts {
				groups = append(groups, []int{i})
			}
		} else {
			all := []int{}
			for i := range ts {
				all = append(all, i)
			}
			groups = append(groups, all)
		}
		for _, g := range groups {
			n, zeros := 0, 0
			maxPruned, minKept := 0.0, math.Inf(1)
			for _, i := range g {
				for j, v := range ts[i].W {
					n++
					if v == 0 {
						zeros++
						maxPruned = max(maxPruned, abs32(before[i][j]))
					} else {
						if v != before[i][j] {
							t.Fatalf("a kept weight changed")
						}
						minKept = min(minKept, abs32(v))
					}
				}
			}
			if want := int(math.Round(tc.ratio * float64(n))); zeros != want {
				t.Fatalf("%+v: %d zeros of %d, want %d", tc, zeros, n, want)
			}
			if maxPruned > minKept {
				t.Fatalf("%+v: pruned |w| %v above kept |w| %v", tc, maxPruned, minKept)
			}
		}
		if math.Abs(s.Sparsity-tc.ratio) > 1e-3 || s.Weights != 3*(2*32*32+2*16*32+3*64*32) {
			t.Fatalf("%+v: stats %d weights, sparsity %v", tc, s.Weights, s.Sparsity)
		}
		var logits []float32
		autograd.NoGrad(func() { logits = m.Forward(nil, []int{1, 2, 3, 4}, 1, 4).Value.Contiguous().F32() })
		for _, v := range logits {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatal("the pruned model gives non-finite logits")
			}
		}
	}
}

func TestMagnitudeRejects(t *testing.T) {
	ts, err := Targets(model(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ratio float64
		scope string
		want  string
	}{{0, ScopeLayer, "ratio 0"}, {1, ScopeGlobal, "ratio 1"}, {-0.5, ScopeLayer, "ratio -0.5"}, {0.5, "row", `scope "row"`}} {
		if _, err := Magnitude(ts, tc.ratio, tc.scope); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Magnitude(%v, %q): %v, want an error with %q", tc.ratio, tc.scope, err, tc.want)
		}
	}
}

// TestTwoFour: every group keeps its 2 largest weights, the matrices pack,
// and the packed product equals the dense product with the same zeros.
func TestTwoFour(t *testing.T) {
	m := model(t, 3)
	ts, err := Targets(m)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(ts)
	s, err := TwoFour(ts)
	if err != nil {
		t.Fatal(err)
	}
	if s.Sparsity < 0.5 || s.Sparsity > 0.5001 || s.SparseBytes*100 > s.DenseBytes*57 {
		t.Fatalf("sparsity %v, %d of %d bytes", s.Sparsity, s.SparseBytes, s.DenseBytes)
	}
	for i, tg := range ts {
		for g := 0; g < len(tg.W); g += 4 {
			o := slices.Clone(before[i][g : g+4])
			slices.SortFunc(o, func(a, b float32) int { return -cmpf(abs32(a), abs32(b)) })
			var kept []float64
			for _, v := range tg.W[g : g+4] {
				if v != 0 {
					kept = append(kept, abs32(v))
				}
			}
			slices.Sort(kept)
			if len(kept) != 2 || kept[0] != abs32(o[1]) || kept[1] != abs32(o[0]) {
				t.Fatalf("%s group %d: kept %v of %v", tg.Name, g/4, kept, before[i][g:g+4])
			}
		}
	}
	// The whole model through the 2:4 kernel gives the dense logits.
	ids := []int{5, 1, 9, 33, 2, 7}
	var dense, packed []float32
	autograd.NoGrad(func() { dense = m.Forward(nil, ids, 1, len(ids)).Value.Contiguous().F32() })
	if _, err := m.Pack24Weights(); err != nil {
		t.Fatal(err)
	}
	autograd.NoGrad(func() { packed = m.Forward(nil, ids, 1, len(ids)).Value.Contiguous().F32() })
	m.Unpack24Weights()
	for i := range dense {
		if math.Abs(float64(dense[i]-packed[i])) > 1e-4*(1+math.Abs(float64(dense[i]))) {
			t.Fatalf("logit %d: dense %v, 2:4 kernel %v", i, dense[i], packed[i])
		}
	}
	if _, err := model(t, 4).Pack24Weights(); err == nil || !strings.Contains(err.Error(), "more than 2 non-zeros") {
		t.Fatalf("packing a dense model as 2:4: %v", err)
	}
	ps, err := Pack24(ts)
	if err != nil {
		t.Fatal(err)
	}
	for i, tg := range ts {
		const rows = 5
		x := make([]float32, rows*tg.In)
		for j := range x {
			x[j] = float32(math.Sin(float64(j*7 + i)))
		}
		got, want := make([]float32, rows*tg.Out), make([]float32, rows*tg.Out)
		kernels.MatMul24(2, rows, x, tg.In, ps[i], got, tg.Out)
		kernels.Sgemm(false, true, rows, tg.Out, tg.In, 1, x, tg.In, tg.W, tg.In, 0, want, tg.Out)
		for j := range got {
			if math.Abs(float64(got[j]-want[j])) > 1e-4*(1+math.Abs(float64(want[j]))) {
				t.Fatalf("%s: packed product %v, dense %v", tg.Name, got[j], want[j])
			}
		}
	}
}

func cmpf(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
