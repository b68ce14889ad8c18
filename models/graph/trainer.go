package graph

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Set is a labelled set of graphs, the train.Examples of a graph model's
// training: Batch collates the graphs chosen with their LapPE and targets.
type Set struct {
	Graphs  []*Graph
	Targets [][]float64 // [len(Graphs)][T]
	PEDim   int         // k of the batches' LapPE (0: none)
}

// NewSet checks graphs and targets (one row of the same length per graph)
// and computes each graph's LapPE of k eigenvectors once.
func NewSet(graphs []*Graph, targets [][]float64, k int) (*Set, error) {
	if len(targets) != len(graphs) {
		return nil, fmt.Errorf("graph: %d graphs with %d targets", len(graphs), len(targets))
	}
	for i, g := range graphs {
		if err := g.Check(); err != nil {
			return nil, fmt.Errorf("graph %d: %w", i, err)
		}
		if len(targets[i]) == 0 || len(targets[i]) != len(targets[0]) {
			return nil, fmt.Errorf("graph: graph %d has %d targets, graph 0 %d", i, len(targets[i]), len(targets[0]))
		}
		if k > 0 {
			g.PE(k)
		}
	}
	if _, err := Collate(graphs, 0); err != nil { // the feature counts agree
		return nil, err
	}
	return &Set{Graphs: graphs, Targets: targets, PEDim: k}, nil
}

// Len returns the number of graphs.
func (s *Set) Len() int { return len(s.Graphs) }

// Batch collates graphs idx with their targets.
func (s *Set) Batch(idx []int) *Batch {
	gs := make([]*Graph, len(idx))
	T := len(s.Targets[0])
	y := make([]float64, 0, len(idx)*T)
	for i, j := range idx {
		gs[i] = s.Graphs[j]
		y = append(y, s.Targets[j]...)
	}
	b, err := Collate(gs, s.PEDim)
	if err != nil {
		panic(err) // NewSet checked the graphs
	}
	b.Target = tensor.FromFloat64(y, len(idx), T).To(tensor.Float32)
	return b
}

// Trainer adapts a Model to train.Loop: the objective of a batch is the
// mean absolute error of the predictions (the reference's L1 loss on
// ZINC), or with MSE the mean squared error.
type Trainer struct {
	M   Model
	MSE bool
}

// Params returns the model's parameters.
func (t Trainer) Params() []*autograd.Var { return t.M.Params() }

// Buffers returns the model's buffers (BatchNorm's running estimates),
// which train.Loop's checkpoints and best-weight restoring carry with the
// parameters.
func (t Trainer) Buffers() []*autograd.Var { return t.M.Buffers() }

// Loss is the model's error on b's targets.
func (t Trainer) Loss(ctx *nn.Ctx, b *Batch) *autograd.Var {
	y := t.M.Forward(ctx, b)
	target := autograd.Const(b.Target.To(y.Value.DType()))
	if t.MSE {
		return autograd.MSELoss(y, target)
	}
	return autograd.L1Loss(y, target)
}

// Metrics are a model's errors on a set.
type Metrics struct {
	MAE, RMSE float64
}

// Evaluate returns m's errors on s in evaluation mode, in batches of bs
// graphs, over every target.
func Evaluate(m Model, s *Set, bs int) Metrics {
	var abs, sq float64
	var n int
	autograd.NoGrad(func() {
		for start := 0; start < s.Len(); start += bs {
			idx := make([]int, 0, bs)
			for i := start; i < min(start+bs, s.Len()); i++ {
				idx = append(idx, i)
			}
			b := s.Batch(idx)
			y := m.Forward(nil, b).Value.Float64s()
			for i, t := range b.Target.Float64s() {
				d := y[i] - t
				abs += math.Abs(d)
				sq += d * d
				n++
			}
		}
	})
	if n == 0 {
		return Metrics{}
	}
	return Metrics{MAE: abs / float64(n), RMSE: math.Sqrt(sq / float64(n))}
}
