package fsutil

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestAllocPopulated: zeroed, writable, of the size asked; nil for 0.
func TestAllocPopulated(t *testing.T) {
	for _, n := range []int{0, 1, 4095, 1 << 20} {
		b := AllocPopulated(n)
		if len(b) != n {
			t.Fatalf("AllocPopulated(%d): %d bytes", n, len(b))
		}
		for i, v := range b {
			if v != 0 {
				t.Fatalf("AllocPopulated(%d)[%d] = %d", n, i, v)
			}
		}
		for i := range b {
			b[i] = byte(i)
		}
	}
}

// TestRelease: a private map's released pages read back the file's bytes,
// and the bytes outside whole pages are untouched.
func TestRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := make([]byte, 5*4096+123)
	for i := range want {
		want[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, release, err := MmapPrivate(f, len(want))
	if err != nil {
		t.Skip("no memory maps here:", err)
	}
	defer release()
	b[10] = 1 // a private change in a page partly inside the range below
	Release(b[5 : len(b)-5])
	Release(nil)
	if b[10] != 1 {
		t.Fatal("a partly covered page was released")
	}
	b[10] = want[10]
	if !bytes.Equal(b, want) {
		t.Fatal("released pages read back other bytes than the file's")
	}
}
