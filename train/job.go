package train

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/internal/registry"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// Spec is everything a language-model training run needs: the model, the
// optimisation and the bookkeeping. It is what `loom train --config`
// reads (JSON with "model" and "train" objects) and what presets fill in.
type Spec struct {
	Model *decoder.Config `json:"model"`
	Train Settings        `json:"train"`
	// BareConfig is set by LoadSpec for a file that was a bare
	// config.json, trained with DefaultPreset's settings.
	BareConfig bool `json:"-"`
}

// MarshalJSON writes the model section as its config.json (decoder.Config.JSON:
// the class's own key names, GPT-2's n_embd for instance), so that a
// printed spec loads back.
func (s Spec) MarshalJSON() ([]byte, error) {
	var model json.RawMessage = []byte("null")
	if s.Model != nil {
		model = s.Model.JSON()
	}
	return json.Marshal(struct {
		Model json.RawMessage `json:"model"`
		Train Settings        `json:"train"`
	}{model, s.Train})
}

// Settings are the training settings of a Spec.
type Settings struct {
	Hyper
	Seed            uint64  `json:"seed"`
	ValFraction     float64 `json:"val_fraction"`     // held-out tail of the corpus (0.1)
	EvalEvery       int     `json:"eval_every"`       // steps between validation estimates
	EvalBatches     int     `json:"eval_batches"`     // batches per validation estimate
	CheckpointEvery int     `json:"checkpoint_every"` // steps between checkpoints (0: the end only)
}

// Validate checks the spec before any work starts, naming the bad field.
func (s *Spec) Validate() error {
	if s.Model == nil {
		return errors.New("model: missing")
	}
	if err := s.Model.Validate(); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	t := s.Train
	for _, f := range []struct {
		name string
		v    int
	}{{"train.steps", t.Steps}, {"train.batch_size", t.BatchSize}, {"train.seq_len", t.SeqLen}} {
		if f.v <= 0 {
			return fmt.Errorf("%s is %d, want a positive integer", f.name, f.v)
		}
	}
	switch {
	case t.SeqLen > s.Model.MaxPositionEmbeddings:
		return fmt.Errorf("train.seq_len (%d) exceeds model.max_position_embeddings (%d)", t.SeqLen, s.Model.MaxPositionEmbeddings)
	case !(t.LR > 0):
		return fmt.Errorf("train.lr is %v, want a positive number", t.LR)
	case t.GradAccum < 0 || t.Warmup < 0 || t.EvalEvery < 0 || t.CheckpointEvery < 0 || t.EvalBatches < 0:
		return errors.New("train.grad_accum, warmup, eval_every, eval_batches and checkpoint_every must not be negative")
	case !(t.ValFraction > 0 && t.ValFraction < 1):
		return fmt.Errorf("train.val_fraction is %v, want a number in (0, 1)", t.ValFraction)
	case t.MinLRFactor < 0 || t.MinLRFactor > 1:
		return fmt.Errorf("train.min_lr_factor is %v, want a number in [0, 1]", t.MinLRFactor)
	}
	return nil
}

// Job trains a Spec on a text and evaluates the result.
type Job struct {
	Spec     *Spec
	Text     []byte // the corpus
	OutDir   string
	Resume   bool // continue from OutDir/checkpoint when it exists
	Progress io.Writer
	Meta     map[string]string
	StopAt   int // see Run.StopAt
	// Init, when set, is the model training starts from (its weights, not
	// a fresh initialisation): a grown TokenFormer, a finished run trained
	// further. Its config must be the spec's model config.
	Init *decoder.Model
	// Context, when canceled, stops training after the step under way
	// with a checkpoint (see Loop.Context); Run then returns the
	// *Interrupted error without evaluating.
	Context context.Context
	// ProgressEvery is the least time between progress lines off a
	// terminal (0: progress.DefaultInterval).
	ProgressEvery time.Duration
}

// TokenizerFile is the name of a model directory's tokenizer.json.
const TokenizerFile = "tokenizer.json"

// Outcome is what a finished job reports.
type Outcome struct {
	Model     *decoder.Model
	Tokenizer tokenizer.Tokenizer
	Val       eval.Result // on the whole held-out split
	Steps     int         // the step trained to
	StartStep int         // the step resumed from (0 for a fresh run)
	Resumed   bool
	Elapsed   time.Duration
	OutDir    string
	Metrics   []Metric
}

// Run prepares the data (OutDir/data), trains with checkpoints in
// OutDir/checkpoint, draws OutDir/loss.png and evaluates on the whole
// validation split.
func (j *Job) Run() (*Outcome, error) {
	start := time.Now()
	if err := j.Spec.Validate(); err != nil {
		return nil, err
	}
	cfg, h := j.Spec.Model, j.Spec.Train
	tok, err := tokenizer.Load(cmp.Or(cfg.Loom.Tokenizer, "byte"), "")
	if err != nil {
		return nil, fmt.Errorf("model.loom.tokenizer: %w", err)
	}
	// A tokenizer from a file travels with the checkpoints as
	// tokenizer.json, which the saved config names.
	var saveTok func(dir string) error
	if !tokenizer.Registered(cmp.Or(cfg.Loom.Tokenizer, "byte")) {
		hf, ok := tok.(interface{ SaveHF(string) error })
		if !ok {
			return nil, fmt.Errorf("model.loom.tokenizer: %s cannot be saved with the model", cfg.Loom.Tokenizer)
		}
		cfg.Loom.Tokenizer = TokenizerFile
		saveTok = func(dir string) error { return hf.SaveHF(filepath.Join(dir, TokenizerFile)) }
	}
	if tok.VocabSize() > cfg.VocabSize {
		return nil, fmt.Errorf("model.vocab_size (%d) is smaller than the %s tokenizer's %d tokens", cfg.VocabSize, tok.Name(), tok.VocabSize())
	}
	dataDir := filepath.Join(j.OutDir, "data")
	_, statErr := os.Stat(filepath.Join(j.OutDir, CheckpointDir, StateFile))
	resuming := j.Resume && statErr == nil
	if resuming {
		if err := data.CheckSameSource(j.Text, tok, h.ValFraction, dataDir); err != nil {
			return nil, fmt.Errorf("cannot resume %s: %w; resume with the same data and tokenizer, or train into a new output directory", j.OutDir, err)
		}
	}
	_, dataErr := os.Stat(dataDir)
	newData := dataErr != nil
	trainPath, valPath, err := data.Prepare(j.Text, tok, h.ValFraction, dataDir)
	if err != nil {
		return nil, err
	}
	trainShard, err := data.OpenShard(trainPath)
	if err != nil {
		return nil, err
	}
	defer trainShard.Close()
	valShard, err := data.OpenShard(valPath)
	if err != nil {
		return nil, err
	}
	defer valShard.Close()
	if n := trainShard.Len(); n < h.SeqLen+1 {
		if newData { // leave nothing behind for a run that cannot start
			trainShard.Close()
			valShard.Close()
			os.RemoveAll(dataDir)
			os.Remove(j.OutDir) // only when empty
		}
		return nil, fmt.Errorf("the training text gives %d training tokens (%s tokenizer, %v held out), fewer than the %d that one window of train.seq_len %d needs: give more text or a smaller seq_len",
			n, tok.Name(), h.ValFraction, h.SeqLen+1, h.SeqLen)
	}
	sampler, err := data.NewSampler(trainShard, h.BatchSize, h.SeqLen, h.Seed)
	if err != nil {
		return nil, err
	}
	m := j.Init
	if m == nil {
		if m, err = decoder.New(cfg, h.Seed); err != nil {
			return nil, err
		}
	} else if !bytes.Equal(m.Config.JSON(), cfg.JSON()) {
		return nil, fmt.Errorf("the initial model's config differs from the spec's model config")
	}
	prec, err := tensor.ParsePrecision(cfg.Loom.Precision)
	if err != nil {
		return nil, fmt.Errorf("model.loom.precision: %w", err)
	}
	valBatches := max(1, h.EvalBatches)
	if h.EvalBatches == 0 {
		valBatches = 8
	}
	r := &Loop[data.Batch]{Model: m, Hyper: h.Hyper, Data: sampler, OutDir: j.OutDir, Progress: j.Progress,
		EvalEvery: h.EvalEvery, CheckpointEvery: h.CheckpointEvery, Meta: j.Meta, StopAt: j.StopAt,
		Context: j.Context, ProgressEvery: j.ProgressEvery, Precision: prec,
		Validate: validator(m, valShard, h.BatchSize, h.SeqLen, valBatches), SaveModel: func(dir string) error { return convert.Save(m, dir) }, SaveExtra: saveTok}
	out := &Outcome{Model: m, Tokenizer: tok, OutDir: j.OutDir}
	if resuming {
		if err := r.Resume(); err != nil {
			return nil, err
		}
		out.Resumed, out.StartStep = true, r.Step()
	}
	if err := r.Train(); err != nil {
		return nil, err
	}
	out.Steps, out.Metrics = r.Step(), r.Metrics()
	if j.Context != nil && j.Context.Err() != nil {
		// Stopped as the last step finished: the checkpoint is whole.
		return nil, &Interrupted{Step: r.Step(), Steps: h.Steps, Checkpoint: filepath.Join(j.OutDir, CheckpointDir)}
	}
	bar := progress.New(cmp.Or[io.Writer](j.Progress, io.Discard), "eval", valShard.Len()-1)
	bar.Interval = cmp.Or(j.ProgressEvery, bar.Interval)
	out.Val, err = eval.Shard(m, valShard, tok, eval.Options{SeqLen: h.SeqLen, Stride: h.SeqLen / 2, Progress: bar})
	if err != nil {
		return nil, err
	}
	bar.Done(fmt.Sprintf("loss %.4f", out.Val.Loss))
	out.Elapsed = time.Since(start)
	return out, nil
}

// validator estimates m's validation loss on a fixed set of windows spread
// evenly over the split (the same windows every time).
func validator(m *decoder.Model, s *data.Shard, B, T, batches int) func() (float64, error) {
	n := B * batches
	span := s.Len() - T - 1
	xs, ys := make([]int, n*T), make([]int, n*T)
	for i := range n {
		off := 0
		if n > 1 {
			off = i * span / (n - 1)
		}
		s.Read(xs[i*T:(i+1)*T], off)
		s.Read(ys[i*T:(i+1)*T], off+1)
	}
	return func() (float64, error) {
		var total float64
		autograd.NoGrad(func() {
			for b := range batches {
				total += m.Loss(nil, data.Batch{IDs: xs[b*B*T : (b+1)*B*T], Targets: ys[b*B*T : (b+1)*B*T], B: B, T: T}).Item()
			}
		})
		return total / float64(batches), nil
	}
}

// PlotLoss draws the training loss and validation estimates of ms.
func PlotLoss(path string, ms []Metric) error {
	return PlotLossAs("cross-entropy (nats/token)")(path, ms)
}

// PlotLossAs is PlotLoss with the y axis labelled label (an objective other
// than cross-entropy: a diffusion model's noise-prediction error).
func PlotLossAs(label string) func(path string, ms []Metric) error {
	return func(path string, ms []Metric) error { return plotLoss(path, ms, label) }
}

func plotLoss(path string, ms []Metric, label string) error {
	var tx, ty, vx, vy []float64
	for _, m := range ms {
		tx, ty = append(tx, float64(m.Step+1)), append(ty, m.Loss)
		if m.ValLoss != 0 {
			vx, vy = append(vx, float64(m.Step+1)), append(vy, m.ValLoss)
		}
	}
	c := &chart.Chart{Title: "training loss", XLabel: "step", YLabel: label,
		Series: []chart.Series{{Name: "train", X: tx, Y: ty, Style: chart.Line}}}
	if len(vx) > 0 {
		c.Series = append(c.Series, chart.Series{Name: "validation", X: vx, Y: vy, Style: chart.LinePoints})
	}
	return c.WritePNG(path)
}

// Preset is a named Spec.
type Preset struct {
	Name, Summary string
	Spec          func() *Spec
}

var presets = registry.New[Preset]("preset")

// RegisterPreset makes a preset available to `loom train --preset`.
func RegisterPreset(p Preset) { presets.Register(p.Name, p) }

// LookupPreset returns the named preset's spec, or an error listing them.
func LookupPreset(name string) (*Spec, error) {
	p, err := presets.Get(name)
	if err != nil {
		return nil, err
	}
	return p.Spec(), nil
}

// PresetNames lists the presets.
func PresetNames() []string { return presets.Names() }

// Presets returns every preset, sorted by name.
func Presets() []Preset { return presets.Values() }

// llama returns a byte-level Llama-style config.
func llama(d, layers, heads, ff, ctx int) *decoder.Config {
	return &decoder.Config{HiddenSize: d, IntermediateSize: ff, NumHiddenLayers: layers, NumAttentionHeads: heads,
		NumKeyValueHeads: heads, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256,
		MaxPositionEmbeddings: ctx, InitializerRange: 0.02, Loom: decoder.Options{Tokenizer: "byte"}}
}

func init() {
	RegisterPreset(Preset{Name: "tiny", Summary: "a 2-layer, 64-wide byte-level Llama for tests and demos (seconds)", Spec: func() *Spec {
		return &Spec{Model: llama(64, 2, 4, 172, 64), Train: Settings{
			Hyper: Hyper{Steps: 60, BatchSize: 8, SeqLen: 64, LR: 3e-3, Warmup: 6, MinLRFactor: 0.1,
				WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Clip: 1},
			Seed: 1337, ValFraction: 0.1, EvalEvery: 20, EvalBatches: 2}}
	}})
	RegisterPreset(Preset{Name: "quickstart", Summary: "a 4-layer, 192-wide byte-level Llama on Shakespeare (a few minutes on 2 cores)", Spec: func() *Spec {
		return &Spec{Model: llama(192, 4, 4, 512, 128), Train: Settings{
			Hyper: Hyper{Steps: 1600, BatchSize: 16, SeqLen: 128, LR: 2e-3, Warmup: 80, MinLRFactor: 0.1,
				WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Clip: 1},
			Seed: 1337, ValFraction: 0.1, EvalEvery: 200, EvalBatches: 4, CheckpointEvery: 400}}
	}})
}
