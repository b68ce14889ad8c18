package train

import (
	"bufio"
	"bytes"
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
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/optim"
	"github.com/loomml/loom/tensor"
)

// Sampler yields training batches and can save and restore its position.
type Sampler interface {
	Next() (x, y []int) // B·T inputs and their next-token targets
	State() ([]byte, error)
	SetState([]byte) error
}

// Run is one training run of a decoder language model.
type Run struct {
	Model *decoder.Model
	Hyper Hyper
	Data  Sampler
	// Validate returns the validation loss (nil: no evaluation).
	Validate        func(*decoder.Model) (float64, error)
	EvalEvery       int    // steps between evaluations (0: only at the end)
	CheckpointEvery int    // steps between checkpoints (0: only at the end)
	OutDir          string // checkpoint/, metrics.jsonl, loss.png
	Progress        io.Writer
	// Plot, when set, draws the loss curve from the metrics (loss.png).
	Plot func(path string, ms []Metric) error
	// Meta is stored in the checkpoint's trainer state (data paths, preset…).
	Meta map[string]string
	// SaveExtra, when set, writes more files (a tokenizer.json) into each
	// checkpoint directory before it replaces the previous one.
	SaveExtra func(dir string) error
	// StopAt, when positive, ends Train after that step (with a checkpoint)
	// although the schedule runs to Hyper.Steps: it splits a run in two.
	StopAt int

	opt   *optim.Adam
	step  int
	log   []Metric
	start time.Time
}

// Metric is one line of metrics.jsonl.
type Metric struct {
	Step     int     `json:"step"`
	Loss     float64 `json:"loss,omitempty"`
	ValLoss  float64 `json:"val_loss,omitempty"`
	LR       float64 `json:"lr,omitempty"`
	GradNorm float64 `json:"grad_norm,omitempty"`
	TokensPS float64 `json:"tokens_per_s,omitempty"`
	ElapsedS float64 `json:"elapsed_s"`
}

// trainerState is checkpoint/trainer_state.json.
type trainerState struct {
	Step    int               `json:"step"`
	Hyper   Hyper             `json:"hyper"`
	Sampler string            `json:"sampler_state"` // base64
	Meta    map[string]string `json:"meta,omitempty"`
}

// Checkpoint layout inside OutDir.
const (
	CheckpointDir  = "checkpoint"
	OptimizerFile  = "optimizer.safetensors"
	StateFile      = "trainer_state.json"
	MetricsFile    = "metrics.jsonl"
	LossCurveFile  = "loss.png"
	checkpointTemp = ".checkpoint.tmp"
	checkpointOld  = ".checkpoint.old"
)

// Step returns the number of optimizer steps taken.
func (r *Run) Step() int { return r.step }

// Metrics returns the metrics recorded so far.
func (r *Run) Metrics() []Metric { return r.log }

func (r *Run) init() {
	if r.opt == nil {
		r.opt = NewAdamW(r.Model.Params(), r.Hyper)
	}
}

// ErrDiverged is wrapped by the error of a run whose loss became NaN or
// infinite.
var ErrDiverged = errors.New("training diverged")

// Resume restores model, optimizer, sampler, step and metrics from
// OutDir/checkpoint. It fails, naming the file, if any part is missing or
// does not match the run.
func (r *Run) Resume() error {
	r.init()
	dir := filepath.Join(r.OutDir, CheckpointDir)
	raw, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return err
	}
	var st trainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	if err := nn.LoadParams(filepath.Join(dir, decoder.WeightsFile), r.Model.Params()); err != nil {
		return err
	}
	optState, err := loadState(filepath.Join(dir, OptimizerFile))
	if err != nil {
		return err
	}
	if err := r.opt.LoadState(optState); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, OptimizerFile), err)
	}
	samp, err := base64.StdEncoding.DecodeString(st.Sampler)
	if err != nil {
		return fmt.Errorf("%s: sampler_state: %w", filepath.Join(dir, StateFile), err)
	}
	if err := r.Data.SetState(samp); err != nil {
		return fmt.Errorf("%s: sampler_state: %w", filepath.Join(dir, StateFile), err)
	}
	r.step = st.Step
	r.log, err = readMetrics(filepath.Join(r.OutDir, MetricsFile), st.Step)
	return err
}

// Train runs optimizer steps until Hyper.Steps, evaluating, logging and
// checkpointing on the way, and writes a final checkpoint.
func (r *Run) Train() error {
	r.init()
	if r.OutDir != "" {
		if err := os.MkdirAll(r.OutDir, 0o755); err != nil {
			return err
		}
		// Rewrite the log so that it ends at the resumed step.
		if err := writeMetrics(filepath.Join(r.OutDir, MetricsFile), r.log); err != nil {
			return err
		}
	}
	h := r.Hyper
	sched := h.Schedule()
	bar := progress.New(orDiscard(r.Progress), "train", h.Steps)
	tokens := h.BatchSize * h.SeqLen * max(1, h.GradAccum)
	r.start = time.Now()
	startStep := r.step
	lastVal := math.NaN()
	end := h.Steps
	if r.StopAt > 0 && r.StopAt < end {
		end = r.StopAt
	}
	for r.step < end {
		t0 := time.Now()
		var x, y []int
		loss, norm := Step(r.opt, sched, r.step, h, func() *autograd.Var {
			x, y = r.Data.Next()
			return r.Model.TrainingLoss(x, y, h.BatchSize, h.SeqLen)
		})
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("train: %w: loss became %v at step %d (try a lower learning rate)", ErrDiverged, loss, r.step)
		}
		m := Metric{Step: r.step, Loss: loss, LR: h.LR * sched.Factor(r.step), GradNorm: norm,
			TokensPS: float64(tokens) / time.Since(t0).Seconds(), ElapsedS: time.Since(r.start).Seconds()}
		r.step++
		if r.Validate != nil && ((r.EvalEvery > 0 && r.step%r.EvalEvery == 0) || r.step == h.Steps) {
			v, err := r.Validate(r.Model)
			if err != nil {
				return err
			}
			m.ValLoss, lastVal = v, v
		}
		r.log = append(r.log, m)
		if err := r.appendMetric(m); err != nil {
			return err
		}
		fields := []string{fmt.Sprintf("loss %.4f", loss)}
		if !math.IsNaN(lastVal) {
			fields = append(fields, fmt.Sprintf("val %.4f", lastVal))
		}
		rate := float64((r.step-startStep)*tokens) / time.Since(r.start).Seconds()
		fields = append(fields, progress.Rate(rate)+" tok/s")
		bar.Update(r.step, fields...)
		if r.OutDir != "" && ((r.CheckpointEvery > 0 && r.step%r.CheckpointEvery == 0) || r.step == end) {
			if err := r.Checkpoint(); err != nil {
				return err
			}
		}
	}
	bar.Done(fmt.Sprintf("loss %.4f", r.log[len(r.log)-1].Loss), fmt.Sprintf("val %.4f", lastVal))
	return nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// Checkpoint writes the model (config.json, model.safetensors), optimizer
// state, sampler state and step into OutDir/checkpoint, replacing the
// previous checkpoint only once the new one is complete, and redraws the
// loss curve.
func (r *Run) Checkpoint() error {
	r.init()
	tmp := filepath.Join(r.OutDir, checkpointTemp)
	os.RemoveAll(tmp)
	if err := r.Model.Save(tmp); err != nil {
		return err
	}
	if err := saveState(filepath.Join(tmp, OptimizerFile), r.opt.State()); err != nil {
		return err
	}
	samp, err := r.Data.State()
	if err != nil {
		return err
	}
	st, _ := json.MarshalIndent(trainerState{Step: r.step, Hyper: r.Hyper, Sampler: base64.StdEncoding.EncodeToString(samp), Meta: r.Meta}, "", "  ")
	if err := decoder.WriteFileAtomic(filepath.Join(tmp, StateFile), append(st, '\n')); err != nil {
		return err
	}
	if r.SaveExtra != nil {
		if err := r.SaveExtra(tmp); err != nil {
			return err
		}
	}
	final, old := filepath.Join(r.OutDir, CheckpointDir), filepath.Join(r.OutDir, checkpointOld)
	os.RemoveAll(old)
	if _, err := os.Stat(final); err == nil {
		if err := os.Rename(final, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	os.RemoveAll(old)
	if r.Plot != nil && len(r.log) > 0 {
		if err := r.Plot(filepath.Join(r.OutDir, LossCurveFile), r.log); err != nil {
			return fmt.Errorf("loss curve: %w", err)
		}
	}
	return nil
}

func (r *Run) appendMetric(m Metric) error {
	if r.OutDir == "" {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(r.OutDir, MetricsFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
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
	return decoder.WriteFileAtomic(path, buf.Bytes())
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
		t, err := f.Tensor(n)
		if err != nil {
			return nil, err
		}
		st[n] = t.Clone()
	}
	return st, nil
}
