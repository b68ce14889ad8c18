//go:build !unix

package bank

import "os"

// mapping holds a shard in memory where memory maps are unavailable; sync
// and close write it back.
type mapping struct {
	path string
	data []byte
}

func mapFile(path string, size int64) (mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return mapping{}, err
	}
	return mapping{path: path, data: b[:size]}, nil
}

func (m mapping) sync() error { return os.WriteFile(m.path, m.data, 0o644) }

func (m mapping) close() error { return m.sync() }
