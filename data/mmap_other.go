//go:build !unix

package data

import (
	"errors"
	"os"
)

// mmapFile is not available on this system; OpenShard reads the file
// instead.
func mmapFile(f *os.File, size int) ([]byte, func() error, error) {
	return nil, nil, errors.ErrUnsupported
}

// syncDir does nothing on this system.
func syncDir(dir string) {}
