package sweep

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loomml/loom/train"
)

// TestRunResume trains a 2-point grid of a tiny model for 2 steps, then
// checks what a rerun does: nothing, when nothing changed; a refusal
// naming the flags, when the steps, the data or the config changed; a
// retraining of the changed runs with Force.
func TestSweepRunResume(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 100))
	cfg := tinySpec(t)
	var progress bytes.Buffer
	mk := func() *Sweep {
		return &Sweep{Config: cfg, ConfigName: "tiny.json", Axes: axes(t, "model.hidden_size=16,32"), Steps: 2,
			Text: text, DataName: "fox", Out: out, Progress: &progress}
	}
	rs, err := mk().Run()
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Name != "hidden_size=16,seed=1337" || rs[1].Name != "hidden_size=32,seed=1337" {
		t.Fatalf("results %+v", rs)
	}
	for _, r := range rs {
		if r.Status != StatusOK || r.Reused || r.Steps != 2 || r.Tokens != 2*8*64 || !(r.ValLoss > 0) || !(r.TrainLoss > 0) ||
			r.Params <= r.NonEmbeddingParams || r.NonEmbeddingParams <= 0 {
			t.Errorf("%+v", r)
		}
		dir := filepath.Join(out, RunsDir, r.Name)
		back, err := train.LoadSpec(filepath.Join(dir, SpecFile))
		if err != nil || back.Train.Steps != 2 || back.Train.Seed != 1337 {
			t.Errorf("%s: spec.json: %v", r.Name, err)
		}
		if step, ok, _ := train.CheckpointStep(dir); !ok || step != 2 {
			t.Errorf("%s: checkpoint at %d (%v)", r.Name, step, ok)
		}
	}
	if rs[0].Params >= rs[1].Params {
		t.Errorf("params %d and %d", rs[0].Params, rs[1].Params)
	}
	if !strings.Contains(progress.String(), "sweep: run 2/2 hidden_size=32,seed=1337\n") {
		t.Errorf("progress:\n%s", progress.String())
	}
	for _, f := range []string{RecordFile, ConfigFile, CSVFile, MarkdownFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	resultFile := filepath.Join(out, RunsDir, rs[0].Name, ResultFile)
	before, _ := os.ReadFile(resultFile)
	st0, _ := os.Stat(resultFile)

	// The same sweep again trains nothing.
	time.Sleep(10 * time.Millisecond)
	progress.Reset()
	again, err := mk().Run()
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(resultFile)
	st1, _ := os.Stat(resultFile)
	if !again[0].Reused || !again[1].Reused || again[0].ValLoss != rs[0].ValLoss || !bytes.Equal(before, after) || !st0.ModTime().Equal(st1.ModTime()) ||
		strings.Count(progress.String(), "finished before, skipped") != 2 || strings.Contains(progress.String(), "train ") {
		t.Errorf("rerun retrained:\n%s", progress.String())
	}

	// Other steps, data or config are refused, naming what to do.
	for _, c := range []struct {
		change func(*Sweep)
		want   string
	}{
		{func(s *Sweep) { s.Steps = 3 }, "--out " + out + ": run hidden_size=16,seed=1337 was trained with another spec"},
		{func(s *Sweep) { s.Text = append(s.Text, 'x') }, "was trained with other data (fox)"},
		{func(s *Sweep) { s.Config = append(bytes.Clone(cfg), '\n'); s.ConfigName = "new.json" }, "--config new.json differs from the config the sweep in --out " + out + " was started with (tiny.json"},
	} {
		s := mk()
		c.change(s)
		if _, err := s.Run(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v; want %q", err, c.want)
		}
	}
	// With Force, a changed config whose runs are the same retrains nothing,
	s := mk()
	s.Config, s.ConfigName, s.Force = append(bytes.Clone(cfg), '\n'), "new.json", true
	if rs, err := s.Run(); err != nil || !rs[0].Reused || !rs[1].Reused {
		t.Errorf("forced, same runs: %+v, %v", rs, err)
	}
	// and other steps retrain the runs afresh.
	s = mk()
	s.Config, s.Steps, s.Force = append(bytes.Clone(cfg), '\n'), 3, true
	rs, err = s.Run()
	if err != nil || rs[0].Reused || rs[0].Steps != 3 {
		t.Errorf("forced, other steps: %+v, %v", rs, err)
	}

	// A directory that is not a sweep's is refused.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	s = mk()
	s.Out = other
	if _, err := s.Run(); err == nil || !strings.Contains(err.Error(), "--out "+other+" is not empty and holds no sweep.json") {
		t.Errorf("foreign --out: %v", err)
	}
}

// A canceled context stops the sweep before its next run.
func TestSweepRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &Sweep{Config: tinySpec(t), Axes: axes(t, "model.hidden_size=16"), Steps: 1, Text: []byte(strings.Repeat("abc ", 500)),
		Out: filepath.Join(t.TempDir(), "o"), Context: ctx}
	if _, err := s.Run(); !errors.Is(err, train.ErrInterrupted) {
		t.Errorf("%v; want an interruption", err)
	}
}

// A run whose loss becomes NaN is a result (status diverged, no
// validation loss), recorded so that a rerun does not train it again.
func TestSweepRunDiverged(t *testing.T) {
	out := filepath.Join(t.TempDir(), "o")
	mk := func() *Sweep {
		return &Sweep{Config: tinySpec(t), Axes: axes(t, "train.lr=1e30", "train.warmup=0", "model.hidden_size=16"), Steps: 4,
			Text: []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 100)), Out: out}
	}
	rs, err := mk().Run()
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Status != StatusDiverged || !strings.Contains(r.Error, "diverged") || !math.IsNaN(float64(r.ValLoss)) || r.Steps >= 4 || r.Params == 0 {
		t.Fatalf("%+v", r)
	}
	csv, _ := os.ReadFile(filepath.Join(out, CSVFile))
	if !strings.HasSuffix(string(csv), ",,,"+strconv.Itoa(r.Steps)+","+strconv.FormatInt(r.Tokens, 10)+","+strconv.FormatFloat(r.Seconds, 'f', 2, 64)+",diverged\n") {
		t.Errorf("results.csv:\n%s", csv)
	}
	if rs, err := mk().Run(); err != nil || !rs[0].Reused || rs[0].Status != StatusDiverged {
		t.Errorf("rerun: %+v, %v", rs, err)
	}
}
