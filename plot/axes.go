package plot

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
)

const (
	defaultWidth  = 900
	defaultHeight = 560
	minWidth      = 160
	minHeight     = 120
	maxSide       = 16384
)

// Range fixes the span of an axis. The zero Range means "automatic": the
// axis covers the data (plus a small margin). A non-zero Range must have
// Min < Max, both finite, and on a logarithmic axis Min > 0.
type Range struct{ Min, Max float64 }

func (r Range) auto() bool { return r.Min == 0 && r.Max == 0 }

func (r Range) check(name string, log bool) error {
	if r.auto() {
		return nil
	}
	if !finite(r.Min) || !finite(r.Max) || r.Min >= r.Max {
		return fmt.Errorf("plot: %s range [%g, %g] must be finite with Min < Max", name, r.Min, r.Max)
	}
	if log && r.Min <= 0 {
		return fmt.Errorf("plot: %s range [%g, %g] must be positive on a log axis", name, r.Min, r.Max)
	}
	return nil
}

// Ref is a horizontal reference line drawn dashed across the plot. Its
// label, if any, is written at one end of the line, above or below it,
// wherever it hides the least data (right end, above, when that is clear).
// Typical uses: a paper's reported loss, a baseline, a target.
type Ref struct {
	Y     float64
	Label string
	Color color.Color // nil means dark grey
}

// size validates and defaults a chart's width and height.
func size(w, h int) (int, int, error) {
	if w == 0 {
		w = defaultWidth
	}
	if h == 0 {
		h = defaultHeight
	}
	if w < minWidth || h < minHeight || w > maxSide || h > maxSide {
		return 0, 0, fmt.Errorf("plot: size %dx%d out of range (%dx%d to %dx%d)", w, h, minWidth, minHeight, maxSide, maxSide)
	}
	return w, h, nil
}

// errNoData is returned (wrapped) when there is nothing to draw.
var errNoData = errors.New("plot: no data to plot")

// axis maps data values to pixel coordinates.
type axis struct {
	lo, hi float64 // data range
	log    bool
	p0, p1 float64 // pixel coordinates of lo and hi
}

func (a axis) pix(v float64) float64 {
	var t float64
	if a.log {
		t = (math.Log10(v) - math.Log10(a.lo)) / (math.Log10(a.hi) - math.Log10(a.lo))
	} else {
		t = (v - a.lo) / (a.hi - a.lo)
	}
	return a.p0 + t*(a.p1-a.p0)
}

// extent is a running min/max of finite values.
type extent struct {
	lo, hi float64
	ok     bool
}

func (e *extent) add(v float64) {
	if !finite(v) {
		return
	}
	if !e.ok {
		e.lo, e.hi, e.ok = v, v, true
		return
	}
	e.lo = math.Min(e.lo, v)
	e.hi = math.Max(e.hi, v)
}

// span returns the axis range for data extent e: the fixed range r if set,
// otherwise e widened by frac of its span on each side (in log space for log
// axes). A degenerate extent (one value) gets a sane range around it.
func span(e extent, r Range, log bool, frac float64) (float64, float64) {
	if !r.auto() {
		return r.Min, r.Max
	}
	lo, hi := e.lo, e.hi
	if log {
		lo, hi = math.Log10(lo), math.Log10(hi)
		if hi-lo < 1e-9 {
			lo, hi = lo-0.5, hi+0.5
		} else {
			d := (hi - lo) * frac
			lo, hi = lo-d, hi+d
		}
		return math.Pow(10, lo), math.Pow(10, hi)
	}
	if d := hi - lo; d <= 1e-12*math.Max(math.Abs(lo), math.Abs(hi)) || d == 0 {
		if lo == 0 {
			return -1, 1
		}
		m := math.Abs(lo) * 0.1
		return lo - m, hi + m
	}
	d := (hi - lo) * frac
	return lo - d, hi + d
}

// tickSet is the ticks of one axis.
type tickSet struct {
	major, minor []float64
	labels       []string
}

func makeTicks(lo, hi float64, log bool, n int) tickSet {
	var t tickSet
	if log {
		t.major, t.minor = logTicks(lo, hi)
	} else {
		t.major = Ticks(lo, hi, n)
	}
	t.labels = make([]string, len(t.major))
	for i, v := range t.major {
		t.labels[i] = FormatTick(v)
	}
	return t
}

// xTicks picks ticks for a horizontal axis of pixel length length whose
// labels do not crowd each other.
func xTicks(f font.Face, lo, hi float64, log bool, length, scale float64) tickSet {
	n := int(math.Max(2, math.Min(10, math.Round(length/(105*scale)))))
	for {
		t := makeTicks(lo, hi, log, n)
		if log || n <= 2 {
			return t
		}
		ax := axis{lo: lo, hi: hi, p0: 0, p1: length}
		ok := true
		for i := 1; i < len(t.major); i++ {
			gap := ax.pix(t.major[i]) - ax.pix(t.major[i-1])
			need := float64(textWidth(f, t.labels[i])+textWidth(f, t.labels[i-1]))/2 + 14*scale
			if gap < need {
				ok = false
				break
			}
		}
		if ok {
			return t
		}
		n--
	}
}

func yTicks(lo, hi float64, log bool, length, scale float64) tickSet {
	n := int(math.Max(4, math.Min(10, math.Round(length/(72*scale)))))
	return makeTicks(lo, hi, log, n)
}

// frame is the shared layout of both chart kinds: a plot rectangle with a
// y axis on the left, an optional numeric x axis below, title and labels.
type frame struct {
	c    *canvas
	plot image.Rectangle
	x, y axis
	xt   tickSet // empty for bar charts
	yt   tickSet
}

// layoutSpec is what layout needs to size the margins. xLabelRow is the
// height of the row under the x axis holding tick or category labels (-1
// means one line of tick text); x ticks are chosen only when numericX.
type layoutSpec struct {
	title, xlabel, ylabel string
	ylo, yhi              float64
	ylog                  bool
	numericX              bool
	xlo, xhi              float64
	xlog                  bool
	xLabelRow             int // height of the x tick label row; -1 = one line of tick text
}

// layout places the plot rectangle, choosing the y ticks (whose label
// widths set the left margin) and, for a numeric x axis, the x ticks (whose
// last label may widen the right margin).
func (c *canvas) layout(s layoutSpec) *frame {
	W, H := c.img.Bounds().Dx(), c.img.Bounds().Dy()
	pad := c.px(14)
	tickLen, gap := c.px(5), c.px(4)
	tickH := float64(textHeight(c.f.tick))
	labelH := float64(textHeight(c.f.label))

	top := pad + tickH/2
	if s.title != "" {
		top = pad + float64(textHeight(c.f.title)) + c.px(12)
	}
	row := tickH
	if s.xLabelRow >= 0 {
		row = float64(s.xLabelRow)
	}
	bottom := pad + tickLen + gap + row
	if s.xlabel != "" {
		bottom += c.px(8) + labelH
	}
	fr := &frame{c: c}
	plotH := float64(H) - top - bottom
	fr.yt = yTicks(s.ylo, s.yhi, s.ylog, plotH, c.scale)
	maxW := 0
	for _, l := range fr.yt.labels {
		maxW = max(maxW, textWidth(c.f.tick, l))
	}
	left := pad + float64(maxW) + gap + tickLen
	if s.ylabel != "" {
		left += labelH + c.px(10)
	}
	right := pad + c.px(6)
	plotW := float64(W) - left - right
	if s.numericX {
		for range 2 {
			fr.xt = xTicks(c.f.tick, s.xlo, s.xhi, s.xlog, plotW, c.scale)
			ax := axis{lo: s.xlo, hi: s.xhi, log: s.xlog, p0: left, p1: left + plotW}
			need := right
			for i, v := range fr.xt.major {
				half := float64(textWidth(c.f.tick, fr.xt.labels[i])) / 2
				need = math.Max(need, ax.pix(v)+half+c.px(4)-(left+plotW)+right)
			}
			if need <= right+0.5 {
				break
			}
			right = need
			plotW = float64(W) - left - right
		}
	}
	fr.plot = image.Rect(int(math.Round(left)), int(math.Round(top)), int(math.Round(float64(W)-right)), int(math.Round(float64(H)-bottom)))
	if fr.plot.Dx() < 20 || fr.plot.Dy() < 20 {
		// Absurdly small charts: keep a usable plot area anyway.
		fr.plot = image.Rect(W/6, H/6, W-W/12, H-H/6)
	}
	p := fr.plot
	fr.x = axis{lo: s.xlo, hi: s.xhi, log: s.xlog, p0: float64(p.Min.X) + 0.5, p1: float64(p.Max.X) - 0.5}
	fr.y = axis{lo: s.ylo, hi: s.yhi, log: s.ylog, p0: float64(p.Max.Y) - 0.5, p1: float64(p.Min.Y) + 0.5}
	return fr
}

// col returns the pixel column holding x coordinate px, clamped to the plot.
func (fr *frame) col(px float64) int {
	return min(max(int(math.Floor(px)), fr.plot.Min.X), fr.plot.Max.X-1)
}

// row returns the pixel row holding y coordinate py, clamped to the plot.
func (fr *frame) row(py float64) int {
	return min(max(int(math.Floor(py)), fr.plot.Min.Y), fr.plot.Max.Y-1)
}

// drawGrid draws grid lines for the y ticks (and x ticks when present).
func (fr *frame) drawGrid() {
	c, p := fr.c, fr.plot
	lw := c.ipx(1)
	for _, v := range fr.yt.minor {
		r := fr.row(fr.y.pix(v))
		c.fillRect(image.Rect(p.Min.X, r, p.Max.X, r+lw), colGridMinor)
	}
	for _, v := range fr.xt.minor {
		x := fr.col(fr.x.pix(v))
		c.fillRect(image.Rect(x, p.Min.Y, x+lw, p.Max.Y), colGridMinor)
	}
	for _, v := range fr.yt.major {
		r := fr.row(fr.y.pix(v))
		c.fillRect(image.Rect(p.Min.X, r, p.Max.X, r+lw), colGrid)
	}
	for _, v := range fr.xt.major {
		x := fr.col(fr.x.pix(v))
		c.fillRect(image.Rect(x, p.Min.Y, x+lw, p.Max.Y), colGrid)
	}
}

// drawAxes draws the frame, tick marks and tick labels.
func (fr *frame) drawAxes() {
	c, p := fr.c, fr.plot
	lw := c.ipx(1)
	tickLen, gap := c.ipx(5), c.px(4)
	c.fillRect(image.Rect(p.Min.X, p.Min.Y, p.Max.X, p.Min.Y+lw), colAxis)
	c.fillRect(image.Rect(p.Min.X, p.Max.Y-lw, p.Max.X, p.Max.Y), colAxis)
	c.fillRect(image.Rect(p.Min.X, p.Min.Y, p.Min.X+lw, p.Max.Y), colAxis)
	c.fillRect(image.Rect(p.Max.X-lw, p.Min.Y, p.Max.X, p.Max.Y), colAxis)
	var last image.Rectangle
	for i, v := range fr.yt.major {
		r := fr.row(fr.y.pix(v))
		c.fillRect(image.Rect(p.Min.X-tickLen, r, p.Min.X, r+lw), colAxis)
		box := textBox(c.f.tick, fr.yt.labels[i], float64(p.Min.X-tickLen)-gap, float64(r)+0.5, 1, 0.5)
		if i > 0 && box.Inset(-1).Overlaps(last) {
			continue
		}
		c.text(c.f.tick, fr.yt.labels[i], float64(p.Min.X-tickLen)-gap, float64(r)+0.5, 1, 0.5, colTickLabel)
		last = box
	}
	last = image.Rectangle{}
	for i, v := range fr.xt.major {
		x := fr.col(fr.x.pix(v))
		c.fillRect(image.Rect(x, p.Max.Y, x+lw, p.Max.Y+tickLen), colAxis)
		box := textBox(c.f.tick, fr.xt.labels[i], float64(x)+0.5, float64(p.Max.Y+tickLen)+gap, 0.5, 0)
		if i > 0 && box.Inset(-c.ipx(4)).Overlaps(last) {
			continue
		}
		c.text(c.f.tick, fr.xt.labels[i], float64(x)+0.5, float64(p.Max.Y+tickLen)+gap, 0.5, 0, colTickLabel)
		last = box
	}
}

// drawLabels draws the title and the axis labels.
func (fr *frame) drawLabels(title, xlabel, ylabel string) {
	c, p := fr.c, fr.plot
	W, H := c.img.Bounds().Dx(), c.img.Bounds().Dy()
	pad := c.px(14)
	if title != "" {
		cx := float64(p.Min.X+p.Max.X) / 2
		if w := float64(textWidth(c.f.title, title)); cx-w/2 < pad || cx+w/2 > float64(W)-pad {
			cx = float64(W) / 2
		}
		c.text(c.f.title, title, cx, pad, 0.5, 0, colTitle)
	}
	if xlabel != "" {
		c.text(c.f.label, xlabel, float64(p.Min.X+p.Max.X)/2, float64(H)-pad, 0.5, 1, colLabel)
	}
	if ylabel != "" {
		c.vtext(c.f.label, ylabel, pad, float64(p.Min.Y+p.Max.Y)/2, 0, 0.5, colLabel)
	}
}

// boxScore is how badly box r would cover the data: the number of samples
// inside it, plus a large penalty per overlapped box in avoid and for
// leaving the plot area.
func boxScore(r, plot image.Rectangle, samples []pt, avoid []image.Rectangle) int {
	score := 0
	if !r.In(plot) {
		score += 1 << 20
	}
	for _, s := range samples {
		if s.x >= float64(r.Min.X) && s.x < float64(r.Max.X) && s.y >= float64(r.Min.Y) && s.y < float64(r.Max.Y) {
			score++
		}
	}
	for _, a := range avoid {
		if !a.Empty() && a.Overlaps(r) {
			score += 1000
		}
	}
	return score
}

// bestBox returns the candidate with the lowest boxScore (the first on ties).
func bestBox(cands []image.Rectangle, plot image.Rectangle, samples []pt, avoid []image.Rectangle, grow int) image.Rectangle {
	best, bestScore := 0, math.MaxInt
	for i, r := range cands {
		if s := boxScore(r.Inset(-grow), plot, samples, avoid); s < bestScore {
			best, bestScore = i, s
		}
	}
	return cands[best]
}

// refY returns the pixel row of each reference line, NaN when it cannot be
// drawn.
func (fr *frame) refY(refs []Ref) []float64 {
	ys := make([]float64, len(refs))
	for i, r := range refs {
		ys[i] = math.NaN()
		if !finite(r.Y) || (fr.y.log && r.Y <= 0) {
			continue
		}
		if y := fr.y.pix(r.Y); y >= float64(fr.plot.Min.Y) && y <= float64(fr.plot.Max.Y) {
			ys[i] = y
		}
	}
	return ys
}

// drawRefLines draws the dashed horizontal reference lines.
func (fr *frame) drawRefLines(refs []Ref) {
	c, p := fr.c, fr.plot
	for i, y := range fr.refY(refs) {
		if math.IsNaN(y) {
			continue
		}
		var pa path
		pa.dashed(pt{float64(p.Min.X), y}, pt{float64(p.Max.X), y}, c.px(1.5), c.px(7), c.px(4))
		c.fill(&pa, p, refColor(refs[i]))
	}
}

func refColor(r Ref) color.Color {
	if r.Color == nil {
		return colRef
	}
	return r.Color
}

// placeRefLabels chooses where each reference label goes: above or below
// its line, at the right or left end, wherever it covers the least data.
// Labels that are not drawn get an empty rectangle.
func (fr *frame) placeRefLabels(refs []Ref, samples []pt, avoid []image.Rectangle) []image.Rectangle {
	c, p := fr.c, fr.plot
	boxes := make([]image.Rectangle, len(refs))
	placed := append([]image.Rectangle(nil), avoid...)
	for i, y := range fr.refY(refs) {
		if math.IsNaN(y) || refs[i].Label == "" {
			continue
		}
		l := refs[i].Label
		xr, xl := float64(p.Max.X)-c.px(8), float64(p.Min.X)+c.px(8)
		up, down := y-c.px(3), y+c.px(4)
		cands := []image.Rectangle{
			textBox(c.f.small, l, xr, up, 1, 1),
			textBox(c.f.small, l, xl, up, 0, 1),
			textBox(c.f.small, l, xr, down, 1, 0),
			textBox(c.f.small, l, xl, down, 0, 0),
		}
		boxes[i] = bestBox(cands, p, samples, placed, c.ipx(2))
		placed = append(placed, boxes[i])
	}
	return boxes
}

// drawRefLabels writes the reference labels, on a translucent white patch
// so they stay legible over grid lines and data.
func (fr *frame) drawRefLabels(refs []Ref, boxes []image.Rectangle) {
	c := fr.c
	for i, b := range boxes {
		if b.Empty() {
			continue
		}
		c.fillRect(b.Inset(-c.ipx(2)).Intersect(fr.plot), color.NRGBA{255, 255, 255, 210})
		c.text(c.f.small, refs[i].Label, float64(b.Min.X), float64(b.Min.Y), 0, 0, refColor(refs[i]))
	}
}
