package plot

import (
	"fmt"
	"image"
	"image/color"
)

// Grid is a table of coloured, labelled cells: rows × columns with a
// label on each, e.g. a pruning map (layers × {attention, FFN}, removed
// cells numbered by the order they went).
type Grid struct {
	Title     string
	RowLabels []string   // one per row, drawn left of it
	ColLabels []string   // one per column, drawn above it
	Cells     [][]string // [row][col] text ("" for none)
	// Filled marks highlighted cells ([row][col]); they take FillColor
	// (default PaletteColor(1)), others a light grey.
	Filled    [][]bool
	FillColor color.Color
	// Note is a line under the grid (e.g. a legend).
	Note string
	// CellWidth and CellHeight are in pixels (default 90×22).
	CellWidth, CellHeight int
}

// Render draws the grid.
func (g *Grid) Render() (*image.RGBA, error) {
	rows, cols := len(g.RowLabels), len(g.ColLabels)
	if rows == 0 || cols == 0 {
		return nil, fmt.Errorf("%w: grid has %d rows and %d columns", errNoData, rows, cols)
	}
	for r := range rows {
		if r < len(g.Cells) && len(g.Cells[r]) > cols || r < len(g.Filled) && len(g.Filled[r]) > cols {
			return nil, fmt.Errorf("plot: grid row %d has more than %d cells", r, cols)
		}
	}
	cw, ch := g.CellWidth, g.CellHeight
	if cw <= 0 {
		cw = 90
	}
	if ch <= 0 {
		ch = 22
	}
	probe, err := newCanvas(defaultWidth, defaultHeight)
	if err != nil {
		return nil, err
	}
	labelW := 0
	for _, l := range g.RowLabels {
		labelW = max(labelW, textWidth(probe.f.tick, l))
	}
	left, top := labelW+24, 60
	W := left + cols*cw + 20
	// Wide enough for the title and the note (measured at the default
	// scale, which is never smaller than the canvas's).
	W = max(W, textWidth(probe.f.title, g.Title)+40, left+textWidth(probe.f.small, g.Note)+20, 320)
	H := top + rows*ch + 50
	cv, err := newCanvas(W, H)
	if err != nil {
		return nil, err
	}
	// newCanvas scales fonts by the image size; lay out with its faces.
	cv.text(cv.f.title, g.Title, float64(W)/2, 12, 0.5, 0, colTitle)
	fill := g.FillColor
	if fill == nil {
		fill = PaletteColor(1)
	}
	empty := color.RGBA{0xee, 0xee, 0xee, 255}
	for c, l := range g.ColLabels {
		cv.text(cv.f.tick, l, float64(left+c*cw+cw/2), float64(top-6), 0.5, 1, colLabel)
	}
	for r, l := range g.RowLabels {
		y := top + r*ch
		cv.text(cv.f.tick, l, float64(left-8), float64(y+ch/2), 1, 0.5, colTickLabel)
		for c := range cols {
			x := left + c*cw
			col := color.Color(empty)
			if r < len(g.Filled) && c < len(g.Filled[r]) && g.Filled[r][c] {
				col = fill
			}
			cv.fillRect(image.Rect(x+1, y+1, x+cw-1, y+ch-1), col)
			if r < len(g.Cells) && c < len(g.Cells[r]) && g.Cells[r][c] != "" {
				txt := colLabel
				if col == fill {
					txt = color.RGBA{255, 255, 255, 255}
				}
				cv.text(cv.f.small, g.Cells[r][c], float64(x+cw/2), float64(y+ch/2), 0.5, 0.5, txt)
			}
		}
	}
	if g.Note != "" {
		cv.text(cv.f.small, g.Note, float64(left), float64(top+rows*ch+12), 0, 0, colTickLabel)
	}
	return cv.img, nil
}

// WritePNG renders the grid to a PNG file, atomically.
func (g *Grid) WritePNG(path string) error {
	img, err := g.Render()
	if err != nil {
		return err
	}
	return writePNGFile(path, img)
}
