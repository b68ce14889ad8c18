package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/train"
)

// Every command that writes a model follows one rule for its --out: it
// must be absent or an empty directory, unless --force, which replaces it
// as a whole (written beside it, then swapped in: nothing half-written is
// ever at --out, and no old file survives). `loom train --out RUN` alone
// writes into an existing directory: a training run of its own, to resume.

// forceHelp is the --force flag's usage.
const forceHelp = "replace an existing --out as a whole (without it, --out must not exist or be an empty directory)"

// source is an input the command reads (a flag and its path), which
// --force must not delete.
type source struct{ flag, path string }

// checkOut applies the rule to out before any work, so a refusal comes
// at once: out is a directory (isDir) or a file. With force it refuses an
// out that holds one of the sources, which replacing it would delete.
// Stale temporaries of out that a killed loom left are removed.
func checkOut(out string, isDir, force bool, sources ...source) error {
	if force {
		for _, s := range sources {
			if s.path == "" {
				continue
			}
			paths := []string{s.path}
			if d, _, err := convert.ResolvePath(s.path); err == nil {
				paths = append(paths, d)
			}
			for _, p := range paths {
				if _, err := os.Stat(p); err != nil {
					continue
				}
				if in, err := fsutil.Contains(out, p); err == nil && in {
					return fmt.Errorf("--out %s holds %s %s: --force would delete it; give another --out", out, s.flag, s.path)
				}
			}
		}
	}
	return outError(fsutil.CheckDest(out, isDir, fsutil.Options{Force: force}))
}

// outError words a refused --out (an *fsutil.ExistsError inside err) with
// the flag that allows it. Other errors are returned as they are.
func outError(err error) error {
	return outErrorAs(err, "; pass --force to replace it")
}

// outErrorAs is outError with its own ending.
func outErrorAs(err error, tail string) error {
	var ee *fsutil.ExistsError
	if !errors.As(err, &ee) {
		return err
	}
	return fmt.Errorf("--out %v%s", ee, tail)
}

// writeError is the error of a write to out that returned err: a refused
// --out worded by outError, or, when ctx was canceled (SIGINT, SIGTERM),
// an interruption that left out as it was.
func writeError(ctx context.Context, out string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: nothing written to %s (it is as it was, with no temporary files left)", errInterrupted, out)
	}
	return outError(err)
}

// checkTrainOut refuses a `loom train --out` that holds something other
// than a training run: train writes into its --out and resumes the run
// there, and would otherwise mix its files with another's.
func checkTrainOut(out string) error {
	if isRunDir(out) {
		return nil
	}
	return outErrorAs(fsutil.CheckDest(out, true, fsutil.Options{}),
		" and is not a training run to resume; give a new or empty directory, or a run's directory to continue it")
}

// isRunDir reports whether dir is a training run's directory: one with a
// checkpoint, or with its prepared data (a run stopped before its first
// checkpoint).
func isRunDir(dir string) bool {
	for _, p := range []string{filepath.Join(dir, train.CheckpointDir, train.StateFile), filepath.Join(dir, "data", data.MetaFile)} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// guardOut makes a failure before a run starts writing leave nothing at
// out: release removes out, if it did not exist before, unless keep was
// called first (when training starts, whose checkpoints a rerun resumes).
func guardOut(out string) (keep, release func()) {
	_, err := os.Stat(out)
	created, kept := os.IsNotExist(err), false
	return func() { kept = true }, func() {
		if created && !kept {
			os.RemoveAll(out)
		}
	}
}
