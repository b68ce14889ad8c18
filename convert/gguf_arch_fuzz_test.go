package convert

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadGGUFArch feeds mutations of llama.cpp's converter files of
// qwen3, gpt2, phi3, gemma2 and gemma3 (testdata/gguf) to the loader: it
// returns a model or an error, never panics. Run longer with
//
//	go test ./convert -run '^$' -fuzz FuzzLoadGGUFArch -fuzztime 60s -fuzzminimizetime 2s
//
// (the inputs are tens of KB: minimising one at the default 60 s shows as
// a fuzzer making no executions).
func FuzzLoadGGUFArch(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "gguf", "*.gguf"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "f.gguf")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		LoadWith(path, LoadOptions{})
	})
}
