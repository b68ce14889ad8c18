// Package fsutil holds loom's file plumbing: atomic writes (nothing
// half-written is ever left at the destination) and read-only memory maps.
package fsutil

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// WriteAtomic creates or replaces path with the bytes written by fill. The
// bytes go to a temporary file in the same directory, which is synced and
// renamed over path only when everything succeeded; on any error the
// temporary file is removed and path is left as it was. A replaced file
// keeps its permissions; a new one gets 0644. Errors from fill are returned
// as they are; others name the path.
func WriteAtomic(path string, fill func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return fmt.Errorf("writing %s: the path names a directory, not a file", path)
	}
	if dir == "" {
		dir = "."
	}
	perm := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = tmp.Close()
			}
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	wrap := func(err error) error { return fmt.Errorf("writing %s: %w", path, err) }
	if err := bw.Flush(); err != nil {
		return wrap(err)
	}
	_ = tmp.Chmod(perm) // best effort: not every file system has permissions
	if err := tmp.Sync(); err != nil {
		return wrap(err)
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return wrap(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return wrap(err)
	}
	syncDir(dir)
	return nil
}

// WriteFile is WriteAtomic for a byte slice.
func WriteFile(path string, data []byte) error {
	return WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteDir creates the directory dir atomically: fill writes its files into
// a temporary sibling directory, which is renamed to dir only when fill
// succeeds, so dir appears complete or not at all. dir must not exist.
func WriteDir(dir string, fill func(tmp string) error) (err error) {
	dir = filepath.Clean(dir)
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s already exists", dir)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("writing %s: %w", dir, err)
	}
	syncDir(filepath.Dir(dir))
	return nil
}

// Contains reports whether path is dir or lies inside it. Both are made
// absolute and their symbolic links resolved as far as the paths exist, so
// "run/../run/checkpoint" and a link to run/checkpoint are inside "run".
func Contains(dir, path string) (bool, error) {
	d, err := resolve(dir)
	if err != nil {
		return false, err
	}
	p, err := resolve(path)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(d, p)
	if err != nil {
		return false, nil // on different volumes
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))), nil
}

// resolve is path made absolute with the symbolic links of its longest
// existing prefix resolved.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}
