package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/models/memory/bank"
)

func TestMemoryVerify(t *testing.T) {
	dir := t.TempDir()
	b, err := bank.Create(dir, 5, 8, 2, func(id int, p []float32) { p[0] = float32(id) })
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if code := run([]string{"memory", "verify", "--bank", dir}, &o, &e); code != 0 || !strings.Contains(o.String(), "5 blocks of 8 parameters") {
		t.Fatalf("verify: code %d\n%s%s", code, o.String(), e.String())
	}
	tests := []struct {
		name  string
		setup func()
		args  []string
		want  string
	}{
		{"no bank", func() {}, []string{"memory", "verify"}, "--bank"},
		{"corrupt shard", func() {
			p := filepath.Join(dir, "shard-00001.bin")
			raw, _ := os.ReadFile(p)
			raw[9] ^= 1
			os.WriteFile(p, raw, 0o644)
		}, []string{"memory", "verify", "--bank", dir}, "shard-00001.bin"},
		{"missing shard", func() { os.Remove(filepath.Join(dir, "shard-00002.bin")) }, []string{"memory", "verify", "--bank", dir}, "shard-00002.bin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			for range 2 { // verifying leaves a bad bank bad
				var o, e bytes.Buffer
				if code := run(tc.args, &o, &e); code == 0 || !strings.Contains(e.String(), tc.want) {
					t.Fatalf("code %d, stderr %q, want an error naming %s", code, e.String(), tc.want)
				}
			}
		})
	}
}
