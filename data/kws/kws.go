// Package kws makes and reads the synthetic keyword-spotting set of
// gen_kws.py (see README.md): one-second clips of single words by 808
// espeak-ng speakers, in speaker-disjoint train/validation/test splits.
// The generator is embedded, so a reproduction makes the set where it runs
// (it needs python3 with numpy, espeak-ng and sox).
package kws

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

//go:embed gen_kws.py
var script []byte

// Label sets: the ten keywords and "unknown" (the keyword-spotting task),
// and the ten digits (a disjoint set, for pre-training).
var (
	Keywords = []string{"down", "go", "left", "no", "off", "on", "right", "stop", "unknown", "up", "yes"}
	Digits   = []string{"eight", "five", "four", "nine", "one", "seven", "six", "three", "two", "zero"}
)

// Generate writes the set to dir (dir/<split>/<label>/*.wav and
// dir/manifest.csv) with the embedded generator: every speaker, or the
// first perSplit of each split when perSplit > 0. A finished set (its
// manifest present) is left as it is.
func Generate(dir string, perSplit int, progress io.Writer) error {
	if _, err := os.Stat(filepath.Join(dir, "manifest.csv")); err == nil {
		return nil
	}
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("kws: making the keyword-spotting set needs %s (Debian: apt-get install espeak-ng sox python3-numpy)", tool)
		}
	}
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			return errors.New("kws: making the keyword-spotting set needs python3 with numpy")
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	gen := filepath.Join(dir, "gen_kws.py")
	if err := os.WriteFile(gen, script, 0o644); err != nil {
		return err
	}
	args := []string{gen, dir}
	if perSplit > 0 {
		args = append(args, "--per-split", strconv.Itoa(perSplit))
	}
	cmd := exec.Command(py, args...)
	cmd.Stdout, cmd.Stderr = progress, progress
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kws: %s %v: %w", py, args, err)
	}
	return nil
}
