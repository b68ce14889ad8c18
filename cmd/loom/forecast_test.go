package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeSeries writes an hourly CSV of n rows with the given columns (sines
// of different periods).
func writeSeries(t *testing.T, path string, n int, cols ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("date," + strings.Join(cols, ",") + "\n")
	start := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		b.WriteString(start.Add(time.Duration(i) * time.Hour).Format(time.DateTime))
		for k := range cols {
			fmt.Fprintf(&b, ",%.5f", 10+float64(k)+math.Sin(float64(i)*2*math.Pi/float64(12+6*k)))
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestForecastCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "load.csv")
	writeSeries(t, data, 600, "a", "b", "OT")
	model := filepath.Join(dir, "m")
	var o, e bytes.Buffer
	args := []string{"forecast", "train", "--csv", data, "--out", model, "--lookback", "24", "--horizon", "8",
		"--d-model", "16", "--heads", "4", "--epochs", "2", "--lr", "0.001"}
	if code := run(args, &o, &e); code != 0 {
		t.Fatalf("train: %s", e.String())
	}
	if !strings.Contains(o.String(), "test MSE") {
		t.Fatalf("train output: %q", o.String())
	}
	o.Reset()
	png := filepath.Join(dir, "f.png")
	if code := run([]string{"forecast", "eval", "--model", model, "--csv", data, "--json", "--plot", png, "--variates", "OT,a"}, &o, &e); code != 0 {
		t.Fatalf("eval: %s", e.String())
	}
	var res struct{ MSE, MAE *float64 }
	if err := json.Unmarshal(o.Bytes(), &res); err != nil || res.MSE == nil || res.MAE == nil || !(*res.MSE > 0) {
		t.Fatalf("eval JSON %q: %v", o.String(), err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Fatalf("plot: %v", err)
	}
	if !strings.Contains(e.String(), "wrote "+png) {
		t.Errorf("eval --plot did not say where the plot went: %q", e.String())
	}
	// Predict past the end of the file: 8 rows after the last date.
	out := filepath.Join(dir, "pred.csv")
	o.Reset()
	if code := run([]string{"forecast", "predict", "--model", model, "--csv", data, "--out", out}, &o, &e); code != 0 {
		t.Fatalf("predict: %s", e.String())
	}
	recs := readCSV(t, out)
	if len(recs) != 9 || strings.Join(recs[0], ",") != "date,a,b,OT" || recs[1][0] != "2021-03-26 00:00:00" {
		t.Fatalf("forecast CSV: %v", recs[:2])
	}
	// Other columns are refused, naming the missing and extra ones, unless
	// --any-columns: iTransformer then forecasts a file with a different
	// number of variates, and says so.
	other := filepath.Join(dir, "other.csv")
	writeSeries(t, other, 100, "x", "y", "z", "w", "v")
	typo := filepath.Join(dir, "typo.csv")
	writeSeries(t, typo, 600, "a", "bb", "OT")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"predict", "--csv", other}, "other.csv: columns differ from the model's training columns (a, b, OT): missing a, b, OT; extra x, y, z, w, v; pass --any-columns"},
		{[]string{"predict", "--csv", typo}, "missing b; extra bb"},
		{[]string{"eval", "--csv", typo}, "missing b; extra bb"},
		{[]string{"eval", "--csv", other}, "missing a, b, OT; extra x, y, z, w, v"},
	} {
		o.Reset()
		e.Reset()
		args := append([]string{"forecast", c.args[0], "--model", model}, c.args[1:]...)
		if code := run(args, &o, &e); code != 1 || o.Len() != 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("loom %v: code %d, stdout %q, stderr %q; want %q", args, code, o.String(), e.String(), c.want)
		}
	}
	// A model of the other kind is named as such.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--model", model}, model + " holds a forecasting model (itransformer trained on load.csv), not a language model: use loom forecast eval or loom forecast predict"},
		{[]string{"eval", "--model", model}, "holds a forecasting model"},
		{[]string{"forecast", "eval", "--model", "../../convert/testdata/hf/loom-trained", "--csv", data}, "loom-trained holds a language model (llama), not a forecasting model"},
		{[]string{"forecast", "predict", "--model", "../../convert/testdata/hf/loom-trained", "--csv", data}, "holds a language model (llama)"},
	} {
		o.Reset()
		e.Reset()
		if code := run(c.args, &o, &e); code != 1 || !strings.Contains(e.String(), c.want) {
			t.Errorf("loom %v: code %d, stderr %q; want %q", c.args, code, e.String(), c.want)
		}
	}
	o.Reset()
	e.Reset()
	if code := run([]string{"forecast", "predict", "--model", model, "--csv", other, "--any-columns"}, &o, &e); code != 0 {
		t.Fatalf("predict on 5 variates: %s", e.String())
	}
	if want := "--any-columns: using the 5 columns of " + other + " (x, y, z, w, v) instead of the 3 training columns (a, b, OT)"; !strings.Contains(e.String(), want) {
		t.Errorf("predict --any-columns said %q; want %q", e.String(), want)
	}
	e.Reset()
	if code := run([]string{"forecast", "eval", "--model", model, "--csv", typo, "--any-columns"}, io.Discard, &e); code != 0 || !strings.Contains(e.String(), "missing b; extra bb") {
		t.Errorf("eval --any-columns: code %d, %q", code, e.String())
	}
	r := csv.NewReader(strings.NewReader(o.String()))
	all, _ := r.ReadAll()
	if len(all) != 9 || len(all[0]) != 6 {
		t.Fatalf("5-variate forecast: %d rows of %d fields", len(all), len(all[0]))
	}
}

func TestForecastRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("date,a\n2020-01-01 00:00:00,1\n2020-01-01 01:00:00,abc\n"), 0o644)
	short := filepath.Join(dir, "short.csv")
	writeSeries(t, short, 50, "OT")
	good := filepath.Join(dir, "good.csv")
	writeSeries(t, good, 400, "OT", "b")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--csv", bad}, `line 3, column "a": "abc" is not a finite number`},
		{[]string{"--csv", short}, "fewer than one window"},
		{[]string{"--csv", good, "--features", "MS", "--target", "nope"}, `no column "nope"`},
		{[]string{"--csv", good, "--arch", "lstm"}, "want one of"},
		{[]string{"--csv", good, "--split", "0.5,0.5"}, "three ratios"},
		{[]string{"--csv", good, "--lr", "-1"}, "flag -lr: want > 0"},
		{[]string{"--csv", good, "--lr", "0"}, "flag -lr: want > 0"},
		{[]string{"--csv", good, "--lr", "NaN"}, "flag -lr: not a finite number"},
		{[]string{"--csv", good, "--epochs", "0"}, "flag -epochs: want ≥ 1"},
		{[]string{"--csv", good, "--lookback", "0"}, "flag -lookback: want ≥ 1"},
		{[]string{"--csv", good, "--d-model", "-4"}, "flag -d-model: want ≥ 1"},
		{[]string{"--csv", good, "--d-model", "0"}, "flag -d-model: want ≥ 1"},
		{[]string{"--csv", good, "--batch", "0"}, "flag -batch: want ≥ 1"},
		{[]string{"--csv", good, "--patience", "-1"}, "flag -patience: want ≥ 1"},
		{[]string{"--csv", good, "--dropout", "1"}, "flag -dropout: want 0 ≤ x < 1"},
	} {
		var o, e bytes.Buffer
		args := append([]string{"forecast", "train", "--out", filepath.Join(dir, "x"), "--lookback", "24", "--horizon", "8"}, c.args...)
		if code := run(args, &o, &e); code == 0 || !strings.Contains(e.String(), c.want) {
			t.Errorf("%v: code %d, %q; want %q", c.args, code, e.String(), c.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
			t.Fatalf("%v left an output directory behind", c.args)
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// A temporal Transformer (fixed variates and calendar features) refuses a
// file of another row spacing with an error, not a panic.
func TestForecastTransformerChecksTimeFeatures(t *testing.T) {
	dir := t.TempDir()
	hourly, daily := filepath.Join(dir, "h.csv"), filepath.Join(dir, "d.csv")
	writeSeries(t, hourly, 300, "a", "OT")
	var b strings.Builder
	b.WriteString("date,a,OT\n")
	for i := range 300 {
		fmt.Fprintf(&b, "%s,%d,%d\n", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly), i%7, i%5)
	}
	os.WriteFile(daily, []byte(b.String()), 0o644)
	model := filepath.Join(dir, "m")
	var o, e bytes.Buffer
	if code := run([]string{"forecast", "train", "--csv", hourly, "--arch", "transformer", "--out", model, "--lookback", "24", "--horizon", "8",
		"--d-model", "16", "--heads", "4", "--epochs", "1"}, &o, &e); code != 0 {
		t.Fatalf("train: %s", e.String())
	}
	e.Reset()
	if code := run([]string{"forecast", "eval", "--model", model, "--csv", daily}, &o, &e); code == 0 || !strings.Contains(e.String(), "calendar features") {
		t.Fatalf("eval on daily rows: code %d, %q", code, e.String())
	}
}
