package dit

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Schedule is DDPM's forward process: a linear β schedule from BetaStart to
// BetaEnd over Steps steps (DiT's diffusion/gaussian_diffusion.py with
// "linear": 1e-4 … 0.02 over 1000, scaled by 1000/Steps for other step
// counts as get_named_beta_schedule does).
type Schedule struct {
	Steps     int     `json:"steps"`
	BetaStart float64 `json:"beta_start,omitempty"` // for 1000 steps (0, 0: 1e-4, 0.02)
	BetaEnd   float64 `json:"beta_end,omitempty"`
}

// Validate checks the schedule.
func (s Schedule) Validate() error {
	if s.Steps < 1 {
		return fmt.Errorf("dit: diffusion steps %d, want at least 1", s.Steps)
	}
	if s.BetaStart < 0 || s.BetaEnd < s.BetaStart {
		return fmt.Errorf("dit: betas %v … %v, want 0 ≤ start ≤ end", s.BetaStart, s.BetaEnd)
	}
	if b := s.Betas(); b[len(b)-1] >= 1 {
		return fmt.Errorf("dit: diffusion steps %d: the 1000-step β schedule rescaled to them reaches β = %v, want every β < 1 (more steps)", s.Steps, b[len(b)-1])
	}
	return nil
}

// Betas returns β_t, and AlphaBars ᾱ_t = Π_{s≤t} (1 − β_s).
func (s Schedule) Betas() []float64 {
	lo, hi := s.BetaStart, s.BetaEnd
	if lo == 0 && hi == 0 {
		lo, hi = 1e-4, 0.02
	}
	scale := 1000 / float64(s.Steps)
	lo, hi = lo*scale, hi*scale
	out := make([]float64, s.Steps)
	for i := range out {
		if s.Steps == 1 {
			out[i] = lo
			continue
		}
		out[i] = lo + (hi-lo)*float64(i)/float64(s.Steps-1)
	}
	return out
}

// AlphaBars returns ᾱ_t for every step.
func (s Schedule) AlphaBars() []float64 {
	b := s.Betas()
	out := make([]float64, len(b))
	prod := 1.0
	for i, v := range b {
		prod *= 1 - v
		out[i] = prod
	}
	return out
}

// Noised returns x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε per image (q_sample), x0 and
// eps [N, …].
func (s Schedule) Noised(x0, eps *tensor.Tensor, t []int) *tensor.Tensor {
	ab := s.AlphaBars()
	N := x0.Dim(0)
	per := x0.Numel() / N
	x, e := x0.Contiguous().F32(), eps.Contiguous().F32()
	out := make([]float32, len(x))
	for n := range N {
		a, b := math.Sqrt(ab[t[n]]), math.Sqrt(1-ab[t[n]])
		for i := n * per; i < (n+1)*per; i++ {
			out[i] = float32(a*float64(x[i]) + b*float64(e[i]))
		}
	}
	return tensor.FromFloat32(out, x0.Shape()...)
}

// Loss is DiT's training objective on clean images x0 [N, C, S, S] with
// labels y: t uniform over the steps, ε ~ N(0, I), labels dropped to "no
// class" with probability ClassDropout, mean squared error of ε̂(x_t, t, y)
// against ε. rng draws t, ε and the drops.
func (m *Model) Loss(ctx *nn.Ctx, x0 *tensor.Tensor, y []int, rng *tensor.RNG) *autograd.Var {
	xt, tf, ys, eps := m.Noisy(x0, y, rng)
	return autograd.MSELoss(m.Forward(ctx, autograd.Const(xt), tf, ys), autograd.Const(eps))
}

// Noisy draws what one training step feeds the model for clean images x0
// with labels y: timesteps uniform over the steps, noise ε ~ N(0, I), the
// noised images x_t, the labels with ClassDropout's drops.
func (m *Model) Noisy(x0 *tensor.Tensor, y []int, rng *tensor.RNG) (xt *tensor.Tensor, tf []float64, ys []int, eps *tensor.Tensor) {
	c := m.Cfg
	N := x0.Dim(0)
	t := make([]int, N)
	tf = make([]float64, N)
	ys = make([]int, N)
	for n := range N {
		t[n] = rng.Intn(c.Diffusion.Steps)
		tf[n] = float64(t[n])
		ys[n] = y[n]
		if c.ClassDropout > 0 && rng.Float64() < c.ClassDropout {
			ys[n] = c.Classes
		}
	}
	eps = tensor.RandN(rng, x0.Shape()...)
	return c.Diffusion.Noised(x0, eps, t), tf, ys, eps
}

// Sample draws N images of labels y by DDPM's ancestral sampler
// (p_sample_loop with fixed small variance σ_t² = β̃_t, the posterior
// variance): x_T ~ N(0, I), then for t = T−1 … 0
// x_{t−1} = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t + σ_t·z (no noise at t = 0), with
// classifier-free guidance ε̂ = ε̂_∅ + w·(ε̂_y − ε̂_∅) when guidance w ≠ 1.
func (m *Model) Sample(y []int, guidance float64, rng *tensor.RNG) *tensor.Tensor {
	c := m.Cfg
	N := len(y)
	// With guidance, one pass over the images twice: with their labels,
	// then with "no class".
	labels := y
	if guidance != 1 {
		labels = make([]int, 2*N)
		copy(labels, y)
		for i := N; i < 2*N; i++ {
			labels[i] = c.Classes
		}
	}
	ts := make([]float64, len(labels))
	var out *tensor.Tensor
	autograd.NoGrad(func() {
		out = c.Diffusion.Sample([]int{N, c.Channels, c.ImageSize, c.ImageSize}, rng, func(x *tensor.Tensor, t int) []float32 {
			for i := range ts {
				ts[i] = float64(t)
			}
			in := x
			if guidance != 1 {
				in = tensor.Concat(0, x, x)
			}
			eps := m.Forward(nil, autograd.Const(in), ts, labels).Value.Contiguous().F32()
			if guidance == 1 {
				return eps
			}
			half := len(eps) / 2
			cond, none := eps[:half], eps[half:]
			for i := range cond {
				cond[i] = none[i] + float32(guidance)*(cond[i]-none[i])
			}
			return cond
		})
	})
	return out
}

// Sample runs DDPM's ancestral sampler from x_T ~ N(0, I) of shape with
// the noise predictor eps(x_t, t).
func (s Schedule) Sample(shape []int, rng *tensor.RNG, eps func(x *tensor.Tensor, t int) []float32) *tensor.Tensor {
	betas, ab := s.Betas(), s.AlphaBars()
	x := tensor.RandN(rng, shape...)
	for t := s.Steps - 1; t >= 0; t-- {
		e := eps(x, t)
		xs := x.Contiguous().F32()
		next := make([]float32, len(xs))
		var z []float32
		sigma := 0.0
		if t > 0 {
			z = tensor.RandN(rng, shape...).F32()
			sigma = math.Sqrt(betas[t] * (1 - ab[t-1]) / (1 - ab[t]))
		}
		c1, c2 := 1/math.Sqrt(1-betas[t]), betas[t]/math.Sqrt(1-ab[t])
		for i := range xs {
			v := c1 * (float64(xs[i]) - c2*float64(e[i]))
			if t > 0 {
				v += sigma * float64(z[i])
			}
			next[i] = float32(v)
		}
		x = tensor.FromFloat32(next, shape...)
	}
	return x
}
