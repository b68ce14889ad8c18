package main

import (
	"encoding/json"
	"testing"
)

// An installed binary benchmarks tokenization outside the source tree: the
// default corpus is embedded.
func TestBenchTokenizeOutsideRepo(t *testing.T) {
	cmd := loomCommand(t, t.TempDir(), "bench", "tokenize", "--json", "--min-time", "1ms", "--encoding", "r50k_base")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("loom bench tokenize in an empty directory: %v (%s)", err, out)
	}
	var res tokenizeBench
	if err := json.Unmarshal(out, &res); err != nil || res.Corpus != "tokenizer test corpus (embedded)" || res.Bytes < 40000 || !res.IdenticalIDs {
		t.Fatalf("result %s: %v", out, err)
	}
}
