package main

import (
	"os"
	"os/exec"
	"testing"
)

// TestMain lets a test run loom as a real process (for signals and exit
// statuses): the test binary re-executed with LOOM_TEST_RUN_MAIN=1 is loom.
func TestMain(m *testing.M) {
	if os.Getenv("LOOM_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"loom"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// loomCommand is `loom args...` as a subprocess (the test binary acting as
// loom), with its working directory set to dir when dir is not empty.
func loomCommand(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "LOOM_TEST_RUN_MAIN=1")
	cmd.Dir = dir
	return cmd
}

func TestLoomSubprocess(t *testing.T) {
	out, err := loomCommand(t, "", "help", "nosuchcommand").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("loom help nosuchcommand: %v, %s; want exit status 2", err, out)
	}
}
