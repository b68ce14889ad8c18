package search

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/train"
)

// TrainConfig is a training run: a small decoder on one distribution,
// evaluated on balanced test sets at lookaheads 1…EvalLookahead.
type TrainConfig struct {
	Data   Params // the training distribution (Fixed must be false)
	Layers int
	Dim    int // hidden size; the feed-forward width is 4·Dim
	Heads  int // attention heads (0: 1, as train.py's default nhead)
	Steps  int
	Batch  int
	LR     float64 // peak AdamW learning rate (linear warmup, cosine to 0.1×)
	Seed   uint64  // the weights' and the training stream's seed
	// EvalLookahead is the largest test lookahead (0: MaxLookahead of
	// Data.Vertices); EvalCount examples per lookahead (0: 500), drawn
	// with EvalSeed (the same test sets for every model of that seed).
	EvalLookahead, EvalCount int
	EvalSeed                 uint64
	Progress                 io.Writer // per-step log (nil: none)
}

// DefaultEvalSeed seeds the test sets of `loom search train` and of the
// reproduction (the same sets for every model).
const DefaultEvalSeed = 2412

// Result is what a run measured.
type Result struct {
	Params int       // the model's parameters
	Loss   []float64 // training loss per step
	// Accuracy[ℓ−1] is the test accuracy at lookahead ℓ: the fraction of
	// examples whose argmax over the vocabulary at the last position is a
	// label.
	Accuracy []float64
	// ChildRate[ℓ−1] and GoalRate[ℓ−1] are the fractions of test
	// predictions that are some child of the current vertex (right or
	// wrong) and that are the goal itself (never right when ℓ ≥ 2): what
	// the model answers when it is wrong.
	ChildRate, GoalRate []float64
	// TrainAccuracy is the accuracy on the last 10 batches of the training
	// stream (before each step's update).
	TrainAccuracy float64
}

// Eval is a model's behaviour on a test set.
type Eval struct {
	Accuracy, ChildRate, GoalRate float64
}

// Evaluate runs m on ex in batches of 64 and returns the fractions of
// argmax predictions at the last position that are a label, a child of
// the current vertex, and the goal.
func Evaluate(m *decoder.Model, ex []Example) Eval {
	if len(ex) == 0 {
		return Eval{math.NaN(), math.NaN(), math.NaN()}
	}
	var ev Eval
	autograd.NoGrad(func() {
		for lo := 0; lo < len(ex); lo += 64 {
			b := ex[lo:min(len(ex), lo+64)]
			logits := m.ForwardLast(nil, batchIDs(b), len(b), SeqLen(b[0].N)).Value.Float64s()
			V := len(logits) / len(b)
			for i, e := range b {
				p := argmax(logits[i*V : (i+1)*V])
				if slices.Contains(e.Labels, p) {
					ev.Accuracy++
				}
				if p == e.Goal {
					ev.GoalRate++
				}
				for _, uv := range e.Edges {
					if uv[0] == e.Current() && uv[1] == p {
						ev.ChildRate++
						break
					}
				}
			}
		}
	})
	n := float64(len(ex))
	return Eval{ev.Accuracy / n, ev.ChildRate / n, ev.GoalRate / n}
}

func argmax(row []float64) int {
	best := 0
	for k, x := range row {
		if x > row[best] {
			best = k
		}
	}
	return best
}

func (c *TrainConfig) defaults() {
	if c.Heads == 0 {
		c.Heads = 1
	}
	if c.EvalLookahead == 0 {
		c.EvalLookahead = MaxLookahead(c.Data.Vertices)
	}
	if c.EvalCount == 0 {
		c.EvalCount = 500
	}
}

// Validate checks c, naming the CLI flag of a bad field.
func (c TrainConfig) Validate() error {
	c.defaults()
	if err := c.Data.Validate(); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--layers", c.Layers}, {"--dim", c.Dim}, {"--steps", c.Steps}, {"--batch", c.Batch}} {
		if f.v < 1 {
			return fmt.Errorf("%s %d: want at least 1", f.name, f.v)
		}
	}
	if c.Dim%c.Heads != 0 || (c.Dim/c.Heads)%2 != 0 {
		return fmt.Errorf("--dim %d: want a multiple of 2×%d heads (even head width for rotary positions)", c.Dim, c.Heads)
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		return fmt.Errorf("--lr %v: want a positive number", c.LR)
	}
	if m := MaxLookahead(c.Data.Vertices); c.EvalLookahead < 1 || c.EvalLookahead > m {
		return fmt.Errorf("test lookahead %d: want 1 to %d for %d vertices", c.EvalLookahead, m, c.Data.Vertices)
	}
	return nil
}

// Model returns the decoder configuration for n vertices.
func (c TrainConfig) Model() *decoder.Config {
	n := c.Data.Vertices
	return &decoder.Config{HiddenSize: c.Dim, IntermediateSize: 4 * c.Dim, NumHiddenLayers: c.Layers,
		NumAttentionHeads: c.Heads, NumKeyValueHeads: c.Heads, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000,
		VocabSize: Vocab(n), MaxPositionEmbeddings: SeqLen(n), InitializerRange: 0.02}
}

// TestSets returns EvalCount balanced examples at each lookahead
// 1…EvalLookahead for n vertices (the paper's test distribution).
func TestSets(n, maxLook, count int, seed uint64) ([][]Example, error) {
	out := make([][]Example, maxLook)
	for l := 1; l <= maxLook; l++ {
		ex, err := Dataset(Params{Dist: Balanced, Vertices: n, Lookahead: l, Fixed: true}, count, seed+uint64(l)*1_000_003)
		if err != nil {
			return nil, err
		}
		out[l-1] = ex
	}
	return out, nil
}

// batchIDs pads a batch's inputs to SeqLen(N) and returns the ids.
func batchIDs(ex []Example) []int {
	var ids []int
	for i := range ex {
		ids = append(ids, ex[i].Padded()...)
	}
	return ids
}

// Accuracy returns the fraction of ex whose argmax at the last position is
// a label.
func Accuracy(m *decoder.Model, ex []Example) float64 { return Evaluate(m, ex).Accuracy }

// hits counts the rows of logits [B·V] whose argmax is among that
// example's labels.
func hits(logits []float64, b []Example) int {
	V := len(logits) / len(b)
	n := 0
	for i, e := range b {
		if slices.Contains(e.Labels, argmax(logits[i*V:(i+1)*V])) {
			n++
		}
	}
	return n
}

// Train trains a decoder on c.Data's stream (fresh examples every step, as
// train.py's streaming mode) with the cross-entropy toward each example's
// sampled label at the last position, and evaluates it on balanced test
// sets at each lookahead.
func Train(c TrainConfig) (*Result, *decoder.Model, error) {
	c.defaults()
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	if c.Data.Fixed {
		return nil, nil, fmt.Errorf("search: training on a fixed-lookahead distribution is not supported")
	}
	m, err := decoder.New(c.Model(), c.Seed)
	if err != nil {
		return nil, nil, err
	}
	gen, err := NewGenerator(c.Data, c.Seed)
	if err != nil {
		return nil, nil, err
	}
	tests, err := TestSets(c.Data.Vertices, c.EvalLookahead, c.EvalCount, c.EvalSeed)
	if err != nil {
		return nil, nil, err
	}
	params := m.Params()
	opt := optim.NewAdamW(train.ParamGroups(params, c.LR, 0.1))
	opt.Beta2 = 0.99
	sched := optim.WarmupCosine{Warmup: max(1, c.Steps/20), Total: c.Steps, MinFactor: 0.1}
	res := &Result{Params: m.NumParams()}
	T := SeqLen(c.Data.Vertices)
	trainHits, trainSeen := 0, 0
	batch := make([]Example, c.Batch)
	for step := range c.Steps {
		for i := range batch {
			if batch[i], err = gen.Next(); err != nil {
				return nil, nil, err
			}
		}
		targets := make([]int, c.Batch)
		for i, e := range batch {
			targets[i] = e.Label
		}
		opt.SetLRScale(sched.Factor(step + 1))
		opt.ZeroGrad()
		logits := m.ForwardLast(nil, batchIDs(batch), c.Batch, T) // [B, 1, V]
		loss := autograd.CrossEntropy(autograd.Reshape(logits, c.Batch, Vocab(c.Data.Vertices)), targets, autograd.IgnoreIndex, 0)
		if step >= c.Steps-10 {
			trainHits += hits(logits.Value.Float64s(), batch)
			trainSeen += c.Batch
		}
		loss.Backward()
		optim.ClipGradNorm(params, 1)
		opt.Step()
		l := loss.Item()
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return nil, nil, fmt.Errorf("search: the loss diverged at step %d (%v); lower --lr", step+1, l)
		}
		res.Loss = append(res.Loss, l)
		if c.Progress != nil && ((step+1)%max(1, c.Steps/10) == 0 || step == 0) {
			fmt.Fprintf(c.Progress, "step %d/%d loss %.4f\n", step+1, c.Steps, l)
		}
	}
	res.TrainAccuracy = float64(trainHits) / float64(max(1, trainSeen))
	for _, ts := range tests {
		ev := Evaluate(m, ts)
		res.Accuracy = append(res.Accuracy, ev.Accuracy)
		res.ChildRate = append(res.ChildRate, ev.ChildRate)
		res.GoalRate = append(res.GoalRate, ev.GoalRate)
	}
	return res, m, nil
}
