package fsutil

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
)

// Open opens path for reading, decompressing it when its name ends in
// .gz; closing the result closes the file.
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return gzipFile{zr, f}, nil
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g gzipFile) Close() error {
	err := g.Reader.Close()
	if e := g.f.Close(); err == nil {
		err = e
	}
	return err
}
