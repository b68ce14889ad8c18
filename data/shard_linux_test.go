package data

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpenShardFIFO checks the fallback that reads files which cannot be
// memory-mapped.
func TestOpenShardFIFO(t *testing.T) {
	ids := randomIDs(100, 1000, 4)
	b := shardBytes(t, ids, 1000, "fifo")
	path := filepath.Join(t.TempDir(), "pipe.bin")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			_, err = w.Write(b)
			w.Close()
		}
		done <- err
	}()
	s, err := OpenShard(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.release != nil {
		t.Fatal("a FIFO was memory-mapped")
	}
	if s.Len() != len(ids) || s.Tokenizer() != "fifo" {
		t.Fatalf("Len %d Tokenizer %q", s.Len(), s.Tokenizer())
	}
	for i, id := range ids {
		if s.At(i) != id {
			t.Fatalf("At(%d) = %d, want %d", i, s.At(i), id)
		}
	}
}

// TestOpenShardMapped checks that a regular file is memory-mapped.
func TestOpenShardMapped(t *testing.T) {
	s := openIDs(t, randomIDs(10, 50, 1), 50)
	if s.release == nil {
		t.Fatal("a regular file was read, not memory-mapped")
	}
}
