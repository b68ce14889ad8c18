package timeseries

import "github.com/loomml/loom/models/forecast"

// backbone is the forecast.Config of arch for a task on windows of L steps
// of N variates (and F time features), as Time-Series-Library builds its
// models for the task: width dModel (0: 64), heads (0: 4), layers (0: 2),
// FFN twice the width; the temporal Transformer with TSLib's
// convolutional token embedding (TokenConv); iTransformer normalising per
// sample except for classification (TSLib's forecasting, anomaly
// detection and imputation do; its classification does not, and neither
// does its Transformer). Horizon is L; forecasting callers set their own.
func backbone(arch, task string, L, N, F, dModel, heads, layers int, dropout float64, seed uint64) forecast.Config {
	dModel = or(dModel, 64)
	c := forecast.Config{Arch: arch, Lookback: L, Horizon: L, Variates: N, Marks: F, DModel: dModel, DFF: 2 * dModel, Heads: or(heads, 4),
		Layers: or(layers, 2), Dropout: dropout, Task: task, Seed: seed}
	switch arch {
	case "transformer":
		c.TokenConv = true
	case "itransformer":
		c.UseNorm = task != forecast.TaskClassification
	}
	return c
}

// or returns v, or def when v is zero (an option left at its default).
func or[T int | uint64 | float64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
