package gguf

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpenFIFO checks the fallback that reads files which cannot be mapped.
func TestOpenFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe.gguf")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	data := smallFile(t)
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			_, err = w.Write(data)
			w.Close()
		}
		done <- err
	}()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := mustParse(t, data)
	if len(f.Tensors) != len(want.Tensors) || len(f.KV) != len(want.KV) {
		t.Fatalf("read %d tensors and %d keys, want %d and %d", len(f.Tensors), len(f.KV), len(want.Tensors), len(want.KV))
	}
	for _, in := range want.Tensors {
		a, err1 := f.Float32s(in.Name)
		b, err2 := want.Float32s(in.Name)
		if err1 != nil || err2 != nil || len(a) != len(b) {
			t.Fatalf("Float32s(%q): %v, %v", in.Name, err1, err2)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("Float32s(%q)[%d] = %v, want %v", in.Name, i, a[i], b[i])
			}
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
