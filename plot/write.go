package plot

import (
	"fmt"
	"image"
	"image/png"
	"io"

	"github.com/loomml/loom/internal/fsutil"
)

func encodePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("plot: encode png: %w", err)
	}
	return nil
}

// writePNGFile writes img to path atomically (see fsutil.WriteAtomic).
func writePNGFile(path string, img image.Image) error {
	if err := fsutil.WriteAtomic(path, func(w io.Writer) error { return encodePNG(w, img) }); err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	return nil
}
