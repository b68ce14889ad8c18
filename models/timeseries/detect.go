package timeseries

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/series"
	"github.com/loomml/loom/models/forecast"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// Entity is one multivariate series to watch (a sensor, a machine): its
// points [time][variate] and, when labelled, which are anomalous.
type Entity struct {
	Name   string
	X      [][]float64
	Labels []bool // nil: unlabelled
}

// DetectOptions configure anomaly detection; zero values take the
// defaults shown.
type DetectOptions struct {
	// Arch is a reconstruction backbone (transformer, itransformer,
	// dlinear, patchtst) or "iforest" (isolation forest on each point's
	// values and first differences).
	Arch string
	// TrainFraction of each entity's points, from its start, train the
	// detector and set the training-score threshold (0: 0.5).
	TrainFraction float64
	Window        int     // reconstruction window (0: 100, Time-Series-Library's win_size)
	DModel        int     // 0: 64
	Heads         int     // 0: 4
	Layers        int     // 0: 2
	Dropout       float64 // 0.1 by the caller's choice; 0: none
	Epochs        int     // 0: 3 (Time-Series-Library's anomaly scripts)
	Batch         int     // 0: 128
	LR            float64 // 0: 1e-3 (AdamW, cosine)
	Trees         int     // isolation forest (0: 100)
	Seed          uint64
	Progress      io.Writer
	Context       context.Context
}

func (o DetectOptions) withDefaults() DetectOptions {
	o.TrainFraction = or(o.TrainFraction, 0.5)
	o.Window = or(o.Window, 100)
	o.Epochs = or(o.Epochs, 3)
	o.Batch = or(o.Batch, 128)
	o.LR = or(o.LR, 1e-3)
	o.Trees = or(o.Trees, 100)
	return o
}

// Scored is a detector's outcome: per-point scores of every entity's
// training and test parts (in entity order, concatenated), and the test
// labels when there are any.
type Scored struct {
	Arch        string    `json:"arch"`
	Params      int       `json:"params,omitempty"`
	Seconds     float64   `json:"seconds"`
	TrainScores []float64 `json:"-"`
	TestScores  []float64 `json:"-"`
	TestLabels  []bool    `json:"-"`
	// TestStart[i] is where entity i's test part starts in its points.
	TestStart []int `json:"-"`
}

// Evaluate thresholds the scores at an anomaly ratio (percent), on the
// training scores and on training and test scores together, and scores
// both against the labels.
func (s *Scored) Evaluate(ratio float64) ([]Detection, error) {
	if s.TestLabels == nil {
		return nil, fmt.Errorf("timeseries: no labels to score detections against")
	}
	var out []Detection
	for _, kind := range []string{ThresholdTrain, ThresholdTrainTest} {
		th, err := AnomalyThreshold(kind, s.TrainScores, s.TestScores, ratio)
		if err != nil {
			return nil, err
		}
		out = append(out, Detect(s.TestScores, s.TestLabels, th, kind))
	}
	return out, nil
}

// DetectAnomalies fits a detector on the first TrainFraction of every
// entity (values standardised per variate by those training points) and
// scores every point: for a backbone, the mean over variates of the
// squared reconstruction error of the window the point is in
// (non-overlapping windows, the last one aligned to the end); for the
// isolation forest, its anomaly score.
func DetectAnomalies(ents []Entity, o DetectOptions) (*Scored, error) {
	o = o.withDefaults()
	if !(o.TrainFraction > 0 && o.TrainFraction < 1) {
		return nil, fmt.Errorf("timeseries: training fraction %v, want (0, 1)", o.TrainFraction)
	}
	if len(ents) == 0 {
		return nil, fmt.Errorf("timeseries: no series")
	}
	N := len(ents[0].X[0])
	split := make([]int, len(ents))
	for i, e := range ents {
		split[i] = int(math.Round(o.TrainFraction * float64(len(e.X))))
		need := 2
		if o.Arch != "iforest" {
			need = o.Window
		}
		if split[i] < need || len(e.X)-split[i] < 1 {
			return nil, fmt.Errorf("timeseries: %s: %d points give %d to train on and %d to test; need at least %d to train (the window) and 1 to test", e.Name, len(e.X), split[i], len(e.X)-split[i], need)
		}
		for t, p := range e.X {
			if len(p) != N {
				return nil, fmt.Errorf("timeseries: %s: point %d has %d variates, want %d", e.Name, t, len(p), N)
			}
		}
	}
	// Standardise by the training points.
	mean, std := make([]float64, N), make([]float64, N)
	n := 0
	for i, e := range ents {
		for _, p := range e.X[:split[i]] {
			for k, v := range p {
				mean[k] += v
			}
			n++
		}
	}
	for k := range mean {
		mean[k] /= float64(n)
	}
	for i, e := range ents {
		for _, p := range e.X[:split[i]] {
			for k, v := range p {
				std[k] += (v - mean[k]) * (v - mean[k])
			}
		}
	}
	for k := range std {
		std[k] = math.Sqrt(std[k] / float64(n))
		if std[k] == 0 {
			std[k] = 1
		}
	}
	scaled := make([][][]float64, len(ents))
	for i, e := range ents {
		scaled[i] = make([][]float64, len(e.X))
		for t, p := range e.X {
			q := make([]float64, N)
			for k, v := range p {
				q[k] = (v - mean[k]) / std[k]
			}
			scaled[i][t] = q
		}
	}
	start := time.Now()
	var score func(x [][]float64) []float64
	res := &Scored{Arch: o.Arch}
	if o.Arch == "iforest" {
		var pts [][]float64
		for i := range ents {
			pts = append(pts, withDiffs(scaled[i][:split[i]])...)
		}
		f := FitIsolationForest(pts, o.Trees, 256, o.Seed)
		score = func(x [][]float64) []float64 { return f.Score(withDiffs(x)) }
	} else {
		m, params, err := fitReconstructor(scaled, split, N, o)
		if err != nil {
			return nil, err
		}
		res.Params = params
		score = func(x [][]float64) []float64 { return reconstructionScores(m, x, o.Window) }
	}
	for i, e := range ents {
		s := score(scaled[i])
		res.TrainScores = append(res.TrainScores, s[:split[i]]...)
		res.TestScores = append(res.TestScores, s[split[i]:]...)
		res.TestStart = append(res.TestStart, split[i])
		if e.Labels != nil {
			res.TestLabels = append(res.TestLabels, e.Labels[split[i]:]...)
		}
	}
	if len(res.TestLabels) != len(res.TestScores) {
		res.TestLabels = nil // some entity unlabelled
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// withDiffs appends each point's first difference to its values (zero at
// the first point).
func withDiffs(x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for t, p := range x {
		q := append(make([]float64, 0, 2*len(p)), p...)
		for k, v := range p {
			d := 0.0
			if t > 0 {
				d = v - x[t-1][k]
			}
			q = append(q, d)
		}
		out[t] = q
	}
	return out
}

// windows are training windows: (entity, start) pairs, stride 1.
type windows struct {
	x     [][][]float64
	at    [][2]int
	w, nv int
}

func (ws *windows) Len() int { return len(ws.at) }

func (ws *windows) Batch(idx []int) *tensor.Tensor {
	buf := make([]float32, len(idx)*ws.w*ws.nv)
	for b, i := range idx {
		e, s := ws.at[i][0], ws.at[i][1]
		for t := range ws.w {
			for k, v := range ws.x[e][s+t] {
				buf[(b*ws.w+t)*ws.nv+k] = float32(v)
			}
		}
	}
	return tensor.FromFloat32(buf, len(idx), ws.w, ws.nv)
}

// reconObjective is the reconstruction MSE, for train.Loop.
type reconObjective struct{ m forecast.Model }

func (o reconObjective) Params() []*autograd.Var { return o.m.Params() }

func (o reconObjective) Buffers() []*autograd.Var { return forecast.Buffers(o.m) }

func (o reconObjective) Loss(ctx *nn.Ctx, x *tensor.Tensor) *autograd.Var {
	xv := autograd.Const(x)
	return autograd.MSELoss(o.m.Forward(ctx, xv, nil), xv)
}

// fitReconstructor trains a backbone to reconstruct windows of the
// training parts.
func fitReconstructor(x [][][]float64, split []int, N int, o DetectOptions) (forecast.Model, int, error) {
	c := backbone(o.Arch, forecast.TaskReconstruction, o.Window, N, 0, o.DModel, o.Heads, o.Layers, o.Dropout, o.Seed)
	m, err := forecast.New(c)
	if err != nil {
		return nil, 0, err
	}
	ws := &windows{x: x, w: o.Window, nv: N}
	for e, s := range split {
		for t := 0; t+o.Window <= s; t++ {
			ws.at = append(ws.at, [2]int{e, t})
		}
	}
	perEpoch := max(1, ws.Len()/o.Batch)
	steps := o.Epochs * perEpoch
	loop := &train.Loop[*tensor.Tensor]{
		Model:         reconObjective{m},
		Data:          train.NewEpochSampler[*tensor.Tensor](ws, o.Batch, o.Seed+1),
		Hyper:         train.Hyper{Steps: steps, BatchSize: o.Batch, LR: o.LR, MinLRFactor: 0.1, Warmup: steps / 20, Clip: 1},
		RNG:           tensor.NewRNG(o.Seed + 2),
		StepsPerEpoch: perEpoch,
		Progress:      o.Progress,
		Context:       o.Context,
	}
	if err := loop.Train(); err != nil {
		return nil, 0, err
	}
	return m, autograd.NumParams(m.Params()), nil
}

// reconstructionScores scores every point of x by the squared
// reconstruction error of its window, averaged over variates.
func reconstructionScores(m forecast.Model, x [][]float64, w int) []float64 {
	T, N := len(x), len(x[0])
	out := make([]float64, T)
	var starts []int
	for s := 0; s+w <= T; s += w {
		starts = append(starts, s)
	}
	if T >= w && (len(starts) == 0 || starts[len(starts)-1]+w < T) {
		starts = append(starts, T-w) // the tail, aligned to the end
	}
	ws := &windows{x: [][][]float64{x}, w: w, nv: N}
	for _, s := range starts {
		ws.at = append(ws.at, [2]int{0, s})
	}
	autograd.NoGrad(func() {
		for lo := 0; lo < ws.Len(); lo += 64 {
			idx := make([]int, 0, 64)
			for i := lo; i < min(ws.Len(), lo+64); i++ {
				idx = append(idx, i)
			}
			xb := ws.Batch(idx)
			y := m.Forward(nil, autograd.Const(xb), nil).Value.Float64s()
			xv := xb.Float64s()
			for b, i := range idx {
				s := ws.at[i][1]
				for t := range w {
					e := 0.0
					for k := range N {
						d := y[(b*w+t)*N+k] - xv[(b*w+t)*N+k]
						e += d * d
					}
					out[s+t] = e / float64(N) // a later (tail) window overwrites the overlap
				}
			}
		}
	})
	return out
}

// Entities cuts a table into the series to watch: the rows of each value
// of the group column (one series of all rows without one), with the
// given columns as variates and labels (nil: none) per row.
func Entities(t *series.Table, columns []string, labels []bool, group string) ([]Entity, error) {
	idx := make([]int, len(columns))
	for i, c := range columns {
		j, err := t.Column(c)
		if err != nil {
			return nil, err
		}
		idx[i] = j
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("%s: no columns to watch", t.Name)
	}
	gj := -1
	if group != "" {
		j, err := t.Column(group)
		if err != nil {
			return nil, err
		}
		gj = j
	}
	var ents []Entity
	at := map[float64]int{}
	for r, row := range t.Values {
		k := 0
		if gj >= 0 {
			g, ok := at[row[gj]]
			if !ok {
				g = len(ents)
				at[row[gj]] = g
				ents = append(ents, Entity{Name: fmt.Sprintf("%s=%v", group, row[gj])})
			}
			k = g
		} else if len(ents) == 0 {
			ents = append(ents, Entity{Name: t.Name})
		}
		p := make([]float64, len(idx))
		for i, j := range idx {
			p[i] = row[j]
		}
		ents[k].X = append(ents[k].X, p)
		if labels != nil {
			ents[k].Labels = append(ents[k].Labels, labels[r])
		}
	}
	return ents, nil
}

// ColumnLabels reads a 0/1 column of t as labels; other values are
// errors naming the line.
func ColumnLabels(t *series.Table, col string) ([]bool, error) {
	j, err := t.Column(col)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(t.Values))
	for i, r := range t.Values {
		if r[j] != 0 && r[j] != 1 {
			return nil, fmt.Errorf("%s: line %d, column %q: %v, want 0 or 1", t.Name, i+2, col, r[j])
		}
		out[i] = r[j] == 1
	}
	return out, nil
}
