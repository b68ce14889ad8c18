package dit

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"

	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/tensor"
)

// ClassLabels returns per labels of each of the model's classes, in class
// order: the labels of a sample grid with one row per class.
func (m *Model) ClassLabels(per int) []int {
	var y []int
	for k := range m.Cfg.Classes {
		for range per {
			y = append(y, k)
		}
	}
	return y
}

// Grid lays out panels side by side, each panel images [rows·per, C, S, S]
// (values −1…1, black…white; the first channel) in rows of per, each pixel
// zoom×zoom, on a grey background. Every panel must have the same shape.
func Grid(panels []*tensor.Tensor, rows, per, zoom int) (*image.Gray, error) {
	if len(panels) == 0 || rows < 1 || per < 1 || zoom < 1 {
		return nil, fmt.Errorf("dit: a grid of %d panels, %d rows of %d, zoom %d", len(panels), rows, per, zoom)
	}
	sh := panels[0].Shape()
	if len(sh) != 4 || sh[0] != rows*per || sh[2] != sh[3] {
		return nil, fmt.Errorf("dit: grid panel of shape %v, want [%d, C, S, S]", sh, rows*per)
	}
	S, C := sh[2], sh[1]
	const gap, panelGap = 2, 8
	cell := S*zoom + gap
	pw := per*cell + panelGap
	img := image.NewGray(image.Rect(0, 0, len(panels)*pw-panelGap+gap, rows*cell+gap))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	for p, t := range panels {
		if !slices.Equal(t.Shape(), sh) {
			return nil, fmt.Errorf("dit: grid panel %d has shape %v, panel 0 %v", p, t.Shape(), sh)
		}
		s := t.Contiguous().F32()
		for n := range rows * per {
			row, col := n/per, n%per
			for py := range S {
				for px := range S {
					v := s[n*C*S*S+py*S+px]
					g := uint8(math.Round(255 * math.Min(1, math.Max(0, (float64(v)+1)/2))))
					for dy := range zoom {
						for dx := range zoom {
							img.SetGray(gap+p*pw+col*cell+px*zoom+dx, gap+row*cell+py*zoom+dy, color.Gray{Y: g})
						}
					}
				}
			}
		}
	}
	return img, nil
}

// WriteGrid writes Grid(panels, rows, per, 4) to path as a PNG (replacing
// it whole: a failed write leaves no partial file).
func WriteGrid(path string, panels []*tensor.Tensor, rows, per int) error {
	img, err := Grid(panels, rows, per, 4)
	if err != nil {
		return err
	}
	return fsutil.ReplaceFile(path, fsutil.Options{Force: true}, func(w io.Writer) error { return png.Encode(w, img) })
}
