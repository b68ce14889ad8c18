package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/tensor"
)

// TestMergeAndAdapterCLI: an adapter in PEFT's layout merges into a model
// (`loom merge`) whose logits equal the adapted model's within 1e-5, and
// generate and eval apply it unmerged with --adapter.
func TestMergeAndAdapterCLI(t *testing.T) {
	src := "../../convert/testdata/hf/loom-trained"
	m, err := convert.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := petl.Apply(m, petl.LoRAConfig{Rank: 2, Alpha: 4, Targets: []string{"q_proj", "v_proj"}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := tensor.NewRNG(2)
	for _, l := range ls {
		copy(l.B.Value.F32(), tensor.Normal(r, 0, 0.3, l.B.Shape()...).F32())
	}
	dir := t.TempDir()
	adapter := filepath.Join(dir, "adapter")
	if err := petl.SavePEFT(adapter, m, src); err != nil {
		t.Fatal(err)
	}
	ids := decodertest.IDs(10, m.Config.VocabSize)
	adapted := decodertest.Logits(t, m, ids)
	out := filepath.Join(dir, "merged")
	var o, e bytes.Buffer
	if code := run([]string{"merge", "--model", src, "--adapter", adapter, "--out", out}, &o, &e); code != 0 {
		t.Fatalf("merge: %s", e.String())
	}
	merged, err := convert.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	got := decodertest.Logits(t, merged, ids)
	for i := range got {
		if d := math.Abs(float64(got[i] - adapted[i])); d > 1e-5 {
			t.Fatalf("merged logit %d: %v, adapted %v", i, got[i], adapted[i])
		}
	}
	for _, args := range [][]string{
		{"generate", "--model", src, "--adapter", adapter, "--max-tokens", "4", "--seed", "1"},
		{"eval", "--model", src, "--adapter", adapter, "--max-tokens", "200"},
	} {
		o.Reset()
		e.Reset()
		if code := run(args, &o, &e); code != 0 || !strings.Contains(e.String(), "applied LoRA adapter") {
			t.Fatalf("%v: code %d\n%s", args, code, e.String())
		}
	}
	os.Remove(filepath.Join(adapter, petl.PEFTConfigFile))
	e.Reset()
	if code := run([]string{"merge", "--model", src, "--adapter", adapter, "--out", filepath.Join(dir, "x")}, &o, &e); code == 0 || !strings.Contains(e.String(), "adapter_config.json") {
		t.Fatalf("missing config: code %d, %q", code, e.String())
	}
}
