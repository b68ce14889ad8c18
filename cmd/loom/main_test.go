package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"version"}, 0, "loom " + version, ""},
		{[]string{"help"}, 0, "version", ""},
		{nil, 2, "commands:", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"version", "--bogus"}, 2, "", "flag provided but not defined"},
		{[]string{"version", "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"help", "version"}, 0, "", "--json"},
		{[]string{"help", "frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"tokenizer", "frobnicate"}, 2, "", "usage: loom tokenizer train"},
		{[]string{"help", "bench"}, 0, "decode    Decoding speed", ""},
		{[]string{"bench", "frobnicate"}, 2, "", `unknown benchmark "frobnicate"`},
		{[]string{"bench", "gemm", "--help"}, 0, "", "Time matrix products"},
		{[]string{"bench", "train", "--help"}, 0, "", "PyTorch anchor"},
		{[]string{"bench", "decode", "--help"}, 0, "", "usage: loom bench decode [--model PATH] [--dtype f32,bf16,f16,q8_0] [--contexts 256,1024] [--threads N] [--json] [--tokens 64]\n\nDecoding speed"},
		{[]string{"bench", "tokenize", "--help"}, 0, "", "against tiktoken-go"},
		{[]string{"help", "train"}, 0, "", "-tokenizer string"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb)
		if code != c.code || !strings.Contains(out.String(), c.inStdout) || !strings.Contains(errb.String(), c.inStderr) {
			t.Errorf("loom %v: code %d, stdout %q, stderr %q", c.args, code, out.String(), errb.String())
		}
	}
}

func TestVersionJSON(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"version", "--json"}, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	var v versionInfo
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.Version != version || v.GEMM == "" || v.Threads < 1 {
		t.Fatalf("bad JSON %q: %v", out.String(), err)
	}
}

// The special sampling values --help names are accepted (the ranges
// themselves are checked for every command in TestNumericFlagRanges).
func TestGenerateSpecialValues(t *testing.T) {
	model := "../../convert/testdata/hf/loom-trained"
	var out, errb bytes.Buffer
	if code := run([]string{"generate", "--model", model, "--prompt", "To be", "--temperature", "0", "--top-k", "0", "--top-p", "1", "--max-tokens", "3"}, &out, &errb); code != 0 {
		t.Errorf("greedy generate: code %d, %s", code, errb.String())
	}
}

// eval's window flags: out of range is an error naming the flag, the range
// and the special 0; nothing is scored.
func TestEvalFlagRanges(t *testing.T) {
	model := "../../convert/testdata/hf/loom-trained" // 64 positions
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--stride", "1000"}, "--stride 1000: want 1 to the window length 64"},
		{[]string{"--seq-len", "32", "--stride", "33"}, "--stride 33: want 1 to the window length 32"},
		{[]string{"--seq-len", "100000"}, "--seq-len 100000: want 2 to the model's 64 positions"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"eval", "--model", model, "--tasks", ""}, c.args...)
		if code := run(args, &out, &errb); code != 1 || out.Len() != 0 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("loom %v: code %d, stdout %q, stderr %q; want %q", args, code, out.String(), errb.String(), c.want)
		}
	}
}
