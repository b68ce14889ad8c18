// Package train is loom's one training loop, for every model family:
// Loop trains anything that offers parameters and a loss on a batch of its
// own type (train.Model[B]) from any sampler (train.Sampler[B]): optimizer
// steps with gradient accumulation, clipping and a schedule (Step), the
// auxiliary losses a forward pass records (nn.Ctx.AddAux) added to the
// objective and logged, validation with early stopping and restoring of
// the best weights, a JSONL metrics log, a loss-curve PNG and atomic
// checkpoints of weights, optimizer, sampler and dropout-RNG state that
// resume exactly. On top of it, Job prepares a corpus, trains a language
// model from a Spec or preset and evaluates it on the whole held-out split;
// models/forecast trains its forecasters through the same Loop.
//
// A resumed run produces the same loss sequence as an uninterrupted one at
// the same thread count: weights and optimizer moments are saved in
// float32, the step count and the sampler's and RNG's states with them.
// A run given a Context stops cleanly when it is canceled (the command
// line cancels it at Ctrl-C): the optimizer step under way finishes, a
// checkpoint is written and Train returns an *Interrupted error.
//
//	spec, _ := train.LookupPreset("quickstart")
//	out, err := (&train.Job{Spec: spec, Text: corpus, OutDir: "runs/q"}).Run()
//	// out.Val.Loss is nats per token on the held-out 10 %
//
//	loop := &train.Loop[data.Batch]{Model: m, Data: sampler, Hyper: h, OutDir: "runs/x"}
//	err := loop.Train()
package train
