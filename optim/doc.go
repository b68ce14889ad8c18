// Package optim holds loom's optimizers and learning-rate schedules: SGD
// with (Nesterov) momentum, Adam and AdamW with PyTorch's update order,
// parameter groups with their own learning rate and weight decay, clipping
// by global gradient norm, and warmup+cosine / warmup+linear schedules with
// Hugging Face's step conventions. Optimizer state (moment buffers, step
// count) can be saved and restored for exact resume.
//
// A training step:
//
//	opt := optim.NewAdamW([]*optim.Group{{Params: params, LR: 3e-4, WeightDecay: 0.1}})
//	sched := optim.WarmupCosine{Warmup: 100, Total: 5000}
//	for step := 0; step < 5000; step++ {
//		loss := model(batch)
//		loss.Backward()
//		optim.ClipGradNorm(params, 1.0)
//		opt.SetLRScale(sched.Factor(step))
//		opt.Step()
//		opt.ZeroGrad()
//	}
package optim
