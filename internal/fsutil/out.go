package fsutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Options say how ReplaceDir and ReplaceFile treat their destination: the
// one rule of every loom command that writes a model.
type Options struct {
	// Force replaces an existing destination as a whole (none of its old
	// files survive). Without it a destination is refused unless it is
	// absent or, for a directory, empty.
	Force bool
	// Context, when canceled, stops the write before the destination is
	// touched: the temporary output is removed and the error wraps
	// context.Canceled. nil is never canceled. Fill functions see it
	// through ContextWriter or by checking it themselves.
	Context context.Context
}

// Ctx is the Context, or context.Background when it is nil.
func (o Options) Ctx() context.Context {
	if o.Context == nil {
		return context.Background()
	}
	return o.Context
}

// ExistsError is a destination that exists and may not be replaced
// without Options.Force.
type ExistsError struct {
	Path  string
	Dir   bool     // a non-empty directory
	Holds []string // some of its entries, sorted (a directory)
	More  int      // entries not in Holds
}

func (e *ExistsError) Error() string {
	if !e.Dir {
		return e.Path + " already exists"
	}
	s := strings.Join(e.Holds, ", ")
	if e.More > 0 {
		s += ", …"
	}
	return fmt.Sprintf("%s is not empty (holds %s)", e.Path, s)
}

// CheckDest returns an *ExistsError when path exists and may not be
// written with o: a non-empty directory (isDir) or anything at all (a file
// destination), unless o.Force. It first removes the stale temporaries a
// killed writer of path left beside it (see Sweep).
func CheckDest(path string, isDir bool, o Options) error {
	Sweep(path)
	if o.Force {
		return nil
	}
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !isDir || !st.IsDir() {
		return &ExistsError{Path: path}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	e := &ExistsError{Path: path, Dir: true, Holds: names}
	if len(names) > 3 {
		e.Holds, e.More = names[:3], len(names)-3
	}
	return e
}

// ReplaceDir writes the directory dir through fill, which writes its files
// into a temporary sibling directory. dir must be absent or empty unless
// o.Force, which replaces whatever is there as a whole. Only when fill
// succeeded is the sibling swapped in (the old dir renamed aside, the new
// one renamed to dir, the old one removed), so dir is never half-written:
// it is the old one or the complete new one. On any error, and when
// o.Context is canceled, the temporary directory is removed and dir is left
// as it was. The temporary names carry the process id, so that a later
// write to dir removes those a killed process left (see Sweep).
func ReplaceDir(dir string, o Options, fill func(tmp string) error) (err error) {
	dir = filepath.Clean(dir)
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	if err := CheckDest(dir, true, o); err != nil {
		return err
	}
	if err := o.Ctx().Err(); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), tempPrefix(dir, tmpTag))
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
	if err := o.Ctx().Err(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", dir, err)
	}
	return swapIn(tmp, dir, true, o)
}

// ReplaceFile writes the file path with the bytes written by fill, as
// WriteAtomic does, under ReplaceDir's rule: path must not exist unless
// o.Force, which replaces it as a whole (a directory there too). On any
// error, and when o.Context is canceled, the temporary file is removed and
// path is left as it was.
func ReplaceFile(path string, o Options, fill func(w io.Writer) error) error {
	path = filepath.Clean(path)
	if err := checkReplaceable(path); err != nil {
		return err
	}
	if err := CheckDest(path, false, o); err != nil {
		return err
	}
	ctx := o.Ctx()
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error {
		if err := fill(w); err != nil {
			return err
		}
		return ctx.Err()
	}, func(tmp string) error { return swapIn(tmp, path, false, o) })
}

// swapIn renames tmp to dest: directly when dest is absent, an empty
// directory (removed first) or a file replaced by a file (o.Force), else by
// renaming dest aside, tmp in and removing the old one; if renaming tmp in
// fails, dest is put back.
func swapIn(tmp, dest string, isDir bool, o Options) error {
	parent := filepath.Dir(dest)
	st, err := os.Lstat(dest)
	direct := errors.Is(err, os.ErrNotExist) || (!isDir && o.Force && err == nil && st.Mode().IsRegular())
	if !direct && !o.Force {
		// It appeared, or filled up, while we were writing.
		if err := CheckDest(dest, isDir, o); err != nil {
			return err
		}
		// An empty directory (os.Rename will not replace one).
		if err := os.Remove(dest); err != nil {
			return fmt.Errorf("writing %s: %w", dest, err)
		}
		direct = true
	}
	if direct {
		if err := os.Rename(tmp, dest); err != nil {
			return fmt.Errorf("writing %s: %w", dest, err)
		}
		syncDir(parent)
		return nil
	}
	old, err := reserveName(dest, oldTag)
	if err != nil {
		return fmt.Errorf("replacing %s: %w", dest, err)
	}
	if err := os.Rename(dest, old); err != nil {
		return fmt.Errorf("replacing %s: %w", dest, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		_ = os.Rename(old, dest)
		return fmt.Errorf("replacing %s: %w", dest, err)
	}
	syncDir(parent)
	_ = os.RemoveAll(old)
	return nil
}

// checkReplaceable refuses destinations a rename cannot take: ".", "/" and
// any directory holding the working directory.
func checkReplaceable(path string) error {
	b := filepath.Base(path)
	if b == "." || b == ".." || b == string(filepath.Separator) {
		return fmt.Errorf("%s: name a file or directory to write, not %q", path, b)
	}
	if wd, err := os.Getwd(); err == nil {
		if in, err := Contains(path, wd); err == nil && in {
			return fmt.Errorf("%s holds the working directory: it cannot be written as a whole", path)
		}
	}
	return nil
}

// Temporary siblings of a destination ".NAME.tmp-PID-RANDOM" (being
// written) and ".NAME.old-PID-RANDOM" (being replaced) name the process
// writing them.
const (
	tmpTag = "tmp"
	oldTag = "old"
)

func tempPrefix(dest, tag string) string {
	return "." + filepath.Base(dest) + "." + tag + "-" + strconv.Itoa(os.Getpid()) + "-"
}

// reserveName returns an unused sibling name of dest tagged tag.
func reserveName(dest, tag string) (string, error) {
	d, err := os.MkdirTemp(filepath.Dir(dest), tempPrefix(dest, tag))
	if err != nil {
		return "", err
	}
	if err := os.Remove(d); err != nil {
		return "", err
	}
	return d, nil
}

// Sweep removes the temporary siblings of path (".NAME.tmp-PID-…",
// ".NAME.old-PID-…") that a process no longer running left, after a crash
// or a kill. Those of a live process — this one, or any other still
// running — are kept. A stale ".old" is put back at path when path is
// missing (a writer killed between renaming the old one aside and the new
// one in), so the old contents are not lost. Errors are ignored: sweeping
// is best effort.
func Sweep(path string) {
	path = filepath.Clean(path)
	parent, base := filepath.Split(path)
	if parent == "" {
		parent = "."
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		tag, pid, ok := parseTemp(e.Name(), base)
		if !ok || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		p := filepath.Join(parent, e.Name())
		if tag == oldTag {
			if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) && os.Rename(p, path) == nil {
				continue
			}
		}
		_ = os.RemoveAll(p)
	}
}

// parseTemp reads a temporary sibling's name of the destination base.
func parseTemp(name, base string) (tag string, pid int, ok bool) {
	rest, ok := strings.CutPrefix(name, "."+base+".")
	if !ok {
		return "", 0, false
	}
	for _, t := range []string{tmpTag, oldTag} {
		if r, found := strings.CutPrefix(rest, t+"-"); found {
			digits, _, found := strings.Cut(r, "-")
			if !found {
				return "", 0, false
			}
			pid, err := strconv.Atoi(digits)
			if err != nil || pid <= 0 {
				return "", 0, false
			}
			return t, pid, true
		}
	}
	return "", 0, false
}

// ContextWriter is w that fails with ctx's error, without writing, once
// ctx is canceled; long writes are cut into pieces checked one by one, so
// an interrupt stops even a write of gigabytes promptly.
func ContextWriter(ctx context.Context, w io.Writer) io.Writer {
	return &ctxWriter{ctx: ctx, w: w}
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

const ctxChunk = 16 << 20

func (c *ctxWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := c.ctx.Err(); err != nil {
			return n, err
		}
		k := min(len(p), ctxChunk)
		m, err := c.w.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// Discard removes path as a whole (for a --force that starts a run
// afresh): it is renamed aside first, so path is either all there or gone,
// and a removal cut short by a kill is swept by a later write to path.
// A missing path is no error.
func Discard(path string) error {
	path = filepath.Clean(path)
	if err := checkReplaceable(path); err != nil {
		return err
	}
	Sweep(path)
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	old, err := reserveName(path, oldTag)
	if err != nil {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	if err := os.Rename(path, old); err != nil {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return os.RemoveAll(old)
}
