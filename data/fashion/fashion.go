// Package fashion reads Fashion-MNIST (README.md: origin and licence) from
// its idx files — those of Debian's dataset-fashion-mnist by default — and
// turns images into pixel tokens for autoregressive models, as "Scaling
// Laws for Autoregressive Generative Modeling" (Henighan et al. 2020)
// models images: downsampled, quantised, one token per pixel in raster
// order.
package fashion

import (
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultDir is where Debian's dataset-fashion-mnist installs the files.
const DefaultDir = "/usr/share/datasets/fashion-mnist"

// Set is one split: N images of Rows×Cols bytes (0 white … 255 black, as
// the files store them), row-major, and their labels 0–9.
type Set struct {
	Pixels     []byte
	Labels     []int
	N          int
	Rows, Cols int
}

// Load reads split ("train" or "t10k") from dir ("" for DefaultDir).
func Load(dir, split string) (*Set, error) {
	if split != "train" && split != "t10k" {
		return nil, fmt.Errorf("fashion: split %q, want \"train\" or \"t10k\"", split)
	}
	if dir == "" {
		dir = DefaultDir
	}
	imgPath := filepath.Join(dir, split+"-images-idx3-ubyte.gz")
	img, err := readGz(imgPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && dir == DefaultDir {
			return nil, fmt.Errorf("fashion: %s is missing: install Debian's dataset-fashion-mnist (apt install dataset-fashion-mnist) or give the directory of the idx files", imgPath)
		}
		return nil, fmt.Errorf("fashion: %w", err)
	}
	if len(img) < 16 || binary.BigEndian.Uint32(img) != 0x803 {
		return nil, fmt.Errorf("fashion: %s is not an idx3 image file", imgPath)
	}
	n, rows, cols := int(binary.BigEndian.Uint32(img[4:])), int(binary.BigEndian.Uint32(img[8:])), int(binary.BigEndian.Uint32(img[12:]))
	if rows <= 0 || cols <= 0 || n < 0 || len(img)-16 != n*rows*cols {
		return nil, fmt.Errorf("fashion: %s: %d images of %d×%d in %d bytes of pixels", imgPath, n, rows, cols, len(img)-16)
	}
	labPath := filepath.Join(dir, split+"-labels-idx1-ubyte.gz")
	lab, err := readGz(labPath)
	if err != nil {
		return nil, fmt.Errorf("fashion: %w", err)
	}
	if len(lab) < 8 || binary.BigEndian.Uint32(lab) != 0x801 || int(binary.BigEndian.Uint32(lab[4:])) != n || len(lab)-8 != n {
		return nil, fmt.Errorf("fashion: %s: not an idx1 label file of %d labels", labPath, n)
	}
	s := &Set{Pixels: img[16:], N: n, Rows: rows, Cols: cols, Labels: make([]int, n)}
	for i, b := range lab[8:] {
		if b > 9 {
			return nil, fmt.Errorf("fashion: %s: label %d of image %d", labPath, b, i)
		}
		s.Labels[i] = int(b)
	}
	return s, nil
}

func readGz(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Image returns image i's pixels.
func (s *Set) Image(i int) []byte { return s.Pixels[i*s.Rows*s.Cols : (i+1)*s.Rows*s.Cols] }

// PixelTokens returns images [lo, hi) as one token stream: each image
// downsampled to side×side by the mean of its blocks (side must divide
// the image's sides), quantised to levels values (token v covers
// intensities [v·256/levels, (v+1)·256/levels)), in raster order,
// preceded by the start token levels. The vocabulary is levels+1.
func (s *Set) PixelTokens(lo, hi, side, levels int) ([]int, error) {
	if side < 1 || s.Rows%side != 0 || s.Cols%side != 0 || levels < 2 || levels > 256 || lo < 0 || hi > s.N || lo > hi {
		return nil, fmt.Errorf("fashion: images %d…%d at %d×%d with %d levels, from %d images of %d×%d", lo, hi, side, side, levels, s.N, s.Rows, s.Cols)
	}
	br, bc := s.Rows/side, s.Cols/side
	out := make([]int, 0, (hi-lo)*(side*side+1))
	for i := lo; i < hi; i++ {
		img := s.Image(i)
		out = append(out, levels)
		for r := range side {
			for c := range side {
				sum := 0
				for y := r * br; y < (r+1)*br; y++ {
					for x := c * bc; x < (c+1)*bc; x++ {
						sum += int(img[y*s.Cols+x])
					}
				}
				mean := float64(sum) / float64(br*bc)
				out = append(out, min(levels-1, int(mean*float64(levels)/256)))
			}
		}
	}
	return out, nil
}
