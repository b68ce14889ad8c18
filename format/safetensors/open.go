package safetensors

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/loomml/loom/internal/fsutil"
)

// Open opens the safetensors file at path and validates its whole header (see
// the package documentation for the rules) before returning. On Unix systems
// the file is memory-mapped read-only, so only the header is read up front;
// elsewhere, or if mapping fails, the file is read into memory. The mapping
// is released by Close. If the file is truncated or rewritten in place while
// it is mapped, reading tensors may crash the program; Write replaces files
// by renaming, which is safe.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.IsDir() {
		return nil, fileErr(path, "is a directory, not a safetensors file")
	}
	size := st.Size()
	if size < 8 && st.Mode().IsRegular() {
		return nil, fileErr(path, "file is %d bytes, too short for the 8-byte little-endian header length that starts every safetensors file", size)
	}
	if size > math.MaxInt {
		return nil, fileErr(path, "file is %d bytes, too large to address on this platform", size)
	}
	if st.Mode().IsRegular() {
		if data, release, err := fsutil.MmapPrivate(fd, int(size)); err == nil {
			f, err := parse(path, data)
			if err != nil {
				release()
				return nil, err
			}
			f.release = release
			return f, nil
		}
	}
	data, err := io.ReadAll(fd)
	if err != nil {
		return nil, fmt.Errorf("safetensors: reading %s: %w", path, err)
	}
	return parse(path, data)
}
