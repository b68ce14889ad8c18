package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/loomml/loom/serve/load"
)

// loom bench serve serves a model in process and drives it over loopback:
// every request completes and is counted.
func TestBenchServe(t *testing.T) {
	for _, eng := range []string{"batched", "sequential"} {
		var o, e bytes.Buffer
		args := []string{"bench", "serve", "--model", "../../convert/testdata/hf/loom-trained", "--engine", eng,
			"--clients", "3", "--requests", "6", "--prompt-tokens", "8", "--max-tokens", "4", "--json"}
		if code := run(args, &o, &e); code != 0 {
			t.Fatalf("%s: exit %d: %s", eng, code, e.String())
		}
		var res load.Result
		if err := json.Unmarshal(o.Bytes(), &res); err != nil || res.Errors != 0 || res.Requests != 6 || res.Tokens == 0 || res.TokensPerSec <= 0 {
			t.Fatalf("%s: %s (%v)", eng, o.String(), err)
		}
	}
}
