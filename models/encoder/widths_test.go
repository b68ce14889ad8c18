package encoder

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/nn"
)

// TestPerLayerWidths: loom.attention_heads and loom.intermediate_sizes
// build layers of those widths, save and load bit-exactly, and bad values
// are refused naming the key.
func TestPerLayerWidths(t *testing.T) {
	b := &Batch{B: 2, T: 5, IDs: []int{1, 5, 9, 13, 2, 1, 7, 8, 0, 0}, Lengths: []int{5, 3}}
	for _, c := range []struct {
		name   string
		heads  []int
		widths []int
		seed   uint64
	}{
		{"heads", []int{1, 2, 1}, nil, 1},
		{"widths", nil, []int{7, 32, 1}, 2},
		{"both", []int{2, 1, 1}, []int{3, 5, 30}, 3},
	} {
		m := tinyClassifier(t, 3)
		cfg := *m.Config
		cfg.Loom.AttentionHeads, cfg.Loom.IntermediateSizes = c.heads, c.widths
		m, err := New(&cfg, c.seed)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i, bl := range m.Layers {
			l := bl.(*Layer)
			a, f := l.Attn.(*nn.Attention), l.FFN.(*nn.MLP)
			if a.Heads != cfg.HeadsAt(i) || a.HeadDim != 8 || f.Up.OutFeatures() != cfg.IntermediateSizeAt(i) {
				t.Fatalf("%s: layer %d has %d heads of %d, FFN %d; want %d heads of 8, FFN %d", c.name, i, a.Heads, a.HeadDim,
					f.Up.OutFeatures(), cfg.HeadsAt(i), cfg.IntermediateSizeAt(i))
			}
		}
		want := m.Logits(nil, b).Value.Float32s()
		dir := filepath.Join(t.TempDir(), "m")
		if err := Save(m, dir); err != nil {
			t.Fatal(err)
		}
		got, err := Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(got.Config.Loom.AttentionHeads, c.heads) || !slices.Equal(got.Config.Loom.IntermediateSizes, c.widths) {
			t.Fatalf("%s: loaded widths %v %v", c.name, got.Config.Loom.AttentionHeads, got.Config.Loom.IntermediateSizes)
		}
		if g := got.Logits(nil, b).Value.Float32s(); !slices.Equal(g, want) {
			t.Fatalf("%s: loaded logits %v, want %v", c.name, g, want)
		}
	}
	for _, c := range []struct {
		heads, widths []int
		want          string
	}{
		{[]int{1, 2}, nil, "loom.attention_heads has 2 entries"},
		{[]int{1, 3, 1}, nil, "loom.attention_heads[1] is 3"},
		{[]int{1, 0, 1}, nil, "loom.attention_heads[1] is 0"},
		{nil, []int{4, 4, 4, 4}, "loom.intermediate_sizes has 4 entries"},
		{nil, []int{4, -1, 4}, "loom.intermediate_sizes[1] is -1"},
	} {
		cfg := *tinyClassifier(t, 3).Config
		cfg.Loom.AttentionHeads, cfg.Loom.IntermediateSizes = c.heads, c.widths
		if _, err := ParseConfig("config.json", cfg.JSON()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want %q", c.heads, c.widths, err, c.want)
		}
	}
}
