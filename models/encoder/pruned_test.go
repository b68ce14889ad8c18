package encoder

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
)

func tinyClassifier(t *testing.T, layers int) *Model {
	t.Helper()
	pad := 0
	c := &Config{Architectures: []string{BertForSequenceClassification}, ModelType: TypeBERT, HiddenSize: 16, NumHiddenLayers: layers,
		NumAttentionHeads: 2, IntermediateSize: 32, HiddenAct: "gelu", InitializerRange: 0.2, LayerNormEps: 1e-12, VocabSize: 40,
		MaxPositionEmbeddings: 16, TypeVocabSize: 2, PositionEmbeddingType: "absolute", PadTokenID: &pad}
	c.SetLabels([]string{"a", "b", "c"})
	m, err := New(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPrunedCheckpointRoundTrip: sublayers removed in memory and top-k
// attention are recorded by Save, and the loaded model has the same
// parameters and gives exactly the same logits.
func TestPrunedCheckpointRoundTrip(t *testing.T) {
	b := &Batch{B: 2, T: 9, IDs: []int{1, 5, 9, 13, 17, 21, 25, 29, 2, 1, 7, 7, 8, 3, 2, 0, 0, 0}, Lengths: []int{9, 6}}
	for _, c := range []struct {
		name      string
		attn, ffn []int
		topk      map[int]int
	}{
		{"one attention", []int{1}, nil, nil},
		{"a whole layer and an FFN", []int{0}, []int{0, 2}, nil},
		{"top-k only", nil, nil, map[int]int{0: 2, 3: 1}},
		{"removals and top-k", []int{2}, []int{1}, map[int]int{1: 3}},
	} {
		m := tinyClassifier(t, 4)
		n0 := autograd.NumParams(m.Params())
		for _, l := range c.attn {
			m.Layers[l].(*Layer).Attn = nil
		}
		for _, l := range c.ffn {
			m.Layers[l].(*Layer).FFN = nil
		}
		for l, k := range c.topk {
			tk, err := nn.NewTopK(m.Layers[l].(*Layer).Attn.(*nn.Attention), k)
			if err != nil {
				t.Fatal(err)
			}
			m.Layers[l].(*Layer).Attn = tk
		}
		want := m.Logits(nil, b).Value.Float32s()
		dir := filepath.Join(t.TempDir(), "m")
		if err := Save(m, dir); err != nil {
			t.Fatal(err)
		}
		back, err := Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := back.Logits(nil, b).Value.Float32s(); !slices.Equal(got, want) {
			t.Fatalf("%s: logits %v after loading, %v before saving", c.name, got, want)
		}
		n1 := autograd.NumParams(back.Params())
		if n1 != autograd.NumParams(m.Params()) || (len(c.attn)+len(c.ffn) > 0) != (n1 < n0) {
			t.Fatalf("%s: %d parameters loaded, %d saved, %d unpruned", c.name, n1, autograd.NumParams(m.Params()), n0)
		}
		r := back.Config.Loom.Removed
		if !slices.Equal(r.list(SublayerAttention), c.attn) || !slices.Equal(r.list(SublayerFFN), c.ffn) {
			t.Fatalf("%s: loaded removal map %+v", c.name, r)
		}
		for l := range 4 {
			tk, ok := back.Layers[l].(*Layer).Attn.(*nn.TopKAttention)
			if k := c.topk[l]; (k > 0) != ok || (ok && tk.K != k) {
				t.Fatalf("%s: layer %d's attention is %T after loading, want top-k %d", c.name, l, back.Layers[l].(*Layer).Attn, k)
			}
		}
	}
}

// TestPrunedConfigRejected: bad removal maps and top-k lists are refused
// on load with errors naming the field.
func TestPrunedConfigRejected(t *testing.T) {
	m := tinyClassifier(t, 3)
	dir := filepath.Join(t.TempDir(), "m")
	if err := Save(m, dir); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(string(cfg))
	base = base[:len(base)-1] // without the closing brace
	for _, c := range []struct{ loom, want string }{
		{`{"removed": {"attention": [3]}}`, "loom.removed.attention lists layer 3; the model has layers 0 to 2"},
		{`{"removed": {"ffn": [-1]}}`, "loom.removed.ffn lists layer -1"},
		{`{"removed": {"ffn": [1, 1]}}`, "loom.removed.ffn must list layers in increasing order without repeats"},
		{`{"removed": {"attention": [2, 0]}}`, "loom.removed.attention must list layers in increasing order"},
		{`{"removed": {"attn": [0]}}`, "loom.removed: keys loom does not read: attn"},
		{`{"removd": {"attention": [0]}}`, "loom: keys loom does not read: removd"},
		{`{"attention_top_k": [1, 2]}`, "loom.attention_top_k has 2 entries, want one per layer (3"},
		{`{"attention_top_k": [0, -1, 0]}`, "loom.attention_top_k[1] is -1"},
		{`{"removed": {"attention": [1]}, "attention_top_k": [0, 4, 0]}`, "loom.attention_top_k[1] is 4, but loom.removed.attention lists layer 1"},
	} {
		bad := base + `, "loom": ` + c.loom + "}\n"
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("loom %s: error %v, want %q", c.loom, err, c.want)
		}
	}
}
