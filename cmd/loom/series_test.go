package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeToyTS writes n cases of rising and n of falling ramps as .ts.
func writeToyTS(t *testing.T, path string, n, dims int) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "@problemName toy\n@univariate %v\n@equalLength true\n@seriesLength 12\n@classLabel true up down\n@data\n", dims == 1)
	for i := range 2 * n {
		for d := range dims {
			if d > 0 {
				b.WriteByte(':')
			}
			for s := range 12 {
				v := float64(s)/4 + 0.3*math.Sin(float64(s+i))
				if i%2 == 1 {
					v = -v
				}
				if s > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%.4f", v)
			}
		}
		b.WriteString(map[bool]string{false: ":up\n", true: ":down\n"}[i%2 == 1])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSeriesClassify: 1-NN and a neural classifier on .ts files, a saved
// run, and bad input named by file, line or flag.
func TestSeriesClassify(t *testing.T) {
	dir := t.TempDir()
	tr, te := filepath.Join(dir, "toy_TRAIN.ts"), filepath.Join(dir, "toy_TEST.ts")
	writeToyTS(t, tr, 8, 1)
	writeToyTS(t, te, 5, 1)
	var o, e bytes.Buffer
	if code := run([]string{"series", "classify", "--train", tr, "--test", te, "--arch", "1nn-dtw"}, &o, &e); code != 0 || !strings.Contains(o.String(), "test accuracy 1.0000 (10 of 10 cases") {
		t.Fatalf("1nn-dtw: %s %s", o.String(), e.String())
	}
	o.Reset()
	runDir := filepath.Join(dir, "run")
	if code := run([]string{"series", "classify", "--train", tr, "--test", te, "--arch", "dlinear", "--epochs", "40", "--lr", "0.01", "--out", runDir}, &o, &e); code != 0 || !strings.Contains(o.String(), "test accuracy") {
		t.Fatalf("dlinear: %s %s", o.String(), e.String())
	}
	for _, f := range []string{"model/config.json", "model/model.safetensors", "metrics.jsonl", "result.json"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
	other := filepath.Join(dir, "other.ts")
	writeToyTS(t, other, 2, 2)
	unknown := filepath.Join(dir, "unknown.ts")
	os.WriteFile(unknown, []byte("@problemName toy\n@classLabel true up sideways\n@data\n1,2,3,4,5,6,7,8,9,10,11,12:sideways\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"series", "classify", "--train", tr}, "--train and --test are required"},
		{[]string{"series", "classify", "--train", tr, "--test", other}, "other.ts has 2 dimensions, the training file toy_TRAIN.ts 1"},
		{[]string{"series", "classify", "--train", tr, "--test", unknown}, `unknown.ts:4: class "sideways" is not one of the training file's [up down]`},
		{[]string{"series", "classify", "--train", filepath.Join(dir, "x.arff"), "--test", te}, `--train: ` + filepath.Join(dir, "x.arff") + `: unknown extension ".arff"`},
		{[]string{"series", "classify", "--train", tr, "--test", te, "--arch", "rocket"}, "want one of transformer"},
		{[]string{"series", "classify", "--train", tr, "--test", te, "--arch", "1nn-ed", "--out", filepath.Join(dir, "o")}, "--arch 1nn-ed has none to save"},
	} {
		e.Reset()
		if code := run(tc.args, &o, &e); code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to contain %q", tc.args, code, e.String(), tc.want)
		}
	}
}

// TestSeriesDetect: the isolation forest and a small backbone on a
// labelled CSV with a time column, scores written as CSV, NAB-style
// windows as labels, and bad input named by flag, file, line or column.
func TestSeriesDetect(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.csv")
	var b strings.Builder
	b.WriteString("timestamp,a,b,label\n")
	for i := range 400 {
		a, l := math.Sin(float64(i)/4), 0
		if i >= 300 && i < 306 {
			a, l = a+5, 1
		}
		fmt.Fprintf(&b, "2014-01-01 %02d:%02d:00,%.4f,%.4f,%d\n", i/60, i%60, a, math.Cos(float64(i)/4), l)
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	scores := filepath.Join(dir, "scores.csv")
	var o, e bytes.Buffer
	if code := run([]string{"series", "detect", "--csv", path, "--label-col", "label", "--arch", "iforest", "--anomaly-ratio", "2", "--out", scores}, &o, &e); code != 0 {
		t.Fatalf("iforest: %s %s", o.String(), e.String())
	}
	for _, want := range []string{"m.csv: 1 series, 2 variates (a, b); 200 points learnt from, 200 scored, 6 of them labelled anomalous", "threshold on the training scores alone", "Time-Series-Library's protocol", "point-adjusted:"} {
		if !strings.Contains(o.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, o.String())
		}
	}
	rows, _ := os.ReadFile(scores)
	if lines := strings.Split(strings.TrimSpace(string(rows)), "\n"); len(lines) != 201 || lines[0] != "series,index,score,flag_train_threshold,flag_train_test_threshold,label" || !strings.HasPrefix(lines[101], "m.csv,300,") {
		t.Errorf("scores file: %d lines, %q", len(lines), lines[0])
	}
	win := filepath.Join(dir, "windows.json")
	os.WriteFile(win, []byte(`{"data/m.csv": [["2014-01-01 05:00:00.000000", "2014-01-01 05:05:00.000000"]]}`), 0o644)
	o.Reset()
	if code := run([]string{"series", "detect", "--csv", path, "--columns", "a,b", "--windows", win, "--arch", "dlinear", "--window", "20", "--epochs", "2", "--json"}, &o, &e); code != 0 || !strings.Contains(o.String(), `"test_anomalies": 6`) {
		t.Fatalf("dlinear with windows: %s %s", o.String(), e.String())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"series", "detect"}, "--csv is required"},
		{[]string{"series", "detect", "--csv", path, "--label-col", "y"}, `--label-col: m.csv: no column "y" (columns: a, b, label)`},
		{[]string{"series", "detect", "--csv", path, "--label-col", "a"}, `m.csv: line 3, column "a": 0.2474, want 0 or 1`},
		{[]string{"series", "detect", "--csv", path, "--anomaly-ratio", "0"}, "--anomaly-ratio"},
		{[]string{"series", "detect", "--csv", path, "--train-fraction", "1"}, "--train-fraction"},
		{[]string{"series", "detect", "--csv", path, "--label-col", "label", "--windows", win}, "--label-col and --windows both given"},
		{[]string{"series", "detect", "--csv", path, "--window", "300"}, "need at least 300 to train"},
	} {
		e.Reset()
		if code := run(tc.args, &o, &e); code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to contain %q", tc.args, code, e.String(), tc.want)
		}
	}
}

// TestSeriesImpute: interpolation and a small DLinear on a CSV of the
// user's; a mask ratio outside (0, 1) is refused naming the flag.
func TestSeriesImpute(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.csv")
	var b strings.Builder
	b.WriteString("date,a,b\n")
	for i := range 600 {
		fmt.Fprintf(&b, "2020-01-%02d %02d:00:00,%.4f,%.4f\n", 1+i/24, i%24, math.Sin(float64(i)/5), math.Cos(float64(i)/7))
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	var o, e bytes.Buffer
	if code := run([]string{"series", "impute", "--csv", path, "--arch", "linear", "--lookback", "24", "--mask-ratio", "0.25"}, &o, &e); code != 0 || !strings.Contains(o.String(), "25.0 % of entries masked") || !strings.Contains(o.String(), "test MSE") {
		t.Fatalf("linear: %s %s", o.String(), e.String())
	}
	o.Reset()
	if code := run([]string{"series", "impute", "--csv", path, "--arch", "dlinear", "--lookback", "24", "--epochs", "2", "--json"}, &o, &e); code != 0 || !strings.Contains(o.String(), `"mask_ratio": 0.25`) {
		t.Fatalf("dlinear: %s %s", o.String(), e.String())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"series", "impute"}, "--csv is required"},
		{[]string{"series", "impute", "--csv", path, "--mask-ratio", "1"}, "-mask-ratio"},
		{[]string{"series", "impute", "--csv", path, "--mask-ratio", "0"}, "-mask-ratio"},
		{[]string{"series", "impute", "--csv", filepath.Join(dir, "none.csv")}, "--csv: open"},
	} {
		e.Reset()
		if code := run(tc.args, &o, &e); code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to contain %q", tc.args, code, e.String(), tc.want)
		}
	}
}
