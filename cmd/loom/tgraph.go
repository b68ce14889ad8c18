package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/loomml/loom/data/events"
	"github.com/loomml/loom/data/events/collegemsg"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/tgraph"
)

func init() {
	register("tgraph", "Link prediction on temporal graphs: `loom tgraph train` (Todyformer, its MPNN-only ablation, a TGN-style memory baseline or EdgeBank on an event stream; SNAP's CollegeMsg by default, from $LOOM_DATA/collegemsg) and `loom tgraph eval` (AP and AUC under random, historical and inductive negatives).", withSubcommands("tgraph", tgraphUsage, map[string]command{"train": tgraphTrain, "eval": tgraphEval}))
}

const tgraphUsage = `usage: loom tgraph train --out DIR [--events FILE|collegemsg] [--arch todyformer|mpnn|tgn|edgebank] [flags]    train on the earliest 70 % of an event stream, keep the epoch of best validation AP, report test AP and AUC
       loom tgraph eval --model DIR [--events FILE|collegemsg] [--neg random|historical|inductive|all] [flags]    AP and AUC of a trained model on the test events`

const (
	archEdgeBank      = "edgebank"   // no model: memorised edges
	embeddedEvents    = "collegemsg" // --events naming SNAP's CollegeMsg (an external data set)
	tgraphEventsHelp  = "event stream: a CSV (src,dst,timestamp[,features…]) or SNAP's whitespace format, gzip when it ends in .gz; collegemsg: SNAP's CollegeMsg (59,835 messages among 1,899 users), not shipped: CollegeMsg.txt.gz in $LOOM_DATA/collegemsg"
	tgraphNegSeedHelp = "seed of the evaluation negatives (they do not depend on the model: keep it to compare models)"
)

// splitFraction is the valid range of --val and --test.
var splitFraction = span{lo: 0, hi: 1, loOpen: true, hiOpen: true}

// readTGraphEvents reads --events (CollegeMsg by its name)
// and splits it by time; the parts listed in need must hold events.
func readTGraphEvents(path string, val, test float64, need ...string) (*events.Stream, *events.Split, error) {
	if val+test >= 1 {
		return nil, nil, fmt.Errorf("--val %g and --test %g leave no training events (their sum must be below 1)", val, test)
	}
	var s *events.Stream
	var err error
	if path == embeddedEvents {
		s, err = collegemsg.Open()
	} else {
		s, err = events.ReadFile(path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--events: %w", err)
	}
	sp, err := s.ChronoSplit(val, test)
	if err != nil {
		return nil, nil, fmt.Errorf("--events: %w", err)
	}
	parts := map[string][]int{"training": sp.Train, "validation": sp.Val, "test": sp.Test}
	for _, p := range need {
		if len(parts[p]) == 0 {
			return nil, nil, fmt.Errorf("--events %s: no %s events: %d events over %d distinct timestamps split %d/%d/%d at the %g and %g quantiles of time (give more events, or change --val/--test)",
				path, p, s.Len(), distinctTimes(s), len(sp.Train), len(sp.Val), len(sp.Test), 1-val-test, 1-test)
		}
	}
	return s, sp, nil
}

func distinctTimes(s *events.Stream) int {
	n := 0
	for i, t := range s.Time {
		if i == 0 || t != s.Time[i-1] {
			n++
		}
	}
	return n
}

// describeSplit is the stream and split line of train and eval.
func describeSplit(s *events.Stream, sp *events.Split) string {
	return fmt.Sprintf("%s: %d events, %d nodes, %d features per event; split by time %d/%d/%d (%d nodes of validation or test unseen in training; %d test events touch one)",
		s.Name, s.Len(), s.NumNodes(), s.FeatDim, len(sp.Train), len(sp.Val), len(sp.Test), len(sp.Unseen), len(sp.Inductive(s, sp.Test)))
}

// printTGraphResults prints Evaluate's results as a table.
func printTGraphResults(w io.Writer, part string, rs []tgraph.Result) {
	fmt.Fprintf(w, "%s AP and AUC (over all positives and negatives; batch: DyGLib's mean over batches)\n", part)
	fmt.Fprintf(w, "%-12s  %-10s  %6s  %6s  %6s  %8s  %9s\n", "setting", "negatives", "events", "AP", "AUC", "batch AP", "batch AUC")
	for _, r := range rs {
		fmt.Fprintf(w, "%-12s  %-10s  %6d  %.4f  %.4f  %8.4f  %9.4f\n", r.Setting, r.Strategy, r.Events, r.AP, r.AUC, r.BatchAP, r.BatchAUC)
	}
}

func tgraphTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tgraph train", "--out DIR [--events FILE|collegemsg] [--arch todyformer|mpnn|tgn|edgebank] [flags]", stderr)
	out := fs.String("out", "", "directory for the run: model/ (the best epoch's), checkpoint/, metrics.jsonl, loss.png, result.json (required; new or empty unless --force; edgebank writes model/ and result.json)")
	force := fs.Bool("force", false, forceHelp)
	eventsPath := fs.String("events", embeddedEvents, tgraphEventsHelp)
	arch := choice(fs, "arch", tgraph.ArchTodyformer, "todyformer (message passing in patches of the window and a Transformer over each node's patches, alternating), mpnn (the message passing alone: the ablation), tgn (a TGN-style memory baseline) or edgebank (memorised edges: nothing to train)",
		tgraph.ArchTodyformer, tgraph.ArchMPNN, tgraph.ArchTGN, archEdgeBank)
	val := floatFlag(fs, "val", 0.15, "fraction of the events, by time, for validation (the epoch kept)", splitFraction)
	test := floatFlag(fs, "test", 0.15, "fraction of the events, the latest, for the test", splitFraction)
	epochs := intFlag(fs, "epochs", 10, "epochs", atLeast(1))
	batch := intFlag(fs, "batch", 200, "consecutive training events per step, each with a random negative (DyGLib's 200; tgn also updates its memory every --batch events)", atLeast(1))
	lr := floatFlag(fs, "lr", 1e-3, "peak learning rate (AdamW, warmup a twentieth of the steps, cosine to 0.1×)", above(0))
	wd := floatFlag(fs, "weight-decay", 0, "AdamW weight decay", atLeast(0))
	patience := intFlag(fs, "patience", 3, "stop after this many epochs without a higher validation AP (random negatives)", atLeast(1), sp{0, "never"})
	dim := intFlag(fs, "dim", 64, "width of node states and tokens (tgn: of the memory)", atLeast(1))
	timeDim := intFlag(fs, "time-dim", 32, "frequencies of the time encoding", atLeast(1))
	heads := intFlag(fs, "heads", 2, "attention heads, local and global (todyformer, mpnn; dividing --dim)", atLeast(1))
	blocks := intFlag(fs, "blocks", 2, "encoder blocks, each a message-passing layer and (todyformer) a Transformer layer (todyformer, mpnn)", atLeast(1))
	window := intFlag(fs, "window", 2048, "the latest events before each batch that the model reads (todyformer, mpnn)", atLeast(1))
	patches := intFlag(fs, "patches", 0, "patches the window is cut into (todyformer, mpnn; at most --window)", atLeast(1), sp{0, "8 for todyformer, 1 for mpnn"})
	dropout := floatFlag(fs, "dropout", 0.1, "dropout (todyformer, mpnn)", span{lo: 0, hi: 1, hiOpen: true})
	seed := fs.Uint64("seed", 1, "seed of the weights, the training negatives and dropout")
	negSeed := fs.Uint64("neg-seed", 1, tgraphNegSeedHelp)
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "loom tgraph train: --out is required")
		fs.Usage()
		return errUsage
	}
	given := givenFlags(fs)
	switch *arch {
	case archEdgeBank:
		for _, f := range []string{"epochs", "batch", "lr", "weight-decay", "patience", "dim", "time-dim", "heads", "blocks", "window", "patches", "dropout", "seed"} {
			if given[f] {
				return fmt.Errorf("--%s: edgebank has nothing to train (it scores 1 for an edge seen before the batch, 0 otherwise)", f)
			}
		}
	case tgraph.ArchTGN:
		for _, f := range []string{"heads", "blocks", "window", "patches", "dropout"} {
			if given[f] {
				return fmt.Errorf("--%s applies to todyformer and mpnn, not tgn", f)
			}
		}
	default:
		if *dim%*heads != 0 {
			return fmt.Errorf("--heads %d does not divide --dim %d", *heads, *dim)
		}
		if *patches > *window {
			return fmt.Errorf("--patches %d exceeds --window %d (a patch holds at least one event)", *patches, *window)
		}
	}
	if err := checkOut(*out, true, *force, source{"--events", *eventsPath}); err != nil {
		return err
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	s, sp, err := readTGraphEvents(*eventsPath, *val, *test, "training", "validation", "test")
	if err != nil {
		return err
	}
	var m tgraph.LinkModel
	var cfg *tgraph.Config
	if *arch != archEdgeBank {
		c := tgraph.Defaults(*arch)
		c.Dim, c.TimeDim, c.EdgeFeat, c.Seed = *dim, *timeDim, s.FeatDim, *seed
		if *arch == tgraph.ArchTGN {
			c.MemoryBatch = *batch
		} else {
			c.Heads, c.Blocks, c.Window, c.Dropout = *heads, *blocks, *window, *dropout
			if *patches > 0 {
				c.Patches = *patches
			}
		}
		if m, err = tgraph.Build(c); err != nil {
			return fmt.Errorf("--arch %s: %w", *arch, err)
		}
		cfg = &c
	}
	fmt.Fprintln(stdout, describeSplit(s, sp))
	evalOpt := tgraph.EvalOptions{Seed: *negSeed}
	ctx, stop := interruptible(stderr)
	defer stop()
	var (
		fit   *tgraph.FitResult
		valAP float64
		rs    []tgraph.Result
	)
	err = fsutil.ReplaceDir(*out, fsutil.Options{Force: *force, Context: ctx}, func(tmp string) error {
		var scorer tgraph.Scorer
		modelDir := filepath.Join(tmp, "model")
		if m == nil {
			scorer = tgraph.NewEdgeBank()
			var err error
			if valAP, err = tgraph.ValidationAP(scorer, s, sp, evalOpt); err != nil {
				return err
			}
			if err := os.Mkdir(modelDir, 0o755); err != nil {
				return err
			}
			if err := fsutil.WriteFile(filepath.Join(modelDir, tgraph.ConfigFile), []byte("{\n  \"arch\": \"edgebank\"\n}\n")); err != nil {
				return err
			}
		} else {
			var err error
			fit, err = tgraph.Fit(m, s, sp, tgraph.FitOptions{Epochs: *epochs, Batch: *batch, LR: *lr, WeightDecay: *wd, Patience: *patience,
				Seed: *seed, Eval: evalOpt, OutDir: tmp, Progress: stderr, Context: ctx})
			if err != nil {
				return err
			}
			valAP = fit.ValAP
			if err := tgraph.Save(m, modelDir); err != nil {
				return err
			}
			scorer = m
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(stderr, "scoring the %d test events under %d kinds of negatives …\n", len(sp.Test), len(tgraph.Strategies))
		var err error
		if rs, err = tgraph.Evaluate(scorer, s, sp, sp.Test, evalOpt); err != nil {
			return err
		}
		js, err := json.MarshalIndent(map[string]any{"events": *eventsPath, "name": s.Name, "num_events": s.Len(), "nodes": s.NumNodes(), "edge_features": s.FeatDim,
			"split": map[string]any{"val": *val, "test": *test, "train_events": len(sp.Train), "val_events": len(sp.Val), "test_events": len(sp.Test),
				"val_time": sp.ValTime, "test_time": sp.TestTime, "unseen_nodes": len(sp.Unseen), "inductive_test_events": len(sp.Inductive(s, sp.Test))},
			"arch": *arch, "config": cfg, "fit": fit, "val_ap": valAP, "neg_seed": *negSeed, "eval_batch": 200,
			"training": map[string]any{"epochs": *epochs, "batch": *batch, "lr": *lr, "weight_decay": *wd, "patience": *patience, "seed": *seed},
			"test":     rs}, "", "  ")
		if err != nil {
			return err
		}
		return fsutil.WriteFile(filepath.Join(tmp, "result.json"), append(js, '\n'))
	})
	if err != nil {
		return writeError(ctx, *out, err)
	}
	if fit != nil {
		fmt.Fprintf(stdout, "%s (%d parameters): %d steps, %d epochs in %.0f s; kept epoch %d (validation AP %.4f)\n", *arch, fit.Params, fit.Steps, fit.Epochs, fit.Seconds, fit.BestEpoch, fit.ValAP)
	} else {
		fmt.Fprintf(stdout, "edgebank (no parameters): validation AP %.4f\n", valAP)
	}
	printTGraphResults(stdout, "test", rs)
	fmt.Fprintf(stdout, "model: %s\n", filepath.Join(*out, "model"))
	return nil
}

// loadTGraphScorer reads a `loom tgraph train` run or model directory:
// a trained model, or EdgeBank.
func loadTGraphScorer(path string) (tgraph.Scorer, string, error) {
	dir := path
	if st, err := os.Stat(filepath.Join(path, "model", tgraph.ConfigFile)); err == nil && !st.IsDir() {
		dir = filepath.Join(path, "model")
	}
	cfgPath := filepath.Join(dir, tgraph.ConfigFile)
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, "", fmt.Errorf("--model %s: not a `loom tgraph train` run or model directory (no %s)", path, tgraph.ConfigFile)
	}
	var head struct {
		Arch string `json:"arch"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, "", fmt.Errorf("--model: %s: %w", cfgPath, err)
	}
	if head.Arch == archEdgeBank {
		return tgraph.NewEdgeBank(), "edgebank (no parameters)", nil
	}
	m, err := tgraph.Load(dir)
	if err != nil {
		return nil, "", fmt.Errorf("--model: %w", err)
	}
	n := 0
	for _, p := range m.Params() {
		n += p.Value.Numel()
	}
	return m, fmt.Sprintf("%s (%d parameters)", m.Config().Arch, n), nil
}

func tgraphEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tgraph eval", "--model DIR [--events FILE|collegemsg] [--neg random|historical|inductive|all] [flags]", stderr)
	model := fs.String("model", "", "a run directory of loom tgraph train, or its model/ directory (required)")
	eventsPath := fs.String("events", embeddedEvents, tgraphEventsHelp)
	neg := choice(fs, "neg", "all", "negatives: random (the source with a random destination), historical (edges seen before the batch, not in it), inductive (edges first seen in the evaluated period, before the batch) or all three",
		string(tgraph.Random), string(tgraph.Historical), string(tgraph.Inductive), "all")
	part := choice(fs, "part", "test", "the events scored: test (the latest --test fraction) or val", "test", "val")
	val := floatFlag(fs, "val", 0.15, "fraction of the events, by time, for validation (as in training)", splitFraction)
	test := floatFlag(fs, "test", 0.15, "fraction of the events, the latest, for the test (as in training)", splitFraction)
	batch := intFlag(fs, "batch", 200, "positive events per evaluation batch (DyGLib's 200)", atLeast(1))
	negSeed := fs.Uint64("neg-seed", 1, tgraphNegSeedHelp)
	threads := intFlag(fs, "threads", 0, "threads", atLeast(1), sp{0, "all cores"})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" {
		fmt.Fprintln(stderr, "loom tgraph eval: --model is required")
		fs.Usage()
		return errUsage
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	scorer, what, err := loadTGraphScorer(*model)
	if err != nil {
		return err
	}
	need := map[string]string{"test": "test", "val": "validation"}[*part]
	s, sp, err := readTGraphEvents(*eventsPath, *val, *test, "training", need)
	if err != nil {
		return err
	}
	if lm, ok := scorer.(tgraph.LinkModel); ok && lm.Config().EdgeFeat != s.FeatDim {
		return fmt.Errorf("--events %s: %d features per event; the model (--model %s) reads %d", *eventsPath, s.FeatDim, *model, lm.Config().EdgeFeat)
	}
	opt := tgraph.EvalOptions{BatchSize: *batch, Seed: *negSeed}
	if *neg != "all" {
		opt.Strategies = []tgraph.Strategy{tgraph.Strategy(*neg)}
	}
	idx := sp.Test
	if *part == "val" {
		idx = sp.Val
	}
	fmt.Fprintln(stdout, describeSplit(s, sp))
	fmt.Fprintln(stdout, "model:", what)
	rs, err := tgraph.Evaluate(scorer, s, sp, idx, opt)
	if err != nil {
		return err
	}
	label := map[string]string{"test": "test", "val": "validation"}[*part]
	printTGraphResults(stdout, label, rs)
	return nil
}
