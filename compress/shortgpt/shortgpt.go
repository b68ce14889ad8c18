// Package shortgpt implements ShortGPT's block influence (Men et al.,
// "ShortGPT: Layers in Large Language Models are More Redundant Than You
// Expect", arXiv 2403.03853): BI_l = 1 − mean over tokens of cos(h_l,
// h_{l+1}), the cosine between the residual stream entering and leaving
// layer l on calibration text; the blocks of lowest influence are removed
// whole. It is FinerCut's block-level baseline.
package shortgpt

import (
	"fmt"
	"math"
	"sort"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// Influence holds the block influence of each layer and, at the same
// scale, of each sublayer (1 − cos(x, x + branch) for the stream x
// entering the branch).
type Influence struct {
	Block     []float64            `json:"block"`
	Sublayers map[string][]float64 `json:"sublayers"` // by kind; NaN where removed
}

// Measure runs m on the calibration windows (equal lengths) without
// gradients and returns the influences.
func Measure(m *decoder.Model, calib [][]int) (*Influence, error) {
	ids, T, err := data.Stack(calib)
	if err != nil {
		return nil, fmt.Errorf("shortgpt: %w", err)
	}
	if T > m.MaxPositions() {
		return nil, fmt.Errorf("shortgpt: calibration windows of %d tokens exceed the model's %d positions", T, m.MaxPositions())
	}
	L := len(m.Layers)
	in := &Influence{Block: make([]float64, L), Sublayers: map[string][]float64{}}
	for _, k := range decoder.SublayerKinds {
		in.Sublayers[k] = make([]float64, L)
	}
	autograd.NoGrad(func() {
		x := m.Embeddings(nil, ids, len(calib), T)
		for l := range L {
			p, _ := m.Layers[l].(decoder.Pruner)
			y := m.Layers[l].Forward(nil, x)
			in.Block[l] = 1 - meanCos(x.Value, y.Value)
			// Sublayer influences: attention on x, FFN on x after attention.
			for _, k := range decoder.SublayerKinds {
				in.Sublayers[k][l] = math.NaN()
			}
			if p != nil {
				mid := x
				if p.HasSublayer(decoder.SublayerAttention) {
					mid = p.ForwardSkipping(nil, x, decoder.SublayerFFN)
					in.Sublayers[decoder.SublayerAttention][l] = 1 - meanCos(x.Value, mid.Value)
				}
				if p.HasSublayer(decoder.SublayerFFN) {
					in.Sublayers[decoder.SublayerFFN][l] = 1 - meanCos(mid.Value, y.Value)
				}
			}
			x = y
		}
	})
	return in, nil
}

// meanCos is the mean over rows of cos(a_row, b_row) for a, b [..., D].
func meanCos(a, b *tensor.Tensor) float64 {
	ad, bd := a.Contiguous().F32(), b.Contiguous().F32()
	D := a.Dim(-1)
	n := len(ad) / D
	sum := 0.0
	for r := range n {
		var dot, na, nb float64
		for i := r * D; i < (r+1)*D; i++ {
			x, y := float64(ad[i]), float64(bd[i])
			dot += x * y
			na += x * x
			nb += y * y
		}
		if na > 0 && nb > 0 {
			sum += dot / math.Sqrt(na*nb)
		} else {
			sum++
		}
	}
	return sum / float64(n)
}

// Plan returns n sublayers to remove: whole blocks of lowest influence
// (attention then FFN of each), and when n is odd, the single remaining
// sublayer of lowest sublayer influence outside those blocks.
func (in *Influence) Plan(n int) []decoder.Sublayer {
	L := len(in.Block)
	order := make([]int, L)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return in.Block[order[i]] < in.Block[order[j]] })
	var out []decoder.Sublayer
	gone := map[int]bool{}
	for _, l := range order[:min(n/2, L)] {
		out = append(out, decoder.Sublayer{Layer: l, Kind: decoder.SublayerAttention}, decoder.Sublayer{Layer: l, Kind: decoder.SublayerFFN})
		gone[l] = true
	}
	if n%2 == 1 {
		best, bestScore := decoder.Sublayer{Layer: -1, Kind: ""}, math.Inf(1)
		for l := range L {
			if gone[l] {
				continue
			}
			for _, k := range decoder.SublayerKinds {
				if s := in.Sublayers[k][l]; !math.IsNaN(s) && s < bestScore {
					best, bestScore = decoder.Sublayer{Layer: l, Kind: k}, s
				}
			}
		}
		if best.Layer >= 0 {
			out = append(out, best)
		}
	}
	return out
}
