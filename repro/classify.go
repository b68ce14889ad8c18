package repro

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/chart"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// Classification harness shared by the transfer-learning reproductions
// (petl-ast, any2point, petl-spam): examples of any batch type, an
// epoch-wise shuffling sampler, AdamW training through train.Loop and
// accuracy on a held-out set.

// classifier is a model trained on batches of B that predicts classes.
type classifier[B any] interface {
	train.Model[B]
	train.Classifier[B]
}

// fitSettings are one training run's optimisation.
type fitSettings struct {
	Epochs, Batch int
	LR            float64
	WeightDecay   float64
	Seed          uint64
	Progress      io.Writer
}

// fitResult is what a run measured.
type fitResult struct {
	Accuracy  float64 // on the test set
	Trainable int
	Seconds   float64
	Steps     int
}

// fit trains m on tr with train.FineTuneHyper and returns its accuracy
// on te.
func fit[B any](m classifier[B], tr, te train.Labelled[B], s fitSettings) (fitResult, error) {
	if te.Len() == 0 {
		return fitResult{}, errors.New("no test examples")
	}
	steps := max(1, s.Epochs*tr.Len()/s.Batch)
	h := train.FineTuneHyper(steps, s.Batch, s.LR, s.WeightDecay)
	loop := &train.Loop[B]{Model: m, Data: train.NewEpochSampler[B](tr, s.Batch, s.Seed), Hyper: h, Progress: s.Progress,
		RNG: tensor.NewRNG(s.Seed + 1), StepsPerEpoch: max(1, tr.Len()/s.Batch)}
	start := time.Now()
	if err := loop.Train(); err != nil {
		return fitResult{}, err
	}
	secs := time.Since(start).Seconds()
	return fitResult{Accuracy: train.Accuracy[B](m, te, 64), Trainable: autograd.NumParams(nn.Trainable(m.Params())), Seconds: secs, Steps: steps}, nil
}

// armResults collects each arm's runs over the seeds.
type armResults struct {
	acc       map[string][]float64 // test accuracy, %, per seed
	trainable map[string]int
	secs      map[string]float64 // mean training time
	seeds     int
	used      []uint64
}

func newArmResults(seeds int) *armResults {
	return &armResults{acc: map[string][]float64{}, trainable: map[string]int{}, secs: map[string]float64{}, seeds: seeds}
}

// add records one run of arm name.
func (r *armResults) add(name string, f fitResult) {
	r.acc[name] = append(r.acc[name], 100*f.Accuracy)
	r.trainable[name] = f.Trainable
	r.secs[name] += f.Seconds / float64(r.seeds)
}

// mean is arm name's mean accuracy.
func (r *armResults) mean(name string) float64 { m, _ := meanStd(r.acc[name]); return m }

// perSeed renders arm name's accuracies.
func (r *armResults) perSeed(name string) string {
	var per []string
	for _, v := range r.acc[name] {
		per = append(per, fmt.Sprintf("%.1f", v))
	}
	return strings.Join(per, ", ")
}

// petlTable writes the table of PETL arms (against total backbone
// parameters) and their bar chart, c.DocsDir/png.
func petlTable(sb *strings.Builder, c *Context, arms []petlArm, r *armResults, total int, png, title, ylabel string) error {
	sb.WriteString("| method | settings | lr | trainable parameters (with the head) | % of the backbone | test accuracy % (mean ± std) | per seed | training time (s, mean) |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var bars []chart.Bar
	for _, a := range arms {
		m, sd := meanStd(r.acc[a.name])
		fmt.Fprintf(sb, "| %s | %s | %g | %d | %.2f | %.1f ± %.1f | %s | %.0f |\n", a.name, specString(a.spec), a.lr, r.trainable[a.name],
			100*float64(r.trainable[a.name])/float64(total), m, sd, r.perSeed(a.name), r.secs[a.name])
		bars = append(bars, chart.Bar{Label: a.name, Value: m, Err: sd})
	}
	if err := (&chart.BarChart{Title: fmt.Sprintf("%s (mean ± std, %d seeds)", title, len(r.used)), YLabel: ylabel, Bars: bars}).WritePNG(filepath.Join(c.DocsDir, png)); err != nil {
		return err
	}
	sb.WriteString("\n![test accuracy](" + png + ")\n\n")
	return nil
}
