package tgraph

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/events/collegemsg"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// TestSpeedCollegeMsg measures training steps per second on CollegeMsg's
// training events, batches of 200, for every architecture with its
// defaults, through train.Loop (forward, backward, AdamW), from the middle
// of the training period (a full window). It runs only with
// TGRAPH_SPEED=1 (it takes about a minute):
//
//	TGRAPH_SPEED=1 go test ./models/tgraph/ -run SpeedCollegeMsg -v
func TestSpeedCollegeMsg(t *testing.T) {
	if os.Getenv("TGRAPH_SPEED") == "" {
		t.Skip("set TGRAPH_SPEED=1 to measure")
	}
	s, err := collegemsg.Open()
	if err != nil {
		t.Fatal(err)
	}
	sp, err := s.ChronoSplit(0.15, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range Archs {
		c := Defaults(arch)
		m, err := Build(c)
		if err != nil {
			t.Fatal(err)
		}
		smp, err := NewSampler(s, sp.Train, 200, 1)
		if err != nil {
			t.Fatal(err)
		}
		smp.pos = len(sp.Train) / 2
		const steps = 20
		loop := &train.Loop[*Batch]{Model: Trainer{M: m, H: TrainHistory(s, sp)}, Data: smp,
			Hyper: train.Hyper{Steps: steps, LR: 1e-4}, RNG: tensor.NewRNG(1)}
		t0 := time.Now()
		if err := loop.Train(); err != nil {
			t.Fatal(err)
		}
		el := time.Since(t0).Seconds()
		size := ""
		if mm, ok := m.(*Model); ok {
			p := mm.Patches(TrainHistory(s, sp), s.Time[sp.Train[len(sp.Train)/2]])
			size = fmt.Sprintf(" at window %d, %d patches: %d instances, %d nodes;", c.Window, c.Patches, p.Instances(), len(p.Nodes))
		}
		t.Logf("%s: %.2f steps/s (%.0f ms/step, %d events/s)%s last loss %.4f (%d parameters)",
			arch, steps/el, 1000*el/steps, int(200*steps/el), size, loop.Metrics()[len(loop.Metrics())-1].Loss, autograd.NumParams(m.Params()))
	}
}
