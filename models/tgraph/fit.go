package tgraph

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/events"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// FitOptions configure Fit; zero values take the defaults shown.
type FitOptions struct {
	Epochs int // 10
	Batch  int // 200 consecutive training events per step (DyGLib's)
	// LR is AdamW's peak learning rate (1e-3), reached after a warmup of a
	// twentieth of the steps and decayed by a cosine to a tenth of it;
	// gradients are clipped to norm 1.
	LR          float64
	WeightDecay float64 // 0 (DyGLib's Adam has none)
	// Patience stops training after that many epochs in a row without a
	// higher validation AP (0: never); the weights of the epoch with the
	// highest one are kept either way.
	Patience int
	// Seed seeds the training negatives (Seed+1) and dropout (Seed+2);
	// the weights come from the model's Config.Seed.
	Seed uint64
	// Eval is the validation's batch size and the seed of its negatives
	// (its Strategies are ignored: validation uses random negatives).
	Eval EvalOptions
	// OutDir, when set, receives the training loop's checkpoint/ (after
	// every epoch), metrics.jsonl and loss.png.
	OutDir   string
	Progress io.Writer
	// Context, when canceled, stops training after the step under way;
	// Fit returns the *train.Interrupted.
	Context context.Context
}

// FitResult is what Fit reports.
type FitResult struct {
	Params    int     `json:"params"`
	Steps     int     `json:"steps"`
	Epochs    int     `json:"epochs"`     // epochs run
	BestEpoch int     `json:"best_epoch"` // 1-based epoch whose weights were kept
	ValAP     float64 `json:"val_ap"`     // its validation AP (ValidationAP)
	// ValAPs is the validation AP after each epoch.
	ValAPs  []float64      `json:"val_aps"`
	Curve   []train.Metric `json:"-"`
	Seconds float64        `json:"seconds"`
}

// ValidationAP is the number Fit selects epochs on: the AP of m on sp.Val
// in the transductive setting with random negatives, as the mean over
// batches that DyGLib reports (and early-stops on).
func ValidationAP(m Scorer, s *events.Stream, sp *events.Split, opt EvalOptions) (float64, error) {
	opt.Strategies = []Strategy{Random}
	rs, err := Evaluate(m, s, sp, sp.Val, opt)
	if err != nil {
		return math.NaN(), err
	}
	for _, r := range rs {
		if r.Setting == Transductive && r.Strategy == Random {
			return r.BatchAP, nil
		}
	}
	return math.NaN(), fmt.Errorf("tgraph: no transductive validation result")
}

// Fit trains m on sp's training events through train.Loop as DyGLib
// trains its models — batches of consecutive events in time order, one
// random negative destination per positive, binary cross-entropy, the
// model reading the training events before each batch (TrainHistory) —
// with AdamW, and picks the epoch of highest validation AP
// (ValidationAP; the loop minimises 1 − AP and restores that epoch's
// weights). m holds those weights when Fit returns.
func Fit(m LinkModel, s *events.Stream, sp *events.Split, o FitOptions) (*FitResult, error) {
	start := time.Now()
	if o.Epochs == 0 {
		o.Epochs = 10
	}
	if o.Batch == 0 {
		o.Batch = 200
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.Epochs < 0 || o.Batch < 0 || !(o.LR > 0) || o.WeightDecay < 0 || o.Patience < 0 {
		return nil, fmt.Errorf("tgraph: fit of %d epochs, batches of %d, lr %v, weight decay %v, patience %d", o.Epochs, o.Batch, o.LR, o.WeightDecay, o.Patience)
	}
	if len(sp.Val) == 0 {
		return nil, fmt.Errorf("tgraph: %s: no validation events to select the epoch on", s.Name)
	}
	if c := m.Config(); c.EdgeFeat != s.FeatDim {
		return nil, fmt.Errorf("tgraph: a model of %d edge features on %s, of %d", c.EdgeFeat, s.Name, s.FeatDim)
	}
	smp, err := NewSampler(s, sp.Train, o.Batch, o.Seed+1)
	if err != nil {
		return nil, err
	}
	per := smp.StepsPerEpoch()
	steps := o.Epochs * per
	h := train.Hyper{Steps: steps, BatchSize: o.Batch, LR: o.LR, Warmup: max(1, steps/20), MinLRFactor: 0.1,
		WeightDecay: o.WeightDecay, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Clip: 1}
	var aps []float64
	loop := &train.Loop[*Batch]{Model: Trainer{M: m, H: TrainHistory(s, sp)}, Data: smp, Hyper: h,
		RNG: tensor.NewRNG(o.Seed + 2), EvalEvery: per, StepsPerEpoch: per, RestoreBest: true, Patience: o.Patience,
		Validate: func() (float64, error) {
			ap, err := ValidationAP(m, s, sp, o.Eval)
			aps = append(aps, ap)
			return 1 - ap, err
		},
		OutDir: o.OutDir, Progress: o.Progress, Context: o.Context,
		Plot:      train.PlotLossAs("binary cross-entropy (validation: 1 − AP)"),
		SaveModel: func(dir string) error { return SaveInto(m, dir) },
		Meta:      map[string]string{"events": s.Name, "arch": m.Config().Arch}}
	if o.Progress == nil {
		loop.Progress = io.Discard
	}
	if err := loop.Train(); err != nil {
		return nil, err
	}
	best, loss := loop.BestStep()
	return &FitResult{Params: autograd.NumParams(m.Params()), Steps: loop.Step(), Epochs: (loop.Step() + per - 1) / per,
		BestEpoch: best / per, ValAP: 1 - loss, ValAPs: aps, Curve: loop.Metrics(), Seconds: time.Since(start).Seconds()}, nil
}
