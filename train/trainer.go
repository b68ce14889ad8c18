package train

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

// Model is what the loop trains: parameters, and the objective of a batch
// of type B. Loss is called with a training Ctx (Train set, the dropout
// RNG, a sink for auxiliary losses, which the loop adds to the objective).
type Model[B any] interface {
	nn.Module
	Loss(ctx *nn.Ctx, batch B) *autograd.Var
}

// Sampler yields training batches and can save and restore its position.
type Sampler[B any] interface {
	Next() B
	State() ([]byte, error)
	SetState([]byte) error
}

// Loop is one training run of any model: optimizer steps with gradient
// accumulation, clipping and a learning-rate schedule; validation with
// optional early stopping and restoring of the best weights; a JSONL
// metrics log, a loss-curve PNG and atomic checkpoints of weights,
// optimizer, sampler and RNG state that resume exactly.
type Loop[B any] struct {
	Model Model[B]
	Data  Sampler[B]
	Hyper Hyper
	// Optimizer replaces AdamW with Hyper's settings (NewAdamW) when set;
	// it must hold the model's trainable parameters.
	Optimizer optim.Optimizer
	// Schedule replaces Hyper's warmup + cosine when set.
	Schedule optim.Schedule
	// Precision of the matrix products of the training steps (forward and
	// backward; autograd.SetPrecision). Validation runs in float32.
	Precision tensor.Precision
	// RNG drives dropout (Ctx.RNG); nil: no dropout. Its state is
	// checkpointed.
	RNG *tensor.RNG
	// Validate returns the validation loss (nil: no evaluation).
	Validate  func() (float64, error)
	EvalEvery int // steps between evaluations (0: only at the end)
	// Patience, when positive, stops training after that many evaluations
	// in a row without a lower validation loss.
	Patience int
	// RestoreBest puts back, when training ends, the weights of the
	// evaluation with the lowest validation loss.
	RestoreBest bool
	// StepsPerEpoch, when positive, numbers epochs in the metrics and the
	// progress bar (the sampler decides what an epoch is).
	StepsPerEpoch   int
	CheckpointEvery int    // steps between checkpoints (0: only at the end)
	OutDir          string // checkpoint/, metrics.jsonl, loss.png ("": none)
	Progress        io.Writer
	// Plot draws the loss curve from the metrics (default PlotLoss).
	Plot func(path string, ms []Metric) error
	// Meta is stored in the checkpoint's trainer state (data paths, preset…).
	Meta map[string]string
	// SaveModel writes the model into a checkpoint directory; by default
	// its state (parameters, and the buffers of an nn.Buffered model such
	// as BatchNorm's running estimates) as model.safetensors, which Resume
	// reads back. A family writes its config beside them.
	SaveModel func(dir string) error
	// SaveExtra, when set, writes more files (a tokenizer.json) into each
	// checkpoint directory before it replaces the previous one.
	SaveExtra func(dir string) error
	// StopAt, when positive, ends Train after that step (with a checkpoint)
	// although the schedule runs to Hyper.Steps: it splits a run in two.
	StopAt int
	// Context, when set, stops Train once it is canceled (Ctrl-C): the
	// optimizer step under way finishes, a checkpoint is written (with
	// OutDir) and Train returns an *Interrupted error.
	Context context.Context
	// ProgressEvery is the least time between two progress lines when
	// Progress is not a terminal (0: progress.DefaultInterval).
	ProgressEvery time.Duration

	opt     optim.Optimizer
	step    int
	saved   int // the step of the checkpoint in OutDir (-1: none)
	log     []Metric
	best    bestState
	stopped bool
	start   time.Time
}

// bestState is early stopping's memory.
type bestState struct {
	Loss float64 `json:"loss"`
	Step int     `json:"step"` // step after which it was measured (0: none yet)
	Bad  int     `json:"bad"`  // evaluations since without improvement
	vals []*tensor.Tensor
}

// Metric is one line of metrics.jsonl.
type Metric struct {
	Step     int                `json:"step"`
	Epoch    int                `json:"epoch,omitempty"` // 1-based, with StepsPerEpoch
	Loss     float64            `json:"loss,omitempty"`
	Aux      map[string]float64 `json:"aux,omitempty"` // auxiliary losses, unweighted
	ValLoss  float64            `json:"val_loss,omitempty"`
	LR       float64            `json:"lr,omitempty"`
	GradNorm float64            `json:"grad_norm,omitempty"`
	TokensPS float64            `json:"tokens_per_s,omitempty"`
	ElapsedS float64            `json:"elapsed_s"`
}

// trainerState is checkpoint/trainer_state.json.
type trainerState struct {
	Step    int               `json:"step"`
	Hyper   Hyper             `json:"hyper"`
	Sampler string            `json:"sampler_state"`       // base64
	RNG     string            `json:"rng_state,omitempty"` // base64, the dropout stream
	Best    *bestState        `json:"best,omitempty"`
	Stopped bool              `json:"stopped,omitempty"` // early stopping ended the run
	Meta    map[string]string `json:"meta,omitempty"`
}

// Checkpoint layout inside OutDir.
const (
	CheckpointDir  = "checkpoint"
	WeightsFile    = "model.safetensors"
	OptimizerFile  = "optimizer.safetensors"
	BestFile       = "best.safetensors" // early stopping's best weights (RestoreBest)
	StateFile      = "trainer_state.json"
	MetricsFile    = "metrics.jsonl"
	LossCurveFile  = "loss.png"
	checkpointTemp = ".checkpoint.tmp"
	checkpointOld  = ".checkpoint.old"
)

// Step returns the number of optimizer steps taken.
func (l *Loop[B]) Step() int { return l.step }

// Metrics returns the metrics recorded so far.
func (l *Loop[B]) Metrics() []Metric { return l.log }

// BestStep returns the step after which the lowest validation loss was
// measured (0 when there was no evaluation), and that loss.
func (l *Loop[B]) BestStep() (int, float64) { return l.best.Step, l.best.Loss }

// Opt returns the optimizer in use.
func (l *Loop[B]) Opt() optim.Optimizer { l.init(); return l.opt }

func (l *Loop[B]) init() {
	if l.opt == nil {
		l.opt = l.Optimizer
		if l.opt == nil {
			l.opt = NewAdamW(l.Model.Params(), l.Hyper)
		}
		l.best.Loss = math.Inf(1)
		l.saved = -1
	}
}

func (l *Loop[B]) schedule() optim.Schedule {
	if l.Schedule != nil {
		return l.Schedule
	}
	return l.Hyper.Schedule()
}

// ErrDiverged is wrapped by the error of a run whose loss became NaN or
// infinite.
var ErrDiverged = errors.New("training diverged")

// ErrInterrupted is wrapped by the error of a run stopped by its Context.
var ErrInterrupted = errors.New("interrupted")

// Interrupted is the error of a run stopped by its Context between two
// optimizer steps.
type Interrupted struct {
	Step, Steps int
	// Checkpoint is the directory holding the checkpoint of Step, from
	// which the run resumes ("": there is none).
	Checkpoint string
}

func (e *Interrupted) Error() string {
	if e.Checkpoint == "" {
		return fmt.Sprintf("interrupted at step %d/%d; no checkpoint saved", e.Step, e.Steps)
	}
	return fmt.Sprintf("interrupted at step %d/%d; checkpoint saved to %s", e.Step, e.Steps, e.Checkpoint)
}

func (e *Interrupted) Unwrap() error { return ErrInterrupted }

// PastSteps is the error of a run resumed from a checkpoint beyond its
// last step (a run of fewer steps than the one that saved it).
type PastSteps struct {
	Checkpoint  string
	Step, Steps int
}

func (e *PastSteps) Error() string {
	return fmt.Sprintf("%s is at step %d, past the run's %d steps; give more than %d steps to train further", e.Checkpoint, e.Step, e.Steps, e.Step)
}

// CheckpointStep reads the step of the checkpoint in outDir without
// loading it; ok is false when there is none.
func CheckpointStep(outDir string) (step int, ok bool, err error) {
	path := filepath.Join(outDir, CheckpointDir, StateFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var st trainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return 0, false, fmt.Errorf("%s: %w", path, err)
	}
	return st.Step, true, nil
}

// Resume restores model, optimizer, sampler, RNG, step, early-stopping
// state and metrics from OutDir/checkpoint. It fails, naming the file, if
// any part is missing or does not match the run.
func (l *Loop[B]) Resume() error {
	l.init()
	dir := filepath.Join(l.OutDir, CheckpointDir)
	raw, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return err
	}
	var st trainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	params := l.state()
	if err := nn.LoadParams(filepath.Join(dir, WeightsFile), params); err != nil {
		return err
	}
	optState, err := loadState(filepath.Join(dir, OptimizerFile))
	if err != nil {
		return err
	}
	if err := l.opt.LoadState(optState); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, OptimizerFile), err)
	}
	if err := restore(filepath.Join(dir, StateFile), "sampler_state", st.Sampler, l.Data.SetState); err != nil {
		return err
	}
	if l.RNG != nil {
		if err := restore(filepath.Join(dir, StateFile), "rng_state", st.RNG, l.RNG.UnmarshalBinary); err != nil {
			return err
		}
	}
	if st.Best != nil {
		l.best = *st.Best
		if l.RestoreBest && l.best.Step > 0 {
			if l.best.vals, err = loadBest(filepath.Join(dir, BestFile), params); err != nil {
				return err
			}
		}
	}
	l.step, l.stopped, l.saved = st.Step, st.Stopped, st.Step
	l.log, err = readMetrics(filepath.Join(l.OutDir, MetricsFile), st.Step)
	return err
}

// restore decodes a base64 field of the trainer state into set.
func restore(path, field, b64 string, set func([]byte) error) error {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err == nil {
		err = set(b)
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", path, field, err)
	}
	return nil
}

// Train runs optimizer steps until Hyper.Steps (or early stopping),
// evaluating, logging and checkpointing on the way, writes a final
// checkpoint and, with RestoreBest, puts back the best weights. Canceling
// Context stops it after the step under way, with a checkpoint.
func (l *Loop[B]) Train() error {
	l.init()
	if l.step > l.Hyper.Steps {
		return &PastSteps{Checkpoint: filepath.Join(l.OutDir, CheckpointDir), Step: l.step, Steps: l.Hyper.Steps}
	}
	if l.OutDir != "" {
		if err := os.MkdirAll(l.OutDir, 0o755); err != nil {
			return err
		}
		// Rewrite the log so that it ends at the resumed step.
		if err := writeMetrics(filepath.Join(l.OutDir, MetricsFile), l.log); err != nil {
			return err
		}
	}
	h := l.Hyper
	sched := l.schedule()
	label := "train"
	if l.StepsPerEpoch > 0 {
		label = fmt.Sprintf("train (%d epochs)", (h.Steps+l.StepsPerEpoch-1)/l.StepsPerEpoch)
	}
	bar := progress.New(cmp.Or[io.Writer](l.Progress, io.Discard), label, h.Steps)
	bar.Interval = cmp.Or(l.ProgressEvery, bar.Interval)
	bar.Base = l.step // a resumed run's ETA counts only the steps since
	tokens := 0
	l.start = time.Now()
	startStep := l.step
	lastVal := math.NaN()
	if l.best.Step > 0 {
		lastVal = l.best.Loss
	}
	end := h.Steps
	if l.StopAt > 0 && l.StopAt < end {
		end = l.StopAt
	}
	aux := &nn.AuxLosses{}
	for l.step < end && !l.stopped {
		if l.Context != nil && l.Context.Err() != nil {
			return l.interrupt(bar, lastVal)
		}
		t0 := time.Now()
		var main float64
		var auxVals map[string]float64
		var loss, norm float64
		autograd.WithPrecision(l.Precision, func() {
			loss, norm = Step(l.opt, sched, l.step, h, func() *autograd.Var {
				batch := l.Data.Next()
				tokens = batchTokens(batch)
				ctx := &nn.Ctx{Train: true, RNG: l.RNG, Aux: aux}
				obj := l.Model.Loss(ctx, batch)
				main += obj.Item()
				if t := aux.Total(); t != nil {
					auxVals = addValues(auxVals, aux.Values())
					obj = autograd.Add(obj, t)
				}
				aux.Reset()
				return obj
			})
		})
		accum := float64(max(1, h.GradAccum))
		main /= accum
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("train: %w: loss became %v at step %d (try a lower learning rate)", ErrDiverged, loss, l.step)
		}
		for k := range auxVals {
			auxVals[k] /= accum
		}
		m := Metric{Step: l.step, Loss: main, Aux: auxVals, LR: h.LR * sched.Factor(l.step), GradNorm: norm, ElapsedS: time.Since(l.start).Seconds()}
		if tokens > 0 {
			m.TokensPS = float64(tokens*max(1, h.GradAccum)) / time.Since(t0).Seconds()
		}
		if l.StepsPerEpoch > 0 {
			m.Epoch = l.step/l.StepsPerEpoch + 1
		}
		l.step++
		if l.Validate != nil && ((l.EvalEvery > 0 && l.step%l.EvalEvery == 0) || l.step == h.Steps) {
			v, err := l.Validate()
			if err != nil {
				return err
			}
			m.ValLoss, lastVal = v, v
			l.observe(v)
		}
		l.log = append(l.log, m)
		if err := l.appendMetric(m); err != nil {
			return err
		}
		fields := []string{fmt.Sprintf("loss %.4f", main)}
		if !math.IsNaN(lastVal) {
			fields = append(fields, fmt.Sprintf("val %.4f", lastVal))
		}
		if m.TokensPS > 0 {
			rate := float64((l.step-startStep)*tokens*max(1, h.GradAccum)) / time.Since(l.start).Seconds()
			fields = append(fields, progress.Rate(rate)+" tok/s")
		}
		if m.Epoch > 0 {
			fields = append([]string{fmt.Sprintf("epoch %d", m.Epoch)}, fields...)
		}
		bar.Update(l.step, fields...)
		if l.OutDir != "" && ((l.CheckpointEvery > 0 && l.step%l.CheckpointEvery == 0) || l.step == end || l.stopped) {
			if err := l.Checkpoint(); err != nil {
				return err
			}
		}
	}
	bar.Done(l.doneFields(lastVal)...)
	if l.RestoreBest && l.best.vals != nil {
		for i, p := range l.state() {
			p.Value = l.best.vals[i]
		}
	}
	return nil
}

// interrupt ends a run stopped by its Context: it writes a checkpoint of
// the current step unless there is one (of step 0 too, which resumes as a
// fresh start would, so that OutDir is always a run to resume) and returns
// an *Interrupted.
func (l *Loop[B]) interrupt(bar *progress.Bar, lastVal float64) error {
	e := &Interrupted{Step: l.step, Steps: l.Hyper.Steps}
	if l.OutDir != "" {
		if l.saved != l.step {
			if err := l.Checkpoint(); err != nil {
				return fmt.Errorf("interrupted at step %d/%d; saving the checkpoint failed: %w", l.step, l.Hyper.Steps, err)
			}
		}
		e.Checkpoint = filepath.Join(l.OutDir, CheckpointDir)
	}
	bar.Stop(l.step, append(l.doneFields(lastVal), "interrupted")...)
	return e
}

// doneFields are the fields of the progress bar's last line.
func (l *Loop[B]) doneFields(lastVal float64) []string {
	done := []string{}
	if len(l.log) > 0 {
		done = append(done, fmt.Sprintf("loss %.4f", l.log[len(l.log)-1].Loss))
	}
	if !math.IsNaN(lastVal) {
		done = append(done, fmt.Sprintf("val %.4f", lastVal))
	}
	if l.stopped {
		done = append(done, fmt.Sprintf("stopped early at step %d", l.step))
	}
	return done
}

// state is what a checkpoint holds of the model and RestoreBest puts
// back: its parameters, then the buffers of an nn.Buffered model
// (BatchNorm's running estimates, which belong with the weights they were
// measured under).
func (l *Loop[B]) state() []*autograd.Var {
	ps := l.Model.Params()
	if b, ok := l.Model.(nn.Buffered); ok {
		ps = append(ps[:len(ps):len(ps)], b.Buffers()...)
	}
	return ps
}

// observe updates early stopping with a validation loss.
func (l *Loop[B]) observe(v float64) {
	if v < l.best.Loss {
		l.best.Loss, l.best.Step, l.best.Bad = v, l.step, 0
		if l.RestoreBest {
			l.best.vals = l.best.vals[:0]
			for _, p := range l.state() {
				l.best.vals = append(l.best.vals, p.Value.Clone())
			}
		}
		return
	}
	l.best.Bad++
	if l.Patience > 0 && l.best.Bad >= l.Patience {
		l.stopped = true
	}
}

// batchTokens counts the tokens of a language-model batch (0 for others).
func batchTokens(b any) int {
	if t, ok := b.(interface{ Tokens() int }); ok {
		return t.Tokens()
	}
	return 0
}

func addValues(dst, src map[string]float64) map[string]float64 {
	if dst == nil {
		dst = map[string]float64{}
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

// Checkpoint writes the model, optimizer state, sampler and RNG state,
// step and early-stopping state into OutDir/checkpoint, replacing the
// previous checkpoint only once the new one is complete, and redraws the
// loss curve.
func (l *Loop[B]) Checkpoint() error {
	l.init()
	tmp := filepath.Join(l.OutDir, checkpointTemp)
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	save := l.SaveModel
	if save == nil {
		save = func(dir string) error {
			return nn.SaveParams(filepath.Join(dir, WeightsFile), l.state(), safetensors.F32, map[string]string{"format": "pt"})
		}
	}
	if err := save(tmp); err != nil {
		return err
	}
	if err := saveState(filepath.Join(tmp, OptimizerFile), l.opt.State()); err != nil {
		return err
	}
	samp, err := l.Data.State()
	if err != nil {
		return err
	}
	st := trainerState{Step: l.step, Hyper: l.Hyper, Sampler: base64.StdEncoding.EncodeToString(samp), Stopped: l.stopped, Meta: l.Meta}
	if l.RNG != nil {
		r, err := l.RNG.MarshalBinary()
		if err != nil {
			return err
		}
		st.RNG = base64.StdEncoding.EncodeToString(r)
	}
	if l.best.Step > 0 {
		b := l.best
		st.Best = &b
		if l.RestoreBest {
			if err := saveBest(filepath.Join(tmp, BestFile), l.state(), l.best.vals); err != nil {
				return err
			}
		}
	}
	js, _ := json.MarshalIndent(st, "", "  ")
	if err := fsutil.WriteFile(filepath.Join(tmp, StateFile), append(js, '\n')); err != nil {
		return err
	}
	if l.SaveExtra != nil {
		if err := l.SaveExtra(tmp); err != nil {
			return err
		}
	}
	final, old := filepath.Join(l.OutDir, CheckpointDir), filepath.Join(l.OutDir, checkpointOld)
	os.RemoveAll(old)
	if _, err := os.Stat(final); err == nil {
		if err := os.Rename(final, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	l.saved = l.step
	os.RemoveAll(old)
	plot := l.Plot
	if plot == nil {
		plot = PlotLoss
	}
	if len(l.log) > 0 {
		if err := plot(filepath.Join(l.OutDir, LossCurveFile), l.log); err != nil {
			return fmt.Errorf("loss curve: %w", err)
		}
	}
	return nil
}

// saveBest writes the best weights under the parameters' names.
func saveBest(path string, params []*autograd.Var, vals []*tensor.Tensor) error {
	vs := make([]*autograd.Var, len(params))
	for i, p := range params {
		vs[i] = &autograd.Var{Name: p.Name, Value: vals[i]}
	}
	return nn.SaveParams(path, vs, safetensors.F32, nil)
}

// loadBest reads the best weights saved by saveBest.
func loadBest(path string, params []*autograd.Var) ([]*tensor.Tensor, error) {
	vs := make([]*autograd.Var, len(params))
	for i, p := range params {
		vs[i] = &autograd.Var{Name: p.Name, Value: tensor.ZerosLike(p.Value)}
	}
	if err := nn.LoadParams(path, vs); err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		out[i] = v.Value
	}
	return out, nil
}

func (l *Loop[B]) appendMetric(m Metric) error {
	if l.OutDir == "" {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(l.OutDir, MetricsFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(m)
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeMetrics(path string, ms []Metric) error {
	var buf bytes.Buffer
	for _, m := range ms {
		b, _ := json.Marshal(m)
		buf.Write(append(b, '\n'))
	}
	return fsutil.WriteFile(path, buf.Bytes())
}

// readMetrics returns the entries of a metrics log before step upTo.
func readMetrics(path string, upTo int) ([]Metric, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Metric
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		var m Metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if m.Step < upTo {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

func saveState(path string, st map[string]*tensor.Tensor) error {
	var ts []safetensors.Tensor
	for _, k := range optim.StateKeys(st) {
		dt := safetensors.F32
		if st[k].DType() == tensor.Float64 {
			dt = safetensors.F64
		}
		t, err := safetensors.FromTensor(k, st[k], dt)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	return safetensors.Write(path, ts, nil)
}

func loadState(path string) (map[string]*tensor.Tensor, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st := map[string]*tensor.Tensor{}
	for _, n := range f.Names() {
		nf, err := f.NonFinite(n)
		if err != nil {
			return nil, err
		}
		if err := nf.Corrupt(path+": tensor "+n, dtype.Invalid); err != nil {
			return nil, err
		}
		t, err := f.Tensor(n)
		if err != nil {
			return nil, err
		}
		st[n] = t.Clone()
	}
	return st, nil
}
