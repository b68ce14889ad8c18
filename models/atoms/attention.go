package atoms

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/loomml/loom/chart"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Attention returns each block's attention probabilities [B, H, T, T]
// (query atom, key atom) on in, recomputed from the block's own
// projections of its normalised input (the layer itself attends through
// the fused kernel, which keeps no probabilities). Padding keys get 0;
// padding query rows are meaningless.
func (t *Transformer) Attention(in *Input) []*tensor.Tensor {
	var out []*tensor.Tensor
	autograd.NoGrad(func() {
		h := t.embed(in)
		ctx := maskCtx(nil, in)
		B, T := in.B, in.T
		mask := autograd.Const(tensor.KeyLengthMask(in.Lengths, B, T).To(h.Value.DType())) // [B, 1, 1, T]
		for _, l := range t.Layers {
			a := l.Attn.(*nn.Attention)
			xn := l.AttnNorm.Forward(h)
			heads := func(y *autograd.Var) *autograd.Var { // [B, H, T, hd]
				return autograd.Permute(autograd.Reshape(y, B, T, a.Heads, a.HeadDim), 0, 2, 1, 3)
			}
			q, k := heads(a.Q.Forward(xn)), heads(a.K.Forward(xn))
			s := autograd.Add(autograd.MulScalar(autograd.MatMul(q, k, false, true), a.Scale()), mask)
			out = append(out, autograd.Softmax(s, 3).Value)
			h = l.Forward(ctx, h)
		}
	})
	return out
}

// AttentionPair is the attention one atom pays another in one block.
type AttentionPair struct {
	Layer    int     `json:"layer"`
	Molecule int     `json:"molecule"` // index in the molecules given
	I        int     `json:"i"`        // query atom
	J        int     `json:"j"`        // key atom
	Distance float64 `json:"distance"` // |x_I − x_J|, Å
	// Weight is the attention from I to J averaged over the heads.
	Weight float64 `json:"weight"`
	// Atoms is the molecule's atom count: uniform attention is 1/Atoms.
	Atoms int `json:"atoms"`
}

// AttentionPairs runs a Transformer model on mols, batch molecules at a
// time, and returns every block's attention between every ordered pair of
// distinct atoms with their distance: the data of the paper's claim that
// learned attention decays with interatomic distance (self-attention, at
// distance 0, is left out).
func AttentionPairs(m *Model, mols []Molecule, batch int) ([]AttentionPair, error) {
	t, ok := m.Net.(*Transformer)
	if !ok {
		return nil, fmt.Errorf("atoms: attention maps need a Transformer, have %s", m.Config.Arch)
	}
	var out []AttentionPair
	batch = max(batch, 1)
	for lo := 0; lo < len(mols); lo += batch {
		b := Collate(mols[lo:min(len(mols), lo+batch)])
		if err := m.Ref.Check(b); err != nil {
			return nil, err
		}
		maps := t.Attention(m.input(b, autograd.Const(tensor.FromFloat64(b.Pos, b.B, b.T, 3).To(m.dtype()))))
		for layer, p := range maps {
			H := p.Dim(1)
			w := p.Float64s() // [B, H, T, T]
			for i := range b.B {
				n := b.Lengths[i]
				for q := range n {
					for k := range n {
						if q == k {
							continue
						}
						sum := 0.0
						for h := range H {
							sum += w[((i*H+h)*b.T+q)*b.T+k]
						}
						pq, pk := b.Pos[(i*b.T+q)*3:], b.Pos[(i*b.T+k)*3:]
						dx, dy, dz := pq[0]-pk[0], pq[1]-pk[1], pq[2]-pk[2]
						out = append(out, AttentionPair{Layer: layer, Molecule: lo + i, I: q, J: k,
							Distance: math.Sqrt(dx*dx + dy*dy + dz*dz), Weight: sum / float64(H), Atoms: n})
					}
				}
			}
		}
	}
	return out, nil
}

// AttentionBin is the mean attention of one block's pairs in a distance
// range [Lo, Hi).
type AttentionBin struct {
	Layer int     `json:"layer"`
	Lo    float64 `json:"lo"` // Å
	Hi    float64 `json:"hi"`
	Pairs int     `json:"pairs"`
	Mean  float64 `json:"mean"` // mean Weight
	// Relative is the mean of Atoms·Weight: 1 for uniform attention, so
	// molecules of different sizes are comparable.
	Relative float64 `json:"relative"`
}

// BinAttention averages pairs by block and distance, in bins of width Å
// from 0 up to the largest distance; empty bins are left out. Bins come
// in order of layer, then distance.
func BinAttention(pairs []AttentionPair, width float64) []AttentionBin {
	if width <= 0 {
		panic(fmt.Sprintf("atoms: attention bin width %v", width))
	}
	layers, nbins := 0, 0
	for _, p := range pairs {
		layers = max(layers, p.Layer+1)
		nbins = max(nbins, int(p.Distance/width)+1)
	}
	acc := make([]AttentionBin, layers*nbins)
	for _, p := range pairs {
		a := &acc[p.Layer*nbins+int(p.Distance/width)]
		a.Pairs++
		a.Mean += p.Weight
		a.Relative += p.Weight * float64(p.Atoms)
	}
	var out []AttentionBin
	for i, a := range acc {
		if a.Pairs == 0 {
			continue
		}
		k := i % nbins
		a.Layer, a.Lo, a.Hi = i/nbins, float64(k)*width, float64(k+1)*width
		a.Mean /= float64(a.Pairs)
		a.Relative /= float64(a.Pairs)
		out = append(out, a)
	}
	return out
}

// AttentionDecay returns, for each block, Spearman's rank correlation
// between a bin's distance and its relative attention over the bins of at
// least minPairs pairs (NaN for a block with fewer than three such bins):
// −1 when attention falls with every step of distance, 0 when it does not
// depend on it.
func AttentionDecay(bins []AttentionBin, minPairs int) []float64 {
	layers := 0
	for _, b := range bins {
		layers = max(layers, b.Layer+1)
	}
	out := make([]float64, layers)
	for l := range layers {
		var d, a []float64
		for _, b := range bins {
			if b.Layer == l && b.Pairs >= minPairs {
				d, a = append(d, (b.Lo+b.Hi)/2), append(a, b.Relative)
			}
		}
		out[l] = math.NaN()
		if len(d) >= 3 {
			out[l] = spearman(d, a)
		}
	}
	return out
}

// spearman is the Pearson correlation of the ranks of x and y (ties get
// their mean rank).
func spearman(x, y []float64) float64 {
	rx, ry := ranks(x), ranks(y)
	n := float64(len(x))
	var mx, my float64
	for i := range rx {
		mx, my = mx+rx[i]/n, my+ry[i]/n
	}
	var sxy, sxx, syy float64
	for i := range rx {
		dx, dy := rx[i]-mx, ry[i]-my
		sxy, sxx, syy = sxy+dx*dy, sxx+dx*dx, syy+dy*dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(v[a], v[b]) })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	return r
}

// AttentionChart draws relative attention (1: uniform) against distance,
// one line per block, over the bins of at least minPairs pairs.
func AttentionChart(bins []AttentionBin, minPairs int, title string) *chart.Chart {
	byLayer := map[int]*chart.Series{}
	layers := 0
	for _, b := range bins {
		if b.Pairs < minPairs {
			continue
		}
		s := byLayer[b.Layer]
		if s == nil {
			s = &chart.Series{Name: fmt.Sprintf("block %d", b.Layer+1), Style: chart.LinePoints}
			byLayer[b.Layer] = s
		}
		s.X, s.Y = append(s.X, (b.Lo+b.Hi)/2), append(s.Y, b.Relative)
		layers = max(layers, b.Layer+1)
	}
	c := &chart.Chart{Title: title, XLabel: "interatomic distance (Å)", YLabel: "attention relative to uniform (1 = 1/atoms)", LogY: true,
		HLines: []chart.Ref{{Y: 1, Label: "uniform"}}}
	for l := range layers {
		if s := byLayer[l]; s != nil {
			c.Series = append(c.Series, *s)
		}
	}
	return c
}
