package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/compress/prune"
	"github.com/loomml/loom/compress/sparse"
	"github.com/loomml/loom/data/labeled"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tokenizer"
	"github.com/loomml/loom/train"
)

func TestPruneCLI(t *testing.T) {
	ckpt := trained(t)
	dir := t.TempDir()
	var o, e bytes.Buffer
	for _, method := range []string{"finercut", "shortgpt", "lastn", "random", "oneshot"} {
		out := filepath.Join(dir, method)
		o.Reset()
		args := []string{"prune", "--method", method, "--ratio", "0.5", "--model", ckpt, "--out", out, "--windows", "4", "--eval-tokens", "2000", "--task-items", "20"}
		if code := run(args, &o, &e); code != 0 {
			t.Fatalf("prune %s: %s", method, e.String())
		}
		var rep prune.Report
		b, err := os.ReadFile(filepath.Join(out, "prune-report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &rep); err != nil || rep.Removed != 2 || len(rep.Order) != 2 || !(rep.After.Loss > 0) {
			t.Fatalf("%s report: %s (%v)", method, b, err)
		}
		for _, f := range []string{"prune-map.png", "prune-report.md", "tokenizer.json", "config.json"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Fatal(err)
			}
		}
		// The pruned checkpoint loads and generates.
		o.Reset()
		if code := run([]string{"generate", "--model", out, "--max-tokens", "5", "--json"}, &o, &e); code != 0 {
			t.Fatalf("generate from %s: %s", out, e.String())
		}
	}
}

// TestPruneHFDirectory prunes a Hugging Face directory (loom's HF export
// fixture, checked against the PyTorch reference in models/decoder).
func TestPruneHFDirectory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pruned")
	var o, e bytes.Buffer
	args := []string{"prune", "--method", "finercut", "--ratio", "0.25", "--model", "../../convert/testdata/hf/loom-trained",
		"--out", out, "--windows", "2", "--eval-tokens", "500", "--tasks", ""}
	if code := run(args, &o, &e); code != 0 || !strings.Contains(o.String(), "removed 1 of 4 sublayers") {
		t.Fatalf("prune of an HF directory: %s %s", o.String(), e.String())
	}
}

func TestPruneRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.txt")
	os.WriteFile(short, []byte("too short"), 0o644)
	ckpt := filepath.Join(dir, "m")
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", "testdata/prune-tiny.json", "--out", ckpt}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ratio", "1.5"}, "flag -ratio: want 0 < x < 1"},
		{nil, "--ratio is required"},
		{[]string{"--ratio", "0.25", "--method", "foo"}, "flag -method: want one of finercut, lastn, oneshot, random, shortgpt, magnitude, 2:4"},
		{[]string{"--method", "magnitude"}, "--ratio is required: the fraction of the block weights"},
		{[]string{"--method", "magnitude", "--ratio", "1"}, "flag -ratio: want 0 < x < 1"},
		{[]string{"--method", "2:4", "--ratio", "0.3"}, "--ratio 0.3: --method 2:4 keeps 2 of every 4 weights"},
		{[]string{"--method", "2:4", "--scope", "global"}, "--scope applies to --method magnitude, not --method 2:4"},
		{[]string{"--method", "magnitude", "--ratio", "0.5", "--scope", "row"}, "flag -scope: want one of layer, global"},
		{[]string{"--method", "magnitude", "--ratio", "0.5", "--windows", "4"}, "--windows applies to the sublayer methods, structured and vtrans, not --method magnitude"},
		{[]string{"--ratio", "0.25", "--calib", short}, "shorter than one calibration window"},
		{[]string{"--ratio", "0.01"}, "removes 0"},
		{[]string{"--ratio", "0.25", "--protect", "5"}, "--protect 5: want 0 to 3 (the model has 4 layers)"},
		{[]string{"--ratio", "0.75", "--protect", "2"}, "--protect 2 leaves 4 removable sublayers, fewer than the 6 that --ratio 0.75 removes"},
		{[]string{"--ratio", "0.25", "--method", "lastn", "--protect", "1"}, "--protect applies to --method finercut and oneshot, not --method lastn"},
		{[]string{"--ratio", "0.25", "--method", "shortgpt", "--distance", "kl"}, "--distance applies to --method finercut and oneshot, not --method shortgpt"},
		{[]string{"--ratio", "0.25", "--distance", "foo"}, "flag -distance: want one of js, kl, angular, dissect"},
	} {
		e.Reset()
		args := append([]string{"prune", "--model", ckpt, "--out", filepath.Join(dir, "out")}, c.args...)
		if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("loom %v: code %d, stderr %q, want %q", args, code, e.String(), c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a rejected prune wrote its output directory")
	}
}

// --out equal to or inside --model (a run or its checkpoint) is refused
// before anything is read or written.
func TestPruneRefusesOutInsideModel(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "run", "checkpoint")
	runDir := filepath.Dir(ckpt)
	if err := os.Mkdir(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", "testdata/prune-tiny.json", "--out", ckpt}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	before, _ := os.ReadFile(filepath.Join(ckpt, "model.safetensors"))
	for _, c := range [][2]string{
		{runDir, runDir},
		{runDir, ckpt},
		{ckpt, ckpt},
		{ckpt, filepath.Join(ckpt, "pruned")},
		{ckpt + "/", filepath.Join(runDir, ".", "checkpoint")},
	} {
		e.Reset()
		args := []string{"prune", "--model", c[0], "--out", c[1], "--ratio", "0.5"}
		if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), "is inside --model") {
			t.Errorf("loom %v: code %d, stderr %q, want a refusal", args, code, e.String())
		}
	}
	if after, _ := os.ReadFile(filepath.Join(ckpt, "model.safetensors")); len(after) == 0 || !bytes.Equal(before, after) {
		t.Error("a refused prune changed the source model")
	}
	if _, err := os.Stat(filepath.Join(ckpt, "pruned")); err == nil {
		t.Error("a refused prune wrote inside the source model")
	}
}

// TestPruneWeightsCLI: magnitude (both scopes) and 2:4 zero the block
// weights as asked, and the saved model loads with the zeros and generates.
func TestPruneWeightsCLI(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "m")
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", "testdata/prune-tiny.json", "--out", ckpt}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	for i, c := range []struct {
		args     []string
		sparsity float64
		stdout   string
	}{
		{[]string{"--method", "magnitude", "--ratio", "0.5"}, 0.5, "no speed-up"},
		{[]string{"--method", "magnitude", "--ratio", "0.7", "--scope", "global"}, 0.7, "no speed-up"},
		{[]string{"--method", "2:4"}, 0.5, "2:4 size of those weights"},
		{[]string{"--method", "2:4", "--ratio", "0.5"}, 0.5, "2:4 size of those weights"},
	} {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		o.Reset()
		e.Reset()
		args := append([]string{"prune", "--model", ckpt, "--out", out, "--eval-tokens", "500", "--tasks", ""}, c.args...)
		if code := run(args, &o, &e); code != 0 || !strings.Contains(o.String(), c.stdout) {
			t.Fatalf("loom %v: %s %s", args, o.String(), e.String())
		}
		var rep prune.WeightReport
		b, err := os.ReadFile(filepath.Join(out, prune.ReportJSON))
		if err != nil || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("report: %s (%v)", b, err)
		}
		if math.Abs(rep.Stats.Sparsity-c.sparsity) > 1e-3 || !(rep.After.Loss > 0) || rep.Before.ParamsCount != rep.After.ParamsCount {
			t.Fatalf("loom %v: report %+v", args, rep.Stats)
		}
		if c.args[1] == "2:4" && (rep.Kernel24 == nil || math.Abs(rep.Kernel24.Loss-rep.After.Loss) > 1e-4 || !strings.Contains(o.String(), "with the 2:4 kernel")) {
			t.Fatalf("loom %v: the 2:4 kernel's measurement %+v, dense %+v", args, rep.Kernel24, rep.After)
		}
		l, err := loadModel("test", out, 1, "", io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := sparse.Targets(l.Model)
		if err != nil {
			t.Fatal(err)
		}
		zeros, n := 0, 0
		for _, tg := range ts {
			for _, v := range tg.W {
				if v == 0 {
					zeros++
				}
			}
			n += len(tg.W)
			if c.args[1] == "2:4" {
				if _, err := sparse.Pack24([]sparse.Target{tg}); err != nil {
					t.Fatalf("the saved 2:4 model: %v", err)
				}
			}
		}
		if math.Abs(float64(zeros)/float64(n)-c.sparsity) > 1e-3 {
			t.Fatalf("loom %v: the saved model has %d of %d zeros", args, zeros, n)
		}
		o.Reset()
		if code := run([]string{"generate", "--model", out, "--max-tokens", "3", "--json"}, &o, &e); code != 0 {
			t.Fatalf("generate from %s: %s", out, e.String())
		}
	}
}

// tinyModel writes a random decoder of testdata/prune-tiny.json (or of
// that config with mod applied) and returns its directory.
func tinyModel(t *testing.T, dir string, mod map[string]any) string {
	t.Helper()
	cfg := "testdata/prune-tiny.json"
	if mod != nil {
		var c map[string]any
		b, _ := os.ReadFile(cfg)
		json.Unmarshal(b, &c)
		for k, v := range mod {
			c[k] = v
		}
		b, _ = json.Marshal(c)
		cfg = filepath.Join(dir, "config.json")
		os.WriteFile(cfg, b, 0o644)
	}
	ckpt := filepath.Join(dir, "m")
	var o, e bytes.Buffer
	if code := run([]string{"init", "--config", cfg, "--out", ckpt, "--dtype", "f32"}, &o, &e); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	return ckpt
}

// TestPruneStructureCLI: structured (each score) and VTrans (each
// variant) write a smaller model that loads, evaluates and generates.
func TestPruneStructureCLI(t *testing.T) {
	dir := t.TempDir()
	ckpt := tinyModel(t, dir, nil)
	for i, c := range []struct {
		args []string
		kept func(s [2]prune.Structures) bool
	}{
		{[]string{"--method", "structured", "--ratio", "0.3", "--windows", "4", "--seq-len", "32"},
			func(s [2]prune.Structures) bool { return s[1].Hidden == s[0].Hidden && s[1].Layers == s[0].Layers }},
		{[]string{"--method", "structured", "--ratio", "0.2", "--score", "activation", "--kinds", "heads,neurons,layers", "--windows", "4", "--seq-len", "16"},
			func(s [2]prune.Structures) bool { return s[1].Hidden == s[0].Hidden }},
		{[]string{"--method", "structured", "--ratio", "0.2", "--score", "magnitude", "--kinds", "hidden"},
			func(s [2]prune.Structures) bool { return s[1].Hidden < s[0].Hidden && s[1].Heads == s[0].Heads }},
		{[]string{"--method", "vtrans", "--ratio", "0.4", "--windows", "16", "--seq-len", "32", "--variant", "fast"}, nil},
		{[]string{"--method", "vtrans", "--ratio", "0.5", "--windows", "8", "--seq-len", "16", "--variant", "faster", "--epochs", "2", "--beta", "0.001"}, nil},
	} {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		var o, e bytes.Buffer
		args := append([]string{"prune", "--model", ckpt, "--out", out, "--eval-tokens", "300", "--tasks", ""}, c.args...)
		if code := run(args, &o, &e); code != 0 || !strings.Contains(o.String(), "of the parameters") {
			t.Fatalf("loom %v: %s %s", args, o.String(), e.String())
		}
		var rep prune.StructureReport
		b, err := os.ReadFile(filepath.Join(out, prune.ReportJSON))
		if err != nil || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("report: %s (%v)", b, err)
		}
		n0, n1 := rep.Before.ParamsCount, rep.After.ParamsCount
		if float64(n0-n1) < rep.Ratio*float64(n0)*0.999 || !(rep.After.Loss > 0) || rep.FileBytes[1] >= rep.FileBytes[0] || rep.FileBytes[1] == 0 {
			t.Fatalf("loom %v: %d → %d parameters, files %v", args, n0, n1, rep.FileBytes)
		}
		if c.kept != nil && !c.kept(rep.Kept) {
			t.Fatalf("loom %v: kept %+v", args, rep.Kept)
		}
		l, err := loadModel("test", out, 1, "", io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if l.Model.NumParams() != n1 {
			t.Fatalf("loom %v: the saved model has %d parameters, the report %d", args, l.Model.NumParams(), n1)
		}
		for _, verb := range [][]string{{"eval", "--model", out, "--max-tokens", "200"}, {"generate", "--model", out, "--max-tokens", "3", "--json"}} {
			if code := run(verb, &o, &e); code != 0 {
				t.Fatalf("loom %v after %v: %s", verb, args, e.String())
			}
		}
	}
}

// tinyClassifier writes a random BERT classifier with the byte tokenizer,
// and validation and test CSV files.
func tinyClassifier(t *testing.T, dir string) (model, val, test string) {
	t.Helper()
	pad := 0
	c := &encoder.Config{Architectures: []string{encoder.BertForSequenceClassification}, ModelType: encoder.TypeBERT, HiddenSize: 16,
		NumHiddenLayers: 3, NumAttentionHeads: 2, IntermediateSize: 32, HiddenAct: "gelu", InitializerRange: 0.5, LayerNormEps: 1e-12,
		VocabSize: 256, MaxPositionEmbeddings: 32, TypeVocabSize: 2, PositionEmbeddingType: "absolute", PadTokenID: &pad}
	c.SetLabels([]string{"ham", "spam"})
	m, err := encoder.New(c, 5)
	if err != nil {
		t.Fatal(err)
	}
	model = filepath.Join(dir, "bert")
	if err := encoder.Save(m, model); err != nil {
		t.Fatal(err)
	}
	if err := tokenizer.ByteHF().SaveHF(filepath.Join(model, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	words := []string{"free money now", "meeting at noon", "win a prize", "lunch tomorrow?", "cheap pills", "see you soon", "click here", "the report"}
	csv := func(name string, off int) string {
		var sb strings.Builder
		sb.WriteString("text,label\n")
		for i := range 24 {
			w := words[(i+off)%len(words)]
			label := []string{"spam", "ham"}[(i+off)%2]
			fmt.Fprintf(&sb, "%s %d,%s\n", w, i, label)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(sb.String()), 0o644)
		return p
	}
	return model, csv("val.csv", 0), csv("test.csv", 3)
}

// TestPruneAxFormerCLI: AxFormer on an encoder classifier writes a
// checkpoint with fewer sublayers that loads into the model the report
// scored (same test accuracy), and on a decoder one that loom eval reads.
func TestPruneAxFormerCLI(t *testing.T) {
	dir := t.TempDir()
	bert, val, test := tinyClassifier(t, dir)
	out := filepath.Join(dir, "ax")
	var o, e bytes.Buffer
	args := []string{"prune", "--method", "axformer", "--task", "classify", "--model", bert, "--data", val, "--eval", test, "--out", out, "--ks", "1,2,4"}
	if code := run(args, &o, &e); code != 0 || !strings.Contains(o.String(), "axformer (--task classify) removed") {
		t.Fatalf("loom %v: %s %s", args, o.String(), e.String())
	}
	var rep prune.AxReport
	b, err := os.ReadFile(filepath.Join(out, prune.ReportJSON))
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("report: %s (%v)", b, err)
	}
	if rep.Sublayers[1] >= rep.Sublayers[0] || rep.Params[1] >= rep.Params[0] || rep.FinalVal < rep.BaseVal {
		t.Fatalf("report: sublayers %v, params %v, validation %v → %v", rep.Sublayers, rep.Params, rep.BaseVal, rep.FinalVal)
	}
	m, err := encoder.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	removed := m.Config.Loom.Removed.Count()
	if 2*len(m.Layers)-removed != rep.Sublayers[1] || autograd.NumParams(m.Params()) != rep.Params[1] {
		t.Fatalf("saved: %d sublayers removed, %d parameters; report %v, %v", removed, autograd.NumParams(m.Params()), rep.Sublayers, rep.Params)
	}
	for l, k := range rep.TopK {
		tk, ok := m.Layers[l].(*encoder.Layer).Attn.(*nn.TopKAttention)
		if (k > 0) != ok || (ok && tk.K != k) {
			t.Fatalf("layer %d: saved attention %T, report top-k %d", l, m.Layers[l].(*encoder.Layer).Attn, k)
		}
	}
	set, err := labeled.Read(test)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.LoadHF(filepath.Join(out, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if acc := train.Accuracy[encoder.Batch](encClassifierCLI{m}, tokenize(tok, set, m.Config.Labels(), 32, 0), 64); acc != rep.FinalTest {
		t.Fatalf("the saved model's test accuracy %v, the report's %v", acc, rep.FinalTest)
	}

	// A decoder: validation and test text.
	ckpt := tinyModel(t, dir, nil)
	vt, tt := filepath.Join(dir, "val.txt"), filepath.Join(dir, "test.txt")
	os.WriteFile(vt, []byte(strings.Repeat("to be or not to be, that is the question. ", 8)), 0o644)
	os.WriteFile(tt, []byte(strings.Repeat("all the world's a stage, and all the men and women merely players. ", 6)), 0o644)
	lm := filepath.Join(dir, "ax-lm")
	args = []string{"prune", "--method", "axformer", "--task", "lm", "--model", ckpt, "--data", vt, "--eval", tt, "--out", lm, "--tolerance", "0.05"}
	if code := run(args, &o, &e); code != 0 {
		t.Fatalf("loom %v: %s %s", args, o.String(), e.String())
	}
	b, _ = os.ReadFile(filepath.Join(lm, prune.ReportJSON))
	rep = prune.AxReport{}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Metric != "loss" || rep.Sublayers[1] >= rep.Sublayers[0] || rep.FinalVal > rep.BaseVal+0.05*float64(rep.Sublayers[0]) {
		t.Fatalf("lm report: %s (%v)", b, err)
	}
	l, err := loadModel("test", lm, 1, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := 2*len(l.Model.Layers) - l.Model.Config.Loom.Removed.Count(); got != rep.Sublayers[1] {
		t.Fatalf("saved decoder has %d sublayers, the report %d", got, rep.Sublayers[1])
	}
	if code := run([]string{"eval", "--model", lm, "--data", tt}, &o, &e); code != 0 {
		t.Fatalf("eval of the AxFormer decoder: %s", e.String())
	}
}

// TestPruneMethodMismatch: each method refuses a model or flag it cannot
// take, naming the method, the flag or the tensor.
func TestPruneMethodMismatch(t *testing.T) {
	dir := t.TempDir()
	bert, val, test := tinyClassifier(t, dir)
	ckpt := tinyModel(t, dir, nil)
	odd := tinyModel(t, t.TempDir(), map[string]any{"intermediate_size": 66})
	gg := filepath.Join(dir, "q.gguf")
	var o, e bytes.Buffer
	if code := run([]string{"quantize", "--type", "q4_K_M", "--model", ckpt, "--out", gg}, &o, &e); code != 0 {
		t.Fatalf("quantize: %s", e.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "vtrans", "--ratio", "0.5", "--model", bert, "--eval", test}, "--data is required for --method vtrans on an encoder classifier"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--model", bert, "--data", val}, "--eval is required for --method structured on an encoder classifier"},
		{[]string{"--method", "finercut", "--ratio", "0.5", "--model", bert}, "--method finercut needs a decoder"},
		{[]string{"--method", "axformer", "--model", ckpt, "--data", val, "--eval", test}, "--method axformer --task classify needs an encoder classifier (BertForSequenceClassification or ASTForAudioClassification); --model " + ckpt + " is a language model (llama)"},
		{[]string{"--method", "axformer", "--task", "lm", "--model", bert, "--data", val, "--eval", test}, "--method axformer --task lm needs a decoder (a causal LM)"},
		{[]string{"--method", "axformer", "--model", bert, "--data", val, "--eval", test, "--ratio", "0.5"}, "--ratio does not apply to --method axformer"},
		{[]string{"--method", "axformer", "--model", bert, "--data", val, "--eval", val}, "are the same file"},
		{[]string{"--method", "axformer", "--model", bert, "--data", val}, "--method axformer needs --data (the validation split"},
		{[]string{"--method", "axformer", "--model", bert, "--data", val, "--eval", test, "--ks", "0,2"}, `--ks "0,2": want comma-separated positive integers`},
		{[]string{"--method", "axformer", "--task", "lm", "--model", ckpt, "--data", val, "--eval", test, "--ks", "2"}, "--ks applies to --method axformer --task classify"},
		{[]string{"--method", "axformer", "--model", bert, "--data", val, "--eval", test, "--tasks", "lastword"}, "--tasks applies to every method but axformer, not --method axformer"},
		{[]string{"--method", "axformer", "--model", bert, "--data", val, "--eval", test, "--windows", "3"}, "--windows applies to the sublayer methods, structured and vtrans, not --method axformer"},
		{[]string{"--method", "axformer", "--model", bert, "--data", val, "--eval", test, "--tolerance", "-1"}, "flag -tolerance: want ≥ 0"},
		{[]string{"--method", "vtrans", "--ratio", "0.5", "--model", ckpt, "--kinds", "heads"}, "--kinds applies to --method structured, not --method vtrans"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--model", ckpt, "--variant", "fast"}, "--variant applies to --method vtrans, not --method structured"},
		{[]string{"--method", "magnitude", "--ratio", "0.5", "--model", ckpt, "--score", "activation"}, "--score applies to --method structured, not --method magnitude"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--model", ckpt, "--data", val}, "--data applies to --method axformer, not --method structured"},
		{[]string{"--method", "structured", "--model", ckpt}, "--ratio is required: the fraction of the parameters to remove"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--model", ckpt, "--kinds", "heads,rows"}, `--kinds "heads,rows": "rows" is not a kind`},
		{[]string{"--method", "structured", "--ratio", "0.5", "--model", ckpt, "--score", "magnitude", "--windows", "4"}, "--windows: --score magnitude reads no data"},
		{[]string{"--method", "vtrans", "--ratio", "0.5", "--model", ckpt, "--beta", "0"}, "flag -beta: want > 0"},
		{[]string{"--method", "vtrans", "--ratio", "0.5", "--model", ckpt, "--variant", "fastest"}, "flag -variant: want one of full, fast, faster"},
		{[]string{"--method", "2:4", "--model", odd}, "model.layers.0.mlp.down_proj.weight has 66 inputs, not a multiple of 4"},
		{[]string{"--method", "2:4", "--model", gg}, "--method 2:4: --model " + gg + " has q"},
		{[]string{"--method", "vtrans", "--ratio", "0.5", "--model", gg}, "weights; prune the float model"},
		{[]string{"--method", "structured", "--ratio", "0.5", "--model", gg}, "--method structured: --model " + gg + " has q"},
	} {
		e.Reset()
		args := append([]string{"prune", "--out", filepath.Join(dir, "out")}, c.args...)
		if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("loom %v: code %d, stderr %q, want %q", args, code, e.String(), c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a rejected prune wrote its output directory")
	}
}
