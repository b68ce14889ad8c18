package train

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loomml/loom/data"
)

// cancelAt is a sampler that cancels a context when the batch of a given
// optimizer step is drawn (with gradient accumulation 2: its first
// micro-batch), as a Ctrl-C arriving during that step would.
type cancelAt struct {
	Sampler[data.Batch]
	draws, at int // at: the 0-based draw that cancels
	cancel    func()
}

func (c *cancelAt) Next() data.Batch {
	if c.draws == c.at {
		c.cancel()
	}
	c.draws++
	return c.Sampler.Next()
}

// TestInterruptCheckpointsAndResumes: a run whose context is canceled
// during step k finishes that step, saves a checkpoint of it (also when
// one was just written, or when the run was resumed and no step is done)
// and returns *Interrupted; resuming reproduces the uninterrupted run.
func TestInterruptCheckpointsAndResumes(t *testing.T) {
	full := tinyRun(t, t.TempDir(), 0)
	if err := full.Train(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 5, 7} { // 5: a CheckpointEvery step
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		r := tinyRun(t, dir, 0)
		r.Context = ctx
		r.Data = &cancelAt{Sampler: r.Data, at: 2 * (k - 1), cancel: cancel}
		err := r.Train()
		var ie *Interrupted
		if !errors.As(err, &ie) || !errors.Is(err, ErrInterrupted) {
			t.Fatalf("k=%d: Train returned %v, want an *Interrupted", k, err)
		}
		ckpt := filepath.Join(dir, CheckpointDir)
		if ie.Step != k || ie.Steps != 12 || ie.Checkpoint != ckpt {
			t.Fatalf("k=%d: %+v, want step %d/12 saved to %s", k, ie, k, ckpt)
		}
		if want := "interrupted at step " + strconv.Itoa(k) + "/12; checkpoint saved to " + ckpt; err.Error() != want {
			t.Fatalf("k=%d: %q, want %q", k, err, want)
		}
		if step, ok, err := CheckpointStep(dir); err != nil || !ok || step != k {
			t.Fatalf("k=%d: checkpoint at step %d (%v, %v), want %d", k, step, ok, err, k)
		}
		// A resumed run interrupted before its first step keeps the checkpoint.
		again := tinyRun(t, dir, 0)
		if err := again.Resume(); err != nil {
			t.Fatal(err)
		}
		again.Context = ctx // still canceled
		if err := again.Train(); !errors.As(err, &ie) || ie.Step != k || ie.Checkpoint != ckpt {
			t.Fatalf("k=%d: resumed and interrupted at once: %v", k, err)
		}
		resumed := tinyRun(t, dir, 0)
		if err := resumed.Resume(); err != nil {
			t.Fatal(err)
		}
		if err := resumed.Train(); err != nil {
			t.Fatal(err)
		}
		a, b := full.Metrics(), resumed.Metrics()
		if resumed.Step() != 12 || len(b) != len(a) {
			t.Fatalf("k=%d: resumed run ended at step %d with %d metrics", k, resumed.Step(), len(b))
		}
		for i := range a {
			if a[i].Loss != b[i].Loss {
				t.Fatalf("k=%d: step %d: resumed loss %v, uninterrupted %v", k, i, b[i].Loss, a[i].Loss)
			}
		}
	}
}

// TestInterruptBeforeAnyStep: with OutDir, a checkpoint of step 0 is
// written, so the directory is a run to resume; without, nothing is saved
// and the error says so.
func TestInterruptBeforeAnyStep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	for _, out := range []string{dir, ""} {
		r := tinyRun(t, out, 0)
		r.Context = ctx
		err := r.Train()
		var ie *Interrupted
		if !errors.As(err, &ie) || ie.Step != 0 {
			t.Fatalf("OutDir %q: Train: %v", out, err)
		}
		if out == "" {
			if ie.Checkpoint != "" || err.Error() != "interrupted at step 0/12; no checkpoint saved" {
				t.Fatalf("no OutDir: %v", err)
			}
			continue
		}
		if step, ok, err := CheckpointStep(out); err != nil || !ok || step != 0 || ie.Checkpoint != filepath.Join(out, CheckpointDir) {
			t.Fatalf("checkpoint at step %d (%v, %v); error %v", step, ok, err, ie)
		}
	}
	// and it resumes to the end
	r := tinyRun(t, dir, 0)
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := r.Train(); err != nil || r.Step() != 12 {
		t.Fatalf("resumed from step 0: step %d, %v", r.Step(), err)
	}
}

// TestPastSteps: resuming a checkpoint of step 12 for a run of 8 steps is
// an error naming both, not a silent no-op.
func TestPastSteps(t *testing.T) {
	dir := t.TempDir()
	if err := tinyRun(t, dir, 0).Train(); err != nil {
		t.Fatal(err)
	}
	r := tinyRun(t, dir, 0)
	r.Hyper.Steps = 8
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	err := r.Train()
	var pe *PastSteps
	if !errors.As(err, &pe) || pe.Step != 12 || pe.Steps != 8 ||
		err.Error() != filepath.Join(dir, CheckpointDir)+" is at step 12, past the run's 8 steps; give more than 12 steps to train further" {
		t.Fatalf("Train: %v", err)
	}
}

// TestProgressEvery: off a terminal, a progress line comes every
// ProgressEvery (here: after every step), not every 10 s.
func TestProgressEvery(t *testing.T) {
	for _, c := range []struct {
		every time.Duration
		lines int
	}{{time.Nanosecond, 12}, {time.Hour, 2}} {
		var buf bytes.Buffer
		r := tinyRun(t, "", 0)
		r.Progress, r.ProgressEvery = &buf, c.every
		if err := r.Train(); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "\n"); n != c.lines {
			t.Errorf("every %v: %d progress lines, want %d:\n%s", c.every, n, c.lines, buf.String())
		}
	}
}

// TestJobInterrupted: a Job whose context is canceled returns the
// *Interrupted error with a checkpoint and no evaluation; run again it
// resumes from that checkpoint and reports where it started.
func TestJobInterrupted(t *testing.T) {
	spec, err := LookupPreset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	spec.Train.Steps = 4
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 100))
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = (&Job{Spec: spec, Text: text, OutDir: dir, Resume: true, Context: ctx}).Run()
	var ie *Interrupted
	if !errors.As(err, &ie) || ie.Step != 0 || ie.Steps != 4 || ie.Checkpoint != filepath.Join(dir, CheckpointDir) {
		t.Fatalf("Run with a canceled context: %v", err)
	}
	o, err := (&Job{Spec: spec, Text: text, OutDir: dir, Resume: true}).Run()
	if err != nil || !o.Resumed || o.StartStep != 0 || o.Steps != 4 || o.Val.Tokens == 0 {
		t.Fatalf("resumed: %+v, %v", o, err)
	}
}
