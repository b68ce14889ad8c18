//go:build unix

package fsutil

import (
	"os"
	"syscall"
)

// Mmap maps the first size bytes of f read-only and returns them with a
// function that unmaps them. Callers fall back to reading the file when it
// fails.
func Mmap(f *os.File, size int) ([]byte, func() error, error) {
	if size <= 0 {
		return nil, nil, syscall.EINVAL
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}

// syncDir flushes dir's entries (a just-renamed file) to disk, ignoring
// errors: not every file system can sync a directory.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// MmapPrivate maps the first size bytes of f copy-on-write: readable and
// writable, where a write changes the process's copy of that page, never
// the file. Loaders use it when the mapped bytes become a model's weights
// that code may modify in place.
func MmapPrivate(f *os.File, size int) ([]byte, func() error, error) {
	if size <= 0 {
		return nil, nil, syscall.EINVAL
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
