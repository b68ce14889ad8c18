package safetensors

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpenFIFO checks the fallback that reads files which cannot be mapped.
func TestOpenFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe.safetensors")
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
	want, err := Parse("mem", data)
	if err != nil {
		t.Fatal(err)
	}
	var tensors []Tensor
	for _, in := range want.Infos() {
		b, _ := want.Bytes(in.Name)
		tensors = append(tensors, Tensor{in.Name, in.DType, in.Shape, b})
	}
	checkFile(t, f, tensors, want.Metadata)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
