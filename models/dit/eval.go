package dit

import (
	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Draws are fixed noisings of a held-out image set: each image noised
// Repeats times at timesteps and with noise drawn once from a seed, so
// that models evaluated on the same draws differ only by their
// predictions, not by sampling noise. Labels are kept (no class dropout).
type Draws struct {
	Xt  *tensor.Tensor // [N·Repeats, C, S, S] noised images
	T   []float64      // their timesteps
	Y   []int          // their labels
	Eps *tensor.Tensor // the noise to predict
}

// FixedDraws noises every image of x0 [N, C, S, S] (labels y) repeats
// times under s: timesteps uniform over the steps, ε ~ N(0, I), from seed.
func FixedDraws(s Schedule, x0 *tensor.Tensor, y []int, repeats int, seed uint64) Draws {
	rng := tensor.NewRNG(seed)
	N := x0.Dim(0)
	idx := make([]int, 0, N*repeats)
	for range repeats {
		for n := range N {
			idx = append(idx, n)
		}
	}
	x := tensor.IndexSelect(x0, 0, idx)
	t := make([]int, len(idx))
	d := Draws{T: make([]float64, len(idx)), Y: make([]int, len(idx))}
	for i, n := range idx {
		t[i] = rng.Intn(s.Steps)
		d.T[i], d.Y[i] = float64(t[i]), y[n]
	}
	d.Eps = tensor.RandN(rng, x.Shape()...)
	d.Xt = s.Noised(x, d.Eps, t)
	return d
}

// NoiseMSE is the model's mean squared noise-prediction error on d,
// evaluated batch images at a time without gradients; after, if not nil,
// runs after each batch's pass (to read the pass's routing statistics).
func (m *Model) NoiseMSE(d Draws, batch int, after func()) float64 {
	n := len(d.Y)
	var sum float64
	autograd.NoGrad(func() {
		for lo := 0; lo < n; lo += batch {
			hi := min(n, lo+batch)
			idx := make([]int, hi-lo)
			for i := range idx {
				idx[i] = lo + i
			}
			out := m.Forward(nil, autograd.Const(tensor.IndexSelect(d.Xt, 0, idx)), d.T[lo:hi], d.Y[lo:hi]).Value.Contiguous().F32()
			eps := tensor.IndexSelect(d.Eps, 0, idx).Contiguous().F32()
			for i, v := range out {
				e := float64(v) - float64(eps[i])
				sum += e * e
			}
			if after != nil {
				after()
			}
		}
	})
	return sum / float64(d.Eps.Numel())
}
