package repro

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The whole entry on a tiny range (train g ≤ 2, test g = 3, n ≤ 4, two
// epochs): it runs, writes its figures and states a verdict by its rule.
func TestDRAGeometryTiny(t *testing.T) {
	dir := t.TempDir()
	r, err := draGeometry(&Context{DocsDir: dir, WorkDir: dir, Progress: io.Discard}, draGeoSetup{trainG: 2, testG: 3, maxN: 4, epochs: 2}, []uint64{1})
	if err != nil {
		t.Fatal(err)
	}
	ok := false
	for _, v := range []string{"reproduced:", "partial:", "not reproduced:"} {
		ok = ok || strings.HasPrefix(r.Verdict, v)
	}
	if !ok {
		t.Errorf("verdict %q", r.Verdict)
	}
	for _, f := range []string{"dra", "relu", "gelu", "snake", "coverage"} {
		png := "dra-geometry-" + f + ".png"
		if _, err := os.Stat(filepath.Join(dir, png)); err != nil {
			t.Error(err)
		}
		if !strings.Contains(r.Body, "("+png+")") {
			t.Errorf("the page does not link %s", png)
		}
	}
	if !strings.Contains(r.Body, draGeoRule) {
		t.Error("the page does not state its rule")
	}
}
