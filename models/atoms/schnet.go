package atoms

import (
	"math"
	"strconv"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// SchNet is the cutoff graph network baseline (Schütt et al., "SchNet: A
// continuous-filter convolutional neural network for modeling quantum
// interactions", NeurIPS 2017, arXiv 1706.08566), laid out as schnetpack's
// SchNet and SchNetInteraction: element embeddings x_i; distances r_ij
// expanded in K Gaussians exp(−(r − μ_k)²/2w²), μ_k evenly from 0 to the
// cutoff r_c, w their spacing; the cosine cutoff
// f(r) = ½(cos(πr/r_c) + 1) for r < r_c, else 0; and interaction blocks
//
//	W_ij = Dense(ssp(Dense(rbf(r_ij)))) · f(r_ij)          (filter network)
//	v_i  = Dense(ssp(Dense(Σ_{j≠i} W_ij ⊙ Dense(x_j))))    (cfconv, atom-wise layers)
//	x_i ← x_i + v_i
//
// with ssp(x) = ln(½eˣ + ½) the shifted softplus, then an atom-wise energy
// MLP D → D/2 → 1 whose outputs the model sums. The convolution runs over
// each molecule's pairs within the cutoff (the radius graph).
type SchNet struct {
	Species      *nn.Embedding // [elements+1, D], row 0 padding
	Interactions []*Interaction
	// OutIn, OutOut are the energy MLP D → D/2 → 1 (ssp).
	OutIn, OutOut *nn.Linear

	centers      []float64 // μ_k, Å
	gamma        float64   // 1/2w², Å⁻²
	cutoff       float64
	dim, filters int
}

// Interaction is one SchNet interaction block.
type Interaction struct {
	In               *nn.Linear // D → F, no bias (in2f)
	Filter1, Filter2 *nn.Linear // K → F → F (filter network)
	Out1, Out2       *nn.Linear // F → D → D (f2out)
}

// NewSchNet builds a SchNet for c over elements elements with PyTorch's
// default initialisation from c.Seed (the energy MLP's last layer at
// zero).
func NewSchNet(c Config, elements int) *SchNet {
	r := tensor.NewRNG(c.Seed)
	init := nn.TorchInit(r)
	init.Std = 1
	D, F, K := c.Dim, c.Filters, c.RBF
	s := &SchNet{Species: nn.NewEmbedding("species", elements+1, D, init), cutoff: c.Cutoff, dim: D, filters: F}
	w := c.Cutoff / float64(K-1)
	for k := range K {
		s.centers = append(s.centers, float64(k)*w)
	}
	s.gamma = 0.5 / (w * w)
	for i := range c.Layers {
		p := nn.Join("interactions", strconv.Itoa(i))
		s.Interactions = append(s.Interactions, &Interaction{
			In:      nn.NewTorchLinear(nn.Join(p, "in2f"), D, F, false, r),
			Filter1: nn.NewTorchLinear(nn.Join(p, "filter.0"), K, F, true, r),
			Filter2: nn.NewTorchLinear(nn.Join(p, "filter.1"), F, F, true, r),
			Out1:    nn.NewTorchLinear(nn.Join(p, "f2out.0"), F, D, true, r),
			Out2:    nn.NewTorchLinear(nn.Join(p, "f2out.1"), D, D, true, r),
		})
	}
	s.OutIn = nn.NewTorchLinear("out.0", D, max(D/2, 1), true, r)
	s.OutOut = zeroLinear("out.1", max(D/2, 1), 1)
	return s
}

// Params returns every parameter once, in module order.
func (s *SchNet) Params() []*autograd.Var {
	ps := s.Species.Params()
	for _, b := range s.Interactions {
		ps = append(ps, nn.Collect(b.In, b.Filter1, b.Filter2, b.Out1, b.Out2)...)
	}
	return append(ps, nn.Collect(s.OutIn, s.OutOut)...)
}

// ssp is the shifted softplus ln(½eˣ + ½) = softplus(x) − ln 2, computed
// as max(x, 0) + ln(1 + e^−|x|) − ln 2 (no overflow; twice differentiable
// through the tape).
func ssp(x *autograd.Var) *autograd.Var {
	soft := autograd.Add(autograd.Relu(x), autograd.Log(autograd.AddScalar(autograd.Exp(autograd.Neg(autograd.Abs(x))), 1)))
	return autograd.AddScalar(soft, -math.Ln2)
}

// neighbours returns the cutoff graph of in: the pairs (i, j), i ≠ j two
// atoms of one molecule less than cutoff apart, as rows of the flattened
// [B·T] atoms (dst i receives from src j). It is read off the positions'
// values; the filters vanish with their first derivative at the cutoff,
// so leaving the farther pairs out changes neither energies nor forces.
func neighbours(in *Input, cutoff float64) (dst, src []int) {
	p := in.Pos.Value.Float64s()
	c2 := cutoff * cutoff
	for b, n := range in.Lengths {
		for i := range n {
			a := (b*in.T + i) * 3
			for j := range n {
				if i == j {
					continue
				}
				c := (b*in.T + j) * 3
				dx, dy, dz := p[a]-p[c], p[a+1]-p[c+1], p[a+2]-p[c+2]
				if dx*dx+dy*dy+dz*dz < c2 {
					dst, src = append(dst, b*in.T+i), append(src, b*in.T+j)
				}
			}
		}
	}
	return dst, src
}

// Forward returns the atoms' energies [B, T, 1] (standardised) and no
// direct forces. Messages run over the cutoff graph (neighbours), gathered
// with autograd.IndexSelect and summed with autograd.IndexAdd, so that the
// forces and their parameter gradients are recorded as for any other op.
func (s *SchNet) Forward(_ *nn.Ctx, in *Input) (energy, forces *autograd.Var) {
	dt := in.Mask.DType()
	N := in.B * in.T
	x := s.Species.Forward(in.Species, N) // [N, D]
	dst, src := neighbours(in, s.cutoff)
	var rbf, fc *autograd.Var
	if len(dst) > 0 {
		pos := autograd.Reshape(in.Pos, N, 3)
		d := autograd.Sub(autograd.IndexSelect(pos, 0, dst), autograd.IndexSelect(pos, 0, src)) // [E, 3]: x_i − x_j
		r := autograd.Sqrt(autograd.Sum(autograd.Mul(d, d), true, 1))                           // [E, 1]
		mu := autograd.Const(tensor.FromFloat64(s.centers, len(s.centers)).To(dt))
		dr := autograd.Sub(r, mu)
		rbf = autograd.Exp(autograd.MulScalar(autograd.Mul(dr, dr), -s.gamma))                                     // [E, K]
		fc = autograd.MulScalar(autograd.AddScalar(autograd.Cos(autograd.MulScalar(r, math.Pi/s.cutoff)), 1), 0.5) // [E, 1]
	}
	for _, b := range s.Interactions {
		var y *autograd.Var // Σ_j W_ij ⊙ x_j: [N, F]
		if rbf == nil {
			y = autograd.Const(tensor.New(dt, N, s.filters))
		} else {
			W := autograd.Mul(b.Filter2.Forward(ssp(b.Filter1.Forward(rbf))), fc) // [E, F]
			y = autograd.IndexAdd(autograd.Mul(W, autograd.IndexSelect(b.In.Forward(x), 0, src)), 0, dst, N)
		}
		x = autograd.Add(x, b.Out2.Forward(ssp(b.Out1.Forward(y))))
	}
	e := s.OutOut.Forward(ssp(s.OutIn.Forward(x))) // [N, 1]
	return autograd.Reshape(e, in.B, in.T, 1), nil
}

// FLOPs estimates the forward pass on a molecule of n atoms with P
// ordered pairs within the cutoff: per interaction in2f (2nDF), the filter
// network on the pairs (2PKF + 2PF²), the convolution (2PF) and f2out
// (2nFD + 2nD²); the energy MLP (nD²). The Gaussian expansion and the
// elementwise terms are left out.
func (s *SchNet) FLOPs(mol Molecule) float64 {
	N, D, F, K := float64(mol.Len()), float64(s.dim), float64(s.filters), float64(len(s.centers))
	b := Collate([]Molecule{mol})
	dst, _ := neighbours(&Input{B: 1, T: b.T, Lengths: b.Lengths, Pos: b.PosVar(tensor.Float64)}, s.cutoff)
	P := float64(len(dst))
	per := 2*N*D*F + P*(2*K*F+2*F*F) + 2*P*F + 2*N*F*D + 2*N*D*D
	return float64(len(s.Interactions))*per + N*D*D + N*D
}
