package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHyper: a short `loom hyper train` writes the model and its report;
// `loom hyper eval` serves values of the range from the one model (table
// and JSON) and matches the training's own sweep.
func TestHyper(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	var o, e bytes.Buffer
	if code := run([]string{"hyper", "train", "--out", runDir, "--param", "loss-mix", "--range", "0:1", "--steps", "40", "--batch", "16", "--hidden", "8", "--hyper-hidden", "8", "--points", "3"}, &o, &e); code != 0 {
		t.Fatalf("hyper train: %s", e.String())
	}
	for _, f := range []string{"model/config.json", "model/model.safetensors", "sweep.json", "report.md", "sweep.png", "loss.png"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
	if s := o.String(); !strings.Contains(s, "| loss-mix | train objective |") || !strings.Contains(s, "| 0.5 |") {
		t.Errorf("train output:\n%s", o.String())
	}
	var sweep struct {
		After []hyperRow `json:"after"`
	}
	js, _ := os.ReadFile(filepath.Join(runDir, "sweep.json"))
	if err := json.Unmarshal(js, &sweep); err != nil || len(sweep.After) != 3 {
		t.Fatalf("sweep.json: %v (%d rows)", err, len(sweep.After))
	}
	o.Reset()
	if code := run([]string{"hyper", "eval", "--model", runDir, "--values", "0.5,1", "--json"}, &o, &e); code != 0 {
		t.Fatalf("hyper eval: %s", e.String())
	}
	var got struct {
		Param string     `json:"param"`
		Sweep []hyperRow `json:"sweep"`
	}
	if err := json.Unmarshal(o.Bytes(), &got); err != nil || got.Param != "loss-mix" || len(got.Sweep) != 2 {
		t.Fatalf("eval JSON %v: %s", err, o.String())
	}
	if got.Sweep[0] != sweep.After[1] || got.Sweep[1] != sweep.After[2] {
		t.Errorf("served %+v, trained sweep %+v", got.Sweep, sweep.After[1:])
	}
	o.Reset()
	if code := run([]string{"hyper", "eval", "--model", filepath.Join(runDir, "model"), "--points", "2"}, &o, &e); code != 0 || strings.Count(o.String(), "\n") != 4 {
		t.Errorf("eval table (exit %d):\n%s%s", code, o.String(), e.String())
	}
	e.Reset()
	if code := run([]string{"hyper", "eval", "--model", runDir, "--values", "0.5,1.5"}, &o, &e); code != 1 || !strings.Contains(e.String(), "--values: loss-mix 1.5 is outside the model's range [0, 1]") {
		t.Errorf("value outside the range: exit %d: %s", code, e.String())
	}
	// --out exists now.
	e.Reset()
	if code := run([]string{"hyper", "train", "--out", runDir, "--range", "0:0.01", "--steps", "1"}, &o, &e); code != 1 || !strings.Contains(e.String(), "--force") {
		t.Errorf("existing --out: exit %d: %s", code, e.String())
	}
}

func TestHyperErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"hyper", "train", "--out", dir + "/a", "--range", "0.1:0.1"}, 1, "--range 0.1:0.1: γ range [0.1, 0.1] is empty"},
		{[]string{"hyper", "train", "--out", dir + "/a", "--range", "0.2:0.1"}, 1, "is empty"},
		{[]string{"hyper", "train", "--out", dir + "/a", "--range", "nan:1"}, 1, "finite"},
		{[]string{"hyper", "train", "--out", dir + "/a", "--range", "0:inf"}, 1, "finite"},
		{[]string{"hyper", "train", "--out", dir + "/a", "--range", "0.5"}, 1, "want LO:HI"},
		{[]string{"hyper", "train", "--out", dir + "/a", "--range", "a:1"}, 1, `"a" is not a number`},
		{[]string{"hyper", "train", "--out", dir + "/a", "--param", "loss-mix", "--range", "0:2"}, 1, "must lie in [0, 1]"},
		{[]string{"hyper", "train", "--out", dir + "/a", "--param", "dropout", "--range", "0:1"}, 2, "dropout"},
		{[]string{"hyper", "train", "--out", dir + "/a", "--parametrization", "mop", "--range", "0:1"}, 2, "mop"},
		{[]string{"hyper", "train", "--out", dir + "/a"}, 2, "--range LO:HI is required"},
		{[]string{"hyper", "train", "--range", "0:1"}, 2, "--out is required"},
		{[]string{"hyper", "train", "--out", dir + "/a", "--range", "0:1", "--hidden", "8,x"}, 1, "--hidden"},
		{[]string{"hyper", "train", "--out", dir + "/a", "--range", "0:1", "--lr", "nan"}, 2, "-lr"},
		{[]string{"hyper", "eval"}, 2, "--model is required"},
		{[]string{"hyper", "eval", "--model", dir + "/missing"}, 1, "--model"},
		{[]string{"hyper", "fit"}, 2, `unknown command "fit"`},
	}
	for _, c := range cases {
		var o, e bytes.Buffer
		code := run(c.args, &o, &e)
		if code != c.code || !strings.Contains(e.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, e.String(), c.code, c.want)
		}
	}
	if _, err := os.Stat(dir + "/a"); err == nil {
		t.Error("a refused run left its --out")
	}
}
