//go:build !unix

package safetensors

import (
	"errors"
	"os"
)

// mmapFile is not implemented on this system; Open reads the file instead.
func mmapFile(fd *os.File, size int) ([]byte, func() error, error) {
	return nil, nil, errors.ErrUnsupported
}

// syncDir does nothing on this system.
func syncDir(dir string) {}
