package external

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	t.Setenv(Env, a+string(os.PathListSeparator)+b)
	s := Set{Name: "toy", Files: []string{"x.txt", "y.txt"}, Origin: "a test"}
	if _, err := Find(s); err == nil || !strings.Contains(err.Error(), `data set "toy" is not shipped with loom: put x.txt, y.txt`) || !strings.Contains(err.Error(), filepath.Join(a, "toy")) {
		t.Fatalf("missing set: %v", err)
	}
	// Only the second root has both files.
	os.MkdirAll(filepath.Join(a, "toy"), 0o755)
	os.WriteFile(filepath.Join(a, "toy", "x.txt"), nil, 0o644)
	os.MkdirAll(filepath.Join(b, "toy"), 0o755)
	for _, f := range s.Files {
		os.WriteFile(filepath.Join(b, "toy", f), nil, 0o644)
	}
	if dir, err := Find(s); err != nil || dir != filepath.Join(b, "toy") {
		t.Fatalf("Find = %q, %v", dir, err)
	}
}
