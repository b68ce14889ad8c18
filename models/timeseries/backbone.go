package timeseries

import "github.com/loomml/loom/models/forecast"

// backbone is the forecast.Config of arch for a task on windows of L steps
// of N variates (and F time features), as Time-Series-Library builds its
// models for the task: FFN twice the width; the temporal Transformer with
// TSLib's convolutional token embedding (TokenConv); iTransformer
// normalising per sample for reconstruction (TSLib's anomaly detection and
// imputation do; its classification does not, and neither does its
// Transformer).
func backbone(arch, task string, L, N, F, dModel, heads, layers int, dropout float64, seed uint64) forecast.Config {
	c := forecast.Config{Arch: arch, Lookback: L, Horizon: L, Variates: N, Marks: F, DModel: dModel, DFF: 2 * dModel, Heads: heads,
		Layers: layers, Dropout: dropout, Task: task, Seed: seed}
	switch arch {
	case "transformer":
		c.TokenConv = true
	case "itransformer":
		c.UseNorm = task == forecast.TaskReconstruction
	}
	return c
}
