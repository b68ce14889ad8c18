// Package sweep trains a grid of runs: one training spec (a `loom train
// --config` file) with some of its keys set to each combination of values
// (train.lr=1e-3,3e-3 × model.hidden_size=64,128), each a number of times
// with successive seeds, and tabulates the results.
//
// A sweep's output directory holds
//
//	sweep.json        the base config's hash and the grids run into it
//	config.json       a copy of the base config file
//	runs/NAME/        one training run (train.Job: data/, checkpoint/,
//	                  metrics.jsonl, loss.png) with spec.json, its spec,
//	                  run.json, the hashes of its spec and data, and
//	                  result.json, written when it has finished
//	results.csv       a row per run of the last grid (loom scaling fit reads it)
//	results.md        the same as a markdown table, with the mean ± std of
//	                  the validation loss per grid point over seeds
//
// NAME is the run's settings and seed, "hidden_size=64,lr=0.001,seed=1"
// (see Name). Running the same sweep again trains only what has not
// finished: finished runs are read back from result.json, interrupted
// ones resume from their checkpoint. Every file is written atomically.
//
// The workflow (Sweep.Run) returns results; WriteCSV and WriteMarkdown
// render them.
package sweep
