package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loomml/loom/sweep"
	"github.com/loomml/loom/train"
)

// sweepSetup writes the tiny preset's spec (as --print-spec prints it)
// and a small corpus into dir.
func sweepSetup(t *testing.T, dir string) (spec, corpus string) {
	t.Helper()
	var o, e bytes.Buffer
	if code := run([]string{"train", "--preset", "tiny", "--print-spec"}, &o, &e); code != 0 {
		t.Fatalf("print-spec: %s", e.String())
	}
	spec, corpus = filepath.Join(dir, "tiny.json"), filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(spec, o.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(corpus, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 100)), 0o644)
	return spec, corpus
}

// readResultsCSV reads results.csv as a header and rows.
func readResultsCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	return recs[0], recs[1:]
}

// TestSweepCLI sweeps the tiny preset's spec over two widths for 3 steps,
// reruns the command (which trains nothing), widens the grid (which
// trains only the new run) and fits a scaling law to results.csv.
func TestSweepCLI(t *testing.T) {
	dir := t.TempDir()
	spec, corpus := sweepSetup(t, dir)
	out := filepath.Join(dir, "sweep")
	args := []string{"sweep", "--config", spec, "--grid", "model.hidden_size=16,32", "--steps", "3", "--data", corpus, "--threads", "1", "--out", out}
	var o, e bytes.Buffer
	if code := run(args, &o, &e); code != 0 {
		t.Fatalf("sweep: exit %d\n%s", code, e.String())
	}
	runs := []string{"hidden_size=16,seed=1337", "hidden_size=32,seed=1337"}
	for i, r := range runs {
		if want := "sweep: run " + string(rune('1'+i)) + "/2 " + r + "\n"; !strings.Contains(e.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, e.String())
		}
	}
	head, rows := readResultsCSV(t, filepath.Join(out, sweep.CSVFile))
	if strings.Join(head, ",") != "model.hidden_size,seed,params,non_embedding_params,train_loss,val_loss,loss,steps,tokens,seconds,status" || len(rows) != 2 {
		t.Fatalf("results.csv: %q %q", head, rows)
	}
	for i, row := range rows {
		if row[0] != []string{"16", "32"}[i] || row[1] != "1337" || row[7] != "3" || row[8] != "1536" || row[10] != "ok" || row[5] != row[6] || row[5] == "" {
			t.Errorf("row %q", row)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, sweep.MarkdownFile))
	if !strings.HasPrefix(string(md), "| model.hidden_size | seed | params |") || strings.Count(string(md), "\n| 16 | 1337 |")+strings.Count(string(md), "\n| 32 | 1337 |") != 2 {
		t.Errorf("results.md:\n%s", md)
	}
	if !strings.Contains(o.String(), "| 32 | 1337 |") || !strings.Contains(o.String(), "2 runs; results: "+filepath.Join(out, sweep.CSVFile)) {
		t.Errorf("stdout:\n%s", o.String())
	}
	// Each run is a training run loom train would resume, with its spec.
	stamps := map[string]time.Time{}
	contents := map[string]string{}
	for _, r := range runs {
		d := filepath.Join(out, sweep.RunsDir, r)
		if s, err := train.LoadSpec(filepath.Join(d, sweep.SpecFile)); err != nil || s.Train.Steps != 3 {
			t.Errorf("%s: spec.json: %v", r, err)
		}
		for _, f := range []string{sweep.ResultFile, filepath.Join(train.CheckpointDir, train.StateFile), train.MetricsFile} {
			st, err := os.Stat(filepath.Join(d, f))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(filepath.Join(d, f))
			stamps[filepath.Join(d, f)], contents[filepath.Join(d, f)] = st.ModTime(), string(b)
		}
	}

	// The same command again trains nothing.
	time.Sleep(20 * time.Millisecond)
	o.Reset()
	e.Reset()
	if code := run(append(args, "--json"), &o, &e); code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, e.String())
	}
	if strings.Count(e.String(), "finished before, skipped") != 2 || strings.Contains(e.String(), "train ") {
		t.Errorf("rerun stderr:\n%s", e.String())
	}
	for path, t0 := range stamps {
		st, _ := os.Stat(path)
		b, _ := os.ReadFile(path)
		if !st.ModTime().Equal(t0) || string(b) != contents[path] {
			t.Errorf("%s changed on the rerun", path)
		}
	}
	var rs []sweep.Result
	if err := json.Unmarshal(o.Bytes(), &rs); err != nil || len(rs) != 2 || !rs[0].Reused || rs[1].Name != runs[1] || rs[1].Params <= rs[0].Params {
		t.Errorf("--json: %v\n%s", err, o.String())
	}

	// A wider grid into the same directory trains only the new run.
	o.Reset()
	e.Reset()
	wider := []string{"sweep", "--config", spec, "--grid", "model.hidden_size=8,16,32", "--steps", "3", "--data", corpus, "--threads", "1", "--out", out}
	if code := run(wider, &o, &e); code != 0 {
		t.Fatalf("wider: exit %d\n%s", code, e.String())
	}
	if !strings.Contains(e.String(), "sweep: run 1/3 hidden_size=8,seed=1337\n") || strings.Count(e.String(), "finished before, skipped") != 2 {
		t.Errorf("wider stderr:\n%s", e.String())
	}
	if _, rows := readResultsCSV(t, filepath.Join(out, sweep.CSVFile)); len(rows) != 3 {
		t.Errorf("results.csv has %d rows, want 3", len(rows))
	}

	// loom scaling fit reads results.csv.
	o.Reset()
	e.Reset()
	if code := run([]string{"scaling", "fit", filepath.Join(out, sweep.CSVFile), "--bootstrap", "0"}, &o, &e); code != 0 || !strings.Contains(o.String(), "3 points from") {
		t.Errorf("scaling fit: exit %d\n%s%s", code, o.String(), e.String())
	}

	// Another config into the same directory is refused, naming both flags.
	changed := filepath.Join(dir, "changed.json")
	b, _ := os.ReadFile(spec)
	os.WriteFile(changed, bytes.Replace(b, []byte(`"lr": 0.003`), []byte(`"lr": 0.002`), 1), 0o644)
	e.Reset()
	if code := run([]string{"sweep", "--config", changed, "--grid", "model.hidden_size=16", "--steps", "3", "--data", corpus, "--out", out}, &o, &e); code != 1 ||
		!strings.Contains(e.String(), "--config "+changed+" differs from the config the sweep in --out "+out) || !strings.Contains(e.String(), "--force") {
		t.Errorf("changed config: exit %d\n%s", code, e.String())
	}
}

// Bad flags, keys and values are refused before anything is written,
// naming the flag or key and what it wants.
func TestSweepErrors(t *testing.T) {
	dir := t.TempDir()
	spec, _ := sweepSetup(t, dir)
	out := filepath.Join(dir, "o")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--grid", "train.lr=1e-3", "--out", out}, 2, "--config FILE is required"},
		{[]string{"--config", spec, "--grid", "train.lr=1e-3"}, 2, "--out DIR is required"},
		{[]string{"--config", spec, "--out", out, "--seeds", "0"}, 2, "flag -seeds: want ≥ 1"},
		{[]string{"--config", spec, "--out", out, "--grid", "train.lr"}, 2, `for flag -grid: "train.lr" has no '='`},
		{[]string{"--config", spec, "--out", out, "--grid", "train.lr=1,,2"}, 2, "for flag -grid: train.lr: value 2: empty"},
		{[]string{"--config", spec, "--out", out, "--grid", "train.lr=1", "--grid", "train.lr=2"}, 2, "for flag -grid: the key train.lr is given twice"},
		{[]string{"--config", spec, "--out", out, "--grid", "train.lrr=1"}, 1, `--grid train.lrr: train.lrr is not a key of the spec: train has no key "lrr"; did you mean "lr"?`},
		{[]string{"--config", spec, "--out", out, "--grid", "model.loom.parm=mup"}, 1, `--grid model.loom.parm: model.loom.parm is not a key of the spec: model.loom has no key "parm"; did you mean "param"?`},
		{[]string{"--config", spec, "--out", out, "--grid", "model.hidden_size=64,big"}, 1, "--grid model.hidden_size=big: model: json: cannot unmarshal string into Go struct field Config.hidden_size of type int"},
		{[]string{"--config", filepath.Join(dir, "none.json"), "--out", out}, 1, "--config: open "},
		{[]string{"--config", spec, "--out", spec}, 1, "--out " + spec + " is a file"},
	} {
		var o, e bytes.Buffer
		code := run(append([]string{"sweep"}, c.args...), &o, &e)
		if code != c.code || !strings.Contains(e.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, e.String(), c.code, c.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused sweep left %s", out)
	}
}
