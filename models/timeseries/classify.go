package timeseries

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/models/forecast"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// ClassSet is a labelled set of multivariate series, ready for a
// classifier: missing values filled, classes as indices.
type ClassSet struct {
	Name    string
	X       [][][]float64 // [case][time][dim]
	Y       []int         // index into Classes
	Classes []string
	Dims    int
}

// Len is the number of cases.
func (s *ClassSet) Len() int { return len(s.Y) }

// MaxLen is the longest case.
func (s *ClassSet) MaxLen() int {
	n := 0
	for _, x := range s.X {
		n = max(n, len(x))
	}
	return n
}

// ClassSets turns a training and a test file into sets with the training
// file's classes (in its @classLabel order). The test file must have the
// training file's dimensions, and no class the training file lacks;
// errors name the file and line. Missing values are filled by linear
// interpolation along time (FillMissing).
func ClassSets(train, test *series.TSFile) (tr, te *ClassSet, err error) {
	if !train.ClassLabel {
		return nil, nil, fmt.Errorf("%s: no class labels (@classLabel false)", train.Name)
	}
	if !test.ClassLabel {
		return nil, nil, fmt.Errorf("%s: no class labels (@classLabel false)", test.Name)
	}
	if test.Dimensions != train.Dimensions {
		return nil, nil, fmt.Errorf("%s has %d dimensions, the training file %s %d", test.Name, test.Dimensions, train.Name, train.Dimensions)
	}
	classes := train.Labels
	conv := func(f *series.TSFile) (*ClassSet, error) {
		s := &ClassSet{Name: f.Name, Classes: classes, Dims: f.Dimensions}
		for _, c := range f.Cases {
			k := slices.Index(classes, c.Label)
			if k < 0 {
				return nil, fmt.Errorf("%s:%d: class %q is not one of the training file's %v", f.Name, c.Line, c.Label, classes)
			}
			x, err := toPoints(c)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", f.Name, c.Line, err)
			}
			s.X, s.Y = append(s.X, x), append(s.Y, k)
		}
		return s, nil
	}
	if tr, err = conv(train); err != nil {
		return nil, nil, err
	}
	if te, err = conv(test); err != nil {
		return nil, nil, err
	}
	return tr, te, nil
}

// toPoints turns a case's dimensions into [time][dim] points, the
// dimensions filled to the longest by their last value and missing values
// interpolated.
func toPoints(c series.TSCase) ([][]float64, error) {
	n := c.Len()
	out := make([][]float64, n)
	for t := range out {
		out[t] = make([]float64, len(c.Dims))
	}
	for k, d := range c.Dims {
		f, err := FillMissing(d)
		if err != nil {
			return nil, fmt.Errorf("dimension %d: %v", k+1, err)
		}
		for t := range n {
			out[t][k] = f[min(t, len(f)-1)]
		}
	}
	return out, nil
}

// FillMissing returns x with NaNs replaced by linear interpolation between
// the nearest observed values (the nearest one at the ends). A series with
// nothing observed is an error.
func FillMissing(x []float64) ([]float64, error) {
	out := slices.Clone(x)
	prev := -1
	for i, v := range x {
		if math.IsNaN(v) {
			continue
		}
		switch {
		case prev < 0:
			for j := range i {
				out[j] = v
			}
		case i-prev > 1:
			for j := prev + 1; j < i; j++ {
				w := float64(j-prev) / float64(i-prev)
				out[j] = (1-w)*x[prev] + w*v
			}
		}
		prev = i
	}
	if prev < 0 {
		return nil, fmt.Errorf("every value is missing")
	}
	for j := prev + 1; j < len(x); j++ {
		out[j] = x[prev]
	}
	return out, nil
}

// ClassOptions configure a neural classifier's training; zero values take
// the defaults shown.
type ClassOptions struct {
	Arch    string  // transformer, itransformer, dlinear, patchtst
	DModel  int     // 64
	DFF     int     // 2·DModel
	Heads   int     // 4
	Layers  int     // 2
	Dropout float64 // 0.1
	// PatchLen and Stride of PatchTST (0: forecast.Config's defaults).
	PatchLen, Stride int
	Epochs           int     // 100
	Batch            int     // 16
	LR               float64 // 1e-3 (AdamW, no decay, 5 % warmup, cosine to 0.1×)
	// ValFraction of the training cases (stratified by class) choose the
	// epoch of lowest validation loss (0: 0.2; negative: none, the last
	// epoch is kept). Time-Series-Library picks it on the test set.
	ValFraction float64
	Seed        uint64
	OutDir      string    // checkpoint/, metrics.jsonl, loss.png ("": none)
	Progress    io.Writer // progress bar
	Context     context.Context
}

func (o ClassOptions) withDefaults() ClassOptions {
	o.Epochs = or(o.Epochs, 100)
	o.Batch = or(o.Batch, 16)
	o.LR = or(o.LR, 1e-3)
	o.ValFraction = or(o.ValFraction, 0.2)
	return o
}

// Classifier is a trained neural classifier with what it needs to read
// new cases: the window length, the per-dimension scaling fitted on the
// training cases and the class names.
type Classifier struct {
	Model   forecast.Classifier
	Length  int       `json:"length"` // cases are padded (or refused) to this
	Mean    []float64 `json:"scaler_mean"`
	Std     []float64 `json:"scaler_std"`
	Classes []string  `json:"classes"`
}

// ClassResult is a training run's outcome.
type ClassResult struct {
	Params    int     `json:"params"`
	Steps     int     `json:"steps"`
	BestEpoch int     `json:"best_epoch"`
	Seconds   float64 `json:"seconds"`
	TrainAcc  float64 `json:"train_accuracy"`
	ValAcc    float64 `json:"val_accuracy,omitempty"`
	Val       int     `json:"val_cases"`
}

// FitClassifier trains arch on tr (holding a stratified part out to pick
// the epoch) with cross-entropy through train.Loop; length is the window
// every case is padded to (at least tr.MaxLen(); give the test set's too
// when it is longer).
func FitClassifier(tr *ClassSet, length int, o ClassOptions) (*Classifier, *ClassResult, error) {
	o = o.withDefaults()
	if length < tr.MaxLen() {
		return nil, nil, fmt.Errorf("timeseries: window %d is shorter than the longest training case (%d)", length, tr.MaxLen())
	}
	if len(tr.Classes) < 2 {
		return nil, nil, fmt.Errorf("%s: %d class, want at least 2", tr.Name, len(tr.Classes))
	}
	c := backbone(o.Arch, forecast.TaskClassification, length, tr.Dims, 0, o.DModel, o.Heads, o.Layers, o.Dropout, o.Seed)
	c.DFF, c.Classes, c.PatchLen, c.Stride = or(o.DFF, c.DFF), len(tr.Classes), o.PatchLen, o.Stride
	fm, err := forecast.New(c)
	if err != nil {
		return nil, nil, err
	}
	m, ok := fm.(forecast.Classifier)
	if !ok {
		return nil, nil, fmt.Errorf("timeseries: %s has no classification head", o.Arch)
	}
	cl := &Classifier{Model: m, Length: length, Classes: tr.Classes}
	cl.fitScaler(tr)
	trainIdx, valIdx := stratifiedSplit(tr.Y, len(tr.Classes), o.ValFraction, o.Seed)
	trSet := &classBatches{cl: cl, set: tr, idx: trainIdx}
	perEpoch := (len(trainIdx) + o.Batch - 1) / o.Batch
	steps := o.Epochs * perEpoch
	loop := &train.Loop[*classBatch]{
		Model:         classObjective{cl},
		Data:          train.NewEpochSampler[*classBatch](trSet, o.Batch, o.Seed+1),
		Hyper:         train.Hyper{Steps: steps, BatchSize: o.Batch, LR: o.LR, MinLRFactor: 0.1, Warmup: steps / 20, Clip: 1},
		RNG:           tensor.NewRNG(o.Seed + 2),
		StepsPerEpoch: perEpoch,
		OutDir:        o.OutDir,
		Progress:      o.Progress,
		Context:       o.Context,
		Meta:          map[string]string{"family": "timeseries", "task": "classification", "arch": o.Arch},
	}
	if len(valIdx) > 0 {
		loop.Validate = func() (float64, error) { return cl.loss(tr, valIdx), nil }
		loop.EvalEvery, loop.RestoreBest = perEpoch, true
	}
	start := time.Now()
	if err := loop.Train(); err != nil {
		return nil, nil, err
	}
	res := &ClassResult{Params: autograd.NumParams(m.Params()), Steps: steps, Seconds: time.Since(start).Seconds(), Val: len(valIdx)}
	best, bestLoss := 0, math.Inf(1)
	for _, x := range loop.Metrics() {
		if x.ValLoss > 0 && x.ValLoss < bestLoss {
			best, bestLoss = x.Step, x.ValLoss
		}
	}
	res.BestEpoch = (best + perEpoch - 1) / perEpoch
	if len(valIdx) == 0 {
		res.BestEpoch = o.Epochs
	}
	res.TrainAcc = Accuracy(cl.PredictIndices(tr, trainIdx), pick(tr.Y, trainIdx))
	if len(valIdx) > 0 {
		res.ValAcc = Accuracy(cl.PredictIndices(tr, valIdx), pick(tr.Y, valIdx))
	}
	return cl, res, nil
}

// fitScaler sets the per-dimension mean and standard deviation of the
// training cases' values.
func (cl *Classifier) fitScaler(tr *ClassSet) {
	D := tr.Dims
	cl.Mean, cl.Std = make([]float64, D), make([]float64, D)
	n := 0
	for _, x := range tr.X {
		for _, p := range x {
			for k, v := range p {
				cl.Mean[k] += v
			}
			n++
		}
	}
	for k := range cl.Mean {
		cl.Mean[k] /= float64(n)
	}
	for _, x := range tr.X {
		for _, p := range x {
			for k, v := range p {
				d := v - cl.Mean[k]
				cl.Std[k] += d * d
			}
		}
	}
	for k := range cl.Std {
		cl.Std[k] = math.Sqrt(cl.Std[k] / float64(n))
		if cl.Std[k] == 0 {
			cl.Std[k] = 1
		}
	}
}

// batch packs cases idx of s: scaled values zero-padded to the window
// [B, L, N] and the padding mask [B, L].
func (cl *Classifier) batch(s *ClassSet, idx []int) (x, mask *tensor.Tensor, err error) {
	L, N := cl.Length, len(cl.Mean)
	xs, ms := make([]float32, len(idx)*L*N), make([]float32, len(idx)*L)
	for b, i := range idx {
		c := s.X[i]
		if len(c) > L {
			return nil, nil, fmt.Errorf("%s: case %d has %d steps, longer than the model's window of %d", s.Name, i+1, len(c), L)
		}
		for t, p := range c {
			if len(p) != N {
				return nil, nil, fmt.Errorf("%s: case %d has %d dimensions, the model %d", s.Name, i+1, len(p), N)
			}
			for k, v := range p {
				xs[(b*L+t)*N+k] = float32((v - cl.Mean[k]) / cl.Std[k])
			}
			ms[b*L+t] = 1
		}
	}
	return tensor.FromFloat32(xs, len(idx), L, N), tensor.FromFloat32(ms, len(idx), L), nil
}

// logits runs the model on cases idx of s.
func (cl *Classifier) logits(ctx *nn.Ctx, s *ClassSet, idx []int) *autograd.Var {
	x, mask, err := cl.batch(s, idx)
	if err != nil {
		panic(err)
	}
	return cl.Model.Classify(ctx, autograd.Const(x), mask)
}

// loss is the mean cross-entropy on cases idx of s (evaluation mode).
func (cl *Classifier) loss(s *ClassSet, idx []int) float64 {
	total := 0.0
	autograd.NoGrad(func() {
		for lo := 0; lo < len(idx); lo += 64 {
			part := idx[lo:min(len(idx), lo+64)]
			l := autograd.CrossEntropy(cl.logits(nil, s, part), pick(s.Y, part), -1, 0)
			total += l.Value.Float64s()[0] * float64(len(part))
		}
	})
	return total / float64(len(idx))
}

// Predict returns the predicted class index of every case of s; a case
// longer than the window or of other dimensions is an error.
func (cl *Classifier) Predict(s *ClassSet) ([]int, error) {
	if s.Dims != len(cl.Mean) {
		return nil, fmt.Errorf("%s has %d dimensions, the model was trained on %d", s.Name, s.Dims, len(cl.Mean))
	}
	for i, x := range s.X {
		if len(x) > cl.Length {
			return nil, fmt.Errorf("%s: case %d has %d steps, longer than the model's window of %d", s.Name, i+1, len(x), cl.Length)
		}
	}
	idx := make([]int, s.Len())
	for i := range idx {
		idx[i] = i
	}
	return cl.PredictIndices(s, idx), nil
}

// PredictIndices is Predict on cases idx (checked by the caller).
func (cl *Classifier) PredictIndices(s *ClassSet, idx []int) []int {
	out := make([]int, 0, len(idx))
	autograd.NoGrad(func() {
		for lo := 0; lo < len(idx); lo += 64 {
			lg := cl.logits(nil, s, idx[lo:min(len(idx), lo+64)]).Value
			C := lg.Dim(1)
			v := lg.Float64s()
			for b := range lg.Dim(0) {
				out = append(out, argmax(v[b*C:(b+1)*C]))
			}
		}
	})
	return out
}

// Accuracy is the fraction of pred equal to want.
func Accuracy(pred, want []int) float64 {
	ok := 0
	for i := range pred {
		if pred[i] == want[i] {
			ok++
		}
	}
	return float64(ok) / float64(max(1, len(pred)))
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func pick(y, idx []int) []int {
	out := make([]int, len(idx))
	for i, k := range idx {
		out[i] = y[k]
	}
	return out
}

// stratifiedSplit holds out about frac of each class's cases (at least
// one from a class of two or more when frac > 0), seeded.
func stratifiedSplit(y []int, classes int, frac float64, seed uint64) (trainIdx, valIdx []int) {
	if frac <= 0 {
		for i := range y {
			trainIdx = append(trainIdx, i)
		}
		return trainIdx, nil
	}
	rng := tensor.NewRNG(seed + 7)
	for k := range classes {
		var members []int
		for i, c := range y {
			if c == k {
				members = append(members, i)
			}
		}
		perm := rng.Perm(len(members))
		nv := int(math.Round(frac * float64(len(members))))
		if nv == 0 && len(members) >= 2 {
			nv = 1
		}
		if nv >= len(members) {
			nv = len(members) - 1
		}
		for j, p := range perm {
			if j < nv {
				valIdx = append(valIdx, members[p])
			} else {
				trainIdx = append(trainIdx, members[p])
			}
		}
	}
	slices.Sort(trainIdx)
	slices.Sort(valIdx)
	return trainIdx, valIdx
}

// classBatch is a training batch.
type classBatch struct {
	x, mask *tensor.Tensor
	y       []int
}

// classBatches serves training batches of a set's cases idx.
type classBatches struct {
	cl  *Classifier
	set *ClassSet
	idx []int
}

func (c *classBatches) Len() int { return len(c.idx) }

func (c *classBatches) Batch(which []int) *classBatch {
	idx := pick(c.idx, which)
	x, mask, err := c.cl.batch(c.set, idx)
	if err != nil {
		panic(err)
	}
	return &classBatch{x, mask, pick(c.set.Y, idx)}
}

// classObjective is cross-entropy, for train.Loop.
type classObjective struct{ cl *Classifier }

func (o classObjective) Params() []*autograd.Var { return o.cl.Model.Params() }

func (o classObjective) Buffers() []*autograd.Var { return forecast.Buffers(o.cl.Model) }

func (o classObjective) Loss(ctx *nn.Ctx, b *classBatch) *autograd.Var {
	return autograd.CrossEntropy(o.cl.Model.Classify(ctx, autograd.Const(b.x), b.mask), b.y, -1, 0)
}

// savedClassifier is a classifier directory's config.json.
type savedClassifier struct {
	Model   forecast.Config `json:"model"`
	Length  int             `json:"length"`
	Mean    []float64       `json:"scaler_mean"`
	Std     []float64       `json:"scaler_std"`
	Classes []string        `json:"classes"`
	Source  string          `json:"source,omitempty"`
}

// Save writes the classifier into the existing directory dir
// (config.json and model.safetensors with the parameters and buffers).
func (cl *Classifier) Save(dir, source string) error {
	return nn.SaveModelDir(dir, savedClassifier{cl.Model.Config(), cl.Length, cl.Mean, cl.Std, cl.Classes, source},
		forecast.State(cl.Model), map[string]string{"loom": "timeseries/classifier"})
}

// LoadClassifier reads a classifier directory; errors name the file.
func LoadClassifier(dir string) (*Classifier, error) {
	var s savedClassifier
	path, dir, err := nn.ReadModelConfig(dir, &s)
	if err != nil {
		return nil, err
	}
	if s.Model.Task != forecast.TaskClassification || len(s.Classes) != s.Model.Classes || len(s.Mean) != s.Model.Variates || len(s.Std) != len(s.Mean) {
		return nil, fmt.Errorf("%s: not a classifier (task %q, %d classes for %d names, scaler of %d for %d variates)", path, s.Model.Task, s.Model.Classes, len(s.Classes), len(s.Mean), s.Model.Variates)
	}
	fm, err := forecast.New(s.Model)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, ok := fm.(forecast.Classifier)
	if !ok {
		return nil, fmt.Errorf("%s: %s has no classification head", path, s.Model.Arch)
	}
	if err := nn.LoadModelWeights(dir, forecast.State(m)); err != nil {
		return nil, err
	}
	return &Classifier{Model: m, Length: s.Length, Mean: s.Mean, Std: s.Std, Classes: s.Classes}, nil
}

// NearestNeighbourFor returns 1-NN over tr's cases by distance d; with a
// DTW distance and maxPercent ≥ 0 its window is learnt by leave-one-out
// on tr (LearnWindow), else it is window points (negative: none). It
// returns the window in percent of the longest training case.
func NearestNeighbourFor(tr *ClassSet, d Distance, window, maxPercent int) (*NearestNeighbour, int) {
	nn := &NearestNeighbour{Distance: d, Window: window, Train: tr.X, Labels: tr.Y}
	if d == Euclidean {
		nn.Window = 0
		return nn, 0
	}
	if maxPercent >= 0 {
		p, _ := nn.LearnWindow(maxPercent)
		return nn, p
	}
	if window < 0 {
		return nn, 100
	}
	return nn, int(math.Round(100 * float64(window) / float64(max(1, tr.MaxLen()))))
}

// PredictAll classifies every case of s.
func (nn *NearestNeighbour) PredictAll(s *ClassSet) []int {
	out := make([]int, s.Len())
	for i, x := range s.X {
		out[i] = nn.Predict(x)
	}
	return out
}
