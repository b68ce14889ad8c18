package decoder_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

func TestRemovingNothingIsIdentity(t *testing.T) {
	c := decodertest.InteropConfig(nil)
	a, _ := decoder.New(c, 11)
	c2 := *c
	c2.Loom.Removed = &decoder.Removed{}
	b, err := decoder.New(&c2, 11)
	if err != nil {
		t.Fatal(err)
	}
	in := decodertest.IDs(12, c.VocabSize)
	decodertest.EqualLogits(t, "empty removal map", decodertest.Logits(t, a, in), decodertest.Logits(t, b, in))
}

func TestRemovedSublayerEqualsZeroedOutput(t *testing.T) {
	for _, tc := range []struct {
		layer int
		kind  string
		out   string // the output projection zeroed instead
	}{
		{1, decoder.SublayerAttention, "model.layers.1.self_attn.o_proj.weight"},
		{0, decoder.SublayerFFN, "model.layers.0.mlp.down_proj.weight"},
	} {
		c := decodertest.InteropConfig(nil)
		pruned, _ := decoder.New(c, 5)
		zeroed, _ := decoder.New(decodertest.InteropConfig(nil), 5)
		if err := pruned.RemoveSublayer(tc.layer, tc.kind); err != nil {
			t.Fatal(err)
		}
		for _, p := range zeroed.Params() {
			if p.Name == tc.out {
				clear(p.Value.F32())
			}
		}
		in := decodertest.IDs(12, c.VocabSize)
		want := decodertest.Logits(t, zeroed, in)
		decodertest.EqualLogits(t, tc.kind+" removed", want, decodertest.Logits(t, pruned, in))
		if pruned.HasSublayer(tc.layer, tc.kind) || !pruned.HasSublayer(tc.layer, decoder.SublayerKinds[1-slices.Index(decoder.SublayerKinds, tc.kind)]) {
			t.Fatal("HasSublayer does not reflect the removal")
		}

		// The map survives save and load, and the checkpoint is smaller.
		dir := t.TempDir()
		if err := convert.Save(pruned, dir); err != nil {
			t.Fatal(err)
		}
		back, err := convert.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Config.Loom.Removed.Has(tc.layer, tc.kind) || back.Config.Loom.Removed.Count() != 1 {
			t.Fatalf("removal map after load: %+v", back.Config.Loom.Removed)
		}
		if back.NumParams() >= zeroed.NumParams() {
			t.Fatalf("pruned checkpoint has %d params, the full model %d", back.NumParams(), zeroed.NumParams())
		}
		decodertest.EqualLogits(t, "after save and load", want, decodertest.Logits(t, back, in))
		// Cached decoding skips the sublayer too.
		caches := back.NewCache(1, len(in))
		var last []float32
		for i, id := range in {
			last = decodertest.Logits1(back, id, i, caches)
		}
		if d := decodertest.MaxDiff(last, want[len(want)-c.VocabSize:]); d > 1e-4 {
			t.Fatalf("cached decoding differs by %g", d)
		}

		// decoder.HF and decoder.GGUF cannot skip: zero weights stand in, same function.
		hf := filepath.Join(t.TempDir(), "hf")
		if err := convert.ExportHF(pruned, hf, tokenizer.Byte{}, tensor.Float32); err != nil {
			t.Fatal(err)
		}
		full, err := convert.Load(hf)
		if err != nil {
			t.Fatal(err)
		}
		if full.NumParams() != zeroed.NumParams() {
			t.Fatalf("HF export has %d params, want the full %d", full.NumParams(), zeroed.NumParams())
		}
		decodertest.EqualLogits(t, "HF export", want, decodertest.Logits(t, full, in))
		path := filepath.Join(t.TempDir(), "m.gguf")
		if err := convert.ExportGGUF(pruned, path, tokenizer.Byte{}, tensor.Float32, "pruned"); err != nil {
			t.Fatal(err)
		}
		g, err := convert.LoadWith(path, convert.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		decodertest.EqualLogits(t, "GGUF export", want, decodertest.Logits(t, g, in))
	}
}

func TestRemoveSublayerErrors(t *testing.T) {
	m, _ := decoder.New(decodertest.InteropConfig(nil), 1)
	if err := m.RemoveSublayer(0, decoder.SublayerFFN); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		layer int
		kind  string
		want  string
	}{
		{0, decoder.SublayerFFN, "already removed"},
		{2, decoder.SublayerFFN, "out of range"},
		{0, "norm", `unknown sublayer kind "norm"`},
	} {
		if err := m.RemoveSublayer(tc.layer, tc.kind); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RemoveSublayer(%d, %q) = %v, want %q", tc.layer, tc.kind, err, tc.want)
		}
	}
	for _, r := range []struct {
		removed decoder.Removed
		want    string
	}{
		{decoder.Removed{Attention: []int{2}}, "lists layer 2; the model has layers 0 to 1"},
		{decoder.Removed{FFN: []int{1, 0}}, "increasing order"},
		{decoder.Removed{FFN: []int{1, 1}}, "without repeats"},
	} {
		c := decodertest.InteropConfig(nil)
		c.Loom.Removed = &r.removed
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("Validate with %+v: %v, want %q", r.removed, err, r.want)
		}
	}
}
