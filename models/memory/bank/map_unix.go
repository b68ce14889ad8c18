//go:build unix

package bank

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapping is one shard mapped read-write and shared: writes reach the file.
type mapping struct {
	data []byte
}

func mapFile(path string, size int64) (mapping, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return mapping{}, err
	}
	defer f.Close() // the mapping outlives the descriptor
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return mapping{}, err
	}
	return mapping{data: b}, nil
}

func (m mapping) sync() error { return unix.Msync(m.data, unix.MS_SYNC) }

func (m mapping) close() error {
	if err := m.sync(); err != nil {
		return err
	}
	return unix.Munmap(m.data)
}
