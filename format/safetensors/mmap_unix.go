//go:build unix

package safetensors

import (
	"os"
	"syscall"
)

// mmapFile maps the first size bytes of fd read-only and returns them with a
// function that unmaps them.
func mmapFile(fd *os.File, size int) ([]byte, func() error, error) {
	if size == 0 {
		return nil, nil, syscall.EINVAL
	}
	data, err := syscall.Mmap(int(fd.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}

// syncDir flushes the directory entry of a just-renamed file to disk. Errors
// are ignored: some file systems do not support syncing directories.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
