package optim

import "math"

// Schedule gives the learning-rate factor for each optimizer step: step s
// (counting from 0) runs with base LR × Factor(s), as a PyTorch LambdaLR
// stepped after every optimizer step.
type Schedule interface {
	Factor(step int) float64
}

// Constant keeps the base learning rate.
type Constant struct{}

// Factor returns 1.
func (Constant) Factor(int) float64 { return 1 }

// WarmupCosine rises linearly from 0 over Warmup steps, then follows a half
// cosine from 1 down to MinFactor at step Total and stays there, as
// transformers' get_cosine_with_min_lr_schedule_with_warmup (MinFactor 0 is
// get_cosine_schedule_with_warmup).
type WarmupCosine struct {
	Warmup, Total int
	MinFactor     float64
}

// Factor returns the schedule's factor at step.
func (s WarmupCosine) Factor(step int) float64 {
	if step < s.Warmup {
		return float64(step) / float64(max(1, s.Warmup))
	}
	progress := float64(step-s.Warmup) / float64(max(1, s.Total-s.Warmup))
	progress = math.Min(progress, 1)
	f := 0.5 * (1 + math.Cos(math.Pi*progress))
	return f*(1-s.MinFactor) + s.MinFactor
}

// WarmupLinear rises linearly from 0 over Warmup steps, then falls linearly
// to 0 at step Total, as transformers' get_linear_schedule_with_warmup.
type WarmupLinear struct {
	Warmup, Total int
}

// Factor returns the schedule's factor at step.
func (s WarmupLinear) Factor(step int) float64 {
	if step < s.Warmup {
		return float64(step) / float64(max(1, s.Warmup))
	}
	return math.Max(0, float64(s.Total-step)/float64(max(1, s.Total-s.Warmup)))
}

// StepDecay multiplies the rate by Gamma every Every steps (the rate of
// step s is Gamma^⌊s/Every⌋), as torch.optim.lr_scheduler.StepLR stepped
// per optimizer step; with Every the steps of an epoch it is a per-epoch
// decay (Time-Series-Library's "type1" halving has Gamma 0.5).
type StepDecay struct {
	Every int
	Gamma float64
}

// Factor returns Gamma^⌊step/Every⌋.
func (s StepDecay) Factor(step int) float64 {
	return math.Pow(s.Gamma, float64(step/max(1, s.Every)))
}
