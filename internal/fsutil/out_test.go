package fsutil

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// names lists dir's entries, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func writeFiles(t *testing.T, dir string, files ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("old "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReplaceDirRule: absent or empty is written; non-empty is refused,
// naming what it holds, unless Force, which replaces it as a whole.
func TestReplaceDirRule(t *testing.T) {
	newModel := func(tmp string) error {
		return os.WriteFile(filepath.Join(tmp, "model.safetensors"), []byte("new"), 0o644)
	}
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir string)
		force   bool
		wantErr string
		want    []string // dir's entries afterwards
	}{
		{"absent", func(*testing.T, string) {}, false, "", []string{"model.safetensors"}},
		{"empty", func(t *testing.T, d string) { writeFiles(t, d) }, false, "", []string{"model.safetensors"}},
		{"sharded, refused", func(t *testing.T, d string) {
			writeFiles(t, d, "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "config.json")
		}, false, "is not empty (holds config.json, model-00001-of-00002.safetensors, model-00002-of-00002.safetensors, …)",
			[]string{"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"}},
		{"sharded, forced", func(t *testing.T, d string) {
			writeFiles(t, d, "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json")
		}, true, "", []string{"model.safetensors"}},
		{"a file, refused", func(t *testing.T, d string) { os.WriteFile(d, []byte("x"), 0o644) }, false, "already exists", nil},
		{"a file, forced", func(t *testing.T, d string) { os.WriteFile(d, []byte("x"), 0o644) }, true, "", []string{"model.safetensors"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "out")
			tc.setup(t, dir)
			err := ReplaceDir(dir, Options{Force: tc.force}, newModel)
			if tc.wantErr != "" {
				var ee *ExistsError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ee) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil {
				if got := names(t, dir); !slices.Equal(got, tc.want) {
					t.Errorf("%s holds %v, want %v", dir, got, tc.want)
				}
			}
			if got := names(t, base); !slices.Equal(got, []string{"out"}) {
				t.Errorf("temporary files left beside it: %v", got)
			}
		})
	}
}

// TestReplaceDirFailureKeepsOld: a failing or canceled fill leaves an
// existing directory exactly as it was, with no temporary left.
func TestReplaceDirFailureKeepsOld(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		o    Options
		fill func(tmp string) error
		want error
	}{
		{"fill fails", Options{Force: true}, func(tmp string) error {
			os.WriteFile(filepath.Join(tmp, "half"), []byte("x"), 0o644)
			return boom
		}, boom},
		{"canceled during fill", Options{Force: true, Context: canceled}, func(tmp string) error {
			return os.WriteFile(filepath.Join(tmp, "half"), []byte("x"), 0o644)
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "out")
			writeFiles(t, dir, "a", "b")
			if err := ReplaceDir(dir, tc.o, tc.fill); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if got := names(t, dir); !slices.Equal(got, []string{"a", "b"}) {
				t.Errorf("%s holds %v, want it unchanged", dir, got)
			}
			if got := names(t, base); !slices.Equal(got, []string{"out"}) {
				t.Errorf("temporary files left: %v", got)
			}
		})
	}
}

// TestReplaceFile: an existing file is refused unless Force; a canceled
// context or a failing fill leaves it as it was; Force replaces even a
// directory.
func TestReplaceFile(t *testing.T) {
	base := t.TempDir()
	p := filepath.Join(base, "m.gguf")
	fill := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := ReplaceFile(p, Options{}, fill("one")); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceFile(p, Options{}, fill("two")); err == nil || err.Error() != p+" already exists" {
		t.Fatalf("existing file: %v", err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ReplaceFile(p, Options{Force: true, Context: canceled}, fill("three")); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	// A context canceled mid-write stops a ContextWriter.
	ctx, cancel2 := context.WithCancel(context.Background())
	err := ReplaceFile(p, Options{Force: true, Context: ctx}, func(w io.Writer) error {
		cw := ContextWriter(ctx, w)
		io.WriteString(cw, "half")
		cancel2()
		_, err := io.WriteString(cw, "more")
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled mid-write: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("after refusals %s holds %q", p, b)
	}
	if err := ReplaceFile(p, Options{Force: true}, fill("four")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "four" {
		t.Fatalf("forced: %q", b)
	}
	d := filepath.Join(base, "d.gguf")
	writeFiles(t, d, "x")
	if err := ReplaceFile(d, Options{Force: true}, fill("five")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(d); string(b) != "five" {
		t.Fatalf("forced over a directory: %q", b)
	}
	if got := names(t, base); !slices.Equal(got, []string{"d.gguf", "m.gguf"}) {
		t.Errorf("temporary files left: %v", got)
	}
}

// TestSweep: temporaries of a process that is gone are removed, those of
// live processes (this one, a running child) kept; a stale ".old" of a
// missing destination is put back.
func TestSweep(t *testing.T) {
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	defer child.Wait()
	defer child.Process.Kill()
	// A dead pid: a child that has exited and been reaped.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	deadPid, livePid, self := dead.ProcessState.Pid(), child.Process.Pid, os.Getpid()
	tmp := func(tag string, pid int) string { return ".out." + tag + "-" + strconv.Itoa(pid) + "-123" }

	base := t.TempDir()
	out := filepath.Join(base, "out")
	writeFiles(t, filepath.Join(base, tmp("tmp", deadPid)), "model.safetensors")
	writeFiles(t, filepath.Join(base, tmp("tmp", livePid)), "model.safetensors")
	writeFiles(t, filepath.Join(base, tmp("tmp", self)), "model.safetensors")
	os.WriteFile(filepath.Join(base, ".out.tmp-"+strconv.Itoa(deadPid)+"-9"), nil, 0o644) // a file
	writeFiles(t, filepath.Join(base, ".other.tmp-"+strconv.Itoa(deadPid)+"-1"))          // another destination's
	writeFiles(t, filepath.Join(base, ".out.tmp123"))                                     // no pid: not ours to judge
	writeFiles(t, filepath.Join(base, tmp("old", deadPid)), "config.json")                // killed mid-swap
	Sweep(out)
	want := []string{".other.tmp-" + strconv.Itoa(deadPid) + "-1", tmp("tmp", livePid), tmp("tmp", self), ".out.tmp123", "out"}
	slices.Sort(want)
	if got := names(t, base); !slices.Equal(got, want) {
		t.Errorf("after Sweep: %v, want %v", got, want)
	}
	if got := names(t, out); !slices.Equal(got, []string{"config.json"}) {
		t.Errorf("the stale .old was not put back: %v", got)
	}
	// A write to the destination sweeps too.
	writeFiles(t, filepath.Join(base, tmp("tmp", deadPid)), "model.safetensors")
	if err := ReplaceDir(out, Options{Force: true}, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(base, tmp("tmp", deadPid))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReplaceDir did not sweep the stale temporary: %v", err)
	}
}
