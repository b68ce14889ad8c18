package prune

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/loomml/loom/compress/axformer"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
)

// toy is a target whose score rises with each attention block removed and
// falls with each FFN removed; top-k costs nothing at k ≥ 2.
type toy struct {
	attn, ffn []bool // present
	topk      []int
}

func (y *toy) NumLayers() int { return len(y.attn) }
func (y *toy) Present(u axformer.Unit) bool {
	switch u.Kind {
	case axformer.AttentionBlock:
		return y.attn[u.Layer]
	case axformer.FFNBlock:
		return y.ffn[u.Layer]
	}
	return y.attn[u.Layer] || y.ffn[u.Layer]
}
func (y *toy) Remove(u axformer.Unit) (func(), error) {
	a, f := y.attn[u.Layer], y.ffn[u.Layer]
	if u.Kind != axformer.FFNBlock {
		y.attn[u.Layer] = false
	}
	if u.Kind != axformer.AttentionBlock {
		y.ffn[u.Layer] = false
	}
	return func() { y.attn[u.Layer], y.ffn[u.Layer] = a, f }, nil
}
func (y *toy) SetTopK(l, k int) error { y.topk[l] = k; return nil }
func (y *toy) score() float64 {
	s := 0.0
	for l := range y.attn {
		if !y.attn[l] {
			s += 0.01
		}
		if !y.ffn[l] {
			s -= 0.1
		}
		if y.topk[l] == 1 {
			s -= 0.5
		}
	}
	return s
}

// TestAxJobReadsTestAfterChoosing: the test split is scored only after the
// last validation evaluation, once for the pruned model and once for the
// unpruned one rebuilt from the recorded removals; the target is left
// pruned with its top-k.
func TestAxJobReadsTestAfterChoosing(t *testing.T) {
	y := &toy{attn: []bool{true, true, true}, ffn: []bool{true, true, true}, topk: make([]int, 3)}
	var calls []string
	var testStates []string
	state := func() string { return fmt.Sprint(y.attn, y.ffn, y.topk) }
	j := &AxJob{Target: y, Task: TaskClassify,
		Val: func() (float64, error) { calls = append(calls, "val"); return y.score(), nil },
		Test: func() (float64, error) {
			calls = append(calls, "test")
			testStates = append(testStates, state())
			return y.score(), nil
		},
		Params: func() int { return 10 * axformer.Sublayers(y) }, Options: axformer.Options{Ks: []int{1, 2, 4}}}
	rep, err := j.Run()
	if err != nil {
		t.Fatal(err)
	}
	first := slices.Index(calls, "test")
	if first < 0 || slices.Contains(calls[first:], "val") || len(calls)-first != 2 {
		t.Fatalf("calls %v: want every validation call before the two test calls", calls)
	}
	if rep.Sublayers != [2]int{6, 3} || rep.Params != [2]int{60, 30} || !slices.Equal(rep.TopK, []int{2, 0, 0}) && !slices.Equal(rep.TopK, []int{0, 0, 0}) {
		t.Fatalf("report: sublayers %v, params %v, top-k %v, removed %v", rep.Sublayers, rep.Params, rep.TopK, rep.Removed)
	}
	unpruned := fmt.Sprint([]bool{true, true, true}, []bool{true, true, true}, []int{0, 0, 0})
	if testStates[1] != unpruned || testStates[0] != state() || rep.BaseTest != 0 || rep.FinalTest != y.score() {
		t.Fatalf("test scored on %v (want the pruned state %s, then %s); base %v final %v", testStates, state(), unpruned, rep.BaseTest, rep.FinalTest)
	}
}

// TestCommitDecoder: sublayers an AxFormer search cleared are recorded in
// the config, so the saved model loads with the same logits.
func TestCommitDecoder(t *testing.T) {
	m := byteModel(t, nil)
	orig := Snapshot(m)
	tg, err := axformer.NewDecoder(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []axformer.Unit{{Kind: axformer.WholeLayer, Layer: 0}, {Kind: axformer.FFNBlock, Layer: 2}} {
		if _, err := tg.Remove(u); err != nil {
			t.Fatal(err)
		}
	}
	ids := byteIDs(12, 5)
	want := decodertest.Logits(t, m, ids)
	if err := CommitDecoder(m, orig); err != nil {
		t.Fatal(err)
	}
	r := m.Config.Loom.Removed
	if !slices.Equal(r.Attention, []int{0}) || !slices.Equal(r.FFN, []int{0, 2}) {
		t.Fatalf("removed %+v", r)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := convert.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	back, err := convert.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	decodertest.EqualLogits(t, "after loading", decodertest.Logits(t, back, ids), want)
	if back.NumParams() != m.NumParams() || !back.Config.Loom.Removed.Has(2, decoder.SublayerFFN) {
		t.Fatalf("loaded %d parameters, saved %d", back.NumParams(), m.NumParams())
	}
	// Top-k attention cannot be recorded in a decoder checkpoint.
	m2 := byteModel(t, nil)
	tg2, _ := axformer.NewDecoder(m2)
	if err := tg2.SetTopK(1, 2); err != nil {
		t.Fatal(err)
	}
	if err := CommitDecoder(m2, Snapshot(m2)); err == nil {
		t.Fatal("top-k attention in a decoder was committed")
	}
}
