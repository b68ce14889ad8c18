package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTGraphEvents writes a synthetic event stream of n events as CSV
// (src,dst,timestamp): each phase of 50 events repeats a few pairs of
// fresh nodes, one event per time unit, so that recent edges predict the
// next ones.
func writeTGraphEvents(t *testing.T, path string, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	var b strings.Builder
	b.WriteString("src,dst,timestamp\n")
	var pairs [][2]int
	for i := range n {
		if i%50 == 0 {
			perm := r.Perm(40)
			pairs = [][2]int{{perm[0], perm[1]}, {perm[2], perm[3]}, {perm[4], perm[5]}, {perm[6], perm[7]}}
		}
		p := pairs[r.IntN(len(pairs))]
		fmt.Fprintf(&b, "u%d,u%d,%d\n", p[0], p[1], 1000+i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTGraph: `loom tgraph train` of a small Todyformer on a synthetic
// event file writes the run (model, checkpoint, metrics, loss curve,
// result.json with the test table) and prints the table; `loom tgraph
// eval` reads the run back and scores the same AP; EdgeBank trains
// nothing but writes a run that eval reads; bad input names the flag,
// file, line or field, and leaves nothing at --out.
func TestTGraph(t *testing.T) {
	dir := t.TempDir()
	evPath := filepath.Join(dir, "events.csv")
	writeTGraphEvents(t, evPath, 400)
	runDir := filepath.Join(dir, "run")
	small := []string{"--events", evPath, "--dim", "8", "--time-dim", "4", "--window", "64", "--patches", "4", "--epochs", "6", "--batch", "20", "--lr", "3e-3"}
	var o, e bytes.Buffer
	if code := run(append([]string{"tgraph", "train", "--out", runDir}, small...), &o, &e); code != 0 {
		t.Fatalf("tgraph train: %s", e.String())
	}
	for _, f := range []string{"model/config.json", "model/model.safetensors", "checkpoint/config.json", "metrics.jsonl", "loss.png", "result.json"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
	for _, want := range []string{"events.csv: 400 events, ", "split by time 280/60/60", "todyformer (", "kept epoch", "transductive  random", "inductive", "batch AP"} {
		if !strings.Contains(o.String(), want) && !(want == "inductive" && !strings.Contains(o.String(), "test events touch one")) {
			t.Errorf("train output lacks %q:\n%s", want, o.String())
		}
	}
	var res struct {
		Arch string `json:"arch"`
		Fit  struct {
			BestEpoch int       `json:"best_epoch"`
			ValAPs    []float64 `json:"val_aps"`
		} `json:"fit"`
		Test []struct {
			Setting  string  `json:"setting"`
			Strategy string  `json:"strategy"`
			AP       float64 `json:"ap"`
			BatchAP  float64 `json:"batch_ap"`
		} `json:"test"`
	}
	b, _ := os.ReadFile(filepath.Join(runDir, "result.json"))
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Arch != "todyformer" || len(res.Fit.ValAPs) < 4 || res.Fit.BestEpoch < 1 || len(res.Test) < 3 || res.Test[0].Setting != "transductive" || res.Test[0].Strategy != "random" {
		t.Fatalf("result.json: %s", b)
	}
	// eval reads the run back and scores the same AP with random negatives
	o.Reset()
	if code := run([]string{"tgraph", "eval", "--model", runDir, "--events", evPath, "--neg", "random"}, &o, &e); code != 0 {
		t.Fatalf("tgraph eval: %s", e.String())
	}
	want := fmt.Sprintf("transductive  random          60  %.4f", res.Test[0].AP)
	if !strings.Contains(o.String(), want) || strings.Contains(o.String(), "historical") || !strings.Contains(o.String(), "model: todyformer (") {
		t.Errorf("eval output lacks %q or scores other negatives:\n%s", want, o.String())
	}
	// EdgeBank: no training, a result, and eval on its model/ directory
	bank := filepath.Join(dir, "bank")
	o.Reset()
	if code := run([]string{"tgraph", "train", "--out", bank, "--events", evPath, "--arch", "edgebank"}, &o, &e); code != 0 {
		t.Fatalf("tgraph train --arch edgebank: %s", e.String())
	}
	if !strings.Contains(o.String(), "edgebank (no parameters): validation AP") || !strings.Contains(o.String(), "historical") {
		t.Errorf("edgebank output:\n%s", o.String())
	}
	if _, err := os.Stat(filepath.Join(bank, "result.json")); err != nil {
		t.Error("edgebank wrote no result.json")
	}
	o.Reset()
	if code := run([]string{"tgraph", "eval", "--model", filepath.Join(bank, "model"), "--events", evPath, "--part", "val"}, &o, &e); code != 0 || !strings.Contains(o.String(), "model: edgebank") || !strings.Contains(o.String(), "validation AP") {
		t.Errorf("eval of edgebank: %s %s", o.String(), e.String())
	}

	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("src,dst,timestamp\na,b,1\nb,c,soon\n"), 0o644)
	flat := filepath.Join(dir, "flat.csv")
	os.WriteFile(flat, []byte("a,b,5\nb,c,5\nc,a,5\n"), 0o644)
	feat := filepath.Join(dir, "feat.csv") // the same events with one feature each
	evText, _ := os.ReadFile(evPath)
	lines := strings.Split(strings.TrimSpace(string(evText)), "\n")
	lines[0] += ",w"
	for i := 1; i < len(lines); i++ {
		lines[i] += ",0.5"
	}
	os.WriteFile(feat, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	x := filepath.Join(dir, "x")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tgraph", "train"}, "--out is required"},
		{[]string{"tgraph", "train", "--out", x, "--events", bad}, "bad.csv:3: field 3 (timestamp)"},
		{[]string{"tgraph", "train", "--out", x, "--events", filepath.Join(dir, "none.csv")}, "--events: events: open"},
		{[]string{"tgraph", "train", "--out", x, "--events", flat}, "no validation events"},
		{[]string{"tgraph", "train", "--out", x, "--events", evPath, "--val", "0.6", "--test", "0.4"}, "--val 0.6 and --test 0.4 leave no training events"},
		{[]string{"tgraph", "train", "--out", x, "--arch", "gat"}, "want one of todyformer, mpnn, tgn, edgebank"},
		{[]string{"tgraph", "train", "--out", x, "--dim", "10", "--heads", "4"}, "--heads 4 does not divide --dim 10"},
		{[]string{"tgraph", "train", "--out", x, "--window", "4", "--patches", "8"}, "--patches 8 exceeds --window 4"},
		{[]string{"tgraph", "train", "--out", x, "--arch", "edgebank", "--epochs", "3"}, "--epochs: edgebank has nothing to train"},
		{[]string{"tgraph", "train", "--out", x, "--arch", "tgn", "--window", "100"}, "--window applies to todyformer and mpnn, not tgn"},
		{[]string{"tgraph", "train", "--out", x, "--dropout", "1"}, "flag -dropout: want 0 ≤ x < 1"},
		{[]string{"tgraph", "train", "--out", runDir, "--events", evPath}, "--out " + runDir + " is not empty"},
		{[]string{"tgraph", "eval"}, "--model is required"},
		{[]string{"tgraph", "eval", "--model", dir}, "not a `loom tgraph train` run or model directory"},
		{[]string{"tgraph", "eval", "--model", runDir, "--events", feat}, "1 features per event; the model (--model " + runDir + ") reads 0"},
		{[]string{"tgraph", "eval", "--model", runDir, "--events", bad}, "bad.csv:3: field 3 (timestamp)"},
		{[]string{"tgraph", "eval", "--model", runDir, "--neg", "hard"}, "want one of random, historical, inductive, all"},
		{[]string{"tgraph", "fit"}, `unknown command "fit"`},
	} {
		e.Reset()
		if code := run(tc.args, &o, &e); code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to contain %q", tc.args, code, e.String(), tc.want)
		}
		if _, err := os.Stat(x); err == nil {
			t.Fatalf("%v left %s behind", tc.args, x)
		}
	}
}
