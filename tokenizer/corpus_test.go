package tokenizer

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// The embedded corpus is the testdata files, byte for byte, in name order.
func TestSampleCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.txt"))
	sort.Strings(files)
	var want []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b...)
	}
	if got := SampleCorpus(); len(files) != 4 || string(got) != string(want) {
		t.Fatalf("SampleCorpus: %d bytes from %d files, want %d bytes", len(got), len(files), len(want))
	}
}
