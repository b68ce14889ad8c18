package data

import (
	"io"

	"github.com/loomml/loom/internal/fsutil"
)

// writeAtomic creates or replaces path with the bytes written by fill,
// never leaving a partial file (see fsutil.WriteAtomic).
func writeAtomic(path string, fill func(w io.Writer) error) error {
	return fsutil.WriteAtomic(path, fill)
}
