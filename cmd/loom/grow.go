package main

import (
	"fmt"
	"io"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
)

func init() {
	register("grow", "Grow a TokenFormer by appending key–value parameter tokens to its Pattentions (the grown model computes exactly what it did); train it further with `loom train --init`.", runGrow)
}

func runGrow(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("grow", "--model PATH (--slots N | --factor F) --out DIR [flags]", stderr)
	model := fs.String("model", "", "the TokenFormer to grow: a training run's directory, a model directory (required)")
	out := fs.String("out", "", "directory for the grown model (required; must not exist, or be empty, unless --force)")
	force := fs.Bool("force", false, forceHelp)
	slots := intFlag(fs, "slots", 0, "parameter tokens to append to every Pattention (queries, keys, values, outputs, FFNs)", atLeast(1), sp{0, "see --factor"})
	factor := intFlag(fs, "factor", 0, "multiply every Pattention's parameter tokens by F (2: double them)", atLeast(2), sp{0, "see --slots"})
	qkv := intFlag(fs, "qkv-slots", -1, "tokens to append to the query, key and value projections", atLeast(0), sp{-1, "from --slots or --factor"})
	proj := intFlag(fs, "proj-slots", -1, "tokens to append to the output projections", atLeast(0), sp{-1, "from --slots or --factor"})
	ffn := intFlag(fs, "ffn-slots", -1, "tokens to append to the FFNs", atLeast(0), sp{-1, "from --slots or --factor"})
	seed := fs.Uint64("seed", 0, "seed of the new value tokens (the new keys are zero)")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		fmt.Fprintln(stderr, "loom grow: --model and --out are required")
		fs.Usage()
		return errUsage
	}
	given := givenFlags(fs)
	if given["slots"] && given["factor"] {
		return fmt.Errorf("give --slots or --factor, not both")
	}
	if !given["slots"] && !given["factor"] && !given["qkv-slots"] && !given["proj-slots"] && !given["ffn-slots"] {
		return fmt.Errorf("give --slots N or --factor F (or --qkv-slots, --proj-slots, --ffn-slots): how many parameter tokens to append")
	}
	if err := refuseOutInModel(*model, *out); err != nil {
		return err
	}
	if err := checkOut(*out, true, *force, source{"--model", *model}); err != nil {
		return err
	}
	l, err := loadModel("grow", *model, *threads, "", stderr)
	if err != nil {
		return err
	}
	m := l.Model
	o := m.Config.Loom.TokenFormer
	if o == nil {
		return fmt.Errorf("--model %s: not a TokenFormer (its config has no loom.tokenformer): only Pattention layers grow", *model)
	}
	ps := m.Pattentions()
	if len(ps["qkv"]) == 0 || len(ps["proj"]) == 0 || len(ps["ffn"]) == 0 {
		return fmt.Errorf("--model %s: its layers hold no Pattentions to grow", *model)
	}
	cur := map[string]int{"qkv": ps["qkv"][0].Slots(), "proj": ps["proj"][0].Slots(), "ffn": ps["ffn"][0].Slots()}
	add := map[string]int{}
	for k, n := range cur {
		switch {
		case given["slots"]:
			add[k] = *slots
		case given["factor"]:
			add[k] = n * (*factor - 1)
		}
	}
	for k, v := range map[string]*int{"qkv": qkv, "proj": proj, "ffn": ffn} {
		if *v >= 0 {
			add[k] = *v
		}
	}
	// A probe of the embedded corpus checks that the grown model computes
	// what the model did.
	T := min(m.MaxPositions(), 64)
	probe := l.Tok.Encode(string(data.TinyShakespeare()[:4096]))[:T]
	logits := func() []float32 {
		var v []float32
		autograd.NoGrad(func() { v = m.Forward(nil, probe, 1, T).Value.Contiguous().F32() })
		return v
	}
	before, n0 := logits(), autograd.NumParams(m.Params())
	if err := decoder.Grow(m, add["qkv"], add["proj"], add["ffn"], *seed); err != nil {
		return err
	}
	after := logits()
	worst := 0.0
	for i := range before {
		worst = math.Max(worst, math.Abs(float64(after[i]-before[i])))
	}
	if worst > 1e-4 {
		return fmt.Errorf("the grown model's logits differ from the model's by %.3g on a probe: not saved", worst)
	}
	if err := saveDerived(m, l, *out); err != nil {
		return err
	}
	g := m.Pattentions()
	fmt.Fprintf(stdout, "grew %s: parameter tokens qkv %d → %d, proj %d → %d, ffn %d → %d; parameters %d → %d; logits on a %d-token probe unchanged (max |Δ| %.2g); model: %s (train it further: loom train --init %s --out RUN)\n",
		*model, cur["qkv"], g["qkv"][0].Slots(), cur["proj"], g["proj"][0].Slots(), cur["ffn"], g["ffn"][0].Slots(), n0, autograd.NumParams(m.Params()), T, worst, *out, *out)
	return nil
}
