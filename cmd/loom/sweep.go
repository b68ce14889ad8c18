package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loomml/loom/sweep"
	"github.com/loomml/loom/train"
)

func init() {
	register("sweep", "Train a spec over a grid of its keys (and seeds), resumably, and tabulate the runs.\n\n"+
		"Each --grid KEY=V1,V2,… sets a dotted key of the spec (train.lr, model.hidden_size, model.loom.param) to each\n"+
		"value; several --grid flags form their product, and --seeds N repeats every point with N seeds. Each run trains\n"+
		"as `loom train --config` would into OUT/runs/NAME (NAME: its settings and seed, e.g. hidden_size=64,lr=0.001,seed=1337).\n"+
		"Running the command again skips the finished runs and resumes an interrupted one; a wider grid into the same OUT\n"+
		"trains only its new runs. OUT/results.csv (for `loom scaling fit`) and OUT/results.md tabulate the grid's runs.", runSweep)
}

// gridFlag collects --grid flags, each parsed and checked for syntax as
// it is given.
type gridFlag []sweep.Axis

func (g *gridFlag) String() string {
	if g == nil {
		return ""
	}
	var s []string
	for _, a := range *g {
		s = append(s, a.String())
	}
	return strings.Join(s, " ")
}

func (g *gridFlag) Set(s string) error {
	a, err := sweep.ParseAxis(s)
	if err != nil {
		return err
	}
	for _, b := range *g {
		if b.Key == a.Key {
			return fmt.Errorf("the key %s is given twice; give its values in one --grid", a.Key)
		}
	}
	*g = append(*g, a)
	return nil
}

func runSweep(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sweep", "--config FILE --grid KEY=V1,V2,… [--grid KEY=…]… [--seeds N] --out DIR [--data FILE] [--steps N] [--threads N] [--force] [--json]", stderr)
	config := fs.String("config", "", "the base spec: a JSON file with \"model\" and \"train\" objects (see loom train --print-spec), or a bare config.json (required)")
	var grid gridFlag
	fs.Var(&grid, "grid", "a `KEY=V1,V2,…` to sweep: a dotted key of the spec and its values (JSON: numbers, true, false, \"strings\"; otherwise a string); repeat for a product")
	seeds := intFlag(fs, "seeds", 1, "runs per grid point, with seeds train.seed, train.seed+1, …", atLeast(1))
	out := fs.String("out", "", "the sweep's directory: a new or empty one, or a sweep's to continue it (required)")
	dataPath := fs.String("data", "", "a UTF-8 text file to train on (default: the embedded tinyshakespeare)")
	steps := intFlag(fs, "steps", 0, "override train.steps of every run (default: the spec's)", atLeast(1))
	threads := intFlag(fs, "threads", 0, "threads for the kernels", atLeast(1), sp{0, "all cores"})
	force := fs.Bool("force", false, "continue a sweep whose --config changed, and train again the runs whose spec or data changed")
	jsonOut := fs.Bool("json", false, "print the results as JSON")
	progressEvery := progressEveryFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, f := range []struct{ name, v, want string }{{"config", *config, "FILE"}, {"out", *out, "DIR"}} {
		if f.v == "" {
			fmt.Fprintf(stderr, "loom sweep: --%s %s is required\n", f.name, f.want)
			return errUsage
		}
	}
	raw, err := os.ReadFile(*config)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	text, name, err := readCorpus(*dataPath)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	s := &sweep.Sweep{Config: raw, ConfigName: *config, Axes: grid, Seeds: *seeds, Steps: *steps, Text: text, DataName: name,
		Out: *out, Force: *force, Progress: stderr, ProgressEvery: *progressEvery}
	p, err := s.Plan() // refuse bad keys and values before anything else
	if err != nil {
		return err
	}
	if p.Bare {
		fmt.Fprintf(stderr, "%s is a model config.json without training settings: its runs train with the %s preset's settings (--print-spec on loom train prints a spec to change them)\n", *config, train.DefaultPreset)
	}
	ctx, stop := interruptible(stderr)
	s.Context = ctx
	results, err := s.Run()
	stop()
	if err != nil {
		var ie *train.Interrupted
		switch {
		case errors.As(err, &ie):
			return interruptedRun(ie, resumeCommand("sweep", args, nil))
		case errors.Is(err, train.ErrInterrupted):
			return fmt.Errorf("%w: %v; resume with: %s", errInterrupted, err, resumeCommand("sweep", args, nil))
		}
		return err
	}
	if *jsonOut {
		js, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(js))
		return nil
	}
	if err := sweep.WriteMarkdown(stdout, p.Keys, results); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d runs; results: %s, %s\n", len(results), filepath.Join(*out, sweep.CSVFile), filepath.Join(*out, sweep.MarkdownFile))
	return nil
}
