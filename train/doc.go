// Package train trains loom's language models: one optimizer step with
// gradient accumulation, clipping and a schedule (Step); a run with
// validation estimates, a JSONL metrics log, a loss-curve PNG and atomic
// checkpoints of weights, optimizer and sampler state that resume exactly
// (Run); and jobs that prepare a corpus, train a spec or preset and
// evaluate the result on the whole held-out split (Job, Spec, presets).
//
// A resumed run produces the same loss sequence as an uninterrupted one at
// the same thread count: weights and optimizer moments are saved in
// float32, the step count and the sampler's RNG state with them.
//
//	spec, _ := train.LookupPreset("quickstart")
//	out, err := (&train.Job{Spec: spec, Text: corpus, OutDir: "runs/q"}).Run()
//	// out.Val.Loss is nats per token on the held-out 10 %
package train
