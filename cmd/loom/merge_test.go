package main

import (
	"bytes"
	"context"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/serve"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
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

// TestServeAdapter: the serving engines run a LoRA-adapted model (the
// wrapped layers go through the batched engine's paths) and give the
// merged model's first-token log-probability; serve refuses --adapter
// with several models.
func TestServeAdapter(t *testing.T) {
	logprob := func(adapted bool, merge bool) float64 {
		m, err := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.VocabSize = 256 }), 1)
		if err != nil {
			t.Fatal(err)
		}
		if adapted {
			ls, err := petl.Apply(m, petl.LoRAConfig{Rank: 2, Alpha: 4, Targets: []string{"q_proj", "v_proj", "down_proj"}}, 1)
			if err != nil {
				t.Fatal(err)
			}
			r := tensor.NewRNG(2)
			for _, l := range ls {
				copy(l.B.Value.F32(), tensor.Normal(r, 0, 0.5, l.B.Shape()...).F32())
			}
			if merge {
				if _, err := petl.Merge(m); err != nil {
					t.Fatal(err)
				}
			}
		}
		l := &convert.Loaded{Model: m, Tok: tokenizer.Byte{}}
		e, err := engines["batched"](l, engineOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close(context.Background())
		ms, err := serveModels("m", l, e, engineOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := serve.New(serve.Options{Models: ms})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s)
		defer ts.Close()
		return completionLogprobs(t, ts.URL, "m", "[1,2,3,4,5]", 3)[2]
	}
	base, adapted, merged := logprob(false, false), logprob(true, false), logprob(true, true)
	if adapted == base || math.Abs(adapted-merged) > 1e-4 {
		t.Fatalf("third token's log-probability: base %v, adapted %v, merged %v", base, adapted, merged)
	}
	var o, e bytes.Buffer
	if code := run([]string{"serve", "--model", "a=" + tinyTrained, "--model", "b=" + tinyTrained, "--adapter", t.TempDir()}, &o, &e); code == 0 || !strings.Contains(e.String(), "--adapter applies to one --model") {
		t.Fatalf("serve with two models and --adapter: code %d, %q", code, e.String())
	}
}
