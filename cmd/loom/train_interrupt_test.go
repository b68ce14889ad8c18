package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loomml/loom/train"
)

// interruptRun starts `loom args...` in dir, waits for its first stderr
// line that waitFor matches (a progress line: training is under way),
// sends SIGINT — and, with twice, a second SIGINT once loom says it is
// stopping — and returns the exit status and stderr.
func interruptRun(t *testing.T, dir string, waitFor *regexp.Regexp, twice bool, args ...string) (int, string) {
	t.Helper()
	cmd := loomCommand(t, dir, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A safety net, not a timed assertion: a hung run fails the test.
	guard := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer guard.Stop()
	var all strings.Builder
	sc := bufio.NewScanner(stderr)
	sent := 0
	for sc.Scan() {
		line := sc.Text()
		all.WriteString(line + "\n")
		switch {
		case sent == 0 && waitFor.MatchString(line):
			cmd.Process.Signal(os.Interrupt)
			sent++
		case sent == 1 && twice && strings.Contains(line, "stopping cleanly"):
			cmd.Process.Signal(os.Interrupt)
			sent++
		}
	}
	err = cmd.Wait()
	if sent == 0 {
		t.Fatalf("loom %s: never printed a line matching %q (%v):\n%s", strings.Join(args, " "), waitFor, err, all.String())
	}
	if err == nil {
		return 0, all.String()
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatal(err)
	}
	return ee.ExitCode(), all.String()
}

// firstStep matches the first progress line of training.
var firstStep = regexp.MustCompile(`^train `)

var interruptedLine = regexp.MustCompile(`(?m)^loom: interrupted at step (\d+)/(\d+); checkpoint saved to (.+?); resume with: (.*)$`)

// checkInterrupted checks a clean stop's exit status, message and
// checkpoint, and returns the step and the resume command.
func checkInterrupted(t *testing.T, dir string, code int, stderr, wantCkpt, wantResume string, steps int) (int, string) {
	t.Helper()
	m := interruptedLine.FindStringSubmatch(stderr)
	if code != exitInterrupted || m == nil {
		t.Fatalf("exit status %d, stderr:\n%s\nwant status 130 and \"loom: interrupted at step K/N; checkpoint saved to …; resume with: …\"", code, stderr)
	}
	step, _ := strconv.Atoi(m[1])
	if m[2] != strconv.Itoa(steps) || m[3] != wantCkpt || m[4] != wantResume {
		t.Fatalf("interrupted line %q\nwant steps %d, checkpoint %s, resume command %q", m[0], steps, wantCkpt, wantResume)
	}
	got, ok, err := train.CheckpointStep(filepath.Join(dir, filepath.Dir(wantCkpt)))
	if err != nil || !ok || got != step || step < 1 {
		t.Fatalf("checkpoint at step %d (%v, %v); the message says %d", got, ok, err, step)
	}
	if !strings.Contains(stderr, "| interrupted | stopped after") {
		t.Fatalf("the progress bar does not end with the interruption:\n%s", stderr)
	}
	return step, m[4]
}

// TestTrainInterrupt sends a real SIGINT to `loom train`: it finishes the
// step, saves a checkpoint, prints the command that resumes and exits 130;
// that command resumes from the saved step; a finished run is reported as
// such, and --steps below the checkpoint's step is an error.
func TestTrainInterrupt(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "corpus.txt"), []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 400)), 0o644)
	args := []string{"train", "--preset", "tiny", "--data", "corpus.txt", "--steps", "100000", "--threads", "1", "--progress-every", "1ns", "--out", "run", "--resume=false"}
	code, stderr := interruptRun(t, dir, firstStep, false, args...)
	wantResume := "loom train --preset tiny --data corpus.txt --steps 100000 --threads 1 --progress-every 1ns --out run" // without --resume=false
	k, resume := checkInterrupted(t, dir, code, stderr, filepath.Join("run", "checkpoint"), wantResume, 100000)

	// The printed command, run as printed, continues at step k+1.
	words := strings.Fields(resume)[1:]
	code, stderr = interruptRun(t, dir, firstStep, false, words...)
	if !strings.HasPrefix(stderr, fmt.Sprintf("train %d/100000 [", k+1)) {
		t.Fatalf("resumed run's first step is not %d:\n%s", k+1, stderr)
	}
	k2, _ := checkInterrupted(t, dir, code, stderr, filepath.Join("run", "checkpoint"), wantResume, 100000)
	if k2 <= k {
		t.Fatalf("resumed run stopped at step %d, not after %d", k2, k)
	}

	// Finishing the run at k2+2 steps trains exactly the 2 missing ones.
	target := k2 + 2
	finish := []string{"train", "--preset", "tiny", "--data", "corpus.txt", "--steps", strconv.Itoa(target), "--threads", "1", "--out", "run"}
	out, err := loomCommand(t, dir, finish...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("resumed from %s at step %d\n", filepath.Join("run", "checkpoint"), k2)) ||
		!strings.Contains(string(out), fmt.Sprintf("trained 2 more steps (%d to %d) in", k2, target)) {
		t.Fatalf("finishing: %v\n%s", err, out)
	}
	if step, _, _ := train.CheckpointStep(filepath.Join(dir, "run")); step != target {
		t.Fatalf("finished checkpoint at step %d, want %d", step, target)
	}
	metrics, _ := os.ReadFile(filepath.Join(dir, "run", train.MetricsFile))
	for i, line := range strings.Split(strings.TrimSpace(string(metrics)), "\n") {
		if !strings.HasPrefix(line, fmt.Sprintf(`{"step":%d,`, i)) {
			t.Fatalf("metrics.jsonl line %d: %s; want each step once, in order", i+1, line)
		}
	}

	// Again: nothing to do, and it says so rather than "trained N steps".
	out, err = loomCommand(t, dir, finish...).CombinedOutput()
	want := fmt.Sprintf("run is already trained to %d steps; nothing to do (pass --steps N > %d to train further)\n", target, target)
	if err != nil || string(out) != want {
		t.Fatalf("re-running a finished run: %v\n%s\nwant %q", err, out, want)
	}
	// Fewer steps than the checkpoint's: an error naming both.
	out, err = loomCommand(t, dir, "train", "--preset", "tiny", "--data", "corpus.txt", "--steps", "2", "--out", "run").CombinedOutput()
	want = fmt.Sprintf("loom: --steps 2: %s is already at step %d; pass --steps N > %d to train further, or another --out to start afresh\n", filepath.Join("run", "checkpoint"), target, target)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || string(out) != want {
		t.Fatalf("--steps 2 on a checkpoint of step %d: %v\n%s\nwant %q", target, err, out, want)
	}
}

// TestQuickstartInterrupt: Ctrl-C during `loom quickstart` saves a
// checkpoint and prints the quickstart command that resumes; a second
// Ctrl-C quits at once, leaving the saved checkpoint as it was.
func TestQuickstartInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the quickstart model for a few steps, twice")
	}
	dir := t.TempDir()
	args := []string{"quickstart", "--steps", "100000", "--threads", "2", "--progress-every", "1ns", "--out", "qs dir"}
	code, stderr := interruptRun(t, dir, firstStep, false, args...)
	k, resume := checkInterrupted(t, dir, code, stderr, filepath.Join("qs dir", "checkpoint"),
		"loom quickstart --steps 100000 --threads 2 --progress-every 1ns --out 'qs dir'", 100000)

	// Resumed as printed (the quoted directory is one word), then stopped
	// with two Ctrl-Cs: the second quits during the step, so the run
	// ends without a new checkpoint and without the clean stop's message.
	words := append(strings.Fields(strings.TrimSuffix(resume, " --out 'qs dir'"))[1:], "--out", "qs dir")
	code, stderr = interruptRun(t, dir, firstStep, true, words...)
	if !strings.HasPrefix(stderr, fmt.Sprintf("train %d/100000 [", k+1)) {
		t.Fatalf("the resumed run does not start at step %d:\n%s", k+1, stderr)
	}
	if code != exitInterrupted || !strings.Contains(stderr, "loom: second interrupt: quitting at once") || strings.Contains(stderr, "loom: interrupted at step") {
		t.Fatalf("second Ctrl-C: exit status %d, stderr:\n%s\nwant 130 and \"second interrupt: quitting at once\"", code, stderr)
	}
	if step, ok, err := train.CheckpointStep(filepath.Join(dir, "qs dir")); err != nil || !ok || step != k {
		t.Fatalf("after the second Ctrl-C the checkpoint is at step %d (%v, %v), want the saved %d", step, ok, err, k)
	}
}

// TestForecastTrainInterrupt: Ctrl-C during `loom forecast train` saves a
// checkpoint mid-epoch and prints the command that resumes it; the run
// resumed as printed continues from that step, and one finished with fewer
// epochs than the checkpoint has reached is refused naming --epochs.
func TestForecastTrainInterrupt(t *testing.T) {
	dir := t.TempDir()
	writeSeries(t, filepath.Join(dir, "load.csv"), 600, "a", "b", "OT")
	args := []string{"forecast", "train", "--csv", "load.csv", "--out", "fc", "--lookback", "24", "--horizon", "8",
		"--d-model", "16", "--heads", "4", "--epochs", "1000", "--patience", "1000", "--batch", "16", "--threads", "1", "--progress-every", "1ns"}
	code, stderr := interruptRun(t, dir, firstStep, false, args...)
	total := regexp.MustCompile(`train \(1000 epochs\) \d+/(\d+) `).FindStringSubmatch(stderr)
	if total == nil {
		t.Fatalf("no progress line:\n%s", stderr)
	}
	steps, _ := strconv.Atoi(total[1])
	wantResume := "loom forecast train " + strings.Join(args[2:], " ")
	k, resume := checkInterrupted(t, dir, code, stderr, filepath.Join("fc", "checkpoint"), wantResume, steps)
	if _, err := os.Stat(filepath.Join(dir, "fc", "config.json")); err == nil {
		t.Fatal("an interrupted run wrote a model")
	}

	// Resumed as printed, it starts at step k+1; stopped in epoch 2 or
	// later, its checkpoint is past a run of fewer epochs.
	code, stderr = interruptRun(t, dir, regexp.MustCompile(`^train .*\| epoch [2-9]`), false, strings.Fields(resume)[1:]...)
	if first := regexp.MustCompile(`(?m)^train .*$`).FindString(stderr); !strings.HasPrefix(first, fmt.Sprintf("train (1000 epochs) %d/%d [", k+1, steps)) {
		t.Fatalf("the resumed run does not start at step %d:\n%s", k+1, stderr)
	}
	k2, _ := checkInterrupted(t, dir, code, stderr, filepath.Join("fc", "checkpoint"), wantResume, steps)
	perEpoch := steps / 1000
	epoch := (k2 + perEpoch - 1) / perEpoch
	{
		few := append(append([]string{}, args[:len(args)-2]...), "--epochs", strconv.Itoa(epoch-1))
		out, err := loomCommand(t, dir, few...).CombinedOutput()
		want := fmt.Sprintf("--epochs %d: %s is already at step %d, in epoch %d (%d steps per epoch); pass --epochs N ≥ %d", epoch-1, filepath.Join("fc", "checkpoint"), k2, epoch, perEpoch, epoch)
		if err == nil || !strings.Contains(string(out), want) {
			t.Fatalf("fewer epochs than the checkpoint's: %v\n%s\nwant %q", err, out, want)
		}
	}
	// Finishing the epoch under way trains the model and saves it.
	fin := append(append([]string{}, args...), "--epochs", strconv.Itoa(epoch))
	out, err := loomCommand(t, dir, fin...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test MSE") || !strings.Contains(string(out), fmt.Sprintf("train (%d epochs) %d/%d [", epoch, k2+1, epoch*perEpoch)) {
		t.Fatalf("finishing epoch %d from step %d: %v\n%s", epoch, k2, err, out)
	}
}
