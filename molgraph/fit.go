package molgraph

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chem"
	"github.com/loomml/loom/models/graph"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// Options configure Fit. Zero values take the defaults in Defaults.
type Options struct {
	Arch    string // gt, gt-full, gcn, gin
	PE      int    // LapPE eigenvectors (0: none)
	Norm    string // batch or layer
	Layers  int
	Dim     int
	Heads   int
	Readout string // sum or mean
	Dropout float64

	Split       string // random or scaffold
	Epochs      int
	Batch       int
	LR          float64
	WeightDecay float64
	// Patience stops training after that many epochs without a lower
	// validation MAE (0: never); the best epoch's weights are kept.
	Patience int
	Seed     uint64
	// OutDir, when set, receives the run: checkpoint/ (the model,
	// resumable), metrics.jsonl, loss.png.
	OutDir   string
	Progress io.Writer
}

// Defaults fills o's zero fields: the model of graph.Defaults (the
// reference's ZINC Graph Transformer: 10 layers of 64, 8 heads, BatchNorm,
// mean readout), a scaffold split, 100 epochs of 128 molecules at learning
// rate 7e-4 (the reference's init_lr) with warmup and cosine decay. PE
// stays as given (0: none).
func (o Options) Defaults() Options {
	if o.Arch == "" {
		o.Arch = "gt"
	}
	d := graph.Defaults(o.Arch, nil, nil)
	o.Norm = cmp.Or(o.Norm, d.Norm)
	o.Readout = cmp.Or(o.Readout, d.Readout)
	o.Layers = cmp.Or(o.Layers, d.Layers)
	o.Dim = cmp.Or(o.Dim, d.Dim)
	o.Heads = cmp.Or(o.Heads, d.Heads)
	o.Split = cmp.Or(o.Split, SplitScaffold)
	o.Epochs = cmp.Or(o.Epochs, 100)
	o.Batch = cmp.Or(o.Batch, 128)
	o.LR = cmp.Or(o.LR, 7e-4)
	return o
}

// Result is a finished Fit.
type Result struct {
	Options   Options
	Config    graph.Config
	Params    int
	Split     Split
	Steps     int
	BestEpoch int
	// Train, Val and Test are the best epoch's errors in target units.
	Train, Val, Test graph.Metrics
	Curve            []train.Metric
	Seconds          float64
}

// Fit trains a model on d's training rows (its split by o.Split), picking
// the epoch with the lowest validation MAE, and reports its errors.
func Fit(d *Dataset, o Options) (*Result, *Model, error) {
	o = o.Defaults()
	if d.Targets == nil {
		return nil, nil, fmt.Errorf("%s: no target column", d.Name)
	}
	sp, err := MakeSplit(d, o.Split, o.Seed)
	if err != nil {
		return nil, nil, err
	}
	// Standardise on the training rows.
	var mean, sq float64
	for _, i := range sp.Train {
		mean += d.Targets[i]
	}
	mean /= float64(len(sp.Train))
	for _, i := range sp.Train {
		sq += (d.Targets[i] - mean) * (d.Targets[i] - mean)
	}
	std := math.Sqrt(sq / float64(len(sp.Train)))
	if !(std > 0) {
		std = 1
	}
	subset := func(idx []int) (*graph.Set, error) {
		gs := make([]*graph.Graph, len(idx))
		ys := make([][]float64, len(idx))
		for k, i := range idx {
			gs[k], ys[k] = d.Graphs[i], []float64{(d.Targets[i] - mean) / std}
		}
		return graph.NewSet(gs, ys, o.PE)
	}
	trainSet, err := subset(sp.Train)
	if err != nil {
		return nil, nil, err
	}
	valSet, err := subset(sp.Val)
	if err != nil {
		return nil, nil, err
	}
	testSet, err := subset(sp.Test)
	if err != nil {
		return nil, nil, err
	}
	cfg := graph.Config{Arch: o.Arch, NodeVocab: chem.AtomFeatureDims, EdgeVocab: chem.BondFeatureDims, Dim: o.Dim, Heads: o.Heads,
		Layers: o.Layers, PEDim: o.PE, Norm: o.Norm, Readout: o.Readout, Dropout: o.Dropout, Out: 1, Seed: o.Seed}
	net, err := graph.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	m := &Model{Net: net, Mean: mean, Std: std, Target: d.TargetCol}
	per := max(1, len(sp.Train)/o.Batch)
	h := train.Hyper{Steps: o.Epochs * per, BatchSize: o.Batch, LR: o.LR, Warmup: per, MinLRFactor: 0.01,
		WeightDecay: o.WeightDecay, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Clip: 1}
	loop := &train.Loop[*graph.Batch]{Model: graph.Trainer{M: net}, Data: train.NewEpochSampler[*graph.Batch](trainSet, o.Batch, o.Seed+1),
		Hyper: h, RNG: tensor.NewRNG(o.Seed + 2), EvalEvery: per, StepsPerEpoch: per, RestoreBest: true,
		Validate: func() (float64, error) { return graph.Evaluate(net, valSet, 256).MAE * std, nil },
		OutDir:   o.OutDir, Progress: o.Progress, Plot: train.PlotLossAs("L1 on standardised targets"),
		SaveModel: func(dir string) error { return m.Save(dir) }}
	if o.Patience > 0 {
		loop.Patience = o.Patience
	}
	if o.Progress == nil {
		loop.Progress = io.Discard
	}
	start := time.Now()
	if err := loop.Train(); err != nil {
		return nil, nil, err
	}
	scale := func(x graph.Metrics) graph.Metrics { return graph.Metrics{MAE: x.MAE * std, RMSE: x.RMSE * std} }
	best, _ := loop.BestStep()
	r := &Result{Options: o, Config: cfg, Params: autograd.NumParams(net.Params()), Split: sp, Steps: loop.Step(), BestEpoch: best / per,
		Train: scale(graph.Evaluate(net, trainSet, 256)), Val: scale(graph.Evaluate(net, valSet, 256)), Test: scale(graph.Evaluate(net, testSet, 256)),
		Curve: loop.Metrics(), Seconds: time.Since(start).Seconds()}
	return r, m, nil
}
