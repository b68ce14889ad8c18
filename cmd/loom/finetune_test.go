package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/petl"
)

// TestFinetuneCLI fine-tunes a small model with LoRA and with parallel
// Pfeiffer adapters: the trainable share is printed, the base weights in
// the checkpoint are the source's bit for bit, the LoRA adapter (PEFT
// layout) applies with generate --adapter, and bad input names its flag.
func TestFinetuneCLI(t *testing.T) {
	src := "../../convert/testdata/hf/loom-trained"
	base, err := convert.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	corpus := filepath.Join(dir, "text.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("To be, or not to be, that is the question. ", 200)), 0o644)
	for _, method := range []string{"lora", "pfeiffer", "linear"} {
		out := filepath.Join(dir, method)
		var o, e bytes.Buffer
		if code := run([]string{"finetune", "--model", src, "--method", method, "--adapter-mode", "par", "--data", corpus, "--out", out, "--steps", "5", "--seq-len", "32", "--threads", "1"}, &o, &e); code != 0 {
			t.Fatalf("finetune %s: %s", method, e.String())
		}
		if !strings.Contains(o.String(), method+": ") || !strings.Contains(o.String(), "held-out loss") {
			t.Fatalf("finetune %s output: %s", method, o.String())
		}
		f, err := safetensors.Open(filepath.Join(out, "checkpoint", "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		headChanged := false
		for _, p := range base.Params() {
			got, _, err := f.Float32(p.Name)
			if err != nil {
				t.Fatal(err)
			}
			head := p.Name == "lm_head.weight" || p.Name == "model.embed_tokens.weight" && base.Config.TieWordEmbeddings
			if method == "linear" && head {
				headChanged = headChanged || !slices.Equal(got, p.Value.F32())
				continue
			}
			if !slices.Equal(got, p.Value.F32()) {
				t.Fatalf("%s: base weight %s changed", method, p.Name)
			}
		}
		if method == "linear" && !headChanged {
			t.Fatal("linear: the head did not train")
		}
		f.Close()
		if _, err := os.Stat(filepath.Join(out, "adapter", petl.PEFTWeightsFile)); err != nil {
			t.Fatal(err)
		}
	}
	// --train-norms trains and counts the norms' gains too (2 per layer + the final one).
	var o, e bytes.Buffer
	if code := run([]string{"finetune", "--model", src, "--method", "pfeiffer", "--train-norms", "--data", corpus, "--out", filepath.Join(dir, "norms"), "--steps", "1", "--seq-len", "32"}, &o, &e); code != 0 {
		t.Fatalf("--train-norms: %s", e.String())
	}
	want := (2*base.Config.NumHiddenLayers + 1) * base.Config.HiddenSize
	if !strings.Contains(o.String(), fmt.Sprintf("%d of them in norms", want)) {
		t.Fatalf("--train-norms output %q, want %d norm parameters", o.String(), want)
	}
	// Every adapter applies without merging, the loom-layout ones too.
	for _, method := range []string{"lora", "pfeiffer", "linear", "norms"} {
		e.Reset()
		if code := run([]string{"generate", "--model", src, "--adapter", filepath.Join(dir, method, "adapter"), "--max-tokens", "4"}, &o, &e); code != 0 {
			t.Fatalf("generate --adapter (%s): %s", method, e.String())
		}
	}
	// Too little text: an error, and nothing left at --out.
	short := filepath.Join(dir, "short.txt")
	os.WriteFile(short, []byte("too short"), 0o644)
	e.Reset()
	if code := run([]string{"finetune", "--model", src, "--data", short, "--out", filepath.Join(dir, "short"), "--steps", "1"}, &o, &e); code == 0 || !strings.Contains(e.String(), "fewer than one window") {
		t.Fatalf("short --data: code %d, %q", code, e.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "short")); !os.IsNotExist(err) {
		t.Fatalf("a failed run left %s behind", filepath.Join(dir, "short"))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "bitfit"}, "--method bitfit: the model has no bias parameters"},
		{[]string{"--method", "lora", "--rank", "1000"}, "--rank 1000"},
		{[]string{"--method", "lora", "--targets", "qkv"}, `target "qkv" matches no linear layer`},
		{[]string{"--method", "houlsby", "--bottleneck", "100000"}, "adapter bottleneck 100000"},
		{[]string{"--method", "prompt"}, "deep prompt tuning needs an encoder"},
		{[]string{"--method", "snnk", "--features", "0"}, "flag -features: want ≥ 1"},
		{[]string{"--method", "snnk", "--bottleneck", "100000"}, "--method snnk (--features 16, --bottleneck 100000)"},
		{[]string{"--method", "nope"}, "flag -method: want one of lora, houlsby, pfeiffer, conformer, snnk, prompt, prefix, bitfit, linear, full"},
		{[]string{"--task", "classify"}, "is not an encoder"},
		{[]string{"--eval", corpus}, "--eval is for --task classify"},
	} {
		e.Reset()
		args := append([]string{"finetune", "--model", src, "--data", corpus, "--out", filepath.Join(t.TempDir(), "x"), "--steps", "1"}, c.args...)
		if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("%v: code %d, %q", c.args, code, e.String())
		}
	}
}
