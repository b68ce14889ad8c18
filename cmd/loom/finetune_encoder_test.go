package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/tensor"
)

// tinyAST writes a small random AST (128 mel bins, 100 frames, as the
// audio front end makes them) to a temporary directory.
func tinyAST(t *testing.T) string {
	t.Helper()
	c := &encoder.Config{Architectures: []string{encoder.ASTModel}, ModelType: encoder.TypeAST, HiddenSize: 16,
		NumHiddenLayers: 2, NumAttentionHeads: 2, IntermediateSize: 32, HiddenAct: "gelu", InitializerRange: 0.02,
		LayerNormEps: 1e-12, PatchSize: 16, FrequencyStride: 10, TimeStride: 10, MaxLength: 100, NumMelBins: 128}
	m, err := encoder.New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ast")
	if err := encoder.Save(m, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFinetuneClassifyAudio fine-tunes an AST on class folders of WAV
// files with each method family, saves the adapter with its task head, and
// refuses bad input with errors naming the file or flag.
func TestFinetuneClassifyAudio(t *testing.T) {
	model := tinyAST(t)
	clips := filepath.Join("..", "..", "data", "kws", "testdata")
	for _, method := range []string{"conformer", "lora", "prompt", "snnk"} {
		var o, e bytes.Buffer
		out := filepath.Join(t.TempDir(), method)
		args := []string{"finetune", "--task", "classify", "--model", model, "--method", method, "--train-norms", "--rank", "2", "--targets", "query,value",
			"--bottleneck", "4", "--tokens", "2", "--kernel", "3", "--data", filepath.Join(clips, "train"), "--eval", filepath.Join(clips, "validation"),
			"--out", out, "--steps", "2", "--batch", "2"}
		if code := run(args, &o, &e); code != 0 {
			t.Fatalf("%s: %s", method, e.String())
		}
		if !strings.Contains(o.String(), "held-out accuracy") || !strings.Contains(o.String(), "trainable parameters") {
			t.Fatalf("%s: output %q", method, o.String())
		}
		if _, err := os.Stat(filepath.Join(out, "adapter", "adapter_model.safetensors")); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if method == "lora" {
			checkMergedEncoder(t, model, filepath.Join(out, "adapter"))
		}
	}

	// Bad input.
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(filepath.Join(empty, "yes"), 0o755)
	os.MkdirAll(filepath.Join(empty, "no"), 0o755)
	os.WriteFile(filepath.Join(empty, "yes", "a.wav"), []byte("RIFF"), 0o644)
	notPCM := filepath.Join(dir, "notpcm")
	for _, c := range []string{"yes", "no"} {
		os.MkdirAll(filepath.Join(notPCM, c), 0o755)
		os.WriteFile(filepath.Join(notPCM, c, "x.wav"), []byte("this is not a RIFF file at all, just text......"), 0o644)
	}
	csv := filepath.Join(dir, "nolabel.csv")
	os.WriteFile(csv, []byte("text,category\nhello,a\nworld,b\n"), 0o644)
	one := filepath.Join(dir, "one")
	for _, c := range []string{"yes", "no"} {
		os.MkdirAll(filepath.Join(one, c), 0o755)
		b, _ := os.ReadFile(filepath.Join(clips, "train", c, "en-029_Alex_"+c+".wav"))
		os.WriteFile(filepath.Join(one, c, "a.wav"), b, 0o644)
	}
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("text,label\nhello,a\nworld,b\n"), 0o644)
	bert := filepath.Join("..", "..", "models", "encoder", "testdata", "bert-seqcls")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", model, "--data", empty}, filepath.Join(empty, "no")},
		{[]string{"--model", model, "--data", notPCM, "--eval", notPCM}, filepath.Join(notPCM, "no", "x.wav")},
		{[]string{"--model", bert, "--data", csv}, csv + `: no "label" column`},
		{[]string{"--model", model, "--data", filepath.Join(clips, "train"), "--method", "lora", "--rank", "1000"}, "--rank 1000"},
		{[]string{"--model", model, "--data", good}, "a directory of class folders of WAV files"},
		{[]string{"--model", model, "--data", one}, "too few examples to hold out"},
		{[]string{"--model", filepath.Join("..", "..", "models", "encoder", "testdata", "ast"), "--data", filepath.Join(clips, "train")}, "num_mel_bins 32"},
	} {
		var o, e bytes.Buffer
		args := append([]string{"finetune", "--task", "classify", "--out", filepath.Join(t.TempDir(), "x"), "--steps", "1"}, c.args...)
		if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("%v: code %d, %q (want it to name %q)", c.args, code, e.String(), c.want)
		}
	}
}

// checkMergedEncoder merges a LoRA classifier adapter with loom merge and
// checks that the merged model gives the adapted model's logits within
// 1e-5.
func checkMergedEncoder(t *testing.T, model, adapter string) {
	t.Helper()
	merged := filepath.Join(t.TempDir(), "merged")
	var o, e bytes.Buffer
	if code := run([]string{"merge", "--model", model, "--adapter", adapter, "--out", merged}, &o, &e); code != 0 {
		t.Fatalf("merge: %s", e.String())
	}
	task, err := encoder.LoadConfig(filepath.Join(adapter, taskConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	adapted, _, err := encoder.LoadWith(model, encoder.LoadOptions{Architecture: task.Architecture(), Labels: task.Labels()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := petl.LoadAdapter(adapter, adapted, adapted.Config.HiddenSize); err != nil {
		t.Fatal(err)
	}
	m, err := encoder.Load(merged)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandN(tensor.NewRNG(4), 2, 100, 128)
	var a, b []float32
	autograd.NoGrad(func() {
		a = adapted.Logits(nil, &encoder.Batch{B: 2, T: 100, Features: x}).Value.Float32s()
		b = m.Logits(nil, &encoder.Batch{B: 2, T: 100, Features: x}).Value.Float32s()
	})
	for i := range a {
		if d := math.Abs(float64(a[i] - b[i])); d > 1e-5 {
			t.Fatalf("merged logits differ from the adapted model's by %.3g", d)
		}
	}
}
