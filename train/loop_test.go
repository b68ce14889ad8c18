package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// toyBatch is a regression batch.
type toyBatch struct{ X, Y *tensor.Tensor }

// toy is y = dropout(x)·W with an auxiliary L2 penalty on W.
type toy struct{ W *autograd.Var }

func (m *toy) Params() []*autograd.Var { return []*autograd.Var{m.W} }

func (m *toy) Loss(ctx *nn.Ctx, b toyBatch) *autograd.Var {
	x := ctx.Dropout(autograd.Const(b.X), 0.2)
	ctx.AddAux("l2", 0.01, autograd.Sum(autograd.Mul(m.W, m.W), false))
	return autograd.MSELoss(autograd.MatMul(x, m.W, false, false), autograd.Const(b.Y))
}

// toySampler draws batches from its own RNG.
type toySampler struct{ rng *tensor.RNG }

func (s *toySampler) Next() toyBatch {
	x := tensor.RandN(s.rng, 8, 4)
	return toyBatch{X: x, Y: tensor.MatMul(x, tensor.Ones(4, 1), false, false)}
}
func (s *toySampler) State() ([]byte, error) { return s.rng.MarshalBinary() }
func (s *toySampler) SetState(b []byte) error {
	return s.rng.UnmarshalBinary(b)
}

// toyLoop has a scripted validation curve: best at step 4, then worse, so
// patience 2 stops it after step 8.
func toyLoop(dir string, stopAt int) *Loop[toyBatch] {
	m := &toy{W: autograd.NewParam("w", autograd.RoleMatrix, tensor.Zeros(4, 1))}
	l := &Loop[toyBatch]{Model: m, Data: &toySampler{tensor.NewRNG(3)}, RNG: tensor.NewRNG(4),
		Hyper:     Hyper{Steps: 20, LR: 0.05, Clip: 1},
		EvalEvery: 2, Patience: 2, RestoreBest: true, OutDir: dir, CheckpointEvery: 3, StopAt: stopAt}
	script := map[int]float64{2: 3, 4: 1, 6: 1.5, 8: 2}
	l.Validate = func() (float64, error) { return script[l.Step()], nil }
	return l
}

func TestLoopEarlyStoppingRestoresBestAndResumes(t *testing.T) {
	full := toyLoop(t.TempDir(), 0)
	if err := full.Train(); err != nil {
		t.Fatal(err)
	}
	if full.Step() != 8 {
		t.Fatalf("stopped after step %d, want 8 (patience 2 after the best at 4)", full.Step())
	}
	best, loss := full.BestStep()
	if best != 4 || loss != 1 {
		t.Fatalf("best step %d (loss %v), want 4 (1)", best, loss)
	}
	// The restored weights are those after step 4: retrain 4 steps.
	four := toyLoop(t.TempDir(), 4)
	if err := four.Train(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(full.Model.Params()[0].Value.F32(), four.Model.Params()[0].Value.F32()) {
		t.Fatalf("restored weights %v, weights after step 4 %v", full.Model.Params()[0].Value.F32(), four.Model.Params()[0].Value.F32())
	}
	// Split at step 5 (after the best, with one bad evaluation to come) and
	// resumed: the same losses, the same stop, the same restored weights.
	dir := t.TempDir()
	if err := toyLoop(dir, 5).Train(); err != nil {
		t.Fatal(err)
	}
	resumed := toyLoop(dir, 0)
	if err := resumed.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := resumed.Train(); err != nil {
		t.Fatal(err)
	}
	a, b := full.Metrics(), resumed.Metrics()
	if len(a) != len(b) {
		t.Fatalf("%d and %d metrics", len(a), len(b))
	}
	for i := range a {
		if a[i].Loss != b[i].Loss || a[i].Aux["l2"] != b[i].Aux["l2"] {
			t.Fatalf("step %d: resumed loss %v (aux %v), uninterrupted %v (aux %v)", i, b[i].Loss, b[i].Aux, a[i].Loss, a[i].Aux)
		}
	}
	if !slices.Equal(full.Model.Params()[0].Value.F32(), resumed.Model.Params()[0].Value.F32()) {
		t.Fatal("resumed run restored other weights")
	}
	// The final checkpoint records the stop, so a further resume trains no more.
	again := toyLoop(dir, 0)
	if err := again.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := again.Train(); err != nil || again.Step() != 8 {
		t.Fatalf("resuming a stopped run: step %d, %v", again.Step(), err)
	}
}

// Auxiliary losses join the objective (their gradients reach the weights)
// and are logged, unweighted, under their names.
func TestLoopAuxLosses(t *testing.T) {
	dir := t.TempDir()
	l := toyLoop(dir, 3)
	l.Validate, l.Patience = nil, 0
	l.Model.Params()[0].Value = tensor.Full(1, 4, 1) // the MSE optimum: only the penalty pulls
	if err := l.Train(); err != nil {
		t.Fatal(err)
	}
	m := l.Metrics()[0]
	if math.Abs(m.Aux["l2"]-4) > 1e-6 {
		t.Fatalf("logged aux %v, want l2 = ‖W‖² = 4", m.Aux)
	}
	if w := l.Model.Params()[0].Value.F32(); !(w[0] < 1) {
		t.Fatalf("the penalty did not shrink W: %v", w)
	}
	b, _ := os.ReadFile(filepath.Join(dir, MetricsFile))
	var first Metric
	json.Unmarshal([]byte(strings.SplitN(string(b), "\n", 2)[0]), &first)
	if first.Aux["l2"] != m.Aux["l2"] {
		t.Fatalf("metrics.jsonl: %s", b)
	}
}

// toyBuffered is toy with a buffer, a running mean of the inputs updated
// by every training step (as BatchNorm's running estimates are).
type toyBuffered struct {
	toy
	run *autograd.Var
}

func (m *toyBuffered) Buffers() []*autograd.Var { return []*autograd.Var{m.run} }

func (m *toyBuffered) Loss(ctx *nn.Ctx, b toyBatch) *autograd.Var {
	r := m.run.Value.F32()
	r[0] = 0.9*r[0] + 0.1*b.X.F32()[0]
	return m.toy.Loss(ctx, b)
}

// TestLoopBuffers: a model's buffers travel with its weights: checkpoints
// hold them (a split, resumed run ends with the uninterrupted run's
// buffer) and RestoreBest puts back the buffer of the best step.
func TestLoopBuffers(t *testing.T) {
	loop := func(dir string, stopAt int) *Loop[toyBatch] {
		l := toyLoop(dir, stopAt)
		l.Model = &toyBuffered{toy: *l.Model.(*toy), run: autograd.Const(tensor.Zeros(1))}
		l.Model.(*toyBuffered).run.Name = "running"
		return l
	}
	buf := func(l *Loop[toyBatch]) float32 { return l.Model.(*toyBuffered).run.Value.F32()[0] }
	full := loop(t.TempDir(), 0)
	if err := full.Train(); err != nil {
		t.Fatal(err)
	}
	four := loop(t.TempDir(), 4)
	if err := four.Train(); err != nil {
		t.Fatal(err)
	}
	if buf(full) != buf(four) || buf(four) == 0 {
		t.Fatalf("restored buffer %v, buffer after the best step 4: %v", buf(full), buf(four))
	}
	dir := t.TempDir()
	if err := loop(dir, 5).Train(); err != nil {
		t.Fatal(err)
	}
	resumed := loop(dir, 0)
	if err := resumed.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := resumed.Train(); err != nil {
		t.Fatal(err)
	}
	if buf(resumed) != buf(full) {
		t.Fatalf("resumed run's buffer %v, uninterrupted %v", buf(resumed), buf(full))
	}
}
