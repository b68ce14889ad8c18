package convert

import (
	"path/filepath"
	"testing"

	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// TestWriteRandomProgressStartsAtZero: progress hears of the work before
// the first shard is written, so a bar's clock (and its ETA) covers it,
// then after every shard.
func TestWriteRandomProgressStartsAtZero(t *testing.T) {
	c := &decoder.Config{ModelType: "llama", HiddenSize: 64, IntermediateSize: 128, NumHiddenLayers: 2, NumAttentionHeads: 4,
		NumKeyValueHeads: 4, HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 64, InitializerRange: 0.02}
	var calls [][2]int64
	err := WriteRandom(c, filepath.Join(t.TempDir(), "m"), tensor.BFloat16, 1, 40000, func(done, total int64) {
		calls = append(calls, [2]int64{done, total})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 3 {
		t.Fatalf("progress calls %v, want one at 0 and one per shard (several)", calls)
	}
	total := calls[0][1]
	if calls[0][0] != 0 || calls[len(calls)-1][0] != total {
		t.Fatalf("progress calls %v, want the first at 0 and the last at the total %d", calls, total)
	}
}
