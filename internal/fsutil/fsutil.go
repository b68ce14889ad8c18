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
// as they are; others name the path. The temporary file's name carries the
// process id, and stale ones of processes no longer running are removed
// first (see Sweep).
func WriteAtomic(path string, fill func(w io.Writer) error) error {
	return writeAtomic(path, fill, func(tmp string) error {
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		syncDir(filepath.Dir(path))
		return nil
	})
}

// writeAtomic is WriteAtomic with commit moving the finished temporary
// file into place.
func writeAtomic(path string, fill func(w io.Writer) error, commit func(tmp string) error) (err error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return fmt.Errorf("writing %s: the path names a directory, not a file", path)
	}
	if dir == "" {
		dir = "."
	}
	Sweep(path)
	perm := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, tempPrefix(path, tmpTag))
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
	return commit(tmp.Name())
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
// succeeds, so dir appears complete or not at all. dir must be absent or
// empty (ReplaceDir with no Options).
func WriteDir(dir string, fill func(tmp string) error) error {
	return ReplaceDir(dir, Options{}, fill)
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

// ReadIn reads path, or path/name when path is a directory, and returns
// the path it read (for error messages) with the bytes.
func ReadIn(path, name string) (string, []byte, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, name)
	}
	data, err := os.ReadFile(path)
	return path, data, err
}
