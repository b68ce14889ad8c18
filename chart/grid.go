package chart

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Grid is a table of coloured, labelled cells: rows × columns with a label
// on each, e.g. a pruning map (layers × {attention, FFN}, removed cells
// numbered by the order they went). Its size follows from the table.
type Grid struct {
	Title     string
	RowLabels []string   // one per row, written left of it
	ColLabels []string   // one per column, written above it
	Cells     [][]string // [row][col] text ("" for none)
	// Filled marks highlighted cells ([row][col]); they are drawn in
	// PaletteColor(1) with white text, the others in light grey.
	Filled [][]bool
	// Note is a line under the grid (e.g. what the numbers mean).
	Note string
}

// WritePNG writes the grid to path as a PNG, atomically.
func (g *Grid) WritePNG(path string) error { return writeFile(path, g, pngFormat) }

// WriteSVG writes the grid to path as an SVG, atomically.
func (g *Grid) WriteSVG(path string) error { return writeFile(path, g, svgFormat) }

// Cell size and spacing of a Grid.
const (
	cellW   = 0.95 * vg.Inch
	cellH   = 0.26 * vg.Inch
	cellGap = 1.5 // points between cells
)

// gridPlotter is a plot.Plotter drawing a Grid's table (everything but the
// title) centred in the data area, whose axes are hidden.
type gridPlotter struct {
	g                        *Grid
	row, col, cell, note     text.Style
	labelW, headH, noteH, bw vg.Length // row label width, header and note heights, table width
	cw                       vg.Length // cell width: cellW, or wider for a longer column label or cell text
}

func newGridPlotter(g *Grid) *gridPlotter {
	gp := &gridPlotter{g: g,
		row:  textStyle(sans, sizeTick, colTickLabel),
		col:  textStyle(sans, sizeTick, colLabel),
		cell: textStyle(sans, sizeSmall, colLabel),
		note: textStyle(sans, sizeSmall, colTickLabel),
	}
	for _, l := range g.RowLabels {
		gp.labelW = max(gp.labelW, gp.row.Width(l))
	}
	gp.labelW += vg.Points(8)
	gp.headH = gp.col.Height("Ag") + vg.Points(5)
	if g.Note != "" {
		gp.noteH = gp.note.Height(g.Note) + vg.Points(10)
	}
	gp.cw = cellW
	for _, l := range g.ColLabels {
		gp.cw = max(gp.cw, gp.col.Width(l)+vg.Points(6))
	}
	for _, r := range g.Cells {
		for _, t := range r {
			gp.cw = max(gp.cw, gp.cell.Width(t)+vg.Points(6))
		}
	}
	gp.bw = gp.labelW + vg.Length(len(g.ColLabels))*gp.cw
	return gp
}

func (gp *gridPlotter) Plot(c draw.Canvas, _ *plot.Plot) {
	g := gp.g
	rows, cols := len(g.RowLabels), len(g.ColLabels)
	cw := min(gp.cw, (c.Max.X-c.Min.X-gp.labelW)/vg.Length(cols))
	ch := min(cellH, (c.Max.Y-c.Min.Y-gp.headH-gp.noteH)/vg.Length(rows))
	left := c.Min.X + (c.Max.X-c.Min.X-gp.labelW-vg.Length(cols)*cw)/2 // of the row labels
	x0, top := left+gp.labelW, c.Max.Y-gp.headH                        // of the cells
	fill := PaletteColor(1)
	gap := vg.Points(cellGap) / 2
	sty := func(s text.Style, xa draw.XAlignment, ya draw.YAlignment, col color.Color) text.Style {
		s.XAlign, s.YAlign = xa, ya
		if col != nil {
			s.Color = col
		}
		return s
	}
	for j, l := range g.ColLabels {
		c.FillText(sty(gp.col, draw.XCenter, draw.YBottom, nil), vg.Point{X: x0 + (vg.Length(j)+0.5)*cw, Y: top + vg.Points(4)}, l)
	}
	for i, l := range g.RowLabels {
		y := top - vg.Length(i)*ch // top of the row
		mid := y - ch/2
		c.FillText(sty(gp.row, draw.XRight, draw.YCenter, nil), vg.Point{X: x0 - vg.Points(8), Y: mid}, l)
		for j := range cols {
			x := x0 + vg.Length(j)*cw
			on := i < len(g.Filled) && j < len(g.Filled[i]) && g.Filled[i][j]
			col, txt := color.Color(colEmpty), color.Color(colLabel)
			if on {
				col, txt = fill, colWhite
			}
			fillRect(c, vg.Rectangle{Min: vg.Point{X: x + gap, Y: y - ch + gap}, Max: vg.Point{X: x + cw - gap, Y: y - gap}}, col)
			if i < len(g.Cells) && j < len(g.Cells[i]) && g.Cells[i][j] != "" {
				c.FillText(sty(gp.cell, draw.XCenter, draw.YCenter, txt), vg.Point{X: x + cw/2, Y: mid}, g.Cells[i][j])
			}
		}
	}
	if g.Note != "" {
		x := max(c.Min.X, min(left, c.Max.X-gp.note.Width(g.Note)))
		c.FillText(sty(gp.note, draw.XLeft, draw.YTop, nil), vg.Point{X: x, Y: top - vg.Length(rows)*ch - vg.Points(10)}, g.Note)
	}
}

// figure builds the gonum plot: a title and a gridPlotter, sized to hold
// the table, the title and the note.
func (g *Grid) figure() (*plot.Plot, vg.Length, vg.Length, error) {
	rows, cols := len(g.RowLabels), len(g.ColLabels)
	if rows == 0 || cols == 0 {
		return nil, 0, 0, fmt.Errorf("%w: grid has %d rows and %d columns", errNoData, rows, cols)
	}
	for r := range rows {
		if r < len(g.Cells) && len(g.Cells[r]) > cols || r < len(g.Filled) && len(g.Filled[r]) > cols {
			return nil, 0, 0, fmt.Errorf("chart: grid row %d has more than %d cells", r, cols)
		}
	}
	p := newPlot(g.Title, "", "", false, false)
	p.HideAxes()
	p.X.Padding, p.Y.Padding = 0, 0
	gp := newGridPlotter(g)
	p.Add(gp)
	w := max(gp.bw, gp.note.Width(g.Note), p.Title.TextStyle.Width(g.Title), 3*vg.Inch) + vg.Points(4*pagePad)
	h := gp.headH + vg.Length(rows)*cellH + gp.noteH + vg.Points(3*pagePad)
	if g.Title != "" {
		h += p.Title.TextStyle.Height(g.Title) + p.Title.Padding
	}
	return p, w, max(h, vg.Inch), nil
}
