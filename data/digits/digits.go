// Package digits embeds scikit-learn's 8×8 handwritten digits (1,797
// images, labels 0–9; README.md gives the origin and licence), the small
// image set loom's diffusion transformer trains on.
package digits

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/loomml/loom/tensor"
)

//go:embed digits.csv.gz
var raw []byte

// Size is the side of an image, Classes the number of labels.
const (
	Size    = 8
	Classes = 10
)

// Load returns every image as [N, 1, 8, 8] scaled from 0…16 to −1…1, and
// the labels.
func Load() (*tensor.Tensor, []int, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("digits: %w", err)
	}
	r := csv.NewReader(zr)
	if _, err := r.Read(); err != nil { // header
		return nil, nil, fmt.Errorf("digits: %w", err)
	}
	var px []float32
	var labels []int
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil || len(rec) != 1+Size*Size {
			return nil, nil, fmt.Errorf("digits: line %d: %d fields, %v", line, len(rec), err)
		}
		y, err := strconv.Atoi(rec[0])
		if err != nil || y < 0 || y >= Classes {
			return nil, nil, fmt.Errorf("digits: line %d: label %q", line, rec[0])
		}
		labels = append(labels, y)
		for _, f := range rec[1:] {
			v, err := strconv.Atoi(f)
			if err != nil || v < 0 || v > 16 {
				return nil, nil, fmt.Errorf("digits: line %d: pixel %q", line, f)
			}
			px = append(px, float32(v)/8-1)
		}
	}
	return tensor.FromFloat32(px, len(labels), 1, Size, Size), labels, nil
}
