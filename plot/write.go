package plot

import (
	"bufio"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
)

func encodePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("plot: encode png: %w", err)
	}
	return nil
}

// writePNGFile writes img to path via a temporary file in the same directory
// and a rename, removing the temporary file on any failure.
func writePNGFile(path string, img image.Image) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("plot: write png: %q is a directory name", path)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err = encodePNG(bw, img); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	closed = true
	if err = f.Close(); err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	// os.CreateTemp makes the file 0600; a chart is not a secret.
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	return nil
}
