package tgraph

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/train"
)

// TestFit: Fit trains every architecture for a few epochs on the phases
// stream, records a validation AP per epoch, keeps the weights of the best
// epoch (the model scores that AP again after Fit) and writes the loop's
// files; a stream without validation events or with other edge features
// is refused.
func TestFit(t *testing.T) {
	s := phases(t, 8, 120, 12, 200, 8)
	sp, err := s.ChronoSplit(0.15, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range Archs {
		t.Run(arch, func(t *testing.T) {
			m := mustBuild(t, tiny(arch))
			dir := t.TempDir()
			o := FitOptions{Epochs: 3, Batch: 50, LR: 3e-3, Seed: 4, Eval: EvalOptions{BatchSize: 50, Seed: 2}, OutDir: dir}
			r, err := Fit(m, s, sp, o)
			if err != nil {
				t.Fatal(err)
			}
			per := (len(sp.Train) + 49) / 50
			if r.Steps != 3*per || r.Epochs != 3 || len(r.ValAPs) != 3 || r.BestEpoch < 1 || r.BestEpoch > 3 || r.Params == 0 {
				t.Fatalf("%+v", r)
			}
			best := math.Inf(-1)
			for _, ap := range r.ValAPs {
				best = max(best, ap)
			}
			if r.ValAP != best || r.ValAPs[r.BestEpoch-1] != best {
				t.Errorf("best validation AP %v of %v at epoch %d", r.ValAP, r.ValAPs, r.BestEpoch)
			}
			again, err := ValidationAP(m, s, sp, o.Eval)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(again-r.ValAP) > 1e-9 {
				t.Errorf("after Fit the model scores validation AP %v, the best epoch's was %v", again, r.ValAP)
			}
			for _, f := range []string{train.MetricsFile, train.LossCurveFile, filepath.Join(train.CheckpointDir, ConfigFile)} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("no %s", f)
				}
			}
			t.Logf("validation AP by epoch %.3f, kept epoch %d", r.ValAPs, r.BestEpoch)
		})
	}
	noVal, err := s.ChronoSplit(0, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fit(mustBuild(t, tiny(ArchMPNN)), s, noVal, FitOptions{Epochs: 1}); err == nil {
		t.Error("a split without validation events was accepted")
	}
	c := tiny(ArchMPNN)
	c.EdgeFeat = 2
	if _, err := Fit(mustBuild(t, c), s, sp, FitOptions{Epochs: 1}); err == nil {
		t.Error("a model of 2 edge features was fitted on a stream of none")
	}
}
