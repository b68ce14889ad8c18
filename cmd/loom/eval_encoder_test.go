package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/train"
)

// TestEvalEncoder: loom eval on an encoder classifier prints the accuracy
// train.Accuracy computes and the mean cross-entropy the model's own loss
// gives; flags of language models and a missing --data are refused by name.
func TestEvalEncoder(t *testing.T) {
	dir := t.TempDir()
	bert, _, test := tinyClassifier(t, dir)
	var out, errb bytes.Buffer
	if code := run([]string{"eval", "--model", bert, "--data", test, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, errb.String())
	}
	var got encoderEval
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	m, err := encoder.Load(bert)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := encoder.LoadConfig(bert)
	in, err := newClassInput("--model", bert, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := in.read("--data", test, c.Labels())
	if err != nil {
		t.Fatal(err)
	}
	acc := train.Accuracy[encoder.Batch](encClassifierCLI{m}, ex, 64)
	all := make([]int, ex.Len())
	for i := range all {
		all[i] = i
	}
	ce := m.Loss(nil, ex.Batch(all)).Item() // the model's own loss, one batch
	if got.Examples != ex.Len() || got.Accuracy != acc || math.Abs(got.Loss-ce) > 1e-5*math.Max(1, ce) {
		t.Errorf("eval: %d examples, accuracy %v, loss %v; want %d, %v, %v", got.Examples, got.Accuracy, got.Loss, ex.Len(), acc, ce)
	}
	n, right := 0, 0.0
	for _, s := range got.Classes {
		n += s.Examples
		right += s.Recall * float64(s.Examples)
	}
	if n != got.Examples || math.Abs(right/float64(n)-got.Accuracy) > 1e-12 {
		t.Errorf("per-class counts %d, recall-weighted accuracy %v; want %d, %v", n, right/float64(n), got.Examples, got.Accuracy)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", test, "--seq-len", "8"}, "--seq-len applies to language models"},
		{[]string{"--data", test, "--tasks", "lastword"}, "--tasks applies to language models"},
		{nil, "--data is required for an encoder classifier"},
		{[]string{"--data", dir}, "--data: "},
	} {
		errb.Reset()
		code := run(append([]string{"eval", "--model", bert}, c.args...), &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("eval %v: exit %d, stderr %q, want an error containing %q", c.args, code, errb.String(), c.want)
		}
	}
}
