package encoder

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// expected is a fixture's reference outputs (testdata/gen_encoder.py).
type expected struct {
	IDs      [][]int     `json:"ids"`
	Lengths  []int       `json:"lengths"`
	Features [][]float32 `json:"features"`
	Hidden   [][]float32 `json:"hidden"`
	Pooled   [][]float32 `json:"pooled"`
	Logits   [][]float32 `json:"logits"`
}

func readExpected(t *testing.T, dir string) *expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

// fixtureBatch is the fixture's input batch.
func fixtureBatch(m *Model, e *expected) *Batch {
	if e.Features != nil {
		c := m.Config
		var flat []float32
		for _, r := range e.Features {
			flat = append(flat, r...)
		}
		B := len(flat) / (c.MaxLength * c.NumMelBins)
		return &Batch{B: B, T: c.MaxLength, Features: tensor.FromFloat32(flat, B, c.MaxLength, c.NumMelBins)}
	}
	b := &Batch{B: len(e.IDs), T: len(e.IDs[0]), Lengths: e.Lengths}
	for _, r := range e.IDs {
		b.IDs = append(b.IDs, r...)
	}
	return b
}

func compareRows(t *testing.T, what string, got *autograd.Var, want [][]float32, tol float64) {
	t.Helper()
	g := got.Value.Contiguous().Float32s()
	var flat []float32
	for _, r := range want {
		flat = append(flat, r...)
	}
	if len(g) != len(flat) {
		t.Fatalf("%s: %d values, want %d", what, len(g), len(flat))
	}
	worst := 0.0
	for i := range g {
		d := math.Abs(float64(g[i]-flat[i])) / (1 + math.Abs(float64(flat[i])))
		worst = max(worst, d)
	}
	if worst > tol {
		t.Errorf("%s: largest relative difference %.3g from the PyTorch reference (tolerance %g)", what, worst, tol)
	}
}

// TestParityWithPyTorch loads each Hugging Face fixture and compares the
// hidden states, BERT's pooled output and the heads' logits with a
// PyTorch forward pass written from transformers' modeling code.
func TestParityWithPyTorch(t *testing.T) {
	for _, name := range []string{"bert-base", "bert-seqcls", "bert-mlm", "ast"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			e := readExpected(t, dir)
			b := fixtureBatch(m, e)
			var ctx *nn.Ctx
			autograd.NoGrad(func() {
				h := m.Encode(ctx, b)
				compareRows(t, "hidden", h, e.Hidden, 2e-5)
				if e.Pooled != nil {
					compareRows(t, "pooled", m.Pool(h), e.Pooled, 2e-5)
				}
				if e.Logits != nil {
					compareRows(t, "logits", m.Logits(ctx, b), e.Logits, 2e-5)
				}
			})
		})
	}
}

// TestSaveLoadRoundTrip saves each fixture model and loads it back
// identically, names and config included.
func TestSaveLoadRoundTrip(t *testing.T) {
	for _, name := range []string{"bert-seqcls", "bert-mlm", "ast"} {
		m, err := Load(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := Save(m, dir); err != nil {
			t.Fatal(err)
		}
		m2, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		a, b := m.Params(), m2.Params()
		if len(a) != len(b) {
			t.Fatalf("%s: %d parameters after the round trip, want %d", name, len(b), len(a))
		}
		for i := range a {
			if a[i].Name != b[i].Name || !same(a[i].Value, b[i].Value) {
				t.Fatalf("%s: parameter %s differs after the round trip", name, a[i].Name)
			}
		}
		if string(m.Config.JSON()) != string(m2.Config.JSON()) {
			t.Errorf("%s: config differs after the round trip:\n%s\n%s", name, m.Config.JSON(), m2.Config.JSON())
		}
	}
}

// TestLoadAsClassifier builds a classifier on an MLM checkpoint: the base
// weights load, the pooler and classifier are drawn fresh and the MLM head
// is left out, as transformers' from_pretrained does.
func TestLoadAsClassifier(t *testing.T) {
	m, rep, err := LoadWith(filepath.Join("testdata", "bert-mlm"), LoadOptions{Architecture: BertForSequenceClassification, Labels: []string{"a", "b"}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	wantInit := []string{"bert.pooler.dense.bias", "bert.pooler.dense.weight", "classifier.bias", "classifier.weight"}
	if len(rep.Initialised) != len(wantInit) {
		t.Fatalf("initialised %v, want %v", rep.Initialised, wantInit)
	}
	for i := range wantInit {
		if rep.Initialised[i] != wantInit[i] {
			t.Fatalf("initialised %v, want %v", rep.Initialised, wantInit)
		}
	}
	if len(rep.Dropped) != 5 {
		t.Errorf("dropped %v, want the 5 tensors of the MLM head", rep.Dropped)
	}
	base, err := Load(filepath.Join("testdata", "bert-mlm"))
	if err != nil {
		t.Fatal(err)
	}
	e := readExpected(t, filepath.Join("testdata", "bert-mlm"))
	autograd.NoGrad(func() {
		h1 := base.Encode(nil, fixtureBatch(base, e))
		h2 := m.Encode(nil, fixtureBatch(m, e))
		if !same(h1.Value, h2.Value) {
			t.Error("the classifier's encoder differs from the MLM checkpoint's")
		}
	})
	if got := m.Config.Labels(); len(got) != 2 || got[1] != "b" {
		t.Errorf("labels %v", got)
	}
}

// same reports whether a and b hold the same float32 values bit for bit.
func same(a, b *tensor.Tensor) bool {
	x, y := a.Contiguous().Float32s(), b.Contiguous().Float32s()
	if !tensor.SameShape(a, b) || len(x) != len(y) {
		return false
	}
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return false
		}
	}
	return true
}

// TestLoadWithNewLabels: the same architecture with other labels keeps the
// encoder and draws a new head of the new size.
func TestLoadWithNewLabels(t *testing.T) {
	m, rep, err := LoadWith(filepath.Join("testdata", "ast"), LoadOptions{Labels: []string{"a", "b", "c"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.NumLabels() != 3 || len(rep.Initialised) != 4 || len(rep.Dropped) != 4 {
		t.Fatalf("labels %d, initialised %v, dropped %v", m.Config.NumLabels(), rep.Initialised, rep.Dropped)
	}
	if _, _, err := LoadWith(filepath.Join("testdata", "ast"), LoadOptions{Architecture: BertForMaskedLM}); err == nil {
		t.Fatal("an AST checkpoint became a BERT")
	}
}
