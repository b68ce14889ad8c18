package distill

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/dit"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// DiTConfig weighs the terms of a diffusion transformer's distillation, on
// one draw of noised images x_t, timesteps and labels shared by both
// models:
//
//	Output·MSE(ε̂_s, ε̂_t) + Hidden·mean_l MSE(h_s^l, h_t^l) + Data·MSE(ε̂_s, ε)
//
// (Dense2MoE's output distillation, block-feature loss — its group feature
// loss when Layers are the ends of groups — and the data's own loss), h^l
// block l's output, for l in Layers (nil: every block).
type DiTConfig struct {
	Output, Hidden, Data float64
	Layers               []int
}

// DiT is a student diffusion transformer and its teacher as a
// train.Model[dit.Batch]; the draws come from the loop's ctx.RNG.
type DiT struct {
	Student, Teacher *dit.Model
	DiTConfig
	Trainable []*autograd.Var // nil: all the student's parameters
	Last      map[string]float64
}

// NewDiT checks that the two models can be compared as cfg asks.
func NewDiT(student, teacher *dit.Model, cfg DiTConfig) (*DiT, error) {
	s, t := student.Cfg, teacher.Cfg
	if s.ImageSize != t.ImageSize || s.Channels != t.Channels || s.Classes != t.Classes || s.Diffusion != t.Diffusion {
		return nil, fmt.Errorf("distill: the student's images, classes or schedule differ from the teacher's")
	}
	if cfg.Hidden > 0 {
		if s.Hidden != t.Hidden || s.PatchSize != t.PatchSize {
			return nil, fmt.Errorf("distill: feature matching needs the same width and patches (student %d/%d, teacher %d/%d)", s.Hidden, s.PatchSize, t.Hidden, t.PatchSize)
		}
		for _, l := range cfg.Layers {
			if l < 0 || l >= s.Depth || l >= t.Depth {
				return nil, fmt.Errorf("distill: block %d is not in both models (%d and %d blocks)", l, s.Depth, t.Depth)
			}
		}
		if cfg.Layers == nil && s.Depth != t.Depth {
			return nil, fmt.Errorf("distill: matching every block needs the same depth (student %d, teacher %d); name the blocks", s.Depth, t.Depth)
		}
	}
	if cfg.Output < 0 || cfg.Hidden < 0 || cfg.Data < 0 || cfg.Output+cfg.Hidden+cfg.Data == 0 {
		return nil, fmt.Errorf("distill: weights output %v, hidden %v, data %v: want non-negative weights, one positive", cfg.Output, cfg.Hidden, cfg.Data)
	}
	return &DiT{Student: student, Teacher: teacher, DiTConfig: cfg}, nil
}

// Params returns the student's parameters that train.
func (d *DiT) Params() []*autograd.Var {
	if d.Trainable != nil {
		return d.Trainable
	}
	return d.Student.Params()
}

// Loss is the weighted objective on clean images b.
func (d *DiT) Loss(ctx *nn.Ctx, b dit.Batch) *autograd.Var {
	rng := ctx.RNG
	if rng == nil {
		rng = tensor.NewRNG(0)
	}
	xt, ts, ys, eps := d.Student.Noisy(b.X, b.Y, rng)
	x := autograd.Const(xt)
	var to *autograd.Var
	var th []*autograd.Var
	autograd.NoGrad(func() { to, th = d.Teacher.ForwardHidden(nil, x, ts, ys) })
	so, sh := d.Student.ForwardHidden(ctx, x, ts, ys)
	t := terms{last: map[string]float64{}}
	if d.Output > 0 {
		t.add("output", d.Output, autograd.MSELoss(so, autograd.Const(to.Value)))
	}
	if d.Hidden > 0 {
		t.add("hidden", d.Hidden, hiddenMatch(sh, th, d.Layers, nil))
	}
	if d.Data > 0 {
		t.add("data", d.Data, autograd.MSELoss(so, autograd.Const(eps)))
	}
	d.Last = t.last
	return t.total
}
