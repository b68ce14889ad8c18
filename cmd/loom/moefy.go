package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/distill"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/moefy"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/train"
)

func init() {
	register("moefy", "Split a trained model's FFNs into a mixture of experts (EMoE, random partition); write it as a Mixtral with a report.", runMoefy)
}

// moefyReport is moefy.json: the conversion and the held-out loss before
// and after.
type moefyReport struct {
	Model  string         `json:"model"`
	Report *moefy.Report  `json:"conversion"`
	Eval   string         `json:"eval"`
	Before eval.Result    `json:"before"`
	After  eval.Result    `json:"after"`
	Config map[string]any `json:"options"`
}

func runMoefy(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("moefy", "--method M --experts E --top-k K --model PATH --out DIR [flags]", stderr)
	method := choice(fs, "method", "emoe", "emoe (cluster the keys, EMoE), random (a random partition) or dense2moe (Taylor-important units as a shared expert, the rest clustered, then distilled from the dense model)", moefy.Methods()...)
	experts := intFlag(fs, "experts", 0, "experts per converted FFN; must divide its hidden units (required)", atLeast(1))
	topK := intFlag(fs, "top-k", 0, "experts per token, 1 … --experts (required)", atLeast(1))
	model := fs.String("model", "", "model to convert: a training run's directory, a model directory or a .gguf file (required)")
	out := fs.String("out", "", "directory for the mixture and moefy.json (required; must not exist, or be empty, unless --force)")
	force := fs.Bool("force", false, forceHelp)
	layerList := fs.String("layers", "", "layers to convert, e.g. 2,3 or all (default: the layer before the last, as EMoE's examples)")
	router := fs.String("router", "", "keys (EMoE's gate: each expert's mean key, weight 1), fixed (a random gate, weight 1) or softmax (a learned router to train; Mixtral-exportable when every layer is converted) (default: the method's, keys)")
	seed := fs.Uint64("seed", 0, "seed of the clustering, the random partition and random gates")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	evalPath := fs.String("eval", "", "held-out text for the before/after loss (default: the embedded corpus's last 10%)")
	evalTokens := intFlag(fs, "eval-tokens", 20000, "score at most about this many held-out tokens", atLeast(1))
	shared := intFlag(fs, "shared", -1, "dense2moe: hidden units of the shared expert", atLeast(0), sp{-1, "one routed expert's width: (units)/(experts+1)"})
	dataPath := fs.String("data", "", "dense2moe: text for the calibration and the distillation (default: the embedded corpus's first 90%)")
	calibWindows := intFlag(fs, "calib-windows", 32, "dense2moe: calibration windows of the Taylor importance", atLeast(1))
	distillSteps := intFlag(fs, "distill-steps", 300, "dense2moe: steps of distillation from the dense model (0: none)", atLeast(0))
	lr := floatFlag(fs, "lr", 1e-3, "dense2moe: distillation learning rate", above(0))
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *out == "" || *experts == 0 || *topK == 0 {
		fmt.Fprintln(stderr, "loom moefy: --model, --out, --experts and --top-k are required")
		fs.Usage()
		return errUsage
	}
	if *topK > *experts {
		return fmt.Errorf("--top-k %d exceeds --experts %d", *topK, *experts)
	}
	if *router != "" && *router != nn.RouterKeys && *router != nn.RouterFixed && *router != nn.RouterSoftmax {
		return fmt.Errorf("--router %q, want keys, fixed or softmax", *router)
	}
	if err := refuseOutInModel(*model, *out); err != nil {
		return err
	}
	if err := checkOut(*out, true, *force, source{"--model", *model}, source{"--eval", *evalPath}); err != nil {
		return err
	}
	l, err := loadModel("moefy", *model, *threads, "", stderr)
	if err != nil {
		return err
	}
	m, tok := l.Model, l.Tok
	var layers []int
	switch *layerList {
	case "":
	case "all":
		for i := range m.Layers {
			layers = append(layers, i)
		}
	default:
		for _, f := range strings.Split(*layerList, ",") {
			i, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("--layers %q: want layer numbers separated by commas, or all", *layerList)
			}
			layers = append(layers, i)
		}
	}
	held, heldName := eval.HeldOutText(data.TinyShakespeare(), tok, 0.1), "tinyshakespeare (embedded), held-out split (last 10% of tokens)"
	if *evalPath != "" {
		if held, err = os.ReadFile(*evalPath); err != nil {
			return err
		}
		heldName = *evalPath
	}
	eo := eval.Options{SeqLen: min(m.MaxPositions(), 128), MaxTokens: *evalTokens}
	before, err := eval.Text(m, held, tok, eo)
	if err != nil {
		return fmt.Errorf("%s: %w", heldName, err)
	}
	o := moefy.Options{Method: *method, Experts: *experts, TopK: *topK, Layers: layers, Router: *router, Seed: *seed}
	var trainIDs []int
	T := min(m.MaxPositions(), 128)
	if *method == "dense2moe" {
		text := data.TinyShakespeare()
		text = text[:len(text)-len(eval.HeldOutText(text, tok, 0.1))]
		if *dataPath != "" {
			if text, err = os.ReadFile(*dataPath); err != nil {
				return err
			}
		}
		trainIDs = tok.Encode(string(text))
		if len(trainIDs) < T+1 {
			return fmt.Errorf("--data: %d tokens, fewer than one window of %d", len(trainIDs), T+1)
		}
		for _, w := range data.EvenWindows(trainIDs, T+1, *calibWindows) {
			o.Calib = append(o.Calib, data.Batch{IDs: w[:T], Targets: w[1:], B: 1, T: T})
		}
		o.Shared = *shared
		if o.Shared < 0 {
			o.Shared = m.Config.IntermediateSize / (*experts + 1)
		}
	} else {
		given := givenFlags(fs)
		for _, f := range []string{"shared", "data", "calib-windows", "distill-steps", "lr"} {
			if given[f] {
				return fmt.Errorf("--%s applies to --method dense2moe, not %s (as --shared, --data, --calib-windows, --distill-steps and --lr do)", f, *method)
			}
		}
	}
	mix, rep, err := moefy.Convert(m, o)
	if err != nil {
		return err
	}
	if *method == "dense2moe" && *distillSteps > 0 {
		converted, err := eval.Text(mix, held, tok, eo)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "converted: held-out loss %.4f; distilling %d steps from the dense model\n", converted.Loss, *distillSteps)
		if err := distillFrom(mix, m, trainIDs, T, *distillSteps, *lr, *seed, stderr); err != nil {
			return err
		}
	}
	after, err := eval.Text(mix, held, tok, eo)
	if err != nil {
		return fmt.Errorf("%s: %w", heldName, err)
	}
	r := moefyReport{Model: *model, Report: rep, Eval: heldName, Before: before, After: after,
		Config: map[string]any{"method": *method, "experts": *experts, "top_k": *topK, "seed": *seed}}
	js, _ := json.MarshalIndent(r, "", "  ")
	err = fsutil.ReplaceDir(*out, fsutil.Options{Force: *force}, func(tmp string) error {
		if err := saveDerived(mix, l, tmp); err != nil {
			return err
		}
		return fsutil.WriteFile(filepath.Join(tmp, "moefy.json"), append(js, '\n'))
	})
	if err != nil {
		return outError(err)
	}
	var ls []string
	for _, li := range rep.Layers {
		ls = append(ls, strconv.Itoa(li.Layer))
	}
	fmt.Fprintf(stdout, "%s: layers %s split into %d experts of %d hidden units, %d per token (router %s); active FFN parameters %d of %d\n",
		*method, strings.Join(ls, ","), *experts, rep.Layers[0].ExpertSize, *topK, rep.Router, rep.ActiveFFNParams, rep.DenseFFNParams)
	fmt.Fprintf(stdout, "held-out loss %.4f → %.4f over %d tokens (%s)\n", before.Loss, after.Loss, after.Tokens, heldName)
	if why := mix.Config.Unexportable(decoder.HF); len(why) > 0 {
		fmt.Fprintf(stdout, "the mixture is loom's own (not exportable as Mixtral: %s)\n", strings.Join(why, ", "))
	}
	fmt.Fprintf(stdout, "model: %s; report: %s\n", *out, filepath.Join(*out, "moefy.json"))
	return nil
}

// distillFrom trains student to match teacher on random windows of ids
// (the output distribution and every layer's hidden state, with the
// student's balance loss): AdamW, warmup steps/10, cosine to 0.1×, batch
// 16.
func distillFrom(student, teacher *decoder.Model, ids []int, T, steps int, lr float64, seed uint64, stderr io.Writer) error {
	d, err := distill.New(student, teacher, distill.Config{KL: 1, Hidden: 1})
	if err != nil {
		return err
	}
	h := train.Hyper{Steps: steps, BatchSize: 16, SeqLen: T, LR: lr, Warmup: max(1, steps/10), MinLRFactor: 0.1,
		Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Clip: 1}
	return (&train.Loop[data.Batch]{Model: d, Data: data.NewMemSampler(ids, 16, T, seed), Hyper: h, Progress: stderr}).Train()
}
