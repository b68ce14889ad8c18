package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/train"
)

// progressEveryFlag adds --progress-every to a training command.
func progressEveryFlag(fs *flag.FlagSet) *time.Duration {
	return durationFlag(fs, "progress-every", progress.DefaultInterval, "least time between two progress lines when stderr is not a terminal (a log, CI), e.g. 2s or 1m; on a terminal the line is redrawn in place", above(0))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./=:,@%+-]+$`)

// resumeCommand is the command line that continues an interrupted run:
// loom, the verb words and the run's own arguments, minus those that
// drop matches (--resume=false).
func resumeCommand(verb string, args []string, drop func(arg string) bool) string {
	words := []string{"loom", verb}
	for _, a := range args {
		if drop == nil || !drop(a) {
			words = append(words, shellQuote(a))
		}
	}
	return strings.Join(words, " ")
}

// interruptedRun turns a training run's *train.Interrupted into the error
// that exits 130, saying where the checkpoint is and how to resume.
func interruptedRun(err error, resume string) error {
	var ie *train.Interrupted
	if !errors.As(err, &ie) {
		return err
	}
	if ie.Checkpoint == "" {
		return fmt.Errorf("%w at step %d/%d; nothing was saved", errInterrupted, ie.Step, ie.Steps)
	}
	return fmt.Errorf("%w at step %d/%d; checkpoint saved to %s; resume with: %s", errInterrupted, ie.Step, ie.Steps, ie.Checkpoint, resume)
}

// checkResume compares the checkpoint in out, if any, with the steps the
// run is asked for (what says where they come from: "--steps 10", "the
// 60 steps of --preset tiny"). A checkpoint past them is an error; one at
// them means there is nothing to train, which it reports and returns true.
func checkResume(stdout io.Writer, out string, steps int, what string, nothing string) (trained bool, err error) {
	step, ok, err := train.CheckpointStep(out)
	switch {
	case err != nil:
		return false, err
	case !ok || step < steps:
		return false, nil
	case step > steps:
		return false, fmt.Errorf("%s: %s is already at step %d; pass --steps N > %d to train further, or another --out to start afresh",
			what, filepath.Join(out, train.CheckpointDir), step, step)
	}
	fmt.Fprintf(stdout, "%s is already trained to %d steps; %s (pass --steps N > %d to train further)\n", out, step, nothing, step)
	return true, nil
}
