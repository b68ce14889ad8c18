package convert

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// TestNormalInPieces: init's interruptible random weights are
// tensor.Normal's, value for value (a seed makes the same model as
// before), across the pieces it checks the context between.
func TestNormalInPieces(t *testing.T) {
	shape := []int{3, 1<<21 + 5} // more than one piece
	want := tensor.Normal(tensor.NewRNG(7), 0, 0.02, shape...).F32()
	got, err := normal(context.Background(), tensor.NewRNG(7), 0.02, shape)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.F32(), want) {
		t.Fatal("normal differs from tensor.Normal")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := normal(ctx, tensor.NewRNG(7), 0.02, shape); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

// TestWriteCanceled: a canceled context stops WriteRandomWith,
// ExportHFWith and ExportGGUFWith with context.Canceled, leaving nothing
// in the directory.
func TestWriteCanceled(t *testing.T) {
	c := &decoder.Config{ModelType: "llama", HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2,
		VocabSize: 300, MaxPositionEmbeddings: 16, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, InitializerRange: 0.02}
	m, err := decoder.New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := WriteOptions{Context: ctx}
	dir := t.TempDir()
	for name, write := range map[string]func() error{
		"WriteRandomWith": func() error { return WriteRandomWith(c, filepath.Join(dir, "r"), tensor.BFloat16, 1, 0, nil, o) },
		"ExportHFWith":    func() error { return ExportHFWith(m, filepath.Join(dir, "hf"), nil, tensor.Float32, o) },
		"ExportGGUFWith":  func() error { return ExportGGUFWith(m, filepath.Join(dir, "m.gguf"), nil, tensor.Float32, "m", o) },
	} {
		if err := write(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", name, err)
		}
	}
	// Canceled midway, after the first shard.
	ctx2, cancel2 := context.WithCancel(context.Background())
	shards := 0
	err = WriteRandomWith(c, filepath.Join(dir, "r"), tensor.BFloat16, 1, 2000, func(done, total int64) {
		if shards++; shards == 1 {
			cancel2()
		}
	}, WriteOptions{Context: ctx2})
	if !errors.Is(err, context.Canceled) || shards != 1 {
		t.Errorf("canceled after a shard: %v after %d shards", err, shards)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("left behind: %v", es)
	}
}
