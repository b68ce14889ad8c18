package train

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// memSampler draws random windows of a fixed token stream.
type memSampler struct {
	toks []int
	B, T int
	rng  *tensor.RNG
	n    uint64 // batches drawn
}

func (s *memSampler) Next() data.Batch {
	s.n++
	b := data.Batch{B: s.B, T: s.T}
	for range s.B {
		o := s.rng.Intn(len(s.toks) - s.T)
		b.IDs = append(b.IDs, s.toks[o:o+s.T]...)
		b.Targets = append(b.Targets, s.toks[o+1:o+s.T+1]...)
	}
	return b
}
func (s *memSampler) State() ([]byte, error) {
	r, _ := s.rng.MarshalBinary()
	return binary.LittleEndian.AppendUint64(r, s.n), nil
}
func (s *memSampler) SetState(b []byte) error {
	if len(b) < 8 {
		return errors.New("short state")
	}
	s.n = binary.LittleEndian.Uint64(b[len(b)-8:])
	return s.rng.UnmarshalBinary(b[:len(b)-8])
}

func tinyRun(t *testing.T, out string, stopAt int) *Loop[data.Batch] {
	t.Helper()
	cfg := &decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 64, MaxPositionEmbeddings: 16, InitializerRange: 0.02}
	m, err := decoder.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	toks := make([]int, 2000)
	for i := range toks {
		toks[i] = (i*i + 3*i) % 61
	}
	h := Hyper{Steps: 12, BatchSize: 4, SeqLen: 16, GradAccum: 2, LR: 1e-2, Warmup: 3, MinLRFactor: 0.1, WeightDecay: 0.1, Clip: 1}
	valX, valY := toks[:64], toks[1:65]
	return &Loop[data.Batch]{Model: m, Hyper: h, Data: &memSampler{toks: toks, B: 4, T: 16, rng: tensor.NewRNG(5)},
		Validate: func() (float64, error) {
			return m.Loss(nil, data.Batch{IDs: valX, Targets: valY, B: 4, T: 16}).Item(), nil
		},
		EvalEvery: 4, CheckpointEvery: 5, OutDir: out, StopAt: stopAt}
}

// TestExactResume: a run split at step 7 and resumed from its checkpoint
// produces exactly the losses of the uninterrupted run.
func TestExactResume(t *testing.T) {
	full := tinyRun(t, t.TempDir(), 0)
	if err := full.Train(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first := tinyRun(t, dir, 7)
	if err := first.Train(); err != nil {
		t.Fatal(err)
	}
	second := tinyRun(t, dir, 0)
	if err := second.Resume(); err != nil {
		t.Fatal(err)
	}
	if second.Step() != 7 {
		t.Fatalf("resumed at step %d", second.Step())
	}
	if err := second.Train(); err != nil {
		t.Fatal(err)
	}
	a, b := full.Metrics(), second.Metrics()
	if len(a) != 12 || len(b) != 12 {
		t.Fatalf("metrics: %d and %d entries", len(a), len(b))
	}
	for i := range a {
		if a[i].Loss != b[i].Loss || a[i].ValLoss != b[i].ValLoss {
			t.Fatalf("step %d: resumed loss %v (val %v), uninterrupted %v (val %v)", i, b[i].Loss, b[i].ValLoss, a[i].Loss, a[i].ValLoss)
		}
	}
	if a[0].Loss <= a[11].Loss {
		t.Fatalf("loss did not fall: %v → %v", a[0].Loss, a[11].Loss)
	}
	// metrics.jsonl holds each step once
	data, _ := os.ReadFile(filepath.Join(dir, MetricsFile))
	if n := strings.Count(string(data), "\n"); n != 12 {
		t.Fatalf("metrics.jsonl has %d lines", n)
	}
}

func TestResumeErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	r := tinyRun(t, dir, 5)
	if err := r.Train(); err != nil {
		t.Fatal(err)
	}
	opt := filepath.Join(dir, CheckpointDir, OptimizerFile)
	data, _ := os.ReadFile(opt)
	os.WriteFile(opt, data[:len(data)-10], 0o644)
	err := tinyRun(t, dir, 0).Resume()
	if err == nil || !strings.Contains(err.Error(), OptimizerFile) {
		t.Fatalf("truncated optimizer state: %v", err)
	}
}
