package guidance

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/tensor"
)

// The RNN against a direct float64 evaluation of
// h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), h_0 = 0, layer by layer.
func TestRNNMatchesRecurrence(t *testing.T) {
	const vocab, embed, hidden, layers, B, T = 5, 3, 4, 2, 2, 3
	m, err := NewRNN(vocab, embed, hidden, layers, 7)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int{0, 3, 4, 2, 2, 1}
	logits, reps, err := m.Forward(Input{IDs: ids, B: B, T: T})
	if err != nil {
		t.Fatal(err)
	}
	emb := m.Embed.Weight.Value.Float64s()
	x := make([][][]float64, B) // [b][t][feature]
	for b := range B {
		for tt := range T {
			id := ids[b*T+tt]
			x[b] = append(x[b], slices.Clone(emb[id*embed:(id+1)*embed]))
		}
	}
	affine := func(w, bias []float64, in []float64) []float64 {
		out := slices.Clone(bias)
		for o := range out {
			for i, v := range in {
				out[o] += w[o*len(in)+i] * v
			}
		}
		return out
	}
	for l, c := range m.Cells {
		wih, bih := c.IH.Weight.Value.Float64s(), c.IH.Bias.Value.Float64s()
		whh, bhh := c.HH.Weight.Value.Float64s(), c.HH.Bias.Value.Float64s()
		got := reps[l].Value.Float64s()
		if !slices.Equal(reps[l].Shape(), []int{B, T, hidden}) {
			t.Fatalf("layer %d representation %v", l, reps[l].Shape())
		}
		for b := range B {
			h := make([]float64, hidden)
			for tt := range T {
				a, r := affine(wih, bih, x[b][tt]), affine(whh, bhh, h)
				for k := range h {
					h[k] = math.Tanh(a[k] + r[k])
					if d := math.Abs(got[(b*T+tt)*hidden+k] - h[k]); d > 1e-5 {
						t.Fatalf("layer %d, b %d, t %d, unit %d: %v, want %v", l, b, tt, k, got[(b*T+tt)*hidden+k], h[k])
					}
				}
				x[b][tt] = slices.Clone(h)
			}
		}
	}
	if !slices.Equal(logits.Shape(), []int{B, T, vocab}) {
		t.Errorf("logits %v", logits.Shape())
	}
}

func TestModelShapes(t *testing.T) {
	r := tensor.NewRNG(1)
	feat := Input{X: tensor.RandN(r, 6, 20), B: 6}
	toks := Input{IDs: []int{1, 2, 3, 4, 0, 1, 2, 3}, B: 2, T: 4}
	mk := func(m Model, err error) Model {
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name   string
		m      Model
		in     Input
		logits []int
		reps   [][]int
	}{
		{"bare MLP", mk(NewPlainMLP(20, 8, 3, 4, MLPOptions{}, 1)), feat, []int{6, 4}, [][]int{{6, 8}, {6, 8}, {6, 8}}},
		{"FCN", mk(NewPlainMLP(20, 8, 2, 4, MLPOptions{BatchNorm: true, Dropout: 0.1}, 1)), feat, []int{6, 4}, [][]int{{6, 8}, {6, 8}}},
		{"residual MLP", mk(NewResidualMLP(20, 8, 2, 4, 1)), feat, []int{6, 4}, [][]int{{6, 8}, {6, 8}, {6, 8}, {6, 8}, {6, 8}}},
		{"RNN", mk(NewRNN(5, 3, 6, 3, 1)), toks, []int{2, 4, 5}, [][]int{{2, 4, 6}, {2, 4, 6}, {2, 4, 6}}},
		{"Transformer", mk(NewTransformer(5, 8, 2, 2, 6, 1)), toks, []int{2, 4, 5}, [][]int{{2, 4, 8}, {2, 4, 8}}},
	} {
		logits, reps, err := c.m.Forward(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(logits.Shape(), c.logits) || len(reps) != len(c.reps) || c.m.Layers() != len(c.reps) {
			t.Errorf("%s: logits %v, %d representations, Layers %d", c.name, logits.Shape(), len(reps), c.m.Layers())
			continue
		}
		for i, rp := range reps {
			if !slices.Equal(rp.Shape(), c.reps[i]) {
				t.Errorf("%s: representation %d has shape %v, want %v", c.name, i, rp.Shape(), c.reps[i])
			}
		}
	}
}

// The Transformer is causal: changing a later token leaves earlier
// positions' logits unchanged.
func TestTransformerCausal(t *testing.T) {
	m, err := NewTransformer(6, 8, 2, 2, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := m.Forward(Input{IDs: []int{1, 2, 3, 4, 5}, B: 1, T: 5})
	b, _, _ := m.Forward(Input{IDs: []int{1, 2, 3, 0, 0}, B: 1, T: 5})
	av, bv := a.Value.Float64s(), b.Value.Float64s()
	for i := range 3 * 6 {
		if math.Abs(av[i]-bv[i]) > 1e-6 {
			t.Fatalf("position %d changed with a later token", i/6)
		}
	}
	if slices.Equal(av[3*6:], bv[3*6:]) {
		t.Error("later positions did not change")
	}
}

func TestModelErrors(t *testing.T) {
	mlp, _ := NewPlainMLP(4, 3, 2, 2, MLPOptions{}, 1)
	rnn, _ := NewRNN(5, 2, 3, 1, 1)
	tf, _ := NewTransformer(5, 4, 2, 1, 3, 1)
	for _, c := range []struct {
		name, want string
		err        error
	}{
		{"MLP input width", "want [B, 4]", func() error { _, _, err := mlp.Forward(Input{X: tensor.Zeros(2, 5)}); return err }()},
		{"MLP no input", "want [B, 4]", func() error { _, _, err := mlp.Forward(Input{}); return err }()},
		{"token outside vocabulary", "outside the vocabulary", func() error { _, _, err := rnn.Forward(Input{IDs: []int{1, 9}, B: 1, T: 2}); return err }()},
		{"ids for B, T", "token ids for B", func() error { _, _, err := rnn.Forward(Input{IDs: []int{1, 2, 3}, B: 1, T: 2}); return err }()},
		{"too long", "at most 3", func() error { _, _, err := tf.Forward(Input{IDs: []int{1, 2, 3, 4}, B: 1, T: 4}); return err }()},
		{"MLP depth", "depth", func() error { _, err := NewPlainMLP(4, 3, 0, 2, MLPOptions{}, 1); return err }()},
		{"MLP dropout", "dropout", func() error { _, err := NewPlainMLP(4, 3, 1, 2, MLPOptions{Dropout: 1}, 1); return err }()},
		{"residual classes", "classes", func() error { _, err := NewResidualMLP(4, 3, 1, 1, 1); return err }()},
		{"RNN layers", "layers", func() error { _, err := NewRNN(5, 2, 3, 0, 1); return err }()},
		{"Transformer heads", "heads", func() error { _, err := NewTransformer(5, 6, 4, 1, 3, 1); return err }()},
		{"copy task", "length", CopyTask{Len: 0, Symbols: 10}.Validate()},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, c.err, c.want)
		}
	}
}

func TestCopyTask(t *testing.T) {
	task := CopyTask{Len: 4, Symbols: 10}
	if err := task.Validate(); err != nil {
		t.Fatal(err)
	}
	b := task.Sample(5, tensor.NewRNG(3))
	T := task.T()
	if T != 10 || task.Vocab() != 13 || b.In.B != 5 || b.In.T != T || len(b.In.IDs) != 5*T || len(b.Targets) != 5*T {
		t.Fatalf("T %d, vocab %d, batch %+v", T, task.Vocab(), b.In)
	}
	for s := range 5 {
		ids, tg := b.In.IDs[s*T:(s+1)*T], b.Targets[s*T:(s+1)*T]
		for i := range task.Len {
			if ids[i] < 0 || ids[i] >= 10 || ids[task.Len+1+i] != 10 || tg[i] != Ignore || tg[task.Len+1+i] != ids[i] {
				t.Fatalf("sequence %d: ids %v, targets %v", s, ids, tg)
			}
		}
		if ids[task.Len] != 11 || ids[T-1] != 12 || tg[task.Len] != Ignore || tg[T-1] != 12 {
			t.Fatalf("sequence %d: ids %v, targets %v", s, ids, tg)
		}
	}
	// The same stream gives the same batch.
	if c := task.Sample(5, tensor.NewRNG(3)); !slices.Equal(c.In.IDs, b.In.IDs) {
		t.Error("Sample is not reproducible")
	}
}
