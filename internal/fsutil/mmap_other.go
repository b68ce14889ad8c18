//go:build !unix

package fsutil

import (
	"errors"
	"os"
)

// Mmap is not available on this system; callers read the file instead.
func Mmap(f *os.File, size int) ([]byte, func() error, error) {
	return nil, nil, errors.New("fsutil: memory maps are not supported on this system")
}

// MmapPrivate is not supported here; callers read the file instead.
func MmapPrivate(f *os.File, size int) ([]byte, func() error, error) {
	return nil, nil, errors.New("fsutil: memory maps are not supported on this system")
}

func syncDir(dir string) {}
