package data

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic creates or replaces path with the bytes written by fill. The
// bytes go to a temporary file in the same directory, which is synced and
// renamed over path only when everything succeeded; on any error the
// temporary file is removed and path is left as it was.
func writeAtomic(path string, fill func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return fmt.Errorf("data: writing %s: the path names a directory, not a file", path)
	}
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close() // harmless if already closed
			_ = os.Remove(tmpName)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	_ = tmp.Chmod(0o644) // best effort: not every file system has permissions
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}
