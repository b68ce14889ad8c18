package fsutil

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	if err := WriteFile(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o600)
	boom := errors.New("boom")
	if err := WriteAtomic(p, func(w io.Writer) error { w.Write([]byte("partial")); return boom }); err != boom {
		t.Fatalf("fill error: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("failed write changed the file: %q", b)
	}
	if err := WriteFile(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("permissions %v not kept", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "f"), nil); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestMmap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m")
	os.WriteFile(p, []byte("hello"), 0o644)
	f, _ := os.Open(p)
	defer f.Close()
	b, release, err := Mmap(f, 5)
	if err != nil {
		t.Skip("no mmap here:", err)
	}
	defer release()
	if string(b) != "hello" {
		t.Fatalf("mapped %q", b)
	}
}

func TestWriteDir(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "model")
	boom := errors.New("boom")
	if err := WriteDir(dir, func(tmp string) error {
		os.WriteFile(filepath.Join(tmp, "a"), []byte("x"), 0o644)
		return boom
	}); err != boom {
		t.Fatalf("fill error: %v", err)
	}
	if entries, _ := os.ReadDir(base); len(entries) != 0 {
		t.Fatalf("a failed WriteDir left %v", entries)
	}
	if err := WriteDir(dir, func(tmp string) error { return os.WriteFile(filepath.Join(tmp, "a"), []byte("x"), 0o644) }); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a")); err != nil || string(b) != "x" {
		t.Fatalf("%q %v", b, err)
	}
	if err := WriteDir(dir, func(string) error { return nil }); err == nil || !strings.Contains(err.Error(), "is not empty (holds a)") {
		t.Fatalf("existing dir: %v", err)
	}
}

func TestContains(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(filepath.Join(run, "checkpoint"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(run, "checkpoint"), link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir, path string
		want      bool
	}{
		{run, run, true},
		{run, filepath.Join(run, "checkpoint"), true},
		{run, filepath.Join(run, "new", "deeper"), true},           // not yet existing
		{run, filepath.Join(run, "..", "run", "checkpoint"), true}, // not clean
		{run, link, true}, // a link into it
		{filepath.Join(run, "checkpoint"), filepath.Join(link, "x"), true},
		{run, filepath.Join(dir, "run2"), false}, // a sibling sharing a prefix
		{run, dir, false},                        // its parent
		{filepath.Join(run, "checkpoint"), run, false},
	} {
		got, err := Contains(tc.dir, tc.path)
		if err != nil || got != tc.want {
			t.Errorf("Contains(%s, %s) = %v, %v; want %v", tc.dir, tc.path, got, err, tc.want)
		}
	}
}

func TestOpenGzip(t *testing.T) {
	dir := t.TempDir()
	plain, packed := filepath.Join(dir, "a.txt"), filepath.Join(dir, "a.txt.gz")
	os.WriteFile(plain, []byte("hello\n"), 0o644)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("hello\n"))
	zw.Close()
	os.WriteFile(packed, b.Bytes(), 0o644)
	for _, p := range []string{plain, packed} {
		r, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != "hello\n" || r.Close() != nil {
			t.Fatalf("%s: %q %v", p, got, err)
		}
	}
	if _, err := Open(filepath.Join(dir, "none.gz")); err == nil {
		t.Fatal("a missing file opened")
	}
	os.WriteFile(filepath.Join(dir, "bad.gz"), []byte("not gzip"), 0o644)
	if _, err := Open(filepath.Join(dir, "bad.gz")); err == nil {
		t.Fatal("a file that is not gzip opened as gzip")
	}
}
