package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/loomml/loom/compress/finercut"
	"github.com/loomml/loom/compress/prune"
	"github.com/loomml/loom/compress/sparse"
	"github.com/loomml/loom/compress/structured"
	"github.com/loomml/loom/compress/vtrans"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

func init() {
	register("prune", "Prune a model: remove sublayers (FinerCut and baselines), zero weights (magnitude, 2:4), remove heads/neurons/dims/layers (structured, VTrans) or run AxFormer on a classifier or LM; write the pruned model and a report.", runPrune)
}

// pruneMethods lists every --method: the sublayer methods, the weight
// methods, the structure methods and AxFormer.
func pruneMethods() []string {
	out := append(prune.Names(), prune.WeightMethods...)
	return append(out, append(prune.StructureMethods, prune.MethodAxFormer)...)
}

// pruneFlagUse says, for each flag that only some methods take, which
// ones (for the error naming a flag given to another method).
var pruneFlagUse = []struct {
	flag, takers string
	takes        func(method string) bool
}{
	{"scope", "--method magnitude", func(m string) bool { return m == prune.MethodMagnitude }},
	{"distance", "--method finercut and oneshot", func(m string) bool { return m == "finercut" || m == "oneshot" }},
	{"protect", "--method finercut and oneshot", func(m string) bool { return m == "finercut" || m == "oneshot" }},
	{"calib", "the sublayer methods, structured and vtrans", calibrates},
	{"windows", "the sublayer methods, structured and vtrans", calibrates},
	{"seq-len", "the sublayer methods, structured and vtrans", calibrates},
	{"seed", "the sublayer methods and vtrans", func(m string) bool { return isSublayerMethod(m) || m == prune.MethodVTrans }},
	{"score", "--method structured", func(m string) bool { return m == prune.MethodStructured }},
	{"kinds", "--method structured", func(m string) bool { return m == prune.MethodStructured }},
	{"variant", "--method vtrans", func(m string) bool { return m == prune.MethodVTrans }},
	{"epochs", "--method vtrans", func(m string) bool { return m == prune.MethodVTrans }},
	{"beta", "--method vtrans", func(m string) bool { return m == prune.MethodVTrans }},
	{"task", "--method axformer", isAxFormer},
	{"data", "--method axformer (and structured or vtrans on an encoder classifier)", func(m string) bool { return isAxFormer(m) || prune.IsStructureMethod(m) }},
	{"ks", "--method axformer", isAxFormer},
	{"tolerance", "--method axformer", isAxFormer},
	{"tasks", "every method but axformer", func(m string) bool { return !isAxFormer(m) }},
	{"task-items", "every method but axformer", func(m string) bool { return !isAxFormer(m) }},
}

func isSublayerMethod(m string) bool { return slices.Contains(prune.Names(), m) }
func calibrates(m string) bool       { return isSublayerMethod(m) || prune.IsStructureMethod(m) }
func isAxFormer(m string) bool       { return m == prune.MethodAxFormer }

// pruneOpts are the parsed flags of loom prune.
type pruneOpts struct {
	method, scope, model, out, calib, eval, distance string
	ratio                                            float64
	force                                            bool
	windows, seqLen, protect, threads, evalTokens    int
	taskItems                                        int
	seed                                             uint64
	taskNames                                        []string
	given                                            map[string]bool
	// structured
	score string
	kinds []string
	// vtrans
	variant string
	epochs  int
	beta    float64
	// axformer
	task, data string
	ks         []int
	tolerance  float64
	// saveType is the type the pruned model is saved in (pruneSaveType).
	saveType tensor.DType
}

func runPrune(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("prune", "--method M --ratio R --model DIR --out DIR [--calib FILE] [--force] [flags]\n"+
		"       loom prune --method axformer --task classify|lm --model DIR --data VALIDATION --eval TEST --out DIR [flags]", stderr)
	method := choice(fs, "method", "finercut", "sublayers: finercut, oneshot, shortgpt, lastn or random; weights: magnitude (unstructured) or 2:4 (semi-structured); "+
		"structures (heads, FFN neurons, hidden dims, layers, physically removed): structured (importance scores) or vtrans (VIB masks, arXiv 2406.05276); "+
		"axformer (arXiv 2010.03688: greedy removal of layers and blocks on a validation split, top-k attention; an encoder classifier or a decoder)",
		pruneMethods()...)
	ratio := floatFlag(fs, "ratio", 0, "fraction to remove: of all attention and FFN sublayers; for magnitude of the block weights; for structured and vtrans of the parameters "+
		"(required; 2:4 fixes it at 0.5; axformer takes none)", span{lo: 0, hi: 1, loOpen: true, hiOpen: true})
	scope := choice(fs, "scope", sparse.ScopeLayer, "magnitude: the ratio in each layer (layer) or one threshold over all layers (global)", sparse.ScopeLayer, sparse.ScopeGlobal)
	model := fs.String("model", "", "model to prune: a training run's directory, a model directory or a .gguf file; axformer --task classify: an encoder classifier's directory (required)")
	out := fs.String("out", "", "directory for the pruned model, saved in the weight type --model stores (bf16, f16 or f32; a GGUF file: f32), and its report (required; must not exist, or be empty, unless --force)")
	force := fs.Bool("force", false, forceHelp)
	calib := fs.String("calib", "", "calibration text; vtrans: its training text (default: the first 90% of the embedded corpus)")
	evalPath := fs.String("eval", "", "held-out text for the before/after loss (default: the embedded corpus's last 10%); axformer, and structured or vtrans on an encoder classifier: the test split (required), "+
		"a CSV file of text,label rows (or class folders of WAV files for an AST) for classify, text for lm")
	windows := intFlag(fs, "windows", 0, "calibration windows; vtrans: training windows, in batches of 8", atLeast(1),
		sp{0, fmt.Sprintf("%d; vtrans %d, %d steps: about 15 s on the quickstart model on 2 cores", defaultCalibWindows, defaultVTransWindows, defaultVTransWindows/8)})
	seqLen := intFlag(fs, "seq-len", 0, "calibration (vtrans: training) window length in tokens, at most the model's context", atLeast(2), sp{0, "the model's context, at most 128"})
	distance := choice(fs, "distance", "js", "FinerCut's distance: js, kl, angular or dissect (the paper code's logit-difference norm)", finercut.Distances...)
	protect := intFlag(fs, "protect", 0, "FinerCut: never remove sublayers of the first N layers, fewer than the model has", atLeast(0))
	seed := fs.Uint64("seed", 0, "seed of the random baseline, and of vtrans's window sampling and masks")
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	evalTokens := intFlag(fs, "eval-tokens", 0, "score at most about this many held-out tokens (axformer --task lm: of each split)", atLeast(1), sp{0, "all"})
	taskList := fs.String("tasks", "continuation,lastword", "zero-shot tasks built from the held-out text, scored before and after (\"\": none)")
	taskItems := intFlag(fs, "task-items", 200, "items per zero-shot task", atLeast(1))
	score := choice(fs, "score", prune.ScoreTaylor, "structured: importance of each structure: taylor (Σ|w·∂L/∂w| over the calibration windows, arXiv 1906.10771), "+
		"activation (mean |activation| on them) or magnitude (Σ w², no data)", prune.Scores...)
	kinds := fs.String("kinds", "heads,neurons", "structured: what may be removed, comma-separated: heads, neurons (FFN), hidden (embedding dims; not on an encoder), layers")
	variant := choice(fs, "variant", vtrans.Full, "vtrans: full (masks and weights on all the training windows), fast (on 3% of them) or faster (the masks only)", vtrans.Variants...)
	epochs := intFlag(fs, "epochs", 1, "vtrans: passes over the training windows", atLeast(1))
	beta := floatFlag(fs, "beta", vtrans.DefaultBeta, "vtrans: weight β of the VIB term Σ log(1 + μ²/σ²)", above(0))
	task := choice(fs, "task", prune.TaskClassify, "axformer: classify (an encoder classifier; accuracy) or lm (a decoder; held-out loss)", prune.TaskClassify, prune.TaskLM)
	dataPath := fs.String("data", "", "axformer: the validation split that chooses the removals (required; same formats as --eval, not the same file); "+
		"structured and vtrans on an encoder classifier: the labelled training split (a CSV file of text,label rows) that scores the structures or trains the masks")
	ksList := fs.String("ks", "1,2,4,8,16,32", "axformer --task classify: top-k values tried per layer, comma-separated (\"\": no top-k stage; --task lm takes none)")
	tolerance := floatFlag(fs, "tolerance", 0, "axformer: how far the validation score may get worse and a removal still be kept: accuracy as a fraction (classify) or nats (lm); 0 is the paper's rule", atLeast(0))
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		fmt.Fprintln(stderr, "loom prune: --model and --out are required")
		fs.Usage()
		return errUsage
	}
	if err := refuseOutInModel(*model, *out); err != nil {
		return err
	}
	if err := checkOut(*out, true, *force, source{"--model", *model}, source{"--calib", *calib}, source{"--eval", *evalPath}, source{"--data", *dataPath}); err != nil {
		return err
	}
	o := &pruneOpts{method: *method, scope: *scope, model: *model, out: *out, calib: *calib, eval: *evalPath, distance: *distance,
		ratio: *ratio, force: *force, windows: *windows, seqLen: *seqLen, protect: *protect, threads: *threads, evalTokens: *evalTokens,
		taskItems: *taskItems, seed: *seed, given: givenFlags(fs), score: *score, variant: *variant, epochs: *epochs, beta: *beta,
		task: *task, data: *dataPath, tolerance: *tolerance}
	for _, u := range pruneFlagUse {
		if o.given[u.flag] && !u.takes(o.method) {
			return fmt.Errorf("--%s applies to %s, not --method %s", u.flag, u.takers, o.method)
		}
	}
	weights := prune.IsWeightMethod(o.method)
	switch {
	case isAxFormer(o.method):
		if o.given["ratio"] {
			return fmt.Errorf("--ratio does not apply to --method axformer: AxFormer removes what the validation split (--data) allows; loosen it with --tolerance")
		}
	case o.method == prune.Method24:
		if o.ratio != 0 && o.ratio != 0.5 {
			return fmt.Errorf("--ratio %v: --method 2:4 keeps 2 of every 4 weights, a fixed ratio of 0.5; omit --ratio or give 0.5 (for another ratio, --method magnitude)", o.ratio)
		}
		o.ratio = 0.5
	case o.ratio != 0:
	case weights:
		return fmt.Errorf("--ratio is required: the fraction of the block weights to zero, 0 < x < 1")
	case prune.IsStructureMethod(o.method):
		return fmt.Errorf("--ratio is required: the fraction of the parameters to remove, 0 < x < 1")
	default:
		return fmt.Errorf("--ratio is required: the fraction of sublayers to remove, 0 < x < 1")
	}
	if *taskList != "" && !isAxFormer(o.method) {
		var err error
		if o.taskNames, err = eval.ParseTasks(*taskList); err != nil {
			return fmt.Errorf("--tasks: %w", err)
		}
	}
	if err := o.parseMethodLists(*kinds, *ksList); err != nil {
		return err
	}
	if err := checkModelFits(o); err != nil {
		return err
	}
	if isAxFormer(o.method) {
		return runPruneAxFormer(o, stdout, stderr)
	}
	if k, _ := modelKind(o.model); k == kindEncoder && prune.IsStructureMethod(o.method) {
		return runPruneStructureEncoder(o, stdout, stderr)
	}
	l, err := loadModel("prune", o.model, o.threads, "", stderr)
	if err != nil {
		return err
	}
	if o.saveType, err = pruneSaveType(o.model); err != nil {
		return err
	}
	if weights || prune.IsStructureMethod(o.method) {
		if dt := nonFloatWeights(l.Model); dt != "" {
			return fmt.Errorf("--method %s: --model %s has %s weights; prune the float model (then quantise)", o.method, o.model, dt)
		}
	}
	switch {
	case weights:
		return runWeightPrune(o, l, stdout, stderr)
	case prune.IsStructureMethod(o.method):
		return runPruneStructure(o, l, stdout, stderr)
	}
	return runPruneSublayers(o, l, stdout, stderr)
}

// Default window counts: calibration, and VTrans's training (32 batches of
// 8 windows: about a minute on the quickstart model).
const (
	defaultCalibWindows  = 32
	defaultVTransWindows = 256
)

// parseMethodLists parses --kinds and --ks.
func (o *pruneOpts) parseMethodLists(kinds, ks string) error {
	names := map[string]string{"heads": structured.KindHead, "neurons": structured.KindNeuron, "hidden": structured.KindHidden, "layers": structured.KindLayer}
	for _, k := range strings.Split(kinds, ",") {
		k = strings.TrimSpace(k)
		kind, ok := names[k]
		if !ok {
			return fmt.Errorf("--kinds %q: %q is not a kind; want a comma-separated list of heads, neurons, hidden, layers", kinds, k)
		}
		if slices.Contains(o.kinds, kind) {
			return fmt.Errorf("--kinds %q lists %s twice", kinds, k)
		}
		o.kinds = append(o.kinds, kind)
	}
	if !isAxFormer(o.method) {
		return nil
	}
	if o.task == prune.TaskLM {
		if o.given["ks"] {
			return fmt.Errorf("--ks applies to --method axformer --task classify: decoder checkpoints cannot record top-k attention, so --task lm has no top-k stage")
		}
		return nil
	}
	if strings.TrimSpace(ks) == "" {
		return nil
	}
	for _, f := range strings.Split(ks, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 {
			return fmt.Errorf("--ks %q: want comma-separated positive integers such as 1,2,4,8 (\"\": no top-k stage)", ks)
		}
		o.ks = append(o.ks, k)
	}
	return nil
}

// checkModelFits refuses a model of a kind the method cannot prune,
// naming the method and what it needs, before anything is read.
func checkModelFits(o *pruneOpts) error {
	kind, desc := modelKind(o.model)
	what := kind
	if kind == kindEncoder {
		if c, err := encoder.LoadConfig(o.model); err == nil {
			desc = c.Architecture()
			if c.NumLabels() > 0 {
				what = "encoder classifier"
			}
		}
	}
	if desc != "" {
		what += " (" + desc + ")"
	}
	needsEncoder := isAxFormer(o.method) && o.task == prune.TaskClassify
	switch {
	case kind == kindEncoder && prune.IsStructureMethod(o.method):
		// structured and vtrans prune encoder classifiers too
		// (prune_structured_encoder.go).
	case kind == kindEncoder && !needsEncoder:
		m := "--method " + o.method
		if isAxFormer(o.method) {
			m += " --task lm"
		}
		return fmt.Errorf("%s needs a decoder (a causal LM); --model %s is an %s", m, o.model, what)
	case needsEncoder && kind != kindEncoder && kind != "":
		return fmt.Errorf("--method axformer --task classify needs an encoder classifier (%s or %s); --model %s is a %s",
			encoder.BertForSequenceClassification, encoder.ASTForAudioClassification, o.model, what)
	}
	return nil
}

// nonFloatWeights returns the type of the first block weight matrix that
// is not float32 ("" when all are): a quantised GGUF's q4_K, say.
func nonFloatWeights(m *decoder.Model) string {
	for _, p := range m.Params() {
		if v := p.Value; v != nil && len(v.Shape()) == 2 && v.DType() != tensor.Float32 {
			return v.DType().String()
		}
	}
	return ""
}

// runPruneSublayers is `loom prune --method finercut|oneshot|shortgpt|lastn|random`.
func runPruneSublayers(o *pruneOpts, l *convert.Loaded, stdout, stderr io.Writer) error {
	m, tok := l.Model, l.Tok
	count, err := prune.Count(o.ratio, len(m.Layers))
	if err != nil {
		return fmt.Errorf("--ratio: %w", err)
	}
	// Checked before the search, not after the long evaluation before it.
	if L := len(m.Layers); o.protect > 0 {
		switch {
		case o.protect >= L:
			return fmt.Errorf("--protect %d: want 0 to %d (the model has %d layers)", o.protect, L-1, L)
		case 2*(L-o.protect) < count:
			return fmt.Errorf("--protect %d leaves %d removable sublayers, fewer than the %d that --ratio %v removes", o.protect, 2*(L-o.protect), count, o.ratio)
		}
	}
	cal, calibName, err := calibWindows(o, m, tok, cmp.Or(o.windows, defaultCalibWindows))
	if err != nil {
		return err
	}
	bench, err := pruneBench(o, m, tok)
	if err != nil {
		return err
	}
	bar := progress.New(stderr, "prune "+o.method, count)
	job := &prune.Job{Model: m, Method: o.method, Count: count, Calib: cal, Seed: o.seed, ModelName: o.model, CalibName: calibName,
		FinerCut: finercut.Options{Distance: o.distance, Protect: o.protect, Progress: func(done, _ int) { bar.Update(done) }},
		Bench:    bench, Measured: printMeasured(stderr)}
	rep, err := job.Run()
	if err != nil {
		return err
	}
	bar.Done()
	after, err := roundDecoder(m, o.saveType, &job.Bench, job.Measured)
	if err != nil {
		return err
	}
	if after != nil {
		rep.After = *after
		rep.LossRetention, rep.TaskRetention = prune.Retention(rep.Before, rep.After)
	}
	err = fsutil.ReplaceDir(o.out, fsutil.Options{Force: o.force}, func(tmp string) error {
		if err := saveDerivedAs(m, l, tmp, o.saveType); err != nil {
			return err
		}
		if err := rep.WriteFiles(tmp); err != nil {
			return err
		}
		return noteSavedType(tmp, o.saveType, after != nil)
	})
	if err != nil {
		return outError(err)
	}
	fmt.Fprintf(stdout, "removed %d of %d sublayers (%s) in %.1fs: held-out loss %.4f → %.4f (retention %.3f), decode %.1f → %.1f tokens/s\n",
		count, rep.Total, o.method, rep.SearchS, rep.Before.Loss, rep.After.Loss, rep.LossRetention, rep.Before.DecodeTokS, rep.After.DecodeTokS)
	fmt.Fprintf(stdout, "model: %s; report: %s, %s, %s\n", o.out, filepath.Join(o.out, prune.ReportMarkdown),
		filepath.Join(o.out, prune.ReportJSON), filepath.Join(o.out, prune.ReportMap))
	return nil
}

// printMeasured prints each before/after measurement to stderr.
func printMeasured(stderr io.Writer) func(string, prune.Measurement) {
	return func(label string, r prune.Measurement) {
		fmt.Fprintf(stderr, "%s: held-out loss %.4f over %d tokens, decode %.1f tokens/s\n", label, r.Loss, r.Tokens, r.DecodeTokS)
	}
}

// calibText returns the calibration (or training) tokens: --calib, or by
// default the training split of the embedded corpus, as loom train splits
// it.
func calibText(o *pruneOpts, tok tokenizer.Tokenizer) ([]int, string, error) {
	if o.calib != "" {
		text, err := os.ReadFile(o.calib)
		if err != nil {
			return nil, "", err
		}
		return tok.Encode(string(text)), o.calib, nil
	}
	corpus := tok.Encode(string(data.TinyShakespeare()))
	nTrain := data.TrainTokens(len(corpus), 0.1)
	return corpus[:nTrain], "tinyshakespeare (embedded), training split (first 90% of tokens)", nil
}

// windowLen is --seq-len, by default the model's context up to 128.
func windowLen(o *pruneOpts, m *decoder.Model) (int, error) {
	T := o.seqLen
	if T == 0 {
		T = min(m.MaxPositions(), 128)
	}
	if T < 2 || T > m.MaxPositions() {
		return 0, fmt.Errorf("--seq-len %d: want 2 to the model's %d positions", T, m.MaxPositions())
	}
	return T, nil
}

// calibWindows returns n evenly spaced calibration windows.
func calibWindows(o *pruneOpts, m *decoder.Model, tok tokenizer.Tokenizer, n int) ([][]int, string, error) {
	T, err := windowLen(o, m)
	if err != nil {
		return nil, "", err
	}
	ids, name, err := calibText(o, tok)
	if err != nil {
		return nil, "", err
	}
	if len(ids) < T {
		return nil, "", fmt.Errorf("%s: %d tokens, shorter than one calibration window of %d", name, len(ids), T)
	}
	return data.EvenWindows(ids, T, n), name, nil
}

// pruneBench is what the decoder methods measure before and after: the
// held-out text (--eval, by default the embedded corpus's held-out split)
// and its zero-shot tasks.
func pruneBench(o *pruneOpts, m *decoder.Model, tok tokenizer.Tokenizer) (prune.Bench, error) {
	corpus := tok.Encode(string(data.TinyShakespeare()))
	nTrain := data.TrainTokens(len(corpus), 0.1)
	heldText, heldName := []byte(tok.Decode(corpus[nTrain:])), "tinyshakespeare (embedded), held-out split (last 10% of tokens)"
	if o.eval != "" {
		var err error
		if heldText, err = os.ReadFile(o.eval); err != nil {
			return prune.Bench{}, err
		}
		heldName = o.eval
	}
	var tasks []eval.Task
	for _, name := range o.taskNames {
		task, err := eval.BuildTask(name, heldText, tok, o.taskItems, 1)
		if err != nil {
			return prune.Bench{}, fmt.Errorf("%s: %w", heldName, err)
		}
		tasks = append(tasks, task)
	}
	return prune.Bench{Tok: tok, Held: tok.Encode(string(heldText)), HeldName: heldName, MaxTokens: o.evalTokens, Tasks: tasks,
		DecodeContext: min(m.MaxPositions(), 128)}, nil
}

// saveDerived writes a model derived from the loaded one (pruned,
// extracted) into out, with float32 weights and the source's tokenizer and
// generation files (a GGUF source's tokenizer as tokenizer.json).
func saveDerived(m *decoder.Model, l *convert.Loaded, out string) error {
	return saveDerivedAs(m, l, out, tensor.Float32)
}

// saveDerivedAs is saveDerived with the weights stored as dt (one of
// convert.HFTypes) and config.json's torch_dtype saying so.
func saveDerivedAs(m *decoder.Model, l *convert.Loaded, out string, dt tensor.DType) error {
	if err := convert.SaveAs(m, out, dt); err != nil {
		return err
	}
	if gguf.IsGGUF(l.Path) {
		// A GGUF model: keep its tokenizer as tokenizer.json.
		if b, ok := l.Tok.(*tokenizer.BPE); ok {
			if err := b.SaveHF(filepath.Join(out, convert.TokenizerFile)); err != nil {
				return err
			}
			m.Config.Loom.Tokenizer = convert.TokenizerFile
			c := *m.Config
			c.TorchDtype = dt.Info().Torch
			return fsutil.WriteFile(filepath.Join(out, convert.ConfigFile), c.JSON())
		}
		return nil
	}
	for _, f := range []string{convert.TokenizerFile, convert.TokenizerConfigFile, convert.GenerationConfigFile} {
		b, err := os.ReadFile(filepath.Join(l.Path, f))
		if err != nil {
			continue
		}
		if err := fsutil.WriteFile(filepath.Join(out, f), b); err != nil {
			return err
		}
	}
	return nil
}

// refuseOutInModel refuses an --out that is --model, or the model directory
// it names, or lies inside either: writing there would overwrite the source
// and leave its optimizer state and trainer state beside a model they do not
// fit.
func refuseOutInModel(model, out string) error {
	dirs := []string{model}
	if d, _, err := convert.ResolvePath(model); err == nil && d != model {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		in, err := fsutil.Contains(d, out)
		if err != nil {
			return err
		}
		if in {
			return fmt.Errorf("--out %s is inside --model %s: it would overwrite the source model; give a new directory outside it", out, model)
		}
	}
	return nil
}

// runWeightPrune is `loom prune --method magnitude|2:4`: zero weights of
// the block linears (compress/sparse), measure before and after, and save
// the model with the zeros in its dense weights, so it loads everywhere.
func runWeightPrune(o *pruneOpts, l *convert.Loaded, stdout, stderr io.Writer) error {
	m, method, out := l.Model, o.method, o.out
	bench, err := pruneBench(o, m, l.Tok)
	if err != nil {
		return err
	}
	job := &prune.WeightJob{Model: m, Method: method, Ratio: o.ratio, Scope: o.scope, ModelName: o.model, Bench: bench, Measured: printMeasured(stderr)}
	rep, err := job.Run()
	if err != nil {
		return err
	}
	// Zeroing keeps a value's type, so this changes nothing unless the
	// source's values were not already of the stored type.
	after, err := roundDecoder(m, o.saveType, &job.Bench, job.Measured)
	if err != nil {
		return err
	}
	if after != nil {
		rep.After = *after
		rep.LossRetention, rep.TaskRetention = prune.Retention(rep.Before, rep.After)
		rep.Kernel24 = nil // measured before the rounding
	}
	err = fsutil.ReplaceDir(out, fsutil.Options{Force: o.force}, func(tmp string) error {
		if err := saveDerivedAs(m, l, tmp, o.saveType); err != nil {
			return err
		}
		if err := rep.WriteFiles(tmp); err != nil {
			return err
		}
		return noteSavedType(tmp, o.saveType, after != nil)
	})
	if err != nil {
		return outError(err)
	}
	s := rep.Stats
	fmt.Fprintf(stdout, "zeroed %d of %d block weights (%s, sparsity %.3f) in %.2fs: held-out loss %.4f → %.4f (retention %.3f)\n",
		s.Zeros, s.Weights, method, s.Sparsity, rep.PruneS, rep.Before.Loss, rep.After.Loss, rep.LossRetention)
	if method == prune.Method24 {
		fmt.Fprintf(stdout, "2:4 size of those weights as values + 2-bit indices: %.2f MB of %.2f MB dense (the saved model keeps dense weights with zeros)\n",
			float64(s.SparseBytes)/1e6, float64(s.DenseBytes)/1e6)
		if k := rep.Kernel24; k != nil {
			fmt.Fprintf(stdout, "with the 2:4 kernel: held-out loss %.4f, decode %.1f tokens/s (dense kernels: %.1f)\n", k.Loss, k.DecodeTokS, rep.After.DecodeTokS)
		}
	} else {
		fmt.Fprintln(stdout, "unstructured sparsity: no sparse kernel, so no speed-up; the saved model is as large (size gain only under a sparse or compressed encoding)")
	}
	fmt.Fprintf(stdout, "model: %s; report: %s, %s\n", out, filepath.Join(out, prune.ReportMarkdown), filepath.Join(out, prune.ReportJSON))
	return nil
}
