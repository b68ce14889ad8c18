package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMoefy: EMoE at k = E on every layer keeps the held-out loss; at
// k < E it writes a loadable mixture and reports both losses; bad flags
// name themselves.
func TestMoefy(t *testing.T) {
	ckpt := trained(t)
	dir := t.TempDir()
	moefy := func(out string, extra ...string) (moefyReport, string, error) {
		var o, e bytes.Buffer
		args := append([]string{"moefy", "--model", ckpt, "--out", filepath.Join(dir, out), "--eval-tokens", "2000"}, extra...)
		code := run(args, &o, &e)
		var r moefyReport
		if code != 0 {
			return r, e.String(), os.ErrInvalid
		}
		b, err := os.ReadFile(filepath.Join(dir, out, "moefy.json"))
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(b, &r)
		return r, o.String(), nil
	}
	r, out, err := moefy("all", "--experts", "4", "--top-k", "4", "--layers", "all")
	if err != nil {
		t.Fatal(out)
	}
	if math.Abs(r.After.Loss-r.Before.Loss) > 1e-4 {
		t.Errorf("k = E: held-out loss %v → %v", r.Before.Loss, r.After.Loss)
	}
	r, out, err = moefy("k1", "--experts", "4", "--top-k", "1")
	if err != nil {
		t.Fatal(out)
	}
	if !(r.After.Loss > r.Before.Loss) || !strings.Contains(out, "not exportable as Mixtral") {
		t.Errorf("k = 1: held-out loss %v → %v\n%s", r.Before.Loss, r.After.Loss, out)
	}
	// Dense2MoE: a Qwen2-MoE with a shared expert, distilled; it exports.
	r, out, err = moefy("d2m", "--method", "dense2moe", "--experts", "3", "--top-k", "1", "--layers", "all", "--distill-steps", "5", "--calib-windows", "4", "--lr", "0.002")
	if err != nil {
		t.Fatal(out)
	}
	if r.Report.Layers[0].ExpertSize != 44 || strings.Contains(out, "not exportable") {
		t.Errorf("dense2moe: %+v\n%s", r.Report, out)
	}
	var o, e bytes.Buffer
	if code := run([]string{"export", "--format", "hf", "--model", filepath.Join(dir, "d2m"), "--out", filepath.Join(dir, "d2m-hf")}, &o, &e); code != 0 {
		t.Fatalf("export the Qwen2-MoE: %s", e.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "d2m-hf", "config.json")); !strings.Contains(string(b), "Qwen2MoeForCausalLM") {
		t.Errorf("exported config: %s", b)
	}
	o.Reset()
	if code := run([]string{"generate", "--model", filepath.Join(dir, "k1"), "--prompt", "ROMEO:", "--max-tokens", "8"}, &o, &e); code != 0 {
		t.Fatalf("generate from the mixture: %s", e.String())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--experts", "4", "--top-k", "5"}, "--top-k 5 exceeds --experts 4"},
		{[]string{"--experts", "4", "--top-k", "1", "--layers", "9"}, "--layers: layer 9"},
		{[]string{"--experts", "4", "--top-k", "1", "--layers", "x"}, "--layers \"x\""},
		{[]string{"--experts", "4", "--top-k", "1", "--router", "hash"}, "--router \"hash\""},
		{[]string{"--experts", "4", "--top-k", "1", "--shared", "8"}, "--shared applies to --method dense2moe, not emoe"},
		{[]string{"--experts", "4", "--top-k", "1", "--lr", "0.01"}, "--lr applies to --method dense2moe"},
	} {
		if _, msg, err := moefy("bad", tc.args...); err == nil || !strings.Contains(msg, tc.want) {
			t.Errorf("%v: %q, want an error containing %q", tc.args, msg, tc.want)
		}
	}
}
