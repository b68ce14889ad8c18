package decoder

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tokenizer"
)

func equalLogits(t *testing.T, what string, a, b []float32) {
	t.Helper()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%s: logit %d is %v, want %v (bit for bit)", what, i, b[i], a[i])
		}
	}
}

func TestRemovingNothingIsIdentity(t *testing.T) {
	c := interopConfig(nil)
	a, _ := New(c, 11)
	c2 := *c
	c2.Loom.Removed = &Removed{}
	b, err := New(&c2, 11)
	if err != nil {
		t.Fatal(err)
	}
	in := ids(12, c.VocabSize)
	equalLogits(t, "empty removal map", logits(t, a, in), logits(t, b, in))
}

func TestRemovedSublayerEqualsZeroedOutput(t *testing.T) {
	for _, tc := range []struct {
		layer int
		kind  string
		out   string // the output projection zeroed instead
	}{
		{1, SublayerAttention, "model.layers.1.self_attn.o_proj.weight"},
		{0, SublayerFFN, "model.layers.0.mlp.down_proj.weight"},
	} {
		c := interopConfig(nil)
		pruned, _ := New(c, 5)
		zeroed, _ := New(interopConfig(nil), 5)
		if err := pruned.RemoveSublayer(tc.layer, tc.kind); err != nil {
			t.Fatal(err)
		}
		for _, p := range zeroed.Params() {
			if p.Name == tc.out {
				clear(p.Value.F32())
			}
		}
		in := ids(12, c.VocabSize)
		want := logits(t, zeroed, in)
		equalLogits(t, tc.kind+" removed", want, logits(t, pruned, in))
		if pruned.HasSublayer(tc.layer, tc.kind) || !pruned.HasSublayer(tc.layer, SublayerKinds[1-slices.Index(SublayerKinds, tc.kind)]) {
			t.Fatal("HasSublayer does not reflect the removal")
		}

		// The map survives save and load, and the checkpoint is smaller.
		dir := t.TempDir()
		if err := pruned.Save(dir); err != nil {
			t.Fatal(err)
		}
		back, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Config.Loom.Removed.Has(tc.layer, tc.kind) || back.Config.Loom.Removed.Count() != 1 {
			t.Fatalf("removal map after load: %+v", back.Config.Loom.Removed)
		}
		if back.NumParams() >= zeroed.NumParams() {
			t.Fatalf("pruned checkpoint has %d params, the full model %d", back.NumParams(), zeroed.NumParams())
		}
		equalLogits(t, "after save and load", want, logits(t, back, in))
		// Cached decoding skips the sublayer too.
		caches := back.NewCache(1, len(in))
		var last []float32
		for i, id := range in {
			last = logits1(back, id, i, caches)
		}
		if d := maxDiff(last, want[len(want)-c.VocabSize:]); d > 1e-4 {
			t.Fatalf("cached decoding differs by %g", d)
		}

		// HF and GGUF cannot skip: zero weights stand in, same function.
		hf := filepath.Join(t.TempDir(), "hf")
		if err := pruned.ExportHF(hf, tokenizer.Byte{}, safetensors.F32); err != nil {
			t.Fatal(err)
		}
		full, err := Load(hf)
		if err != nil {
			t.Fatal(err)
		}
		if full.NumParams() != zeroed.NumParams() {
			t.Fatalf("HF export has %d params, want the full %d", full.NumParams(), zeroed.NumParams())
		}
		equalLogits(t, "HF export", want, logits(t, full, in))
		path := filepath.Join(t.TempDir(), "m.gguf")
		if err := pruned.ExportGGUF(path, tokenizer.Byte{}, gguf.F32, "pruned"); err != nil {
			t.Fatal(err)
		}
		g, err := LoadWith(path, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		equalLogits(t, "GGUF export", want, logits(t, g, in))
	}
}

func TestRemoveSublayerErrors(t *testing.T) {
	m, _ := New(interopConfig(nil), 1)
	if err := m.RemoveSublayer(0, SublayerFFN); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		layer int
		kind  string
		want  string
	}{
		{0, SublayerFFN, "already removed"},
		{2, SublayerFFN, "out of range"},
		{0, "norm", `unknown sublayer kind "norm"`},
	} {
		if err := m.RemoveSublayer(tc.layer, tc.kind); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RemoveSublayer(%d, %q) = %v, want %q", tc.layer, tc.kind, err, tc.want)
		}
	}
	for _, r := range []struct {
		removed Removed
		want    string
	}{
		{Removed{Attention: []int{2}}, "lists layer 2; the model has layers 0 to 1"},
		{Removed{FFN: []int{1, 0}}, "increasing order"},
		{Removed{FFN: []int{1, 1}}, "without repeats"},
	} {
		c := interopConfig(nil)
		c.Loom.Removed = &r.removed
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("Validate with %+v: %v, want %q", r.removed, err, r.want)
		}
	}
}
